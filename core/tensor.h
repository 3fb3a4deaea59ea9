/* core/tensor.h — the tensor: a strided view over refcounted, 64-byte-aligned storage.
   float32 for values, int64 for ids, lengths and indices. Dims here are 0-based; negative counts from the end. */
#ifndef RC_TENSOR_H
#define RC_TENSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "error.h"

#define RC_MAX_DIMS 8

typedef enum { RC_FLOAT32 = 0, RC_INT64 = 1 } rc_dtype;

typedef struct rc_storage {
  void *data;       /* 64-byte aligned, owned */
  size_t nbytes;
  int refcount;     /* one per tensor viewing it */
  uint64_t version; /* bumped by every in-place write, so autograd sees saved values change */
} rc_storage;

struct rc_node;

typedef struct rc_tensor {
  rc_dtype dtype;
  int ndim;                        /* 0 for a scalar */
  int64_t shape[RC_MAX_DIMS];
  int64_t stride[RC_MAX_DIMS];     /* in elements, may be 0 (expand) */
  int64_t offset;                  /* in elements, into storage */
  rc_storage *storage;
  int refcount;                    /* owners of this tensor struct */
  /* autograd (core/autograd.h) */
  bool requires_grad;              /* a leaf the user marked, or a result that depends on one */
  struct rc_tensor *grad;          /* accumulated gradient, or NULL */
  struct rc_node *grad_fn;         /* the node that made this tensor; NULL for a leaf */
  int output_nr;                   /* which output of grad_fn this tensor is */
} rc_tensor;

/* --- lifetime ------------------------------------------------------------ */

/* A new contiguous tensor with uninitialised values. */
rc_status rc_empty(rc_tensor **out, rc_dtype dtype, int ndim, const int64_t *shape);
/* A new contiguous tensor shaped like `like`, of the given dtype. */
rc_status rc_empty_like(rc_tensor **out, const rc_tensor *like, rc_dtype dtype);
/* A new tensor struct over src's storage (a view); shape and stride are copied. */
rc_status rc_view_of(rc_tensor **out, const rc_tensor *src, int ndim, const int64_t *shape,
                     const int64_t *stride, int64_t offset);
rc_tensor *rc_retain(rc_tensor *t);
void rc_release(rc_tensor *t);   /* NULL is fine */

/* --- facts --------------------------------------------------------------- */

int64_t rc_numel(const rc_tensor *t);
size_t rc_dtype_size(rc_dtype dtype);
const char *rc_dtype_name(rc_dtype dtype);     /* "float32" | "int64" */
bool rc_is_contiguous(const rc_tensor *t);
/* Storage bytes this tensor's storage holds (for telling a garbage collector). */
size_t rc_storage_bytes(const rc_tensor *t);
/* Writes "(2,3)" into buf, for messages; returns buf. */
char *rc_shape_str(const rc_tensor *t, char *buf, size_t size);
char *rc_dims_str(int ndim, const int64_t *shape, char *buf, size_t size);
/* Normalise a possibly negative dim for a tensor of ndim dims (ndim+1 when inserting). */
rc_status rc_norm_dim(const char *fn, int *dim, int ndim);

/* First element of the view, typed. */
static inline float *rc_f32(const rc_tensor *t) {
  return (float *)t->storage->data + t->offset;
}
static inline int64_t *rc_i64(const rc_tensor *t) {
  return (int64_t *)t->storage->data + t->offset;
}

/* Element offset (from the storage start) of a flat row-major index. */
int64_t rc_flat_offset(const rc_tensor *t, int64_t flat_index);
/* Read and write one element by flat row-major index, any dtype, as double. */
double rc_get_flat(const rc_tensor *t, int64_t flat_index);
void rc_set_flat(rc_tensor *t, int64_t flat_index, double value);

#endif
