/* core/elementwise.c — STUB: to be written. */
#include "ops.h"
#include "random.h"

const char *rc_binop_name(rc_binop op) {
  return "?";
}

const char *rc_unop_name(rc_unop op) {
  return "?";
}

rc_status rc_binary(rc_tensor **out, rc_binop op, const rc_tensor *a, const rc_tensor *b) {
  return rc_fail(RC_ERR_STATE, "binary: not implemented yet");
}

rc_status rc_binary_scalar(rc_tensor **out, rc_binop op, const rc_tensor *a, double s) {
  return rc_fail(RC_ERR_STATE, "binary_scalar: not implemented yet");
}

rc_status rc_scalar_binary(rc_tensor **out, rc_binop op, double s, const rc_tensor *a) {
  return rc_fail(RC_ERR_STATE, "scalar_binary: not implemented yet");
}

rc_status rc_binary_(rc_tensor *a, rc_binop op, const rc_tensor *b) {
  return rc_fail(RC_ERR_STATE, "binary_: not implemented yet");
}

rc_status rc_binary_scalar_(rc_tensor *a, rc_binop op, double s) {
  return rc_fail(RC_ERR_STATE, "binary_scalar_: not implemented yet");
}

rc_status rc_unary(rc_tensor **out, rc_unop op, const rc_tensor *a) {
  return rc_fail(RC_ERR_STATE, "unary: not implemented yet");
}

rc_status rc_unary_(rc_tensor *a, rc_unop op) {
  return rc_fail(RC_ERR_STATE, "unary_: not implemented yet");
}

rc_status rc_clamp(rc_tensor **out, const rc_tensor *a, double lo, double hi) {
  return rc_fail(RC_ERR_STATE, "clamp: not implemented yet");
}

rc_status rc_clamp_(rc_tensor *a, double lo, double hi) {
  return rc_fail(RC_ERR_STATE, "clamp_: not implemented yet");
}

rc_status rc_where(rc_tensor **out, const rc_tensor *cond, const rc_tensor *a, const rc_tensor *b) {
  return rc_fail(RC_ERR_STATE, "where: not implemented yet");
}

rc_status rc_masked_fill(rc_tensor **out, const rc_tensor *a, const rc_tensor *mask, double value) {
  return rc_fail(RC_ERR_STATE, "masked_fill: not implemented yet");
}

rc_status rc_masked_fill_(rc_tensor *a, const rc_tensor *mask, double value) {
  return rc_fail(RC_ERR_STATE, "masked_fill_: not implemented yet");
}
