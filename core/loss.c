/* core/loss.c — the losses: mse, binary cross-entropy with logits, cross-entropy (fused
   log-softmax, label smoothing, ignore_index) and nll, each a forward/backward kernel pair. */
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
  const float *x, *y, *pw; /* input, target, pos_weight expanded to input's shape (or NULL) */
  float *each;             /* per-element losses (reduction none), or NULL */
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
  elem_job job = {rc_f32(xc), rc_f32(yc), NULL, NULL};
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
   input x (...), target y (...), pos_weight pw broadcast to (...) or absent (pw = 1) ->
   loss (...) = (1 - y) x + (1 + (pw - 1) y) softplus(-x), with
   softplus(-x) = log(1 + exp(-x)) = max(-x, 0) + log1p(exp(-|x|)): no exp of a large number. */
static inline float softplus_neg(float x) { return fmaxf(-x, 0.0f) + log1pf(expf(-fabsf(x))); }

static inline float sigmoidf(float x) {
  if (x >= 0) return 1.0f / (1.0f + expf(-x));
  float e = expf(x);
  return e / (1.0f + e);
}

static double bce_kernel(const elem_job *job, int64_t lo, int64_t hi) {
  const float *x = job->x, *y = job->y, *pw = job->pw;
  double sum = 0;
  for (int64_t i = lo; i < hi; i++) {
    float log_weight = pw ? 1.0f + (pw[i] - 1.0f) * y[i] : 1.0f;
    float l = (1.0f - y[i]) * x[i] + log_weight * softplus_neg(x[i]);
    if (job->each) job->each[i] = l;
    sum += l;
  }
  return sum;
}

/* pos_weight broadcast to input's shape, contiguous (a new tensor), or NULL when absent. */
static rc_status expand_pos_weight(rc_tensor **out, const rc_tensor *pos_weight,
                                   const rc_tensor *input) {
  const char *fn = "binary_cross_entropy_with_logits";
  char s1[128], s2[128];
  *out = NULL;
  if (!pos_weight) return RC_OK;
  rc_status st = check_float(fn, "pos_weight", pos_weight);
  if (st) return st;
  int ndim;
  int64_t shape[RC_MAX_DIMS];
  bool fits = rc_broadcast_shapes(fn, pos_weight->ndim, pos_weight->shape, input->ndim,
                                  input->shape, &ndim, shape) == RC_OK && ndim == input->ndim;
  for (int d = 0; fits && d < ndim; d++) fits = shape[d] == input->shape[d];
  if (!fits)
    return rc_fail(RC_ERR_SHAPE, "%s: pos_weight shape %s does not broadcast to input shape %s",
                   fn, rc_shape_str(pos_weight, s1, sizeof s1), rc_shape_str(input, s2, sizeof s2));
  rc_tensor *view = NULL;
  if ((st = rc_expand(&view, pos_weight, input->ndim, input->shape))) return st;
  st = rc_clone(out, view); /* a copy even when pos_weight already has the shape: never aliased */
  rc_release(view);
  return st;
}

/* Forward; *pw_used receives pos_weight expanded to input's shape (or NULL), for backward
   (pw_used may be NULL: not wanted). */
static rc_status bce_forward(rc_tensor **out, rc_tensor **pw_used, const rc_tensor *input,
                             const rc_tensor *target, const rc_tensor *pos_weight,
                             rc_reduction reduction) {
  const char *fn = "binary_cross_entropy_with_logits";
  rc_tensor *xc, *yc, *pwc = NULL;
  rc_status st = pair_args(fn, input, target, reduction, &xc, &yc);
  if (st) return st;
  if (!(st = expand_pos_weight(&pwc, pos_weight, input))) {
    elem_job job = {rc_f32(xc), rc_f32(yc), pwc ? rc_f32(pwc) : NULL, NULL};
    st = elementwise_loss(out, fn, bce_kernel, &job, input, reduction);
  }
  if (!st && pw_used) *pw_used = pwc, pwc = NULL;
  rc_release(xc), rc_release(yc), rc_release(pwc);
  return st;
}

rc_status rc_binary_cross_entropy_with_logits(rc_tensor **out, const rc_tensor *input,
                                              const rc_tensor *target,
                                              const rc_tensor *pos_weight,
                                              rc_reduction reduction) {
  return bce_forward(out, NULL, input, target, pos_weight, reduction);
}

/* g (shape of the loss) ->
   dx = g [/ n] ((1 + (pw - 1) y) sigmoid(x) - pw y)        (= sigmoid(x) - y without pw)
   dy = g [/ n] ((pw - 1) softplus(-x) - x)
   saved: input, target, pos_weight (expanded, or NULL). i[0] = reduction. */
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
  float *gx = dx ? rc_f32(dx) : NULL, *gy = dy ? rc_f32(dy) : NULL;
#pragma omp parallel for schedule(static) num_threads(rc_threads()) if (count >= RC_PARALLEL_MIN)
  for (int64_t i = 0; i < count; i++) {
    float w = pw ? pw[i] : 1.0f, g = scale_at(&s, i);
    if (gx) gx[i] = g * ((1.0f + (w - 1.0f) * y[i]) * sigmoidf(x[i]) - w * y[i]);
    if (gy) gy[i] = g * ((w - 1.0f) * softplus_neg(x[i]) - x[i]);
  }
  gin[0] = dx, gin[1] = dy;
  dx = dy = NULL;
done:
  rc_release(xc), rc_release(yc), rc_release(gc), rc_release(dx), rc_release(dy);
  return st;
}

rc_status rcg_binary_cross_entropy_with_logits(rc_tensor **out, const rc_tensor *input,
                                               const rc_tensor *target,
                                               const rc_tensor *pos_weight,
                                               rc_reduction reduction) {
  rc_tensor *pwc = NULL;
  rc_status st = bce_forward(out, &pwc, input, target, pos_weight, reduction);
  if (st) return st;
  const rc_tensor *in[2] = {input, target}, *saved[3] = {input, target, pwc};
  rc_node *node;
  st = rc_record(&node, *out, "BinaryCrossEntropyWithLogitsBackward", bce_backward, 2, in, 3,
                 saved);
  rc_release(pwc);
  if (node) node->i[0] = reduction;
  return rc_record_finish(st, out);
}

/* --- class losses: cross_entropy and nll_loss ------------------------------------------
   Scores (C), (N,C) or (N,C,d1..dk), seen as N outer x C classes x `inner` = d1..dk
   positions; target (), (N) or (N,d1..dk). Row r = n * inner + j holds the C scores of
   position (n, j), at base n*C*inner + j with stride inner (1 for (N,C): contiguous). */
typedef struct {
  int64_t outer, classes, inner, rows;
} class_layout;

static rc_status class_args(const char *fn, const rc_tensor *scores, const rc_tensor *target,
                            rc_reduction reduction, class_layout *lay) {
  char s1[128], s2[128], s3[128];
  rc_status st;
  if ((st = check_reduction(fn, reduction))) return st;
  if ((st = check_float(fn, "input", scores))) return st;
  if (target->dtype != RC_INT64)
    return rc_fail(RC_ERR_ARG, "%s: target must be int64 class ids, got %s", fn,
                   rc_dtype_name(target->dtype));
  if (scores->ndim == 0)
    return rc_fail(RC_ERR_SHAPE, "%s: input must be (C), (N,C) or (N,C,d...), got shape ()", fn);
  /* The target's expected shape: the input's without the class dim. */
  int64_t want[RC_MAX_DIMS];
  int wnd = 0;
  for (int d = 0; d < scores->ndim; d++)
    if (d != (scores->ndim == 1 ? 0 : 1)) want[wnd++] = scores->shape[d];
  bool fits = target->ndim == wnd;
  for (int d = 0; fits && d < wnd; d++) fits = target->shape[d] == want[d];
  if (!fits)
    return rc_fail(RC_ERR_SHAPE, "%s: target shape %s does not match input shape %s (expected "
                                 "target shape %s)", fn, rc_shape_str(target, s1, sizeof s1),
                   rc_shape_str(scores, s2, sizeof s2), rc_dims_str(wnd, want, s3, sizeof s3));
  lay->outer = scores->ndim == 1 ? 1 : scores->shape[0];
  lay->classes = scores->shape[scores->ndim == 1 ? 0 : 1];
  lay->inner = 1;
  for (int d = 2; d < scores->ndim; d++) lay->inner *= scores->shape[d];
  lay->rows = lay->outer * lay->inner;
  return RC_OK;
}

/* Every target is a class or ignore_index; counts those not ignored. Before any output. */
static rc_status check_targets(const char *fn, const int64_t *t, int64_t rows, int64_t classes,
                               int64_t ignore_index, int64_t *count) {
  int64_t c = 0;
  for (int64_t r = 0; r < rows; r++) {
    if (t[r] == ignore_index) continue;
    if (t[r] < 0 || t[r] >= classes)
      return rc_fail(RC_ERR_INDEX, "%s: target %lld out of range for %lld classes (expected "
                                   "0..%lld, or ignore_index %lld)", fn, (long long)t[r],
                     (long long)classes, (long long)classes - 1, (long long)ignore_index);
    c++;
  }
  *count = c;
  return RC_OK;
}

/* The result from per-row losses (double, 0 for ignored rows): summed in row order,
   divided by the count for mean, or the rows themselves shaped like the target for none. */
static rc_status class_result(rc_tensor **out, const double *row_loss, int64_t rows,
                              int64_t count, const rc_tensor *target, rc_reduction reduction) {
  if (reduction == RC_REDUCTION_NONE) {
    rc_tensor *r = NULL;
    rc_status st = rc_empty_like(&r, target, RC_FLOAT32);
    if (st) return st;
    float *o = rc_f32(r);
    for (int64_t i = 0; i < rows; i++) o[i] = (float)row_loss[i];
    *out = r;
    return RC_OK;
  }
  double sum = 0;
  for (int64_t i = 0; i < rows; i++) sum += row_loss[i];
  /* all ignored: 0 / 0 = NaN, as PyTorch */
  return scalar_out(out, reduction == RC_REDUCTION_MEAN ? sum / (double)count : sum);
}

/* --- cross_entropy ---------------------------------------------------------------------
   logits (N,C,...), target (N,...) -> loss per row r with target t (not ignored):
     m = max_c x_c, z = log sum_c exp(x_c - m), logp_c = x_c - m - z,
     loss = (1 - s) (-logp_t) + s mean_c(-logp_c)
   stats (rows, 2) = (m, z) per row, saved for backward (z is small even for logits of 1e4,
   so x_c - m - z keeps its precision). */
/* One row of C scores at stride s: m = max, z = log sum exp(x - m), xsum = sum (x - m).
   Inlined with s = 1 for the (N,C) case, so those loops vectorize. */
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

static void ce_rows(const float *x, const int64_t *t, const class_layout *lay,
                    int64_t ignore_index, double smoothing, double *row_loss, float *stats) {
  int64_t C = lay->classes, inner = lay->inner;
#pragma omp parallel for schedule(static) num_threads(rc_threads()) \
    if (lay->rows * C >= RC_PARALLEL_MIN)
  for (int64_t r = 0; r < lay->rows; r++) {
    const float *row = x + (r / inner) * C * inner + r % inner;
    if (t[r] == ignore_index) {
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
    double nll = z - (row[t[r] * inner] - m); /* -logp_t */
    double smooth = z - xsum / (double)C;      /* mean_c(-logp_c) */
    row_loss[r] = smoothing > 0 ? (1 - smoothing) * nll + smoothing * smooth : nll;
    stats[2 * r] = m;
    stats[2 * r + 1] = (float)z;
  }
}

/* Forward with the per-row stats backward needs (*stats may be NULL: not wanted). */
static rc_status cross_entropy_forward(rc_tensor **out, rc_tensor **stats, int64_t *count_out,
                                       const rc_tensor *logits, const rc_tensor *target,
                                       int64_t ignore_index, double label_smoothing,
                                       rc_reduction reduction) {
  const char *fn = "cross_entropy";
  class_layout lay;
  rc_status st = class_args(fn, logits, target, reduction, &lay);
  if (st) return st;
  if (!(label_smoothing >= 0 && label_smoothing <= 1))
    return rc_fail(RC_ERR_ARG, "%s: label_smoothing must be in [0, 1], got %g", fn,
                   label_smoothing);
  rc_tensor *xc = NULL, *tc = NULL, *sc = NULL;
  double *row_loss = NULL;
  int64_t count = 0;
  if ((st = rc_contiguous(&tc, target))) return st;
  if ((st = check_targets(fn, rc_i64(tc), lay.rows, lay.classes, ignore_index, &count)))
    goto done;
  if ((st = rc_contiguous(&xc, logits))) goto done;
  const int64_t sshape[2] = {lay.rows, 2};
  if ((st = rc_empty(&sc, RC_FLOAT32, 2, sshape))) goto done;
  row_loss = malloc(sizeof *row_loss * (size_t)(lay.rows > 0 ? lay.rows : 1));
  if (!row_loss) {
    st = rc_fail(RC_ERR_NOMEM, "%s: out of memory for %lld rows", fn, (long long)lay.rows);
    goto done;
  }
  ce_rows(rc_f32(xc), rc_i64(tc), &lay, ignore_index, label_smoothing, row_loss, rc_f32(sc));
  if ((st = class_result(out, row_loss, lay.rows, count, target, reduction))) goto done;
  if (stats) *stats = sc, sc = NULL;
  if (count_out) *count_out = count;
done:
  free(row_loss);
  rc_release(xc), rc_release(tc), rc_release(sc);
  return st;
}

rc_status rc_cross_entropy(rc_tensor **out, const rc_tensor *logits, const rc_tensor *target,
                           int64_t ignore_index, double label_smoothing,
                           rc_reduction reduction) {
  return cross_entropy_forward(out, NULL, NULL, logits, target, ignore_index, label_smoothing,
                               reduction);
}

/* g (shape of the loss) -> dlogits (N,C,...): for a row with target t (not ignored),
     d_c = g_r [/ count] (p_c - s/C - (1 - s) [c = t]),  p_c = exp(x_c - m - z);
   ignored rows get 0. saved: logits, target, stats. i[0] = reduction, i[1] = ignore_index,
   i[2] = count; f[0] = label_smoothing. */
/* d_c = g (p_c - s/C) along one row at stride st, p_c = exp((x_c - m) - z) (x_c - m is
   exact, z small: full precision even at logits of 1e4); the target's -g (1 - s) comes after. */
static inline void ce_grad_row(float *drow, const float *row, int64_t C, int64_t st, float m,
                               float z, float g, float uniform) {
#pragma omp simd
  for (int64_t c = 0; c < C; c++)
    drow[c * st] = g * (rc_vexp((row[c * st] - m) - z) - uniform);
}

static rc_status cross_entropy_backward(rc_node *n, rc_tensor *const *gout, rc_tensor **gin) {
  if (!gout[0] || !n->inputs[0].needs_grad) return RC_OK;
  rc_tensor *xc = NULL, *tc = NULL, *gc = NULL, *dx = NULL;
  rc_status st;
  class_layout lay;
  if ((st = class_args("cross_entropy", n->saved[0], n->saved[1], RC_REDUCTION_MEAN, &lay)))
    return st;
  grad_scale s;
  if ((st = rc_contiguous(&xc, n->saved[0])) || (st = rc_contiguous(&tc, n->saved[1])) ||
      (st = make_scale(&s, &gc, gout[0], (rc_reduction)n->i[0], (double)n->i[2])) ||
      (st = rc_empty_like(&dx, xc, RC_FLOAT32)))
    goto done;
  const float *x = rc_f32(xc), *stats = rc_f32(n->saved[2]);
  const int64_t *t = rc_i64(tc);
  float *d = rc_f32(dx);
  int64_t C = lay.classes, inner = lay.inner, ignore = n->i[1];
  float smooth = (float)n->f[0], uniform = C > 0 ? smooth / (float)C : 0.0f;
#pragma omp parallel for schedule(static) num_threads(rc_threads()) \
    if (lay.rows * C >= RC_PARALLEL_MIN)
  for (int64_t r = 0; r < lay.rows; r++) {
    int64_t base = (r / inner) * C * inner + r % inner;
    const float *row = x + base;
    float *drow = d + base;
    if (t[r] == ignore) {
      for (int64_t c = 0; c < C; c++) drow[c * inner] = 0.0f;
      continue;
    }
    float m = stats[2 * r], z = stats[2 * r + 1], g = scale_at(&s, r);
    if (inner == 1)
      ce_grad_row(drow, row, C, 1, m, z, g, uniform);
    else
      ce_grad_row(drow, row, C, inner, m, z, g, uniform);
    drow[t[r] * inner] -= g * (1.0f - smooth);
  }
  gin[0] = dx, dx = NULL;
done:
  rc_release(xc), rc_release(tc), rc_release(gc), rc_release(dx);
  return st;
}

rc_status rcg_cross_entropy(rc_tensor **out, const rc_tensor *logits, const rc_tensor *target,
                            int64_t ignore_index, double label_smoothing,
                            rc_reduction reduction) {
  rc_tensor *stats = NULL;
  int64_t count = 0;
  rc_status st = cross_entropy_forward(out, &stats, &count, logits, target, ignore_index,
                                       label_smoothing, reduction);
  if (st) return st;
  const rc_tensor *in[1] = {logits}, *saved[3] = {logits, target, stats};
  rc_node *node;
  st = rc_record(&node, *out, "CrossEntropyLossBackward", cross_entropy_backward, 1, in, 3,
                 saved);
  rc_release(stats);
  if (node) {
    node->i[0] = reduction, node->i[1] = ignore_index, node->i[2] = count;
    node->f[0] = label_smoothing;
  }
  return rc_record_finish(st, out);
}

/* --- nll_loss ----------------------------------------------------------------------------
   log_probs (N,C,...), target (N,...) -> loss per row = -log_probs[t] (0 where ignored). */
static rc_status nll_forward(rc_tensor **out, int64_t *count_out, const rc_tensor *log_probs,
                             const rc_tensor *target, int64_t ignore_index,
                             rc_reduction reduction) {
  const char *fn = "nll_loss";
  class_layout lay;
  rc_status st = class_args(fn, log_probs, target, reduction, &lay);
  if (st) return st;
  rc_tensor *xc = NULL, *tc = NULL;
  double *row_loss = NULL;
  int64_t count = 0;
  if ((st = rc_contiguous(&tc, target))) return st;
  if ((st = check_targets(fn, rc_i64(tc), lay.rows, lay.classes, ignore_index, &count)))
    goto done;
  if ((st = rc_contiguous(&xc, log_probs))) goto done;
  row_loss = malloc(sizeof *row_loss * (size_t)(lay.rows > 0 ? lay.rows : 1));
  if (!row_loss) {
    st = rc_fail(RC_ERR_NOMEM, "%s: out of memory for %lld rows", fn, (long long)lay.rows);
    goto done;
  }
  const float *x = rc_f32(xc);
  const int64_t *t = rc_i64(tc);
  int64_t C = lay.classes, inner = lay.inner;
  for (int64_t r = 0; r < lay.rows; r++)
    row_loss[r] = t[r] == ignore_index ? 0.0 : -(double)x[(r / inner) * C * inner + r % inner +
                                                          t[r] * inner];
  if ((st = class_result(out, row_loss, lay.rows, count, target, reduction))) goto done;
  if (count_out) *count_out = count;
done:
  free(row_loss);
  rc_release(xc), rc_release(tc);
  return st;
}

rc_status rc_nll_loss(rc_tensor **out, const rc_tensor *log_probs, const rc_tensor *target,
                      int64_t ignore_index, rc_reduction reduction) {
  return nll_forward(out, NULL, log_probs, target, ignore_index, reduction);
}

/* g (shape of the loss) -> dlog_probs (N,C,...): -g_r [/ count] at (r, t), 0 elsewhere.
   saved: target. i[0] = reduction, i[1] = ignore_index, i[2] = count. */
static rc_status nll_backward(rc_node *n, rc_tensor *const *gout, rc_tensor **gin) {
  if (!gout[0] || !n->inputs[0].needs_grad) return RC_OK;
  rc_tensor *tc = NULL, *gc = NULL, *dx = NULL;
  rc_status st;
  const rc_edge *e = &n->inputs[0];
  class_layout lay = {e->ndim == 1 ? 1 : e->shape[0], e->shape[e->ndim == 1 ? 0 : 1], 1, 0};
  for (int d = 2; d < e->ndim; d++) lay.inner *= e->shape[d];
  lay.rows = lay.outer * lay.inner;
  grad_scale s;
  if ((st = rc_contiguous(&tc, n->saved[0])) ||
      (st = make_scale(&s, &gc, gout[0], (rc_reduction)n->i[0], (double)n->i[2])) ||
      (st = rc_full(&dx, RC_FLOAT32, e->ndim, e->shape, 0.0)))
    goto done;
  const int64_t *t = rc_i64(tc);
  float *d = rc_f32(dx);
  for (int64_t r = 0; r < lay.rows; r++)
    if (t[r] != n->i[1])
      d[(r / lay.inner) * lay.classes * lay.inner + r % lay.inner + t[r] * lay.inner] =
          -scale_at(&s, r);
  gin[0] = dx, dx = NULL;
done:
  rc_release(tc), rc_release(gc), rc_release(dx);
  return st;
}

rc_status rcg_nll_loss(rc_tensor **out, const rc_tensor *log_probs, const rc_tensor *target,
                       int64_t ignore_index, rc_reduction reduction) {
  int64_t count = 0;
  rc_status st = nll_forward(out, &count, log_probs, target, ignore_index, reduction);
  if (st) return st;
  const rc_tensor *in[1] = {log_probs}, *saved[1] = {target};
  rc_node *node;
  st = rc_record(&node, *out, "NllLossBackward", nll_backward, 1, in, 1, saved);
  if (node) node->i[0] = reduction, node->i[1] = ignore_index, node->i[2] = count;
  return rc_record_finish(st, out);
}
