/* core/small_tile.c — C = beta C + S W for a few state rows over packed panels (see
   small_tile.h), with AVX2/FMA vectors where the build has them. */
#include "small_tile.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

bool rc_small_tile_fits(int64_t m, int64_t ww) {
  return m >= 1 && ww % 8 == 0 && ww <= 32 && m * ww <= 96;
}

/* M rows x NV vectors of 8 columns; M and NV are constants where this is inlined, so the
   accumulators live in registers and the loops unroll. Per k: NV loads of the weight panel
   (read once, in order: the memory stream this is bound by), M broadcasts, M*NV FMAs. */
static inline __attribute__((always_inline)) void tile(int M, int NV, int64_t nj, int64_t k,
                                                       const float *s, int64_t ws,
                                                       const float *w, int64_t ww, float beta,
                                                       float *c, int64_t ldc) {
  __m256 acc[12];
  for (int i = 0; i < M * NV; i++) acc[i] = _mm256_setzero_ps();
  for (int64_t p = 0; p < k; p++) {
    __m256 wv[4];
    for (int v = 0; v < NV; v++) wv[v] = _mm256_loadu_ps(w + p * ww + 8 * v);
    for (int r = 0; r < M; r++) {
      __m256 sr = _mm256_broadcast_ss(s + p * ws + r);
      for (int v = 0; v < NV; v++) acc[r * NV + v] = _mm256_fmadd_ps(sr, wv[v], acc[r * NV + v]);
    }
  }
  for (int r = 0; r < M; r++)
    for (int v = 0; v < NV; v++) {
      float sum[8];
      _mm256_storeu_ps(sum, acc[r * NV + v]);
      float *row = c + r * ldc + 8 * v;
      int64_t n = nj - 8 * v < 8 ? nj - 8 * v : 8;
      for (int64_t j = 0; j < n; j++) row[j] = beta == 0.0f ? sum[j] : row[j] + sum[j];
    }
}

void rc_small_tile(int64_t m, int64_t nj, int64_t k, const float *s, int64_t ws, const float *w,
                   int64_t ww, float beta, float *c, int64_t ldc) {
#define RC_TILE_CASE(M, NV)                                                                     \
  case (M) * 8 + (NV):                                                                           \
    tile(M, NV, nj, k, s, ws, w, ww, beta, c, ldc);                                              \
    return
  switch (m * 8 + ww / 8) {
    RC_TILE_CASE(1, 1); RC_TILE_CASE(2, 1); RC_TILE_CASE(3, 1); RC_TILE_CASE(4, 1);
    RC_TILE_CASE(5, 1); RC_TILE_CASE(6, 1); RC_TILE_CASE(7, 1); RC_TILE_CASE(8, 1);
    RC_TILE_CASE(9, 1); RC_TILE_CASE(10, 1); RC_TILE_CASE(11, 1); RC_TILE_CASE(12, 1);
    RC_TILE_CASE(1, 2); RC_TILE_CASE(2, 2); RC_TILE_CASE(3, 2); RC_TILE_CASE(4, 2);
    RC_TILE_CASE(5, 2); RC_TILE_CASE(6, 2);
    RC_TILE_CASE(1, 3); RC_TILE_CASE(2, 3); RC_TILE_CASE(3, 3); RC_TILE_CASE(4, 3);
    RC_TILE_CASE(1, 4); RC_TILE_CASE(2, 4); RC_TILE_CASE(3, 4);
    default: break; /* not reached: callers ask rc_small_tile_fits first */
  }
#undef RC_TILE_CASE
}

#else /* no AVX2/FMA in this build: the microkernel does every tile */

bool rc_small_tile_fits(int64_t m, int64_t ww) {
  (void)m, (void)ww;
  return false;
}

void rc_small_tile(int64_t m, int64_t nj, int64_t k, const float *s, int64_t ws, const float *w,
                   int64_t ww, float beta, float *c, int64_t ldc) {
  (void)m, (void)nj, (void)k, (void)s, (void)ws, (void)w, (void)ww, (void)beta, (void)c, (void)ldc;
}

#endif
