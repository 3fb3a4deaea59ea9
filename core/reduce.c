/* core/reduce.c — STUB: to be written. */
#include "ops.h"
#include "random.h"

rc_status rc_reduce(rc_tensor **out, rc_reduce_op op, const rc_tensor *a, int dim, bool keepdim) {
  return rc_fail(RC_ERR_STATE, "reduce: not implemented yet");
}

rc_status rc_max_dim(rc_tensor **values, rc_tensor **indices, const rc_tensor *a, int dim, bool keepdim, bool is_min) {
  return rc_fail(RC_ERR_STATE, "max_dim: not implemented yet");
}

rc_status rc_argmax(rc_tensor **out, const rc_tensor *a, int dim, bool keepdim, bool is_min) {
  return rc_fail(RC_ERR_STATE, "argmax: not implemented yet");
}

rc_status rc_norm(rc_tensor **out, const rc_tensor *a, double p, int dim, bool keepdim) {
  return rc_fail(RC_ERR_STATE, "norm: not implemented yet");
}

rc_status rc_logsumexp(rc_tensor **out, const rc_tensor *a, int dim, bool keepdim) {
  return rc_fail(RC_ERR_STATE, "logsumexp: not implemented yet");
}

rc_status rc_softmax(rc_tensor **out, const rc_tensor *a, int dim) {
  return rc_fail(RC_ERR_STATE, "softmax: not implemented yet");
}

rc_status rc_log_softmax(rc_tensor **out, const rc_tensor *a, int dim) {
  return rc_fail(RC_ERR_STATE, "log_softmax: not implemented yet");
}
