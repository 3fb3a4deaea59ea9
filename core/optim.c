/* core/optim.c — the fused optimizer updates of optim.h: checks, then one elementwise pass per
   parameter that reads and writes each element once, in the order PyTorch 1.13 rounds it. */
/* Rounding, op by op as PyTorch's CPU kernels: a.add(b, alpha) = fmaf(alpha, b, a),
   a.addcmul(b, c, value) = fmaf(value * b, c, a), a.addcdiv(b, c, value) = a + value * b / c
   (not fused), mul_/div/sqrt/add of a scalar round each. The other a * b + c below must stay
   unfused: the build's -std=c11 keeps GCC from contracting them (-ffp-contract=off). */
#include <math.h>
#include "autograd.h"
#include "loop.h"
#include "ops.h"
#include "optim.h"
#include "runtime.h"

/* --- checks --------------------------------------------------------------------- */

/* t must be a contiguous float32 tensor shaped like param; name is what the user calls it. */
static rc_status check_operand(const char *fn, const char *name, const rc_tensor *t,
                               const rc_tensor *param) {
  char s1[128], s2[128];
  if (t->dtype != RC_FLOAT32)
    return rc_fail(RC_ERR_ARG, "%s: %s must be float32, got %s", fn, name,
                   rc_dtype_name(t->dtype));
  bool same = t->ndim == param->ndim;
  for (int d = 0; same && d < t->ndim; d++) same = t->shape[d] == param->shape[d];
  if (!same)
    return rc_fail(RC_ERR_SHAPE, "%s: %s has shape %s but the parameter has shape %s", fn, name,
                   rc_shape_str(t, s1, sizeof s1), rc_shape_str(param, s2, sizeof s2));
  if (!rc_is_contiguous(t))
    return rc_fail(RC_ERR_ARG, "%s: %s must be contiguous, got a strided view of shape %s", fn,
                   name, rc_shape_str(t, s1, sizeof s1));
  return RC_OK;
}

/* Each element is read and written once, in place: operands that overlap would see
   half-updated values. */
static bool overlap(const rc_tensor *a, const rc_tensor *b) {
  if (a->storage != b->storage) return false;
  int64_t n = rc_numel(a);
  return n > 0 && a->offset < b->offset + n && b->offset < a->offset + n;
}

/* Checks every operand (NULLs skipped) against the parameter (ops[0]), then that no two
   share memory. names[i] names ops[i]. */
static rc_status check_operands(const char *fn, int n, const rc_tensor *const *ops,
                                const char *const *names) {
  for (int i = 0; i < n; i++) {
    if (!ops[i]) continue;
    rc_status st = check_operand(fn, names[i], ops[i], ops[0]);
    if (st) return st;
  }
  for (int i = 0; i < n; i++)
    for (int j = i + 1; j < n; j++)
      if (ops[i] && ops[j] && overlap(ops[i], ops[j]))
        return rc_fail(RC_ERR_ARG, "%s: %s and %s share memory; each needs its own storage",
                       fn, names[i], names[j]);
  return RC_OK;
}

static rc_status require(const char *fn, const rc_tensor *t, const char *what, const char *why) {
  if (t) return RC_OK;
  return rc_fail(RC_ERR_ARG, "%s: %s needs %s, got NULL", fn, why, what);
}

static void bump(rc_tensor *t) {
  if (t) rc_bump_version(t);
}

/* torch.maximum: NaN in either operand gives NaN. Selects only, so loops still vectorize. */
static inline float maximum(float a, float b) {
  float m = a > b ? a : b;
  m = b != b ? b : m;
  return a != a ? a : m;
}

/* How the passes run: the parallel loop hands out chunks of CHUNK elements to functions that
   take the arrays as restrict pointers (check_operands proved they do not overlap; OpenMP's
   outlining would lose that), one function per set of arrays written, with the remaining
   options as selects between values (maximize is a multiplication by -1, exact). So every
   pass vectorizes, and each element is computed the same way on any thread count. */
#define CHUNK 8192

static inline int64_t chunk_end(int64_t lo, int64_t n) { return lo + CHUNK < n ? lo + CHUNK : n; }

/* --- SGD ------------------------------------------------------------------------ */

typedef struct {
  float sign, wd, momentum, keep, neg_lr;
  bool decay, nesterov, first;
} sgd_consts;

/* p, g: [lo, hi). Without momentum: p -= lr * (g + wd * p). */
static void sgd_range(int64_t lo, int64_t hi, float *restrict p, const float *restrict g,
                      const sgd_consts *k) {
  const float sign = k->sign, wd = k->wd, neg_lr = k->neg_lr;
  const bool decay = k->decay;
  for (int64_t i = lo; i < hi; i++) {
    float d = sign * g[i];
    d = decay ? fmaf(wd, p[i], d) : d;
    p[i] = fmaf(neg_lr, d, p[i]);
  }
}

/* p, g, b: [lo, hi). With momentum buffer b (zeros when first: then it becomes d). */
static void sgd_momentum_range(int64_t lo, int64_t hi, float *restrict p,
                               const float *restrict g, float *restrict b, const sgd_consts *k) {
  const float sign = k->sign, wd = k->wd, momentum = k->momentum, keep = k->keep;
  const float neg_lr = k->neg_lr;
  const bool decay = k->decay, nesterov = k->nesterov, first = k->first;
  for (int64_t i = lo; i < hi; i++) {
    float d = sign * g[i];
    d = decay ? fmaf(wd, p[i], d) : d;
    float bi = first ? d : fmaf(keep, d, b[i] * momentum);
    b[i] = bi;
    d = nesterov ? fmaf(momentum, bi, d) : bi;
    p[i] = fmaf(neg_lr, d, p[i]);
  }
}

/* param, grad, buf: (n) each. PyTorch per step:
   d_p = grad (or -grad); d_p = d_p.add(param, alpha=wd);
   buf = clone(d_p) (first) | buf.mul_(momentum).add_(d_p, alpha=1-dampening);
   d_p = d_p.add(buf, alpha=momentum) (nesterov) | buf; param.add_(d_p, alpha=-lr). */
rc_status rc_sgd_step(rc_tensor *param, const rc_tensor *grad, rc_tensor **momentum_buf,
                      const rc_sgd_options *o) {
  const char *fn = "sgd_step";
  bool use_momentum = o->momentum != 0;
  rc_tensor *buf = use_momentum && momentum_buf ? *momentum_buf : NULL;
  if (use_momentum && !momentum_buf)
    return rc_fail(RC_ERR_ARG, "%s: momentum %g needs a place for the momentum buffer, got NULL",
                   fn, o->momentum);
  const rc_tensor *ops[] = {param, grad, buf};
  const char *const names[] = {"param", "grad", "momentum_buffer"};
  rc_status st = check_operands(fn, 3, ops, names);
  if (st) return st;
  bool first = use_momentum && !buf;
  /* zeros, though the first step only writes it: the loop reads it before its select */
  if (first && (st = rc_full(&buf, RC_FLOAT32, param->ndim, param->shape, 0))) return st;

  const sgd_consts k = {
    .sign = o->maximize ? -1.0f : 1.0f, .wd = (float)o->weight_decay,
    .momentum = (float)o->momentum, .keep = (float)(1 - o->dampening),
    .neg_lr = (float)-o->lr, .decay = o->weight_decay != 0, .nesterov = o->nesterov,
    .first = first,
  };
  int64_t n = rc_numel(param);
  float *p = rc_f32(param), *b = use_momentum ? rc_f32(buf) : NULL;
  const float *g = rc_f32(grad);
#pragma omp parallel for schedule(static) num_threads(rc_threads()) if (n >= RC_PARALLEL_MIN)
  for (int64_t lo = 0; lo < n; lo += CHUNK) {
    if (b)
      sgd_momentum_range(lo, chunk_end(lo, n), p, g, b, &k);
    else
      sgd_range(lo, chunk_end(lo, n), p, g, &k);
  }
  bump(param);
  if (use_momentum) {
    bump(buf);
    *momentum_buf = buf; /* the new buffer on the first step, else the same one */
  }
  return RC_OK;
}

/* --- Adam and AdamW --------------------------------------------------------------- */

typedef struct {
  float sign, param_scale, wd, beta1, beta2, one_minus_beta1, one_minus_beta2, eps, bc2_sqrt;
  float neg_step_size;
  bool l2;
} adam_consts;

/* p, g, m, v: [lo, hi). vmax: the running maximum of v (amsgrad), or NULL. */
static inline void adam_range(int64_t lo, int64_t hi, float *restrict p,
                              const float *restrict g, float *restrict m, float *restrict v,
                              float *restrict vmax, const adam_consts *k) {
  const float sign = k->sign, param_scale = k->param_scale, wd = k->wd;
  const float beta1 = k->beta1, beta2 = k->beta2, one_minus_beta1 = k->one_minus_beta1;
  const float one_minus_beta2 = k->one_minus_beta2, eps = k->eps, bc2_sqrt = k->bc2_sqrt;
  const float neg_step_size = k->neg_step_size;
  const bool l2 = k->l2;
  for (int64_t i = lo; i < hi; i++) {
    float pi = p[i] * param_scale, gi = sign * g[i];
    gi = l2 ? fmaf(wd, pi, gi) : gi;
    float mi = fmaf(one_minus_beta1, gi, m[i] * beta1);
    float vi = fmaf(one_minus_beta2 * gi, gi, v[i] * beta2);
    m[i] = mi;
    v[i] = vi;
    if (vmax) { /* the same for every i: unswitched out of the loop */
      vi = maximum(vmax[i], vi);
      vmax[i] = vi;
    }
    float denom = sqrtf(vi) / bc2_sqrt + eps;
    p[i] = pi + neg_step_size * mi / denom;
  }
}

/* The two cases as separate functions, so each loop has one set of arrays written. */
static void adam_plain_range(int64_t lo, int64_t hi, float *restrict p, const float *restrict g,
                             float *restrict m, float *restrict v, const adam_consts *k) {
  adam_range(lo, hi, p, g, m, v, NULL, k);
}

static void adam_amsgrad_range(int64_t lo, int64_t hi, float *restrict p,
                               const float *restrict g, float *restrict m, float *restrict v,
                               float *restrict vmax, const adam_consts *k) {
  adam_range(lo, hi, p, g, m, v, vmax, k);
}

/* param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq: (n) each. PyTorch per step:
   AdamW: param.mul_(1 - lr*wd).   Adam: grad = grad.add(param, alpha=wd).
   exp_avg.mul_(beta1).add_(grad, alpha=1-beta1)
   exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1-beta2)
   max_exp_avg_sq = maximum(max_exp_avg_sq, exp_avg_sq)        (amsgrad)
   denom = (sqrt(exp_avg_sq or max) / sqrt(1 - beta2^step)).add_(eps)
   param.addcdiv_(exp_avg, denom, value=-lr / (1 - beta1^step))
   The bias corrections are Python floats (double), converted once. */
static rc_status adam_step(const char *fn, bool decoupled, rc_tensor *param,
                           const rc_tensor *grad, rc_tensor *exp_avg, rc_tensor *exp_avg_sq,
                           rc_tensor *max_exp_avg_sq, int64_t step, const rc_adam_options *o) {
  rc_status st;
  if ((st = require(fn, exp_avg, "exp_avg", "the update")) ||
      (st = require(fn, exp_avg_sq, "exp_avg_sq", "the update")))
    return st;
  if (o->amsgrad && (st = require(fn, max_exp_avg_sq, "max_exp_avg_sq", "amsgrad")))
    return st;
  if (step < 1) return rc_fail(RC_ERR_ARG, "%s: step must be >= 1 (1 for the first), got %lld",
                               fn, (long long)step);
  rc_tensor *vmax_t = o->amsgrad ? max_exp_avg_sq : NULL;
  const rc_tensor *ops[] = {param, grad, exp_avg, exp_avg_sq, vmax_t};
  const char *const names[] = {"param", "grad", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"};
  if ((st = check_operands(fn, 5, ops, names))) return st;

  double bias_correction1 = 1 - pow(o->beta1, (double)step);
  double bias_correction2 = 1 - pow(o->beta2, (double)step);
  const adam_consts k = {
    .sign = o->maximize ? -1.0f : 1.0f,
    /* AdamW's decay; 1 for Adam (exact: x * 1 == x) */
    .param_scale = decoupled ? (float)(1 - o->lr * o->weight_decay) : 1.0f,
    .wd = (float)o->weight_decay, .beta1 = (float)o->beta1, .beta2 = (float)o->beta2,
    .one_minus_beta1 = (float)(1 - o->beta1), .one_minus_beta2 = (float)(1 - o->beta2),
    .eps = (float)o->eps, .bc2_sqrt = (float)sqrt(bias_correction2),
    .neg_step_size = (float)-(o->lr / bias_correction1),
    .l2 = !decoupled && o->weight_decay != 0,
  };
  int64_t n = rc_numel(param);
  float *p = rc_f32(param), *m = rc_f32(exp_avg), *v = rc_f32(exp_avg_sq);
  float *vmax = vmax_t ? rc_f32(vmax_t) : NULL;
  const float *g = rc_f32(grad);
#pragma omp parallel for schedule(static) num_threads(rc_threads()) if (n >= RC_PARALLEL_MIN)
  for (int64_t lo = 0; lo < n; lo += CHUNK) {
    if (vmax)
      adam_amsgrad_range(lo, chunk_end(lo, n), p, g, m, v, vmax, &k);
    else
      adam_plain_range(lo, chunk_end(lo, n), p, g, m, v, &k);
  }
  bump(param), bump(exp_avg), bump(exp_avg_sq), bump(vmax_t);
  return RC_OK;
}

rc_status rc_adam_step(rc_tensor *param, const rc_tensor *grad, rc_tensor *exp_avg,
                       rc_tensor *exp_avg_sq, rc_tensor *max_exp_avg_sq, int64_t step,
                       const rc_adam_options *opts) {
  return adam_step("adam_step", false, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step,
                   opts);
}

rc_status rc_adamw_step(rc_tensor *param, const rc_tensor *grad, rc_tensor *exp_avg,
                        rc_tensor *exp_avg_sq, rc_tensor *max_exp_avg_sq, int64_t step,
                        const rc_adam_options *opts) {
  return adam_step("adamw_step", true, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step,
                   opts);
}

/* --- RMSprop ------------------------------------------------------------------------ */

typedef struct {
  float sign, wd, alpha, one_minus_alpha, eps, momentum, neg_lr;
  bool decay;
} rmsprop_consts;

/* p, g, sq: [lo, hi). ga (centered) and b (momentum) may be NULL. */
static inline void rmsprop_range(int64_t lo, int64_t hi, float *restrict p,
                                 const float *restrict g, float *restrict sq,
                                 float *restrict ga, float *restrict b,
                                 const rmsprop_consts *k) {
  const float sign = k->sign, wd = k->wd, alpha = k->alpha, one_minus_alpha = k->one_minus_alpha;
  const float eps = k->eps, momentum = k->momentum, neg_lr = k->neg_lr;
  const bool decay = k->decay;
  for (int64_t i = lo; i < hi; i++) {
    float gi = sign * g[i];
    gi = decay ? fmaf(wd, p[i], gi) : gi;
    float s = fmaf(one_minus_alpha * gi, gi, sq[i] * alpha);
    sq[i] = s;
    float avg;
    if (ga) { /* the same for every i: unswitched out of the loop */
      float a = fmaf(one_minus_alpha, gi, ga[i] * alpha);
      ga[i] = a;
      avg = sqrtf(fmaf(-1.0f * a, a, s)) + eps;
    } else {
      avg = sqrtf(s) + eps;
    }
    if (b) {
      float bi = b[i] * momentum + gi / avg;
      b[i] = bi;
      p[i] = fmaf(neg_lr, bi, p[i]);
    } else {
      p[i] = p[i] + neg_lr * gi / avg;
    }
  }
}

/* The four cases (centered or not, momentum or not) as separate functions. */
static void rmsprop_plain_range(int64_t lo, int64_t hi, float *restrict p,
                                const float *restrict g, float *restrict sq,
                                const rmsprop_consts *k) {
  rmsprop_range(lo, hi, p, g, sq, NULL, NULL, k);
}

static void rmsprop_momentum_range(int64_t lo, int64_t hi, float *restrict p,
                                   const float *restrict g, float *restrict sq,
                                   float *restrict b, const rmsprop_consts *k) {
  rmsprop_range(lo, hi, p, g, sq, NULL, b, k);
}

static void rmsprop_centered_range(int64_t lo, int64_t hi, float *restrict p,
                                   const float *restrict g, float *restrict sq,
                                   float *restrict ga, const rmsprop_consts *k) {
  rmsprop_range(lo, hi, p, g, sq, ga, NULL, k);
}

static void rmsprop_centered_momentum_range(int64_t lo, int64_t hi, float *restrict p,
                                            const float *restrict g, float *restrict sq,
                                            float *restrict ga, float *restrict b,
                                            const rmsprop_consts *k) {
  rmsprop_range(lo, hi, p, g, sq, ga, b, k);
}

/* param, grad, square_avg, grad_avg, momentum_buf: (n) each. PyTorch per step:
   grad = grad.add(param, alpha=wd)
   square_avg.mul_(alpha).addcmul_(grad, grad, value=1-alpha)
   centered: grad_avg.mul_(alpha).add_(grad, alpha=1-alpha);
             avg = square_avg.addcmul(grad_avg, grad_avg, value=-1).sqrt_()
   else:     avg = square_avg.sqrt()
   avg.add_(eps)
   momentum > 0: buf.mul_(momentum).addcdiv_(grad, avg); param.add_(buf, alpha=-lr)
   else:         param.addcdiv_(grad, avg, value=-lr) */
rc_status rc_rmsprop_step(rc_tensor *param, const rc_tensor *grad, rc_tensor *square_avg,
                          rc_tensor *grad_avg, rc_tensor *momentum_buf,
                          const rc_rmsprop_options *o) {
  const char *fn = "rmsprop_step";
  rc_status st;
  bool use_momentum = o->momentum > 0;
  if ((st = require(fn, square_avg, "square_avg", "the update"))) return st;
  if (o->centered && (st = require(fn, grad_avg, "grad_avg", "centered"))) return st;
  if (use_momentum && !momentum_buf)
    return rc_fail(RC_ERR_ARG, "%s: momentum %g needs momentum_buffer, got NULL", fn,
                   o->momentum);
  rc_tensor *ga_t = o->centered ? grad_avg : NULL, *buf_t = use_momentum ? momentum_buf : NULL;
  const rc_tensor *ops[] = {param, grad, square_avg, ga_t, buf_t};
  const char *const names[] = {"param", "grad", "square_avg", "grad_avg", "momentum_buffer"};
  if ((st = check_operands(fn, 5, ops, names))) return st;

  const rmsprop_consts k = {
    .sign = o->maximize ? -1.0f : 1.0f, .wd = (float)o->weight_decay,
    .alpha = (float)o->alpha, .one_minus_alpha = (float)(1 - o->alpha), .eps = (float)o->eps,
    .momentum = (float)o->momentum, .neg_lr = (float)-o->lr, .decay = o->weight_decay != 0,
  };
  int64_t n = rc_numel(param);
  float *p = rc_f32(param), *sq = rc_f32(square_avg);
  float *ga = ga_t ? rc_f32(ga_t) : NULL, *b = buf_t ? rc_f32(buf_t) : NULL;
  const float *g = rc_f32(grad);
#pragma omp parallel for schedule(static) num_threads(rc_threads()) if (n >= RC_PARALLEL_MIN)
  for (int64_t lo = 0; lo < n; lo += CHUNK) {
    int64_t hi = chunk_end(lo, n);
    if (ga && b)
      rmsprop_centered_momentum_range(lo, hi, p, g, sq, ga, b, &k);
    else if (ga)
      rmsprop_centered_range(lo, hi, p, g, sq, ga, &k);
    else if (b)
      rmsprop_momentum_range(lo, hi, p, g, sq, b, &k);
    else
      rmsprop_plain_range(lo, hi, p, g, sq, &k);
  }
  bump(param), bump(square_avg), bump(ga_t), bump(buf_t);
  return RC_OK;
}

/* --- Adagrad ------------------------------------------------------------------------ */

typedef struct {
  float sign, wd, eps, neg_clr;
  bool decay;
} adagrad_consts;

/* p, g, sum: [lo, hi). */
static void adagrad_range(int64_t lo, int64_t hi, float *restrict p, const float *restrict g,
                          float *restrict sum, const adagrad_consts *k) {
  const float sign = k->sign, wd = k->wd, eps = k->eps, neg_clr = k->neg_clr;
  const bool decay = k->decay;
  for (int64_t i = lo; i < hi; i++) {
    float gi = sign * g[i];
    gi = decay ? fmaf(wd, p[i], gi) : gi;
    float s = fmaf(1.0f * gi, gi, sum[i]);
    sum[i] = s;
    float std = sqrtf(s) + eps;
    p[i] = p[i] + neg_clr * gi / std;
  }
}

/* param, grad, state_sum: (n) each. PyTorch per step:
   grad = grad.add(param, alpha=wd); clr = lr / (1 + (step - 1) * lr_decay)
   state_sum.addcmul_(grad, grad, value=1); std = state_sum.sqrt().add_(eps)
   param.addcdiv_(grad, std, value=-clr) */
rc_status rc_adagrad_step(rc_tensor *param, const rc_tensor *grad, rc_tensor *state_sum,
                          int64_t step, const rc_adagrad_options *o) {
  const char *fn = "adagrad_step";
  rc_status st;
  if ((st = require(fn, state_sum, "state_sum", "the update"))) return st;
  if (step < 1) return rc_fail(RC_ERR_ARG, "%s: step must be >= 1 (1 for the first), got %lld",
                               fn, (long long)step);
  const rc_tensor *ops[] = {param, grad, state_sum};
  const char *const names[] = {"param", "grad", "state_sum"};
  if ((st = check_operands(fn, 3, ops, names))) return st;

  const adagrad_consts k = {
    .sign = o->maximize ? -1.0f : 1.0f, .wd = (float)o->weight_decay, .eps = (float)o->eps,
    .neg_clr = (float)-(o->lr / (1 + (double)(step - 1) * o->lr_decay)),
    .decay = o->weight_decay != 0,
  };
  int64_t n = rc_numel(param);
  float *p = rc_f32(param), *sum = rc_f32(state_sum);
  const float *g = rc_f32(grad);
#pragma omp parallel for schedule(static) num_threads(rc_threads()) if (n >= RC_PARALLEL_MIN)
  for (int64_t lo = 0; lo < n; lo += CHUNK)
    adagrad_range(lo, chunk_end(lo, n), p, g, sum, &k);
  bump(param), bump(state_sum);
  return RC_OK;
}
