/* core/linalg.c — STUB: to be written. */
#include "ops.h"
#include "random.h"

rc_status rc_matmul(rc_tensor **out, const rc_tensor *a, const rc_tensor *b) {
  return rc_fail(RC_ERR_STATE, "matmul: not implemented yet");
}

rc_status rc_addmm(rc_tensor **out, const rc_tensor *c, const rc_tensor *a, const rc_tensor *b, double beta, double alpha) {
  return rc_fail(RC_ERR_STATE, "addmm: not implemented yet");
}

rc_status rc_bmm(rc_tensor **out, const rc_tensor *a, const rc_tensor *b) {
  return rc_fail(RC_ERR_STATE, "bmm: not implemented yet");
}

rc_status rc_dot(rc_tensor **out, const rc_tensor *a, const rc_tensor *b) {
  return rc_fail(RC_ERR_STATE, "dot: not implemented yet");
}
