/* core/elementwise.c — elementwise ops with PyTorch broadcasting: binary (tensor or scalar),
   unary, clamp, where, masked_fill, and their in-place forms, all over rc_loop. */
#include <math.h>
#include <stdint.h>
#include "loop.h"
#include "ops.h"

/* The kernels below are written once per dtype as inline functions of a constant op: every
   call site names the op, so after inlining each inner loop holds one operation and no switch,
   and the contiguous float32 loops vectorize. */
#define ALWAYS_INLINE static inline __attribute__((always_inline))

static const char *const binop_names[] = {
  "add", "sub", "mul", "div", "pow", "maximum", "minimum", "eq", "ne", "lt", "le", "gt", "ge"};
static const char *const binop_names_[] = {
  "add_", "sub_", "mul_", "div_", "pow_", "maximum_", "minimum_", "eq_", "ne_", "lt_", "le_",
  "gt_", "ge_"};
static const char *const unop_names[] = {
  "neg", "abs", "exp", "log", "sqrt", "tanh", "sigmoid", "relu", "sin", "cos", "floor", "ceil",
  "round", "sign", "reciprocal", "square", "log1p"};
static const char *const unop_names_[] = {
  "neg_", "abs_", "exp_", "log_", "sqrt_", "tanh_", "sigmoid_", "relu_", "sin_", "cos_",
  "floor_", "ceil_", "round_", "sign_", "reciprocal_", "square_", "log1p_"};

#define NBINOPS ((int)(sizeof binop_names / sizeof *binop_names))
#define NUNOPS ((int)(sizeof unop_names / sizeof *unop_names))

const char *rc_binop_name(rc_binop op) {
  return (int)op >= 0 && (int)op < NBINOPS ? binop_names[op] : "?";
}

const char *rc_unop_name(rc_unop op) {
  return (int)op >= 0 && (int)op < NUNOPS ? unop_names[op] : "?";
}

/* --- dtypes ------------------------------------------------------------------ */

/* int64 op int64 stays int64 except true division and pow; everything else is float32. */
static rc_dtype binary_dtype(rc_binop op, rc_dtype a, rc_dtype b) {
  if (a == RC_INT64 && b == RC_INT64 && op != RC_DIV && op != RC_POW) return RC_INT64;
  return RC_FLOAT32;
}

/* A scalar acts like a Python number: an int64 tensor stays int64 when the scalar is a whole
   number that fits, as torch's `long_tensor + 2`; a fraction makes the result float32. */
static bool fits_int64(double s) {
  return s == floor(s) && s >= -9223372036854775808.0 && s < 9223372036854775808.0;
}

static rc_dtype scalar_dtype(rc_binop op, rc_dtype a, double s) {
  return binary_dtype(op, a, fits_int64(s) ? RC_INT64 : RC_FLOAT32);
}

/* Integer ops keep the int64 dtype; the rest (exp, sqrt, reciprocal ...) give float32. */
static rc_dtype unary_dtype(rc_unop op, rc_dtype a) {
  if (a != RC_INT64) return RC_FLOAT32;
  switch (op) {
    case RC_NEG: case RC_ABS: case RC_SIGN: case RC_SQUARE: case RC_RELU:
    case RC_FLOOR: case RC_CEIL: case RC_ROUND:
      return RC_INT64;
    default:
      return RC_FLOAT32;
  }
}

/* t itself (retained) when it already has the dtype, else a converted copy. */
static rc_status as_dtype(rc_tensor **out, const rc_tensor *t, rc_dtype dtype) {
  if (t->dtype == dtype) {
    *out = rc_retain((rc_tensor *)t);
    return RC_OK;
  }
  return rc_to_dtype(out, t, dtype);
}

/* --- in-place safety ------------------------------------------------------------ */

static rc_status check_dtype_kept(const char *fn, const rc_tensor *a, rc_dtype result) {
  if (result == a->dtype) return RC_OK;
  return rc_fail(RC_ERR_ARG, "%s: the result is %s but the tensor is %s (an in-place op "
                             "cannot change the dtype)", fn, rc_dtype_name(result),
                 rc_dtype_name(a->dtype));
}

/* An expanded view has several elements on one memory location: writing it in place would
   race between rows and depend on the order, so it is refused as PyTorch does. */
static rc_status check_writable(const char *fn, const rc_tensor *a) {
  for (int d = 0; d < a->ndim; d++)
    if (a->stride[d] == 0 && a->shape[d] > 1)
      return rc_fail(RC_ERR_ARG, "%s: cannot write in place into a tensor whose elements share "
                                 "memory (an expanded view); clone it first", fn);
  return RC_OK;
}

static bool same_view(const rc_tensor *a, const rc_tensor *b) {
  if (a->storage != b->storage || a->offset != b->offset || a->ndim != b->ndim) return false;
  for (int d = 0; d < a->ndim; d++)
    if (a->shape[d] != b->shape[d] || (a->shape[d] > 1 && a->stride[d] != b->stride[d]))
      return false;
  return true;
}

/* An operand read while `a` is written: rows run concurrently, so anything sharing a's storage
   is copied first, unless it is a's own view (each element then reads only itself). */
static rc_status read_safely(rc_tensor **out, const rc_tensor *a, const rc_tensor *b) {
  if (b->storage == a->storage && !same_view(a, b)) return rc_clone(out, b);
  *out = rc_retain((rc_tensor *)b);
  return RC_OK;
}

/* The broadcast shape of a and b must be a's own shape. */
static rc_status check_inplace_shape(const char *fn, const rc_tensor *a, const rc_tensor *b) {
  int ndim;
  int64_t shape[RC_MAX_DIMS];
  rc_status st = rc_broadcast_shapes(fn, a->ndim, a->shape, b->ndim, b->shape, &ndim, shape);
  if (st) return st;
  bool same = ndim == a->ndim;
  for (int d = 0; d < ndim && same; d++) same = shape[d] == a->shape[d];
  if (same) return RC_OK;
  char sa[128], sb[128], sr[128];
  rc_shape_str(a, sa, sizeof sa);
  rc_shape_str(b, sb, sizeof sb);
  rc_dims_str(ndim, shape, sr, sizeof sr);
  return rc_fail(RC_ERR_SHAPE, "%s: the result must keep the tensor's shape %s, but %s and %s "
                               "broadcast to %s", fn, sa, sa, sb, sr);
}

/* --- binary kernels: float32 ------------------------------------------------------ */

/* maximum/minimum propagate NaN, as torch.maximum. */
ALWAYS_INLINE float f32_binop(rc_binop op, float x, float y) {
  switch (op) {
    case RC_ADD: return x + y;
    case RC_SUB: return x - y;
    case RC_MUL: return x * y;
    case RC_DIV: return x / y;
    case RC_POW: return powf(x, y);
    case RC_MAXIMUM: return (x > y || x != x) ? x : y;
    case RC_MINIMUM: return (x < y || x != x) ? x : y;
    case RC_EQ: return x == y ? 1.0f : 0.0f;
    case RC_NE: return x != y ? 1.0f : 0.0f;
    case RC_LT: return x < y ? 1.0f : 0.0f;
    case RC_LE: return x <= y ? 1.0f : 0.0f;
    case RC_GT: return x > y ? 1.0f : 0.0f;
    case RC_GE: return x >= y ? 1.0f : 0.0f;
  }
  return 0.0f;
}

/* One row: o[i] = a[i] op b[i] with element strides so, sa, sb. The three common patterns
   (all contiguous, b broadcast along the row, a broadcast along the row) get plain loops. */
ALWAYS_INLINE void f32_binary_kernel(rc_binop op, int64_t n, float *o, int64_t so,
                                     const float *a, int64_t sa, const float *b, int64_t sb) {
  if (so == 1 && sa == 1 && sb == 1) {
    for (int64_t i = 0; i < n; i++) o[i] = f32_binop(op, a[i], b[i]);
  } else if (so == 1 && sa == 1 && sb == 0) {
    const float y = b[0];
    if (op == RC_POW && y == 2.0f) /* x^2 is common (losses); x * x is exact, powf is slow */
      for (int64_t i = 0; i < n; i++) o[i] = a[i] * a[i];
    else
      for (int64_t i = 0; i < n; i++) o[i] = f32_binop(op, a[i], y);
  } else if (so == 1 && sa == 0 && sb == 1) {
    const float x = a[0];
    for (int64_t i = 0; i < n; i++) o[i] = f32_binop(op, x, b[i]);
  } else {
    for (int64_t i = 0; i < n; i++) o[i * so] = f32_binop(op, a[i * sa], b[i * sb]);
  }
}

/* The op switch sits here, outside the row loops: each case is a kernel for one op. */
ALWAYS_INLINE void f32_binary_dispatch(rc_binop op, int64_t n, float *o, int64_t so,
                                       const float *a, int64_t sa, const float *b, int64_t sb) {
  switch (op) {
    case RC_ADD: f32_binary_kernel(RC_ADD, n, o, so, a, sa, b, sb); break;
    case RC_SUB: f32_binary_kernel(RC_SUB, n, o, so, a, sa, b, sb); break;
    case RC_MUL: f32_binary_kernel(RC_MUL, n, o, so, a, sa, b, sb); break;
    case RC_DIV: f32_binary_kernel(RC_DIV, n, o, so, a, sa, b, sb); break;
    case RC_POW: f32_binary_kernel(RC_POW, n, o, so, a, sa, b, sb); break;
    case RC_MAXIMUM: f32_binary_kernel(RC_MAXIMUM, n, o, so, a, sa, b, sb); break;
    case RC_MINIMUM: f32_binary_kernel(RC_MINIMUM, n, o, so, a, sa, b, sb); break;
    case RC_EQ: f32_binary_kernel(RC_EQ, n, o, so, a, sa, b, sb); break;
    case RC_NE: f32_binary_kernel(RC_NE, n, o, so, a, sa, b, sb); break;
    case RC_LT: f32_binary_kernel(RC_LT, n, o, so, a, sa, b, sb); break;
    case RC_LE: f32_binary_kernel(RC_LE, n, o, so, a, sa, b, sb); break;
    case RC_GT: f32_binary_kernel(RC_GT, n, o, so, a, sa, b, sb); break;
    case RC_GE: f32_binary_kernel(RC_GE, n, o, so, a, sa, b, sb); break;
  }
}

/* --- binary kernels: int64 (wrapping arithmetic, as PyTorch's integer ops) ------------- */

static inline int64_t i64_binop(rc_binop op, int64_t x, int64_t y) {
  switch (op) {
    case RC_ADD: return (int64_t)((uint64_t)x + (uint64_t)y);
    case RC_SUB: return (int64_t)((uint64_t)x - (uint64_t)y);
    case RC_MUL: return (int64_t)((uint64_t)x * (uint64_t)y);
    case RC_MAXIMUM: return x > y ? x : y;
    case RC_MINIMUM: return x < y ? x : y;
    case RC_EQ: return x == y;
    case RC_NE: return x != y;
    case RC_LT: return x < y;
    case RC_LE: return x <= y;
    case RC_GT: return x > y;
    case RC_GE: return x >= y;
    case RC_DIV: case RC_POW: break; /* always computed in float32 */
  }
  return 0;
}

static void i64_binary_kernel(rc_binop op, int64_t n, int64_t *o, int64_t so, const int64_t *a,
                              int64_t sa, const int64_t *b, int64_t sb) {
  for (int64_t i = 0; i < n; i++) o[i * so] = i64_binop(op, a[i * sa], b[i * sb]);
}

/* --- binary: the row functions and their drivers ---------------------------------- */

typedef struct {
  rc_binop op;
  void *out;              /* storage starts; rows add their own offsets */
  const void *a, *b;      /* b is NULL in the scalar forms */
  double s;               /* the scalar of the scalar forms */
  bool scalar_first;      /* s op a instead of a op s */
} binary_ctx;

/* Operands: 0 out, 1 a, 2 b. */
static void f32_binary_row(void *vctx, int64_t n, const int64_t *off, const int64_t *st) {
  const binary_ctx *c = vctx;
  f32_binary_dispatch(c->op, n, (float *)c->out + off[0], st[0], (const float *)c->a + off[1],
                      st[1], (const float *)c->b + off[2], st[2]);
}

/* Operands: 0 out, 1 a; the scalar is an operand of stride 0. */
static void f32_scalar_row(void *vctx, int64_t n, const int64_t *off, const int64_t *st) {
  const binary_ctx *c = vctx;
  const float s = (float)c->s;
  float *o = (float *)c->out + off[0];
  const float *a = (const float *)c->a + off[1];
  if (c->scalar_first)
    f32_binary_dispatch(c->op, n, o, st[0], &s, 0, a, st[1]);
  else
    f32_binary_dispatch(c->op, n, o, st[0], a, st[1], &s, 0);
}

static void i64_binary_row(void *vctx, int64_t n, const int64_t *off, const int64_t *st) {
  const binary_ctx *c = vctx;
  i64_binary_kernel(c->op, n, (int64_t *)c->out + off[0], st[0], (const int64_t *)c->a + off[1],
                    st[1], (const int64_t *)c->b + off[2], st[2]);
}

static void i64_scalar_row(void *vctx, int64_t n, const int64_t *off, const int64_t *st) {
  const binary_ctx *c = vctx;
  const int64_t s = (int64_t)c->s;
  int64_t *o = (int64_t *)c->out + off[0];
  const int64_t *a = (const int64_t *)c->a + off[1];
  if (c->scalar_first)
    i64_binary_kernel(c->op, n, o, st[0], &s, 0, a, st[1]);
  else
    i64_binary_kernel(c->op, n, o, st[0], a, st[1], &s, 0);
}

/* out = a op b; all three already have out's dtype, a and b broadcast to out's shape. */
static rc_status run_binary(const char *fn, rc_binop op, rc_tensor *out, const rc_tensor *a,
                            const rc_tensor *b) {
  rc_loop lp;
  const rc_tensor *ops[3] = {out, a, b};
  rc_status st = rc_loop_init(&lp, fn, out->ndim, out->shape, 3, ops);
  if (st) return st;
  binary_ctx ctx = {op, out->storage->data, a->storage->data, b->storage->data, 0, false};
  rc_loop_run(&lp, out->dtype == RC_INT64 ? i64_binary_row : f32_binary_row, &ctx);
  return RC_OK;
}

/* out = a op s (or s op a); a already has out's dtype and shape. */
static rc_status run_scalar(const char *fn, rc_binop op, rc_tensor *out, const rc_tensor *a,
                            double s, bool scalar_first) {
  rc_loop lp;
  const rc_tensor *ops[2] = {out, a};
  rc_status st = rc_loop_init(&lp, fn, out->ndim, out->shape, 2, ops);
  if (st) return st;
  binary_ctx ctx = {op, out->storage->data, a->storage->data, NULL, s, scalar_first};
  rc_loop_run(&lp, out->dtype == RC_INT64 ? i64_scalar_row : f32_scalar_row, &ctx);
  return RC_OK;
}

static bool known_binop(rc_binop op) { return (int)op >= 0 && (int)op < NBINOPS; }

static rc_status unknown_op(const char *fn, int op) {
  return rc_fail(RC_ERR_ARG, "%s: unknown op %d", fn, op);
}

rc_status rc_binary(rc_tensor **out, rc_binop op, const rc_tensor *a, const rc_tensor *b) {
  if (!known_binop(op)) return unknown_op("binary", (int)op);
  rc_status st;
  const char *fn = binop_names[op];
  int ndim;
  int64_t shape[RC_MAX_DIMS];
  if ((st = rc_broadcast_shapes(fn, a->ndim, a->shape, b->ndim, b->shape, &ndim, shape)))
    return st;
  rc_dtype dtype = binary_dtype(op, a->dtype, b->dtype);
  rc_tensor *ta = NULL, *tb = NULL, *r = NULL;
  if (!(st = as_dtype(&ta, a, dtype)) && !(st = as_dtype(&tb, b, dtype)) &&
      !(st = rc_empty(&r, dtype, ndim, shape)))
    st = run_binary(fn, op, r, ta, tb);
  rc_release(ta);
  rc_release(tb);
  if (st) {
    rc_release(r);
    return st;
  }
  *out = r;
  return RC_OK;
}

static rc_status binary_scalar(rc_tensor **out, rc_binop op, const rc_tensor *a, double s,
                               bool scalar_first) {
  if (!known_binop(op)) return unknown_op("binary", (int)op);
  rc_status st;
  rc_dtype dtype = scalar_dtype(op, a->dtype, s);
  rc_tensor *ta = NULL, *r = NULL;
  if (!(st = as_dtype(&ta, a, dtype)) && !(st = rc_empty(&r, dtype, a->ndim, a->shape)))
    st = run_scalar(binop_names[op], op, r, ta, s, scalar_first);
  rc_release(ta);
  if (st) {
    rc_release(r);
    return st;
  }
  *out = r;
  return RC_OK;
}

rc_status rc_binary_scalar(rc_tensor **out, rc_binop op, const rc_tensor *a, double s) {
  return binary_scalar(out, op, a, s, false);
}

rc_status rc_scalar_binary(rc_tensor **out, rc_binop op, double s, const rc_tensor *a) {
  return binary_scalar(out, op, a, s, true);
}

rc_status rc_binary_(rc_tensor *a, rc_binop op, const rc_tensor *b) {
  if (!known_binop(op)) return unknown_op("binary_", (int)op);
  rc_status st;
  const char *fn = binop_names_[op];
  if ((st = check_inplace_shape(fn, a, b)) ||
      (st = check_dtype_kept(fn, a, binary_dtype(op, a->dtype, b->dtype))) ||
      (st = check_writable(fn, a)))
    return st;
  rc_tensor *tb = NULL;
  if (b->dtype != a->dtype)
    st = rc_to_dtype(&tb, b, a->dtype); /* a fresh copy: cannot overlap a */
  else
    st = read_safely(&tb, a, b);
  if (st == RC_OK) st = run_binary(fn, op, a, a, tb);
  rc_release(tb);
  return st;
}

rc_status rc_binary_scalar_(rc_tensor *a, rc_binop op, double s) {
  if (!known_binop(op)) return unknown_op("binary_", (int)op);
  rc_status st;
  const char *fn = binop_names_[op];
  if ((st = check_dtype_kept(fn, a, scalar_dtype(op, a->dtype, s))) ||
      (st = check_writable(fn, a)))
    return st;
  return run_scalar(fn, op, a, a, s, false);
}

/* --- unary ------------------------------------------------------------------------ */

/* sigmoid as 1/(1+e^-x) for x >= 0 and e^x/(1+e^x) below: e^-|x| never overflows.
   relu keeps NaN (x < 0 is false for it), as torch.relu. sign(NaN) = 0 as torch.sign. */
ALWAYS_INLINE float f32_unop(rc_unop op, float x) {
  switch (op) {
    case RC_NEG: return -x;
    case RC_ABS: return fabsf(x);
    case RC_EXP: return expf(x);
    case RC_LOG: return logf(x);
    case RC_SQRT: return sqrtf(x);
    case RC_TANH: return tanhf(x);
    case RC_SIGMOID: {
      float e = expf(-fabsf(x));
      return (x >= 0.0f ? 1.0f : e) / (1.0f + e);
    }
    case RC_RELU: return x < 0.0f ? 0.0f : x;
    case RC_SIN: return sinf(x);
    case RC_COS: return cosf(x);
    case RC_FLOOR: return floorf(x);
    case RC_CEIL: return ceilf(x);
    case RC_ROUND: return nearbyintf(x); /* half to even, as torch.round */
    case RC_SIGN: return (float)((x > 0.0f) - (x < 0.0f));
    case RC_RECIPROCAL: return 1.0f / x;
    case RC_SQUARE: return x * x;
    case RC_LOG1P: return log1pf(x);
  }
  return 0.0f;
}

ALWAYS_INLINE void f32_unary_kernel(rc_unop op, int64_t n, float *o, int64_t so, const float *a,
                                    int64_t sa) {
  if (so == 1 && sa == 1)
    for (int64_t i = 0; i < n; i++) o[i] = f32_unop(op, a[i]);
  else
    for (int64_t i = 0; i < n; i++) o[i * so] = f32_unop(op, a[i * sa]);
}

static inline int64_t i64_unop(rc_unop op, int64_t x) {
  switch (op) {
    case RC_NEG: return (int64_t)(0 - (uint64_t)x);
    case RC_ABS: return x < 0 ? (int64_t)(0 - (uint64_t)x) : x;
    case RC_SIGN: return (x > 0) - (x < 0);
    case RC_SQUARE: return (int64_t)((uint64_t)x * (uint64_t)x);
    case RC_RELU: return x < 0 ? 0 : x;
    default: return x; /* floor, ceil, round: whole numbers already */
  }
}

typedef struct {
  rc_unop op;
  void *out;
  const void *a;
} unary_ctx;

/* Operands: 0 out, 1 a. */
static void f32_unary_row(void *vctx, int64_t n, const int64_t *off, const int64_t *st) {
  const unary_ctx *c = vctx;
  float *o = (float *)c->out + off[0];
  const float *a = (const float *)c->a + off[1];
  int64_t so = st[0], sa = st[1];
  switch (c->op) {
    case RC_NEG: f32_unary_kernel(RC_NEG, n, o, so, a, sa); break;
    case RC_ABS: f32_unary_kernel(RC_ABS, n, o, so, a, sa); break;
    case RC_EXP: f32_unary_kernel(RC_EXP, n, o, so, a, sa); break;
    case RC_LOG: f32_unary_kernel(RC_LOG, n, o, so, a, sa); break;
    case RC_SQRT: f32_unary_kernel(RC_SQRT, n, o, so, a, sa); break;
    case RC_TANH: f32_unary_kernel(RC_TANH, n, o, so, a, sa); break;
    case RC_SIGMOID: f32_unary_kernel(RC_SIGMOID, n, o, so, a, sa); break;
    case RC_RELU: f32_unary_kernel(RC_RELU, n, o, so, a, sa); break;
    case RC_SIN: f32_unary_kernel(RC_SIN, n, o, so, a, sa); break;
    case RC_COS: f32_unary_kernel(RC_COS, n, o, so, a, sa); break;
    case RC_FLOOR: f32_unary_kernel(RC_FLOOR, n, o, so, a, sa); break;
    case RC_CEIL: f32_unary_kernel(RC_CEIL, n, o, so, a, sa); break;
    case RC_ROUND: f32_unary_kernel(RC_ROUND, n, o, so, a, sa); break;
    case RC_SIGN: f32_unary_kernel(RC_SIGN, n, o, so, a, sa); break;
    case RC_RECIPROCAL: f32_unary_kernel(RC_RECIPROCAL, n, o, so, a, sa); break;
    case RC_SQUARE: f32_unary_kernel(RC_SQUARE, n, o, so, a, sa); break;
    case RC_LOG1P: f32_unary_kernel(RC_LOG1P, n, o, so, a, sa); break;
  }
}

static void i64_unary_row(void *vctx, int64_t n, const int64_t *off, const int64_t *st) {
  const unary_ctx *c = vctx;
  int64_t *o = (int64_t *)c->out + off[0];
  const int64_t *a = (const int64_t *)c->a + off[1];
  for (int64_t i = 0; i < n; i++) o[i * st[0]] = i64_unop(c->op, a[i * st[1]]);
}

/* out = op(a); both have out's dtype and shape. */
static rc_status run_unary(const char *fn, rc_unop op, rc_tensor *out, const rc_tensor *a) {
  rc_loop lp;
  const rc_tensor *ops[2] = {out, a};
  rc_status st = rc_loop_init(&lp, fn, out->ndim, out->shape, 2, ops);
  if (st) return st;
  unary_ctx ctx = {op, out->storage->data, a->storage->data};
  rc_loop_run(&lp, out->dtype == RC_INT64 ? i64_unary_row : f32_unary_row, &ctx);
  return RC_OK;
}

static bool known_unop(rc_unop op) { return (int)op >= 0 && (int)op < NUNOPS; }

rc_status rc_unary(rc_tensor **out, rc_unop op, const rc_tensor *a) {
  if (!known_unop(op)) return unknown_op("unary", (int)op);
  rc_status st;
  rc_dtype dtype = unary_dtype(op, a->dtype);
  rc_tensor *ta = NULL, *r = NULL;
  if (!(st = as_dtype(&ta, a, dtype)) && !(st = rc_empty(&r, dtype, a->ndim, a->shape)))
    st = run_unary(unop_names[op], op, r, ta);
  rc_release(ta);
  if (st) {
    rc_release(r);
    return st;
  }
  *out = r;
  return RC_OK;
}

rc_status rc_unary_(rc_tensor *a, rc_unop op) {
  if (!known_unop(op)) return unknown_op("unary_", (int)op);
  rc_status st;
  const char *fn = unop_names_[op];
  if ((st = check_dtype_kept(fn, a, unary_dtype(op, a->dtype))) || (st = check_writable(fn, a)))
    return st;
  return run_unary(fn, op, a, a);
}

/* --- clamp ------------------------------------------------------------------------ */

typedef struct {
  void *out;
  const void *a;
  float lo, hi;            /* float32 bounds (+-inf when absent) */
  int64_t lo_i, hi_i;      /* int64 bounds */
} clamp_ctx;

/* NaN stays NaN (both tests are false for it); lo > hi gives hi everywhere, as torch.clamp. */
static void f32_clamp_row(void *vctx, int64_t n, const int64_t *off, const int64_t *st) {
  const clamp_ctx *c = vctx;
  float *o = (float *)c->out + off[0];
  const float *a = (const float *)c->a + off[1];
  const float lo = c->lo, hi = c->hi;
  if (st[0] == 1 && st[1] == 1) {
    for (int64_t i = 0; i < n; i++) {
      float v = a[i] < lo ? lo : a[i];
      o[i] = v > hi ? hi : v;
    }
  } else {
    for (int64_t i = 0; i < n; i++) {
      float v = a[i * st[1]] < lo ? lo : a[i * st[1]];
      o[i * st[0]] = v > hi ? hi : v;
    }
  }
}

static void i64_clamp_row(void *vctx, int64_t n, const int64_t *off, const int64_t *st) {
  const clamp_ctx *c = vctx;
  int64_t *o = (int64_t *)c->out + off[0];
  const int64_t *a = (const int64_t *)c->a + off[1];
  for (int64_t i = 0; i < n; i++) {
    int64_t v = a[i * st[1]] < c->lo_i ? c->lo_i : a[i * st[1]];
    o[i * st[0]] = v > c->hi_i ? c->hi_i : v;
  }
}

/* An int64 tensor keeps its dtype: a fractional bound is rounded inward (lo up, hi down). */
static int64_t i64_bound(double v, bool is_lo) {
  if (isnan(v)) return is_lo ? INT64_MIN : INT64_MAX;
  v = is_lo ? ceil(v) : floor(v);
  if (v <= -9223372036854775808.0) return INT64_MIN;
  if (v >= 9223372036854775808.0) return INT64_MAX;
  return (int64_t)v;
}

static rc_status check_bounds(const char *fn, double lo, double hi) {
  if (isnan(lo) && isnan(hi))
    return rc_fail(RC_ERR_ARG, "%s: at least one of min and max must be given", fn);
  return RC_OK;
}

static rc_status run_clamp(const char *fn, rc_tensor *out, const rc_tensor *a, double lo,
                           double hi) {
  rc_loop lp;
  const rc_tensor *ops[2] = {out, a};
  rc_status st = rc_loop_init(&lp, fn, out->ndim, out->shape, 2, ops);
  if (st) return st;
  clamp_ctx ctx = {out->storage->data, a->storage->data,
                   isnan(lo) ? -INFINITY : (float)lo, isnan(hi) ? INFINITY : (float)hi,
                   i64_bound(lo, true), i64_bound(hi, false)};
  rc_loop_run(&lp, out->dtype == RC_INT64 ? i64_clamp_row : f32_clamp_row, &ctx);
  return RC_OK;
}

rc_status rc_clamp(rc_tensor **out, const rc_tensor *a, double lo, double hi) {
  rc_status st = check_bounds("clamp", lo, hi);
  if (st) return st;
  rc_tensor *r = NULL;
  if ((st = rc_empty(&r, a->dtype, a->ndim, a->shape))) return st;
  if ((st = run_clamp("clamp", r, a, lo, hi))) {
    rc_release(r);
    return st;
  }
  *out = r;
  return RC_OK;
}

rc_status rc_clamp_(rc_tensor *a, double lo, double hi) {
  rc_status st;
  if ((st = check_bounds("clamp_", lo, hi)) || (st = check_writable("clamp_", a))) return st;
  return run_clamp("clamp_", a, a, lo, hi);
}

/* --- where ------------------------------------------------------------------------ */

typedef struct {
  void *out;
  const void *cond, *a, *b;
  rc_dtype cond_dtype, dtype;
} where_ctx;

/* Operands: 0 out, 1 cond, 2 a, 3 b. A condition is true where it is non-zero. */
static void where_row(void *vctx, int64_t n, const int64_t *off, const int64_t *st) {
  const where_ctx *c = vctx;
  const float *cf = (const float *)c->cond + off[1];
  const int64_t *ci = (const int64_t *)c->cond + off[1];
  bool cond_f32 = c->cond_dtype == RC_FLOAT32;
  if (c->dtype == RC_FLOAT32) {
    float *o = (float *)c->out + off[0];
    const float *a = (const float *)c->a + off[2], *b = (const float *)c->b + off[3];
    if (cond_f32 && st[0] == 1 && st[1] == 1 && st[2] == 1 && st[3] == 1) {
      for (int64_t i = 0; i < n; i++) o[i] = cf[i] != 0.0f ? a[i] : b[i];
    } else {
      for (int64_t i = 0; i < n; i++) {
        bool t = cond_f32 ? cf[i * st[1]] != 0.0f : ci[i * st[1]] != 0;
        o[i * st[0]] = t ? a[i * st[2]] : b[i * st[3]];
      }
    }
  } else {
    int64_t *o = (int64_t *)c->out + off[0];
    const int64_t *a = (const int64_t *)c->a + off[2], *b = (const int64_t *)c->b + off[3];
    for (int64_t i = 0; i < n; i++) {
      bool t = cond_f32 ? cf[i * st[1]] != 0.0f : ci[i * st[1]] != 0;
      o[i * st[0]] = t ? a[i * st[2]] : b[i * st[3]];
    }
  }
}

rc_status rc_where(rc_tensor **out, const rc_tensor *cond, const rc_tensor *a, const rc_tensor *b) {
  int ab_ndim, ndim;
  int64_t ab_shape[RC_MAX_DIMS], shape[RC_MAX_DIMS];
  rc_status st;
  if ((st = rc_broadcast_shapes("where", a->ndim, a->shape, b->ndim, b->shape, &ab_ndim,
                                ab_shape)) ||
      (st = rc_broadcast_shapes("where", cond->ndim, cond->shape, ab_ndim, ab_shape, &ndim,
                                shape))) {
    /* name the three shapes the user gave, not the intermediate one */
    char sc[128], sa[128], sb[128];
    rc_shape_str(cond, sc, sizeof sc);
    rc_shape_str(a, sa, sizeof sa);
    rc_shape_str(b, sb, sizeof sb);
    return rc_fail(st, "where: shapes %s, %s and %s cannot be broadcast together", sc, sa, sb);
  }
  rc_dtype dtype = a->dtype == RC_INT64 && b->dtype == RC_INT64 ? RC_INT64 : RC_FLOAT32;
  rc_tensor *ta = NULL, *tb = NULL, *r = NULL;
  if (!(st = as_dtype(&ta, a, dtype)) && !(st = as_dtype(&tb, b, dtype)) &&
      !(st = rc_empty(&r, dtype, ndim, shape))) {
    rc_loop lp;
    const rc_tensor *ops[4] = {r, cond, ta, tb};
    if (!(st = rc_loop_init(&lp, "where", ndim, shape, 4, ops))) {
      where_ctx ctx = {r->storage->data, cond->storage->data, ta->storage->data,
                       tb->storage->data, cond->dtype, dtype};
      rc_loop_run(&lp, where_row, &ctx);
    }
  }
  rc_release(ta);
  rc_release(tb);
  if (st) {
    rc_release(r);
    return st;
  }
  *out = r;
  return RC_OK;
}

/* --- masked_fill ---------------------------------------------------------------------- */

typedef struct {
  void *out;
  const void *a, *mask;
  rc_dtype dtype, mask_dtype;
  float value;
  int64_t value_i;
} fill_ctx;

/* Operands: 0 out, 1 a, 2 mask (a == out in place). */
static void masked_fill_row(void *vctx, int64_t n, const int64_t *off, const int64_t *st) {
  const fill_ctx *c = vctx;
  const float *mf = (const float *)c->mask + off[2];
  const int64_t *mi = (const int64_t *)c->mask + off[2];
  bool mask_f32 = c->mask_dtype == RC_FLOAT32;
  if (c->dtype == RC_FLOAT32) {
    float *o = (float *)c->out + off[0];
    const float *a = (const float *)c->a + off[1];
    const float v = c->value;
    if (mask_f32 && st[0] == 1 && st[1] == 1 && st[2] == 1) {
      for (int64_t i = 0; i < n; i++) o[i] = mf[i] != 0.0f ? v : a[i];
    } else {
      for (int64_t i = 0; i < n; i++) {
        bool t = mask_f32 ? mf[i * st[2]] != 0.0f : mi[i * st[2]] != 0;
        o[i * st[0]] = t ? v : a[i * st[1]];
      }
    }
  } else {
    int64_t *o = (int64_t *)c->out + off[0];
    const int64_t *a = (const int64_t *)c->a + off[1];
    for (int64_t i = 0; i < n; i++) {
      bool t = mask_f32 ? mf[i * st[2]] != 0.0f : mi[i * st[2]] != 0;
      o[i * st[0]] = t ? c->value_i : a[i * st[1]];
    }
  }
}

static rc_status run_masked_fill(const char *fn, rc_tensor *out, const rc_tensor *a,
                                 const rc_tensor *mask, double value) {
  if (a->dtype == RC_INT64 && !(isfinite(value) && fabs(value) < 9223372036854775808.0))
    return rc_fail(RC_ERR_ARG, "%s: value %g does not fit an int64 tensor", fn, value);
  rc_loop lp;
  const rc_tensor *ops[3] = {out, a, mask};
  rc_status st = rc_loop_init(&lp, fn, a->ndim, a->shape, 3, ops);
  if (st) return st;
  fill_ctx ctx = {out->storage->data, a->storage->data, mask->storage->data, a->dtype,
                  mask->dtype, (float)value, a->dtype == RC_INT64 ? (int64_t)value : 0};
  rc_loop_run(&lp, masked_fill_row, &ctx);
  return RC_OK;
}

rc_status rc_masked_fill(rc_tensor **out, const rc_tensor *a, const rc_tensor *mask,
                         double value) {
  rc_tensor *r = NULL;
  rc_status st = rc_empty(&r, a->dtype, a->ndim, a->shape);
  if (st) return st;
  if ((st = run_masked_fill("masked_fill", r, a, mask, value))) {
    rc_release(r);
    return st;
  }
  *out = r;
  return RC_OK;
}

rc_status rc_masked_fill_(rc_tensor *a, const rc_tensor *mask, double value) {
  rc_status st = check_writable("masked_fill_", a);
  if (st) return st;
  /* Check the shapes before cloning an overlapping mask, so a bad mask costs no copy. */
  rc_loop lp;
  const rc_tensor *ops[2] = {a, mask};
  if ((st = rc_loop_init(&lp, "masked_fill_", a->ndim, a->shape, 2, ops))) return st;
  rc_tensor *m = NULL;
  if ((st = read_safely(&m, a, mask))) return st;
  st = run_masked_fill("masked_fill_", a, a, m, value);
  rc_release(m);
  return st;
}
