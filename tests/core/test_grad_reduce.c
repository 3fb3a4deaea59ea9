/* tests/core/test_grad_reduce.c — gradients of the differentiable reductions and softmaxes:
   finite differences for every op over dims (negative, keepdim, all) and strided views, and
   small cases worked by hand (zeros in prod, ties in max, the norm at 0). */
#include <stdint.h>
#include <stdlib.h>
#include "check.h"
#include "gradcheck.h"

/* Values whose absolute values are all different, at least 0.1 apart and >= 0.3, with mixed
   signs: max, min, |.| and sign are differentiable at every element, and stay so when one
   element moves by a small eps. */
static rc_tensor *distinct_tensor(int ndim, const int64_t *shape) {
  rc_tensor *t = NULL;
  if (rc_empty(&t, RC_FLOAT32, ndim, shape) != RC_OK) return NULL;
  int64_t n = rc_numel(t);
  for (int64_t i = 0; i < n; i++) {
    int64_t k = (i * 7) % n; /* a permutation when 7 does not divide n */
    float sign = (k % 3 == 1) ? -1.0f : 1.0f;
    rc_f32(t)[i] = sign * (0.3f + 0.1f * (float)k);
  }
  return t;
}

/* The steps and tolerance these checks were written with; norm 0.5, the most curved (|x|^0.5),
   was given the smaller step. Worst seen: 1.2e-3 (norm 0.5), 1.4e-4 if it took 1e-2 too. */
static const gc_options smooth = {.eps = 1e-2, .tol = 1e-2};
static const gc_options small_step = {.eps = 1e-3, .tol = 1e-2};

/* A strided view of a new base: base (shape[1], shape[0]) transposed to (shape[0], shape[1]). */
static rc_tensor *transposed_2d(int64_t rows, int64_t cols, bool distinct) {
  int64_t bshape[2] = {cols, rows};
  rc_tensor *base = distinct ? distinct_tensor(2, bshape) : random_tensor(2, bshape), *t = NULL;
  rc_transpose(&t, base, 0, 1);
  rc_release(base);
  return t;
}

/* --- the ops under test --------------------------------------------------------------- */

typedef struct {
  rc_reduce_op op;
  int dim;
  bool keepdim;
  double p;
  bool is_min;
} red_ctx;

static rc_status f_reduce(rc_tensor **out, rc_tensor *const *in, const void *c) {
  const red_ctx *r = c;
  return rcg_reduce(out, r->op, in[0], r->dim, r->keepdim);
}

static rc_status f_max_dim(rc_tensor **out, rc_tensor *const *in, const void *c) {
  const red_ctx *r = c;
  rc_tensor *idx = NULL;
  rc_status st = rcg_max_dim(out, &idx, in[0], r->dim, r->keepdim, r->is_min);
  rc_release(idx);
  return st;
}

static rc_status f_norm(rc_tensor **out, rc_tensor *const *in, const void *c) {
  const red_ctx *r = c;
  return rcg_norm(out, in[0], r->p, r->dim, r->keepdim);
}

static rc_status f_logsumexp(rc_tensor **out, rc_tensor *const *in, const void *c) {
  const red_ctx *r = c;
  return rcg_logsumexp(out, in[0], r->dim, r->keepdim);
}

static rc_status f_softmax(rc_tensor **out, rc_tensor *const *in, const void *c) {
  return rcg_softmax(out, in[0], ((const red_ctx *)c)->dim);
}

static rc_status f_log_softmax(rc_tensor **out, rc_tensor *const *in, const void *c) {
  return rcg_log_softmax(out, in[0], ((const red_ctx *)c)->dim);
}

/* Each op over: all dims, every dim of a (2,3,4) (negative ones too), keepdim, a transposed
   (non-contiguous) view, and a 0-d tensor. */
static void check_everywhere(const char *what, gc_op f, red_ctx r, bool distinct, bool all_ok,
                             const gc_options *opt) {
  int64_t shape3[3] = {2, 3, 4};
  int dims[5] = {RC_ALL_DIMS, 0, 1, -1, -3};
  char label[160];
  for (int di = all_ok ? 0 : 1; di < 5; di++)
    for (int keep = 0; keep < 2; keep++) {
      red_ctx c = r;
      c.dim = dims[di], c.keepdim = keep;
      rc_tensor *x = distinct ? distinct_tensor(3, shape3) : random_tensor(3, shape3);
      snprintf(label, sizeof label, "%s dim %d keepdim %d", what, dims[di], keep);
      gradcheck(label, f, &c, 1, &x, opt);
      rc_release(x);
    }
  for (int di = all_ok ? 0 : 1; di < 4; di++) {
    red_ctx c = r;
    c.dim = dims[di];
    rc_tensor *x = transposed_2d(3, 5, distinct);
    CHECK(x && !rc_is_contiguous(x));
    snprintf(label, sizeof label, "%s transposed dim %d", what, dims[di]);
    gradcheck(label, f, &c, 1, &x, opt);
    rc_release(x);
  }
  red_ctx c = r;
  c.dim = all_ok ? RC_ALL_DIMS : 0;
  rc_tensor *x = NULL;
  rc_full(&x, RC_FLOAT32, 0, NULL, 0.7);
  snprintf(label, sizeof label, "%s 0-d", what);
  gradcheck(label, f, &c, 1, &x, opt);
  rc_release(x);
}

static void test_finite_differences(void) {
  check_everywhere("sum", f_reduce, (red_ctx){.op = RC_SUM}, false, true, &smooth);
  check_everywhere("mean", f_reduce, (red_ctx){.op = RC_MEAN}, false, true, &smooth);
  check_everywhere("prod", f_reduce, (red_ctx){.op = RC_PROD}, false, true, &smooth);
  check_everywhere("max", f_reduce, (red_ctx){.op = RC_MAX}, true, true, &smooth);
  check_everywhere("min", f_reduce, (red_ctx){.op = RC_MIN}, true, true, &smooth);
  check_everywhere("max_dim", f_max_dim, (red_ctx){.is_min = false}, true, false, &smooth);
  check_everywhere("min_dim", f_max_dim, (red_ctx){.is_min = true}, true, false, &smooth);
  check_everywhere("norm 2", f_norm, (red_ctx){.p = 2}, true, true, &smooth);
  check_everywhere("norm 1", f_norm, (red_ctx){.p = 1}, true, true, &smooth);
  check_everywhere("norm 3", f_norm, (red_ctx){.p = 3}, true, true, &smooth);
  check_everywhere("norm 1.5", f_norm, (red_ctx){.p = 1.5}, true, true, &smooth);
  check_everywhere("norm 0.5", f_norm, (red_ctx){.p = 0.5}, true, true, &small_step);
  check_everywhere("norm inf", f_norm, (red_ctx){.p = INFINITY}, true, true, &smooth);
  check_everywhere("norm -inf", f_norm, (red_ctx){.p = -INFINITY}, true, true, &smooth);
  check_everywhere("norm 0", f_norm, (red_ctx){.p = 0}, true, true, &smooth);
  check_everywhere("logsumexp", f_logsumexp, (red_ctx){0}, false, true, &smooth);
  check_everywhere("softmax", f_softmax, (red_ctx){0}, false, false, &smooth);
  check_everywhere("log_softmax", f_log_softmax, (red_ctx){0}, false, false, &smooth);
}

/* Larger values and longer slices, where a wrong sum order or scale would show. */
static void test_larger_inputs(void) {
  int64_t shape[2] = {7, 33};
  for (int k = 0; k < 4; k++) {
    rc_tensor *x = random_tensor(2, shape);
    rc_binary_scalar_(x, RC_MUL, 4.0); /* values in [-4, 4) */
    red_ctx c = {.dim = k % 2 ? -1 : 0};
    gradcheck(k < 2 ? "softmax (7,33)" : "log_softmax (7,33)",
              k < 2 ? f_softmax : f_log_softmax, &c, 1, &x, &smooth);
    c.keepdim = true;
    gradcheck("logsumexp (7,33)", f_logsumexp, &c, 1, &x, &smooth);
    c.p = 2;
    gradcheck("norm 2 (7,33)", f_norm, &c, 1, &x, &smooth);
    rc_release(x);
  }
}

/* --- worked by hand --------------------------------------------------------------------- */

/* The gradient of op over a 1-D tensor of 3 values, compared with expected (d out / d x). */
static void check_1d(const char *what, rc_reduce_op op, const float *values, const float *want) {
  int64_t shape[1] = {3};
  rc_tensor *x = tensor_of(1, shape, values), *out = NULL;
  x->requires_grad = true;
  CHECK_OK(rcg_reduce(&out, op, x, RC_ALL_DIMS, false));
  if (out) CHECK_OK(rc_backward(out, NULL, false));
  for (int i = 0; i < 3; i++) {
    check_count++;
    if (!(fabs(grad_at(x, i) - want[i]) <= 1e-6)) {
      check_failures++;
      fprintf(stderr, "%s: element %d: gradient %g, expected %g\n", what, i, grad_at(x, i),
              (double)want[i]);
    }
  }
  rc_release(out), rc_release(x);
}

static void test_prod_zeros(void) {
  /* d/dx_i prod = product of the others */
  check_1d("prod, no zero", RC_PROD, (float[]){2, 3, 4}, (float[]){12, 8, 6});
  check_1d("prod, one zero", RC_PROD, (float[]){2, 0, 3}, (float[]){0, 6, 0});
  check_1d("prod, two zeros", RC_PROD, (float[]){0, 5, 0}, (float[]){0, 0, 0});
  /* per slice: row 0 has no zero, row 1 one zero, row 2 two zeros */
  int64_t shape[2] = {3, 3};
  rc_tensor *x = tensor_of(2, shape, (float[]){1, 2, 3, 4, 0, 5, 0, 0, 7}), *out = NULL;
  x->requires_grad = true;
  CHECK_OK(rcg_reduce(&out, RC_PROD, x, -1, false));
  rc_tensor *g = tensor_of(1, (int64_t[]){3}, (float[]){1, 10, 100});
  if (out) CHECK_OK(rc_backward(out, g, false));
  float want[9] = {6, 3, 2, 0, 200, 0, 0, 0, 0};
  for (int i = 0; i < 9; i++) CHECK_NEAR(grad_at(x, i), want[i], 1e-5);
  rc_release(g), rc_release(out), rc_release(x);
  /* prod is linear in each element, so central differences are exact at a zero too: rows
     with no, one and two zeros, reduced along either dim and over all */
  int dims[3] = {1, 0, RC_ALL_DIMS};
  for (int k = 0; k < 3; k++) {
    rc_tensor *z = random_tensor(2, (int64_t[]){3, 4});
    rc_set_flat(z, 5, 0.0), rc_set_flat(z, 8, 0.0), rc_set_flat(z, 10, 0.0);
    red_ctx c = {.op = RC_PROD, .dim = dims[k]};
    gradcheck("prod with zeros", f_reduce, &c, 1, &z, &smooth);
    rc_release(z);
  }
}

static void test_max_ties(void) {
  /* all-dims max: the gradient is shared by every element equal to the max */
  check_1d("max, tie", RC_MAX, (float[]){1, 3, 3}, (float[]){0, 0.5f, 0.5f});
  check_1d("min, three-way tie", RC_MIN, (float[]){-2, -2, -2},
           (float[]){1.0f / 3, 1.0f / 3, 1.0f / 3});
  check_1d("max, NaN", RC_MAX, (float[]){1, NAN, 3}, (float[]){0, 1, 0});
  /* max with a dim: only the returned (first) index gets it */
  int64_t shape[2] = {2, 3};
  rc_tensor *x = tensor_of(2, shape, (float[]){3, 1, 3, 0, 5, 5}), *v = NULL, *idx = NULL;
  x->requires_grad = true;
  CHECK_OK(rcg_max_dim(&v, &idx, x, 1, false, false));
  CHECK(v && v->grad_fn && v->grad_fn->noutputs == 2 && v->output_nr == 0);
  CHECK(idx && !idx->requires_grad && !idx->grad_fn && idx->dtype == RC_INT64);
  if (idx) CHECK(rc_get_flat(idx, 0) == 0 && rc_get_flat(idx, 1) == 1);
  rc_tensor *g = tensor_of(1, (int64_t[]){2}, (float[]){10, 20});
  if (v) CHECK_OK(rc_backward(v, g, false));
  float want[6] = {10, 0, 0, 0, 20, 0};
  for (int i = 0; i < 6; i++) CHECK_NEAR(grad_at(x, i), want[i], 1e-6);
  rc_release(g), rc_release(v), rc_release(idx), rc_release(x);
}

/* The indices are saved for backward: changing them in place afterwards is caught. */
static void test_max_dim_saved_indices(void) {
  int64_t shape[2] = {2, 3};
  rc_tensor *x = tensor_of(2, shape, (float[]){1, 2, 3, 6, 5, 4}), *v = NULL, *idx = NULL;
  rc_tensor *s = NULL;
  x->requires_grad = true;
  CHECK_OK(rcg_max_dim(&v, &idx, x, -1, true, false));
  CHECK(v && v->ndim == 2 && v->shape[1] == 1);
  CHECK_OK(rcg_reduce(&s, RC_SUM, v, RC_ALL_DIMS, false));
  CHECK_OK(rcg_binary_scalar_(idx, RC_ADD, 1)); /* indices never require grad: allowed */
  CHECK_FAILS(rc_backward(s, NULL, false), "changed by an in-place operation");
  rc_release(s), rc_release(v), rc_release(idx), rc_release(x);
}

static void test_norm_by_hand(void) {
  int64_t shape[1] = {3};
  float vals[3] = {-2, 1, 2};
  struct {
    double p;
    float want[3];
  } cases[] = {
    {2, {-2.0f / 3, 1.0f / 3, 2.0f / 3}},  /* a / ||a|| with ||a|| = 3 */
    {1, {-1, 1, 1}},                       /* sign(a) */
    {INFINITY, {-0.5f, 0, 0.5f}},          /* |a| = 2 twice: shared, with the sign */
    {-INFINITY, {0, 1, 0}},                /* the smallest |a| */
    {0, {0, 0, 0}},
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    rc_tensor *x = tensor_of(1, shape, vals), *out = NULL;
    x->requires_grad = true;
    CHECK_OK(rcg_norm(&out, x, cases[c].p, RC_ALL_DIMS, false));
    if (out) CHECK_OK(rc_backward(out, NULL, false));
    for (int i = 0; i < 3; i++) CHECK_NEAR(grad_at(x, i), cases[c].want[i], 1e-6);
    rc_release(out), rc_release(x);
  }
  /* at 0 the 2-norm (and any p > 1) has gradient 0, not NaN */
  double ps[2] = {2, 3};
  for (int c = 0; c < 2; c++) {
    rc_tensor *x = NULL, *out = NULL;
    rc_full(&x, RC_FLOAT32, 1, shape, 0.0);
    x->requires_grad = true;
    CHECK_OK(rcg_norm(&out, x, ps[c], 0, false));
    if (out) CHECK_OK(rc_backward(out, NULL, false));
    for (int i = 0; i < 3; i++) CHECK(grad_at(x, i) == 0.0);
    rc_release(out), rc_release(x);
  }
}

static void test_softmax_by_hand(void) {
  /* x = (0, ln 3): softmax = (1/4, 3/4). With g = (1, 0):
     softmax:     y * (g - sum(g y)) = (1/4 * 3/4, 3/4 * -1/4) = (3/16, -3/16)
     log_softmax: g - y * sum(g)     = (1 - 1/4, -3/4)
     logsumexp:   g * y              = (1/4, 3/4) */
  int64_t shape[1] = {2};
  rc_tensor *g = tensor_of(1, shape, (float[]){1, 0});
  for (int k = 0; k < 3; k++) {
    rc_tensor *x = tensor_of(1, shape, (float[]){0, (float)log(3.0)}), *out = NULL;
    x->requires_grad = true;
    float want[3][2] = {{3.0f / 16, -3.0f / 16}, {0.75f, -0.75f}, {0.25f, 0.75f}};
    if (k == 0) CHECK_OK(rcg_softmax(&out, x, 0));
    if (k == 1) CHECK_OK(rcg_log_softmax(&out, x, -1));
    if (k == 2) CHECK_OK(rcg_logsumexp(&out, x, 0, false));
    if (out) CHECK_OK(rc_backward(out, k == 2 ? NULL : g, false));
    for (int i = 0; i < 2; i++) CHECK_NEAR(grad_at(x, i), want[k][i], 1e-6);
    rc_release(out), rc_release(x);
  }
  rc_release(g);
}

static void test_mean_by_hand(void) {
  /* mean over dim 0 of a (2,3): each element gets g[j] / 2 */
  int64_t shape[2] = {2, 3};
  rc_tensor *x = random_tensor(2, shape), *out = NULL;
  rc_tensor *g = tensor_of(1, (int64_t[]){3}, (float[]){2, 4, 6});
  x->requires_grad = true;
  CHECK_OK(rcg_reduce(&out, RC_MEAN, x, 0, false));
  if (out) CHECK_OK(rc_backward(out, g, false));
  float want[6] = {1, 2, 3, 1, 2, 3};
  for (int i = 0; i < 6; i++) CHECK_NEAR(grad_at(x, i), want[i], 1e-6);
  CHECK(x->grad && rc_is_contiguous(x->grad));
  rc_release(g), rc_release(out), rc_release(x);
}

/* --- recording ------------------------------------------------------------------------- */

static void test_recording(void) {
  int64_t shape[2] = {2, 3};
  rc_tensor *x = random_tensor(2, shape), *out = NULL, *idx = NULL;
  /* nothing requires grad: no node */
  CHECK_OK(rcg_reduce(&out, RC_SUM, x, 0, false));
  CHECK(out && !out->requires_grad && !out->grad_fn);
  rc_release(out), out = NULL;
  CHECK_OK(rcg_max_dim(&out, &idx, x, 0, false, false));
  CHECK(out && !out->grad_fn);
  rc_release(out), rc_release(idx), out = idx = NULL;
  /* grad mode off: no node either */
  x->requires_grad = true;
  bool was = rc_set_grad_enabled(false);
  CHECK_OK(rcg_softmax(&out, x, 1));
  CHECK(out && !out->grad_fn);
  rc_set_grad_enabled(was);
  rc_release(out), out = NULL;
  /* names, as PyTorch's without the number */
  CHECK_OK(rcg_reduce(&out, RC_MEAN, x, RC_ALL_DIMS, false));
  CHECK(out && out->grad_fn && !strcmp(out->grad_fn->name, "MeanBackward"));
  rc_release(out), out = NULL;
  CHECK_OK(rcg_log_softmax(&out, x, 1));
  CHECK(out && out->grad_fn && !strcmp(out->grad_fn->name, "LogSoftmaxBackward"));
  rc_release(out), out = NULL;
  /* a bad dim fails with the op's message and makes nothing */
  CHECK_FAILS(rcg_reduce(&out, RC_SUM, x, 2, false), "sum: ");
  CHECK(out == NULL);
  CHECK_FAILS(rcg_max_dim(&out, &idx, x, -3, false, true), "min: ");
  CHECK(out == NULL && idx == NULL);
  CHECK_FAILS(rcg_softmax(&out, x, 5), "softmax: ");
  CHECK(out == NULL);
  rc_release(x);
}

/* Gradients accumulate over two backward passes into the same leaf. */
static void test_accumulates(void) {
  int64_t shape[2] = {2, 2};
  rc_tensor *x = random_tensor(2, shape);
  x->requires_grad = true;
  for (int pass = 0; pass < 2; pass++) {
    rc_tensor *out = NULL;
    CHECK_OK(rcg_reduce(&out, RC_SUM, x, RC_ALL_DIMS, false));
    if (out) CHECK_OK(rc_backward(out, NULL, false));
    rc_release(out);
  }
  for (int i = 0; i < 4; i++) CHECK_NEAR(grad_at(x, i), 2.0, 0);
  rc_release(x);
}

/* Inputs without elements get empty gradients of their shape, for every op. */
static void test_empty_inputs(void) {
  int64_t shape[2] = {2, 0};
  for (int k = 0; k < 6; k++) {
    rc_tensor *x = NULL, *out = NULL, *loss = NULL;
    rc_full(&x, RC_FLOAT32, 2, shape, 0.0);
    x->requires_grad = true;
    switch (k) {
    case 0: CHECK_OK(rcg_reduce(&out, RC_SUM, x, 1, false)); break;   /* (2) of zeros */
    case 1: CHECK_OK(rcg_reduce(&out, RC_MEAN, x, 0, true)); break;   /* (1,0) */
    case 2: CHECK_OK(rcg_reduce(&out, RC_PROD, x, -1, false)); break; /* (2) of ones */
    case 3: CHECK_OK(rcg_softmax(&out, x, 1)); break;
    case 4: CHECK_OK(rcg_log_softmax(&out, x, 0)); break;
    case 5: CHECK_OK(rcg_norm(&out, x, 2, 1, false)); break;
    }
    if (out) CHECK_OK(rcg_reduce(&loss, RC_SUM, out, RC_ALL_DIMS, false));
    if (loss) CHECK_OK(rc_backward(loss, NULL, false));
    CHECK(x->grad && x->grad->ndim == 2 && x->grad->shape[0] == 2 && x->grad->shape[1] == 0);
    rc_release(loss), rc_release(out), rc_release(x);
  }
}

int main(void) {
  test_finite_differences();
  test_larger_inputs();
  test_prod_zeros();
  test_max_ties();
  test_max_dim_saved_indices();
  test_norm_by_hand();
  test_softmax_by_hand();
  test_mean_by_hand();
  test_recording();
  test_accumulates();
  test_empty_inputs();
  return check_summary("grad_reduce");
}
