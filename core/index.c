/* core/index.c — indexing by int64 position tensors (index_select, gather, scatter_add) and
   joining/cutting along a dim (cat, stack, split, chunk). Positions here are 0-based. */
#include <stdlib.h>
#include <string.h>
#include "ops.h"
#include "loop.h"
#include "runtime.h"

/* --- shared checks ----------------------------------------------------------- */

static rc_status check_index_dtype(const char *fn, const rc_tensor *index) {
  if (index->dtype != RC_INT64)
    return rc_fail(RC_ERR_ARG, "%s: index must be int64, got %s", fn, rc_dtype_name(index->dtype));
  return RC_OK;
}

/* Every position in the (contiguous) index lies in [0, size); checked before anything is
   written, so a bad index never leaves a half-done result. */
static rc_status check_index_range(const char *fn, const rc_tensor *ic, int64_t size, int dim) {
  const int64_t *p = rc_i64(ic);
  int64_t n = rc_numel(ic);
  for (int64_t i = 0; i < n; i++)
    if (p[i] < 0 || p[i] >= size)
      return rc_fail(RC_ERR_INDEX, "%s: index %lld out of range for dim %d of size %lld", fn,
                     (long long)p[i], dim, (long long)size);
  return RC_OK;
}

/* The index as a contiguous tensor that no write to `target` can change. */
static rc_status stable_index(rc_tensor **out, const rc_tensor *index, const rc_tensor *target) {
  if (target && index->storage == target->storage) return rc_clone(out, index);
  return rc_contiguous(out, index);
}

/* --- index_select ------------------------------------------------------------- */

/* a (..., N, ...) with dim of size N, index (K) -> out (..., K, ...): out's slice k along dim
   is a's slice index[k]. Seen as a contiguous (outer, N, inner) -> (outer, K, inner), each
   (outer, k) row is one memcpy of inner elements. */
rc_status rc_index_select(rc_tensor **out, const rc_tensor *a, int dim, const rc_tensor *index) {
  rc_status st;
  if ((st = rc_norm_dim("index_select", &dim, a->ndim))) return st;
  if ((st = check_index_dtype("index_select", index))) return st;
  if (index->ndim > 1) {
    char s[160];
    return rc_fail(RC_ERR_SHAPE, "index_select: index must be 1-D, got shape %s",
                   rc_shape_str(index, s, sizeof s));
  }
  rc_tensor *ic = NULL, *ac = NULL, *r = NULL;
  if ((st = rc_contiguous(&ic, index))) return st;
  if ((st = check_index_range("index_select", ic, a->shape[dim], dim))) goto done;
  if ((st = rc_contiguous(&ac, a))) goto done;
  int64_t shape[RC_MAX_DIMS];
  int64_t outer = 1, inner = 1, n = a->shape[dim], k_count = rc_numel(ic);
  for (int d = 0; d < a->ndim; d++) {
    shape[d] = a->shape[d];
    if (d < dim) outer *= a->shape[d];
    if (d > dim) inner *= a->shape[d];
  }
  shape[dim] = k_count;
  if ((st = rc_empty(&r, a->dtype, a->ndim, shape))) goto done;

  size_t esize = rc_dtype_size(a->dtype), row_bytes = (size_t)inner * esize;
  const char *src = (const char *)ac->storage->data + (size_t)ac->offset * esize;
  char *dst = (char *)r->storage->data;
  const int64_t *idx = rc_i64(ic);
  int64_t rows = outer * k_count;
  int threads = rc_threads();
#pragma omp parallel for schedule(static) num_threads(threads) \
    if (threads > 1 && rows * inner >= RC_PARALLEL_MIN)
  for (int64_t row = 0; row < rows; row++) {
    int64_t o = row / k_count, k = row % k_count;
    memcpy(dst + (size_t)row * row_bytes, src + (size_t)(o * n + idx[k]) * row_bytes, row_bytes);
  }
  *out = r;
  r = NULL;
done:
  rc_release(ic);
  rc_release(ac);
  rc_release(r);
  return st;
}

/* --- gather and scatter_add: walk every position of index ----------------------- */

/* The dims of index other than `dim`, walked row-major: position p's element offset in each
   of up to three tensors (index contiguous, the others by their own strides). */
typedef struct {
  int m;                        /* number of dims walked */
  int64_t size[RC_MAX_DIMS];
  int64_t stride[3][RC_MAX_DIMS];
  int64_t base[3];
  int nt;
} outer_walk;

static int64_t outer_init(outer_walk *w, const rc_tensor *index, int dim, int nt,
                          const rc_tensor *const *ts) {
  int64_t count = 1;
  w->m = 0;
  w->nt = nt;
  for (int i = 0; i < nt; i++) w->base[i] = ts[i]->offset;
  for (int d = 0; d < index->ndim; d++) {
    if (d == dim) continue;
    w->size[w->m] = index->shape[d];
    for (int i = 0; i < nt; i++) w->stride[i][w->m] = ts[i]->stride[d];
    count *= index->shape[d];
    w->m++;
  }
  return count;
}

static void outer_offsets(const outer_walk *w, int64_t p, int64_t *off) {
  for (int i = 0; i < w->nt; i++) off[i] = w->base[i];
  for (int d = w->m - 1; d >= 0; d--) {
    int64_t c = p % w->size[d];
    p /= w->size[d];
    for (int i = 0; i < w->nt; i++) off[i] += c * w->stride[i][d];
  }
}

/* index must have other's ndim and not reach past it: in every dim but `dim` (gather's input,
   scatter's self) or in every dim (dim = -1: scatter's src). */
static rc_status check_fits(const char *fn, const rc_tensor *index, const rc_tensor *other,
                            int dim, const char *what) {
  char si[160], so[160];
  if (index->ndim != other->ndim)
    return rc_fail(RC_ERR_SHAPE, "%s: index has shape %s but %s has shape %s; they need the same "
                                 "number of dims", fn, rc_shape_str(index, si, sizeof si), what,
                   rc_shape_str(other, so, sizeof so));
  for (int d = 0; d < index->ndim; d++)
    if (d != dim && index->shape[d] > other->shape[d])
      return rc_fail(RC_ERR_SHAPE, "%s: index of shape %s does not fit %s of shape %s (index "
                                   "sizes must be <= %s sizes%s)", fn,
                     rc_shape_str(index, si, sizeof si), what, rc_shape_str(other, so, sizeof so),
                     what, dim >= 0 ? " outside the indexed dim" : "");
  return RC_OK;
}

/* a (..), index (..) same ndim -> out shaped like index;
   out[..i..] = a[..index[..i..]..] with i the position along dim. */
rc_status rc_gather(rc_tensor **out, const rc_tensor *a, int dim, const rc_tensor *index) {
  rc_status st;
  if ((st = rc_norm_dim("gather", &dim, a->ndim))) return st;
  if ((st = check_index_dtype("gather", index))) return st;
  if ((st = check_fits("gather", index, a, dim, "input"))) return st;
  rc_tensor *ic = NULL, *r = NULL;
  if ((st = rc_contiguous(&ic, index))) return st;
  if ((st = check_index_range("gather", ic, a->shape[dim], dim))) goto done;
  if ((st = rc_empty(&r, a->dtype, ic->ndim, ic->shape))) goto done;

  outer_walk w;
  const rc_tensor *ts[3] = {ic, r, a};
  int64_t positions = outer_init(&w, ic, dim, 3, ts);
  int64_t k_count = ic->shape[dim];
  int64_t istep = ic->stride[dim], ostep = r->stride[dim], astep = a->stride[dim];
  const int64_t *idx = ic->storage->data;
  bool is_int = a->dtype == RC_INT64;
  int threads = rc_threads();
#pragma omp parallel for schedule(static) num_threads(threads) \
    if (threads > 1 && positions * k_count >= RC_PARALLEL_MIN)
  for (int64_t p = 0; p < positions; p++) {
    int64_t off[3];
    outer_offsets(&w, p, off);
    if (is_int) {
      int64_t *o = (int64_t *)r->storage->data + off[1];
      const int64_t *s = (const int64_t *)a->storage->data + off[2];
      for (int64_t k = 0; k < k_count; k++) o[k * ostep] = s[idx[off[0] + k * istep] * astep];
    } else {
      float *o = (float *)r->storage->data + off[1];
      const float *s = (const float *)a->storage->data + off[2];
      for (int64_t k = 0; k < k_count; k++) o[k * ostep] = s[idx[off[0] + k * istep] * astep];
    }
  }
  *out = r;
  r = NULL;
done:
  rc_release(ic);
  rc_release(r);
  return st;
}

/* a[..index[..i..]..] += src[..i..] for every position of index.
   Each position outside dim owns the elements of a with the same coordinates there, so
   positions run in parallel without races, and each element sums its terms in order of i. */
rc_status rc_scatter_add_(rc_tensor *a, int dim, const rc_tensor *index, const rc_tensor *src) {
  rc_status st;
  if ((st = rc_norm_dim("scatter_add", &dim, a->ndim))) return st;
  if ((st = check_index_dtype("scatter_add", index))) return st;
  if (src->dtype != a->dtype)
    return rc_fail(RC_ERR_ARG, "scatter_add: src is %s but the tensor is %s; they must match",
                   rc_dtype_name(src->dtype), rc_dtype_name(a->dtype));
  if ((st = check_fits("scatter_add", index, a, dim, "self")) ||
      (st = check_fits("scatter_add", index, src, -1, "src")))
    return st;
  rc_tensor *ic = NULL, *sc = NULL;
  if ((st = stable_index(&ic, index, a))) return st;
  if ((st = check_index_range("scatter_add", ic, a->shape[dim], dim))) goto done;
  /* Reading src while writing a: take a copy if they may overlap. */
  if (src->storage == a->storage) {
    if ((st = rc_clone(&sc, src))) goto done;
    src = sc;
  }

  outer_walk w;
  const rc_tensor *ts[3] = {ic, src, a};
  int64_t positions = outer_init(&w, ic, dim, 3, ts);
  int64_t k_count = ic->shape[dim];
  int64_t istep = ic->stride[dim], sstep = src->stride[dim], astep = a->stride[dim];
  const int64_t *idx = ic->storage->data;
  bool is_int = a->dtype == RC_INT64;
  /* An expanded a (stride 0) has elements shared between positions: stay on one thread. */
  bool aliased = false;
  for (int d = 0; d < a->ndim; d++) aliased |= a->stride[d] == 0 && a->shape[d] > 1;
  int threads = rc_threads();
#pragma omp parallel for schedule(static) num_threads(threads) \
    if (threads > 1 && !aliased && positions * k_count >= RC_PARALLEL_MIN)
  for (int64_t p = 0; p < positions; p++) {
    int64_t off[3];
    outer_offsets(&w, p, off);
    if (is_int) {
      int64_t *o = (int64_t *)a->storage->data + off[2];
      const int64_t *s = (const int64_t *)src->storage->data + off[1];
      for (int64_t k = 0; k < k_count; k++) o[idx[off[0] + k * istep] * astep] += s[k * sstep];
    } else {
      float *o = (float *)a->storage->data + off[2];
      const float *s = (const float *)src->storage->data + off[1];
      for (int64_t k = 0; k < k_count; k++) o[idx[off[0] + k * istep] * astep] += s[k * sstep];
    }
  }
done:
  rc_release(ic);
  rc_release(sc);
  return st;
}

rc_status rc_scatter_add(rc_tensor **out, const rc_tensor *a, int dim, const rc_tensor *index,
                         const rc_tensor *src) {
  rc_tensor *r = NULL;
  rc_status st = rc_clone(&r, a);
  if (st) return st;
  if ((st = rc_scatter_add_(r, dim, index, src))) {
    rc_release(r);
    return st;
  }
  *out = r;
  return RC_OK;
}

/* --- cat and stack --------------------------------------------------------------- */

/* A 1-D tensor of size 0, which cat skips whatever the others' shapes (as PyTorch does). */
static bool is_legacy_empty(const rc_tensor *t) { return t->ndim == 1 && t->shape[0] == 0; }

/* (.., n_i, ..) for each i -> (.., sum n_i, ..); shapes match except along dim. */
rc_status rc_cat(rc_tensor **out, int n, const rc_tensor *const *ts, int dim) {
  if (n < 1) return rc_fail(RC_ERR_ARG, "cat: needs at least one tensor, got %d", n);
  const rc_tensor *ref = ts[0];
  for (int i = 0; i < n; i++)
    if (!is_legacy_empty(ts[i])) {
      ref = ts[i];
      break;
    }
  for (int i = 0; i < n; i++)
    if (ts[i]->dtype != ref->dtype)
      return rc_fail(RC_ERR_ARG, "cat: tensors must share a dtype, got %s and %s",
                     rc_dtype_name(ref->dtype), rc_dtype_name(ts[i]->dtype));
  if (ref->ndim == 0) return rc_fail(RC_ERR_SHAPE, "cat: cannot join 0-d tensors (use stack)");
  rc_status st = rc_norm_dim("cat", &dim, ref->ndim);
  if (st) return st;
  int64_t shape[RC_MAX_DIMS];
  memcpy(shape, ref->shape, sizeof(int64_t) * (size_t)ref->ndim);
  shape[dim] = 0;
  for (int i = 0; i < n; i++) {
    const rc_tensor *t = ts[i];
    if (t != ref && is_legacy_empty(t)) continue;
    bool same = t->ndim == ref->ndim;
    for (int d = 0; same && d < ref->ndim; d++) same = d == dim || t->shape[d] == ref->shape[d];
    if (!same) {
      char sr[160], st2[160];
      return rc_fail(RC_ERR_SHAPE, "cat: shapes %s and %s must match in every dim except the one "
                                   "joined along", rc_shape_str(ref, sr, sizeof sr),
                     rc_shape_str(t, st2, sizeof st2));
    }
    shape[dim] += t->shape[dim];
  }
  rc_tensor *r = NULL;
  if ((st = rc_empty(&r, ref->dtype, ref->ndim, shape))) return st;
  int64_t at = 0;
  for (int i = 0; i < n; i++) {
    const rc_tensor *t = ts[i];
    if (t != ref && is_legacy_empty(t)) continue;
    rc_tensor *slot = NULL;
    if ((st = rc_narrow(&slot, r, dim, at, t->shape[dim])) || (st = rc_copy_(slot, t))) {
      rc_release(slot);
      rc_release(r);
      return st;
    }
    rc_release(slot);
    at += t->shape[dim];
  }
  *out = r;
  return RC_OK;
}

/* n tensors of one shape (..) -> (.., n, ..) with the new dim at `dim`. */
rc_status rc_stack(rc_tensor **out, int n, const rc_tensor *const *ts, int dim) {
  if (n < 1) return rc_fail(RC_ERR_ARG, "stack: needs at least one tensor, got %d", n);
  const rc_tensor *ref = ts[0];
  for (int i = 1; i < n; i++) {
    const rc_tensor *t = ts[i];
    if (t->dtype != ref->dtype)
      return rc_fail(RC_ERR_ARG, "stack: tensors must share a dtype, got %s and %s",
                     rc_dtype_name(ref->dtype), rc_dtype_name(t->dtype));
    bool same = t->ndim == ref->ndim;
    for (int d = 0; same && d < ref->ndim; d++) same = t->shape[d] == ref->shape[d];
    if (!same) {
      char sr[160], st2[160];
      return rc_fail(RC_ERR_SHAPE, "stack: shapes %s and %s differ; stack needs tensors of one "
                                   "shape", rc_shape_str(ref, sr, sizeof sr),
                     rc_shape_str(t, st2, sizeof st2));
    }
  }
  if (ref->ndim == RC_MAX_DIMS)
    return rc_fail(RC_ERR_ARG, "stack: a tensor has at most %d dims", RC_MAX_DIMS);
  rc_status st = rc_norm_dim("stack", &dim, ref->ndim + 1);
  if (st) return st;
  rc_tensor **views = calloc((size_t)n, sizeof *views);
  if (!views) return rc_fail(RC_ERR_NOMEM, "stack: out of memory");
  for (int i = 0; i < n && st == RC_OK; i++) st = rc_unsqueeze(&views[i], ts[i], dim);
  if (st == RC_OK) st = rc_cat(out, n, (const rc_tensor *const *)views, dim);
  for (int i = 0; i < n; i++) rc_release(views[i]);
  free(views);
  return st;
}

/* --- split and chunk: views ------------------------------------------------------- */

/* Views of consecutive pieces of the given sizes along dim (already normalised, sizes checked). */
static rc_status split_views(const char *fn, rc_tensor ***pieces, int *count, const rc_tensor *a,
                             int n, const int64_t *sizes, int dim) {
  rc_tensor **ps = calloc(n > 0 ? (size_t)n : 1, sizeof *ps);
  if (!ps) return rc_fail(RC_ERR_NOMEM, "%s: out of memory", fn);
  int64_t at = 0;
  for (int i = 0; i < n; i++) {
    rc_status st = rc_narrow(&ps[i], a, dim, at, sizes[i]);
    if (st) {
      for (int j = 0; j < i; j++) rc_release(ps[j]);
      free(ps);
      return st;
    }
    at += sizes[i];
  }
  *pieces = ps;
  *count = n;
  return RC_OK;
}

/* Equal pieces of `size` along dim; the last holds the rest. */
static rc_status split_even(const char *fn, rc_tensor ***pieces, int *count, const rc_tensor *a,
                            int64_t size, int dim, int64_t n_pieces) {
  int64_t len = a->shape[dim];
  if (n_pieces > 1 << 24)
    return rc_fail(RC_ERR_ARG, "%s: %lld pieces are too many", fn, (long long)n_pieces);
  int64_t *sizes = malloc((size_t)(n_pieces > 0 ? n_pieces : 1) * sizeof *sizes);
  if (!sizes) return rc_fail(RC_ERR_NOMEM, "%s: out of memory", fn);
  for (int64_t i = 0; i < n_pieces; i++) {
    int64_t left = len - i * size;
    sizes[i] = left < size ? left : size;
  }
  rc_status st = split_views(fn, pieces, count, a, (int)n_pieces, sizes, dim);
  free(sizes);
  return st;
}

rc_status rc_split(rc_tensor ***pieces, int *count, const rc_tensor *a, int64_t size, int dim) {
  rc_status st = rc_norm_dim("split", &dim, a->ndim);
  if (st) return st;
  int64_t len = a->shape[dim];
  if (size < 0 || (size == 0 && len != 0))
    return rc_fail(RC_ERR_ARG, "split: split size must be >= 1 (0 only for a dim of size 0), "
                               "got %lld", (long long)size);
  /* A dim of size 0 gives one empty piece, as PyTorch. */
  int64_t n_pieces = len == 0 ? 1 : (len + size - 1) / size;
  return split_even("split", pieces, count, a, size, dim, n_pieces);
}

rc_status rc_split_sizes(rc_tensor ***pieces, int *count, const rc_tensor *a, int n,
                         const int64_t *sizes, int dim) {
  rc_status st = rc_norm_dim("split", &dim, a->ndim);
  if (st) return st;
  if (n < 1) return rc_fail(RC_ERR_ARG, "split: needs at least one size, got none");
  int64_t total = 0;
  for (int i = 0; i < n; i++) {
    if (sizes[i] < 0)
      return rc_fail(RC_ERR_ARG, "split: sizes must be >= 0, got %lld", (long long)sizes[i]);
    total += sizes[i];
  }
  if (total != a->shape[dim]) {
    char s[160];
    return rc_fail(RC_ERR_SHAPE, "split: sizes %s add up to %lld but the split dim has size %lld",
                   rc_dims_str(n, sizes, s, sizeof s), (long long)total,
                   (long long)a->shape[dim]);
  }
  return split_views("split", pieces, count, a, n, sizes, dim);
}

/* ceil(len / chunks) per piece, so there may be fewer than `chunks` pieces (as PyTorch). */
rc_status rc_chunk(rc_tensor ***pieces, int *count, const rc_tensor *a, int chunks, int dim) {
  rc_status st = rc_norm_dim("chunk", &dim, a->ndim);
  if (st) return st;
  if (chunks < 1) return rc_fail(RC_ERR_ARG, "chunk: chunks must be >= 1, got %d", chunks);
  int64_t len = a->shape[dim];
  if (len == 0) /* nothing to cut: `chunks` empty pieces */
    return split_even("chunk", pieces, count, a, 0, dim, chunks);
  int64_t size = (len + chunks - 1) / chunks;
  return split_even("chunk", pieces, count, a, size, dim, (len + size - 1) / size);
}
