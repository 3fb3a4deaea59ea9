/* core/create.c — filled tensors (full, arange, linspace, eye), fill and copy, dtype change.
   Copy and fill run through rc_loop, so they work on any view and in parallel when large. */
#include <math.h>
#include <string.h>
#include "loop.h"
#include "ops.h"

rc_status rc_full(rc_tensor **out, rc_dtype dtype, int ndim, const int64_t *shape, double value) {
  rc_tensor *t = NULL;
  rc_status st = rc_empty(&t, dtype, ndim, shape);
  if (st) return st;
  rc_fill_(t, value);
  *out = t;
  return RC_OK;
}

typedef struct {
  double value;
  rc_tensor *t;
} fill_ctx;

static void fill_row(void *vctx, int64_t n, const int64_t *off, const int64_t *stride) {
  fill_ctx *ctx = vctx;
  if (ctx->t->dtype == RC_INT64) {
    int64_t *p = (int64_t *)ctx->t->storage->data + off[0], v = (int64_t)ctx->value;
    for (int64_t i = 0; i < n; i++) p[i * stride[0]] = v;
  } else {
    float *p = (float *)ctx->t->storage->data + off[0], v = (float)ctx->value;
    if (stride[0] == 1)
      for (int64_t i = 0; i < n; i++) p[i] = v;
    else
      for (int64_t i = 0; i < n; i++) p[i * stride[0]] = v;
  }
}

rc_status rc_fill_(rc_tensor *t, double value) {
  rc_loop lp;
  const rc_tensor *ops[1] = {t};
  rc_status st = rc_loop_init(&lp, "fill", t->ndim, t->shape, 1, ops);
  if (st) return st;
  fill_ctx ctx = {value, t};
  rc_loop_run(&lp, fill_row, &ctx);
  return RC_OK;
}

typedef struct {
  rc_tensor *dst;
  const rc_tensor *src;
} copy_ctx;

static void copy_row(void *vctx, int64_t n, const int64_t *off, const int64_t *stride) {
  copy_ctx *ctx = vctx;
  void *dbase = ctx->dst->storage->data, *sbase = ctx->src->storage->data;
  int64_t ds = stride[0], ss = stride[1];
  if (ctx->dst->dtype == RC_FLOAT32 && ctx->src->dtype == RC_FLOAT32) {
    float *d = (float *)dbase + off[0];
    const float *s = (const float *)sbase + off[1];
    if (ds == 1 && ss == 1)
      memcpy(d, s, (size_t)n * sizeof *d);
    else
      for (int64_t i = 0; i < n; i++) d[i * ds] = s[i * ss];
  } else if (ctx->dst->dtype == RC_INT64 && ctx->src->dtype == RC_INT64) {
    int64_t *d = (int64_t *)dbase + off[0];
    const int64_t *s = (const int64_t *)sbase + off[1];
    for (int64_t i = 0; i < n; i++) d[i * ds] = s[i * ss];
  } else if (ctx->dst->dtype == RC_FLOAT32) {
    float *d = (float *)dbase + off[0];
    const int64_t *s = (const int64_t *)sbase + off[1];
    for (int64_t i = 0; i < n; i++) d[i * ds] = (float)s[i * ss];
  } else { /* float -> int64 truncates toward zero, as PyTorch */
    int64_t *d = (int64_t *)dbase + off[0];
    const float *s = (const float *)sbase + off[1];
    for (int64_t i = 0; i < n; i++) d[i * ds] = (int64_t)s[i * ss];
  }
}

/* Do two views touch the same storage bytes? (Conservative: same storage = maybe.) */
static bool may_overlap(const rc_tensor *a, const rc_tensor *b) {
  return a->storage == b->storage;
}

rc_status rc_copy_(rc_tensor *dst, const rc_tensor *src) {
  rc_tensor *tmp = NULL;
  if (may_overlap(dst, src) && src != dst) { /* copy out first: rows run concurrently */
    rc_status st = rc_clone(&tmp, src);
    if (st) return st;
    src = tmp;
  }
  rc_loop lp;
  const rc_tensor *ops[2] = {dst, src};
  rc_status st = rc_loop_init(&lp, "copy", dst->ndim, dst->shape, 2, ops);
  if (st == RC_OK) {
    copy_ctx ctx = {dst, src};
    rc_loop_run(&lp, copy_row, &ctx);
  }
  rc_release(tmp);
  return st;
}

rc_status rc_to_dtype(rc_tensor **out, const rc_tensor *t, rc_dtype dtype) {
  rc_tensor *r = NULL;
  rc_status st = rc_empty_like(&r, t, dtype);
  if (st) return st;
  if ((st = rc_copy_(r, t))) {
    rc_release(r);
    return st;
  }
  *out = r;
  return RC_OK;
}

rc_status rc_arange(rc_tensor **out, rc_dtype dtype, double start, double end, double step) {
  if (step == 0 || !isfinite(step) || !isfinite(start) || !isfinite(end))
    return rc_fail(RC_ERR_ARG, "arange: start, end and step must be finite and step non-zero "
                               "(got %g, %g, %g)", start, end, step);
  if ((end - start) / step < 0)
    return rc_fail(RC_ERR_ARG, "arange: step %g goes away from end (start %g, end %g)", step,
                   start, end);
  int64_t n = (int64_t)ceil((end - start) / step);
  rc_tensor *t = NULL;
  rc_status st = rc_empty(&t, dtype, 1, &n);
  if (st) return st;
  for (int64_t i = 0; i < n; i++) rc_set_flat(t, i, start + (double)i * step);
  *out = t;
  return RC_OK;
}

rc_status rc_linspace(rc_tensor **out, double start, double end, int64_t steps) {
  if (steps < 0) return rc_fail(RC_ERR_ARG, "linspace: steps must be >= 0, got %lld", (long long)steps);
  rc_tensor *t = NULL;
  rc_status st = rc_empty(&t, RC_FLOAT32, 1, &steps);
  if (st) return st;
  float *p = rc_f32(t);
  double step = steps > 1 ? (end - start) / (double)(steps - 1) : 0;
  /* Fill from both ends, as PyTorch does, so the last value is exactly `end`. */
  for (int64_t i = 0; i < steps; i++)
    p[i] = (float)(i < steps / 2 ? start + step * (double)i : end - step * (double)(steps - 1 - i));
  *out = t;
  return RC_OK;
}

rc_status rc_eye(rc_tensor **out, int64_t n, int64_t m) {
  if (m < 0) m = n;
  int64_t shape[2] = {n, m};
  rc_tensor *t = NULL;
  rc_status st = rc_full(&t, RC_FLOAT32, 2, shape, 0.0);
  if (st) return st;
  float *p = rc_f32(t);
  for (int64_t i = 0; i < n && i < m; i++) p[i * m + i] = 1.0f;
  *out = t;
  return RC_OK;
}
