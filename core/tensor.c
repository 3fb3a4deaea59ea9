/* core/tensor.c — tensor and storage lifetime, and the facts every op asks about a tensor.
   Storage is 64-byte aligned so the kernels can use aligned vector loads on contiguous data. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "alloc.h"
#include "tensor.h"
#include "autograd.h"

static const int64_t max_storage_bytes = INT64_C(1) << 46;  /* 64 TiB: past this, a size is a bug */

size_t rc_dtype_size(rc_dtype dtype) { return dtype == RC_INT64 ? 8 : 4; }

const char *rc_dtype_name(rc_dtype dtype) { return dtype == RC_INT64 ? "int64" : "float32"; }

static rc_status storage_new(rc_storage **out, size_t nbytes) {
  rc_storage *s = malloc(sizeof *s);
  if (!s) return rc_fail(RC_ERR_NOMEM, "empty: out of memory allocating a storage header");
  s->data = rc_block_alloc(nbytes);
  if (!s->data) {
    free(s);
    return rc_fail(RC_ERR_NOMEM, "empty: out of memory: %zu bytes (%.1f GiB) of tensor storage "
                                 "could not be allocated", nbytes, (double)nbytes / (1 << 30));
  }
  s->nbytes = nbytes;
  s->refcount = 1;
  s->version = 0;
  *out = s;
  return RC_OK;
}

static void storage_release(rc_storage *s) {
  if (s && --s->refcount == 0) {
    rc_block_free(s->data, s->nbytes);
    free(s);
  }
}

rc_status rc_empty(rc_tensor **out, rc_dtype dtype, int ndim, const int64_t *shape) {
  if (ndim < 0 || ndim > RC_MAX_DIMS)
    return rc_fail(RC_ERR_ARG, "empty: a tensor has 0..%d dims, got %d", RC_MAX_DIMS, ndim);
  int64_t n = 1;
  for (int d = 0; d < ndim; d++) {
    if (shape[d] < 0)
      return rc_fail(RC_ERR_ARG, "empty: size %lld of dim %d is negative",
                     (long long)shape[d], d);
    if (shape[d] && n > max_storage_bytes / 8 / shape[d])
      return rc_fail(RC_ERR_NOMEM, "empty: %d-dim tensor is too large to allocate", ndim);
    n *= shape[d];
  }
  rc_tensor *t = calloc(1, sizeof *t);
  if (!t) return rc_fail(RC_ERR_NOMEM, "empty: out of memory allocating a tensor");
  rc_status st = storage_new(&t->storage, (size_t)n * rc_dtype_size(dtype));
  if (st) {
    free(t);
    return st;
  }
  t->dtype = dtype;
  t->ndim = ndim;
  t->refcount = 1;
  int64_t stride = 1;
  for (int d = ndim - 1; d >= 0; d--) { /* sizes 0 count as 1, as PyTorch: no zero strides */
    t->shape[d] = shape[d];
    t->stride[d] = stride;
    stride *= shape[d] > 1 ? shape[d] : 1;
  }
  *out = t;
  return RC_OK;
}

rc_status rc_empty_like(rc_tensor **out, const rc_tensor *like, rc_dtype dtype) {
  return rc_empty(out, dtype, like->ndim, like->shape);
}

rc_status rc_view_of(rc_tensor **out, const rc_tensor *src, int ndim, const int64_t *shape,
                     const int64_t *stride, int64_t offset) {
  rc_tensor *t = calloc(1, sizeof *t);
  if (!t) return rc_fail(RC_ERR_NOMEM, "view: out of memory allocating a tensor view");
  t->dtype = src->dtype;
  t->ndim = ndim;
  memcpy(t->shape, shape, sizeof(int64_t) * (size_t)ndim);
  memcpy(t->stride, stride, sizeof(int64_t) * (size_t)ndim);
  t->offset = offset;
  t->storage = src->storage;
  t->storage->refcount++;
  t->refcount = 1;
  *out = t;
  return RC_OK;
}

rc_tensor *rc_retain(rc_tensor *t) {
  if (t) t->refcount++;
  return t;
}

void rc_release(rc_tensor *t) {
  if (t && --t->refcount == 0) {
    storage_release(t->storage);
    rc_release(t->grad);
    rc_node_release(t->grad_fn);
    free(t);
  }
}

int64_t rc_numel(const rc_tensor *t) {
  int64_t n = 1;
  for (int d = 0; d < t->ndim; d++) n *= t->shape[d];
  return n;
}

bool rc_is_contiguous(const rc_tensor *t) {
  if (rc_numel(t) == 0) return true; /* no element is out of place */
  int64_t expected = 1;
  for (int d = t->ndim - 1; d >= 0; d--) {
    if (t->shape[d] != 1 && t->stride[d] != expected) return false;
    expected *= t->shape[d];
  }
  return true;
}

size_t rc_storage_bytes(const rc_tensor *t) { return t->storage->nbytes; }

char *rc_dims_str(int ndim, const int64_t *shape, char *buf, size_t size) {
  size_t used = (size_t)snprintf(buf, size, "(");
  for (int d = 0; d < ndim && used < size; d++)
    used += (size_t)snprintf(buf + used, size - used, d ? ",%lld" : "%lld", (long long)shape[d]);
  if (used < size) snprintf(buf + used, size - used, ")");
  return buf;
}

char *rc_shape_str(const rc_tensor *t, char *buf, size_t size) {
  return rc_dims_str(t->ndim, t->shape, buf, size);
}

rc_status rc_norm_dim(const char *fn, int *dim, int ndim) {
  int d = *dim < 0 ? *dim + ndim : *dim;
  if (d < 0 || d >= ndim || ndim == 0)
    return rc_fail(RC_ERR_INDEX, "%s: dim %d out of range for a tensor of %d dims", fn, *dim,
                   ndim > 0 ? ndim : 0);
  *dim = d;
  return RC_OK;
}

int64_t rc_flat_offset(const rc_tensor *t, int64_t flat) {
  int64_t off = t->offset;
  for (int d = t->ndim - 1; d >= 0; d--) {
    off += (flat % t->shape[d]) * t->stride[d];
    flat /= t->shape[d];
  }
  return off;
}

double rc_get_flat(const rc_tensor *t, int64_t flat) {
  int64_t off = rc_flat_offset(t, flat);
  if (t->dtype == RC_INT64) return (double)((int64_t *)t->storage->data)[off];
  return ((float *)t->storage->data)[off];
}

void rc_set_flat(rc_tensor *t, int64_t flat, double value) {
  int64_t off = rc_flat_offset(t, flat);
  if (t->dtype == RC_INT64)
    ((int64_t *)t->storage->data)[off] = (int64_t)value;
  else
    ((float *)t->storage->data)[off] = (float)value;
}
