/* core/grad_view.c — STUB: differentiable versions still to be written; they run the raw op
   and refuse to record (an error) when an input requires grad. */
#include "grad.h"

rc_status rcg_view(rc_tensor **out, const rc_tensor *t, int ndim, const int64_t *shape) {
  if (rc_grad_enabled() && ((t && t->requires_grad)))
    return rc_fail(RC_ERR_STATE, "view: not differentiable yet");
  return rc_view(out, t, ndim, shape);
}

rc_status rcg_reshape(rc_tensor **out, const rc_tensor *t, int ndim, const int64_t *shape) {
  if (rc_grad_enabled() && ((t && t->requires_grad)))
    return rc_fail(RC_ERR_STATE, "reshape: not differentiable yet");
  return rc_reshape(out, t, ndim, shape);
}

rc_status rcg_transpose(rc_tensor **out, const rc_tensor *t, int dim0, int dim1) {
  if (rc_grad_enabled() && ((t && t->requires_grad)))
    return rc_fail(RC_ERR_STATE, "transpose: not differentiable yet");
  return rc_transpose(out, t, dim0, dim1);
}

rc_status rcg_permute(rc_tensor **out, const rc_tensor *t, int ndim, const int *dims) {
  if (rc_grad_enabled() && ((t && t->requires_grad)))
    return rc_fail(RC_ERR_STATE, "permute: not differentiable yet");
  return rc_permute(out, t, ndim, dims);
}

rc_status rcg_narrow(rc_tensor **out, const rc_tensor *t, int dim, int64_t start, int64_t length) {
  if (rc_grad_enabled() && ((t && t->requires_grad)))
    return rc_fail(RC_ERR_STATE, "narrow: not differentiable yet");
  return rc_narrow(out, t, dim, start, length);
}

rc_status rcg_select(rc_tensor **out, const rc_tensor *t, int dim, int64_t index) {
  if (rc_grad_enabled() && ((t && t->requires_grad)))
    return rc_fail(RC_ERR_STATE, "select: not differentiable yet");
  return rc_select(out, t, dim, index);
}

rc_status rcg_unsqueeze(rc_tensor **out, const rc_tensor *t, int dim) {
  if (rc_grad_enabled() && ((t && t->requires_grad)))
    return rc_fail(RC_ERR_STATE, "unsqueeze: not differentiable yet");
  return rc_unsqueeze(out, t, dim);
}

rc_status rcg_squeeze(rc_tensor **out, const rc_tensor *t, int dim) {
  if (rc_grad_enabled() && ((t && t->requires_grad)))
    return rc_fail(RC_ERR_STATE, "squeeze: not differentiable yet");
  return rc_squeeze(out, t, dim);
}

rc_status rcg_expand(rc_tensor **out, const rc_tensor *t, int ndim, const int64_t *shape) {
  if (rc_grad_enabled() && ((t && t->requires_grad)))
    return rc_fail(RC_ERR_STATE, "expand: not differentiable yet");
  return rc_expand(out, t, ndim, shape);
}

rc_status rcg_flatten(rc_tensor **out, const rc_tensor *t, int start_dim, int end_dim) {
  if (rc_grad_enabled() && ((t && t->requires_grad)))
    return rc_fail(RC_ERR_STATE, "flatten: not differentiable yet");
  return rc_flatten(out, t, start_dim, end_dim);
}

rc_status rcg_contiguous(rc_tensor **out, const rc_tensor *t) {
  if (rc_grad_enabled() && ((t && t->requires_grad)))
    return rc_fail(RC_ERR_STATE, "contiguous: not differentiable yet");
  return rc_contiguous(out, t);
}

rc_status rcg_clone(rc_tensor **out, const rc_tensor *t) {
  if (rc_grad_enabled() && ((t && t->requires_grad)))
    return rc_fail(RC_ERR_STATE, "clone: not differentiable yet");
  return rc_clone(out, t);
}

rc_status rcg_to_dtype(rc_tensor **out, const rc_tensor *t, rc_dtype dtype) {
  if (rc_grad_enabled() && ((t && t->requires_grad)))
    return rc_fail(RC_ERR_STATE, "to_dtype: not differentiable yet");
  return rc_to_dtype(out, t, dtype);
}

rc_status rcg_index_select(rc_tensor **out, const rc_tensor *a, int dim, const rc_tensor *index) {
  if (rc_grad_enabled() && ((a && a->requires_grad) || (index && index->requires_grad)))
    return rc_fail(RC_ERR_STATE, "index_select: not differentiable yet");
  return rc_index_select(out, a, dim, index);
}

rc_status rcg_gather(rc_tensor **out, const rc_tensor *a, int dim, const rc_tensor *index) {
  if (rc_grad_enabled() && ((a && a->requires_grad) || (index && index->requires_grad)))
    return rc_fail(RC_ERR_STATE, "gather: not differentiable yet");
  return rc_gather(out, a, dim, index);
}

rc_status rcg_scatter_add(rc_tensor **out, const rc_tensor *a, int dim, const rc_tensor *index, const rc_tensor *src) {
  if (rc_grad_enabled() && ((a && a->requires_grad) || (index && index->requires_grad) || (src && src->requires_grad)))
    return rc_fail(RC_ERR_STATE, "scatter_add: not differentiable yet");
  return rc_scatter_add(out, a, dim, index, src);
}

rc_status rcg_cat(rc_tensor **out, int n, const rc_tensor *const *ts, int dim) {
  if (rc_grad_enabled() && rc_any_requires_grad(n, ts))
    return rc_fail(RC_ERR_STATE, "cat: not differentiable yet");
  return rc_cat(out, n, ts, dim);
}

rc_status rcg_stack(rc_tensor **out, int n, const rc_tensor *const *ts, int dim) {
  if (rc_grad_enabled() && rc_any_requires_grad(n, ts))
    return rc_fail(RC_ERR_STATE, "stack: not differentiable yet");
  return rc_stack(out, n, ts, dim);
}

rc_status rcg_split(rc_tensor ***pieces, int *count, const rc_tensor *a, int64_t size, int dim) {
  if (rc_grad_enabled() && ((a && a->requires_grad)))
    return rc_fail(RC_ERR_STATE, "split: not differentiable yet");
  return rc_split(pieces, count, a, size, dim);
}

rc_status rcg_split_sizes(rc_tensor ***pieces, int *count, const rc_tensor *a, int n, const int64_t *sizes, int dim) {
  if (rc_grad_enabled() && ((a && a->requires_grad)))
    return rc_fail(RC_ERR_STATE, "split_sizes: not differentiable yet");
  return rc_split_sizes(pieces, count, a, n, sizes, dim);
}

rc_status rcg_chunk(rc_tensor ***pieces, int *count, const rc_tensor *a, int chunks, int dim) {
  if (rc_grad_enabled() && ((a && a->requires_grad)))
    return rc_fail(RC_ERR_STATE, "chunk: not differentiable yet");
  return rc_chunk(pieces, count, a, chunks, dim);
}
