/* core/gemm.h — the one GEMM entry point of recur, over BLIS.
   Matrices are given by pointer and (row stride, column stride) in elements, so views need no copy. */
#ifndef RC_GEMM_H
#define RC_GEMM_H

#include <stdint.h>
#include "error.h"

/* C (m x n) = alpha * A (m x k) * B (k x n) + beta * C.
   A transposed operand is the same call with its two strides swapped. beta = 0 ignores C's old
   values (NaN included). Small products run on one thread: forking costs more than it saves. */
rc_status rc_gemm(int64_t m, int64_t n, int64_t k, float alpha,
                  const float *a, int64_t a_rs, int64_t a_cs,
                  const float *b, int64_t b_rs, int64_t b_cs, float beta,
                  float *c, int64_t c_rs, int64_t c_cs);

/* Same, with the thread count chosen by the caller (e.g. one per independent direction). */
rc_status rc_gemm_threads(int threads, int64_t m, int64_t n, int64_t k, float alpha,
                          const float *a, int64_t a_rs, int64_t a_cs,
                          const float *b, int64_t b_rs, int64_t b_cs, float beta,
                          float *c, int64_t c_rs, int64_t c_cs);

#endif
