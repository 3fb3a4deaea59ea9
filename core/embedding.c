/* core/embedding.c — embedding lookup: rows of a (V,D) table picked by int64 ids, one memcpy
   per id, and its backward, a race-free, deterministic scatter-add into the rows named. */
#include <stdlib.h>
#include <string.h>
#include "nn_ops.h"
#include "ops.h"
#include "runtime.h"
#include "loop.h"

static rc_status check_args(const rc_tensor *weight, const rc_tensor *ids, int64_t padding_idx) {
  char s[128];
  if (weight->dtype != RC_FLOAT32)
    return rc_fail(RC_ERR_ARG, "embedding: weight must be float32, got %s",
                   rc_dtype_name(weight->dtype));
  if (weight->ndim != 2)
    return rc_fail(RC_ERR_SHAPE, "embedding: weight must be 2-D (num_embeddings, "
                                 "embedding_dim), got shape %s", rc_shape_str(weight, s, sizeof s));
  if (ids->dtype != RC_INT64)
    return rc_fail(RC_ERR_ARG, "embedding: ids must be int64, got %s", rc_dtype_name(ids->dtype));
  if (ids->ndim + 1 > RC_MAX_DIMS)
    return rc_fail(RC_ERR_SHAPE, "embedding: ids have %d dims, at most %d allowed", ids->ndim,
                   RC_MAX_DIMS - 1);
  int64_t rows = weight->shape[0];
  if (padding_idx != RC_NO_PADDING && (padding_idx < 0 || padding_idx >= rows))
    return rc_fail(RC_ERR_INDEX, "embedding: padding_idx %lld out of range for %lld rows "
                                 "(expected 0..%lld)", (long long)padding_idx, (long long)rows,
                   (long long)rows - 1);
  return RC_OK;
}

/* Every id names a row; checked before anything is written. */
static rc_status check_ids(const int64_t *id, int64_t n, int64_t rows) {
  for (int64_t i = 0; i < n; i++)
    if (id[i] < 0 || id[i] >= rows)
      return rc_fail(RC_ERR_INDEX, "embedding: id %lld out of range for %lld rows (expected "
                                   "0..%lld)", (long long)id[i], (long long)rows,
                     (long long)rows - 1);
  return RC_OK;
}

/* --- forward ------------------------------------------------------------------------------
   weight (V,D), ids (...) -> out (..., D): out[i,:] = weight[ids[i],:]. Ids in parallel. */
rc_status rc_embedding(rc_tensor **out, const rc_tensor *weight, const rc_tensor *ids,
                       int64_t padding_idx) {
  rc_status st = check_args(weight, ids, padding_idx);
  if (st) return st;
  rc_tensor *ic = NULL, *wc = NULL, *r = NULL;
  if ((st = rc_contiguous(&ic, ids))) return st;
  int64_t n = rc_numel(ic), rows = weight->shape[0], dim = weight->shape[1];
  if ((st = check_ids(rc_i64(ic), n, rows))) goto done;
  if ((st = rc_contiguous(&wc, weight))) goto done;
  int64_t shape[RC_MAX_DIMS];
  memcpy(shape, ids->shape, sizeof(int64_t) * (size_t)ids->ndim);
  shape[ids->ndim] = dim;
  if ((st = rc_empty(&r, RC_FLOAT32, ids->ndim + 1, shape))) goto done;
  if (n > 0 && dim > 0) {
    const int64_t *id = rc_i64(ic);
    const float *w = rc_f32(wc);
    float *o = rc_f32(r);
    size_t bytes = sizeof(float) * (size_t)dim;
#pragma omp parallel for schedule(static) num_threads(rc_threads()) \
    if (n * dim >= RC_PARALLEL_MIN)
    for (int64_t i = 0; i < n; i++) memcpy(o + i * dim, w + id[i] * dim, bytes);
  }
  *out = r;
done:
  rc_release(ic), rc_release(wc);
  return st;
}

/* --- backward -----------------------------------------------------------------------------
   grad_out (..., D), ids (...) -> grad_weight (V,D):
   grad_weight[v,:] = sum of grad_out[i,:] over the i with ids[i] = v, v != padding_idx.
   A counting sort lists each row's positions in increasing i; each row then sums its own list
   in that order, so rows run in parallel without races and the sums do not depend on the
   thread count. Rows nobody named are zeroed in the same pass. */
static rc_status embedding_grad(rc_tensor **grad_weight, const rc_tensor *grad_out,
                                const rc_tensor *ids, int64_t rows, int64_t dim,
                                int64_t padding_idx) {
  rc_tensor *gc = NULL, *ic = NULL, *gw = NULL;
  int64_t *end = NULL, *order = NULL;
  rc_status st;
  if ((st = rc_contiguous(&gc, grad_out))) return st;
  if ((st = rc_contiguous(&ic, ids))) goto done;
  int64_t n = rc_numel(ic);
  const int64_t shape[2] = {rows, dim};
  if ((st = rc_empty(&gw, RC_FLOAT32, 2, shape))) goto done;
  end = calloc((size_t)rows + 1, sizeof *end);
  order = malloc(sizeof *order * (size_t)(n > 0 ? n : 1));
  if (!end || !order) {
    st = rc_fail(RC_ERR_NOMEM, "embedding: out of memory sorting %lld ids for the gradient",
                 (long long)n);
    goto done;
  }
  const int64_t *id = rc_i64(ic);
  /* end[v + 1] counts row v; the prefix sum makes end[v] row v's first slot; placing bumps
     it to row v's last slot + 1, so row v's list is order[(v ? end[v-1] : 0) .. end[v]). */
  for (int64_t i = 0; i < n; i++)
    if (id[i] != padding_idx) end[id[i] + 1]++;
  for (int64_t v = 0; v < rows; v++) end[v + 1] += end[v];
  for (int64_t i = 0; i < n; i++)
    if (id[i] != padding_idx) order[end[id[i]]++] = i;
  const float *g = rc_f32(gc);
  float *w = rc_f32(gw);
  size_t bytes = sizeof(float) * (size_t)dim;
  if (dim > 0) {
#pragma omp parallel for schedule(dynamic, 64) num_threads(rc_threads()) \
    if ((rows + n) * dim >= RC_PARALLEL_MIN)
    for (int64_t v = 0; v < rows; v++) {
      int64_t k = v ? end[v - 1] : 0, stop = end[v];
      float *dst = w + v * dim;
      if (k == stop) {
        memset(dst, 0, bytes);
        continue;
      }
      memcpy(dst, g + order[k] * dim, bytes);
      for (k++; k < stop; k++) {
        const float *src = g + order[k] * dim;
#pragma omp simd
        for (int64_t d = 0; d < dim; d++) dst[d] += src[d];
      }
    }
  }
  *grad_weight = gw;
  gw = NULL;
done:
  free(end), free(order);
  rc_release(gc), rc_release(ic), rc_release(gw);
  return st;
}

/* saved: ids. i[0] = padding_idx, i[1] = V, i[2] = D. */
static rc_status embedding_backward(rc_node *n, rc_tensor *const *gout, rc_tensor **gin) {
  if (!gout[0] || !n->inputs[0].needs_grad) return RC_OK;
  return embedding_grad(&gin[0], gout[0], n->saved[0], n->i[1], n->i[2], n->i[0]);
}

rc_status rcg_embedding(rc_tensor **out, const rc_tensor *weight, const rc_tensor *ids,
                        int64_t padding_idx) {
  rc_status st = rc_embedding(out, weight, ids, padding_idx);
  if (st) return st;
  const rc_tensor *in[1] = {weight}, *saved[1] = {ids};
  rc_node *node;
  if ((st = rc_record(&node, *out, "EmbeddingBackward", embedding_backward, 1, in, 1, saved))) {
    rc_release(*out);
    *out = NULL;
    return st;
  }
  if (node) node->i[0] = padding_idx, node->i[1] = weight->shape[0], node->i[2] = weight->shape[1];
  return RC_OK;
}
