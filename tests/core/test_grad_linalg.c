/* tests/core/test_grad_linalg.c — gradients of matmul (every torch.matmul case: 1-D, 2-D,
   batched with broadcast batch dims), addmm, bmm and dot, by finite differences and by hand. */
#include <stdint.h>
#include <stdlib.h>
#include "check.h"
#include "gradcheck.h"

/* The step and tolerance these checks were written with. The products are linear in each
   operand, so a difference misses the derivative only by float32 rounding (worst seen: 4e-5). */
static const gc_options linalg = {.eps = 1e-2, .tol = 1e-2};

/* A new tensor of `shape` seen through a permutation of a base laid out in another order:
   base has shape[perm[d]] at dim d, and the result is base permuted back, so its strides are
   not row-major. */
static rc_tensor *permuted(int ndim, const int64_t *shape, const int *perm) {
  int64_t bshape[RC_MAX_DIMS];
  int inv[RC_MAX_DIMS];
  for (int d = 0; d < ndim; d++) bshape[d] = shape[perm[d]], inv[perm[d]] = d;
  rc_tensor *base = random_tensor(ndim, bshape), *t = NULL;
  rc_permute(&t, base, ndim, inv);
  rc_release(base);
  return t;
}

/* --- the ops under test --------------------------------------------------------------- */

static rc_status f_matmul(rc_tensor **out, rc_tensor *const *in, const void *c) {
  return rcg_matmul(out, in[0], in[1]);
}

static rc_status f_bmm(rc_tensor **out, rc_tensor *const *in, const void *c) {
  return rcg_bmm(out, in[0], in[1]);
}

static rc_status f_dot(rc_tensor **out, rc_tensor *const *in, const void *c) {
  return rcg_dot(out, in[0], in[1]);
}

typedef struct {
  double beta, alpha;
} addmm_ctx;

static rc_status f_addmm(rc_tensor **out, rc_tensor *const *in, const void *c) {
  const addmm_ctx *k = c;
  return rcg_addmm(out, in[0], in[1], in[2], k->beta, k->alpha);
}

/* matmul of a random a (andim dims) and b, checked by finite differences, with the output
   shape torch.matmul gives (ondim dims, oshape). */
static void check_matmul(const char *what, int andim, const int64_t *ashape, int bndim,
                         const int64_t *bshape, int ondim, const int64_t *oshape) {
  rc_tensor *in[2] = {random_tensor(andim, ashape), random_tensor(bndim, bshape)}, *out = NULL;
  CHECK_OK(rc_matmul(&out, in[0], in[1]));
  check_count++;
  bool same = out && out->ndim == ondim;
  for (int d = 0; same && d < ondim; d++) same = out->shape[d] == oshape[d];
  if (!same) {
    check_failures++;
    fprintf(stderr, "%s: matmul gives the wrong shape\n", what);
  }
  gradcheck(what, f_matmul, NULL, 2, in, &linalg);
  rc_release(out), rc_release(in[0]), rc_release(in[1]);
}

static void test_matmul_cases(void) {
  check_matmul("(k) @ (k)", 1, (int64_t[]){5}, 1, (int64_t[]){5}, 0, NULL);
  check_matmul("(n,k) @ (k,m)", 2, (int64_t[]){3, 4}, 2, (int64_t[]){4, 5}, 2, (int64_t[]){3, 5});
  check_matmul("(n,k) @ (k)", 2, (int64_t[]){3, 4}, 1, (int64_t[]){4}, 1, (int64_t[]){3});
  check_matmul("(k) @ (k,m)", 1, (int64_t[]){4}, 2, (int64_t[]){4, 5}, 1, (int64_t[]){5});
  check_matmul("(k) @ (B,k,m)", 1, (int64_t[]){3}, 3, (int64_t[]){2, 3, 4}, 2,
               (int64_t[]){2, 4});
  check_matmul("(B,n,k) @ (k)", 3, (int64_t[]){2, 4, 3}, 1, (int64_t[]){3}, 2,
               (int64_t[]){2, 4});
  check_matmul("(B,T,k) @ (k,m), one tall GEMM", 3, (int64_t[]){2, 3, 4}, 2,
               (int64_t[]){4, 5}, 3, (int64_t[]){2, 3, 5});
  check_matmul("(n,k) @ (B,k,m)", 2, (int64_t[]){4, 5}, 3, (int64_t[]){2, 5, 3}, 3,
               (int64_t[]){2, 4, 3});
  check_matmul("(2,1,4,3) @ (5,3,6)", 4, (int64_t[]){2, 1, 4, 3}, 3, (int64_t[]){5, 3, 6}, 4,
               (int64_t[]){2, 5, 4, 6});
  check_matmul("(2,1,3) @ (3,1,3,4)", 3, (int64_t[]){2, 1, 3}, 4, (int64_t[]){3, 1, 3, 4}, 4,
               (int64_t[]){3, 2, 1, 4});
  check_matmul("(1,1) @ (1,1)", 2, (int64_t[]){1, 1}, 2, (int64_t[]){1, 1}, 2,
               (int64_t[]){1, 1});
  check_matmul("(B,n,1) @ (1)", 3, (int64_t[]){3, 2, 1}, 1, (int64_t[]){1}, 2,
               (int64_t[]){3, 2});
  /* large enough for BLIS's blocked kernels and for the threaded path */
  check_matmul("(2,17,33) @ (33,9)", 3, (int64_t[]){2, 17, 33}, 2, (int64_t[]){33, 9}, 3,
               (int64_t[]){2, 17, 9});
}

/* Strided operands: transposed matrices, a permuted batch, a narrowed view. */
static void test_matmul_views(void) {
  rc_tensor *in[2];
  in[0] = permuted(2, (int64_t[]){3, 4}, (int[]){1, 0});
  in[1] = permuted(2, (int64_t[]){4, 5}, (int[]){1, 0});
  CHECK(!rc_is_contiguous(in[0]) && !rc_is_contiguous(in[1]));
  gradcheck("transposed (3,4) @ transposed (4,5)", f_matmul, NULL, 2, in, &linalg);
  rc_release(in[0]), rc_release(in[1]);

  /* batch dim not outermost in memory: the tall-GEMM fold cannot view it, it copies */
  in[0] = permuted(3, (int64_t[]){2, 3, 4}, (int[]){1, 0, 2});
  in[1] = permuted(2, (int64_t[]){4, 5}, (int[]){1, 0});
  CHECK(!rc_is_contiguous(in[0]));
  gradcheck("permuted (2,3,4) @ transposed (4,5)", f_matmul, NULL, 2, in, &linalg);
  rc_release(in[0]), rc_release(in[1]);

  in[0] = permuted(4, (int64_t[]){2, 1, 4, 3}, (int[]){3, 2, 1, 0});
  in[1] = permuted(3, (int64_t[]){5, 3, 6}, (int[]){2, 0, 1});
  gradcheck("permuted (2,1,4,3) @ permuted (5,3,6)", f_matmul, NULL, 2, in, &linalg);
  rc_release(in[0]), rc_release(in[1]);

  /* a narrowed 1-D vector (stride 1, offset) and every other element (stride 2) */
  rc_tensor *base = random_tensor(1, (int64_t[]){10});
  in[0] = NULL, in[1] = NULL;
  rc_narrow(&in[0], base, 0, 1, 4);
  rc_tensor *b2 = random_tensor(2, (int64_t[]){4, 2});
  rc_select(&in[1], b2, 1, 1); /* (4), stride 2 */
  gradcheck("narrowed (4) @ strided (4)", f_matmul, NULL, 2, in, &linalg);
  rc_release(in[0]), rc_release(in[1]), rc_release(base), rc_release(b2);
}

static void test_bmm_dot_addmm(void) {
  rc_tensor *in[3];
  in[0] = random_tensor(3, (int64_t[]){2, 3, 4});
  in[1] = random_tensor(3, (int64_t[]){2, 4, 5});
  gradcheck("bmm", f_bmm, NULL, 2, in, &linalg);
  rc_release(in[0]), rc_release(in[1]);
  in[0] = permuted(3, (int64_t[]){2, 3, 4}, (int[]){2, 1, 0});
  in[1] = permuted(3, (int64_t[]){2, 4, 5}, (int[]){0, 2, 1});
  gradcheck("bmm of views", f_bmm, NULL, 2, in, &linalg);
  rc_release(in[0]), rc_release(in[1]);

  in[0] = random_tensor(1, (int64_t[]){6});
  in[1] = random_tensor(1, (int64_t[]){6});
  gradcheck("dot", f_dot, NULL, 2, in, &linalg);
  rc_release(in[0]), rc_release(in[1]);

  /* c as a bias row (m), a full (n,m), a column (n,1), and a 0-d number */
  int cnd[4] = {1, 2, 2, 0};
  int64_t cshape[4][2] = {{5}, {3, 5}, {3, 1}, {0}};
  addmm_ctx ks[3] = {{1, 1}, {0.5, 2}, {0, -1}};
  char label[96];
  for (int c = 0; c < 4; c++)
    for (int k = 0; k < 3; k++) {
      in[0] = random_tensor(cnd[c], cshape[c]);
      in[1] = random_tensor(2, (int64_t[]){3, 4});
      in[2] = random_tensor(2, (int64_t[]){4, 5});
      snprintf(label, sizeof label, "addmm c %dd shape %d, beta %g alpha %g", cnd[c], c,
               ks[k].beta, ks[k].alpha);
      gradcheck(label, f_addmm, &ks[k], 3, in, &linalg);
      rc_release(in[0]), rc_release(in[1]), rc_release(in[2]);
    }
  in[0] = random_tensor(1, (int64_t[]){5});
  in[1] = permuted(2, (int64_t[]){3, 4}, (int[]){1, 0});
  in[2] = permuted(2, (int64_t[]){4, 5}, (int[]){1, 0});
  gradcheck("addmm of transposed views", f_addmm, &ks[1], 3, in, &linalg);
  rc_release(in[0]), rc_release(in[1]), rc_release(in[2]);
}

/* --- worked by hand --------------------------------------------------------------------- */

/* loss = sum(x @ w): d/dx[i][k] = sum_j w[k][j] (row sums of w), d/dw[k][j] = sum_i x[i][k]
   (column sums of x). */
static void test_sum_of_product(void) {
  rc_tensor *x = tensor_of(2, (int64_t[]){2, 3}, (float[]){1, 2, 3, 4, 5, 6});
  rc_tensor *w = tensor_of(2, (int64_t[]){3, 2}, (float[]){1, -1, 2, 0, 0.5f, 0.5f});
  rc_tensor *y = NULL, *loss = NULL;
  x->requires_grad = w->requires_grad = true;
  CHECK_OK(rcg_matmul(&y, x, w));
  CHECK(y && y->grad_fn && !strcmp(y->grad_fn->name, "MmBackward"));
  CHECK_OK(rcg_reduce(&loss, RC_SUM, y, RC_ALL_DIMS, false));
  if (loss) CHECK_OK(rc_backward(loss, NULL, false));
  float gx[6] = {0, 2, 1, 0, 2, 1}, gw[6] = {5, 5, 7, 7, 9, 9};
  for (int i = 0; i < 6; i++) {
    CHECK_NEAR(grad_at(x, i), gx[i], 1e-6);
    CHECK_NEAR(grad_at(w, i), gw[i], 1e-6);
  }
  rc_release(loss), rc_release(y), rc_release(x), rc_release(w);
}

/* Only one operand requires grad: the other gets none, and is not needed by backward. */
static void test_one_side(void) {
  rc_tensor *x = random_tensor(2, (int64_t[]){2, 3}), *w = random_tensor(2, (int64_t[]){3, 4});
  rc_tensor *y = NULL, *g = NULL;
  rc_full(&g, RC_FLOAT32, 2, (int64_t[]){2, 4}, 1.0);
  w->requires_grad = true;
  CHECK_OK(rcg_matmul(&y, x, w));
  CHECK(y && y->grad_fn && y->grad_fn->saved[0] != NULL && y->grad_fn->saved[1] == NULL);
  if (y) CHECK_OK(rc_backward(y, g, false));
  CHECK(x->grad == NULL && w->grad != NULL);
  /* d/dw[k][j] = sum_i x[i][k] */
  for (int k = 0; w->grad && k < 3; k++)
    for (int j = 0; j < 4; j++)
      CHECK_NEAR(rc_get_flat(w->grad, k * 4 + j), rc_get_flat(x, k) + rc_get_flat(x, 3 + k),
                 1e-6);
  rc_release(y), rc_release(x), rc_release(w), rc_release(g);
}

/* 1-D . 1-D through matmul: the gradients are g b and g a, shaped (k). */
static void test_vector_dot_by_hand(void) {
  rc_tensor *a = tensor_of(1, (int64_t[]){3}, (float[]){1, 2, 3});
  rc_tensor *b = tensor_of(1, (int64_t[]){3}, (float[]){4, 5, 6});
  rc_tensor *g = NULL, *out = NULL;
  rc_full(&g, RC_FLOAT32, 0, NULL, 2.0);
  a->requires_grad = b->requires_grad = true;
  CHECK_OK(rcg_matmul(&out, a, b));
  CHECK(out && out->ndim == 0 && !strcmp(out->grad_fn->name, "DotBackward"));
  if (out) CHECK_OK(rc_backward(out, g, false));
  for (int i = 0; i < 3; i++) {
    CHECK_NEAR(grad_at(a, i), 2.0 * (4 + i), 0);
    CHECK_NEAR(grad_at(b, i), 2.0 * (1 + i), 0);
  }
  CHECK(a->grad && a->grad->ndim == 1 && b->grad && b->grad->ndim == 1);
  rc_release(out), rc_release(a), rc_release(b), rc_release(g);
}

/* A saved operand changed in place before backward is caught, not silently used. */
static void test_saved_operand_changed(void) {
  rc_tensor *x = random_tensor(2, (int64_t[]){2, 3}), *w = random_tensor(2, (int64_t[]){3, 4});
  rc_tensor *y = NULL, *g = NULL;
  rc_full(&g, RC_FLOAT32, 2, (int64_t[]){2, 4}, 1.0);
  w->requires_grad = true;
  CHECK_OK(rcg_matmul(&y, x, w));
  CHECK_OK(rcg_binary_scalar_(x, RC_MUL, 2.0)); /* x is saved for w's gradient */
  if (y) CHECK_FAILS(rc_backward(y, g, false), "changed by an in-place operation");
  rc_release(y), rc_release(x), rc_release(w), rc_release(g);
}

static void test_errors(void) {
  rc_tensor *a = random_tensor(2, (int64_t[]){3, 4}), *b = random_tensor(2, (int64_t[]){5, 2});
  rc_tensor *out = NULL;
  a->requires_grad = true;
  CHECK_FAILS(rcg_matmul(&out, a, b), "matmul: shapes (3,4) and (5,2) cannot be multiplied");
  CHECK(out == NULL);
  CHECK_FAILS(rcg_bmm(&out, a, b), "bmm: ");
  CHECK_FAILS(rcg_dot(&out, a, b), "dot: ");
  CHECK_FAILS(rcg_addmm(&out, a, a, b, 1, 1), "addmm: ");
  CHECK(out == NULL);
  rc_release(a), rc_release(b);
}

int main(void) {
  test_matmul_cases();
  test_matmul_views();
  test_bmm_dot_addmm();
  test_sum_of_product();
  test_one_side();
  test_vector_dot_by_hand();
  test_saved_operand_changed();
  test_errors();
  return check_summary("grad_linalg");
}
