/* tests/core/test_elementwise.c — binary, unary, clamp, where and masked_fill of the core:
   known values, broadcasting, int64 paths, in-place through views, NaN/inf, thread counts. */
#include <stdint.h>
#include <stdlib.h>
#include "check.h"

#define LEN(a) ((int)(sizeof(a) / sizeof *(a)))

static rc_tensor *i64_of(int ndim, const int64_t *shape, const int64_t *values) {
  rc_tensor *t = NULL;
  if (rc_empty(&t, RC_INT64, ndim, shape) != RC_OK) return NULL;
  memcpy(rc_i64(t), values, sizeof(int64_t) * (size_t)rc_numel(t));
  return t;
}

static rc_tensor *scalar_of(float v) { return tensor_of(0, NULL, &v); }

/* Every element (row-major) equals expected exactly; NaN matches NaN. */
static bool values_are(const rc_tensor *t, int n, const double *expected) {
  if (!t || rc_numel(t) != n) return false;
  for (int i = 0; i < n; i++) {
    double v = rc_get_flat(t, i), e = expected[i];
    if (isnan(e) ? !isnan(v) : v != e) {
      fprintf(stderr, "  element %d is %.9g, expected %.9g\n", i, v, e);
      return false;
    }
  }
  return true;
}

static bool shape_is(const rc_tensor *t, int ndim, const int64_t *shape) {
  if (!t || t->ndim != ndim) return false;
  for (int d = 0; d < ndim; d++)
    if (t->shape[d] != shape[d]) return false;
  return true;
}

#define CHECK_VALUES(t, ...)                                                \
  do {                                                                      \
    const double expected_[] = {__VA_ARGS__};                               \
    CHECK(values_are((t), LEN(expected_), expected_));                      \
  } while (0)

/* --- binary ------------------------------------------------------------------------ */

static void test_names(void) {
  CHECK(!strcmp(rc_binop_name(RC_ADD), "add"));
  CHECK(!strcmp(rc_binop_name(RC_MAXIMUM), "maximum"));
  CHECK(!strcmp(rc_binop_name(RC_GE), "ge"));
  CHECK(!strcmp(rc_unop_name(RC_NEG), "neg"));
  CHECK(!strcmp(rc_unop_name(RC_SIGMOID), "sigmoid"));
  CHECK(!strcmp(rc_unop_name(RC_LOG1P), "log1p"));
}

static void test_binary_values(void) {
  int64_t s4[] = {4};
  rc_tensor *a = tensor_of(1, s4, (float[]){1, -2, 3, 8});
  rc_tensor *b = tensor_of(1, s4, (float[]){2, 4, 3, -0.5f});
  rc_tensor *r = NULL;
  CHECK_OK(rc_binary(&r, RC_ADD, a, b)); CHECK_VALUES(r, 3, 2, 6, 7.5); rc_release(r);
  CHECK_OK(rc_binary(&r, RC_SUB, a, b)); CHECK_VALUES(r, -1, -6, 0, 8.5); rc_release(r);
  CHECK_OK(rc_binary(&r, RC_MUL, a, b)); CHECK_VALUES(r, 2, -8, 9, -4); rc_release(r);
  CHECK_OK(rc_binary(&r, RC_DIV, a, b)); CHECK_VALUES(r, 0.5, -0.5, 1, -16); rc_release(r);
  /* 1^2, (-2)^4, 3^3, 8^-0.5 */
  CHECK_OK(rc_binary(&r, RC_POW, a, b));
  CHECK_VALUES(r, 1, 16, 27, (float)(1 / sqrt(8.0)));
  rc_release(r);
  CHECK_OK(rc_binary(&r, RC_MAXIMUM, a, b)); CHECK_VALUES(r, 2, 4, 3, 8); rc_release(r);
  CHECK_OK(rc_binary(&r, RC_MINIMUM, a, b)); CHECK_VALUES(r, 1, -2, 3, -0.5); rc_release(r);
  CHECK_OK(rc_binary(&r, RC_EQ, a, b)); CHECK_VALUES(r, 0, 0, 1, 0); rc_release(r);
  CHECK_OK(rc_binary(&r, RC_NE, a, b)); CHECK_VALUES(r, 1, 1, 0, 1); rc_release(r);
  CHECK_OK(rc_binary(&r, RC_LT, a, b)); CHECK_VALUES(r, 1, 1, 0, 0); rc_release(r);
  CHECK_OK(rc_binary(&r, RC_LE, a, b)); CHECK_VALUES(r, 1, 1, 1, 0); rc_release(r);
  CHECK_OK(rc_binary(&r, RC_GT, a, b)); CHECK_VALUES(r, 0, 0, 0, 1); rc_release(r);
  CHECK_OK(rc_binary(&r, RC_GE, a, b));
  CHECK_VALUES(r, 0, 0, 1, 1);
  CHECK(r->dtype == RC_FLOAT32);
  rc_release(r);
  rc_release(a);
  rc_release(b);
}

static void test_binary_nan(void) {
  int64_t s3[] = {3};
  rc_tensor *a = tensor_of(1, s3, (float[]){NAN, 1, NAN});
  rc_tensor *b = tensor_of(1, s3, (float[]){1, NAN, NAN});
  rc_tensor *r = NULL;
  /* maximum/minimum propagate NaN from either side, as torch.maximum */
  CHECK_OK(rc_binary(&r, RC_MAXIMUM, a, b)); CHECK_VALUES(r, NAN, NAN, NAN); rc_release(r);
  CHECK_OK(rc_binary(&r, RC_MINIMUM, a, b)); CHECK_VALUES(r, NAN, NAN, NAN); rc_release(r);
  /* every comparison with NaN is false except ne */
  CHECK_OK(rc_binary(&r, RC_EQ, a, b)); CHECK_VALUES(r, 0, 0, 0); rc_release(r);
  CHECK_OK(rc_binary(&r, RC_NE, a, b)); CHECK_VALUES(r, 1, 1, 1); rc_release(r);
  CHECK_OK(rc_binary(&r, RC_GE, a, b)); CHECK_VALUES(r, 0, 0, 0); rc_release(r);
  rc_release(a);
  rc_release(b);
  /* x / 0 follows IEEE */
  int64_t s2[] = {2};
  rc_tensor *c = tensor_of(1, s2, (float[]){1, -1});
  CHECK_OK(rc_binary_scalar(&r, RC_DIV, c, 0.0)); CHECK_VALUES(r, INFINITY, -INFINITY);
  rc_release(r);
  rc_release(c);
}

static void test_broadcast(void) {
  int64_t s31[] = {3, 1}, s14[] = {1, 4}, s34[] = {3, 4};
  rc_tensor *a = tensor_of(2, s31, (float[]){0, 10, 20});
  rc_tensor *b = tensor_of(2, s14, (float[]){1, 2, 3, 4});
  rc_tensor *r = NULL;
  CHECK_OK(rc_binary(&r, RC_ADD, a, b));
  CHECK(shape_is(r, 2, s34));
  CHECK_VALUES(r, 1, 2, 3, 4, 11, 12, 13, 14, 21, 22, 23, 24);
  rc_release(r);
  /* (4) against (3,1): the missing leading dim counts as 1 */
  int64_t s4[] = {4};
  rc_tensor *c = tensor_of(1, s4, (float[]){1, 2, 3, 4});
  CHECK_OK(rc_binary(&r, RC_SUB, a, c));
  CHECK(shape_is(r, 2, s34));
  CHECK_VALUES(r, -1, -2, -3, -4, 9, 8, 7, 6, 19, 18, 17, 16);
  rc_release(r);
  /* a 0-d tensor against a (3,1) */
  rc_tensor *z = scalar_of(2);
  CHECK_OK(rc_binary(&r, RC_MUL, z, a));
  CHECK(shape_is(r, 2, s31));
  CHECK_VALUES(r, 0, 20, 40);
  rc_release(r);
  /* 0-d with 0-d stays 0-d */
  CHECK_OK(rc_binary(&r, RC_ADD, z, z));
  CHECK(r && r->ndim == 0);
  CHECK_VALUES(r, 4);
  rc_release(r);
  rc_release(z);
  rc_release(a);
  rc_release(b);
  rc_release(c);
}

static void test_scalar_forms(void) {
  int64_t s3[] = {3};
  rc_tensor *a = tensor_of(1, s3, (float[]){1, 2, 4});
  rc_tensor *r = NULL;
  CHECK_OK(rc_binary_scalar(&r, RC_SUB, a, 1)); CHECK_VALUES(r, 0, 1, 3); rc_release(r);
  CHECK_OK(rc_scalar_binary(&r, RC_SUB, 1, a)); CHECK_VALUES(r, 0, -1, -3); rc_release(r);
  CHECK_OK(rc_binary_scalar(&r, RC_DIV, a, 2)); CHECK_VALUES(r, 0.5, 1, 2); rc_release(r);
  CHECK_OK(rc_scalar_binary(&r, RC_DIV, 2, a)); CHECK_VALUES(r, 2, 1, 0.5); rc_release(r);
  CHECK_OK(rc_binary_scalar(&r, RC_POW, a, 2)); CHECK_VALUES(r, 1, 4, 16); rc_release(r);
  CHECK_OK(rc_binary_scalar(&r, RC_POW, a, 3)); CHECK_VALUES(r, 1, 8, 64); rc_release(r);
  CHECK_OK(rc_scalar_binary(&r, RC_POW, 2, a)); CHECK_VALUES(r, 2, 4, 16); rc_release(r);
  CHECK_OK(rc_binary_scalar(&r, RC_LT, a, 2)); CHECK_VALUES(r, 1, 0, 0); rc_release(r);
  CHECK_OK(rc_scalar_binary(&r, RC_LT, 2, a)); CHECK_VALUES(r, 0, 0, 1); rc_release(r);
  CHECK_OK(rc_binary_scalar(&r, RC_MAXIMUM, a, 2)); CHECK_VALUES(r, 2, 2, 4); rc_release(r);
  CHECK_OK(rc_binary_scalar(&r, RC_ADD, a, 0.25)); CHECK_VALUES(r, 1.25, 2.25, 4.25);
  rc_release(r);
  /* a 0-d tensor with a scalar */
  rc_tensor *z = scalar_of(3);
  CHECK_OK(rc_binary_scalar(&r, RC_MUL, z, 2));
  CHECK(r && r->ndim == 0);
  CHECK_VALUES(r, 6);
  rc_release(r);
  rc_release(z);
  rc_release(a);
}

static void test_int64(void) {
  int64_t s3[] = {3};
  rc_tensor *a = i64_of(1, s3, (int64_t[]){7, -3, 4});
  rc_tensor *b = i64_of(1, s3, (int64_t[]){2, 2, -8});
  rc_tensor *r = NULL;
  CHECK_OK(rc_binary(&r, RC_ADD, a, b));
  CHECK(r && r->dtype == RC_INT64);
  CHECK_VALUES(r, 9, -1, -4);
  rc_release(r);
  CHECK_OK(rc_binary(&r, RC_SUB, a, b)); CHECK_VALUES(r, 5, -5, 12); rc_release(r);
  CHECK_OK(rc_binary(&r, RC_MUL, a, b)); CHECK_VALUES(r, 14, -6, -32); rc_release(r);
  CHECK_OK(rc_binary(&r, RC_MAXIMUM, a, b)); CHECK_VALUES(r, 7, 2, 4); rc_release(r);
  CHECK_OK(rc_binary(&r, RC_MINIMUM, a, b)); CHECK_VALUES(r, 2, -3, -8); rc_release(r);
  CHECK_OK(rc_binary(&r, RC_GT, a, b));
  CHECK(r && r->dtype == RC_INT64);
  CHECK_VALUES(r, 1, 0, 1);
  rc_release(r);
  /* true division and pow give float32 */
  CHECK_OK(rc_binary(&r, RC_DIV, a, b));
  CHECK(r && r->dtype == RC_FLOAT32);
  CHECK_VALUES(r, 3.5, -1.5, -0.5);
  rc_release(r);
  CHECK_OK(rc_binary(&r, RC_POW, a, b));
  CHECK(r && r->dtype == RC_FLOAT32);
  CHECK_VALUES(r, 49, 9, 1.0f / 65536);
  rc_release(r);
  /* a whole scalar keeps int64, a fraction gives float32 */
  CHECK_OK(rc_binary_scalar(&r, RC_MUL, a, 3));
  CHECK(r && r->dtype == RC_INT64);
  CHECK_VALUES(r, 21, -9, 12);
  rc_release(r);
  CHECK_OK(rc_scalar_binary(&r, RC_SUB, 10, a));
  CHECK(r && r->dtype == RC_INT64);
  CHECK_VALUES(r, 3, 13, 6);
  rc_release(r);
  CHECK_OK(rc_binary_scalar(&r, RC_ADD, a, 0.5));
  CHECK(r && r->dtype == RC_FLOAT32);
  CHECK_VALUES(r, 7.5, -2.5, 4.5);
  rc_release(r);
  /* int64 with float32 promotes to float32 */
  rc_tensor *f = tensor_of(1, s3, (float[]){0.5f, 0.5f, 0.5f});
  CHECK_OK(rc_binary(&r, RC_ADD, a, f));
  CHECK(r && r->dtype == RC_FLOAT32);
  CHECK_VALUES(r, 7.5, -2.5, 4.5);
  rc_release(r);
  CHECK_OK(rc_binary(&r, RC_LE, f, a));
  CHECK(r && r->dtype == RC_FLOAT32);
  CHECK_VALUES(r, 1, 0, 1);
  rc_release(r);
  /* values past 2^53 stay exact in the int64 path */
  int64_t s1[] = {1};
  rc_tensor *big = i64_of(1, s1, (int64_t[]){(INT64_C(1) << 62) + 1});
  CHECK_OK(rc_binary(&r, RC_SUB, big, big)); CHECK_VALUES(r, 0); rc_release(r);
  CHECK_OK(rc_binary_scalar(&r, RC_ADD, big, 2));
  CHECK(r && rc_i64(r)[0] == (INT64_C(1) << 62) + 3);
  rc_release(r);
  /* overflow wraps as two's complement (as PyTorch's int64) */
  rc_tensor *mx = i64_of(1, s1, (int64_t[]){INT64_MAX});
  CHECK_OK(rc_binary_scalar(&r, RC_ADD, mx, 1));
  CHECK(r && rc_i64(r)[0] == INT64_MIN);
  rc_release(r);
  rc_release(mx);
  rc_release(big);
  /* unary: integer ops stay int64, the rest give float32 */
  CHECK_OK(rc_unary(&r, RC_NEG, a)); CHECK(r && r->dtype == RC_INT64);
  CHECK_VALUES(r, -7, 3, -4); rc_release(r);
  CHECK_OK(rc_unary(&r, RC_ABS, a)); CHECK_VALUES(r, 7, 3, 4); rc_release(r);
  CHECK_OK(rc_unary(&r, RC_SIGN, a)); CHECK_VALUES(r, 1, -1, 1); rc_release(r);
  CHECK_OK(rc_unary(&r, RC_SQUARE, a)); CHECK(r && r->dtype == RC_INT64);
  CHECK_VALUES(r, 49, 9, 16); rc_release(r);
  CHECK_OK(rc_unary(&r, RC_RELU, a)); CHECK_VALUES(r, 7, 0, 4); rc_release(r);
  CHECK_OK(rc_unary(&r, RC_SQRT, b)); CHECK(r && r->dtype == RC_FLOAT32);
  CHECK_VALUES(r, (float)sqrt(2.0), (float)sqrt(2.0), NAN); rc_release(r);
  CHECK_OK(rc_unary(&r, RC_RECIPROCAL, b)); CHECK(r && r->dtype == RC_FLOAT32);
  CHECK_VALUES(r, 0.5, 0.5, -0.125); rc_release(r);
  rc_release(f);
  rc_release(a);
  rc_release(b);
}

/* --- unary ------------------------------------------------------------------------ */

static void test_unary_values(void) {
  int64_t s4[] = {4};
  rc_tensor *a = tensor_of(1, s4, (float[]){-1.5f, 0, 0.5f, 2});
  rc_tensor *r = NULL;
  CHECK_OK(rc_unary(&r, RC_NEG, a)); CHECK_VALUES(r, 1.5, 0, -0.5, -2); rc_release(r);
  CHECK_OK(rc_unary(&r, RC_ABS, a)); CHECK_VALUES(r, 1.5, 0, 0.5, 2); rc_release(r);
  CHECK_OK(rc_unary(&r, RC_RELU, a)); CHECK_VALUES(r, 0, 0, 0.5, 2); rc_release(r);
  CHECK_OK(rc_unary(&r, RC_FLOOR, a)); CHECK_VALUES(r, -2, 0, 0, 2); rc_release(r);
  CHECK_OK(rc_unary(&r, RC_CEIL, a)); CHECK_VALUES(r, -1, 0, 1, 2); rc_release(r);
  CHECK_OK(rc_unary(&r, RC_SIGN, a)); CHECK_VALUES(r, -1, 0, 1, 1); rc_release(r);
  CHECK_OK(rc_unary(&r, RC_SQUARE, a)); CHECK_VALUES(r, 2.25, 0, 0.25, 4); rc_release(r);
  CHECK_OK(rc_unary(&r, RC_RECIPROCAL, a));
  CHECK_VALUES(r, -1 / 1.5f, INFINITY, 2, 0.5);
  rc_release(r);
  rc_release(a);

  /* round: halves go to the even neighbour, as torch.round */
  rc_tensor *h = tensor_of(1, s4, (float[]){0.5f, 1.5f, 2.5f, -0.5f});
  CHECK_OK(rc_unary(&r, RC_ROUND, h)); CHECK_VALUES(r, 0, 2, 2, -0.0); rc_release(r);
  rc_release(h);

  /* transcendental ones against values worked out by hand */
  rc_tensor *x = tensor_of(1, s4, (float[]){0, 1, 4, -1});
  CHECK_OK(rc_unary(&r, RC_EXP, x));
  CHECK_NEAR(rc_get_flat(r, 0), 1.0, 0);
  CHECK_NEAR(rc_get_flat(r, 1), 2.718281828, 1e-6);
  CHECK_NEAR(rc_get_flat(r, 2), 54.59815003, 1e-4);
  CHECK_NEAR(rc_get_flat(r, 3), 0.3678794412, 1e-7);
  rc_release(r);
  CHECK_OK(rc_unary(&r, RC_SQRT, x)); CHECK_VALUES(r, 0, 1, 2, NAN); rc_release(r);
  CHECK_OK(rc_unary(&r, RC_LOG, x));
  CHECK_VALUES(r, -INFINITY, 0, rc_get_flat(r, 2), NAN);
  CHECK_NEAR(rc_get_flat(r, 2), 1.386294361, 1e-6);
  rc_release(r);
  CHECK_OK(rc_unary(&r, RC_LOG1P, x));
  CHECK_NEAR(rc_get_flat(r, 0), 0, 0);
  CHECK_NEAR(rc_get_flat(r, 1), 0.6931471806, 1e-7);
  CHECK_NEAR(rc_get_flat(r, 2), 1.609437912, 1e-6);
  CHECK(rc_get_flat(r, 3) == -INFINITY);
  rc_release(r);
  CHECK_OK(rc_unary(&r, RC_TANH, x));
  CHECK_NEAR(rc_get_flat(r, 0), 0, 0);
  CHECK_NEAR(rc_get_flat(r, 1), 0.7615941560, 1e-7);
  CHECK_NEAR(rc_get_flat(r, 2), 0.9993292997, 1e-7);
  CHECK_NEAR(rc_get_flat(r, 3), -0.7615941560, 1e-7);
  rc_release(r);
  CHECK_OK(rc_unary(&r, RC_SIGMOID, x));
  CHECK_NEAR(rc_get_flat(r, 0), 0.5, 0);
  CHECK_NEAR(rc_get_flat(r, 1), 0.7310585786, 1e-7);
  CHECK_NEAR(rc_get_flat(r, 2), 0.9820137900, 1e-7);
  CHECK_NEAR(rc_get_flat(r, 3), 0.2689414214, 1e-7);
  rc_release(r);
  CHECK_OK(rc_unary(&r, RC_SIN, x));
  CHECK_NEAR(rc_get_flat(r, 1), 0.8414709848, 1e-7);
  CHECK_NEAR(rc_get_flat(r, 2), -0.7568024953, 1e-7);
  rc_release(r);
  CHECK_OK(rc_unary(&r, RC_COS, x));
  CHECK_NEAR(rc_get_flat(r, 0), 1, 0);
  CHECK_NEAR(rc_get_flat(r, 1), 0.5403023059, 1e-7);
  CHECK_NEAR(rc_get_flat(r, 2), -0.6536436209, 1e-7);
  rc_release(r);
  rc_release(x);
}

static void test_unary_extremes(void) {
  int64_t s7[] = {7};
  rc_tensor *x = tensor_of(1, s7, (float[]){-1000, -100, 100, 1000, -INFINITY, INFINITY, NAN});
  rc_tensor *r = NULL;
  /* sigmoid saturates cleanly: no NaN from inf/inf, tiny but exact tails */
  CHECK_OK(rc_unary(&r, RC_SIGMOID, x));
  CHECK_VALUES(r, 0, rc_get_flat(r, 1), 1, 1, 0, 1, NAN);
  /* e^-100 ~ 3.7e-44 survives as a float32 denormal instead of 1/(1+inf) = 0 */
  CHECK(rc_get_flat(r, 1) > 3.6e-44 && rc_get_flat(r, 1) < 3.8e-44);
  rc_release(r);
  /* relu keeps NaN as torch.relu, and clips -inf */
  CHECK_OK(rc_unary(&r, RC_RELU, x));
  CHECK_VALUES(r, 0, 0, 100, 1000, 0, INFINITY, NAN);
  rc_release(r);
  CHECK_OK(rc_unary(&r, RC_TANH, x));
  CHECK_VALUES(r, -1, -1, 1, 1, -1, 1, NAN);
  rc_release(r);
  CHECK_OK(rc_unary(&r, RC_EXP, x));
  CHECK_VALUES(r, 0, rc_get_flat(r, 1), INFINITY, INFINITY, 0, INFINITY, NAN);
  CHECK(rc_get_flat(r, 1) > 3.6e-44 && rc_get_flat(r, 1) < 3.8e-44);
  rc_release(r);
  CHECK_OK(rc_unary(&r, RC_LOG, x));
  CHECK_VALUES(r, NAN, NAN, rc_get_flat(r, 2), rc_get_flat(r, 3), NAN, INFINITY, NAN);
  CHECK_NEAR(rc_get_flat(r, 2), 4.605170186, 1e-6);
  CHECK_NEAR(rc_get_flat(r, 3), 6.907755279, 1e-6);
  rc_release(r);
  /* sign(NaN) is 0, as torch.sign */
  CHECK_OK(rc_unary(&r, RC_SIGN, x));
  CHECK_VALUES(r, -1, -1, 1, 1, -1, 1, 0);
  rc_release(r);
  rc_release(x);
}

/* --- strided operands against an obvious reference loop ----------------------------- */

static float reference_binop(rc_binop op, float x, float y) {
  switch (op) {
    case RC_ADD: return x + y;
    case RC_SUB: return x - y;
    case RC_MUL: return x * y;
    case RC_DIV: return x / y;
    case RC_POW: return powf(x, y);
    case RC_MAXIMUM: return isnan(x) || isnan(y) ? NAN : fmaxf(x, y);
    case RC_MINIMUM: return isnan(x) || isnan(y) ? NAN : fminf(x, y);
    case RC_EQ: return x == y;
    case RC_NE: return x != y;
    case RC_LT: return x < y;
    case RC_LE: return x <= y;
    case RC_GT: return x > y;
    case RC_GE: return x >= y;
  }
  return 0;
}

static bool same_float(float x, float y) { return (isnan(x) && isnan(y)) || x == y; }

/* a (R,C) and its transpose (C,R) as a strided view, plus a column (R,1) and a row (1,C):
   every stride pattern of the row kernels (contiguous, broadcast a or b, strided) is hit. */
static void test_strided_against_reference(void) {
  enum { R = 37, C = 53 };
  int64_t shape[] = {R, C}, tshape[] = {C, R}, tstride[] = {1, R}, col[] = {R, 1}, row[] = {1, C};
  float va[R * C], vb[R * C], vc[R], vr[C];
  for (int i = 0; i < R * C; i++) {
    va[i] = (float)((i * 37) % 23) / 4 - 2.5f;
    vb[i] = (float)((i * 11) % 19) / 8 + 0.125f;
  }
  for (int i = 0; i < R; i++) vc[i] = (float)(i % 7) - 3;
  for (int i = 0; i < C; i++) vr[i] = (float)(i % 5) / 2;
  va[5] = NAN;
  rc_tensor *a = tensor_of(2, shape, va), *b = tensor_of(2, shape, vb);
  rc_tensor *bt_base = tensor_of(2, tshape, vb), *bt = NULL;
  CHECK_OK(rc_view_of(&bt, bt_base, 2, shape, tstride, 0)); /* bt[i][j] = vb[j*R + i] */
  rc_tensor *c = tensor_of(2, col, vc), *rw = tensor_of(2, row, vr);
  for (int op = RC_ADD; op <= RC_GE; op++) {
    rc_tensor *r1 = NULL, *r2 = NULL, *r3 = NULL, *r4 = NULL, *r5 = NULL;
    CHECK_OK(rc_binary(&r1, op, a, b));
    CHECK_OK(rc_binary(&r2, op, a, bt));
    CHECK_OK(rc_binary(&r3, op, a, c));
    CHECK_OK(rc_binary(&r4, op, rw, a));
    CHECK_OK(rc_binary_scalar(&r5, op, bt, 1.5));
    bool ok = r1 && r2 && r3 && r4 && r5;
    for (int i = 0; ok && i < R; i++)
      for (int j = 0; ok && j < C; j++) {
        float x = va[i * C + j];
        ok = same_float(rc_f32(r1)[i * C + j], reference_binop(op, x, vb[i * C + j])) &&
             same_float(rc_f32(r2)[i * C + j], reference_binop(op, x, vb[j * R + i])) &&
             same_float(rc_f32(r3)[i * C + j], reference_binop(op, x, vc[i])) &&
             same_float(rc_f32(r4)[i * C + j], reference_binop(op, vr[j], x)) &&
             same_float(rc_f32(r5)[i * C + j], reference_binop(op, vb[j * R + i], 1.5f));
        if (!ok) fprintf(stderr, "  %s differs at (%d,%d)\n", rc_binop_name(op), i, j);
      }
    CHECK(ok);
    rc_release(r1); rc_release(r2); rc_release(r3); rc_release(r4); rc_release(r5);
  }
  /* unary on the transposed view */
  rc_tensor *u = NULL;
  CHECK_OK(rc_unary(&u, RC_SIGMOID, bt));
  bool ok = u != NULL;
  for (int i = 0; ok && i < R; i++)
    for (int j = 0; ok && j < C; j++) {
      float x = vb[j * R + i];
      ok = fabsf(rc_f32(u)[i * C + j] - 1.0f / (1.0f + expf(-x))) < 1e-7f;
    }
  CHECK(ok);
  rc_release(u);
  rc_release(a); rc_release(b); rc_release(bt); rc_release(bt_base);
  rc_release(c); rc_release(rw);
}

/* --- in place ------------------------------------------------------------------------ */

static void test_inplace(void) {
  int64_t s23[] = {2, 3};
  rc_tensor *a = tensor_of(2, s23, (float[]){1, 2, 3, 4, 5, 6});
  int64_t s3[] = {3};
  rc_tensor *b = tensor_of(1, s3, (float[]){10, 20, 30});
  CHECK_OK(rc_binary_(a, RC_ADD, b));
  CHECK_VALUES(a, 11, 22, 33, 14, 25, 36);
  CHECK_OK(rc_binary_scalar_(a, RC_SUB, 1));
  CHECK_VALUES(a, 10, 21, 32, 13, 24, 35);
  CHECK_OK(rc_unary_(a, RC_NEG));
  CHECK_VALUES(a, -10, -21, -32, -13, -24, -35);
  CHECK_OK(rc_clamp_(a, -30, -20));
  CHECK_VALUES(a, -20, -21, -30, -20, -24, -30);
  /* a op= a reads and writes the same elements */
  CHECK_OK(rc_binary_(a, RC_MUL, a));
  CHECK_VALUES(a, 400, 441, 900, 400, 576, 900);
  rc_release(a);
  rc_release(b);
}

static void test_inplace_through_view(void) {
  int64_t s23[] = {2, 3};
  rc_tensor *base = tensor_of(2, s23, (float[]){1, 2, 3, 4, 5, 6});
  /* column 1 of base: shape (2), stride 3, offset 1 */
  int64_t vshape[] = {2}, vstride[] = {3};
  rc_tensor *col = NULL;
  CHECK_OK(rc_view_of(&col, base, 1, vshape, vstride, 1));
  CHECK_OK(rc_binary_scalar_(col, RC_MUL, 10));
  CHECK_VALUES(base, 1, 20, 3, 4, 50, 6);
  CHECK_OK(rc_unary_(col, RC_RELU));
  CHECK_OK(rc_unary_(col, RC_NEG));
  CHECK_VALUES(base, 1, -20, 3, 4, -50, 6);
  rc_tensor *mask = NULL;
  int64_t s2[] = {2};
  mask = tensor_of(1, s2, (float[]){0, 1});
  CHECK_OK(rc_masked_fill_(col, mask, 7));
  CHECK_VALUES(base, 1, -20, 3, 4, 7, 6);
  /* the transposed view (3,2) of base */
  int64_t tshape[] = {3, 2}, tstride[] = {1, 3};
  rc_tensor *t = NULL;
  CHECK_OK(rc_view_of(&t, base, 2, tshape, tstride, 0));
  rc_tensor *inc = tensor_of(1, s2, (float[]){100, 200});
  CHECK_OK(rc_binary_(t, RC_ADD, inc)); /* base row 0 += 100, row 1 += 200 */
  CHECK_VALUES(base, 101, 80, 103, 204, 207, 206);
  rc_release(inc);
  rc_release(t);
  rc_release(mask);
  rc_release(col);
  rc_release(base);
}

/* b shares a's storage but reads other elements: a.add_(a[0]) must use the old row 0. */
static void test_inplace_overlap(void) {
  enum { R = 300, C = 257 }; /* large enough to run in parallel */
  int64_t shape[] = {R, C};
  float *v = malloc(sizeof(float) * R * C);
  for (int i = 0; i < R * C; i++) v[i] = (float)(i % 101);
  rc_tensor *a = tensor_of(2, shape, v);
  int64_t rshape[] = {C}, rstride[] = {1};
  rc_tensor *row0 = NULL;
  CHECK_OK(rc_view_of(&row0, a, 1, rshape, rstride, 0));
  rc_set_threads(2);
  CHECK_OK(rc_binary_(a, RC_ADD, row0));
  bool ok = true;
  for (int i = 0; i < R && ok; i++)
    for (int j = 0; j < C && ok; j++) ok = rc_f32(a)[i * C + j] == v[i * C + j] + v[j];
  CHECK(ok);
  /* the reversed view: a[i] = a[i] - a[R-1-i] across the whole tensor */
  memcpy(rc_f32(a), v, sizeof(float) * R * C);
  int64_t rev_stride[] = {-C, 1};
  rc_tensor *rev = NULL;
  CHECK_OK(rc_view_of(&rev, a, 2, shape, rev_stride, (R - 1) * C));
  CHECK_OK(rc_binary_(a, RC_SUB, rev));
  ok = true;
  for (int i = 0; i < R && ok; i++)
    for (int j = 0; j < C && ok; j++)
      ok = rc_f32(a)[i * C + j] == v[i * C + j] - v[(R - 1 - i) * C + j];
  CHECK(ok);
  /* masked_fill_ with a mask that is a view of a itself */
  memcpy(rc_f32(a), v, sizeof(float) * R * C);
  CHECK_OK(rc_masked_fill_(a, rev, -1));
  ok = true;
  for (int i = 0; i < R && ok; i++)
    for (int j = 0; j < C && ok; j++)
      ok = rc_f32(a)[i * C + j] == (v[(R - 1 - i) * C + j] != 0 ? -1 : v[i * C + j]);
  CHECK(ok);
  rc_set_threads(1);
  rc_release(rev);
  rc_release(row0);
  rc_release(a);
  free(v);
}

static void test_inplace_errors(void) {
  int64_t s31[] = {3, 1}, s14[] = {1, 4}, s3[] = {3};
  rc_tensor *a = tensor_of(2, s31, (float[]){1, 2, 3});
  rc_tensor *b = tensor_of(2, s14, (float[]){1, 2, 3, 4});
  float before[3] = {1, 2, 3};
  CHECK_FAILS(rc_binary_(a, RC_ADD, b), "add_: the result must keep the tensor's shape (3,1), "
                                        "but (3,1) and (1,4) broadcast to (3,4)");
  CHECK(!memcmp(rc_f32(a), before, sizeof before)); /* untouched */
  rc_tensor *c = tensor_of(2, (int64_t[]){2, 1}, (float[]){1, 2});
  CHECK_FAILS(rc_binary_(a, RC_MUL, c),
              "mul_: shapes (3,1) and (2,1) cannot be broadcast (3 vs 2)");
  /* int64 cannot hold a float32 result */
  rc_tensor *i = i64_of(1, s3, (int64_t[]){1, 2, 3});
  rc_tensor *f = tensor_of(1, s3, (float[]){1, 2, 3});
  CHECK_FAILS(rc_binary_(i, RC_ADD, f), "add_: the result is float32 but the tensor is int64 "
                                        "(an in-place op cannot change the dtype)");
  CHECK_FAILS(rc_binary_(i, RC_DIV, i), "div_: the result is float32 but the tensor is int64");
  CHECK_FAILS(rc_binary_scalar_(i, RC_MUL, 0.5), "mul_: the result is float32 but the tensor");
  CHECK_FAILS(rc_unary_(i, RC_EXP), "exp_: the result is float32 but the tensor is int64");
  CHECK_OK(rc_unary_(i, RC_NEG));
  CHECK_VALUES(i, -1, -2, -3);
  CHECK_OK(rc_binary_scalar_(i, RC_MUL, 2));
  CHECK_VALUES(i, -2, -4, -6);
  /* float32 op= int64 is fine */
  CHECK_OK(rc_binary_(f, RC_SUB, i));
  CHECK_VALUES(f, 3, 6, 9);
  /* an expanded view (stride 0) has one memory location for several elements */
  rc_tensor *e = NULL;
  CHECK_OK(rc_view_of(&e, f, 2, (int64_t[]){2, 3}, (int64_t[]){0, 1}, 0));
  CHECK_FAILS(rc_unary_(e, RC_NEG), "neg_: cannot write in place into a tensor whose elements "
                                    "share memory (an expanded view); clone it first");
  CHECK_FAILS(rc_binary_scalar_(e, RC_ADD, 1), "add_: cannot write in place");
  CHECK_VALUES(f, 3, 6, 9);
  rc_release(e);
  rc_release(i);
  rc_release(f);
  rc_release(c);
  rc_release(a);
  rc_release(b);
}

/* --- clamp, where, masked_fill ------------------------------------------------------- */

static void test_clamp(void) {
  int64_t s5[] = {5};
  rc_tensor *a = tensor_of(1, s5, (float[]){-2, -0.5f, 0.5f, 3, NAN});
  rc_tensor *r = NULL;
  CHECK_OK(rc_clamp(&r, a, -1, 1)); CHECK_VALUES(r, -1, -0.5, 0.5, 1, NAN); rc_release(r);
  CHECK_OK(rc_clamp(&r, a, 0, NAN)); CHECK_VALUES(r, 0, 0, 0.5, 3, NAN); rc_release(r);
  CHECK_OK(rc_clamp(&r, a, NAN, 0)); CHECK_VALUES(r, -2, -0.5, 0, 0, NAN); rc_release(r);
  /* min > max: everything becomes max, as torch.clamp */
  CHECK_OK(rc_clamp(&r, a, 2, 1)); CHECK_VALUES(r, 1, 1, 1, 1, NAN); rc_release(r);
  CHECK_FAILS(rc_clamp(&r, a, NAN, NAN), "clamp: at least one of min and max must be given");
  CHECK_FAILS(rc_clamp_(a, NAN, NAN), "clamp_: at least one of min and max must be given");
  rc_tensor *i = i64_of(1, s5, (int64_t[]){-5, -1, 0, 2, 9});
  CHECK_OK(rc_clamp(&r, i, -1, 3));
  CHECK(r && r->dtype == RC_INT64);
  CHECK_VALUES(r, -1, -1, 0, 2, 3);
  rc_release(r);
  /* fractional bounds on int64 are rounded inward: [-0.5, 2.5] -> [0, 2] */
  CHECK_OK(rc_clamp(&r, i, -0.5, 2.5)); CHECK_VALUES(r, 0, 0, 0, 2, 2); rc_release(r);
  CHECK_OK(rc_clamp(&r, i, NAN, 1e300)); CHECK_VALUES(r, -5, -1, 0, 2, 9); rc_release(r);
  rc_release(i);
  rc_release(a);
}

static void test_where(void) {
  int64_t s3[] = {3}, s21[] = {2, 1}, s23[] = {2, 3};
  rc_tensor *cond = tensor_of(1, s3, (float[]){1, 0, -2});
  rc_tensor *a = tensor_of(2, s21, (float[]){10, 20});
  rc_tensor *b = tensor_of(1, s3, (float[]){-1, -2, -3});
  rc_tensor *r = NULL;
  CHECK_OK(rc_where(&r, cond, a, b));
  CHECK(shape_is(r, 2, s23));
  CHECK_VALUES(r, 10, -2, 10, 20, -2, 20);
  rc_release(r);
  /* an int64 condition; int64 values stay int64 */
  rc_tensor *ci = i64_of(2, s21, (int64_t[]){0, 5});
  rc_tensor *ia = i64_of(1, s3, (int64_t[]){1, 2, 3});
  rc_tensor *ib = i64_of(0, NULL, (int64_t[]){0});
  CHECK_OK(rc_where(&r, ci, ia, ib));
  CHECK(shape_is(r, 2, s23) && r->dtype == RC_INT64);
  CHECK_VALUES(r, 0, 0, 0, 1, 2, 3);
  rc_release(r);
  /* mixed int64 and float32 values give float32 */
  rc_tensor *half = scalar_of(0.5f);
  CHECK_OK(rc_where(&r, cond, ia, half));
  CHECK(r && r->dtype == RC_FLOAT32);
  CHECK_VALUES(r, 1, 0.5, 3);
  rc_release(r);
  /* a condition that does not broadcast */
  rc_tensor *bad = tensor_of(1, (int64_t[]){4}, (float[]){1, 1, 1, 1});
  CHECK_FAILS(rc_where(&r, bad, a, b), "where: shapes (4), (2,1) and (3) cannot be broadcast "
                                       "together");
  CHECK_FAILS(rc_where(&r, cond, a, bad), "where: shapes (3), (2,1) and (4) cannot be broadcast "
                                          "together");
  rc_release(bad);
  rc_release(half);
  rc_release(ci); rc_release(ia); rc_release(ib);
  rc_release(cond); rc_release(a); rc_release(b);
}

static void test_masked_fill(void) {
  int64_t s23[] = {2, 3}, s3[] = {3};
  rc_tensor *a = tensor_of(2, s23, (float[]){1, 2, 3, 4, 5, 6});
  rc_tensor *mask = tensor_of(1, s3, (float[]){1, 0, 1});
  rc_tensor *r = NULL;
  CHECK_OK(rc_masked_fill(&r, a, mask, -INFINITY));
  CHECK_VALUES(r, -INFINITY, 2, -INFINITY, -INFINITY, 5, -INFINITY);
  CHECK_VALUES(a, 1, 2, 3, 4, 5, 6); /* out of place leaves a alone */
  rc_release(r);
  rc_tensor *im = i64_of(2, (int64_t[]){2, 1}, (int64_t[]){0, 1});
  CHECK_OK(rc_masked_fill_(a, im, 0));
  CHECK_VALUES(a, 1, 2, 3, 0, 0, 0);
  rc_tensor *ia = i64_of(1, s3, (int64_t[]){7, 8, 9});
  CHECK_OK(rc_masked_fill(&r, ia, mask, -1));
  CHECK(r && r->dtype == RC_INT64);
  CHECK_VALUES(r, -1, 8, -1);
  rc_release(r);
  CHECK_FAILS(rc_masked_fill(&r, ia, mask, NAN), "masked_fill: value nan does not fit an int64 "
                                                 "tensor");
  /* the mask must broadcast to a's shape; a's shape never grows */
  rc_tensor *big = tensor_of(2, s23, (float[]){0, 0, 0, 0, 0, 0});
  CHECK_FAILS(rc_masked_fill(&r, ia, big, 0),
              "masked_fill: shape (2,3) cannot be broadcast to (3)");
  CHECK_FAILS(rc_masked_fill_(ia, big, 0), "masked_fill_: shape (2,3) cannot be broadcast to (3)");
  rc_release(big);
  rc_release(ia);
  rc_release(im);
  rc_release(mask);
  rc_release(a);
}

static void test_errors(void) {
  int64_t s23[] = {2, 3}, s43[] = {4, 3};
  rc_tensor *a = tensor_of(2, s23, (float[]){1, 2, 3, 4, 5, 6});
  rc_tensor *b = NULL;
  CHECK_OK(rc_full(&b, RC_FLOAT32, 2, s43, 0));
  rc_tensor *r = NULL;
  CHECK_FAILS(rc_binary(&r, RC_ADD, a, b),
              "add: shapes (2,3) and (4,3) cannot be broadcast (2 vs 4)");
  CHECK(r == NULL);
  CHECK_FAILS(rc_binary(&r, RC_GE, b, a),
              "ge: shapes (4,3) and (2,3) cannot be broadcast (4 vs 2)");
  CHECK_FAILS(rc_binary(&r, (rc_binop)99, a, b), "binary: unknown op 99");
  CHECK_FAILS(rc_unary(&r, (rc_unop)-1, a), "unary: unknown op -1");
  CHECK(r == NULL);
  rc_release(a);
  rc_release(b);
}

/* --- thread-count independence ------------------------------------------------------ */

static bool run_ops(rc_tensor **outs, const rc_tensor *x, const rc_tensor *xt,
                    const rc_tensor *col) {
  bool ok = true;
  ok &= rc_binary(&outs[0], RC_ADD, x, col) == RC_OK;
  ok &= rc_binary(&outs[1], RC_POW, x, xt) == RC_OK;
  ok &= rc_unary(&outs[2], RC_SIGMOID, x) == RC_OK;
  ok &= rc_unary(&outs[3], RC_TANH, xt) == RC_OK;
  ok &= rc_binary_scalar(&outs[4], RC_DIV, xt, 3) == RC_OK;
  ok &= rc_where(&outs[5], col, x, xt) == RC_OK;
  ok &= rc_clamp(&outs[6], xt, -0.5, 0.25) == RC_OK;
  ok &= rc_masked_fill(&outs[7], x, col, 9) == RC_OK;
  return ok;
}

static void test_thread_independence(void) {
  enum { N = 512, NOUT = 8 };
  int64_t shape[] = {N, N}, tstride[] = {1, N}, cshape[] = {N, 1};
  float *v = malloc(sizeof(float) * N * N), c[N];
  for (int i = 0; i < N * N; i++) v[i] = sinf((float)i * 0.001f) * 3;
  for (int i = 0; i < N; i++) c[i] = (float)(i % 3 == 0);
  rc_tensor *x = tensor_of(2, shape, v), *col = tensor_of(2, cshape, c), *xt = NULL;
  CHECK_OK(rc_view_of(&xt, x, 2, shape, tstride, 0));
  rc_tensor *one[NOUT] = {0}, *two[NOUT] = {0};
  rc_set_threads(1);
  CHECK(run_ops(one, x, xt, col));
  rc_set_threads(2);
  CHECK(run_ops(two, x, xt, col));
  rc_set_threads(1);
  for (int k = 0; k < NOUT; k++) {
    CHECK(one[k] && two[k] && !memcmp(rc_f32(one[k]), rc_f32(two[k]), sizeof(float) * N * N));
    rc_release(one[k]);
    rc_release(two[k]);
  }
  rc_release(x);
  rc_release(xt);
  rc_release(col);
  free(v);
}

static void test_empty(void) {
  int64_t s0[] = {0, 3};
  rc_tensor *a = NULL, *r = NULL;
  CHECK_OK(rc_full(&a, RC_FLOAT32, 2, s0, 0));
  CHECK_OK(rc_binary_scalar(&r, RC_ADD, a, 1));
  CHECK(shape_is(r, 2, s0));
  rc_release(r);
  CHECK_OK(rc_unary_(a, RC_EXP));
  rc_release(a);
}

int main(void) {
  test_names();
  test_binary_values();
  test_binary_nan();
  test_broadcast();
  test_scalar_forms();
  test_int64();
  test_unary_values();
  test_unary_extremes();
  test_strided_against_reference();
  test_inplace();
  test_inplace_through_view();
  test_inplace_overlap();
  test_inplace_errors();
  test_clamp();
  test_where();
  test_masked_fill();
  test_errors();
  test_thread_independence();
  test_empty();
  return check_summary("elementwise");
}
