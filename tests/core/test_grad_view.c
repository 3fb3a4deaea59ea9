/* tests/core/test_grad_view.c — gradients of the differentiable views, copies and indexing ops
   (core/grad_view.c): finite-difference checks of each, known small cases, recording rules. */
#include <stdint.h>
#include <stdlib.h>
#include "check.h"
#include "gradcheck.h"

#define LEN(a) ((int)(sizeof(a) / sizeof *(a)))

/* A leaf that requires grad. */
static rc_tensor *leaf(int ndim, const int64_t *shape) {
  rc_tensor *t = random_tensor(ndim, shape);
  t->requires_grad = true;
  return t;
}

/* A leaf that requires grad and is a transposed (non-contiguous) view of its storage:
   shape (a, b) read from a contiguous (b, a). */
static rc_tensor *transposed_leaf(int64_t a, int64_t b) {
  rc_tensor *base = random_tensor(2, (int64_t[]){b, a}), *t = NULL;
  rc_transpose(&t, base, 0, 1);
  rc_release(base);
  t->requires_grad = true;
  return t;
}

/* Every element (row-major) equals expected exactly. */
static bool values_are(const rc_tensor *t, int n, const double *expected) {
  if (!t || rc_numel(t) != n) return false;
  for (int i = 0; i < n; i++)
    if (rc_get_flat(t, i) != expected[i]) {
      fprintf(stderr, "  element %d is %.9g, expected %.9g\n", i, rc_get_flat(t, i), expected[i]);
      return false;
    }
  return true;
}

#define CHECK_VALUES(t, ...)                                                \
  do {                                                                      \
    const double expected_[] = {__VA_ARGS__};                               \
    CHECK(values_are((t), LEN(expected_), expected_));                      \
  } while (0)

/* View, copy and indexing ops are linear in their input (one split case is quadratic), where
   central differences are exact but for float32 rounding: a tight tolerance (worst seen: 5e-6). */
static const gc_options exact = {.eps = 1e-2, .tol = 1e-3};

static void release_all(int n, rc_tensor **ts) {
  for (int i = 0; i < n; i++) rc_release(ts[i]);
}

/* --- view, reshape, flatten, unsqueeze, squeeze ------------------------------------------- */

static rc_status b_view(rc_tensor **out, rc_tensor *const *in, const void *arg) {
  return rcg_view(out, in[0], 2, (int64_t[]){-1, 4});
}
static rc_status b_reshape(rc_tensor **out, rc_tensor *const *in, const void *arg) {
  return rcg_reshape(out, in[0], 2, (int64_t[]){2, -1});
}
static rc_status b_flatten(rc_tensor **out, rc_tensor *const *in, const void *arg) {
  return rcg_flatten(out, in[0], 1, -1);
}
static rc_status b_flatten_all(rc_tensor **out, rc_tensor *const *in, const void *arg) {
  return rcg_flatten(out, in[0], 0, -1);
}
static rc_status b_unsqueeze(rc_tensor **out, rc_tensor *const *in, const void *arg) {
  return rcg_unsqueeze(out, in[0], -1);
}
static rc_status b_squeeze_all(rc_tensor **out, rc_tensor *const *in, const void *arg) {
  return rcg_squeeze(out, in[0], RC_ALL_DIMS);
}
static rc_status b_squeeze_dim(rc_tensor **out, rc_tensor *const *in, const void *arg) {
  return rcg_squeeze(out, in[0], -2);
}

static void test_reshapes(void) {
  rc_tensor *x = leaf(3, (int64_t[]){2, 3, 4}), *v = NULL;
  gradcheck("view (2,3,4) -> (6,4)", b_view, NULL, 1, &x, &exact);
  CHECK_OK(rcg_view(&v, x, 2, (int64_t[]){6, 4}));
  CHECK(v->storage == x->storage); /* recorded, and still a view */
  CHECK(v->grad_fn && !strcmp(v->grad_fn->name, "ViewBackward"));
  rc_release(v);
  gradcheck("flatten (2,3,4) from dim 1", b_flatten, NULL, 1, &x, &exact);
  gradcheck("unsqueeze(-1) of (2,3,4)", b_unsqueeze, NULL, 1, &x, &exact);
  rc_release(x);

  /* reshape of a transposed (4,3): no view fits, so reshape copies; the gradient is still
     g in the input's (non-contiguous) shape */
  rc_tensor *xt = transposed_leaf(4, 3);
  gradcheck("reshape of a transposed (4,3) to (2,6)", b_reshape, NULL, 1, &xt, &exact);
  gradcheck("flatten of a transposed (4,3)", b_flatten, NULL, 1, &xt, &exact);
  CHECK_OK(rcg_reshape(&v, xt, 1, (int64_t[]){12}));
  CHECK(v->storage != xt->storage && !strcmp(v->grad_fn->name, "ReshapeBackward"));
  rc_release(v);
  rc_release(xt);

  rc_tensor *s = leaf(4, (int64_t[]){2, 1, 3, 1});
  gradcheck("squeeze every size-1 dim of (2,1,3,1)", b_squeeze_all, NULL, 1, &s, &exact);
  gradcheck("squeeze(-2) of (2,1,3,1) (size 3: kept)", b_squeeze_dim, NULL, 1, &s, &exact);
  CHECK_OK(rcg_squeeze(&v, s, RC_ALL_DIMS));
  CHECK(shape_is(v, 2, (int64_t[]){2, 3}) && !strcmp(v->grad_fn->name, "SqueezeBackward"));
  rc_release(v);
  CHECK_OK(rcg_unsqueeze(&v, s, 0));
  CHECK(!strcmp(v->grad_fn->name, "UnsqueezeBackward"));
  rc_release(v);
  CHECK_OK(rcg_flatten(&v, s, 0, -1));
  CHECK(!strcmp(v->grad_fn->name, "FlattenBackward"));
  rc_release(v);
  rc_release(s);

  /* a 0-d tensor flattens to (1) and back */
  rc_tensor *z = leaf(0, NULL);
  gradcheck("flatten of a 0-d tensor", b_flatten_all, NULL, 1, &z, &exact);
  rc_release(z);
}

/* --- transpose and permute ---------------------------------------------------------------- */

static rc_status b_transpose(rc_tensor **out, rc_tensor *const *in, const void *arg) {
  return rcg_transpose(out, in[0], 0, -1);
}
static rc_status b_permute(rc_tensor **out, rc_tensor *const *in, const void *arg) {
  return rcg_permute(out, in[0], 3, arg);
}

static void test_transpose_permute(void) {
  rc_tensor *x = leaf(3, (int64_t[]){2, 3, 4}), *v = NULL;
  gradcheck("transpose(0,-1) of (2,3,4)", b_transpose, NULL, 1, &x, &exact);
  gradcheck("permute (2,0,1) of (2,3,4)", b_permute, (int[]){2, 0, 1}, 1, &x, &exact);
  gradcheck("permute (-2,-1,-3) of (2,3,4)", b_permute, (int[]){-2, -1, -3}, 1, &x, &exact);
  CHECK_OK(rcg_permute(&v, x, 3, (int[]){1, 2, 0}));
  CHECK(v->storage == x->storage && !strcmp(v->grad_fn->name, "PermuteBackward"));
  rc_release(v);
  CHECK_OK(rcg_transpose(&v, x, 1, 2));
  CHECK(v->storage == x->storage && !strcmp(v->grad_fn->name, "TransposeBackward"));
  rc_release(v);
  rc_release(x);
  rc_tensor *xt = transposed_leaf(3, 2);
  CHECK_OK(rcg_transpose(&v, xt, 0, 1)); /* the transpose of a transposed leaf is contiguous */
  CHECK(rc_is_contiguous(v));
  rc_release(v);
  rc_tensor *xt3 = NULL;
  rc_tensor *base = random_tensor(3, (int64_t[]){4, 3, 2});
  rc_permute(&xt3, base, 3, (int[]){2, 1, 0}); /* (2,3,4), strides (1,2,6) */
  xt3->requires_grad = true;
  gradcheck("permute (1,2,0) of a permuted leaf", b_permute, (int[]){1, 2, 0}, 1, &xt3, &exact);
  rc_release(base), rc_release(xt3), rc_release(xt);
}

/* --- narrow and select -------------------------------------------------------------------- */

static rc_status b_narrow(rc_tensor **out, rc_tensor *const *in, const void *arg) {
  const int64_t *p = arg; /* dim, start, length */
  return rcg_narrow(out, in[0], (int)p[0], p[1], p[2]);
}
static rc_status b_select(rc_tensor **out, rc_tensor *const *in, const void *arg) {
  const int64_t *p = arg; /* dim, index */
  return rcg_select(out, in[0], (int)p[0], p[1]);
}

static void test_narrow_select(void) {
  rc_tensor *x = leaf(2, (int64_t[]){3, 4}), *v = NULL;
  gradcheck("narrow(1, 1, 2) of (3,4)", b_narrow, (int64_t[]){1, 1, 2}, 1, &x, &exact);
  gradcheck("narrow(-1, -3, 2) of (3,4)", b_narrow, (int64_t[]){-1, -3, 2}, 1, &x, &exact);
  gradcheck("narrow(0, 2, 1) of (3,4)", b_narrow, (int64_t[]){0, 2, 1}, 1, &x, &exact);
  gradcheck("select(0, -1) of (3,4)", b_select, (int64_t[]){0, -1}, 1, &x, &exact);
  gradcheck("select(-1, 2) of (3,4)", b_select, (int64_t[]){-1, 2}, 1, &x, &exact);
  rc_release(x);

  /* known case: x (2,3), narrow(1, 1, 2) with g = {{1,2},{3,4}} -> {{0,1,2},{0,3,4}} */
  rc_tensor *y = leaf(2, (int64_t[]){2, 3});
  rc_tensor *g = tensor_of(2, (int64_t[]){2, 2}, (float[]){1, 2, 3, 4});
  CHECK_OK(rcg_narrow(&v, y, 1, 1, 2));
  CHECK(v->storage == y->storage && !strcmp(v->grad_fn->name, "NarrowBackward"));
  CHECK_OK(rc_backward(v, g, false));
  CHECK_VALUES(y->grad, 0, 1, 2, 0, 3, 4);
  rc_release(v), rc_release(g);
  /* select(0, 1) with g = {5,6,7} lands in row 1, and adds to what is there */
  g = tensor_of(1, (int64_t[]){3}, (float[]){5, 6, 7});
  CHECK_OK(rcg_select(&v, y, 0, 1));
  CHECK(v->storage == y->storage && !strcmp(v->grad_fn->name, "SelectBackward"));
  CHECK_OK(rc_backward(v, g, false));
  CHECK_VALUES(y->grad, 0, 1, 2, 5, 9, 11);
  rc_release(v), rc_release(g), rc_release(y);

  rc_tensor *xt = transposed_leaf(4, 3);
  gradcheck("narrow(0, 1, 2) of a transposed (4,3)", b_narrow, (int64_t[]){0, 1, 2}, 1, &xt,
            &exact);
  gradcheck("select(1, 0) of a transposed (4,3)", b_select, (int64_t[]){1, 0}, 1, &xt, &exact);
  rc_release(xt);
}

/* --- expand ------------------------------------------------------------------------------- */

static rc_status b_expand(rc_tensor **out, rc_tensor *const *in, const void *arg) {
  return rcg_expand(out, in[0], 3, arg);
}

static void test_expand(void) {
  rc_tensor *x = leaf(2, (int64_t[]){3, 1}), *v = NULL;
  gradcheck("expand (3,1) -> (2,3,4)", b_expand, (int64_t[]){2, 3, 4}, 1, &x, &exact);
  gradcheck("expand (3,1) -> (2,-1,1)", b_expand, (int64_t[]){2, -1, 1}, 1, &x, &exact);
  CHECK_OK(rcg_expand(&v, x, 3, (int64_t[]){2, 3, 4}));
  CHECK(v->storage == x->storage && !strcmp(v->grad_fn->name, "ExpandBackward"));
  rc_release(v), rc_release(x);
  rc_tensor *r = leaf(1, (int64_t[]){4});
  gradcheck("expand (4) -> (2,3,4)", b_expand, (int64_t[]){2, 3, 4}, 1, &r, &exact);
  rc_release(r);
  rc_tensor *m = leaf(3, (int64_t[]){1, 3, 1});
  gradcheck("expand (1,3,1) -> (5,3,2)", b_expand, (int64_t[]){5, 3, 2}, 1, &m, &exact);
  rc_release(m);

  /* known case: (2,1) expanded to (2,3) with g all ones: each element was used 3 times */
  rc_tensor *y = leaf(2, (int64_t[]){2, 1}), *g = NULL;
  rc_full(&g, RC_FLOAT32, 2, (int64_t[]){2, 3}, 1.0);
  CHECK_OK(rcg_expand(&v, y, 2, (int64_t[]){2, 3}));
  CHECK_OK(rc_backward(v, g, false));
  CHECK(shape_is(y->grad, 2, (int64_t[]){2, 1}));
  CHECK_VALUES(y->grad, 3, 3);
  rc_release(v), rc_release(g), rc_release(y);
}

/* --- contiguous, clone, to_dtype ---------------------------------------------------------- */

static rc_status b_contiguous(rc_tensor **out, rc_tensor *const *in, const void *arg) {
  return rcg_contiguous(out, in[0]);
}
static rc_status b_clone(rc_tensor **out, rc_tensor *const *in, const void *arg) {
  return rcg_clone(out, in[0]);
}
static rc_status b_to_float(rc_tensor **out, rc_tensor *const *in, const void *arg) {
  return rcg_to_dtype(out, in[0], RC_FLOAT32);
}

static void test_copies(void) {
  rc_tensor *xt = transposed_leaf(3, 4), *v = NULL;
  gradcheck("contiguous of a transposed (3,4)", b_contiguous, NULL, 1, &xt, &exact);
  gradcheck("clone of a transposed (3,4)", b_clone, NULL, 1, &xt, &exact);
  gradcheck("to_dtype float32 of a transposed (3,4)", b_to_float, NULL, 1, &xt, &exact);
  CHECK_OK(rcg_contiguous(&v, xt));
  CHECK(v != xt && rc_is_contiguous(v) && !strcmp(v->grad_fn->name, "ContiguousBackward"));
  rc_release(v);
  CHECK_OK(rcg_clone(&v, xt));
  CHECK(!strcmp(v->grad_fn->name, "CloneBackward"));
  rc_release(v);
  CHECK_OK(rcg_to_dtype(&v, xt, RC_FLOAT32));
  CHECK(!strcmp(v->grad_fn->name, "ToDtypeBackward"));
  rc_release(v);
  /* int64 results have no gradient */
  CHECK_OK(rcg_to_dtype(&v, xt, RC_INT64));
  CHECK(v->dtype == RC_INT64 && !v->requires_grad && !v->grad_fn);
  rc_release(v);
  rc_release(xt);

  /* contiguous of a contiguous tensor is that tensor, its history untouched */
  rc_tensor *x = leaf(2, (int64_t[]){2, 2}), *y = NULL;
  CHECK_OK(rcg_contiguous(&v, x));
  CHECK(v == x && v->grad_fn == NULL);
  rc_release(v);
  CHECK_OK(rcg_transpose(&y, x, 0, 1));
  rc_node *before = y->grad_fn;
  CHECK_OK(rcg_contiguous(&v, y)); /* a transposed (2,2) is not contiguous: a copy */
  CHECK(v != y && y->grad_fn == before);
  rc_release(v), rc_release(y), rc_release(x);
}

/* --- index_select, gather, scatter_add ---------------------------------------------------- */

typedef struct {
  int dim;
  const rc_tensor *index;
} index_arg;

static rc_status b_index_select(rc_tensor **out, rc_tensor *const *in, const void *arg) {
  const index_arg *p = arg;
  return rcg_index_select(out, in[0], p->dim, p->index);
}
static rc_status b_gather(rc_tensor **out, rc_tensor *const *in, const void *arg) {
  const index_arg *p = arg;
  return rcg_gather(out, in[0], p->dim, p->index);
}
static rc_status b_scatter_add(rc_tensor **out, rc_tensor *const *in, const void *arg) {
  const index_arg *p = arg;
  return rcg_scatter_add(out, in[0], p->dim, p->index, in[1]);
}

static void test_index_select(void) {
  rc_tensor *x = leaf(3, (int64_t[]){4, 3, 2}), *v = NULL;
  rc_tensor *rep = longs(1, (int64_t[]){5}, (int64_t[]){2, 0, 2, 3, 2});
  rc_tensor *two = longs(1, (int64_t[]){2}, (int64_t[]){1, 1});
  gradcheck("index_select dim 0, index {2,0,2,3,2}", b_index_select, &(index_arg){0, rep}, 1, &x,
            &exact);
  gradcheck("index_select dim 1, index {1,1}", b_index_select, &(index_arg){1, two}, 1, &x, &exact);
  gradcheck("index_select dim -1, index {1,1}", b_index_select, &(index_arg){-1, two}, 1, &x,
            &exact);
  CHECK_OK(rcg_index_select(&v, x, 0, rep));
  CHECK(!strcmp(v->grad_fn->name, "IndexSelectBackward"));
  rc_release(v), rc_release(x);
  rc_tensor *xt = transposed_leaf(4, 3);
  gradcheck("index_select dim 0 of a transposed (4,3)", b_index_select, &(index_arg){0, rep}, 1,
            &xt, &exact);
  rc_release(xt);

  /* known case: rows {1,1,0} of a (2,2), g = {{1,2},{3,4},{5,6}}: row 1 gets 1+3, 2+4 */
  rc_tensor *y = leaf(2, (int64_t[]){2, 2});
  rc_tensor *idx = longs(1, (int64_t[]){3}, (int64_t[]){1, 1, 0});
  rc_tensor *g = tensor_of(2, (int64_t[]){3, 2}, (float[]){1, 2, 3, 4, 5, 6});
  CHECK_OK(rcg_index_select(&v, y, 0, idx));
  CHECK_OK(rc_backward(v, g, false));
  CHECK_VALUES(y->grad, 5, 6, 4, 6);
  rc_release(v), rc_release(g), rc_release(idx), rc_release(y);

  /* big enough to run in parallel: against a plain loop, and the same for 1 and 4 threads */
  int64_t V = 50, D = 1000, K = 64;
  rc_tensor *emb = leaf(2, (int64_t[]){V, D});
  rc_tensor *ids = NULL;
  rc_empty(&ids, RC_INT64, 1, &K);
  for (int64_t k = 0; k < K; k++) rc_i64(ids)[k] = (k * 7) % 13; /* many repeats */
  rc_tensor *gw = random_tensor(2, (int64_t[]){K, D});
  float *expected = calloc((size_t)(V * D), sizeof *expected);
  for (int64_t k = 0; k < K; k++)
    for (int64_t j = 0; j < D; j++) expected[rc_i64(ids)[k] * D + j] += rc_f32(gw)[k * D + j];
  rc_tensor *first = NULL;
  int threads[2] = {1, 4};
  int saved_threads = rc_threads();
  for (int t = 0; t < 2; t++) {
    rc_set_threads(threads[t]);
    rc_release(emb->grad);
    emb->grad = NULL;
    CHECK_OK(rcg_index_select(&v, emb, 0, ids));
    CHECK_OK(rc_backward(v, gw, false));
    rc_release(v);
    bool same = true, same_as_first = true;
    for (int64_t i = 0; i < V * D; i++) {
      same = same && rc_f32(emb->grad)[i] == expected[i];
      if (first) same_as_first = same_as_first && rc_f32(emb->grad)[i] == rc_f32(first)[i];
    }
    CHECK(same);
    CHECK(same_as_first);
    if (!first) first = rc_retain(emb->grad);
  }
  rc_set_threads(saved_threads);
  free(expected);
  rc_release(first), rc_release(gw), rc_release(ids), rc_release(emb);
  rc_release(rep), rc_release(two);
}

static void test_gather_scatter(void) {
  /* gather along dim 1 of a (3,4) with a (2,3) index that repeats positions */
  rc_tensor *x = leaf(2, (int64_t[]){3, 4}), *v = NULL;
  rc_tensor *i1 = longs(2, (int64_t[]){2, 3}, (int64_t[]){3, 3, 0, 1, 1, 1});
  rc_tensor *i0 = longs(2, (int64_t[]){2, 4}, (int64_t[]){2, 2, 0, 1, 2, 0, 0, 1});
  gradcheck("gather dim 1, repeated index", b_gather, &(index_arg){1, i1}, 1, &x, &exact);
  gradcheck("gather dim -2, repeated index", b_gather, &(index_arg){-2, i0}, 1, &x, &exact);
  CHECK_OK(rcg_gather(&v, x, 1, i1));
  CHECK(!strcmp(v->grad_fn->name, "GatherBackward"));
  rc_release(v);
  rc_tensor *xt = transposed_leaf(3, 4);
  gradcheck("gather dim 1 of a transposed (3,4)", b_gather, &(index_arg){1, i1}, 1, &xt, &exact);
  rc_release(xt);

  /* known case: gather(1) of a (1,3) at {{2,2,0}}, g = {{1,2,3}} -> {{3,0,3}} */
  rc_tensor *y = leaf(2, (int64_t[]){1, 3});
  rc_tensor *gi = longs(2, (int64_t[]){1, 3}, (int64_t[]){2, 2, 0});
  rc_tensor *g = tensor_of(2, (int64_t[]){1, 3}, (float[]){1, 2, 3});
  CHECK_OK(rcg_gather(&v, y, 1, gi));
  CHECK_OK(rc_backward(v, g, false));
  CHECK_VALUES(y->grad, 3, 0, 3);
  rc_release(v), rc_release(g), rc_release(gi), rc_release(y);

  /* scatter_add into a (3,4) along dim 0 from a (3,5) src, index (2,3) covering part of src */
  rc_tensor *ins[2] = {leaf(2, (int64_t[]){3, 4}), leaf(2, (int64_t[]){3, 5})};
  rc_tensor *si = longs(2, (int64_t[]){2, 3}, (int64_t[]){2, 0, 2, 2, 1, 2});
  gradcheck("scatter_add dim 0, src larger than index", b_scatter_add, &(index_arg){0, si}, 2, ins,
            &exact);
  /* the part of src the index does not reach gets zero */
  CHECK(ins[1]->grad && rc_get_flat(ins[1]->grad, 3) == 0 && rc_get_flat(ins[1]->grad, 14) == 0);
  rc_tensor *same = longs(2, (int64_t[]){3, 5}, (int64_t[]){0, 1, 2, 3, 3, 3, 3, 3, 3, 3, 0, 0,
                                                              1, 1, 2});
  rc_tensor *pair[2] = {ins[0], leaf(2, (int64_t[]){3, 5})};
  gradcheck("scatter_add dim -1, index shaped like src", b_scatter_add, &(index_arg){-1, same}, 2,
            pair, &exact);
  CHECK_OK(rcg_scatter_add(&v, ins[0], 0, si, ins[1]));
  CHECK(!strcmp(v->grad_fn->name, "ScatterAddBackward"));
  rc_release(v);
  /* only src requires grad: a gets none */
  rc_tensor *plain = random_tensor(2, (int64_t[]){3, 4});
  rc_tensor *only_src[2] = {plain, ins[1]};
  gc_options src_only = exact;
  src_only.check = (bool[]){false, true};
  gradcheck("scatter_add where only src requires grad", b_scatter_add, &(index_arg){0, si}, 2,
            only_src, &src_only);
  CHECK(plain->grad == NULL);
  rc_release(plain), rc_release(pair[1]), rc_release(same);
  release_all(2, ins);
  rc_release(si), rc_release(i0), rc_release(i1), rc_release(x);
}

/* --- cat and stack ------------------------------------------------------------------------ */

static rc_status b_cat(rc_tensor **out, rc_tensor *const *in, const void *arg) {
  return rcg_cat(out, *(const int *)arg, (const rc_tensor *const *)in, -1);
}
static rc_status b_cat0(rc_tensor **out, rc_tensor *const *in, const void *arg) {
  return rcg_cat(out, *(const int *)arg, (const rc_tensor *const *)in, 0);
}
static rc_status b_stack(rc_tensor **out, rc_tensor *const *in, const void *arg) {
  const int *p = arg; /* n, dim */
  return rcg_stack(out, p[0], (const rc_tensor *const *)in, p[1]);
}

static void test_cat_stack(void) {
  /* three pieces along the last dim: sizes 2, 3 and 1, the middle one not requiring grad */
  rc_tensor *ts[3] = {leaf(2, (int64_t[]){3, 2}), random_tensor(2, (int64_t[]){3, 3}),
                      transposed_leaf(3, 1)};
  gc_options not_middle = exact;
  not_middle.check = (bool[]){true, false, true};
  gradcheck("cat of (3,2), (3,3), (3,1) along -1", b_cat, &(int){3}, 3, ts, &not_middle);
  CHECK(ts[1]->grad == NULL);
  rc_tensor *v = NULL;
  CHECK_OK(rcg_cat(&v, 3, (const rc_tensor *const *)ts, 1));
  CHECK(!strcmp(v->grad_fn->name, "CatBackward"));
  rc_release(v);
  release_all(3, ts);

  /* a (0) tensor that cat skips gets an empty gradient */
  rc_tensor *e = NULL;
  rc_empty(&e, RC_FLOAT32, 1, (int64_t[]){0});
  e->requires_grad = true;
  rc_tensor *with_empty[3] = {leaf(2, (int64_t[]){2, 3}), e, leaf(2, (int64_t[]){1, 3})};
  gradcheck("cat of (2,3), (0), (1,3) along 0", b_cat0, &(int){3}, 3, with_empty, &exact);
  CHECK(shape_is(e->grad, 1, (int64_t[]){0}));
  release_all(3, with_empty);

  /* many inputs: one node takes any number */
  rc_tensor *many[20];
  for (int i = 0; i < 20; i++) many[i] = leaf(1, (int64_t[]){1 + i % 3});
  gradcheck("cat of 20 vectors", b_cat0, &(int){20}, 20, many, &exact);
  release_all(20, many);

  /* known case: cat({a (2), b (1)}) with g = {1,2,3}: a gets {1,2}, b {3} */
  rc_tensor *a = leaf(1, (int64_t[]){2}), *b = leaf(1, (int64_t[]){1});
  rc_tensor *ab[2] = {a, b}, *g = tensor_of(1, (int64_t[]){3}, (float[]){1, 2, 3});
  CHECK_OK(rcg_cat(&v, 2, (const rc_tensor *const *)ab, 0));
  CHECK_OK(rc_backward(v, g, false));
  CHECK_VALUES(a->grad, 1, 2);
  CHECK_VALUES(b->grad, 3);
  rc_release(v), rc_release(g), rc_release(a), rc_release(b);

  rc_tensor *st[3] = {leaf(2, (int64_t[]){2, 3}), transposed_leaf(2, 3),
                      random_tensor(2, (int64_t[]){2, 3})};
  gc_options not_last = exact;
  not_last.check = (bool[]){true, true, false};
  gradcheck("stack of three (2,3) at dim 1", b_stack, (int[]){3, 1}, 3, st, &not_last);
  gradcheck("stack of three (2,3) at dim -1", b_stack, (int[]){3, -1}, 3, st, &not_last);
  gradcheck("stack of three (2,3) at dim 0", b_stack, (int[]){3, 0}, 3, st, &not_last);
  CHECK_OK(rcg_stack(&v, 3, (const rc_tensor *const *)st, 0));
  CHECK(!strcmp(v->grad_fn->name, "StackBackward"));
  rc_release(v);
  release_all(3, st);
}

/* --- split, split_sizes, chunk: several outputs from one node ----------------------------- */

static void release_pieces(rc_tensor **pieces, int count) {
  for (int k = 0; k < count; k++) rc_release(pieces[k]);
  free(pieces);
}

/* chunk (4,6) into 3 along dim 1 and use pieces 0 and 2 only: out = p0 + 3 p2 */
static rc_status b_chunk_some(rc_tensor **out, rc_tensor *const *in, const void *arg) {
  rc_tensor **p = NULL, *scaled = NULL;
  int count = 0;
  rc_status st = rcg_chunk(&p, &count, in[0], 3, 1);
  if (st) return st;
  st = rcg_binary_scalar(&scaled, RC_MUL, p[2], 3.0);
  if (!st) st = rcg_binary(out, RC_ADD, p[0], scaled);
  rc_release(scaled);
  release_pieces(p, count);
  return st;
}

/* split_sizes (1,3,2) along dim 0 of a (6,2) and use the middle piece only */
static rc_status b_split_sizes_middle(rc_tensor **out, rc_tensor *const *in, const void *arg) {
  rc_tensor **p = NULL;
  int count = 0;
  rc_status st = rcg_split_sizes(&p, &count, in[0], 3, (int64_t[]){1, 3, 2}, 0);
  if (st) return st;
  *out = rc_retain(p[1]);
  release_pieces(p, count);
  return RC_OK;
}

/* split a (3,5) in pieces of 2 along dim -1 (sizes 2,2,1), the last and first used:
   out = cat(p2, p0) along -1 */
static rc_status b_split_even(rc_tensor **out, rc_tensor *const *in, const void *arg) {
  rc_tensor **p = NULL;
  int count = 0;
  rc_status st = rcg_split(&p, &count, in[0], 2, -1);
  if (st) return st;
  const rc_tensor *used[2] = {p[2], p[0]};
  st = rcg_cat(out, 2, used, -1);
  release_pieces(p, count);
  return st;
}

/* every piece used once: out = p0 * p1 + p2, pieces (2,2) of a (6,2) */
static rc_status b_chunk_all(rc_tensor **out, rc_tensor *const *in, const void *arg) {
  rc_tensor **p = NULL, *prod = NULL;
  int count = 0;
  rc_status st = rcg_chunk(&p, &count, in[0], 3, 0);
  if (st) return st;
  st = rcg_binary(&prod, RC_MUL, p[0], p[1]);
  if (!st) st = rcg_binary(out, RC_ADD, prod, p[2]);
  rc_release(prod);
  release_pieces(p, count);
  return st;
}

static void test_split(void) {
  rc_tensor *x = leaf(2, (int64_t[]){4, 6});
  gradcheck("chunk into 3 along dim 1, pieces 0 and 2 used", b_chunk_some, NULL, 1, &x, &exact);
  /* piece 1 got no gradient: zeros there */
  bool zeros = x->grad != NULL;
  for (int r = 0; zeros && r < 4; r++)
    zeros = rc_f32(x->grad)[r * 6 + 2] == 0 && rc_f32(x->grad)[r * 6 + 3] == 0;
  CHECK(zeros);
  rc_release(x);
  rc_tensor *y = leaf(2, (int64_t[]){6, 2});
  gradcheck("split_sizes (1,3,2), the middle piece used", b_split_sizes_middle, NULL, 1, &y,
            &exact);
  rc_release(y);
  rc_tensor *z = transposed_leaf(3, 5);
  gradcheck("split by 2 along -1 of a transposed (3,5), pieces 2 and 0", b_split_even, NULL, 1, &z,
            &exact);
  rc_release(z);
  rc_tensor *w = transposed_leaf(6, 2);
  gradcheck("chunk of a transposed (6,2), all pieces used", b_chunk_all, NULL, 1, &w, &exact);
  rc_release(w);

  /* the pieces are views of one node, outputs 0..count-1, named after the op */
  rc_tensor *a = leaf(1, (int64_t[]){5}), **p = NULL;
  int count = 0;
  CHECK_OK(rcg_split(&p, &count, a, 2, 0));
  CHECK(count == 3);
  for (int k = 0; k < count; k++)
    CHECK(p[k]->grad_fn == p[0]->grad_fn && p[k]->output_nr == k &&
          p[k]->storage == a->storage);
  CHECK(!strcmp(p[0]->grad_fn->name, "SplitBackward") && p[0]->grad_fn->noutputs == 3);
  /* known case: backward from piece 1 alone (positions 2, 3) */
  rc_tensor *g = tensor_of(1, (int64_t[]){2}, (float[]){7, 8});
  CHECK_OK(rc_backward(p[1], g, false));
  CHECK_VALUES(a->grad, 0, 0, 7, 8, 0);
  rc_release(g);
  release_pieces(p, count);
  CHECK_OK(rcg_split_sizes(&p, &count, a, 2, (int64_t[]){4, 1}, 0));
  CHECK(count == 2 && !strcmp(p[0]->grad_fn->name, "SplitWithSizesBackward"));
  release_pieces(p, count);
  CHECK_OK(rcg_chunk(&p, &count, a, 2, -1));
  CHECK(count == 2 && !strcmp(p[1]->grad_fn->name, "ChunkBackward"));
  release_pieces(p, count);
  rc_release(a);

  /* without an input that requires grad, pieces carry no history */
  rc_tensor *plain = random_tensor(1, (int64_t[]){4});
  CHECK_OK(rcg_chunk(&p, &count, plain, 2, 0));
  CHECK(count == 2 && !p[0]->grad_fn && !p[1]->requires_grad);
  release_pieces(p, count);
  rc_release(plain);
}

/* --- a chain of views, and the rules of recording ----------------------------------------- */

/* x (2,3,4) -> transpose(0,2) (4,3,2) -> narrow(0,1,2) (2,3,2) -> select(1,-1) (2,2)
   -> unsqueeze(0) (1,2,2) -> expand(3,2,2) -> reshape(12) */
static rc_status b_chain(rc_tensor **out, rc_tensor *const *in, const void *arg) {
  rc_tensor *a = NULL, *b = NULL, *c = NULL, *d = NULL, *e = NULL;
  rc_status st;
  if ((st = rcg_transpose(&a, in[0], 0, 2)) || (st = rcg_narrow(&b, a, 0, 1, 2)) ||
      (st = rcg_select(&c, b, 1, -1)) || (st = rcg_unsqueeze(&d, c, 0)) ||
      (st = rcg_expand(&e, d, 3, (int64_t[]){3, 2, 2})))
    goto done;
  st = rcg_reshape(out, e, 1, (int64_t[]){12});
done:
  rc_release(a), rc_release(b), rc_release(c), rc_release(d), rc_release(e);
  return st;
}

static void test_chain_and_rules(void) {
  rc_tensor *x = leaf(3, (int64_t[]){2, 3, 4}), *v = NULL, *u = NULL;
  gradcheck("transpose, narrow, select, unsqueeze, expand, reshape", b_chain, NULL, 1, &x, &exact);

  /* nothing is recorded in no-grad mode, or when no input requires grad */
  bool was = rc_set_grad_enabled(false);
  CHECK_OK(rcg_narrow(&v, x, 0, 0, 1));
  CHECK(!v->requires_grad && !v->grad_fn);
  rc_release(v);
  rc_set_grad_enabled(was);
  rc_tensor *plain = random_tensor(2, (int64_t[]){2, 2});
  CHECK_OK(rcg_transpose(&v, plain, 0, 1));
  CHECK(!v->requires_grad && !v->grad_fn);
  rc_release(v), rc_release(plain);

  /* an in-place write through a recorded view is refused */
  CHECK_OK(rcg_select(&v, x, 0, 0));
  CHECK_FAILS(rcg_fill_(v, 1.0), "fill_: in-place operations on a tensor that is part of a graph");
  rc_release(v);

  /* the raw op's errors come through unchanged, and nothing is returned */
  v = NULL;
  CHECK_FAILS(rcg_narrow(&v, x, 1, 2, 5), "narrow: start 2 and length 5 do not fit in dim 1");
  CHECK(v == NULL);
  CHECK_FAILS(rcg_select(&v, x, 3, 0), "select: dim 3 out of range for a tensor of 3 dims");
  CHECK_FAILS(rcg_view(&v, x, 1, (int64_t[]){7}), "view: shape (7) is invalid");
  rc_tensor *bad = longs(1, (int64_t[]){1}, (int64_t[]){9});
  CHECK_FAILS(rcg_index_select(&v, x, 0, bad), "index_select: index 9 out of range");
  CHECK_FAILS(rcg_gather(&v, x, 0, bad), "gather: index has shape (1)");
  rc_tensor **p = NULL;
  int count = -1;
  CHECK_FAILS(rcg_split_sizes(&p, &count, x, 2, (int64_t[]){1, 1}, 1),
              "split: sizes (1,1) add up to 2 but the split dim has size 3");
  CHECK(v == NULL);
  rc_release(bad);

  /* a second backward through a view's node needs retain_graph, like any other node */
  rc_tensor *g = NULL;
  rc_full(&g, RC_FLOAT32, 2, (int64_t[]){3, 4}, 1.0);
  rc_release(x->grad);
  x->grad = NULL;
  CHECK_OK(rcg_select(&v, x, 0, 1));
  CHECK_OK(rcg_clone(&u, v));
  CHECK_OK(rc_backward(u, g, true));
  CHECK_OK(rc_backward(u, g, false));
  CHECK(rc_get_flat(x->grad, 12) == 2 && rc_get_flat(x->grad, 0) == 0);
  rc_release(g), rc_release(u), rc_release(v), rc_release(x);
}

int main(void) {
  test_reshapes();
  test_transpose_permute();
  test_narrow_select();
  test_expand();
  test_copies();
  test_index_select();
  test_gather_scatter();
  test_cat_stack();
  test_split();
  test_chain_and_rules();
  return check_summary("grad_view");
}
