/* tests/core/test_view.c — views of the core: shapes, strides, shared storage, values seen
   through each view, and the errors (with their messages) for bad shapes and dims. */
#include "check.h"

/* A contiguous float32 tensor holding 0, 1, 2, ... in row-major order. */
static rc_tensor *iota(int ndim, const int64_t *shape) {
  rc_tensor *t = NULL;
  if (rc_empty(&t, RC_FLOAT32, ndim, shape) != RC_OK) return NULL;
  for (int64_t i = 0; i < rc_numel(t); i++) rc_f32(t)[i] = (float)i;
  return t;
}

/* Does t hold exactly `values` (row-major, any strides)? */
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

static void test_view(void) {
  int64_t s23[2] = {2, 3}, s32[2] = {3, 2}, s6[1] = {6};
  rc_tensor *a = iota(2, s23), *v = NULL;
  CHECK_OK(rc_view(&v, a, 2, s32));
  CHECK(has_shape(v, 2, s32));
  CHECK(v->storage == a->storage);
  CHECK(holds(v, 6, (float[]){0, 1, 2, 3, 4, 5}));
  /* A write through the view shows in the base. */
  rc_set_flat(v, 5, 50);
  CHECK(rc_f32(a)[5] == 50);
  rc_release(v);

  int64_t infer[2] = {-1, 2};
  CHECK_OK(rc_view(&v, a, 2, infer));
  CHECK(has_shape(v, 2, s32));
  rc_release(v);
  CHECK_OK(rc_view(&v, a, 1, (int64_t[]){-1}));
  CHECK(has_shape(v, 1, s6));
  rc_release(v);

  v = NULL;
  CHECK_FAILS(rc_view(&v, a, 2, (int64_t[]){-1, -1}), "view: only one size can be -1, got shape (-1,-1)");
  CHECK_FAILS(rc_view(&v, a, 2, (int64_t[]){4, 2}),
              "view: shape (4,2) is invalid for a tensor of shape (2,3) (6 elements)");
  CHECK_FAILS(rc_view(&v, a, 2, (int64_t[]){-1, 4}),
              "view: shape (-1,4) is invalid for a tensor of shape (2,3) (6 elements)");
  CHECK_FAILS(rc_view(&v, a, 1, (int64_t[]){-2}), "view: sizes must be >= 0 or -1");
  CHECK(v == NULL);
  rc_release(a);
}

static void test_view_needs_compatible_strides(void) {
  int64_t s23[2] = {2, 3};
  rc_tensor *a = iota(2, s23), *t = NULL, *v = NULL;
  CHECK_OK(rc_transpose(&t, a, 0, 1)); /* (3,2) strides (1,3) */
  CHECK_FAILS(rc_view(&v, t, 1, (int64_t[]){6}),
              "view: shape (6) is not compatible with a tensor of shape (3,2) and strides (1,3)");
  CHECK(strstr(rc_last_error(), "use reshape") != NULL);
  CHECK(v == NULL);
  /* Splitting a dim, or adding size-1 dims, works on any strides. */
  CHECK_OK(rc_view(&v, t, 3, (int64_t[]){3, 1, 2}));
  CHECK(v->storage == a->storage);
  CHECK(holds(v, 6, (float[]){0, 3, 1, 4, 2, 5}));
  rc_release(v);
  rc_tensor *n = NULL; /* rows 1..2 of a (4,3): still one contiguous block */
  rc_tensor *b = iota(2, (int64_t[]){4, 3});
  CHECK_OK(rc_narrow(&n, b, 0, 1, 2));
  CHECK_OK(rc_view(&v, n, 1, (int64_t[]){6}));
  CHECK(holds(v, 6, (float[]){3, 4, 5, 6, 7, 8}));
  CHECK(v->storage == b->storage);
  rc_release(v);
  rc_release(n);
  /* Columns 0..1 of a (4,3): rows are not adjacent, so they cannot merge. */
  CHECK_OK(rc_narrow(&n, b, 1, 0, 2));
  CHECK_FAILS(rc_view(&v, n, 1, (int64_t[]){8}), "use reshape");
  rc_release(n);
  rc_release(b);
  rc_release(t);
  rc_release(a);
}

static void test_reshape(void) {
  int64_t s23[2] = {2, 3};
  rc_tensor *a = iota(2, s23), *t = NULL, *r = NULL;
  CHECK_OK(rc_reshape(&r, a, 2, (int64_t[]){3, -1}));
  CHECK(has_shape(r, 2, (int64_t[]){3, 2}));
  CHECK(r->storage == a->storage); /* contiguous: a view */
  rc_release(r);
  CHECK_OK(rc_transpose(&t, a, 0, 1));
  CHECK_OK(rc_reshape(&r, t, 1, (int64_t[]){6}));
  CHECK(r->storage != a->storage); /* strides do not allow a view: a copy */
  CHECK(holds(r, 6, (float[]){0, 3, 1, 4, 2, 5}));
  rc_release(r);
  r = NULL;
  CHECK_FAILS(rc_reshape(&r, t, 1, (int64_t[]){5}),
              "reshape: shape (5) is invalid for a tensor of shape (3,2) (6 elements)");
  CHECK(r == NULL);
  rc_release(t);
  rc_release(a);
}

static void test_scalar_views(void) {
  rc_tensor *s = NULL, *v = NULL, *back = NULL;
  CHECK_OK(rc_full(&s, RC_FLOAT32, 0, NULL, 7));
  CHECK_OK(rc_view(&v, s, 2, (int64_t[]){1, 1}));
  CHECK(has_shape(v, 2, (int64_t[]){1, 1}));
  CHECK_OK(rc_view(&back, v, 0, NULL));
  CHECK(back->ndim == 0 && rc_get_flat(back, 0) == 7);
  rc_release(back);
  CHECK_OK(rc_flatten(&back, s, 0, -1));
  CHECK(has_shape(back, 1, (int64_t[]){1}));
  rc_release(back);
  CHECK_OK(rc_unsqueeze(&back, s, 0));
  CHECK(has_shape(back, 1, (int64_t[]){1}));
  rc_release(back);
  rc_release(v);
  rc_release(s);
}

static void test_transpose_permute(void) {
  int64_t s23[2] = {2, 3};
  rc_tensor *a = iota(2, s23), *t = NULL;
  CHECK_OK(rc_transpose(&t, a, 0, 1));
  CHECK(has_shape(t, 2, (int64_t[]){3, 2}));
  CHECK(t->stride[0] == 1 && t->stride[1] == 3);
  CHECK(!rc_is_contiguous(t));
  CHECK(holds(t, 6, (float[]){0, 3, 1, 4, 2, 5}));
  rc_release(t);
  CHECK_OK(rc_transpose(&t, a, -1, -2));
  CHECK(holds(t, 6, (float[]){0, 3, 1, 4, 2, 5}));
  rc_release(t);
  t = NULL;
  CHECK_FAILS(rc_transpose(&t, a, 0, 2), "transpose: dim 2 out of range for a tensor of 2 dims");

  int64_t s234[3] = {2, 3, 4};
  rc_tensor *b = iota(3, s234), *p = NULL;
  CHECK_OK(rc_permute(&p, b, 3, (int[]){2, 0, 1}));
  CHECK(has_shape(p, 3, (int64_t[]){4, 2, 3}));
  /* p[k][i][j] = b[i][j][k] = 12 i + 4 j + k; p[1][1][2] = 12 + 8 + 1 */
  CHECK(rc_get_flat(p, 1 * 6 + 1 * 3 + 2) == 21);
  CHECK(p->storage == b->storage);
  rc_release(p);
  CHECK_OK(rc_permute(&p, b, 3, (int[]){-1, 0, 1}));
  CHECK(has_shape(p, 3, (int64_t[]){4, 2, 3}));
  rc_release(p);
  p = NULL;
  CHECK_FAILS(rc_permute(&p, b, 3, (int[]){0, 0, 1}), "permute: dim 0 appears twice");
  CHECK_FAILS(rc_permute(&p, b, 2, (int[]){0, 1}), "permute: needs one dim per tensor dim (3), got 2");
  CHECK(p == NULL);
  rc_release(b);
  rc_release(a);
}

static void test_narrow_select(void) {
  int64_t s43[2] = {4, 3};
  rc_tensor *a = iota(2, s43), *n = NULL;
  CHECK_OK(rc_narrow(&n, a, 0, 1, 2));
  CHECK(has_shape(n, 2, (int64_t[]){2, 3}));
  CHECK(holds(n, 6, (float[]){3, 4, 5, 6, 7, 8}));
  CHECK_OK(rc_fill_(n, -1));  /* writes through to rows 1..2 of a */
  CHECK(rc_f32(a)[2] == 2 && rc_f32(a)[3] == -1 && rc_f32(a)[8] == -1 && rc_f32(a)[9] == 9);
  rc_release(n);
  CHECK_OK(rc_narrow(&n, a, -1, -2, 2)); /* last two columns */
  CHECK(holds(n, 8, (float[]){1, 2, -1, -1, -1, -1, 10, 11}));
  rc_release(n);
  CHECK_OK(rc_narrow(&n, a, 0, 4, 0)); /* an empty piece at the end */
  CHECK(has_shape(n, 2, (int64_t[]){0, 3}));
  rc_release(n);
  n = NULL;
  CHECK_FAILS(rc_narrow(&n, a, 0, 3, 2), "narrow: start 3 and length 2 do not fit in dim 0 of size 4");
  CHECK_FAILS(rc_narrow(&n, a, 0, 5, 0), "narrow: start 5 out of range for dim 0 of size 4");
  CHECK(n == NULL);

  rc_tensor *s = NULL;
  CHECK_OK(rc_select(&s, a, 1, 2)); /* column 2 */
  CHECK(has_shape(s, 1, (int64_t[]){4}));
  CHECK(holds(s, 4, (float[]){2, -1, -1, 11}));
  rc_release(s);
  CHECK_OK(rc_select(&s, a, 0, -1)); /* last row */
  CHECK(holds(s, 3, (float[]){9, 10, 11}));
  rc_set_flat(s, 0, 90);
  CHECK(rc_f32(a)[9] == 90);
  rc_tensor *e = NULL;
  CHECK_OK(rc_select(&e, s, 0, 1)); /* 1-D -> 0-d */
  CHECK(e->ndim == 0 && rc_get_flat(e, 0) == 10);
  rc_release(e);
  rc_release(s);
  s = NULL;
  CHECK_FAILS(rc_select(&s, a, 0, 4), "select: index 4 out of range for dim 0 of size 4");
  CHECK_FAILS(rc_select(&s, a, 0, -5), "select: index -5 out of range for dim 0 of size 4");
  CHECK(s == NULL);
  rc_release(a);
}

static void test_unsqueeze_squeeze(void) {
  int64_t s23[2] = {2, 3};
  rc_tensor *a = iota(2, s23), *u = NULL, *q = NULL;
  CHECK_OK(rc_unsqueeze(&u, a, 0));
  CHECK(has_shape(u, 3, (int64_t[]){1, 2, 3}) && rc_is_contiguous(u));
  rc_release(u);
  CHECK_OK(rc_unsqueeze(&u, a, -1));
  CHECK(has_shape(u, 3, (int64_t[]){2, 3, 1}) && rc_is_contiguous(u));
  rc_release(u);
  CHECK_OK(rc_unsqueeze(&u, a, 1));
  CHECK(has_shape(u, 3, (int64_t[]){2, 1, 3}));
  CHECK(holds(u, 6, (float[]){0, 1, 2, 3, 4, 5}));
  CHECK_FAILS(rc_unsqueeze(&q, a, 3), "unsqueeze: dim 3 out of range for a tensor of 3 dims");

  rc_tensor *b = NULL; /* (1,3,1) */
  CHECK_OK(rc_view(&b, a, 3, (int64_t[]){1, 6, 1}));
  CHECK_OK(rc_squeeze(&q, b, RC_ALL_DIMS));
  CHECK(has_shape(q, 1, (int64_t[]){6}) && q->storage == a->storage);
  rc_release(q);
  CHECK_OK(rc_squeeze(&q, b, 0));
  CHECK(has_shape(q, 2, (int64_t[]){6, 1}));
  rc_release(q);
  CHECK_OK(rc_squeeze(&q, b, -1));
  CHECK(has_shape(q, 2, (int64_t[]){1, 6}));
  rc_release(q);
  CHECK_OK(rc_squeeze(&q, b, 1)); /* size 6: left alone */
  CHECK(has_shape(q, 3, (int64_t[]){1, 6, 1}));
  rc_release(q);
  q = NULL;
  CHECK_FAILS(rc_squeeze(&q, b, 3), "squeeze: dim 3 out of range for a tensor of 3 dims");
  CHECK(q == NULL);
  rc_release(b);
  rc_release(u);
  rc_release(a);
}

static void test_expand(void) {
  rc_tensor *a = iota(2, (int64_t[]){3, 1}), *e = NULL;
  CHECK_OK(rc_expand(&e, a, 3, (int64_t[]){2, 3, 4}));
  CHECK(has_shape(e, 3, (int64_t[]){2, 3, 4}));
  CHECK(e->stride[0] == 0 && e->stride[1] == 1 && e->stride[2] == 0);
  CHECK(e->storage == a->storage);
  /* e[b][i][j] = a[i] */
  CHECK(holds(e, 24, (float[]){0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2,
                               0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2}));
  rc_release(e);
  CHECK_OK(rc_expand(&e, a, 2, (int64_t[]){-1, 2}));
  CHECK(has_shape(e, 2, (int64_t[]){3, 2}));
  CHECK(holds(e, 6, (float[]){0, 0, 1, 1, 2, 2}));
  rc_release(e);
  e = NULL;
  CHECK_FAILS(rc_expand(&e, a, 2, (int64_t[]){4, 2}),
              "expand: cannot expand shape (3,1) to (4,2) (only size-1 dims expand, and 3 != 4)");
  CHECK_FAILS(rc_expand(&e, a, 1, (int64_t[]){3}),
              "expand: shape (3) has fewer dims than the tensor's shape (3,1)");
  CHECK_FAILS(rc_expand(&e, a, 3, (int64_t[]){-1, 3, 1}),
              "expand: shape (-1,3,1) puts -1 in a new leading dim, which needs a size >= 0");
  CHECK(e == NULL);
  rc_release(a);
}

static void test_flatten(void) {
  int64_t s234[3] = {2, 3, 4};
  rc_tensor *a = iota(3, s234), *f = NULL, *t = NULL;
  CHECK_OK(rc_flatten(&f, a, 1, 2));
  CHECK(has_shape(f, 2, (int64_t[]){2, 12}) && f->storage == a->storage);
  rc_release(f);
  CHECK_OK(rc_flatten(&f, a, 0, -1));
  CHECK(has_shape(f, 1, (int64_t[]){24}));
  rc_release(f);
  CHECK_OK(rc_flatten(&f, a, 0, 1));
  CHECK(has_shape(f, 2, (int64_t[]){6, 4}));
  rc_release(f);
  CHECK_OK(rc_transpose(&t, a, 1, 2)); /* (2,4,3): merging its last two dims needs a copy */
  CHECK_OK(rc_flatten(&f, t, 1, 2));
  CHECK(has_shape(f, 2, (int64_t[]){2, 12}) && f->storage != a->storage);
  /* first row: t[0][k][j] = a[0][j][k] = 4 j + k, k outer */
  CHECK(rc_get_flat(f, 0) == 0 && rc_get_flat(f, 1) == 4 && rc_get_flat(f, 2) == 8 &&
        rc_get_flat(f, 3) == 1 && rc_get_flat(f, 12) == 12);
  rc_release(f);
  f = NULL;
  CHECK_FAILS(rc_flatten(&f, a, 2, 1), "flatten: start dim 2 comes after end dim 1");
  CHECK(f == NULL);
  rc_release(t);
  rc_release(a);
}

static void test_contiguous_clone(void) {
  int64_t s23[2] = {2, 3};
  rc_tensor *a = iota(2, s23), *t = NULL, *c = NULL;
  CHECK_OK(rc_contiguous(&c, a));
  CHECK(c == a); /* already contiguous: the same tensor, retained */
  rc_release(c);
  CHECK_OK(rc_transpose(&t, a, 0, 1));
  CHECK_OK(rc_contiguous(&c, t));
  CHECK(c != t && c->storage != a->storage && rc_is_contiguous(c));
  CHECK(holds(c, 6, (float[]){0, 3, 1, 4, 2, 5}));
  rc_release(c);
  CHECK_OK(rc_clone(&c, a));
  CHECK(c->storage != a->storage && holds(c, 6, (float[]){0, 1, 2, 3, 4, 5}));
  rc_set_flat(c, 0, 100);
  CHECK(rc_f32(a)[0] == 0); /* a clone does not share */
  rc_release(c);
  rc_release(t);
  rc_release(a);
}

int main(void) {
  test_view();
  test_view_needs_compatible_strides();
  test_reshape();
  test_scalar_views();
  test_transpose_permute();
  test_narrow_select();
  test_unsqueeze_squeeze();
  test_expand();
  test_flatten();
  test_contiguous_clone();
  return check_summary("view");
}
