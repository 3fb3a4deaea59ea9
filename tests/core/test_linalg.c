/* tests/core/test_linalg.c — matmul, bmm, addmm, dot against a slow, obvious triple loop,
   on contiguous and strided (transposed, narrowed, expanded) operands and odd sizes. */
#include <stdlib.h>
#include "check.h"

static float value_at(int64_t i) { return (float)((i * 7919) % 23) / 23.0f - 0.5f; }

static rc_tensor *filled(int ndim, const int64_t *shape) {
  rc_tensor *t = NULL;
  rc_empty(&t, RC_FLOAT32, ndim, shape);
  for (int64_t i = 0; i < rc_numel(t); i++) rc_f32(t)[i] = value_at(i);
  return t;
}

/* Element (i, j) of a 2-D view. */
static float at2(const rc_tensor *t, int64_t i, int64_t j) {
  return ((float *)t->storage->data)[t->offset + i * t->stride[0] + j * t->stride[1]];
}

/* Max |a @ b - reference| for 2-D views a (n,k), b (k,m). */
static double max_error_2d(const rc_tensor *a, const rc_tensor *b, const rc_tensor *c) {
  double worst = 0;
  for (int64_t i = 0; i < a->shape[0]; i++)
    for (int64_t j = 0; j < b->shape[1]; j++) {
      double ref = 0;
      for (int64_t p = 0; p < a->shape[1]; p++) ref += (double)at2(a, i, p) * at2(b, p, j);
      double err = fabs(ref - at2(c, i, j));
      if (err > worst) worst = err;
    }
  return worst;
}

static void test_sizes(void) {
  int64_t sizes[][3] = {{1, 1, 1}, {3, 5, 2}, {17, 33, 9}, {64, 64, 64}, {130, 70, 257}};
  for (int s = 0; s < 5; s++) {
    int64_t as[2] = {sizes[s][0], sizes[s][1]}, bs[2] = {sizes[s][1], sizes[s][2]};
    rc_tensor *a = filled(2, as), *b = filled(2, bs), *c = NULL;
    CHECK_OK(rc_matmul(&c, a, b));
    CHECK(c && c->shape[0] == as[0] && c->shape[1] == bs[1]);
    if (c) CHECK(max_error_2d(a, b, c) < 1e-4);
    rc_release(a), rc_release(b), rc_release(c);
  }
}

static void test_transposed_views(void) {
  int64_t as[2] = {40, 30}, bs[2] = {50, 40};
  rc_tensor *a = filled(2, as), *b = filled(2, bs), *at = NULL, *bt = NULL, *c = NULL;
  /* a^T (30,40) @ b^T (40,50), both column-major views */
  int64_t ats[2] = {30, 40}, atst[2] = {1, 30};
  int64_t bts[2] = {40, 50}, btst[2] = {1, 40};
  CHECK_OK(rc_view_of(&at, a, 2, ats, atst, 0));
  CHECK_OK(rc_view_of(&bt, b, 2, bts, btst, 0));
  CHECK_OK(rc_matmul(&c, at, bt));
  if (c) CHECK(max_error_2d(at, bt, c) < 1e-4);
  rc_release(a), rc_release(b), rc_release(at), rc_release(bt), rc_release(c);
}

static void test_batched_broadcast(void) {
  /* (2,1,4,3) @ (5,3,6) -> (2,5,4,6) */
  int64_t as[4] = {2, 1, 4, 3}, bs[3] = {5, 3, 6};
  rc_tensor *a = filled(4, as), *b = filled(3, bs), *c = NULL;
  CHECK_OK(rc_matmul(&c, a, b));
  CHECK(c && c->ndim == 4 && c->shape[0] == 2 && c->shape[1] == 5 && c->shape[2] == 4 &&
        c->shape[3] == 6);
  double worst = 0;
  for (int i = 0; c && i < 2; i++)
    for (int j = 0; j < 5; j++)
      for (int r = 0; r < 4; r++)
        for (int q = 0; q < 6; q++) {
          double ref = 0;
          for (int p = 0; p < 3; p++)
            ref += (double)rc_f32(a)[i * 12 + r * 3 + p] * rc_f32(b)[j * 18 + p * 6 + q];
          double err = fabs(ref - rc_f32(c)[((i * 5 + j) * 4 + r) * 6 + q]);
          if (err > worst) worst = err;
        }
  CHECK(worst < 1e-5);
  rc_release(a), rc_release(b), rc_release(c);
}

static void test_tall_fold(void) {
  /* (3,5,4) @ (4,2): folded into one (15,4) @ (4,2) GEMM */
  int64_t as[3] = {3, 5, 4}, bs[2] = {4, 2};
  rc_tensor *a = filled(3, as), *b = filled(2, bs), *c = NULL;
  CHECK_OK(rc_matmul(&c, a, b));
  int64_t flat[2] = {15, 4}, fst[2] = {4, 1}, cs[2] = {15, 2}, cst[2] = {2, 1};
  rc_tensor *af = NULL, *cf = NULL;
  rc_view_of(&af, a, 2, flat, fst, 0);
  if (c) {
    rc_view_of(&cf, c, 2, cs, cst, 0);
    CHECK(max_error_2d(af, b, cf) < 1e-5);
  }
  rc_release(a), rc_release(b), rc_release(c), rc_release(af), rc_release(cf);
}

static void test_vectors(void) {
  float av[3] = {1, 2, 3}, bv[3] = {4, 5, 6}, mv[6] = {1, 2, 3, 4, 5, 6};
  int64_t s3[1] = {3}, s23[2] = {2, 3}, s32[2] = {3, 2};
  rc_tensor *a = tensor_of(1, s3, av), *b = tensor_of(1, s3, bv), *m = tensor_of(2, s23, mv);
  rc_tensor *m2 = tensor_of(2, s32, mv), *d = NULL, *mv_out = NULL, *vm_out = NULL;
  CHECK_OK(rc_dot(&d, a, b));
  CHECK(d && d->ndim == 0);
  if (d) CHECK_NEAR(rc_f32(d)[0], 32, 0);
  CHECK_OK(rc_matmul(&mv_out, m, a)); /* (2,3) @ (3) -> (2) = {14, 32} */
  CHECK(mv_out && mv_out->ndim == 1 && mv_out->shape[0] == 2);
  if (mv_out) CHECK(rc_f32(mv_out)[0] == 14 && rc_f32(mv_out)[1] == 32);
  CHECK_OK(rc_matmul(&vm_out, a, m2)); /* (3) @ (3,2) -> (2) = {22, 28} */
  CHECK(vm_out && vm_out->ndim == 1 && vm_out->shape[0] == 2);
  if (vm_out) CHECK(rc_f32(vm_out)[0] == 22 && rc_f32(vm_out)[1] == 28);
  rc_release(a), rc_release(b), rc_release(m), rc_release(m2), rc_release(d);
  rc_release(mv_out), rc_release(vm_out);
}

static void test_addmm_and_empty(void) {
  float cv[2] = {10, 20}, av[4] = {1, 2, 3, 4}, bv[4] = {1, 0, 0, 1};
  int64_t s2[1] = {2}, s22[2] = {2, 2};
  rc_tensor *c = tensor_of(1, s2, cv), *a = tensor_of(2, s22, av), *b = tensor_of(2, s22, bv);
  rc_tensor *r = NULL;
  CHECK_OK(rc_addmm(&r, c, a, b, 0.5, 2.0)); /* 0.5*[10,20] + 2*a */
  if (r) {
    CHECK(rc_f32(r)[0] == 7 && rc_f32(r)[1] == 14 && rc_f32(r)[2] == 11 && rc_f32(r)[3] == 18);
  }
  /* k = 0: the product of (2,0) and (0,3) is zeros */
  int64_t e1[2] = {2, 0}, e2[2] = {0, 3};
  rc_tensor *x = NULL, *y = NULL, *z = NULL;
  rc_empty(&x, RC_FLOAT32, 2, e1);
  rc_empty(&y, RC_FLOAT32, 2, e2);
  CHECK_OK(rc_matmul(&z, x, y));
  CHECK(z && z->shape[0] == 2 && z->shape[1] == 3);
  for (int i = 0; z && i < 6; i++) CHECK(rc_f32(z)[i] == 0);
  rc_release(c), rc_release(a), rc_release(b), rc_release(r);
  rc_release(x), rc_release(y), rc_release(z);
}

static void test_bad_input(void) {
  int64_t s34[2] = {3, 4}, s52[2] = {5, 2}, s3[1] = {3};
  rc_tensor *a = filled(2, s34), *b = filled(2, s52), *r = NULL, *i = NULL;
  rc_empty(&i, RC_INT64, 1, s3);
  CHECK_FAILS(rc_matmul(&r, a, b), "matmul: shapes (3,4) and (5,2) cannot be multiplied (4 != 5)");
  CHECK_FAILS(rc_matmul(&r, i, i), "matmul: needs float32 tensors, got int64");
  CHECK_FAILS(rc_bmm(&r, a, b), "bmm: expected (B,n,k) and (B,k,m), got (3,4) and (5,2)");
  CHECK_FAILS(rc_dot(&r, a, a), "dot: expected two 1-D tensors of one length");
  rc_release(a), rc_release(b), rc_release(i);
}

int main(void) {
  test_sizes();
  test_transposed_views();
  test_batched_broadcast();
  test_tall_fold();
  test_vectors();
  test_addmm_and_empty();
  test_bad_input();
  return check_summary("linalg");
}
