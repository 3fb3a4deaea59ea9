/* tests/core/test_index.c — index_select, gather, scatter_add, cat, stack, split and chunk:
   known values, big cases against slow reference loops, thread-count independence, errors. */
#include <stdlib.h>
#include "check.h"

static rc_tensor *iota(int ndim, const int64_t *shape) {
  rc_tensor *t = NULL;
  if (rc_empty(&t, RC_FLOAT32, ndim, shape) != RC_OK) return NULL;
  for (int64_t i = 0; i < rc_numel(t); i++) rc_f32(t)[i] = (float)i;
  return t;
}

static rc_tensor *longs(int ndim, const int64_t *shape, const int64_t *values) {
  rc_tensor *t = NULL;
  if (rc_empty(&t, RC_INT64, ndim, shape) != RC_OK) return NULL;
  memcpy(rc_i64(t), values, sizeof(int64_t) * (size_t)rc_numel(t));
  return t;
}

static int holds(const rc_tensor *t, int64_t n, const float *values) {
  if (rc_numel(t) != n) return 0;
  for (int64_t i = 0; i < n; i++)
    if (rc_get_flat(t, i) != values[i]) return 0;
  return 1;
}

static int has_shape(const rc_tensor *t, int ndim, const int64_t *shape) {
  if (t->ndim != ndim) return 0;
  for (int d = 0; d < ndim; d++)
    if (t->shape[d] != shape[d]) return 0;
  return 1;
}

/* A fixed pseudo-random sequence, so the big cases are the same every run. */
static uint64_t lcg_state = 12345;
static uint64_t lcg(void) {
  lcg_state = lcg_state * 6364136223846793005ULL + 1442695040888963407ULL;
  return lcg_state >> 33;
}

static void test_index_select(void) {
  rc_tensor *a = iota(2, (int64_t[]){3, 2}); /* {{0,1},{2,3},{4,5}} */
  rc_tensor *idx = longs(1, (int64_t[]){3}, (int64_t[]){2, 0, 2}), *r = NULL;
  CHECK_OK(rc_index_select(&r, a, 0, idx));
  CHECK(has_shape(r, 2, (int64_t[]){3, 2}));
  CHECK(holds(r, 6, (float[]){4, 5, 0, 1, 4, 5}));
  CHECK(r->storage != a->storage);
  rc_release(r);
  rc_tensor *cols = longs(1, (int64_t[]){3}, (int64_t[]){1, 1, 0});
  CHECK_OK(rc_index_select(&r, a, -1, cols));
  CHECK(has_shape(r, 2, (int64_t[]){3, 3}));
  CHECK(holds(r, 9, (float[]){1, 1, 0, 3, 3, 2, 5, 5, 4}));
  rc_release(r);

  /* a non-contiguous source: a^T (2,3), rows picked */
  rc_tensor *t = NULL, *one = longs(1, (int64_t[]){1}, (int64_t[]){1});
  CHECK_OK(rc_transpose(&t, a, 0, 1));
  CHECK_OK(rc_index_select(&r, t, 0, one));
  CHECK(has_shape(r, 2, (int64_t[]){1, 3}) && holds(r, 3, (float[]){1, 3, 5}));
  rc_release(r);

  /* int64 values */
  rc_tensor *li = longs(1, (int64_t[]){4}, (int64_t[]){10, 20, 30, 40});
  CHECK_OK(rc_index_select(&r, li, 0, idx));
  CHECK(r->dtype == RC_INT64 && holds(r, 3, (float[]){30, 10, 30}));
  rc_release(r);

  r = NULL;
  rc_tensor *bad = longs(1, (int64_t[]){2}, (int64_t[]){0, 3});
  CHECK_FAILS(rc_index_select(&r, a, 0, bad), "index_select: index 3 out of range for dim 0 of size 3");
  rc_tensor *fidx = iota(1, (int64_t[]){2});
  CHECK_FAILS(rc_index_select(&r, a, 0, fidx), "index_select: index must be int64, got float32");
  rc_tensor *idx2 = longs(2, (int64_t[]){1, 2}, (int64_t[]){0, 1});
  CHECK_FAILS(rc_index_select(&r, a, 0, idx2), "index_select: index must be 1-D, got shape (1,2)");
  CHECK_FAILS(rc_index_select(&r, a, 2, idx), "index_select: dim 2 out of range for a tensor of 2 dims");
  CHECK(r == NULL);
  rc_release(idx2);
  rc_release(fidx);
  rc_release(bad);
  rc_release(li);
  rc_release(one);
  rc_release(t);
  rc_release(cols);
  rc_release(idx);
  rc_release(a);
}

/* Big enough to run in parallel; compared with the obvious loop, on 1 and 4 threads. */
static void test_index_select_big(void) {
  const int64_t rows = 500, cols = 96, k = 3000;
  rc_tensor *a = iota(2, (int64_t[]){rows, cols}), *idx = NULL;
  CHECK_OK(rc_empty(&idx, RC_INT64, 1, &k));
  for (int64_t i = 0; i < k; i++) rc_i64(idx)[i] = (int64_t)(lcg() % (uint64_t)rows);
  int saved = rc_threads();
  for (int threads = 1; threads <= 4; threads += 3) {
    rc_set_threads(threads);
    rc_tensor *r = NULL;
    CHECK_OK(rc_index_select(&r, a, 0, idx));
    int wrong = 0;
    for (int64_t i = 0; i < k; i++)
      for (int64_t j = 0; j < cols; j++)
        wrong += rc_f32(r)[i * cols + j] != rc_f32(a)[rc_i64(idx)[i] * cols + j];
    CHECK(wrong == 0);
    rc_release(r);
  }
  rc_set_threads(saved);
  rc_release(idx);
  rc_release(a);
}

static void test_gather(void) {
  /* a = {{0,1,2},{10,11,12}} */
  rc_tensor *a = NULL;
  CHECK_OK(rc_empty(&a, RC_FLOAT32, 2, (int64_t[]){2, 3}));
  float av[6] = {0, 1, 2, 10, 11, 12};
  memcpy(rc_f32(a), av, sizeof av);
  rc_tensor *i1 = longs(2, (int64_t[]){2, 2}, (int64_t[]){2, 0, 1, 1}), *r = NULL;
  CHECK_OK(rc_gather(&r, a, 1, i1)); /* out[i][j] = a[i][idx[i][j]] */
  CHECK(has_shape(r, 2, (int64_t[]){2, 2}) && holds(r, 4, (float[]){2, 0, 11, 11}));
  rc_release(r);
  CHECK_OK(rc_gather(&r, a, -1, i1));
  CHECK(holds(r, 4, (float[]){2, 0, 11, 11}));
  rc_release(r);
  rc_tensor *i0 = longs(2, (int64_t[]){1, 3}, (int64_t[]){1, 0, 1});
  CHECK_OK(rc_gather(&r, a, 0, i0)); /* out[i][j] = a[idx[i][j]][j] */
  CHECK(has_shape(r, 2, (int64_t[]){1, 3}) && holds(r, 3, (float[]){10, 1, 12}));
  rc_release(r);

  r = NULL;
  rc_tensor *flat = longs(1, (int64_t[]){2}, (int64_t[]){0, 1});
  CHECK_FAILS(rc_gather(&r, a, 1, flat),
              "gather: index has shape (2) but input has shape (2,3); they need the same number of dims");
  rc_tensor *wide = longs(2, (int64_t[]){3, 1}, (int64_t[]){0, 0, 0});
  CHECK_FAILS(rc_gather(&r, a, 1, wide),
              "gather: index of shape (3,1) does not fit input of shape (2,3)");
  rc_tensor *far = longs(2, (int64_t[]){1, 1}, (int64_t[]){3});
  CHECK_FAILS(rc_gather(&r, a, 1, far), "gather: index 3 out of range for dim 1 of size 3");
  CHECK(r == NULL);
  rc_release(far);
  rc_release(wide);
  rc_release(flat);
  rc_release(i0);
  rc_release(i1);
  rc_release(a);
}

static void test_gather_big(void) {
  const int64_t b = 64, n = 300, k = 700;
  rc_tensor *a = iota(2, (int64_t[]){b, n}), *idx = NULL;
  CHECK_OK(rc_empty(&idx, RC_INT64, 2, (int64_t[]){b, k}));
  for (int64_t i = 0; i < b * k; i++) rc_i64(idx)[i] = (int64_t)(lcg() % (uint64_t)n);
  int saved = rc_threads();
  for (int threads = 1; threads <= 4; threads += 3) {
    rc_set_threads(threads);
    rc_tensor *r = NULL;
    CHECK_OK(rc_gather(&r, a, 1, idx));
    int wrong = 0;
    for (int64_t i = 0; i < b; i++)
      for (int64_t j = 0; j < k; j++)
        wrong += rc_f32(r)[i * k + j] != rc_f32(a)[i * n + rc_i64(idx)[i * k + j]];
    CHECK(wrong == 0);
    rc_release(r);
  }
  rc_set_threads(saved);
  rc_release(idx);
  rc_release(a);
}

static void test_scatter_add(void) {
  rc_tensor *z = NULL, *r = NULL;
  CHECK_OK(rc_full(&z, RC_FLOAT32, 1, (int64_t[]){3}, 0));
  rc_tensor *idx = longs(1, (int64_t[]){4}, (int64_t[]){0, 2, 0, 0});
  rc_tensor *src = NULL;
  CHECK_OK(rc_empty(&src, RC_FLOAT32, 1, (int64_t[]){4}));
  memcpy(rc_f32(src), (float[]){1, 2, 3, 4}, 4 * sizeof(float));
  CHECK_OK(rc_scatter_add(&r, z, 0, idx, src));
  CHECK(holds(r, 3, (float[]){8, 0, 2}));
  CHECK(holds(z, 3, (float[]){0, 0, 0})); /* out of place: z untouched */
  rc_release(r);

  /* 2-D along dim 0: a[idx[i][j]][j] += src[i][j] */
  rc_tensor *a = NULL, *s2 = NULL;
  CHECK_OK(rc_full(&a, RC_FLOAT32, 2, (int64_t[]){2, 3}, 0));
  rc_tensor *i2 = longs(2, (int64_t[]){2, 3}, (int64_t[]){0, 1, 0, 1, 0, 0});
  CHECK_OK(rc_empty(&s2, RC_FLOAT32, 2, (int64_t[]){2, 3}));
  memcpy(rc_f32(s2), (float[]){1, 2, 3, 4, 5, 6}, 6 * sizeof(float));
  CHECK_OK(rc_scatter_add_(a, 0, i2, s2));
  CHECK(holds(a, 6, (float[]){1, 5, 9, 4, 2, 0}));
  /* along dim -1: a[i][idx[i][j]] += src[i][j] */
  CHECK_OK(rc_scatter_add_(a, -1, i2, s2));
  CHECK(holds(a, 6, (float[]){1 + 1 + 3, 5 + 2, 9, 4 + 5 + 6, 2 + 4, 0}));

  /* a bad index leaves the tensor as it was */
  rc_tensor *bad = longs(2, (int64_t[]){1, 2}, (int64_t[]){1, 2});
  float before[6];
  for (int i = 0; i < 6; i++) before[i] = rc_f32(a)[i];
  CHECK_FAILS(rc_scatter_add_(a, 0, bad, s2), "scatter_add: index 2 out of range for dim 0 of size 2");
  CHECK(holds(a, 6, before));
  rc_tensor *li = longs(2, (int64_t[]){2, 3}, (int64_t[]){1, 1, 1, 1, 1, 1});
  CHECK_FAILS(rc_scatter_add_(a, 0, i2, li),
              "scatter_add: src is int64 but the tensor is float32; they must match");
  rc_tensor *small = NULL;
  CHECK_OK(rc_full(&small, RC_FLOAT32, 2, (int64_t[]){1, 3}, 1));
  CHECK_FAILS(rc_scatter_add_(a, 0, i2, small),
              "scatter_add: index of shape (2,3) does not fit src of shape (1,3)");
  CHECK(holds(a, 6, before));
  rc_release(small);
  rc_release(li);
  rc_release(bad);
  rc_release(s2);
  rc_release(i2);
  rc_release(a);
  rc_release(src);
  rc_release(idx);
  rc_release(z);
}

/* Many terms land on each element; the sums must match the serial loop bit for bit on any
   thread count (each element adds its terms in one fixed order). */
static void test_scatter_add_big(void) {
  const int64_t n = 40, b = 400, k = 200; /* self (n,b), index/src (k,b), dim 0 */
  rc_tensor *idx = NULL, *src = NULL;
  CHECK_OK(rc_empty(&idx, RC_INT64, 2, (int64_t[]){k, b}));
  CHECK_OK(rc_empty(&src, RC_FLOAT32, 2, (int64_t[]){k, b}));
  for (int64_t i = 0; i < k * b; i++) {
    rc_i64(idx)[i] = (int64_t)(lcg() % (uint64_t)n);
    rc_f32(src)[i] = (float)(lcg() % 1000) / 7.0f;
  }
  float *ref = calloc((size_t)(n * b), sizeof *ref);
  for (int64_t i = 0; i < k; i++)
    for (int64_t j = 0; j < b; j++) ref[rc_i64(idx)[i * b + j] * b + j] += rc_f32(src)[i * b + j];
  int saved = rc_threads();
  for (int threads = 1; threads <= 4; threads += 3) {
    rc_set_threads(threads);
    rc_tensor *a = NULL;
    CHECK_OK(rc_full(&a, RC_FLOAT32, 2, (int64_t[]){n, b}, 0));
    CHECK_OK(rc_scatter_add_(a, 0, idx, src));
    CHECK(memcmp(rc_f32(a), ref, sizeof(float) * (size_t)(n * b)) == 0);
    rc_release(a);
  }
  rc_set_threads(saved);
  free(ref);
  rc_release(src);
  rc_release(idx);
}

static void test_cat(void) {
  rc_tensor *a = iota(2, (int64_t[]){2, 3}), *b = iota(2, (int64_t[]){1, 3}), *r = NULL;
  const rc_tensor *ab[2] = {a, b};
  CHECK_OK(rc_cat(&r, 2, ab, 0));
  CHECK(has_shape(r, 2, (int64_t[]){3, 3}) && holds(r, 9, (float[]){0, 1, 2, 3, 4, 5, 0, 1, 2}));
  rc_release(r);
  rc_tensor *c = iota(2, (int64_t[]){2, 1});
  const rc_tensor *ac[2] = {a, c};
  CHECK_OK(rc_cat(&r, 2, ac, -1));
  CHECK(has_shape(r, 2, (int64_t[]){2, 4}) && holds(r, 8, (float[]){0, 1, 2, 0, 3, 4, 5, 1}));
  rc_release(r);
  /* a (0) tensor is skipped, as in PyTorch */
  rc_tensor *empty = NULL;
  CHECK_OK(rc_empty(&empty, RC_FLOAT32, 1, (int64_t[]){0}));
  const rc_tensor *ea[2] = {empty, a};
  CHECK_OK(rc_cat(&r, 2, ea, 0));
  CHECK(has_shape(r, 2, (int64_t[]){2, 3}));
  rc_release(r);

  r = NULL;
  CHECK_FAILS(rc_cat(&r, 2, ab, 1),
              "cat: shapes (2,3) and (1,3) must match in every dim except the one joined along");
  rc_tensor *l = NULL;
  CHECK_OK(rc_full(&l, RC_INT64, 2, (int64_t[]){1, 3}, 1));
  const rc_tensor *al[2] = {a, l};
  CHECK_FAILS(rc_cat(&r, 2, al, 0), "cat: tensors must share a dtype, got float32 and int64");
  CHECK_FAILS(rc_cat(&r, 0, ab, 0), "cat: needs at least one tensor, got 0");
  CHECK(r == NULL);
  rc_release(l);
  rc_release(empty);
  rc_release(c);
  rc_release(b);
  rc_release(a);
}

static void test_stack(void) {
  rc_tensor *a = iota(1, (int64_t[]){2}), *b = NULL, *r = NULL;
  CHECK_OK(rc_full(&b, RC_FLOAT32, 1, (int64_t[]){2}, 7));
  const rc_tensor *ab[2] = {a, b};
  CHECK_OK(rc_stack(&r, 2, ab, 0));
  CHECK(has_shape(r, 2, (int64_t[]){2, 2}) && holds(r, 4, (float[]){0, 1, 7, 7}));
  rc_release(r);
  CHECK_OK(rc_stack(&r, 2, ab, 1));
  CHECK(has_shape(r, 2, (int64_t[]){2, 2}) && holds(r, 4, (float[]){0, 7, 1, 7}));
  rc_release(r);
  CHECK_OK(rc_stack(&r, 2, ab, -1));
  CHECK(holds(r, 4, (float[]){0, 7, 1, 7}));
  rc_release(r);
  r = NULL;
  rc_tensor *c = iota(1, (int64_t[]){3});
  const rc_tensor *ac[2] = {a, c};
  CHECK_FAILS(rc_stack(&r, 2, ac, 0), "stack: shapes (2) and (3) differ; stack needs tensors of one shape");
  CHECK_FAILS(rc_stack(&r, 2, ab, 2), "stack: dim 2 out of range");
  CHECK(r == NULL);
  rc_release(c);
  rc_release(b);
  rc_release(a);
}

static void release_pieces(rc_tensor **ps, int n) {
  for (int i = 0; i < n; i++) rc_release(ps[i]);
  free(ps);
}

static void test_split_chunk(void) {
  rc_tensor *a = iota(1, (int64_t[]){5}), **ps = NULL;
  int n = 0;
  CHECK_OK(rc_split(&ps, &n, a, 2, 0));
  CHECK(n == 3);
  if (n == 3) {
    CHECK(holds(ps[0], 2, (float[]){0, 1}) && holds(ps[1], 2, (float[]){2, 3}) &&
          holds(ps[2], 1, (float[]){4}));
    CHECK(ps[1]->storage == a->storage); /* views */
    rc_set_flat(ps[1], 0, 20);
    CHECK(rc_f32(a)[2] == 20);
  }
  release_pieces(ps, n);
  CHECK_OK(rc_split_sizes(&ps, &n, a, 2, (int64_t[]){1, 4}, -1));
  CHECK(n == 2);
  if (n == 2) CHECK(holds(ps[0], 1, (float[]){0}) && holds(ps[1], 4, (float[]){1, 20, 3, 4}));
  release_pieces(ps, n);
  CHECK_FAILS(rc_split_sizes(&ps, &n, a, 2, (int64_t[]){1, 2}, 0),
              "split: sizes (1,2) add up to 3 but the split dim has size 5");
  CHECK_FAILS(rc_split(&ps, &n, a, 0, 0), "split: split size must be >= 1");

  rc_tensor *m = iota(2, (int64_t[]){2, 6});
  CHECK_OK(rc_chunk(&ps, &n, m, 4, 1)); /* ceil(6/4) = 2 per piece: 3 pieces */
  CHECK(n == 3);
  if (n == 3) {
    CHECK(has_shape(ps[2], 2, (int64_t[]){2, 2}) && holds(ps[2], 4, (float[]){4, 5, 10, 11}));
  }
  release_pieces(ps, n);
  CHECK_OK(rc_chunk(&ps, &n, a, 3, 0)); /* 2, 2, 1 */
  CHECK(n == 3 && ps[2]->shape[0] == 1);
  release_pieces(ps, n);
  rc_tensor *e = NULL;
  CHECK_OK(rc_empty(&e, RC_FLOAT32, 1, (int64_t[]){0}));
  CHECK_OK(rc_chunk(&ps, &n, e, 3, 0)); /* nothing to cut: 3 empty pieces */
  CHECK(n == 3 && ps[0]->shape[0] == 0);
  release_pieces(ps, n);
  CHECK_FAILS(rc_chunk(&ps, &n, a, 0, 0), "chunk: chunks must be >= 1, got 0");
  rc_release(e);
  rc_release(m);
  rc_release(a);
}

int main(void) {
  test_index_select();
  test_index_select_big();
  test_gather();
  test_gather_big();
  test_scatter_add();
  test_scatter_add_big();
  test_cat();
  test_stack();
  test_split_chunk();
  return check_summary("index");
}
