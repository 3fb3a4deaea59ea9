/* core/small_tile.h — a tile product for a few rows over the packed panels BLIS's microkernel
   reads. The microkernel always computes a whole MR x NR tile; with one active row (batch-1
   inference, the last rows of a batch) most of that work is thrown away. */
#ifndef RC_SMALL_TILE_H
#define RC_SMALL_TILE_H

#include <stdbool.h>
#include <stdint.h>

/* How many weight panels rc_small_tile takes at once for m rows of panels `ww` floats wide, so
   its accumulators stay in registers (at most 12 vectors); 0 when it cannot take m rows (this
   build has no AVX2/FMA, or m or ww do not fit). More panels at once give the FMAs independent
   chains: one row against one panel would wait on the FMA latency. */
int rc_small_tile_panels(int64_t m, int64_t ww);

/* C (m x ncols, row stride ldc) = beta C + S [W_0 W_1 ... W_{np-1}], beta 0 or 1, where
     S (m x k): a state panel, element (r, p) at s[p*ws + r]
     W_q (k x ww): weight panel q at w + q*wstride, element (p, j) at [p*ww + j], making C's
       columns q*ww + j; only columns below ncols (<= np*ww) are written.
   np <= rc_small_tile_panels(m, ww). Each element is summed over p in order with one fused
   multiply-add per term, as BLIS's microkernels do, so a row gets the same bits whichever of
   the two computes its tile. */
void rc_small_tile(int64_t m, int np, int64_t ncols, int64_t k, const float *s, int64_t ws,
                   const float *w, int64_t wstride, int64_t ww, float beta, float *c,
                   int64_t ldc);

#endif
