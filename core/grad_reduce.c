/* core/grad_reduce.c — STUB: differentiable versions still to be written; they run the raw op
   and refuse to record (an error) when an input requires grad. */
#include "grad.h"

rc_status rcg_reduce(rc_tensor **out, rc_reduce_op op, const rc_tensor *a, int dim, bool keepdim) {
  if (rc_grad_enabled() && ((a && a->requires_grad)))
    return rc_fail(RC_ERR_STATE, "reduce: not differentiable yet");
  return rc_reduce(out, op, a, dim, keepdim);
}

rc_status rcg_max_dim(rc_tensor **values, rc_tensor **indices, const rc_tensor *a, int dim, bool keepdim, bool is_min) {
  if (rc_grad_enabled() && ((a && a->requires_grad)))
    return rc_fail(RC_ERR_STATE, "max_dim: not differentiable yet");
  return rc_max_dim(values, indices, a, dim, keepdim, is_min);
}

rc_status rcg_norm(rc_tensor **out, const rc_tensor *a, double p, int dim, bool keepdim) {
  if (rc_grad_enabled() && ((a && a->requires_grad)))
    return rc_fail(RC_ERR_STATE, "norm: not differentiable yet");
  return rc_norm(out, a, p, dim, keepdim);
}

rc_status rcg_logsumexp(rc_tensor **out, const rc_tensor *a, int dim, bool keepdim) {
  if (rc_grad_enabled() && ((a && a->requires_grad)))
    return rc_fail(RC_ERR_STATE, "logsumexp: not differentiable yet");
  return rc_logsumexp(out, a, dim, keepdim);
}

rc_status rcg_softmax(rc_tensor **out, const rc_tensor *a, int dim) {
  if (rc_grad_enabled() && ((a && a->requires_grad)))
    return rc_fail(RC_ERR_STATE, "softmax: not differentiable yet");
  return rc_softmax(out, a, dim);
}

rc_status rcg_log_softmax(rc_tensor **out, const rc_tensor *a, int dim) {
  if (rc_grad_enabled() && ((a && a->requires_grad)))
    return rc_fail(RC_ERR_STATE, "log_softmax: not differentiable yet");
  return rc_log_softmax(out, a, dim);
}
