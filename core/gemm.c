/* core/gemm.c — rc_gemm: checks, stride tidying and thread choice around bli_sgemm_ex.
   BLIS takes general (row, column) strides, so transposed and narrowed views go in as they are. */
#include <blis.h>
#include "gemm.h"
#include "runtime.h"

/* Below this many multiply-adds a second thread slows BLIS down, so such products stay on
   one thread. Measured on Zen 3 (scripts/bench/gemm.lua): 256^3 = 2^24 ran at 66 GFLOP/s on
   1 thread and 50 on 2; 512^3 gains from the second (78 -> 111). */
static const int64_t parallel_min_madds = INT64_C(1) << 25;

/* BLIS rejects some strides of size-1 dims and zero strides; give it plain ones. */
static void tidy_strides(int64_t rows, int64_t cols, int64_t *rs, int64_t *cs) {
  if (rows == 1 && cols == 1) { *rs = 1; *cs = 1; return; }
  if (rows == 1) *rs = cols * (*cs ? *cs : 1);
  if (cols == 1) *cs = 1, *rs = *rs ? *rs : 1;
  if (rows == 1 && *cs == 0) *cs = 1;
}

rc_status rc_gemm_threads(int threads, int64_t m, int64_t n, int64_t k, float alpha,
                          const float *a, int64_t a_rs, int64_t a_cs,
                          const float *b, int64_t b_rs, int64_t b_cs, float beta,
                          float *c, int64_t c_rs, int64_t c_cs) {
  if (m < 0 || n < 0 || k < 0)
    return rc_fail(RC_ERR_ARG, "gemm: negative size (m=%lld, n=%lld, k=%lld)", (long long)m,
                   (long long)n, (long long)k);
  if (m == 0 || n == 0) return RC_OK;
  if (k == 0) { /* an empty sum: C = beta * C, and beta = 0 clears even NaN */
    for (int64_t i = 0; i < m; i++)
      for (int64_t j = 0; j < n; j++) {
        float *cij = c + i * c_rs + j * c_cs;
        *cij = beta == 0.0f ? 0.0f : beta * *cij;
      }
    return RC_OK;
  }
  rc_status st = rc_init();
  if (st) return st;
  tidy_strides(m, k, &a_rs, &a_cs);
  tidy_strides(k, n, &b_rs, &b_cs);
  tidy_strides(m, n, &c_rs, &c_cs);
  if (a_rs == 0 || a_cs == 0 || b_rs == 0 || b_cs == 0)
    return rc_fail(RC_ERR_ARG, "gemm: an operand has a zero stride (an expanded view); "
                               "make it contiguous first");
  rntm_t rntm = BLIS_RNTM_INITIALIZER;
  bli_rntm_set_num_threads(threads, &rntm);
  /* BLIS 0.9's small-matrix ("sup") path read past an operand's end here: rnn_spec's
     reference (5x40 @ 40x280 steps) died of SEGV inside bli_sgemm_ex in about 1 run in 3 of the
     ASan build under load, and never with sup off (0 in 8). Its cost was within noise
     (256^3: 63-82 GFLOP/s either way; LSTM (128,128,50,50) train 19-23 ms either way). */
  bli_rntm_disable_l3_sup(&rntm);
  bli_sgemm_ex(BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, m, n, k, &alpha, (float *)a, a_rs, a_cs,
               (float *)b, b_rs, b_cs, &beta, c, c_rs, c_cs, NULL, &rntm);
  return RC_OK;
}

rc_status rc_gemm(int64_t m, int64_t n, int64_t k, float alpha,
                  const float *a, int64_t a_rs, int64_t a_cs,
                  const float *b, int64_t b_rs, int64_t b_cs, float beta,
                  float *c, int64_t c_rs, int64_t c_cs) {
  int threads = m * n * k < parallel_min_madds ? 1 : rc_threads();
  return rc_gemm_threads(threads, m, n, k, alpha, a, a_rs, a_cs, b, b_rs, b_cs, beta, c, c_rs,
                         c_cs);
}
