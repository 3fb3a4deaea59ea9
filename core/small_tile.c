/* core/small_tile.c — C = beta C + S W for a few state rows over packed panels (see
   small_tile.h), with AVX2/FMA vectors where the build has them. */
#include "small_tile.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

enum { max_vectors = 12 }; /* accumulators; with the loads and a broadcast: the 16 registers */

int rc_small_tile_panels(int64_t m, int64_t ww) {
  if (m < 1 || ww % 8 != 0 || ww < 8 || m * (ww / 8) > max_vectors) return 0;
  int np = (int)(max_vectors / (m * (ww / 8)));
  return np > 4 ? 4 : np;
}

/* M rows x NP panels x NV vectors of 8 columns; all three are constants where this is inlined,
   so the accumulators live in registers and the loops unroll. Per k: NP*NV loads (each panel
   read once, in order: the memory stream this is bound by), M broadcasts, M*NP*NV FMAs. */
static inline __attribute__((always_inline)) void tile(int M, int NP, int NV, int64_t ncols,
                                                       int64_t k, const float *s, int64_t ws,
                                                       const float *w, int64_t wstride,
                                                       int64_t ww, float beta, float *c,
                                                       int64_t ldc) {
  __m256 acc[max_vectors];
  for (int i = 0; i < M * NP * NV; i++) acc[i] = _mm256_setzero_ps();
  for (int64_t p = 0; p < k; p++) {
    __m256 wv[max_vectors];
    for (int q = 0; q < NP; q++)
      for (int v = 0; v < NV; v++) wv[q * NV + v] = _mm256_loadu_ps(w + q * wstride + p * ww + 8 * v);
    for (int r = 0; r < M; r++) {
      __m256 sr = _mm256_broadcast_ss(s + p * ws + r);
      for (int i = 0; i < NP * NV; i++) acc[r * NP * NV + i] = _mm256_fmadd_ps(sr, wv[i], acc[r * NP * NV + i]);
    }
  }
  for (int r = 0; r < M; r++)
    for (int i = 0; i < NP * NV; i++) { /* vector i holds columns 8i ... (panels side by side) */
      float sum[8];
      _mm256_storeu_ps(sum, acc[r * NP * NV + i]);
      float *row = c + r * ldc + 8 * i;
      int64_t n = ncols - 8 * i < 8 ? ncols - 8 * i : 8;
      for (int64_t j = 0; j < n; j++) row[j] = beta == 0.0f ? sum[j] : row[j] + sum[j];
    }
}

void rc_small_tile(int64_t m, int np, int64_t ncols, int64_t k, const float *s, int64_t ws,
                   const float *w, int64_t wstride, int64_t ww, float beta, float *c,
                   int64_t ldc) {
  /* Cases by (rows, panels, vectors per panel): ww = 16 (zen3/haswell kernels) and 32 (skx). */
#define RC_TILE(M, NP, NV)                                                                     \
  if (m == (M) && np == (NP) && ww == 8 * (NV)) {                                              \
    tile(M, NP, NV, ncols, k, s, ws, w, wstride, ww, beta, c, ldc);                            \
    return;                                                                                    \
  }
  RC_TILE(1, 4, 2) RC_TILE(1, 3, 2) RC_TILE(1, 2, 2) RC_TILE(1, 1, 2)
  RC_TILE(2, 3, 2) RC_TILE(2, 2, 2) RC_TILE(2, 1, 2)
  RC_TILE(3, 2, 2) RC_TILE(3, 1, 2)
  RC_TILE(4, 1, 2) RC_TILE(5, 1, 2) RC_TILE(6, 1, 2)
  RC_TILE(1, 3, 4) RC_TILE(1, 2, 4) RC_TILE(1, 1, 4)
  RC_TILE(2, 1, 4) RC_TILE(3, 1, 4)
#undef RC_TILE
  /* Any other (m, np, ww) that rc_small_tile_panels allows: one panel at a time, 8 columns at a
     time (correct, not tuned). */
  for (int q = 0; q < np; q++)
    for (int64_t j0 = q * ww; j0 < (q + 1) * ww && j0 < ncols; j0 += 8)
      for (int64_t r = 0; r < m; r++) {
        __m256 acc = _mm256_setzero_ps();
        for (int64_t p = 0; p < k; p++)
          acc = _mm256_fmadd_ps(_mm256_broadcast_ss(s + p * ws + r),
                                _mm256_loadu_ps(w + q * wstride + p * ww + (j0 - q * ww)), acc);
        float sum[8];
        _mm256_storeu_ps(sum, acc);
        int64_t n = ncols - j0 < 8 ? ncols - j0 : 8;
        for (int64_t j = 0; j < n; j++)
          c[r * ldc + j0 + j] = beta == 0.0f ? sum[j] : c[r * ldc + j0 + j] + sum[j];
      }
}

#else /* no AVX2/FMA in this build: the microkernel does every tile */

int rc_small_tile_panels(int64_t m, int64_t ww) {
  (void)m, (void)ww;
  return 0;
}

void rc_small_tile(int64_t m, int np, int64_t ncols, int64_t k, const float *s, int64_t ws,
                   const float *w, int64_t wstride, int64_t ww, float beta, float *c,
                   int64_t ldc) {
  (void)m, (void)np, (void)ncols, (void)k, (void)s, (void)ws, (void)w, (void)wstride, (void)ww;
  (void)beta, (void)c, (void)ldc;
}

#endif
