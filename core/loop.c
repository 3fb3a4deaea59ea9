/* core/loop.c — broadcasting, dim coalescing and the parallel row walk of rc_loop.
   Results never depend on the thread count: each element is computed by exactly one row call. */
#include <string.h>
#include "loop.h"
#include "runtime.h"

rc_status rc_broadcast_shapes(const char *fn, int andim, const int64_t *ashape, int bndim,
                              const int64_t *bshape, int *ndim, int64_t *shape) {
  int n = andim > bndim ? andim : bndim;
  for (int i = 0; i < n; i++) {
    int ad = andim - n + i, bd = bndim - n + i;
    int64_t as = ad >= 0 ? ashape[ad] : 1, bs = bd >= 0 ? bshape[bd] : 1;
    if (as != bs && as != 1 && bs != 1) {
      char sa[128], sb[128];
      return rc_fail(RC_ERR_SHAPE, "%s: shapes %s and %s cannot be broadcast (%lld vs %lld)", fn,
                     rc_dims_str(andim, ashape, sa, sizeof sa),
                     rc_dims_str(bndim, bshape, sb, sizeof sb), (long long)as, (long long)bs);
    }
    shape[i] = as == 1 ? bs : as;
  }
  *ndim = n;
  return RC_OK;
}

rc_status rc_loop_init(rc_loop *lp, const char *fn, int ndim, const int64_t *shape, int nops,
                       const rc_tensor *const *ops) {
  memset(lp, 0, sizeof *lp);
  lp->nops = nops;
  for (int i = 0; i < nops; i++) {
    const rc_tensor *t = ops[i];
    if (t->ndim > ndim) goto mismatch;
    for (int d = 0; d < ndim; d++) {
      int td = t->ndim - ndim + d;
      int64_t size = td >= 0 ? t->shape[td] : 1;
      if (size != shape[d] && size != 1) goto mismatch;
      lp->stride[i][d] = (td >= 0 && size != 1) ? t->stride[td] : 0;
    }
    lp->base[i] = t->offset;
    continue;
  mismatch: {
      char st[128], ss[128];
      return rc_fail(RC_ERR_SHAPE, "%s: shape %s cannot be broadcast to %s", fn,
                     rc_shape_str(t, st, sizeof st), rc_dims_str(ndim, shape, ss, sizeof ss));
    }
  }
  /* Coalesce: drop size-1 dims, merge d into d+1 where every operand is contiguous across them. */
  int n = 0;
  for (int d = 0; d < ndim; d++) {
    if (shape[d] == 1) continue;
    bool merge = n > 0;
    for (int i = 0; i < nops && merge; i++)
      merge = lp->stride[i][n - 1] == lp->stride[i][d] * shape[d];
    if (merge) {
      lp->shape[n - 1] *= shape[d];
      for (int i = 0; i < nops; i++) lp->stride[i][n - 1] = lp->stride[i][d];
    } else {
      lp->shape[n] = shape[d];
      for (int i = 0; i < nops; i++) lp->stride[i][n] = lp->stride[i][d];
      n++;
    }
  }
  if (n == 0) { /* a scalar, or all dims of size 1 */
    lp->shape[0] = 1;
    for (int i = 0; i < nops; i++) lp->stride[i][0] = 0;
    n = 1;
  }
  for (int d = 0; d < ndim; d++)
    if (shape[d] == 0) lp->shape[0] = 0; /* empty stays empty */
  lp->ndim = n;
  return RC_OK;
}

/* Offsets of row r's first element, walking the outer dims in row-major order. */
static void row_offsets(const rc_loop *lp, int64_t r, int64_t *off) {
  for (int i = 0; i < lp->nops; i++) off[i] = lp->base[i];
  for (int d = lp->ndim - 2; d >= 0; d--) {
    int64_t idx = r % lp->shape[d];
    r /= lp->shape[d];
    for (int i = 0; i < lp->nops; i++) off[i] += idx * lp->stride[i][d];
  }
}

void rc_loop_run(const rc_loop *lp, rc_row_fn row, void *ctx) {
  int64_t inner = lp->shape[lp->ndim - 1];
  int64_t rows = 1;
  for (int d = 0; d < lp->ndim - 1; d++) rows *= lp->shape[d];
  if (inner == 0 || rows == 0) return;
  int64_t strides[RC_LOOP_MAX_OPS];
  for (int i = 0; i < lp->nops; i++) strides[i] = lp->stride[i][lp->ndim - 1];

  int threads = rc_threads();
  bool parallel = threads > 1 && rows * inner >= RC_PARALLEL_MIN;
  /* Few long rows: cut each row into chunks so every thread gets work. */
  int64_t chunk = inner;
  if (parallel && rows < 4 * threads) chunk = 8192;
  int64_t chunks_per_row = (inner + chunk - 1) / chunk;
  int64_t items = rows * chunks_per_row;

#pragma omp parallel for schedule(static) num_threads(threads) if (parallel)
  for (int64_t w = 0; w < items; w++) {
    int64_t r = w / chunks_per_row, c = w % chunks_per_row;
    int64_t off[RC_LOOP_MAX_OPS];
    row_offsets(lp, r, off);
    int64_t start = c * chunk;
    for (int i = 0; i < lp->nops; i++) off[i] += start * strides[i];
    int64_t n = inner - start < chunk ? inner - start : chunk;
    row(ctx, n, off, strides);
  }
}
