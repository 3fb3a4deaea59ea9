/* tests/core/test_small_tile.c — rc_small_tile against an in-order fmaf reference: every row
   count, panel count, panel width and column edge it accepts, beta 0 and 1, exact-size buffers
   (so ASan sees any read or write past them). */
#include <stdlib.h>
#include "check.h"
#include "small_tile.h"

static float next_value(uint32_t *seed) {
  *seed = *seed * 1664525u + 1013904223u;
  return (float)(*seed >> 8) * (2.0f / 16777216.0f) - 1.0f;
}

static float *values(int64_t n, uint32_t *seed) {
  float *v = malloc(sizeof(float) * (size_t)n);
  for (int64_t i = 0; i < n; i++) v[i] = next_value(seed);
  return v;
}

/* One case: the bits must equal sum_p fmaf(s, w, acc) in order, then beta C + that. */
static bool same_as_reference(int64_t m, int np, int64_t ncols, int64_t k, int64_t ws,
                              int64_t ww, float beta, uint32_t *seed) {
  int64_t wstride = (k * ww + 15) & ~(int64_t)15; /* as the packed panels are laid out */
  int64_t ldc = ncols + 3;
  float *w = values((np - 1) * wstride + k * ww, seed);
  float *s = values((k - 1) * ws + m, seed);
  float *c = values((m - 1) * ldc + ncols, seed);
  float *want = malloc(sizeof(float) * (size_t)((m - 1) * ldc + ncols));
  memcpy(want, c, sizeof(float) * (size_t)((m - 1) * ldc + ncols));
  for (int64_t r = 0; r < m; r++)
    for (int64_t j = 0; j < ncols; j++) {
      float acc = 0.0f;
      for (int64_t p = 0; p < k; p++)
        acc = fmaf(s[p * ws + r], w[(j / ww) * wstride + p * ww + j % ww], acc);
      want[r * ldc + j] = beta == 0.0f ? acc : want[r * ldc + j] + acc;
    }
  rc_small_tile(m, np, ncols, k, s, ws, w, wstride, ww, beta, c, ldc);
  bool same = memcmp(c, want, sizeof(float) * (size_t)((m - 1) * ldc + ncols)) == 0;
  free(w), free(s), free(c), free(want);
  return same;
}

static void test_every_shape_it_accepts(void) {
  int64_t widths[] = {8, 16, 24, 32}; /* 16: zen3/haswell's panels, 32: skx's */
  int64_t depths[] = {1, 3, 17};
  uint32_t seed = 1;
  int cases = 0, bad = 0;
  if (rc_small_tile_panels(1, 16) == 0) return; /* no AVX2/FMA in this build: never used */
  for (int wi = 0; wi < 4; wi++)
    for (int64_t m = 1; m <= 12; m++) {
      int64_t ww = widths[wi];
      for (int np = 1; np <= rc_small_tile_panels(m, ww); np++)
        for (int64_t ncols = (np - 1) * ww + 1; ncols <= np * ww; ncols++)
          for (int ki = 0; ki < 3; ki++)
            for (int b = 0; b <= 1; b++) {
              int64_t ws = m + ki % 2; /* a state panel at least m wide */
              cases++;
              if (!same_as_reference(m, np, ncols, depths[ki], ws, ww, (float)b, &seed) &&
                  bad++ < 3)
                fprintf(stderr, "small tile: m=%lld np=%d ncols=%lld k=%lld ww=%lld beta=%d "
                                "differs from the reference\n", (long long)m, np,
                        (long long)ncols, (long long)depths[ki], (long long)ww, b);
            }
    }
  CHECK(cases > 1000);
  CHECK(bad == 0);
}

static void test_what_it_takes(void) {
  if (rc_small_tile_panels(1, 16) == 0) return;
  CHECK(rc_small_tile_panels(1, 16) == 4);  /* one row: four panels, 8 accumulators */
  CHECK(rc_small_tile_panels(6, 16) == 1);  /* 12 accumulators */
  CHECK(rc_small_tile_panels(7, 16) == 0);  /* 14: more than the registers hold */
  CHECK(rc_small_tile_panels(3, 32) == 1);
  CHECK(rc_small_tile_panels(4, 32) == 0);
  CHECK(rc_small_tile_panels(1, 12) == 0);  /* not whole 8-float vectors */
  CHECK(rc_small_tile_panels(0, 16) == 0);
}

int main(void) {
  test_every_shape_it_accepts();
  test_what_it_takes();
  return check_summary("small_tile");
}
