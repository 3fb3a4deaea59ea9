/* core/grad_elementwise.c — the differentiable elementwise ops: forward is the raw op, then a
   node whose backward gives d/da (and d/db), summed back over broadcast dims. */
#include <math.h>
#include "grad.h"
#include "random.h"

/* g reduced to input j's shape, stored as its gradient. */
static rc_status give(rc_node *n, int j, rc_tensor *g, rc_tensor **grad_inputs) {
  return rc_sum_to_shape(&grad_inputs[j], g, n->inputs[j].ndim, n->inputs[j].shape);
}

/* --- binary: out = a op b ---------------------------------------------------------
   saved: a, b, out. i[0] = op. */
static rc_status binary_backward(rc_node *n, rc_tensor *const *gout, rc_tensor **gin) {
  rc_tensor *g = gout[0], *a = n->saved[0], *b = n->saved[1], *out = n->saved[2];
  rc_tensor *ga = NULL, *gb = NULL, *t1 = NULL, *t2 = NULL;
  rc_status st = RC_OK;
  if (!g) return RC_OK;
  bool need_a = n->inputs[0].needs_grad, need_b = n->inputs[1].needs_grad;
  switch ((rc_binop)n->i[0]) {
    case RC_ADD:
      ga = rc_retain(g), gb = rc_retain(g);
      break;
    case RC_SUB:
      ga = rc_retain(g);
      if (need_b) RC_TRY(rc_unary(&gb, RC_NEG, g));
      break;
    case RC_MUL:
      if (need_a) RC_TRY(rc_binary(&ga, RC_MUL, g, b));
      if (need_b) RC_TRY(rc_binary(&gb, RC_MUL, g, a));
      break;
    case RC_DIV: /* d/da = g / b, d/db = -g * out / b */
      if (need_a) RC_TRY(rc_binary(&ga, RC_DIV, g, b));
      if (need_b) {
        RC_TRY(rc_binary(&t1, RC_MUL, g, out));
        RC_TRY(rc_binary(&t2, RC_DIV, t1, b));
        RC_TRY(rc_unary(&gb, RC_NEG, t2));
      }
      break;
    case RC_POW: /* d/da = g * b * a^(b-1), d/db = g * out * log(a) */
      if (need_a) {
        RC_TRY(rc_binary_scalar(&t1, RC_SUB, b, 1.0));
        RC_TRY(rc_binary(&t2, RC_POW, a, t1));
        rc_release(t1), t1 = NULL;
        RC_TRY(rc_binary(&t1, RC_MUL, t2, b));
        RC_TRY(rc_binary(&ga, RC_MUL, t1, g));
        rc_release(t1), rc_release(t2), t1 = t2 = NULL;
      }
      if (need_b) {
        RC_TRY(rc_unary(&t1, RC_LOG, a));
        RC_TRY(rc_binary(&t2, RC_MUL, t1, out));
        RC_TRY(rc_binary(&gb, RC_MUL, t2, g));
      }
      break;
    case RC_MAXIMUM:
    case RC_MINIMUM: { /* the gradient goes to the winner; a tie splits it, as PyTorch */
      rc_tensor *wins = NULL, *ties = NULL;
      RC_TRY(rc_binary(&wins, n->i[0] == RC_MAXIMUM ? RC_GT : RC_LT, a, b));
      if ((st = rc_binary(&ties, RC_EQ, a, b))) { rc_release(wins); goto done; }
      st = rc_binary_scalar_(ties, RC_MUL, 0.5);
      if (!st) st = rc_binary(&t1, RC_ADD, wins, ties); /* share of a */
      rc_release(wins), rc_release(ties);
      if (st) goto done;
      if (need_a) RC_TRY(rc_binary(&ga, RC_MUL, g, t1));
      if (need_b) {
        RC_TRY(rc_scalar_binary(&t2, RC_SUB, 1.0, t1));
        RC_TRY(rc_binary(&gb, RC_MUL, g, t2));
      }
      break;
    }
    default: /* comparisons are never recorded */
      break;
  }
  if (need_a && ga) RC_TRY(give(n, 0, ga, gin));
  if (need_b && gb) RC_TRY(give(n, 1, gb, gin));
done:
  rc_release(ga), rc_release(gb), rc_release(t1), rc_release(t2);
  return st;
}

static bool differentiable(rc_binop op) { return op <= RC_MINIMUM; }

static const char *binary_name(rc_binop op) {
  static const char *names[] = {"AddBackward", "SubBackward", "MulBackward", "DivBackward",
                                "PowBackward", "MaximumBackward", "MinimumBackward"};
  return differentiable(op) ? names[op] : "?";
}

rc_status rcg_binary(rc_tensor **out, rc_binop op, const rc_tensor *a, const rc_tensor *b) {
  rc_status st = rc_binary(out, op, a, b);
  if (st || !differentiable(op)) return st;
  const rc_tensor *in[2] = {a, b}, *saved[3] = {a, b, *out};
  /* Save only what the backward of this op reads. */
  if (op == RC_ADD || op == RC_SUB) saved[0] = saved[1] = saved[2] = NULL;
  if (op != RC_DIV && op != RC_POW) saved[2] = NULL;
  rc_node *node;
  st = rc_record(&node, *out, binary_name(op), binary_backward, 2, in, 3, saved);
  if (node) node->i[0] = op;
  return rc_record_finish(st, out);
}

/* --- with a number: out = a op s (i[1] = 0) or s op a (i[1] = 1) ----------------------
   saved: a, out. f[0] = s. */
static rc_status scalar_backward(rc_node *n, rc_tensor *const *gout, rc_tensor **gin) {
  rc_tensor *g = gout[0], *a = n->saved[0], *out = n->saved[1], *t1 = NULL, *t2 = NULL;
  rc_tensor *ga = NULL;
  rc_status st = RC_OK;
  double s = n->f[0];
  bool scalar_first = n->i[1];
  if (!g) return RC_OK;
  switch ((rc_binop)n->i[0]) {
    case RC_ADD:
      ga = rc_retain(g);
      break;
    case RC_SUB:
      if (scalar_first) RC_TRY(rc_unary(&ga, RC_NEG, g));
      else ga = rc_retain(g);
      break;
    case RC_MUL:
      RC_TRY(rc_binary_scalar(&ga, RC_MUL, g, s));
      break;
    case RC_DIV:
      if (!scalar_first) { /* a / s */
        RC_TRY(rc_binary_scalar(&ga, RC_DIV, g, s));
      } else { /* s / a: -g * out / a */
        RC_TRY(rc_binary(&t1, RC_MUL, g, out));
        RC_TRY(rc_binary(&t2, RC_DIV, t1, a));
        RC_TRY(rc_unary(&ga, RC_NEG, t2));
      }
      break;
    case RC_POW:
      if (!scalar_first) { /* a^s: g * s * a^(s-1) */
        if (s == 0) break; /* a^0 is constant */
        RC_TRY(rc_binary_scalar(&t1, RC_POW, a, s - 1));
        RC_TRY(rc_binary_scalar_(t1, RC_MUL, s));
        RC_TRY(rc_binary(&ga, RC_MUL, g, t1));
      } else { /* s^a: g * out * log(s) */
        RC_TRY(rc_binary_scalar(&t1, RC_MUL, out, log(s)));
        RC_TRY(rc_binary(&ga, RC_MUL, g, t1));
      }
      break;
    case RC_MAXIMUM:
    case RC_MINIMUM: {
      rc_tensor *ties = NULL;
      RC_TRY(rc_binary_scalar(&t1, n->i[0] == RC_MAXIMUM ? RC_GT : RC_LT, a, s));
      RC_TRY(rc_binary_scalar(&ties, RC_EQ, a, s));
      st = rc_binary_scalar_(ties, RC_MUL, 0.5);
      if (!st) st = rc_binary_(t1, RC_ADD, ties);
      rc_release(ties);
      if (st) goto done;
      RC_TRY(rc_binary(&ga, RC_MUL, g, t1));
      break;
    }
    default:
      break;
  }
  if (ga) RC_TRY(give(n, 0, ga, gin));
done:
  rc_release(ga), rc_release(t1), rc_release(t2);
  return st;
}

static rc_status record_scalar(rc_status st, rc_tensor **out, rc_binop op, const rc_tensor *a,
                               double s, bool scalar_first) {
  if (st || !differentiable(op)) return st;
  const rc_tensor *in[1] = {a}, *saved[2] = {a, *out};
  if (op == RC_ADD || op == RC_SUB || op == RC_MUL) saved[0] = saved[1] = NULL;
  rc_node *node;
  st = rc_record(&node, *out, binary_name(op), scalar_backward, 1, in, 2, saved);
  if (node) node->i[0] = op, node->i[1] = scalar_first, node->f[0] = s;
  return rc_record_finish(st, out);
}

rc_status rcg_binary_scalar(rc_tensor **out, rc_binop op, const rc_tensor *a, double s) {
  return record_scalar(rc_binary_scalar(out, op, a, s), out, op, a, s, false);
}

rc_status rcg_scalar_binary(rc_tensor **out, rc_binop op, double s, const rc_tensor *a) {
  return record_scalar(rc_scalar_binary(out, op, s, a), out, op, a, s, true);
}

/* --- unary: out = f(a) ---------------------------------------------------------------
   saved: a, out. i[0] = op. */
static rc_status unary_backward(rc_node *n, rc_tensor *const *gout, rc_tensor **gin) {
  rc_tensor *g = gout[0], *a = n->saved[0], *out = n->saved[1], *t = NULL, *ga = NULL;
  rc_status st = RC_OK;
  if (!g) return RC_OK;
  switch ((rc_unop)n->i[0]) {
    case RC_NEG: RC_TRY(rc_unary(&ga, RC_NEG, g)); break;
    case RC_ABS: RC_TRY(rc_unary(&t, RC_SIGN, a)); break;
    case RC_EXP: t = rc_retain(out); break;
    case RC_LOG: RC_TRY(rc_binary(&ga, RC_DIV, g, a)); break;
    case RC_SQRT: /* g / (2 out) */
      RC_TRY(rc_binary_scalar(&t, RC_MUL, out, 2.0));
      RC_TRY(rc_binary(&ga, RC_DIV, g, t));
      break;
    case RC_TANH: /* 1 - out^2 */
      RC_TRY(rc_binary(&t, RC_MUL, out, out));
      RC_TRY(rc_scalar_binary(&ga, RC_SUB, 1.0, t));
      rc_release(t);
      t = ga, ga = NULL;
      break;
    case RC_SIGMOID: /* out (1 - out) */
      RC_TRY(rc_scalar_binary(&t, RC_SUB, 1.0, out));
      RC_TRY(rc_binary_(t, RC_MUL, out));
      break;
    case RC_RELU: RC_TRY(rc_binary_scalar(&t, RC_GT, a, 0.0)); break;
    case RC_SIN: RC_TRY(rc_unary(&t, RC_COS, a)); break;
    case RC_COS:
      RC_TRY(rc_unary(&t, RC_SIN, a));
      RC_TRY(rc_unary_(t, RC_NEG));
      break;
    case RC_RECIPROCAL: /* -out^2 */
      RC_TRY(rc_binary(&t, RC_MUL, out, out));
      RC_TRY(rc_unary_(t, RC_NEG));
      break;
    case RC_SQUARE: RC_TRY(rc_binary_scalar(&t, RC_MUL, a, 2.0)); break;
    case RC_LOG1P: /* g / (1 + a) */
      RC_TRY(rc_binary_scalar(&t, RC_ADD, a, 1.0));
      RC_TRY(rc_binary(&ga, RC_DIV, g, t));
      break;
    default: /* floor, ceil, round, sign: zero almost everywhere */
      RC_TRY(rc_full(&ga, RC_FLOAT32, g->ndim, g->shape, 0.0));
      break;
  }
  if (!ga && t) RC_TRY(rc_binary(&ga, RC_MUL, g, t));
  if (ga) RC_TRY(give(n, 0, ga, gin));
done:
  rc_release(ga), rc_release(t);
  return st;
}

static const char *unary_name(rc_unop op) {
  static const char *names[] = {
    "NegBackward", "AbsBackward", "ExpBackward", "LogBackward", "SqrtBackward", "TanhBackward",
    "SigmoidBackward", "ReluBackward", "SinBackward", "CosBackward", "FloorBackward",
    "CeilBackward", "RoundBackward", "SignBackward", "ReciprocalBackward", "SquareBackward",
    "Log1pBackward"};
  return (int)op >= 0 && op <= RC_LOG1P ? names[op] : "?";
}

rc_status rcg_unary(rc_tensor **out, rc_unop op, const rc_tensor *a) {
  rc_status st = rc_unary(out, op, a);
  if (st) return st;
  const rc_tensor *in[1] = {a}, *saved[2] = {a, *out};
  bool uses_out = op == RC_EXP || op == RC_SQRT || op == RC_TANH || op == RC_SIGMOID ||
                  op == RC_RECIPROCAL;
  if (uses_out) saved[0] = NULL; else saved[1] = NULL;
  rc_node *node;
  st = rc_record(&node, *out, unary_name(op), unary_backward, 1, in, 2, saved);
  if (node) node->i[0] = op;
  return rc_record_finish(st, out);
}

/* --- clamp: the gradient passes where lo <= a <= hi ----------------------------------
   saved: a. f[0] = lo, f[1] = hi (NAN: no bound). */
static rc_status clamp_backward(rc_node *n, rc_tensor *const *gout, rc_tensor **gin) {
  rc_tensor *g = gout[0], *a = n->saved[0], *inside = NULL, *t = NULL, *ga = NULL;
  rc_status st = RC_OK;
  if (!g) return RC_OK;
  RC_TRY(rc_full(&inside, RC_FLOAT32, a->ndim, a->shape, 1.0));
  if (!isnan(n->f[0])) {
    RC_TRY(rc_binary_scalar(&t, RC_GE, a, n->f[0]));
    RC_TRY(rc_binary_(inside, RC_MUL, t));
    rc_release(t), t = NULL;
  }
  if (!isnan(n->f[1])) {
    RC_TRY(rc_binary_scalar(&t, RC_LE, a, n->f[1]));
    RC_TRY(rc_binary_(inside, RC_MUL, t));
  }
  RC_TRY(rc_binary(&ga, RC_MUL, g, inside));
  RC_TRY(give(n, 0, ga, gin));
done:
  rc_release(inside), rc_release(t), rc_release(ga);
  return st;
}

rc_status rcg_clamp(rc_tensor **out, const rc_tensor *a, double lo, double hi) {
  rc_status st = rc_clamp(out, a, lo, hi);
  if (st) return st;
  const rc_tensor *in[1] = {a}, *saved[1] = {a};
  rc_node *node;
  st = rc_record(&node, *out, "ClampBackward", clamp_backward, 1, in, 1, saved);
  if (node) node->f[0] = lo, node->f[1] = hi;
  return rc_record_finish(st, out);
}

/* --- where(cond, a, b) and masked_fill(a, mask, v) ------------------------------------
   saved: cond (or mask). */
static rc_status where_backward(rc_node *n, rc_tensor *const *gout, rc_tensor **gin) {
  rc_tensor *g = gout[0], *cond = n->saved[0], *zeros = NULL, *ga = NULL, *gb = NULL;
  rc_status st = RC_OK;
  if (!g) return RC_OK;
  RC_TRY(rc_full(&zeros, RC_FLOAT32, 0, NULL, 0.0));
  if (n->inputs[1].needs_grad) {
    RC_TRY(rc_where(&ga, cond, g, zeros));
    RC_TRY(give(n, 1, ga, gin));
  }
  if (n->inputs[2].needs_grad) {
    RC_TRY(rc_where(&gb, cond, zeros, g));
    RC_TRY(give(n, 2, gb, gin));
  }
done:
  rc_release(zeros), rc_release(ga), rc_release(gb);
  return st;
}

rc_status rcg_where(rc_tensor **out, const rc_tensor *cond, const rc_tensor *a,
                    const rc_tensor *b) {
  rc_status st = rc_where(out, cond, a, b);
  if (st) return st;
  const rc_tensor *in[3] = {NULL, a, b}, *saved[1] = {cond};
  rc_node *node;
  return rc_record_finish(rc_record(&node, *out, "WhereBackward", where_backward, 3, in, 1, saved), out);
}

static rc_status masked_fill_backward(rc_node *n, rc_tensor *const *gout, rc_tensor **gin) {
  rc_tensor *ga = NULL;
  if (!gout[0]) return RC_OK;
  rc_status st = rc_masked_fill(&ga, gout[0], n->saved[0], 0.0);
  if (!st) st = give(n, 0, ga, gin);
  rc_release(ga);
  return st;
}

rc_status rcg_masked_fill(rc_tensor **out, const rc_tensor *a, const rc_tensor *mask,
                          double value) {
  rc_status st = rc_masked_fill(out, a, mask, value);
  if (st) return st;
  const rc_tensor *in[1] = {a}, *saved[1] = {mask};
  rc_node *node;
  return rc_record_finish(rc_record(&node, *out, "MaskedFillBackward", masked_fill_backward, 1, in, 1,
                          saved), out);
}

/* --- in-place forms: checked, then the raw op, then the version bump ------------------ */

#define INPLACE(fn, t, call)                      \
  do {                                            \
    rc_status st_ = rc_inplace_check(fn, t);      \
    if (st_) return st_;                          \
    if ((st_ = (call))) return st_;               \
    rc_bump_version(t);                           \
    return RC_OK;                                 \
  } while (0)

rc_status rcg_binary_(rc_tensor *a, rc_binop op, const rc_tensor *b) {
  INPLACE(rc_binop_name(op), a, rc_binary_(a, op, b));
}
rc_status rcg_binary_scalar_(rc_tensor *a, rc_binop op, double s) {
  INPLACE(rc_binop_name(op), a, rc_binary_scalar_(a, op, s));
}
rc_status rcg_unary_(rc_tensor *a, rc_unop op) {
  INPLACE(rc_unop_name(op), a, rc_unary_(a, op));
}
rc_status rcg_clamp_(rc_tensor *a, double lo, double hi) {
  INPLACE("clamp_", a, rc_clamp_(a, lo, hi));
}
rc_status rcg_masked_fill_(rc_tensor *a, const rc_tensor *mask, double value) {
  INPLACE("masked_fill_", a, rc_masked_fill_(a, mask, value));
}
rc_status rcg_fill_(rc_tensor *t, double value) { INPLACE("fill_", t, rc_fill_(t, value)); }
rc_status rcg_copy_(rc_tensor *dst, const rc_tensor *src) {
  INPLACE("copy_", dst, rc_copy_(dst, src));
}
rc_status rcg_uniform_(rc_tensor *t, double lo, double hi) {
  INPLACE("uniform_", t, rc_uniform_(t, lo, hi));
}
rc_status rcg_normal_(rc_tensor *t, double mean, double std) {
  INPLACE("normal_", t, rc_normal_(t, mean, std));
}
rc_status rcg_bernoulli_(rc_tensor *t, double p) {
  INPLACE("bernoulli_", t, rc_bernoulli_(t, p));
}
rc_status rcg_randint_(rc_tensor *t, int64_t lo, int64_t hi) {
  INPLACE("randint_", t, rc_randint_(t, lo, hi));
}
