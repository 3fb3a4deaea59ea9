/* core/small_tile.h — a tile product for a few rows over the packed panels BLIS's microkernel
   reads. The microkernel always computes a whole MR x NR tile; with one active row (batch-1
   inference, the last rows of a batch) most of that work is thrown away. */
#ifndef RC_SMALL_TILE_H
#define RC_SMALL_TILE_H

#include <stdbool.h>
#include <stdint.h>

/* Whether rc_small_tile handles m rows against weight panels `ww` floats wide (needs FMA
   vectors in this build; m * ww <= 96 so the accumulators stay in registers). */
bool rc_small_tile_fits(int64_t m, int64_t ww);

/* C (m x nj, row stride ldc) = beta C + S W, with beta 0 or 1:
     S (m x k): a state panel, element (r, p) at s[p*ws + r]
     W (k x ww): a weight panel, element (p, j) at w[p*ww + j]; only columns j < nj are written.
   Each element is summed over p in order with one fused multiply-add per term, as BLIS's
   microkernels do, so a row gets the same bits whichever of the two computes its tile. */
void rc_small_tile(int64_t m, int64_t nj, int64_t k, const float *s, int64_t ws, const float *w,
                   int64_t ww, float beta, float *c, int64_t ldc);

#endif
