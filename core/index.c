/* core/index.c — STUB: to be written. */
#include "ops.h"
#include "random.h"

rc_status rc_index_select(rc_tensor **out, const rc_tensor *a, int dim, const rc_tensor *index) {
  return rc_fail(RC_ERR_STATE, "index_select: not implemented yet");
}

rc_status rc_gather(rc_tensor **out, const rc_tensor *a, int dim, const rc_tensor *index) {
  return rc_fail(RC_ERR_STATE, "gather: not implemented yet");
}

rc_status rc_scatter_add(rc_tensor **out, const rc_tensor *a, int dim, const rc_tensor *index, const rc_tensor *src) {
  return rc_fail(RC_ERR_STATE, "scatter_add: not implemented yet");
}

rc_status rc_scatter_add_(rc_tensor *a, int dim, const rc_tensor *index, const rc_tensor *src) {
  return rc_fail(RC_ERR_STATE, "scatter_add_: not implemented yet");
}

rc_status rc_cat(rc_tensor **out, int n, const rc_tensor *const *ts, int dim) {
  return rc_fail(RC_ERR_STATE, "cat: not implemented yet");
}

rc_status rc_stack(rc_tensor **out, int n, const rc_tensor *const *ts, int dim) {
  return rc_fail(RC_ERR_STATE, "stack: not implemented yet");
}

rc_status rc_split(rc_tensor ***pieces, int *count, const rc_tensor *a, int64_t size, int dim) {
  return rc_fail(RC_ERR_STATE, "split: not implemented yet");
}

rc_status rc_split_sizes(rc_tensor ***pieces, int *count, const rc_tensor *a, int n, const int64_t *sizes, int dim) {
  return rc_fail(RC_ERR_STATE, "split_sizes: not implemented yet");
}

rc_status rc_chunk(rc_tensor ***pieces, int *count, const rc_tensor *a, int chunks, int dim) {
  return rc_fail(RC_ERR_STATE, "chunk: not implemented yet");
}
