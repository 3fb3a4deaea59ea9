/* core/dropout.c — dropout: zero each element with probability p and scale the rest by
   1/(1-p), with a mask from the seeded Philox generator; backward multiplies by the same mask. */
#include "nn_ops.h"
#include "ops.h"
#include "random.h"
#include "runtime.h"
#include "loop.h"

/* --- forward ------------------------------------------------------------------------------
   x (...) -> out (...) = x * mask, mask (...) = 0 or 1/(1-p). The mask holds the scale, as
   PyTorch's noise tensor, so backward is one multiply; a NaN in x stays NaN where dropped. */
rc_status rc_dropout(rc_tensor **out, rc_tensor **mask, const rc_tensor *x, double p,
                     bool training) {
  if (mask) *mask = NULL;
  if (!(p >= 0 && p <= 1))
    return rc_fail(RC_ERR_ARG, "dropout: p must be in [0, 1], got %g", p);
  if (x->dtype != RC_FLOAT32)
    return rc_fail(RC_ERR_ARG, "dropout: input must be float32, got %s", rc_dtype_name(x->dtype));
  if (!training || p == 0) {
    *out = rc_retain((rc_tensor *)x);
    return RC_OK;
  }
  rc_tensor *m = NULL, *xc = NULL, *r = NULL;
  rc_status st;
  if ((st = rc_empty_like(&m, x, RC_FLOAT32))) return st;
  /* p = 1 keeps nothing: no draw, and no 1/0 scale. */
  float scale = p < 1 ? (float)(1.0 / (1.0 - p)) : 0.0f;
  if ((st = p < 1 ? rc_bernoulli_(m, 1.0 - p) : rc_fill_(m, 0.0))) goto fail;
  if ((st = rc_contiguous(&xc, x))) goto fail;
  if ((st = rc_empty_like(&r, x, RC_FLOAT32))) goto fail;
  int64_t n = rc_numel(x);
  float *mv = rc_f32(m), *rv = rc_f32(r);
  const float *xv = rc_f32(xc);
#pragma omp parallel for simd schedule(static) num_threads(rc_threads()) \
    if (n >= RC_PARALLEL_MIN)
  for (int64_t i = 0; i < n; i++) {
    mv[i] *= scale;
    rv[i] = xv[i] * mv[i];
  }
  rc_release(xc);
  *out = r;
  if (mask)
    *mask = m;
  else
    rc_release(m);
  return RC_OK;
fail:
  rc_release(m), rc_release(xc), rc_release(r);
  return st;
}

/* --- backward -----------------------------------------------------------------------------
   g (...) -> dx (...) = g * mask. saved: mask. f[0] = p. */
static rc_status dropout_backward(rc_node *n, rc_tensor *const *gout, rc_tensor **gin) {
  if (!gout[0] || !n->inputs[0].needs_grad) return RC_OK;
  return rc_binary(&gin[0], RC_MUL, gout[0], n->saved[0]);
}

rc_status rcg_dropout(rc_tensor **out, const rc_tensor *x, double p, bool training) {
  rc_tensor *mask = NULL;
  rc_status st = rc_dropout(out, &mask, x, p, training);
  if (st || !mask) return st; /* identity: out is x, whose history is already its own */
  const rc_tensor *in[1] = {x}, *saved[1] = {mask};
  rc_node *node;
  st = rc_record(&node, *out, "DropoutBackward", dropout_backward, 1, in, 1, saved);
  rc_release(mask); /* the node holds its own alias */
  if (st) {
    rc_release(*out);
    *out = NULL;
    return st;
  }
  if (node) node->f[0] = p;
  return RC_OK;
}
