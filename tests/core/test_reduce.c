/* tests/core/test_reduce.c — reductions, softmax and log_softmax of core/reduce.c: known values,
   strided views against a slow reference loop, accuracy, empty tensors, errors, thread counts. */
#include <stdint.h>
#include <stdlib.h>
#include "check.h"

static rc_tensor *vec(int64_t n, const float *values) { return tensor_of(1, &n, values); }

static rc_tensor *mat(int64_t rows, int64_t cols, const float *values) {
  int64_t shape[2] = {rows, cols};
  return tensor_of(2, shape, values);
}

static rc_tensor *ivec(int64_t n, const int64_t *values) {
  rc_tensor *t = NULL;
  if (rc_empty(&t, RC_INT64, 1, &n) != RC_OK) return NULL;
  memcpy(rc_i64(t), values, sizeof(int64_t) * (size_t)n);
  return t;
}

/* A view of t with dims permuted (no copy), built directly so this test needs only tensor.c. */
static rc_tensor *permuted(const rc_tensor *t, const int *perm) {
  int64_t shape[RC_MAX_DIMS], stride[RC_MAX_DIMS];
  for (int d = 0; d < t->ndim; d++) {
    shape[d] = t->shape[perm[d]];
    stride[d] = t->stride[perm[d]];
  }
  rc_tensor *v = NULL;
  rc_view_of(&v, t, t->ndim, shape, stride, t->offset);
  return v;
}

static bool same_shape(const rc_tensor *t, int ndim, const int64_t *shape) {
  if (t->ndim != ndim) return false;
  for (int d = 0; d < ndim; d++)
    if (t->shape[d] != shape[d]) return false;
  return true;
}

/* Values of a float tensor equal `expect` within tol (row-major). */
static bool values_near(const rc_tensor *t, const double *expect, double tol) {
  for (int64_t i = 0; i < rc_numel(t); i++)
    if (!(fabs(rc_get_flat(t, i) - expect[i]) <= tol)) {
      fprintf(stderr, "  element %lld = %.9g, expected %.9g\n", (long long)i, rc_get_flat(t, i),
              expect[i]);
      return false;
    }
  return true;
}

static uint32_t rng_state = 12345;
static float uniform(float lo, float hi) {
  rng_state = rng_state * 1664525u + 1013904223u;
  return lo + (hi - lo) * (float)(rng_state >> 8) / 16777216.0f;
}

/* --- known values --------------------------------------------------------------------------- */

static void test_2d_known_values(void) {
  const float v[] = {1, 2, 3, 4, 5, 6};
  rc_tensor *a = mat(2, 3, v), *r = NULL;
  struct {
    rc_reduce_op op;
    int dim;
    int n;
    double expect[3];
  } cases[] = {
    {RC_SUM, 0, 3, {5, 7, 9}},        {RC_SUM, 1, 2, {6, 15}},
    {RC_MEAN, 0, 3, {2.5, 3.5, 4.5}}, {RC_MEAN, -1, 2, {2, 5}},
    {RC_PROD, 0, 3, {4, 10, 18}},     {RC_PROD, 1, 2, {6, 120}},
    {RC_MAX, 0, 3, {4, 5, 6}},        {RC_MAX, 1, 2, {3, 6}},
    {RC_MIN, 0, 3, {1, 2, 3}},        {RC_MIN, -1, 2, {1, 4}},
    {RC_SUM, RC_ALL_DIMS, 1, {21}},   {RC_MEAN, RC_ALL_DIMS, 1, {3.5}},
    {RC_PROD, RC_ALL_DIMS, 1, {720}}, {RC_MAX, RC_ALL_DIMS, 1, {6}},
    {RC_MIN, RC_ALL_DIMS, 1, {1}},
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    CHECK_OK(rc_reduce(&r, cases[c].op, a, cases[c].dim, false));
    int64_t n = cases[c].n;
    CHECK(cases[c].dim == RC_ALL_DIMS ? r->ndim == 0 : same_shape(r, 1, &n));
    CHECK(values_near(r, cases[c].expect, 1e-6));
    rc_release(r);
  }
  rc_release(a);
}

/* a (2,3,4) holding 0..23: a[i][j][k] = 12i + 4j + k, so each sum has a closed form. */
static void test_3d_known_values(void) {
  int64_t shape[3] = {2, 3, 4};
  float v[24];
  for (int i = 0; i < 24; i++) v[i] = (float)i;
  rc_tensor *a = tensor_of(3, shape, v), *r = NULL;

  CHECK_OK(rc_reduce(&r, RC_SUM, a, 0, false)); /* (3,4): 2(4j+k) + 12 */
  int64_t s0[2] = {3, 4};
  CHECK(same_shape(r, 2, s0));
  for (int j = 0; j < 3; j++)
    for (int k = 0; k < 4; k++) CHECK_NEAR(rc_get_flat(r, j * 4 + k), 2 * (4 * j + k) + 12, 0);
  rc_release(r);

  CHECK_OK(rc_reduce(&r, RC_SUM, a, 1, true)); /* (2,1,4): 36i + 12 + 3k */
  int64_t s1[3] = {2, 1, 4};
  CHECK(same_shape(r, 3, s1));
  for (int i = 0; i < 2; i++)
    for (int k = 0; k < 4; k++) CHECK_NEAR(rc_get_flat(r, i * 4 + k), 36 * i + 12 + 3 * k, 0);
  rc_release(r);

  CHECK_OK(rc_reduce(&r, RC_SUM, a, -1, false)); /* (2,3): 48i + 16j + 6 */
  int64_t s2[2] = {2, 3};
  CHECK(same_shape(r, 2, s2));
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 3; j++) CHECK_NEAR(rc_get_flat(r, i * 3 + j), 48 * i + 16 * j + 6, 0);
  rc_release(r);

  CHECK_OK(rc_reduce(&r, RC_MAX, a, 2, true)); /* (2,3,1): 12i + 4j + 3 */
  int64_t s3[3] = {2, 3, 1};
  CHECK(same_shape(r, 3, s3));
  CHECK_NEAR(rc_get_flat(r, 5), 12 + 8 + 3, 0);
  rc_release(r);

  CHECK_OK(rc_reduce(&r, RC_MEAN, a, RC_ALL_DIMS, true)); /* (1,1,1): 11.5 */
  int64_t s4[3] = {1, 1, 1};
  CHECK(same_shape(r, 3, s4));
  CHECK_NEAR(rc_get_flat(r, 0), 11.5, 0);
  rc_release(r);

  rc_tensor *vals = NULL, *idx = NULL;
  CHECK_OK(rc_max_dim(&vals, &idx, a, 1, false, true)); /* min over j: j = 0 */
  int64_t s5[2] = {2, 4};
  CHECK(same_shape(idx, 2, s5) && same_shape(vals, 2, s5));
  CHECK(idx->dtype == RC_INT64 && vals->dtype == RC_FLOAT32);
  for (int i = 0; i < 8; i++) {
    CHECK(rc_i64(idx)[i] == 0);
    CHECK_NEAR(rc_f32(vals)[i], 12 * (i / 4) + i % 4, 0);
  }
  rc_release(vals);
  rc_release(idx);
  rc_release(a);
}

/* A transposed view: (3,2) with strides (1,3) over {{1,2,3},{4,5,6}}. */
static void test_transposed_view(void) {
  const float v[] = {1, 2, 3, 4, 5, 6};
  rc_tensor *a = mat(2, 3, v), *r = NULL;
  const int perm[2] = {1, 0};
  rc_tensor *t = permuted(a, perm);
  CHECK(!rc_is_contiguous(t));
  const double by_col[2] = {6, 15}, by_row[3] = {5, 7, 9};
  CHECK_OK(rc_reduce(&r, RC_SUM, t, 0, false));
  CHECK(values_near(r, by_col, 0));
  rc_release(r);
  CHECK_OK(rc_reduce(&r, RC_SUM, t, 1, false));
  CHECK(values_near(r, by_row, 0));
  rc_release(r);
  rc_tensor *idx = NULL;
  CHECK_OK(rc_argmax(&idx, t, 1, false, false)); /* rows of t are (1,4), (2,5), (3,6) */
  for (int i = 0; i < 3; i++) CHECK(rc_i64(idx)[i] == 1);
  rc_release(idx);
  CHECK_OK(rc_argmax(&idx, t, RC_ALL_DIMS, false, false)); /* 6 sits at t[2][1]: flat 5 */
  CHECK(idx->ndim == 0 && rc_i64(idx)[0] == 5);
  rc_release(idx);
  CHECK_OK(rc_softmax(&r, t, 1));
  CHECK_NEAR(rc_get_flat(r, 0), 1 / (1 + exp(3.0)), 1e-6); /* softmax(1,4)[0] */
  CHECK(rc_is_contiguous(r));
  rc_release(r);
  rc_release(t);
  rc_release(a);
}

/* --- every op along every dim of permuted views, against a slow reference ------------------ */

typedef enum { R_SUM, R_MEAN, R_PROD, R_MAX, R_MIN, R_ARGMAX, R_ARGMIN, R_NORM1, R_NORM2,
               R_NORM3, R_NORMINF, R_LSE, R_SOFTMAX, R_LOGSOFTMAX, R_COUNT } ref_op;

static rc_status run_op(ref_op op, rc_tensor **out, const rc_tensor *a, int dim) {
  switch (op) {
  case R_SUM: return rc_reduce(out, RC_SUM, a, dim, false);
  case R_MEAN: return rc_reduce(out, RC_MEAN, a, dim, false);
  case R_PROD: return rc_reduce(out, RC_PROD, a, dim, false);
  case R_MAX: return rc_reduce(out, RC_MAX, a, dim, false);
  case R_MIN: return rc_reduce(out, RC_MIN, a, dim, false);
  case R_ARGMAX: return rc_argmax(out, a, dim, false, false);
  case R_ARGMIN: return rc_argmax(out, a, dim, false, true);
  case R_NORM1: return rc_norm(out, a, 1, dim, false);
  case R_NORM2: return rc_norm(out, a, 2, dim, false);
  case R_NORM3: return rc_norm(out, a, 3, dim, false);
  case R_NORMINF: return rc_norm(out, a, INFINITY, dim, false);
  case R_LSE: return rc_logsumexp(out, a, dim, false);
  case R_SOFTMAX: return rc_softmax(out, a, dim);
  default: return rc_log_softmax(out, a, dim);
  }
}

/* The reduction of x[0..n) the obvious way, in double. */
static double ref_reduce(ref_op op, const double *x, int64_t n) {
  double r = 0, m = x[0];
  int64_t at = 0;
  switch (op) {
  case R_SUM: for (int64_t i = 0; i < n; i++) r += x[i]; return r;
  case R_MEAN: for (int64_t i = 0; i < n; i++) r += x[i]; return r / (double)n;
  case R_PROD: r = 1; for (int64_t i = 0; i < n; i++) r *= x[i]; return r;
  case R_NORM1: for (int64_t i = 0; i < n; i++) r += fabs(x[i]); return r;
  case R_NORM2: for (int64_t i = 0; i < n; i++) r += x[i] * x[i]; return sqrt(r);
  case R_NORM3: for (int64_t i = 0; i < n; i++) r += pow(fabs(x[i]), 3); return cbrt(r);
  case R_NORMINF: for (int64_t i = 0; i < n; i++) r = fmax(r, fabs(x[i])); return r;
  case R_LSE:
    for (int64_t i = 0; i < n; i++) m = fmax(m, x[i]);
    for (int64_t i = 0; i < n; i++) r += exp(x[i] - m);
    return m + log(r);
  default: break;
  }
  for (int64_t i = 1; i < n; i++) {
    bool take = (op == R_MAX || op == R_ARGMAX) ? x[i] > m : x[i] < m;
    if (take) m = x[i], at = i;
  }
  return (op == R_ARGMAX || op == R_ARGMIN) ? (double)at : m;
}

/* Compares op along `dim` of view v (3-D) with the reference, element by element. */
static bool matches_reference(ref_op op, const rc_tensor *v, int dim, const rc_tensor *r) {
  int64_t n = v->shape[dim], strides[3];
  strides[2] = 1;
  strides[1] = v->shape[2];
  strides[0] = v->shape[1] * v->shape[2];
  double *x = malloc(sizeof(double) * (size_t)n);
  bool ok = true;
  int64_t out = 0;
  int64_t lim[3] = {v->shape[0], v->shape[1], v->shape[2]};
  lim[dim] = 1;
  for (int64_t i = 0; i < lim[0] && ok; i++)
    for (int64_t j = 0; j < lim[1] && ok; j++)
      for (int64_t k = 0; k < lim[2] && ok; k++, out++) {
        int64_t base = i * strides[0] + j * strides[1] + k * strides[2];
        for (int64_t e = 0; e < n; e++) x[e] = rc_get_flat(v, base + e * strides[dim]);
        if (op == R_SOFTMAX || op == R_LOGSOFTMAX) {
          double lse = ref_reduce(R_LSE, x, n);
          for (int64_t e = 0; e < n && ok; e++) {
            double want = op == R_SOFTMAX ? exp(x[e] - lse) : x[e] - lse;
            double got = rc_get_flat(r, base + e * strides[dim]);
            ok = fabs(got - want) <= 2e-6 * (1 + fabs(want));
          }
          continue;
        }
        double want = ref_reduce(op, x, n), got = rc_get_flat(r, out);
        ok = fabs(got - want) <= 2e-6 * (1 + fabs(want));
        if (!ok)
          fprintf(stderr, "  op %d dim %d output %lld: %.9g, expected %.9g\n", (int)op, dim,
                  (long long)out, got, want);
      }
  free(x);
  return ok;
}

static void test_views_against_reference(void) {
  /* Sizes that cross the vector width, the work-item width and the parallel threshold. */
  const int64_t shapes[][3] = {{3, 5, 7}, {2, 1, 33}, {17, 40, 61}, {1, 3000, 3}};
  const int perms[][3] = {{0, 1, 2}, {2, 1, 0}, {1, 2, 0}, {0, 2, 1}};
  rc_set_threads(2);
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
    int64_t numel = shapes[s][0] * shapes[s][1] * shapes[s][2];
    float *v = malloc(sizeof(float) * (size_t)numel);
    for (int64_t i = 0; i < numel; i++) v[i] = uniform(-2.0f, 2.0f);
    /* prod over thousands of elements would under/overflow: keep its values near 1 */
    float *pv = malloc(sizeof(float) * (size_t)numel);
    for (int64_t i = 0; i < numel; i++) pv[i] = uniform(0.999f, 1.001f);
    rc_tensor *base = tensor_of(3, shapes[s], v), *pbase = tensor_of(3, shapes[s], pv);
    for (size_t p = 0; p < sizeof perms / sizeof perms[0]; p++) {
      rc_tensor *view = permuted(base, perms[p]), *pview = permuted(pbase, perms[p]);
      for (int dim = 0; dim < 3; dim++)
        for (int op = 0; op < R_COUNT; op++) {
          rc_tensor *r = NULL;
          const rc_tensor *in = op == R_PROD ? pview : view;
          CHECK_OK(run_op((ref_op)op, &r, in, dim));
          if (r) CHECK(matches_reference((ref_op)op, in, dim, r));
          rc_release(r);
        }
      rc_release(view);
      rc_release(pview);
    }
    rc_release(base);
    rc_release(pbase);
    free(v);
    free(pv);
  }
  rc_set_threads(1);
}

/* --- accuracy and determinism ----------------------------------------------------------------- */

static void test_large_sum_accuracy(void) {
  int64_t n = 1000000;
  rc_tensor *a = NULL, *r = NULL;
  CHECK_OK(rc_full(&a, RC_FLOAT32, 1, &n, 0.1));
  CHECK_OK(rc_reduce(&r, RC_SUM, a, RC_ALL_DIMS, false));
  CHECK_NEAR(rc_f32(r)[0], 1e5, 1e-2);
  rc_release(r);
  CHECK_OK(rc_reduce(&r, RC_MEAN, a, 0, false));
  CHECK_NEAR(rc_f32(r)[0], 0.1, 1e-7);
  rc_release(r);
  int64_t shape[2] = {1000, 1000}; /* the same along an outer dim */
  rc_tensor *m = NULL;
  CHECK_OK(rc_view_of(&m, a, 2, shape, (int64_t[]){1000, 1}, 0));
  CHECK_OK(rc_reduce(&r, RC_SUM, m, 0, false));
  CHECK_NEAR(rc_f32(r)[0], 100.0, 1e-4);
  CHECK_NEAR(rc_f32(r)[999], 100.0, 1e-4);
  rc_release(r);
  rc_release(m);
  rc_release(a);
}

static bool bitwise_equal(const rc_tensor *a, const rc_tensor *b) {
  return rc_numel(a) == rc_numel(b) && a->dtype == b->dtype &&
         !memcmp(a->storage->data, b->storage->data, (size_t)rc_numel(a) * rc_dtype_size(a->dtype));
}

static void test_thread_count_independence(void) {
  int64_t n = 1000000;
  rc_tensor *a = NULL;
  CHECK_OK(rc_empty(&a, RC_FLOAT32, 1, &n));
  for (int64_t i = 0; i < n; i++) rc_f32(a)[i] = uniform(-1.0f, 1.0f) * (i % 7 == 0 ? 1e4f : 1.0f);
  int64_t shape[2] = {1000, 1000};
  rc_tensor *m = NULL;
  rc_view_of(&m, a, 2, shape, (int64_t[]){1000, 1}, 0);
  rc_tensor *r1[8] = {0}, *r2[8] = {0};
  for (int pass = 0; pass < 2; pass++) {
    rc_tensor **r = pass ? r2 : r1;
    rc_set_threads(pass ? 2 : 1);
    CHECK_OK(rc_reduce(&r[0], RC_SUM, a, RC_ALL_DIMS, false));
    CHECK_OK(rc_reduce(&r[1], RC_SUM, m, 0, false));
    CHECK_OK(rc_reduce(&r[2], RC_SUM, m, 1, false));
    CHECK_OK(rc_norm(&r[3], a, 2, RC_ALL_DIMS, false));
    CHECK_OK(rc_logsumexp(&r[4], m, 0, false));
    CHECK_OK(rc_softmax(&r[5], m, 1));
    CHECK_OK(rc_log_softmax(&r[6], m, 0));
    CHECK_OK(rc_reduce(&r[7], RC_MEAN, m, RC_ALL_DIMS, false));
  }
  rc_set_threads(1);
  for (int i = 0; i < 8; i++) {
    CHECK(r1[i] && r2[i] && bitwise_equal(r1[i], r2[i]));
    rc_release(r1[i]);
    rc_release(r2[i]);
  }
  rc_release(m);
  rc_release(a);
}

/* --- softmax family ---------------------------------------------------------------------------- */

static void test_softmax(void) {
  const float v[] = {1, 2, 3, -1, 0, 1, 5, 5, 5};
  rc_tensor *a = mat(3, 3, v), *r = NULL;
  CHECK_OK(rc_softmax(&r, a, 1));
  for (int i = 0; i < 3; i++)
    CHECK_NEAR(rc_f32(r)[3 * i] + rc_f32(r)[3 * i + 1] + rc_f32(r)[3 * i + 2], 1.0, 1e-6);
  /* softmax(1,2,3) = e^k / (e + e^2 + e^3) */
  CHECK_NEAR(rc_f32(r)[2], exp(3.0) / (exp(1.0) + exp(2.0) + exp(3.0)), 1e-6);
  CHECK_NEAR(rc_f32(r)[7], 1.0 / 3.0, 1e-6);
  rc_release(r);
  CHECK_OK(rc_softmax(&r, a, 0)); /* columns sum to 1 too */
  for (int j = 0; j < 3; j++)
    CHECK_NEAR(rc_f32(r)[j] + rc_f32(r)[3 + j] + rc_f32(r)[6 + j], 1.0, 1e-6);
  rc_release(r);
  rc_release(a);

  const float big[] = {1000, 0};
  a = vec(2, big);
  CHECK_OK(rc_log_softmax(&r, a, 0)); /* log(1 + e^-1000) = 0 in float; 0 - 1000 */
  CHECK(isfinite(rc_f32(r)[0]) && isfinite(rc_f32(r)[1]));
  CHECK_NEAR(rc_f32(r)[0], 0.0, 1e-6);
  CHECK_NEAR(rc_f32(r)[1], -1000.0, 1e-3);
  rc_release(r);
  CHECK_OK(rc_softmax(&r, a, -1));
  CHECK_NEAR(rc_f32(r)[0], 1.0, 0);
  CHECK_NEAR(rc_f32(r)[1], 0.0, 0);
  rc_release(r);
  rc_release(a);

  /* exp over the range softmax sees: relative error near float epsilon */
  float ramp[200];
  for (int i = 0; i < 200; i++) ramp[i] = -87.0f + 87.0f * (float)i / 199.0f;
  a = vec(200, ramp);
  CHECK_OK(rc_softmax(&r, a, 0));
  double total = 0;
  for (int i = 0; i < 200; i++) total += exp((double)ramp[i]);
  double worst = 0;
  for (int i = 0; i < 200; i++) {
    double want = exp((double)ramp[i]) / total;
    worst = fmax(worst, fabs(rc_f32(r)[i] - want) / want);
  }
  CHECK(worst < 1e-6);
  rc_release(r);
  rc_release(a);
}

static void test_logsumexp(void) {
  const float v[] = {1000, 1000};
  rc_tensor *a = vec(2, v), *r = NULL;
  CHECK_OK(rc_logsumexp(&r, a, 0, false));
  CHECK_NEAR(rc_f32(r)[0], 1000.0 + log(2.0), 1e-4);
  rc_release(r);
  rc_release(a);

  const float m[] = {-INFINITY, -INFINITY, INFINITY, 1, 0, 0};
  a = mat(3, 2, m);
  CHECK_OK(rc_logsumexp(&r, a, 1, true));
  int64_t shape[2] = {3, 1};
  CHECK(same_shape(r, 2, shape));
  CHECK(isinf(rc_f32(r)[0]) && rc_f32(r)[0] < 0); /* all -inf: -inf, not NaN */
  CHECK(isinf(rc_f32(r)[1]) && rc_f32(r)[1] > 0); /* an inf: inf */
  CHECK_NEAR(rc_f32(r)[2], log(2.0), 1e-6);
  rc_release(r);
  CHECK_OK(rc_logsumexp(&r, a, RC_ALL_DIMS, false));
  CHECK(isinf(rc_f32(r)[0]) && rc_f32(r)[0] > 0);
  rc_release(r);
  rc_release(a);
}

/* --- argmax, max_dim, NaN ---------------------------------------------------------------------- */

static void test_argmax_ties_and_nan(void) {
  const float v[] = {1, 3, 3, 2, 1};
  rc_tensor *a = vec(5, v), *r = NULL, *vals = NULL;
  CHECK_OK(rc_argmax(&r, a, 0, false, false));
  CHECK(r->dtype == RC_INT64 && r->ndim == 0 && rc_i64(r)[0] == 1);
  rc_release(r);
  CHECK_OK(rc_argmax(&r, a, RC_ALL_DIMS, false, true)); /* min 1 at 0 and 4: first */
  CHECK(rc_i64(r)[0] == 0);
  rc_release(r);
  rc_release(a);

  /* ties in long rows, across vector lanes and across blocks of an all-dims reduction */
  int64_t n = 100000;
  CHECK_OK(rc_full(&a, RC_FLOAT32, 1, &n, 0.0));
  rc_f32(a)[77777] = 5;
  rc_f32(a)[33333] = 5;
  rc_f32(a)[99999] = 5;
  CHECK_OK(rc_argmax(&r, a, RC_ALL_DIMS, false, false));
  CHECK(rc_i64(r)[0] == 33333);
  rc_release(r);
  CHECK_OK(rc_argmax(&r, a, RC_ALL_DIMS, false, true)); /* min 0 first at 0 */
  CHECK(rc_i64(r)[0] == 0);
  rc_release(r);
  rc_release(a);

  const float w[] = {1, 9, 9, 9, 1, 1, 4, 4, 4, 4};
  a = mat(2, 5, w);
  CHECK_OK(rc_max_dim(&vals, &r, a, 1, true, false));
  int64_t shape[2] = {2, 1};
  CHECK(same_shape(vals, 2, shape) && same_shape(r, 2, shape));
  CHECK(rc_i64(r)[0] == 1 && rc_i64(r)[1] == 1);
  CHECK(rc_f32(vals)[0] == 9 && rc_f32(vals)[1] == 4);
  rc_release(vals);
  rc_release(r);
  CHECK_OK(rc_max_dim(&vals, &r, a, 0, false, true)); /* column min, first row on ties */
  const int64_t want_idx[5] = {0, 1, 1, 1, 0};
  for (int j = 0; j < 5; j++) CHECK(rc_i64(r)[j] == want_idx[j]);
  rc_release(vals);
  rc_release(r);
  rc_release(a);

  const float nan_v[] = {1, NAN, 3, NAN};
  a = vec(4, nan_v);
  CHECK_OK(rc_reduce(&r, RC_MAX, a, 0, false));
  CHECK(isnan(rc_f32(r)[0]));
  rc_release(r);
  CHECK_OK(rc_reduce(&r, RC_MIN, a, RC_ALL_DIMS, false));
  CHECK(isnan(rc_f32(r)[0]));
  rc_release(r);
  CHECK_OK(rc_argmax(&r, a, 0, false, false)); /* NaN is the max; the first one */
  CHECK(rc_i64(r)[0] == 1);
  rc_release(r);
  CHECK_OK(rc_argmax(&r, a, 0, false, true));
  CHECK(rc_i64(r)[0] == 1);
  rc_release(r);
  rc_release(a);

  /* the same down the columns of a matrix (read row by row) */
  const float nan_m[] = {1, NAN, 2, NAN, NAN, 5, 0, 7};
  a = mat(4, 2, nan_m);
  CHECK_OK(rc_max_dim(&vals, &r, a, 0, false, false));
  CHECK(rc_i64(r)[0] == 2 && rc_i64(r)[1] == 0);
  CHECK(isnan(rc_f32(vals)[0]) && isnan(rc_f32(vals)[1]));
  rc_release(vals);
  rc_release(r);
  CHECK_OK(rc_argmax(&r, a, 0, false, true));
  CHECK(rc_i64(r)[0] == 2 && rc_i64(r)[1] == 0);
  rc_release(r);
  rc_release(a);
}

/* --- norm -------------------------------------------------------------------------------------- */

static void test_norm(void) {
  const float v[] = {3, -4, 0, 0};
  rc_tensor *a = mat(2, 2, v), *r = NULL;
  struct { double p; double want; } cases[] = {
    {2, 5}, {1, 7}, {INFINITY, 4}, {-INFINITY, 0}, {0, 2}, {3, cbrt(27.0 + 64.0)},
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    CHECK_OK(rc_norm(&r, a, cases[c].p, RC_ALL_DIMS, false));
    CHECK_NEAR(rc_f32(r)[0], cases[c].want, 1e-5);
    rc_release(r);
  }
  CHECK_OK(rc_norm(&r, a, 2, 1, false)); /* rows: (3,-4) -> 5, (0,0) -> 0 */
  CHECK_NEAR(rc_f32(r)[0], 5, 1e-6);
  CHECK_NEAR(rc_f32(r)[1], 0, 0);
  rc_release(r);
  CHECK_OK(rc_norm(&r, a, 1, 0, true)); /* columns: 3, 4 */
  int64_t shape[2] = {1, 2};
  CHECK(same_shape(r, 2, shape));
  CHECK_NEAR(rc_f32(r)[0], 3, 0);
  CHECK_NEAR(rc_f32(r)[1], 4, 0);
  rc_release(r);
  const float huge[] = {3e20f, 4e20f}; /* squares overflow float, not the double sum */
  rc_tensor *h = vec(2, huge);
  CHECK_OK(rc_norm(&r, h, 2, RC_ALL_DIMS, false));
  CHECK_NEAR(rc_f32(r)[0] / 1e20, 5, 1e-5);
  rc_release(r);
  rc_release(h);
  CHECK_FAILS(rc_norm(&r, a, NAN, 0, false), "norm: p must be a number, got nan");
  rc_release(a);
}

/* --- int64 ------------------------------------------------------------------------------------- */

static void test_int64(void) {
  const int64_t v[] = {3, -1, 4, 1, 5, 9};
  rc_tensor *a = ivec(6, v), *r = NULL, *idx = NULL;
  CHECK_OK(rc_reduce(&r, RC_SUM, a, RC_ALL_DIMS, false));
  CHECK(r->dtype == RC_INT64 && rc_i64(r)[0] == 21);
  rc_release(r);
  CHECK_OK(rc_reduce(&r, RC_PROD, a, 0, false));
  CHECK(r->dtype == RC_INT64 && rc_i64(r)[0] == -540);
  rc_release(r);
  CHECK_OK(rc_reduce(&r, RC_MAX, a, 0, false));
  CHECK(r->dtype == RC_INT64 && rc_i64(r)[0] == 9);
  rc_release(r);
  CHECK_OK(rc_reduce(&r, RC_MEAN, a, 0, false)); /* float32 by choice; PyTorch refuses */
  CHECK(r->dtype == RC_FLOAT32);
  CHECK_NEAR(rc_f32(r)[0], 3.5, 0);
  rc_release(r);
  CHECK_OK(rc_max_dim(&r, &idx, a, 0, false, true));
  CHECK(r->dtype == RC_INT64 && rc_i64(r)[0] == -1 && rc_i64(idx)[0] == 1);
  rc_release(r);
  rc_release(idx);
  CHECK_OK(rc_softmax(&r, a, 0));
  CHECK(r->dtype == RC_FLOAT32);
  rc_release(r);
  CHECK_OK(rc_norm(&r, a, 1, 0, false));
  CHECK(r->dtype == RC_FLOAT32);
  CHECK_NEAR(rc_f32(r)[0], 23, 0);
  rc_release(r);
  rc_release(a);

  /* beyond 2^53 the sum stays exact */
  const int64_t b[] = {INT64_C(4611686018427387904), 3, INT64_C(4611686018427387900)};
  a = ivec(3, b);
  CHECK_OK(rc_reduce(&r, RC_SUM, a, 0, false));
  CHECK(rc_i64(r)[0] == INT64_C(9223372036854775807));
  rc_release(r);
  rc_release(a);

  /* int64 columns of a (3,2) matrix, reduced along the outer dim */
  int64_t shape[2] = {3, 2};
  CHECK_OK(rc_empty(&a, RC_INT64, 2, shape));
  for (int i = 0; i < 6; i++) rc_i64(a)[i] = i;
  CHECK_OK(rc_reduce(&r, RC_SUM, a, 0, false));
  CHECK(rc_i64(r)[0] == 6 && rc_i64(r)[1] == 9);
  rc_release(r);
  CHECK_OK(rc_argmax(&r, a, 0, false, false));
  CHECK(rc_i64(r)[0] == 2 && rc_i64(r)[1] == 2);
  rc_release(r);
  rc_release(a);
}

/* --- empty and 0-d ----------------------------------------------------------------------------- */

static void test_empty_and_scalar(void) {
  int64_t shape[2] = {0, 3};
  rc_tensor *a = NULL, *r = NULL, *idx = NULL;
  CHECK_OK(rc_empty(&a, RC_FLOAT32, 2, shape));
  CHECK_OK(rc_reduce(&r, RC_SUM, a, RC_ALL_DIMS, false));
  CHECK(rc_f32(r)[0] == 0);
  rc_release(r);
  CHECK_OK(rc_reduce(&r, RC_MEAN, a, RC_ALL_DIMS, false));
  CHECK(isnan(rc_f32(r)[0]));
  rc_release(r);
  CHECK_OK(rc_reduce(&r, RC_PROD, a, RC_ALL_DIMS, false));
  CHECK(rc_f32(r)[0] == 1);
  rc_release(r);
  CHECK_OK(rc_reduce(&r, RC_SUM, a, 0, false)); /* (3,) of zeros */
  CHECK(r->ndim == 1 && r->shape[0] == 3 && rc_f32(r)[2] == 0);
  rc_release(r);
  CHECK_OK(rc_reduce(&r, RC_MEAN, a, 0, false));
  CHECK(isnan(rc_f32(r)[1]));
  rc_release(r);
  CHECK_OK(rc_logsumexp(&r, a, 0, false));
  CHECK(isinf(rc_f32(r)[0]) && rc_f32(r)[0] < 0);
  rc_release(r);
  CHECK_OK(rc_reduce(&r, RC_MAX, a, 1, false)); /* (0,): nothing to reduce, no error */
  CHECK(r->ndim == 1 && r->shape[0] == 0);
  rc_release(r);
  CHECK_OK(rc_softmax(&r, a, 0));
  CHECK(r->ndim == 2 && rc_numel(r) == 0);
  rc_release(r);
  r = NULL;
  CHECK_FAILS(rc_reduce(&r, RC_MAX, a, RC_ALL_DIMS, false),
              "max: cannot take the maximum of an empty tensor (shape (0,3))");
  CHECK(r == NULL);
  CHECK_FAILS(rc_max_dim(&r, &idx, a, 0, false, true),
              "min: cannot take the minimum over dim 0 of size 0 (shape (0,3))");
  CHECK(r == NULL && idx == NULL);
  CHECK_FAILS(rc_argmax(&r, a, -2, false, false), "argmax: cannot take the maximum over dim 0");
  CHECK_FAILS(rc_norm(&r, a, INFINITY, 0, false), "norm: cannot take the inf norm over dim 0");
  rc_release(a);

  CHECK_OK(rc_full(&a, RC_FLOAT32, 0, NULL, 2.5));
  CHECK_OK(rc_reduce(&r, RC_SUM, a, RC_ALL_DIMS, false));
  CHECK(r->ndim == 0 && rc_f32(r)[0] == 2.5f);
  rc_release(r);
  CHECK_OK(rc_reduce(&r, RC_MAX, a, -1, true)); /* a 0-d tensor has dims 0 and -1, as PyTorch */
  CHECK(r->ndim == 0 && rc_f32(r)[0] == 2.5f);
  rc_release(r);
  CHECK_OK(rc_softmax(&r, a, 0));
  CHECK(r->ndim == 0 && rc_f32(r)[0] == 1.0f);
  rc_release(r);
  CHECK_FAILS(rc_reduce(&r, RC_SUM, a, 1, false), "sum: dim 1 out of range for a tensor of 0 dims");
  rc_release(a);
}

/* --- errors ------------------------------------------------------------------------------------ */

static void test_bad_dims(void) {
  const float v[] = {1, 2, 3, 4, 5, 6};
  rc_tensor *a = mat(2, 3, v), *r = NULL, *idx = NULL;
  CHECK_FAILS(rc_reduce(&r, RC_SUM, a, 2, false), "sum: dim 2 out of range for a tensor of 2 dims");
  CHECK_FAILS(rc_reduce(&r, RC_MEAN, a, -3, false), "mean: dim -3 out of range");
  CHECK_FAILS(rc_reduce(&r, RC_PROD, a, 5, true), "prod: dim 5 out of range");
  CHECK_FAILS(rc_max_dim(&r, &idx, a, 2, false, false), "max: dim 2 out of range");
  CHECK_FAILS(rc_argmax(&r, a, 7, false, true), "argmin: dim 7 out of range");
  CHECK_FAILS(rc_norm(&r, a, 2, 2, false), "norm: dim 2 out of range");
  CHECK_FAILS(rc_logsumexp(&r, a, -4, false), "logsumexp: dim -4 out of range");
  CHECK_FAILS(rc_softmax(&r, a, 2), "softmax: dim 2 out of range for a tensor of 2 dims");
  CHECK_FAILS(rc_log_softmax(&r, a, 2), "log_softmax: dim 2 out of range");
  CHECK(r == NULL && idx == NULL);
  rc_release(a);
}

int main(void) {
  test_2d_known_values();
  test_3d_known_values();
  test_transposed_view();
  test_views_against_reference();
  test_large_sum_accuracy();
  test_thread_count_independence();
  test_softmax();
  test_logsumexp();
  test_argmax_ties_and_nan();
  test_norm();
  test_int64();
  test_empty_and_scalar();
  test_bad_dims();
  return check_summary("reduce");
}
