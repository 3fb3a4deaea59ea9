/* core/view.c — views that share storage (view, transpose, narrow, select, expand ...),
   and contiguous/clone, the two that copy. STUB parts: to be written. */
#include "ops.h"
#include "random.h"

rc_status rc_view(rc_tensor **out, const rc_tensor *t, int ndim, const int64_t *shape) {
  return rc_fail(RC_ERR_STATE, "view: not implemented yet");
}

rc_status rc_reshape(rc_tensor **out, const rc_tensor *t, int ndim, const int64_t *shape) {
  return rc_fail(RC_ERR_STATE, "reshape: not implemented yet");
}

rc_status rc_transpose(rc_tensor **out, const rc_tensor *t, int dim0, int dim1) {
  return rc_fail(RC_ERR_STATE, "transpose: not implemented yet");
}

rc_status rc_permute(rc_tensor **out, const rc_tensor *t, int ndim, const int *dims) {
  return rc_fail(RC_ERR_STATE, "permute: not implemented yet");
}

rc_status rc_narrow(rc_tensor **out, const rc_tensor *t, int dim, int64_t start, int64_t length) {
  return rc_fail(RC_ERR_STATE, "narrow: not implemented yet");
}

rc_status rc_select(rc_tensor **out, const rc_tensor *t, int dim, int64_t index) {
  return rc_fail(RC_ERR_STATE, "select: not implemented yet");
}

rc_status rc_unsqueeze(rc_tensor **out, const rc_tensor *t, int dim) {
  return rc_fail(RC_ERR_STATE, "unsqueeze: not implemented yet");
}

rc_status rc_squeeze(rc_tensor **out, const rc_tensor *t, int dim) {
  return rc_fail(RC_ERR_STATE, "squeeze: not implemented yet");
}

rc_status rc_expand(rc_tensor **out, const rc_tensor *t, int ndim, const int64_t *shape) {
  return rc_fail(RC_ERR_STATE, "expand: not implemented yet");
}

rc_status rc_flatten(rc_tensor **out, const rc_tensor *t, int start_dim, int end_dim) {
  return rc_fail(RC_ERR_STATE, "flatten: not implemented yet");
}

rc_status rc_contiguous(rc_tensor **out, const rc_tensor *t) {
  if (rc_is_contiguous(t)) {
    *out = rc_retain((rc_tensor *)t);
    return RC_OK;
  }
  return rc_clone(out, t);
}

rc_status rc_clone(rc_tensor **out, const rc_tensor *t) {
  rc_tensor *c = NULL;
  rc_status st = rc_empty_like(&c, t, t->dtype);
  if (st) return st;
  if ((st = rc_copy_(c, t))) {
    rc_release(c);
    return st;
  }
  *out = c;
  return RC_OK;
}
