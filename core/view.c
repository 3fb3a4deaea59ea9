/* core/view.c — views that share storage (view, transpose, narrow, select, expand ...),
   and contiguous/clone, the two that copy. A view is a new shape/stride/offset, no data moves. */
#include "ops.h"

/* Resolve one -1 in shape against t's element count, as torch.Tensor.view does.
   fn names the op for messages; resolved is shape with the -1 filled in. */
static rc_status infer_shape(const char *fn, const rc_tensor *t, int ndim, const int64_t *shape,
                             int64_t *resolved) {
  char want[160], have[160];
  if (ndim < 0 || ndim > RC_MAX_DIMS)
    return rc_fail(RC_ERR_ARG, "%s: a shape has 0..%d dims, got %d", fn, RC_MAX_DIMS, ndim);
  int infer = -1;
  int64_t known = 1;
  for (int d = 0; d < ndim; d++) {
    resolved[d] = shape[d];
    if (shape[d] == -1) {
      if (infer >= 0)
        return rc_fail(RC_ERR_ARG, "%s: only one size can be -1, got shape %s", fn,
                       rc_dims_str(ndim, shape, want, sizeof want));
      infer = d;
    } else if (shape[d] < 0) {
      return rc_fail(RC_ERR_ARG, "%s: sizes must be >= 0 or -1, got shape %s", fn,
                     rc_dims_str(ndim, shape, want, sizeof want));
    } else {
      known *= shape[d];
    }
  }
  int64_t numel = rc_numel(t);
  if (infer >= 0) {
    /* 0 elements leave the -1 undetermined, as in PyTorch. */
    if (known == 0 || numel % known != 0)
      return rc_fail(RC_ERR_SHAPE, "%s: shape %s is invalid for a tensor of shape %s (%lld elements)",
                     fn, rc_dims_str(ndim, shape, want, sizeof want),
                     rc_shape_str(t, have, sizeof have), (long long)numel);
    resolved[infer] = numel / known;
  } else if (known != numel) {
    return rc_fail(RC_ERR_SHAPE, "%s: shape %s is invalid for a tensor of shape %s (%lld elements)",
                   fn, rc_dims_str(ndim, shape, want, sizeof want),
                   rc_shape_str(t, have, sizeof have), (long long)numel);
  }
  return RC_OK;
}

static void contiguous_strides(int ndim, const int64_t *shape, int64_t *stride) {
  int64_t s = 1;
  for (int d = ndim - 1; d >= 0; d--) {
    stride[d] = s;
    s *= shape[d] > 1 ? shape[d] : 1;
  }
}

/* Strides that let t be seen with shape `shape` (same numel) without copying, or false.
   ATen's computeStride: walk t's dims from the right in chunks that are contiguous among
   themselves; each chunk must be covered exactly by a run of new dims. */
static bool view_strides(const rc_tensor *t, int ndim, const int64_t *shape, int64_t *stride) {
  if (t->ndim == 0 || rc_numel(t) == 0) {
    contiguous_strides(ndim, shape, stride);
    return true;
  }
  int view_d = ndim - 1;
  int64_t chunk_base = t->stride[t->ndim - 1];
  int64_t tensor_numel = 1, view_numel = 1;
  for (int d = t->ndim - 1; d >= 0; d--) {
    tensor_numel *= t->shape[d];
    bool chunk_ends = d == 0 || (t->shape[d - 1] != 1 &&
                                 t->stride[d - 1] != tensor_numel * chunk_base);
    if (!chunk_ends) continue;
    while (view_d >= 0 && (view_numel < tensor_numel || shape[view_d] == 1)) {
      stride[view_d] = view_numel * chunk_base;
      view_numel *= shape[view_d];
      view_d--;
    }
    if (view_numel != tensor_numel) return false;
    if (d > 0) {
      chunk_base = t->stride[d - 1];
      tensor_numel = 1;
      view_numel = 1;
    }
  }
  return view_d == -1;
}

rc_status rc_view(rc_tensor **out, const rc_tensor *t, int ndim, const int64_t *shape) {
  int64_t resolved[RC_MAX_DIMS], stride[RC_MAX_DIMS];
  rc_status st = infer_shape("view", t, ndim, shape, resolved);
  if (st) return st;
  if (!view_strides(t, ndim, resolved, stride)) {
    char want[160], have[160], strides[160];
    return rc_fail(RC_ERR_SHAPE,
                   "view: shape %s is not compatible with a tensor of shape %s and strides %s "
                   "(a new dim would span parts that are not contiguous); use reshape, which "
                   "copies when it must",
                   rc_dims_str(ndim, resolved, want, sizeof want),
                   rc_shape_str(t, have, sizeof have),
                   rc_dims_str(t->ndim, t->stride, strides, sizeof strides));
  }
  return rc_view_of(out, t, ndim, resolved, stride, t->offset);
}

/* reshape under a given op name (flatten reports as itself). */
static rc_status reshape_as(const char *fn, rc_tensor **out, const rc_tensor *t, int ndim,
                            const int64_t *shape) {
  int64_t resolved[RC_MAX_DIMS], stride[RC_MAX_DIMS];
  rc_status st = infer_shape(fn, t, ndim, shape, resolved);
  if (st) return st;
  if (view_strides(t, ndim, resolved, stride))
    return rc_view_of(out, t, ndim, resolved, stride, t->offset);
  rc_tensor *c = NULL;
  if ((st = rc_clone(&c, t))) return st;   /* contiguous, so the view below always exists */
  contiguous_strides(ndim, resolved, stride);
  st = rc_view_of(out, c, ndim, resolved, stride, c->offset);
  rc_release(c);
  return st;
}

rc_status rc_reshape(rc_tensor **out, const rc_tensor *t, int ndim, const int64_t *shape) {
  return reshape_as("reshape", out, t, ndim, shape);
}

rc_status rc_transpose(rc_tensor **out, const rc_tensor *t, int dim0, int dim1) {
  rc_status st;
  if ((st = rc_norm_dim("transpose", &dim0, t->ndim)) || (st = rc_norm_dim("transpose", &dim1, t->ndim)))
    return st;
  int64_t shape[RC_MAX_DIMS], stride[RC_MAX_DIMS];
  for (int d = 0; d < t->ndim; d++) {
    shape[d] = t->shape[d];
    stride[d] = t->stride[d];
  }
  shape[dim0] = t->shape[dim1];
  stride[dim0] = t->stride[dim1];
  shape[dim1] = t->shape[dim0];
  stride[dim1] = t->stride[dim0];
  return rc_view_of(out, t, t->ndim, shape, stride, t->offset);
}

/* Result dim d is source dim dims[d]. */
rc_status rc_permute(rc_tensor **out, const rc_tensor *t, int ndim, const int *dims) {
  if (ndim != t->ndim)
    return rc_fail(RC_ERR_ARG, "permute: needs one dim per tensor dim (%d), got %d", t->ndim, ndim);
  bool seen[RC_MAX_DIMS] = {false};
  int64_t shape[RC_MAX_DIMS], stride[RC_MAX_DIMS];
  for (int d = 0; d < ndim; d++) {
    int src = dims[d];
    rc_status st = rc_norm_dim("permute", &src, t->ndim);
    if (st) return st;
    if (seen[src])
      return rc_fail(RC_ERR_ARG, "permute: dim %d appears twice; dims must be a permutation",
                     dims[d]);
    seen[src] = true;
    shape[d] = t->shape[src];
    stride[d] = t->stride[src];
  }
  return rc_view_of(out, t, ndim, shape, stride, t->offset);
}

/* start may be negative (from the end); 0 <= start, start + length <= size. */
rc_status rc_narrow(rc_tensor **out, const rc_tensor *t, int dim, int64_t start, int64_t length) {
  rc_status st = rc_norm_dim("narrow", &dim, t->ndim);
  if (st) return st;
  int64_t size = t->shape[dim];
  int64_t s = start < 0 ? start + size : start;
  if (s < 0 || s > size)
    return rc_fail(RC_ERR_INDEX, "narrow: start %lld out of range for dim %d of size %lld",
                   (long long)start, dim, (long long)size);
  if (length < 0 || s + length > size)
    return rc_fail(RC_ERR_INDEX, "narrow: start %lld and length %lld do not fit in dim %d of size "
                                 "%lld", (long long)start, (long long)length, dim, (long long)size);
  int64_t shape[RC_MAX_DIMS];
  for (int d = 0; d < t->ndim; d++) shape[d] = t->shape[d];
  shape[dim] = length;
  return rc_view_of(out, t, t->ndim, shape, t->stride, t->offset + s * t->stride[dim]);
}

/* Drops dim: (A,B,C) select(1, i) -> (A,C). index may be negative (from the end). */
rc_status rc_select(rc_tensor **out, const rc_tensor *t, int dim, int64_t index) {
  rc_status st = rc_norm_dim("select", &dim, t->ndim);
  if (st) return st;
  int64_t size = t->shape[dim];
  int64_t i = index < 0 ? index + size : index;
  if (i < 0 || i >= size)
    return rc_fail(RC_ERR_INDEX, "select: index %lld out of range for dim %d of size %lld",
                   (long long)index, dim, (long long)size);
  int64_t shape[RC_MAX_DIMS], stride[RC_MAX_DIMS];
  int n = 0;
  for (int d = 0; d < t->ndim; d++) {
    if (d == dim) continue;
    shape[n] = t->shape[d];
    stride[n++] = t->stride[d];
  }
  return rc_view_of(out, t, n, shape, stride, t->offset + i * t->stride[dim]);
}

/* (A,B) unsqueeze(1) -> (A,1,B); dim ranges over ndim+1 places. */
rc_status rc_unsqueeze(rc_tensor **out, const rc_tensor *t, int dim) {
  if (t->ndim == RC_MAX_DIMS)
    return rc_fail(RC_ERR_ARG, "unsqueeze: a tensor has at most %d dims", RC_MAX_DIMS);
  rc_status st = rc_norm_dim("unsqueeze", &dim, t->ndim + 1);
  if (st) return st;
  int64_t shape[RC_MAX_DIMS], stride[RC_MAX_DIMS];
  for (int d = 0, s = 0; d <= t->ndim; d++) {
    if (d == dim) {
      shape[d] = 1;
      /* Any stride works for size 1; this one keeps a contiguous tensor contiguous. */
      stride[d] = dim < t->ndim ? t->shape[dim] * t->stride[dim] : 1;
    } else {
      shape[d] = t->shape[s];
      stride[d] = t->stride[s++];
    }
  }
  return rc_view_of(out, t, t->ndim + 1, shape, stride, t->offset);
}

rc_status rc_squeeze(rc_tensor **out, const rc_tensor *t, int dim) {
  if (dim != RC_ALL_DIMS) {
    /* A 0-d tensor takes dim 0 / -1, as in PyTorch. */
    rc_status st = rc_norm_dim("squeeze", &dim, t->ndim > 0 ? t->ndim : 1);
    if (st) return st;
  }
  int64_t shape[RC_MAX_DIMS], stride[RC_MAX_DIMS];
  int n = 0;
  for (int d = 0; d < t->ndim; d++) {
    if (t->shape[d] == 1 && (dim == RC_ALL_DIMS || d == dim)) continue;
    shape[n] = t->shape[d];
    stride[n++] = t->stride[d];
  }
  return rc_view_of(out, t, n, shape, stride, t->offset);
}

/* (3,1) expand(2,3,4) -> (2,3,4) with stride 0 on the new and the size-1 dims.
   -1 keeps a size; new dims go in front. */
rc_status rc_expand(rc_tensor **out, const rc_tensor *t, int ndim, const int64_t *shape) {
  char want[160], have[160];
  if (ndim > RC_MAX_DIMS)
    return rc_fail(RC_ERR_ARG, "expand: a tensor has at most %d dims, got %d", RC_MAX_DIMS, ndim);
  if (ndim < t->ndim)
    return rc_fail(RC_ERR_SHAPE, "expand: shape %s has fewer dims than the tensor's shape %s",
                   rc_dims_str(ndim, shape, want, sizeof want), rc_shape_str(t, have, sizeof have));
  int lead = ndim - t->ndim;
  int64_t new_shape[RC_MAX_DIMS], stride[RC_MAX_DIMS];
  for (int d = 0; d < ndim; d++) {
    int64_t size = shape[d];
    if (d < lead) {
      if (size < 0)
        return rc_fail(RC_ERR_ARG, "expand: shape %s puts %lld in a new leading dim, which needs "
                                   "a size >= 0", rc_dims_str(ndim, shape, want, sizeof want),
                       (long long)size);
      new_shape[d] = size;
      stride[d] = 0;
      continue;
    }
    int64_t have_size = t->shape[d - lead];
    if (size < -1)
      return rc_fail(RC_ERR_ARG, "expand: sizes must be >= 0 or -1, got shape %s",
                     rc_dims_str(ndim, shape, want, sizeof want));
    if (size == -1 || size == have_size) {
      new_shape[d] = have_size;
      stride[d] = t->stride[d - lead];
    } else if (have_size == 1 && size >= 0) {
      new_shape[d] = size;
      stride[d] = 0;
    } else {
      return rc_fail(RC_ERR_SHAPE, "expand: cannot expand shape %s to %s (only size-1 dims "
                                   "expand, and %lld != %lld)",
                     rc_shape_str(t, have, sizeof have), rc_dims_str(ndim, shape, want, sizeof want),
                     (long long)have_size, (long long)size);
    }
  }
  return rc_view_of(out, t, ndim, new_shape, stride, t->offset);
}

/* (A,B,C,D) flatten(1,2) -> (A,B*C,D). A view when strides allow, else a copy (as torch). */
rc_status rc_flatten(rc_tensor **out, const rc_tensor *t, int start_dim, int end_dim) {
  rc_status st;
  if (t->ndim == 0) { /* a 0-d tensor flattens to (1), taking dims 0 / -1 as PyTorch */
    if ((st = rc_norm_dim("flatten", &start_dim, 1)) || (st = rc_norm_dim("flatten", &end_dim, 1)))
      return st;
    int64_t one = 1;
    return reshape_as("flatten", out, t, 1, &one);
  }
  int s = start_dim, e = end_dim;
  if ((st = rc_norm_dim("flatten", &s, t->ndim)) || (st = rc_norm_dim("flatten", &e, t->ndim)))
    return st;
  if (s > e)
    return rc_fail(RC_ERR_ARG, "flatten: start dim %d comes after end dim %d", start_dim, end_dim);
  int64_t shape[RC_MAX_DIMS];
  int n = 0;
  for (int d = 0; d < s; d++) shape[n++] = t->shape[d];
  int64_t merged = 1;
  for (int d = s; d <= e; d++) merged *= t->shape[d];
  shape[n++] = merged;
  for (int d = e + 1; d < t->ndim; d++) shape[n++] = t->shape[d];
  return reshape_as("flatten", out, t, n, shape);
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
