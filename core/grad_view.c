/* core/grad_view.c — the differentiable views, copies and indexing ops: forward is the raw op
   (a view stays a view of its input's storage), backward puts g back into the input's shape. */
#include <stdlib.h>
#include "grad.h"
#include "loop.h"
#include "runtime.h"

/* The usual recording of a one-input op that saves nothing. */
static rc_status record1(rc_node **node, rc_tensor *out, const char *name, rc_backward_fn fn,
                         const rc_tensor *t) {
  const rc_tensor *in[1] = {t};
  return rc_record(node, out, name, fn, 1, in, 0, NULL);
}

/* A zero tensor shaped like input j of n. */
static rc_status zeros_like_input(rc_tensor **out, const rc_node *n, int j) {
  return rc_full(out, RC_FLOAT32, n->inputs[j].ndim, n->inputs[j].shape, 0.0);
}

/* --- view, reshape, flatten, unsqueeze, squeeze: t's values in another shape -------------
   t (input shape) -> out (new shape, same numel); g (new shape) -> g read in t's shape
   (reshape copies only when g's strides do not allow a view). */
static rc_status reshape_backward(rc_node *n, rc_tensor *const *gout, rc_tensor **gin) {
  if (!gout[0]) return RC_OK;
  return rc_reshape(&gin[0], gout[0], n->inputs[0].ndim, n->inputs[0].shape);
}

static rc_status reshaped(rc_status st, rc_tensor **out, const rc_tensor *t, const char *name) {
  if (st) return st;
  rc_node *node;
  return rc_record_finish(record1(&node, *out, name, reshape_backward, t), out);
}

rc_status rcg_view(rc_tensor **out, const rc_tensor *t, int ndim, const int64_t *shape) {
  return reshaped(rc_view(out, t, ndim, shape), out, t, "ViewBackward");
}

rc_status rcg_reshape(rc_tensor **out, const rc_tensor *t, int ndim, const int64_t *shape) {
  return reshaped(rc_reshape(out, t, ndim, shape), out, t, "ReshapeBackward");
}

rc_status rcg_flatten(rc_tensor **out, const rc_tensor *t, int start_dim, int end_dim) {
  return reshaped(rc_flatten(out, t, start_dim, end_dim), out, t, "FlattenBackward");
}

rc_status rcg_unsqueeze(rc_tensor **out, const rc_tensor *t, int dim) {
  return reshaped(rc_unsqueeze(out, t, dim), out, t, "UnsqueezeBackward");
}

rc_status rcg_squeeze(rc_tensor **out, const rc_tensor *t, int dim) {
  return reshaped(rc_squeeze(out, t, dim), out, t, "SqueezeBackward");
}

/* --- transpose: (.., A, .., B, ..) -> (.., B, .., A, ..) --------------------------------
   g is swapped back along the same two dims. i[0], i[1] = dim0, dim1 as given (the output
   has t's ndim, so they normalise the same way). */
static rc_status transpose_backward(rc_node *n, rc_tensor *const *gout, rc_tensor **gin) {
  if (!gout[0]) return RC_OK;
  return rc_transpose(&gin[0], gout[0], (int)n->i[0], (int)n->i[1]);
}

rc_status rcg_transpose(rc_tensor **out, const rc_tensor *t, int dim0, int dim1) {
  rc_status st = rc_transpose(out, t, dim0, dim1);
  if (st) return st;
  rc_node *node;
  st = record1(&node, *out, "TransposeBackward", transpose_backward, t);
  if (node) node->i[0] = dim0, node->i[1] = dim1;
  return rc_record_finish(st, out);
}

/* --- permute: out dim d is t's dim dims[d] ------------------------------------------------
   g goes back through the inverse permutation: t's dim dims[d] is g's dim d.
   i[d] = dims[d], normalised, for d < ndim. */
static rc_status permute_backward(rc_node *n, rc_tensor *const *gout, rc_tensor **gin) {
  if (!gout[0]) return RC_OK;
  int ndim = n->inputs[0].ndim, inverse[RC_MAX_DIMS];
  for (int d = 0; d < ndim; d++) inverse[n->i[d]] = d;
  return rc_permute(&gin[0], gout[0], ndim, inverse);
}

rc_status rcg_permute(rc_tensor **out, const rc_tensor *t, int ndim, const int *dims) {
  rc_status st = rc_permute(out, t, ndim, dims);
  if (st) return st;
  rc_node *node;
  st = record1(&node, *out, "PermuteBackward", permute_backward, t);
  for (int d = 0; node && d < ndim; d++) {
    int src = dims[d];
    rc_norm_dim("permute", &src, t->ndim); /* cannot fail: the permute above took it */
    node->i[d] = src;
  }
  return rc_record_finish(st, out);
}

/* --- narrow and select: a part of t ---------------------------------------------------------
   narrow: t (.., L, ..) -> (.., length, ..) from start; select: t (.., L, ..) -> (.., ..) at
   index. Backward: zeros of t's shape with g copied into the same part of them.
   i[0] = dim, i[1] = start or index, i[2] = length, all as given (same shape, so the raw op
   picks out the same part again). */
static rc_status part_backward(rc_node *n, rc_tensor *const *gout, rc_tensor **gin,
                               bool is_select) {
  rc_tensor *z = NULL, *part = NULL;
  rc_status st = RC_OK;
  if (!gout[0]) return RC_OK;
  RC_TRY(zeros_like_input(&z, n, 0));
  if (is_select)
    RC_TRY(rc_select(&part, z, (int)n->i[0], n->i[1]));
  else
    RC_TRY(rc_narrow(&part, z, (int)n->i[0], n->i[1], n->i[2]));
  RC_TRY(rc_copy_(part, gout[0]));
  gin[0] = z;
  z = NULL;
done:
  rc_release(z), rc_release(part);
  return st;
}

static rc_status narrow_backward(rc_node *n, rc_tensor *const *gout, rc_tensor **gin) {
  return part_backward(n, gout, gin, false);
}

static rc_status select_backward(rc_node *n, rc_tensor *const *gout, rc_tensor **gin) {
  return part_backward(n, gout, gin, true);
}

rc_status rcg_narrow(rc_tensor **out, const rc_tensor *t, int dim, int64_t start,
                     int64_t length) {
  rc_status st = rc_narrow(out, t, dim, start, length);
  if (st) return st;
  rc_node *node;
  st = record1(&node, *out, "NarrowBackward", narrow_backward, t);
  if (node) node->i[0] = dim, node->i[1] = start, node->i[2] = length;
  return rc_record_finish(st, out);
}

rc_status rcg_select(rc_tensor **out, const rc_tensor *t, int dim, int64_t index) {
  rc_status st = rc_select(out, t, dim, index);
  if (st) return st;
  rc_node *node;
  st = record1(&node, *out, "SelectBackward", select_backward, t);
  if (node) node->i[0] = dim, node->i[1] = index;
  return rc_record_finish(st, out);
}

/* --- expand: t (3,1) -> (2,3,4), new leading dims and size-1 dims repeated -----------------
   Every element of t was used once per repeat, so g sums over the repeats: over the new
   leading dims, and over each dim that was 1 in t (kept, as size 1). */
static rc_status expand_backward(rc_node *n, rc_tensor *const *gout, rc_tensor **gin) {
  if (!gout[0]) return RC_OK;
  return rc_sum_to_shape(&gin[0], gout[0], n->inputs[0].ndim, n->inputs[0].shape);
}

rc_status rcg_expand(rc_tensor **out, const rc_tensor *t, int ndim, const int64_t *shape) {
  rc_status st = rc_expand(out, t, ndim, shape);
  if (st) return st;
  rc_node *node;
  return rc_record_finish(record1(&node, *out, "ExpandBackward", expand_backward, t), out);
}

/* --- contiguous, clone, to_dtype: the same values, copied ---------------------------------
   t (S) -> out (S); the gradient is g itself. */
static rc_status identity_backward(rc_node *n, rc_tensor *const *gout, rc_tensor **gin) {
  gin[0] = rc_retain(gout[0]); /* NULL stays NULL: zero */
  return RC_OK;
}

rc_status rcg_contiguous(rc_tensor **out, const rc_tensor *t) {
  rc_status st = rc_contiguous(out, t);
  if (st || *out == t) return st; /* already contiguous: t itself, with its own history */
  rc_node *node;
  return rc_record_finish(record1(&node, *out, "ContiguousBackward", identity_backward, t), out);
}

rc_status rcg_clone(rc_tensor **out, const rc_tensor *t) {
  rc_status st = rc_clone(out, t);
  if (st) return st;
  rc_node *node;
  return rc_record_finish(record1(&node, *out, "CloneBackward", identity_backward, t), out);
}

/* Only float32 -> float32 carries a gradient: rc_record skips an int64 result, and an int64
   input has no gradient to receive. */
rc_status rcg_to_dtype(rc_tensor **out, const rc_tensor *t, rc_dtype dtype) {
  rc_status st = rc_to_dtype(out, t, dtype);
  if (st || t->dtype != RC_FLOAT32) return st;
  rc_node *node;
  return rc_record_finish(record1(&node, *out, "ToDtypeBackward", identity_backward, t), out);
}

/* --- index_select: a (.., N, ..), index (K) -> out (.., K, ..), out slice k = a slice index[k]
   Backward: zeros (.., N, ..) with g's slice k added to slice index[k]; a position that appears
   twice gets both gradients. saved: index. i[0] = dim, normalised. */

/* z (outer, N, inner) += g (outer, K, inner) at rows idx (K), all contiguous. A direct loop
   rather than scatter_add, which would need the index expanded (and copied) to g's shape.
   Work is cut into (outer, block of inner) pieces; each adds its rows in order of k, so every
   element is summed in the same order whatever the thread count. */
static void index_add_rows(float *z, const float *g, const int64_t *idx, int64_t outer,
                           int64_t n_rows, int64_t k_count, int64_t inner) {
  const int64_t block = 256; /* floats: rows of an embedding split in a few pieces */
  int64_t blocks = (inner + block - 1) / block, tasks = outer * blocks;
  int threads = rc_threads();
#pragma omp parallel for schedule(static) num_threads(threads) \
    if (threads > 1 && tasks > 1 && outer * k_count * inner >= RC_PARALLEL_MIN)
  for (int64_t task = 0; task < tasks; task++) {
    int64_t o = task / blocks, j0 = (task % blocks) * block;
    int64_t j1 = j0 + block < inner ? j0 + block : inner;
    for (int64_t k = 0; k < k_count; k++) {
      float *dst = z + (o * n_rows + idx[k]) * inner;
      const float *src = g + (o * k_count + k) * inner;
      for (int64_t j = j0; j < j1; j++) dst[j] += src[j];
    }
  }
}

static rc_status index_select_backward(rc_node *n, rc_tensor *const *gout, rc_tensor **gin) {
  rc_tensor *z = NULL, *gc = NULL, *ic = NULL;
  rc_status st = RC_OK;
  if (!gout[0]) return RC_OK;
  int dim = (int)n->i[0];
  const rc_edge *e = &n->inputs[0];
  RC_TRY(zeros_like_input(&z, n, 0));
  RC_TRY(rc_contiguous(&gc, gout[0]));
  RC_TRY(rc_contiguous(&ic, n->saved[0]));
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < e->ndim; d++) {
    if (d < dim) outer *= e->shape[d];
    if (d > dim) inner *= e->shape[d];
  }
  index_add_rows(rc_f32(z), rc_f32(gc), rc_i64(ic), outer, e->shape[dim], rc_numel(ic), inner);
  gin[0] = z;
  z = NULL;
done:
  rc_release(z), rc_release(gc), rc_release(ic);
  return st;
}

rc_status rcg_index_select(rc_tensor **out, const rc_tensor *a, int dim,
                           const rc_tensor *index) {
  rc_status st = rc_index_select(out, a, dim, index);
  if (st) return st;
  const rc_tensor *in[1] = {a}, *saved[1] = {index};
  rc_node *node;
  st = rc_record(&node, *out, "IndexSelectBackward", index_select_backward, 1, in, 1, saved);
  if (node) {
    rc_norm_dim("index_select", &dim, a->ndim); /* cannot fail: the op above took it */
    node->i[0] = dim;
  }
  return rc_record_finish(st, out);
}

/* --- gather: a (..), index (..) -> out shaped like index, out[..i..] = a[..index[..i..]..]
   Backward: zeros of a's shape with g scatter-added at index (repeats add).
   saved: index. i[0] = dim as given. */
static rc_status gather_backward(rc_node *n, rc_tensor *const *gout, rc_tensor **gin) {
  rc_tensor *z = NULL;
  rc_status st = RC_OK;
  if (!gout[0]) return RC_OK;
  RC_TRY(zeros_like_input(&z, n, 0));
  RC_TRY(rc_scatter_add_(z, (int)n->i[0], n->saved[0], gout[0]));
  gin[0] = z;
  z = NULL;
done:
  rc_release(z);
  return st;
}

rc_status rcg_gather(rc_tensor **out, const rc_tensor *a, int dim, const rc_tensor *index) {
  rc_status st = rc_gather(out, a, dim, index);
  if (st) return st;
  const rc_tensor *in[1] = {a}, *saved[1] = {index};
  rc_node *node;
  st = rc_record(&node, *out, "GatherBackward", gather_backward, 1, in, 1, saved);
  if (node) node->i[0] = dim;
  return rc_record_finish(st, out);
}

/* --- scatter_add: out = a with src[..i..] added at a[..index[..i..]..] ---------------------
   a (..) -> out (a's shape), index and src of one ndim, index no larger than src in any dim.
   d/da = g; d/dsrc = g gathered at index (index's shape), and zero for the part of src that
   index does not reach. saved: index. i[0] = dim as given. */
static rc_status scatter_add_backward(rc_node *n, rc_tensor *const *gout, rc_tensor **gin) {
  rc_tensor *g = gout[0], *gathered = NULL, *z = NULL, *part = NULL, *next = NULL;
  const rc_tensor *index = n->saved[0];
  const rc_edge *es = &n->inputs[1];
  rc_status st = RC_OK;
  if (!g) return RC_OK;
  if (n->inputs[0].needs_grad) gin[0] = rc_retain(g);
  if (!es->needs_grad) return RC_OK;
  RC_TRY(rc_gather(&gathered, g, (int)n->i[0], index));
  bool same = true;
  for (int d = 0; d < es->ndim; d++) same = same && es->shape[d] == index->shape[d];
  if (same) {
    gin[1] = gathered;
    gathered = NULL;
    goto done;
  }
  RC_TRY(zeros_like_input(&z, n, 1));
  part = rc_retain(z);
  for (int d = 0; d < es->ndim; d++) { /* the leading corner of src that index covers */
    RC_TRY(rc_narrow(&next, part, d, 0, index->shape[d]));
    rc_release(part);
    part = next, next = NULL;
  }
  RC_TRY(rc_copy_(part, gathered));
  gin[1] = z;
  z = NULL;
done:
  rc_release(gathered), rc_release(z), rc_release(part);
  return st;
}

rc_status rcg_scatter_add(rc_tensor **out, const rc_tensor *a, int dim, const rc_tensor *index,
                          const rc_tensor *src) {
  rc_status st = rc_scatter_add(out, a, dim, index, src);
  if (st) return st;
  const rc_tensor *in[2] = {a, src}, *saved[1] = {index};
  rc_node *node;
  st = rc_record(&node, *out, "ScatterAddBackward", scatter_add_backward, 2, in, 1, saved);
  if (node) node->i[0] = dim;
  return rc_record_finish(st, out);
}

/* --- cat: n tensors (.., n_j, ..) -> (.., sum n_j, ..) ----------------------------------------
   Input j's gradient is g's stretch of n_j along dim (a view of g). A (0) tensor that cat
   skipped gets an empty gradient. i[0] = dim, normalised. */
static rc_status cat_backward(rc_node *n, rc_tensor *const *gout, rc_tensor **gin) {
  rc_tensor *g = gout[0];
  rc_status st = RC_OK;
  if (!g) return RC_OK;
  int dim = (int)n->i[0];
  int64_t at = 0;
  for (int j = 0; j < n->ninputs; j++) {
    const rc_edge *e = &n->inputs[j];
    if (e->ndim != g->ndim) { /* a skipped (0) tensor */
      if (e->needs_grad) RC_TRY(rc_full(&gin[j], RC_FLOAT32, 1, e->shape, 0.0));
      continue;
    }
    if (e->needs_grad) RC_TRY(rc_narrow(&gin[j], g, dim, at, e->shape[dim]));
    at += e->shape[dim];
  }
done:
  return st;
}

rc_status rcg_cat(rc_tensor **out, int n, const rc_tensor *const *ts, int dim) {
  rc_status st = rc_cat(out, n, ts, dim);
  if (st) return st;
  rc_node *node;
  st = rc_record(&node, *out, "CatBackward", cat_backward, n, ts, 0, NULL);
  if (node) {
    rc_norm_dim("cat", &dim, (*out)->ndim); /* cannot fail: the cat above took it */
    node->i[0] = dim;
  }
  return rc_record_finish(st, out);
}

/* --- stack: n tensors (S) -> (.., n, ..) with the new dim at dim ------------------------------
   Input j's gradient is g's slice j along dim (a view of g). i[0] = dim, normalised. */
static rc_status stack_backward(rc_node *n, rc_tensor *const *gout, rc_tensor **gin) {
  rc_status st = RC_OK;
  if (!gout[0]) return RC_OK;
  for (int j = 0; j < n->ninputs; j++)
    if (n->inputs[j].needs_grad) RC_TRY(rc_select(&gin[j], gout[0], (int)n->i[0], j));
done:
  return st;
}

rc_status rcg_stack(rc_tensor **out, int n, const rc_tensor *const *ts, int dim) {
  rc_status st = rc_stack(out, n, ts, dim);
  if (st) return st;
  rc_node *node;
  st = rc_record(&node, *out, "StackBackward", stack_backward, n, ts, 0, NULL);
  if (node) {
    rc_norm_dim("stack", &dim, (*out)->ndim); /* cannot fail: the stack above took it */
    node->i[0] = dim;
  }
  return rc_record_finish(st, out);
}

/* --- split, split_sizes, chunk: a (.., L, ..) -> pieces (.., s_k, ..), sum s_k = L, views of a
   One node with one output per piece. Backward: the pieces' gradients joined along dim, zeros
   for a piece no gradient reached. i[0] = dim, normalised; ctx = the sizes s_k (int64). */
static rc_status split_backward(rc_node *n, rc_tensor *const *gout, rc_tensor **gin) {
  const int64_t *sizes = n->ctx;
  const rc_edge *e = &n->inputs[0];
  int dim = (int)n->i[0], count = n->noutputs;
  rc_status st = RC_OK;
  rc_tensor **parts = calloc((size_t)count, sizeof *parts);
  if (!parts) return rc_fail(RC_ERR_NOMEM, "%s: out of memory", n->name);
  for (int k = 0; k < count; k++) {
    if (gout[k]) {
      parts[k] = rc_retain(gout[k]);
      continue;
    }
    int64_t shape[RC_MAX_DIMS];
    for (int d = 0; d < e->ndim; d++) shape[d] = e->shape[d];
    shape[dim] = sizes[k];
    RC_TRY(rc_full(&parts[k], RC_FLOAT32, e->ndim, shape, 0.0));
  }
  RC_TRY(rc_cat(&gin[0], count, (const rc_tensor *const *)parts, dim));
done:
  for (int k = 0; k < count; k++) rc_release(parts[k]);
  free(parts);
  return st;
}

/* Make the raw op's pieces outputs 0..count-1 of one node; on failure release them. */
static rc_status record_pieces(rc_status st, const char *op, const char *name,
                               rc_tensor ***pieces, int *count, const rc_tensor *a, int dim) {
  if (st) return st;
  const rc_tensor *in[1] = {a};
  if (!rc_any_requires_grad(1, in) || a->dtype != RC_FLOAT32) return RC_OK;
  rc_node *node = NULL;
  int64_t *sizes = malloc((size_t)*count * sizeof *sizes);
  st = sizes ? rc_node_new(&node, name, split_backward, 1, in, 0, *count)
             : rc_fail(RC_ERR_NOMEM, "%s: out of memory recording the graph", op);
  if (st) {
    free(sizes);
    for (int k = 0; k < *count; k++) rc_release((*pieces)[k]);
    free(*pieces);
    *pieces = NULL;
    *count = 0;
    return st;
  }
  rc_norm_dim(op, &dim, a->ndim); /* cannot fail: the op above took it */
  node->i[0] = dim;
  node->ctx = sizes;
  for (int k = 0; k < *count; k++) {
    sizes[k] = (*pieces)[k]->shape[dim];
    rc_node_attach(node, (*pieces)[k], k);
  }
  rc_node_release(node); /* the pieces hold it now */
  return RC_OK;
}

rc_status rcg_split(rc_tensor ***pieces, int *count, const rc_tensor *a, int64_t size, int dim) {
  return record_pieces(rc_split(pieces, count, a, size, dim), "split", "SplitBackward", pieces,
                       count, a, dim);
}

rc_status rcg_split_sizes(rc_tensor ***pieces, int *count, const rc_tensor *a, int n,
                          const int64_t *sizes, int dim) {
  return record_pieces(rc_split_sizes(pieces, count, a, n, sizes, dim), "split",
                       "SplitWithSizesBackward", pieces, count, a, dim);
}

rc_status rcg_chunk(rc_tensor ***pieces, int *count, const rc_tensor *a, int chunks, int dim) {
  return record_pieces(rc_chunk(pieces, count, a, chunks, dim), "chunk", "ChunkBackward",
                       pieces, count, a, dim);
}

/* In place: checked (never on a tensor in a graph), the raw op, then the version bump. */
rc_status rcg_scatter_add_(rc_tensor *a, int dim, const rc_tensor *index, const rc_tensor *src) {
  rc_status st = rc_inplace_check("scatter_add_", a);
  if (st || (st = rc_scatter_add_(a, dim, index, src))) return st;
  rc_bump_version(a);
  return RC_OK;
}
