/* core/loss.c — the losses: mse, binary cross-entropy with logits, cross-entropy (fused
   log-softmax; class ids or probabilities, class weights, label smoothing, ignore_index) and
   nll, each a forward/backward kernel pair, with PyTorch 1.13's semantics. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "nn_ops.h"
#include "ops.h"
#include "runtime.h"
#include "loop.h"
#include "vmath.h"

rc_status rc_reduction_from_name(const char *fn, const char *name, rc_reduction *out) {
  static const char *const names[] = {"mean", "sum", "none"};
  for (int i = 0; i < 3; i++)
    if (name && !strcmp(name, names[i])) {
      *out = (rc_reduction)i;
      return RC_OK;
    }
  return rc_fail(RC_ERR_ARG, "%s: reduction must be 'mean', 'sum' or 'none', got '%s'", fn,
                 name ? name : "(null)");
}

const char *rc_reduction_name(rc_reduction reduction) {
  switch (reduction) {
    case RC_REDUCTION_MEAN: return "mean";
    case RC_REDUCTION_SUM: return "sum";
    case RC_REDUCTION_NONE: return "none";
  }
  return "?";
}

static rc_status check_reduction(const char *fn, rc_reduction reduction) {
  if ((int)reduction < RC_REDUCTION_MEAN || reduction > RC_REDUCTION_NONE)
    return rc_fail(RC_ERR_ARG, "%s: unknown reduction %d", fn, (int)reduction);
  return RC_OK;
}

static rc_status check_float(const char *fn, const char *what, const rc_tensor *t) {
  if (t->dtype != RC_FLOAT32)
    return rc_fail(RC_ERR_ARG, "%s: %s must be float32, got %s", fn, what,
                   rc_dtype_name(t->dtype));
  return RC_OK;
}

static bool same_shape(const rc_tensor *a, const rc_tensor *b) {
  if (a->ndim != b->ndim) return false;
  for (int d = 0; d < a->ndim; d++)
    if (a->shape[d] != b->shape[d]) return false;
  return true;
}

/* A 0-d float32 tensor holding v. */
static rc_status scalar_out(rc_tensor **out, double v) {
  return rc_full(out, RC_FLOAT32, 0, NULL, v);
}

/* What scales element i's gradient: g (0-d) / count for mean, g for sum, g[i] for none. */
typedef struct {
  const float *each; /* reduction none: the contiguous g, one per element (or row) */
  float all;         /* otherwise: the one factor */
} grad_scale;

static inline float scale_at(const grad_scale *s, int64_t i) {
  return s->each ? s->each[i] : s->all;
}

/* Set *s from the output gradient g. *gc receives a contiguous copy to release (none). */
static rc_status make_scale(grad_scale *s, rc_tensor **gc, const rc_tensor *g,
                            rc_reduction reduction, double count) {
  *gc = NULL;
  s->each = NULL;
  s->all = 0;
  if (reduction == RC_REDUCTION_NONE) {
    rc_status st = rc_contiguous(gc, g);
    if (st) return st;
    s->each = rc_f32(*gc);
    return RC_OK;
  }
  double v = rc_f32(g)[0];
  s->all = (float)(reduction == RC_REDUCTION_MEAN ? v / count : v);
  return RC_OK;
}

/* --- elementwise losses: per-chunk kernels, summed in a fixed order ----------------------- */

/* Elements are cut into chunks of a fixed size whatever the thread count; each chunk's sum is
   taken in order (double), then the chunk sums in order: a deterministic total. */
#define CHUNK 8192

typedef struct {
  const float *x, *y; /* input, target */
  const float *w, *pw; /* weight, pos_weight expanded to input's shape (or NULL) */
  float *each;         /* per-element losses (reduction none), or NULL */
} elem_job;

/* Losses of elements lo..hi-1, stored if job->each, returned summed. */
typedef double (*elem_kernel)(const elem_job *job, int64_t lo, int64_t hi);

static rc_status run_chunks(const char *fn, elem_kernel kernel, const elem_job *job, int64_t n,
                            double *total) {
  int64_t chunks = (n + CHUNK - 1) / CHUNK;
  double *part = malloc(sizeof *part * (size_t)(chunks > 0 ? chunks : 1));
  if (!part) return rc_fail(RC_ERR_NOMEM, "%s: out of memory", fn);
#pragma omp parallel for schedule(static) num_threads(rc_threads()) if (n >= RC_PARALLEL_MIN)
  for (int64_t c = 0; c < chunks; c++)
    part[c] = kernel(job, c * CHUNK, (c + 1) * CHUNK < n ? (c + 1) * CHUNK : n);
  double sum = 0;
  for (int64_t c = 0; c < chunks; c++) sum += part[c];
  free(part);
  *total = sum;
  return RC_OK;
}

/* The result of an elementwise loss over input's shape: per element, summed or averaged. */
static rc_status elementwise_loss(rc_tensor **out, const char *fn, elem_kernel kernel,
                                  elem_job *job, const rc_tensor *input,
                                  rc_reduction reduction) {
  int64_t n = rc_numel(input);
  rc_tensor *r = NULL;
  rc_status st;
  double total;
  if (reduction == RC_REDUCTION_NONE) {
    if ((st = rc_empty_like(&r, input, RC_FLOAT32))) return st;
    job->each = rc_f32(r);
    if ((st = run_chunks(fn, kernel, job, n, &total))) {
      rc_release(r);
      return st;
    }
    *out = r;
    return RC_OK;
  }
  job->each = NULL;
  if ((st = run_chunks(fn, kernel, job, n, &total))) return st;
  return scalar_out(out, reduction == RC_REDUCTION_MEAN ? total / (double)n : total);
}

/* input and target: float32, the same shape; made contiguous into *xc, *yc. */
static rc_status pair_args(const char *fn, const rc_tensor *input, const rc_tensor *target,
                           rc_reduction reduction, rc_tensor **xc, rc_tensor **yc) {
  char s1[128], s2[128];
  rc_status st;
  *xc = *yc = NULL;
  if ((st = check_reduction(fn, reduction))) return st;
  if ((st = check_float(fn, "input", input))) return st;
  if ((st = check_float(fn, "target", target))) return st;
  if (!same_shape(input, target))
    return rc_fail(RC_ERR_SHAPE, "%s: input shape %s and target shape %s must be the same", fn,
                   rc_shape_str(input, s1, sizeof s1), rc_shape_str(target, s2, sizeof s2));
  if ((st = rc_contiguous(xc, input))) return st;
  if ((st = rc_contiguous(yc, target))) {
    rc_release(*xc);
    *xc = NULL;
  }
  return st;
}

/* --- mse_loss -----------------------------------------------------------------------------
   input x (...), target y (...) -> loss (...) = (x - y)^2, then reduced. */
static double mse_kernel(const elem_job *job, int64_t lo, int64_t hi) {
  const float *x = job->x, *y = job->y;
  double sum = 0;
  for (int64_t i = lo; i < hi; i++) {
    float d = x[i] - y[i], l = d * d;
    if (job->each) job->each[i] = l;
    sum += l;
  }
  return sum;
}

rc_status rc_mse_loss(rc_tensor **out, const rc_tensor *input, const rc_tensor *target,
                      rc_reduction reduction) {
  rc_tensor *xc, *yc;
  rc_status st = pair_args("mse_loss", input, target, reduction, &xc, &yc);
  if (st) return st;
  elem_job job = {.x = rc_f32(xc), .y = rc_f32(yc)};
  st = elementwise_loss(out, "mse_loss", mse_kernel, &job, input, reduction);
  rc_release(xc), rc_release(yc);
  return st;
}

/* g (shape of the loss) -> dx = 2 (x - y) g [/ n], dy = -dx.
   saved: input, target. i[0] = reduction. */
static rc_status mse_backward(rc_node *n, rc_tensor *const *gout, rc_tensor **gin) {
  if (!gout[0]) return RC_OK;
  bool need_x = n->inputs[0].needs_grad, need_y = n->inputs[1].needs_grad;
  rc_tensor *xc = NULL, *yc = NULL, *gc = NULL, *dx = NULL, *dy = NULL;
  rc_status st;
  rc_reduction reduction = (rc_reduction)n->i[0];
  int64_t count = rc_numel(n->saved[0]);
  grad_scale s;
  if ((st = rc_contiguous(&xc, n->saved[0])) || (st = rc_contiguous(&yc, n->saved[1])) ||
      (st = make_scale(&s, &gc, gout[0], reduction, (double)count)))
    goto done;
  if (need_x && (st = rc_empty_like(&dx, xc, RC_FLOAT32))) goto done;
  if (need_y && (st = rc_empty_like(&dy, xc, RC_FLOAT32))) goto done;
  const float *x = rc_f32(xc), *y = rc_f32(yc);
  float *gx = dx ? rc_f32(dx) : NULL, *gy = dy ? rc_f32(dy) : NULL;
#pragma omp parallel for schedule(static) num_threads(rc_threads()) if (count >= RC_PARALLEL_MIN)
  for (int64_t i = 0; i < count; i++) {
    float v = 2.0f * (x[i] - y[i]) * scale_at(&s, i);
    if (gx) gx[i] = v;
    if (gy) gy[i] = -v;
  }
  gin[0] = dx, gin[1] = dy;
  dx = dy = NULL;
done:
  rc_release(xc), rc_release(yc), rc_release(gc), rc_release(dx), rc_release(dy);
  return st;
}

rc_status rcg_mse_loss(rc_tensor **out, const rc_tensor *input, const rc_tensor *target,
                       rc_reduction reduction) {
  rc_status st = rc_mse_loss(out, input, target, reduction);
  if (st) return st;
  const rc_tensor *in[2] = {input, target}, *saved[2] = {input, target};
  rc_node *node;
  st = rc_record(&node, *out, "MseLossBackward", mse_backward, 2, in, 2, saved);
  if (node) node->i[0] = reduction;
  return rc_record_finish(st, out);
}

/* --- binary_cross_entropy_with_logits ---------------------------------------------------
   input x (...), target y (...), weight w and pos_weight pw broadcast to (...) or absent
   (w = pw = 1) -> loss (...) = w ((1 - y) x + (1 + (pw - 1) y) softplus(-x)), as PyTorch
   (w rescales each element's loss; "mean" still divides by the element count), with
   softplus(-x) = log(1 + exp(-x)) = max(-x, 0) + log1p(exp(-|x|)): no exp of a large number. */
static inline float softplus_neg(float x) { return fmaxf(-x, 0.0f) + log1pf(expf(-fabsf(x))); }

static inline float sigmoidf(float x) {
  if (x >= 0) return 1.0f / (1.0f + expf(-x));
  float e = expf(x);
  return e / (1.0f + e);
}

static double bce_kernel(const elem_job *job, int64_t lo, int64_t hi) {
  const float *x = job->x, *y = job->y, *w = job->w, *pw = job->pw;
  double sum = 0;
  for (int64_t i = lo; i < hi; i++) {
    float log_weight = pw ? 1.0f + (pw[i] - 1.0f) * y[i] : 1.0f;
    float l = (1.0f - y[i]) * x[i] + log_weight * softplus_neg(x[i]);
    if (w) l *= w[i];
    if (job->each) job->each[i] = l;
    sum += l;
  }
  return sum;
}

/* t (weight or pos_weight, named `what`) broadcast to input's shape, contiguous (a new
   tensor), or NULL when t is absent. */
static rc_status expand_to_input(rc_tensor **out, const char *what, const rc_tensor *t,
                                 const rc_tensor *input) {
  const char *fn = "binary_cross_entropy_with_logits";
  char s1[128], s2[128];
  *out = NULL;
  if (!t) return RC_OK;
  rc_status st = check_float(fn, what, t);
  if (st) return st;
  int ndim;
  int64_t shape[RC_MAX_DIMS];
  bool fits = rc_broadcast_shapes(fn, t->ndim, t->shape, input->ndim, input->shape, &ndim,
                                  shape) == RC_OK && ndim == input->ndim;
  for (int d = 0; fits && d < ndim; d++) fits = shape[d] == input->shape[d];
  if (!fits)
    return rc_fail(RC_ERR_SHAPE, "%s: %s shape %s does not broadcast to input shape %s", fn, what,
                   rc_shape_str(t, s1, sizeof s1), rc_shape_str(input, s2, sizeof s2));
  rc_tensor *view = NULL;
  if ((st = rc_expand(&view, t, input->ndim, input->shape))) return st;
  st = rc_clone(out, view); /* a copy even when t already has the shape: never aliased */
  rc_release(view);
  return st;
}

/* Forward; *w_used and *pw_used receive weight and pos_weight expanded to input's shape (or
   NULL), for backward (w_used may be NULL: not wanted). */
static rc_status bce_forward(rc_tensor **out, rc_tensor **w_used, rc_tensor **pw_used,
                             const rc_tensor *input, const rc_tensor *target,
                             const rc_tensor *weight, const rc_tensor *pos_weight,
                             rc_reduction reduction) {
  const char *fn = "binary_cross_entropy_with_logits";
  rc_tensor *xc, *yc, *wc = NULL, *pwc = NULL;
  rc_status st = pair_args(fn, input, target, reduction, &xc, &yc);
  if (st) return st;
  if (!(st = expand_to_input(&wc, "weight", weight, input)) &&
      !(st = expand_to_input(&pwc, "pos_weight", pos_weight, input))) {
    elem_job job = {.x = rc_f32(xc), .y = rc_f32(yc), .w = wc ? rc_f32(wc) : NULL,
                    .pw = pwc ? rc_f32(pwc) : NULL};
    st = elementwise_loss(out, fn, bce_kernel, &job, input, reduction);
  }
  if (!st && w_used) *w_used = wc, *pw_used = pwc, wc = pwc = NULL;
  rc_release(xc), rc_release(yc), rc_release(wc), rc_release(pwc);
  return st;
}

rc_status rc_binary_cross_entropy_with_logits(rc_tensor **out, const rc_tensor *input,
                                              const rc_tensor *target, const rc_tensor *weight,
                                              const rc_tensor *pos_weight,
                                              rc_reduction reduction) {
  return bce_forward(out, NULL, NULL, input, target, weight, pos_weight, reduction);
}

/* g (shape of the loss) ->
   dx = g [/ n] w ((1 + (pw - 1) y) sigmoid(x) - pw y)     (= w (sigmoid(x) - y) without pw)
   dy = g [/ n] w ((pw - 1) softplus(-x) - x)
   saved: input, target, pos_weight, weight (expanded, or NULL). i[0] = reduction. */
static rc_status bce_backward(rc_node *n, rc_tensor *const *gout, rc_tensor **gin) {
  if (!gout[0]) return RC_OK;
  bool need_x = n->inputs[0].needs_grad, need_y = n->inputs[1].needs_grad;
  rc_tensor *xc = NULL, *yc = NULL, *gc = NULL, *dx = NULL, *dy = NULL;
  rc_status st;
  int64_t count = rc_numel(n->saved[0]);
  grad_scale s;
  if ((st = rc_contiguous(&xc, n->saved[0])) || (st = rc_contiguous(&yc, n->saved[1])) ||
      (st = make_scale(&s, &gc, gout[0], (rc_reduction)n->i[0], (double)count)))
    goto done;
  if (need_x && (st = rc_empty_like(&dx, xc, RC_FLOAT32))) goto done;
  if (need_y && (st = rc_empty_like(&dy, xc, RC_FLOAT32))) goto done;
  const float *x = rc_f32(xc), *y = rc_f32(yc);
  const float *pw = n->saved[2] ? rc_f32(n->saved[2]) : NULL;
  const float *w = n->saved[3] ? rc_f32(n->saved[3]) : NULL;
  float *gx = dx ? rc_f32(dx) : NULL, *gy = dy ? rc_f32(dy) : NULL;
#pragma omp parallel for schedule(static) num_threads(rc_threads()) if (count >= RC_PARALLEL_MIN)
  for (int64_t i = 0; i < count; i++) {
    float p = pw ? pw[i] : 1.0f, g = scale_at(&s, i) * (w ? w[i] : 1.0f);
    if (gx) gx[i] = g * ((1.0f + (p - 1.0f) * y[i]) * sigmoidf(x[i]) - p * y[i]);
    if (gy) gy[i] = g * ((p - 1.0f) * softplus_neg(x[i]) - x[i]);
  }
  gin[0] = dx, gin[1] = dy;
  dx = dy = NULL;
done:
  rc_release(xc), rc_release(yc), rc_release(gc), rc_release(dx), rc_release(dy);
  return st;
}

/* PyTorch 1.13 refuses a weight (or BCE's pos_weight) that requires grad where it has no
   gradient formula for it (class-index targets, BCE). So does recur, rather than leave its
   .grad silently empty. */
static rc_status refuse_grad(const char *fn, const char *what, const rc_tensor *t,
                             const char *where) {
  if (t && rc_any_requires_grad(1, &t))
    return rc_fail(RC_ERR_ARG, "%s: %s requires grad, but no gradient is computed for it%s "
                               "(as in PyTorch); detach it", fn, what, where);
  return RC_OK;
}

rc_status rcg_binary_cross_entropy_with_logits(rc_tensor **out, const rc_tensor *input,
                                               const rc_tensor *target, const rc_tensor *weight,
                                               const rc_tensor *pos_weight,
                                               rc_reduction reduction) {
  rc_tensor *wc = NULL, *pwc = NULL;
  rc_status st = refuse_grad("binary_cross_entropy_with_logits", "weight", weight, "");
  if (!st) st = refuse_grad("binary_cross_entropy_with_logits", "pos_weight", pos_weight, "");
  if (st || (st = bce_forward(out, &wc, &pwc, input, target, weight, pos_weight, reduction)))
    return st;
  const rc_tensor *in[2] = {input, target}, *saved[4] = {input, target, pwc, wc};
  rc_node *node;
  st = rc_record(&node, *out, "BinaryCrossEntropyWithLogitsBackward", bce_backward, 2, in, 4,
                 saved);
  rc_release(wc), rc_release(pwc);
  if (node) node->i[0] = reduction;
  return rc_record_finish(st, out);
}

/* --- class losses: cross_entropy and nll_loss ------------------------------------------
   Scores (C), (N,C) or (N,C,d1..dk), seen as N outer x C classes x `inner` = d1..dk
   positions; target (), (N) or (N,d1..dk) of class ids, or (cross_entropy only) class
   probabilities of the scores' own shape. Row r = n * inner + j holds the C scores of
   position (n, j), at base n*C*inner + j with stride inner (1 for (N,C): contiguous); a
   probability target's row sits at the same place. weight (C) or NULL (all 1). */
typedef struct {
  int64_t outer, classes, inner, rows;
  bool probs;                      /* float32 class probabilities, not int64 class ids */
  int loss_ndim;                   /* the per-row losses' shape: the scores' without C */
  int64_t loss_shape[RC_MAX_DIMS];
} class_layout;

static inline int64_t row_base(const class_layout *lay, int64_t r) {
  return (r / lay->inner) * lay->classes * lay->inner + r % lay->inner;
}

/* Checks scores, target and weight and fills *lay. with_probs: a float32 target is taken as
   class probabilities (cross_entropy), as PyTorch does when the shapes are equal. */
static rc_status class_args(const char *fn, const rc_tensor *scores, const rc_tensor *target,
                            const rc_tensor *weight, bool with_probs, rc_reduction reduction,
                            class_layout *lay) {
  char s1[128], s2[128], s3[128];
  rc_status st;
  if ((st = check_reduction(fn, reduction))) return st;
  if ((st = check_float(fn, "input", scores))) return st;
  if (scores->ndim == 0)
    return rc_fail(RC_ERR_SHAPE, "%s: input must be (C), (N,C) or (N,C,d...), got shape ()", fn);
  int class_dim = scores->ndim == 1 ? 0 : 1;
  lay->outer = scores->ndim == 1 ? 1 : scores->shape[0];
  lay->classes = scores->shape[class_dim];
  lay->inner = 1;
  for (int d = 2; d < scores->ndim; d++) lay->inner *= scores->shape[d];
  lay->rows = lay->outer * lay->inner;
  lay->loss_ndim = 0;
  for (int d = 0; d < scores->ndim; d++)
    if (d != class_dim) lay->loss_shape[lay->loss_ndim++] = scores->shape[d];
  if (weight) {
    if ((st = check_float(fn, "weight", weight))) return st;
    if (weight->ndim != 1 || weight->shape[0] != lay->classes)
      return rc_fail(RC_ERR_SHAPE, "%s: weight shape %s must be (%lld), one entry per class", fn,
                     rc_shape_str(weight, s1, sizeof s1), (long long)lay->classes);
  }
  lay->probs = with_probs && target->dtype == RC_FLOAT32;
  if (lay->probs) {
    if (!same_shape(scores, target))
      return rc_fail(RC_ERR_SHAPE, "%s: probability target shape %s must equal input shape %s "
                                   "(class-index targets are int64)", fn,
                     rc_shape_str(target, s1, sizeof s1), rc_shape_str(scores, s2, sizeof s2));
    return RC_OK;
  }
  if (target->dtype != RC_INT64)
    return rc_fail(RC_ERR_ARG, "%s: target must be int64 class ids%s, got %s", fn,
                   with_probs ? " or float32 class probabilities" : "",
                   rc_dtype_name(target->dtype));
  bool fits = target->ndim == lay->loss_ndim;
  for (int d = 0; fits && d < lay->loss_ndim; d++) fits = target->shape[d] == lay->loss_shape[d];
  if (!fits && with_probs && same_shape(scores, target))
    return rc_fail(RC_ERR_ARG, "%s: a target of the input's shape %s holds class probabilities "
                               "and must be float32, got int64", fn,
                   rc_shape_str(target, s1, sizeof s1));
  if (!fits)
    return rc_fail(RC_ERR_SHAPE, "%s: target shape %s does not match input shape %s (expected "
                                 "target shape %s)", fn, rc_shape_str(target, s1, sizeof s1),
                   rc_shape_str(scores, s2, sizeof s2),
                   rc_dims_str(lay->loss_ndim, lay->loss_shape, s3, sizeof s3));
  return RC_OK;
}

/* Every target is a class or ignore_index. *total receives what "mean" divides by, as
   PyTorch: the sum of weight[t] over the targets not ignored (their count without weight).
   Before any output. */
static rc_status check_targets(const char *fn, const int64_t *t, const float *w, int64_t rows,
                               int64_t classes, int64_t ignore_index, double *total) {
  double sum = 0;
  for (int64_t r = 0; r < rows; r++) {
    if (t[r] == ignore_index) continue;
    if (t[r] < 0 || t[r] >= classes)
      return rc_fail(RC_ERR_INDEX, "%s: target %lld out of range for %lld classes (expected "
                                   "0..%lld, or ignore_index %lld)", fn, (long long)t[r],
                     (long long)classes, (long long)classes - 1, (long long)ignore_index);
    sum += w ? w[t[r]] : 1.0;
  }
  *total = sum;
  return RC_OK;
}

/* The result from per-row losses (double, 0 for ignored rows): summed in row order and
   divided by `divisor` for mean, or the rows themselves for none. */
static rc_status class_result(rc_tensor **out, const double *row_loss, const class_layout *lay,
                              double divisor, rc_reduction reduction) {
  if (reduction == RC_REDUCTION_NONE) {
    rc_tensor *r = NULL;
    rc_status st = rc_empty(&r, RC_FLOAT32, lay->loss_ndim, lay->loss_shape);
    if (st) return st;
    float *o = rc_f32(r);
    for (int64_t i = 0; i < lay->rows; i++) o[i] = (float)row_loss[i];
    *out = r;
    return RC_OK;
  }
  double sum = 0;
  for (int64_t i = 0; i < lay->rows; i++) sum += row_loss[i];
  /* all ignored (or weighing 0): 0 / 0 = NaN, as PyTorch */
  return scalar_out(out, reduction == RC_REDUCTION_MEAN ? sum / divisor : sum);
}

/* Contiguous copies of a class loss's scores, target and weight (NULL stays NULL). */
static rc_status class_contiguous(rc_tensor **xc, rc_tensor **tc, rc_tensor **wc,
                                  const rc_tensor *scores, const rc_tensor *target,
                                  const rc_tensor *weight) {
  rc_status st;
  *xc = *tc = *wc = NULL;
  if (!(st = rc_contiguous(xc, scores)) && !(st = rc_contiguous(tc, target)) &&
      !(st = weight ? rc_contiguous(wc, weight) : RC_OK))
    return RC_OK;
  rc_release(*xc), rc_release(*tc), rc_release(*wc);
  *xc = *tc = *wc = NULL;
  return st;
}

/* Room for one double per row in *out. */
static rc_status new_rows(double **out, const char *fn, int64_t rows) {
  *out = malloc(sizeof **out * (size_t)(rows > 0 ? rows : 1));
  if (!*out) return rc_fail(RC_ERR_NOMEM, "%s: out of memory for %lld rows", fn, (long long)rows);
  return RC_OK;
}

/* --- cross_entropy ---------------------------------------------------------------------
   logits (N,C,...), weight w (C) (1 when absent), smoothing s, and per row, with
   m = max_c x_c, z = log sum_c exp(x_c - m), logp_c = x_c - m - z, either
   - a class target t (not ignored): loss = (1 - s) w_t (-logp_t) + s/C sum_c w_c (-logp_c),
     "mean" dividing by sum of w_t over the targets not ignored
     (PyTorch 1.13 LossNLL.cpp cross_entropy_loss_label_smoothing: nll_loss_nd with weight,
     plus smooth_loss = -(input * weight_).sum(class_dim) over the same weight sum), or
   - class probabilities p_c: loss = sum_c w_c q_c (-logp_c) with q_c = (1 - s) p_c + s/C,
     "mean" dividing by the number of rows (cross_entropy_loss_prob_target:
     -(input * target * weight_).sum() / (input.numel() / n_classes)).
   Both are sum_c w_c q_c (-logp_c) for the row's target distribution q.
   stats (rows, 2) = (m, z) per row, saved for backward (z is small even for logits of 1e4,
   so x_c - m - z keeps its precision). */

/* One row of C scores at stride s: m = max, z = log sum exp(x - m), xsum = sum (x - m).
   Inlined with s = 1 for the (N,C) case, so those loops vectorize (no weight in them: a
   conditional in an omp simd loop keeps it from vectorizing). */
static inline void ce_row_stats(const float *row, int64_t C, int64_t s, float *m_out,
                                double *z_out, double *xsum_out) {
  float m = -INFINITY;
#pragma omp simd reduction(max : m)
  for (int64_t c = 0; c < C; c++) m = row[c * s] > m ? row[c * s] : m; /* NaN: see sum */
  double sum = 0, xsum = 0;
#pragma omp simd reduction(+ : sum, xsum)
  for (int64_t c = 0; c < C; c++) {
    float v = row[c * s] - m;
    sum += rc_vexp(v);
    xsum += v;
  }
  *m_out = m, *z_out = log(sum), *xsum_out = xsum;
}

/* sum_c w_c (x_c - m) along one row at stride s: the weighted smoothing term. */
static double ce_weighted_xsum(const float *row, int64_t C, int64_t s, const float *w,
                               float m) {
  double sum = 0;
  for (int64_t c = 0; c < C; c++) sum += (double)w[c] * (row[c * s] - m);
  return sum;
}

/* sum_c w_c q_c and sum_c w_c q_c (x_c - m) of a probability row p at stride s. */
static inline void ce_prob_sums(const float *row, const float *p, int64_t C, int64_t s,
                                const float *w, double smoothing, float m, double *wq_out,
                                double *wqx_out) {
  double wq = 0, wqx = 0, uniform = smoothing / (double)C;
  for (int64_t c = 0; c < C; c++) {
    double q = (1 - smoothing) * p[c * s] + uniform, wc = w ? w[c] : 1.0;
    wq += wc * q;
    wqx += wc * q * (row[c * s] - m);
  }
  *wq_out = wq, *wqx_out = wqx;
}

/* What the rows of a class loss read: scores, target (ids or probabilities), weight. */
typedef struct {
  const float *x, *w, *p; /* scores; weight or NULL; probabilities (lay->probs) */
  const int64_t *t;       /* class ids (!lay->probs) */
  int64_t ignore_index;
  double smoothing;
  double weight_sum;      /* sum_c w_c (C without weight) */
} class_job;

static void ce_rows(const class_job *job, const class_layout *lay, double *row_loss,
                    float *stats) {
  int64_t C = lay->classes, inner = lay->inner;
  double s = job->smoothing;
#pragma omp parallel for schedule(static) num_threads(rc_threads()) \
    if (lay->rows * C >= RC_PARALLEL_MIN)
  for (int64_t r = 0; r < lay->rows; r++) {
    int64_t base = row_base(lay, r);
    const float *row = job->x + base;
    if (!lay->probs && job->t[r] == job->ignore_index) {
      row_loss[r] = 0;
      stats[2 * r] = stats[2 * r + 1] = 0;
      continue;
    }
    float m;
    double z, xsum;
    if (inner == 1)
      ce_row_stats(row, C, 1, &m, &z, &xsum);
    else
      ce_row_stats(row, C, inner, &m, &z, &xsum);
    if (lay->probs) {
      double wq, wqx;
      ce_prob_sums(row, job->p + base, C, inner, job->w, s, m, &wq, &wqx);
      row_loss[r] = wq * z - wqx;
    } else {
      int64_t t = job->t[r];
      double wt = job->w ? job->w[t] : 1.0;
      double nll = z - (row[t * inner] - m); /* -logp_t */
      if (s > 0) {
        double wxsum = job->w ? ce_weighted_xsum(row, C, inner, job->w, m) : xsum;
        double smooth = z * job->weight_sum - wxsum; /* sum_c w_c (-logp_c) */
        row_loss[r] = (1 - s) * wt * nll + s / (double)C * smooth;
      } else {
        row_loss[r] = wt * nll;
      }
    }
    stats[2 * r] = m;
    stats[2 * r + 1] = (float)z;
  }
}

static double weight_sum(const float *w, int64_t C) {
  double sum = 0;
  for (int64_t c = 0; c < C; c++) sum += w ? w[c] : 1.0;
  return sum;
}

/* Forward with the per-row stats backward needs (stats may be NULL: not wanted) and what
   "mean" divided by. */
static rc_status cross_entropy_forward(rc_tensor **out, rc_tensor **stats, double *divisor_out,
                                       const rc_tensor *logits, const rc_tensor *target,
                                       const rc_tensor *weight, int64_t ignore_index,
                                       double label_smoothing, rc_reduction reduction) {
  const char *fn = "cross_entropy";
  class_layout lay;
  rc_status st = class_args(fn, logits, target, weight, true, reduction, &lay);
  if (st) return st;
  if (!(label_smoothing >= 0 && label_smoothing <= 1))
    return rc_fail(RC_ERR_ARG, "%s: label_smoothing must be in [0, 1], got %g", fn,
                   label_smoothing);
  /* PyTorch: TORCH_CHECK(ignore_index < 0, "ignore_index is not supported for floating point
     target"); a negative one (the default -100) is accepted and plays no part. */
  if (lay.probs && ignore_index >= 0)
    return rc_fail(RC_ERR_ARG, "%s: ignore_index %lld applies to class-index targets only, not "
                               "to probability targets", fn, (long long)ignore_index);
  rc_tensor *xc, *tc, *wc, *sc = NULL;
  double *row_loss = NULL, divisor = (double)lay.rows;
  if ((st = class_contiguous(&xc, &tc, &wc, logits, target, weight))) return st;
  const float *w = wc ? rc_f32(wc) : NULL;
  class_job job = {.x = rc_f32(xc), .w = w, .ignore_index = ignore_index,
                   .smoothing = label_smoothing, .weight_sum = weight_sum(w, lay.classes)};
  if (lay.probs)
    job.p = rc_f32(tc);
  else
    job.t = rc_i64(tc);
  if (!lay.probs &&
      (st = check_targets(fn, job.t, w, lay.rows, lay.classes, ignore_index, &divisor)))
    goto done;
  const int64_t sshape[2] = {lay.rows, 2};
  if ((st = rc_empty(&sc, RC_FLOAT32, 2, sshape))) goto done;
  if ((st = new_rows(&row_loss, fn, lay.rows))) goto done;
  ce_rows(&job, &lay, row_loss, rc_f32(sc));
  if ((st = class_result(out, row_loss, &lay, divisor, reduction))) goto done;
  if (stats) *stats = sc, sc = NULL;
  if (divisor_out) *divisor_out = divisor;
done:
  free(row_loss);
  rc_release(xc), rc_release(tc), rc_release(wc), rc_release(sc);
  return st;
}

rc_status rc_cross_entropy(rc_tensor **out, const rc_tensor *logits, const rc_tensor *target,
                           const rc_tensor *weight, int64_t ignore_index, double label_smoothing,
                           rc_reduction reduction) {
  return cross_entropy_forward(out, NULL, NULL, logits, target, weight, ignore_index,
                               label_smoothing, reduction);
}

/* g (shape of the loss), g' = g_r [/ divisor] ->
   dlogits (N,C,...) per row = g' (W p_c - w_c q_c), p_c = exp(x_c - m - z), W = sum_c w_c q_c:
     class target t: q_c = (1 - s) [c = t] + s/C, so W = (1 - s) w_t + s/C sum_c w_c;
       ignored rows get 0;
     probabilities:  q_c = (1 - s) p_c + s/C;
   dtarget (probabilities) = -g' (1 - s) w_c logp_c;
   dweight (probabilities) = -sum_rows g' q_c logp_c, summed over rows in order.
   saved: logits, target, stats, weight (or NULL). i[0] = reduction, i[1] = ignore_index;
   f[0] = label_smoothing, f[1] = divisor. */

/* d_c = gw p_c - gu along one row at stride st, p_c = exp((x_c - m) - z) (x_c - m is exact,
   z small: full precision even at logits of 1e4); a weight's share (gu w_c rather than gu)
   and the target's come after, so this loop stays free of conditionals and vectorizes. */
static inline void ce_grad_row(float *drow, const float *row, int64_t C, int64_t st, float m,
                               float z, float gw, float gu) {
#pragma omp simd
  for (int64_t c = 0; c < C; c++) drow[c * st] = gw * rc_vexp((row[c * st] - m) - z) - gu;
}

/* The gradients of one probability row: dlogits (and dtarget when dp). */
static inline void ce_prob_grad_row(float *drow, float *dp, const float *row, const float *p,
                                    int64_t C, int64_t st, float m, float z, float g,
                                    const float *w, double s) {
  double wq, wqx;
  ce_prob_sums(row, p, C, st, w, s, m, &wq, &wqx);
  float uniform = (float)(s / (double)C), keep = (float)(1 - s);
  for (int64_t c = 0; c < C; c++) {
    float logp = (row[c * st] - m) - z, wc = w ? w[c] : 1.0f;
    if (drow) drow[c * st] = g * ((float)wq * rc_vexp(logp) - wc * (keep * p[c * st] + uniform));
    if (dp) dp[c * st] = -g * keep * wc * logp;
  }
}

/* dweight_c = -sum_r g'_r q_rc logp_rc, rows in order (the same sum on any thread count). */
static void ce_prob_grad_weight(double *dw, const class_job *job, const class_layout *lay,
                                const float *stats, const grad_scale *gs) {
  int64_t C = lay->classes, inner = lay->inner;
  double s = job->smoothing, uniform = s / (double)C;
  for (int64_t c = 0; c < C; c++) dw[c] = 0;
  for (int64_t r = 0; r < lay->rows; r++) {
    int64_t base = row_base(lay, r);
    const float *row = job->x + base, *p = job->p + base;
    double g = scale_at(gs, r);
    for (int64_t c = 0; c < C; c++) {
      double logp = (double)(row[c * inner] - stats[2 * r]) - stats[2 * r + 1];
      dw[c] -= g * ((1 - s) * p[c * inner] + uniform) * logp;
    }
  }
}

static rc_status cross_entropy_backward(rc_node *n, rc_tensor *const *gout, rc_tensor **gin) {
  bool need_x = n->inputs[0].needs_grad, need_p = n->inputs[1].needs_grad,
       need_w = n->inputs[2].needs_grad;
  if (!gout[0] || !(need_x || need_p || need_w)) return RC_OK;
  rc_tensor *xc = NULL, *tc = NULL, *wc = NULL, *gc = NULL, *dx = NULL, *dp = NULL, *dw = NULL;
  double *dw_sum = NULL;
  rc_status st;
  class_layout lay;
  if ((st = class_args("cross_entropy", n->saved[0], n->saved[1], n->saved[3], true,
                       RC_REDUCTION_MEAN, &lay)))
    return st;
  grad_scale s;
  if ((st = class_contiguous(&xc, &tc, &wc, n->saved[0], n->saved[1], n->saved[3])) ||
      (st = make_scale(&s, &gc, gout[0], (rc_reduction)n->i[0], n->f[1])) ||
      (need_x && (st = rc_empty_like(&dx, xc, RC_FLOAT32))) ||
      (need_p && (st = rc_empty_like(&dp, xc, RC_FLOAT32))) ||
      (need_w && (st = rc_empty_like(&dw, wc, RC_FLOAT32))))
    goto done;
  const float *w = wc ? rc_f32(wc) : NULL, *stats = rc_f32(n->saved[2]);
  class_job job = {.x = rc_f32(xc), .w = w, .ignore_index = n->i[1], .smoothing = n->f[0],
                   .weight_sum = weight_sum(w, lay.classes)};
  if (lay.probs)
    job.p = rc_f32(tc);
  else
    job.t = rc_i64(tc);
  float *d = dx ? rc_f32(dx) : NULL, *dpv = dp ? rc_f32(dp) : NULL;
  int64_t C = lay.classes, inner = lay.inner;
  double smooth = job.smoothing;
  if (d || dpv) {
#pragma omp parallel for schedule(static) num_threads(rc_threads()) \
    if (lay.rows * C >= RC_PARALLEL_MIN)
    for (int64_t r = 0; r < lay.rows; r++) {
      int64_t base = row_base(&lay, r);
      const float *row = job.x + base;
      float m = stats[2 * r], z = stats[2 * r + 1], g = scale_at(&s, r);
      if (lay.probs) {
        ce_prob_grad_row(d ? d + base : NULL, dpv ? dpv + base : NULL, row, job.p + base, C,
                         inner, m, z, g, w, smooth);
        continue;
      }
      float *drow = d + base;
      int64_t t = job.t[r];
      if (t == job.ignore_index) {
        for (int64_t c = 0; c < C; c++) drow[c * inner] = 0.0f;
        continue;
      }
      float wt = w ? w[t] : 1.0f;
      float gw = g * (float)((1 - smooth) * wt + smooth / (double)C * job.weight_sum);
      float gu = g * (float)(smooth / (double)C);
      if (inner == 1)
        ce_grad_row(drow, row, C, 1, m, z, gw, w ? 0.0f : gu);
      else
        ce_grad_row(drow, row, C, inner, m, z, gw, w ? 0.0f : gu);
      for (int64_t c = 0; w && gu != 0 && c < C; c++) drow[c * inner] -= gu * w[c];
      drow[t * inner] -= g * (float)(1 - smooth) * wt;
    }
  }
  if (dw) {
    if (!(dw_sum = malloc(sizeof *dw_sum * (size_t)(C > 0 ? C : 1)))) {
      st = rc_fail(RC_ERR_NOMEM, "cross_entropy: out of memory");
      goto done;
    }
    ce_prob_grad_weight(dw_sum, &job, &lay, stats, &s);
    for (int64_t c = 0; c < C; c++) rc_f32(dw)[c] = (float)dw_sum[c];
  }
  gin[0] = dx, gin[1] = dp, gin[2] = dw;
  dx = dp = dw = NULL;
done:
  free(dw_sum);
  rc_release(xc), rc_release(tc), rc_release(wc), rc_release(gc);
  rc_release(dx), rc_release(dp), rc_release(dw);
  return st;
}

rc_status rcg_cross_entropy(rc_tensor **out, const rc_tensor *logits, const rc_tensor *target,
                            const rc_tensor *weight, int64_t ignore_index, double label_smoothing,
                            rc_reduction reduction) {
  rc_tensor *stats = NULL;
  double divisor = 0;
  rc_status st = RC_OK;
  /* with probabilities, the loss is smooth in the target and the weight: they get gradients,
     as in PyTorch; with class ids only the logits do */
  bool probs = target->dtype == RC_FLOAT32;
  if (!probs) st = refuse_grad("cross_entropy", "weight", weight, " with class-index targets");
  if (st || (st = cross_entropy_forward(out, &stats, &divisor, logits, target, weight,
                                        ignore_index, label_smoothing, reduction)))
    return st;
  const rc_tensor *in[3] = {logits, probs ? target : NULL, probs ? weight : NULL};
  const rc_tensor *saved[4] = {logits, target, stats, weight};
  rc_node *node;
  st = rc_record(&node, *out, "CrossEntropyLossBackward", cross_entropy_backward, 3, in, 4,
                 saved);
  rc_release(stats);
  if (node) {
    node->i[0] = reduction, node->i[1] = ignore_index;
    node->f[0] = label_smoothing, node->f[1] = divisor;
  }
  return rc_record_finish(st, out);
}

/* --- nll_loss ----------------------------------------------------------------------------
   log_probs (N,C,...), target (N,...), weight w (C) or NULL (1) -> loss per row =
   -w_t log_probs[t] (0 where ignored); "mean" divides by sum of w_t over the targets not
   ignored (PyTorch's total_weight). */
static rc_status nll_forward(rc_tensor **out, double *divisor_out, const rc_tensor *log_probs,
                             const rc_tensor *target, const rc_tensor *weight,
                             int64_t ignore_index, rc_reduction reduction) {
  const char *fn = "nll_loss";
  class_layout lay;
  rc_status st = class_args(fn, log_probs, target, weight, false, reduction, &lay);
  if (st) return st;
  rc_tensor *xc, *tc, *wc;
  double *row_loss = NULL, divisor = 0;
  if ((st = class_contiguous(&xc, &tc, &wc, log_probs, target, weight))) return st;
  const float *x = rc_f32(xc), *w = wc ? rc_f32(wc) : NULL;
  const int64_t *t = rc_i64(tc);
  if ((st = check_targets(fn, t, w, lay.rows, lay.classes, ignore_index, &divisor))) goto done;
  if ((st = new_rows(&row_loss, fn, lay.rows))) goto done;
  for (int64_t r = 0; r < lay.rows; r++)
    row_loss[r] = t[r] == ignore_index
                      ? 0.0
                      : -(w ? w[t[r]] : 1.0) * x[row_base(&lay, r) + t[r] * lay.inner];
  if ((st = class_result(out, row_loss, &lay, divisor, reduction))) goto done;
  if (divisor_out) *divisor_out = divisor;
done:
  free(row_loss);
  rc_release(xc), rc_release(tc), rc_release(wc);
  return st;
}

rc_status rc_nll_loss(rc_tensor **out, const rc_tensor *log_probs, const rc_tensor *target,
                      const rc_tensor *weight, int64_t ignore_index, rc_reduction reduction) {
  return nll_forward(out, NULL, log_probs, target, weight, ignore_index, reduction);
}

/* g (shape of the loss) -> dlog_probs (N,C,...): -g_r [/ divisor] w_t at (r, t), 0 elsewhere.
   saved: target, weight (or NULL). i[0] = reduction, i[1] = ignore_index; f[0] = divisor. */
static rc_status nll_backward(rc_node *n, rc_tensor *const *gout, rc_tensor **gin) {
  if (!gout[0] || !n->inputs[0].needs_grad) return RC_OK;
  rc_tensor *tc = NULL, *wc = NULL, *gc = NULL, *dx = NULL;
  rc_status st;
  const rc_edge *e = &n->inputs[0];
  class_layout lay = {.outer = e->ndim == 1 ? 1 : e->shape[0],
                      .classes = e->shape[e->ndim == 1 ? 0 : 1], .inner = 1};
  for (int d = 2; d < e->ndim; d++) lay.inner *= e->shape[d];
  lay.rows = lay.outer * lay.inner;
  grad_scale s;
  if ((st = rc_contiguous(&tc, n->saved[0])) ||
      (n->saved[1] && (st = rc_contiguous(&wc, n->saved[1]))) ||
      (st = make_scale(&s, &gc, gout[0], (rc_reduction)n->i[0], n->f[0])) ||
      (st = rc_full(&dx, RC_FLOAT32, e->ndim, e->shape, 0.0)))
    goto done;
  const int64_t *t = rc_i64(tc);
  const float *w = wc ? rc_f32(wc) : NULL;
  float *d = rc_f32(dx);
  for (int64_t r = 0; r < lay.rows; r++)
    if (t[r] != n->i[1])
      d[row_base(&lay, r) + t[r] * lay.inner] = -scale_at(&s, r) * (w ? w[t[r]] : 1.0f);
  gin[0] = dx, dx = NULL;
done:
  rc_release(tc), rc_release(wc), rc_release(gc), rc_release(dx);
  return st;
}

rc_status rcg_nll_loss(rc_tensor **out, const rc_tensor *log_probs, const rc_tensor *target,
                       const rc_tensor *weight, int64_t ignore_index, rc_reduction reduction) {
  double divisor = 0;
  rc_status st = refuse_grad("nll_loss", "weight", weight, "");
  if (st || (st = nll_forward(out, &divisor, log_probs, target, weight, ignore_index, reduction)))
    return st;
  const rc_tensor *in[1] = {log_probs}, *saved[2] = {target, weight};
  rc_node *node;
  st = rc_record(&node, *out, "NllLossBackward", nll_backward, 1, in, 2, saved);
  if (node) node->i[0] = reduction, node->i[1] = ignore_index, node->f[0] = divisor;
  return rc_record_finish(st, out);
}
