/* core/grad_linalg.c — STUB: differentiable versions still to be written; they run the raw op
   and refuse to record (an error) when an input requires grad. */
#include "grad.h"

rc_status rcg_matmul(rc_tensor **out, const rc_tensor *a, const rc_tensor *b) {
  if (rc_grad_enabled() && ((a && a->requires_grad) || (b && b->requires_grad)))
    return rc_fail(RC_ERR_STATE, "matmul: not differentiable yet");
  return rc_matmul(out, a, b);
}

rc_status rcg_addmm(rc_tensor **out, const rc_tensor *c, const rc_tensor *a, const rc_tensor *b, double beta, double alpha) {
  if (rc_grad_enabled() && ((c && c->requires_grad) || (a && a->requires_grad) || (b && b->requires_grad)))
    return rc_fail(RC_ERR_STATE, "addmm: not differentiable yet");
  return rc_addmm(out, c, a, b, beta, alpha);
}

rc_status rcg_bmm(rc_tensor **out, const rc_tensor *a, const rc_tensor *b) {
  if (rc_grad_enabled() && ((a && a->requires_grad) || (b && b->requires_grad)))
    return rc_fail(RC_ERR_STATE, "bmm: not differentiable yet");
  return rc_bmm(out, a, b);
}

rc_status rcg_dot(rc_tensor **out, const rc_tensor *a, const rc_tensor *b) {
  if (rc_grad_enabled() && ((a && a->requires_grad) || (b && b->requires_grad)))
    return rc_fail(RC_ERR_STATE, "dot: not differentiable yet");
  return rc_dot(out, a, b);
}
