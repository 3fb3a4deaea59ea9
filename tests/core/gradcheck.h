/* tests/core/gradcheck.h — the one finite-difference gradient check of the C tests (backward of
   sum_k sum(out_k * w_k) against central differences), and the tensor makers those tests share. */
#ifndef RC_TEST_GRADCHECK_H
#define RC_TEST_GRADCHECK_H

#include <stdint.h>
#include "check.h"

/* The most outputs an op under test gives: out, h_n, c_n of a recurrent layer. */
#define GC_MAX_OUTS 3

/* Differences at eps, eps/2 and eps/4 that disagree by more than this (relative to
   max(1, |numeric|)) straddle a kink; float32 noise on smooth ops stays under 4e-4 there
   (measured on the recurrent layers at eps 4e-3). */
#define GC_KINK_SPREAD 8e-4

/* One op under test: up to GC_MAX_OUTS outputs (out[] comes zeroed; leave NULL any the loss
   should not use) from the inputs, ctx holding its fixed parameters. It is called once with
   grad mode on for the analytic gradient, then with grad mode off for every difference. */
typedef rc_status (*gc_op)(rc_tensor **out, rc_tensor *const *in, const void *ctx);

typedef struct {
  double eps;        /* the step of the central differences */
  double tol;        /* passes when |analytic - numeric| <= tol * max(1, |numeric|) */
  bool kinks;        /* the op has kinks (relu): elements next to one are skipped, at most half */
  const bool *check; /* which inputs to check, or NULL: every non-NULL one */
} gc_options;

static uint32_t rng_state = 2463534242u;

/* Deterministic values in [-1, 1) (xorshift32), the same every run. */
static inline float next_value(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 17;
  rng_state ^= rng_state << 5;
  return (float)((rng_state >> 8) * (2.0 / 16777216.0) - 1.0);
}

static inline rc_tensor *random_tensor(int ndim, const int64_t *shape) {
  rc_tensor *t = NULL;
  if (rc_empty(&t, RC_FLOAT32, ndim, shape) != RC_OK) return NULL;
  for (int64_t i = 0; i < rc_numel(t); i++) rc_f32(t)[i] = next_value();
  return t;
}

/* A new int64 tensor of the given shape holding values (row-major). */
static inline rc_tensor *longs(int ndim, const int64_t *shape, const int64_t *values) {
  rc_tensor *t = NULL;
  if (rc_empty(&t, RC_INT64, ndim, shape) != RC_OK) return NULL;
  memcpy(rc_i64(t), values, sizeof(int64_t) * (size_t)rc_numel(t));
  return t;
}

static inline bool shape_is(const rc_tensor *t, int ndim, const int64_t *shape) {
  if (!t || t->ndim != ndim) return false;
  for (int d = 0; d < ndim; d++)
    if (t->shape[d] != shape[d]) return false;
  return true;
}

/* Gradient of element e of x's .grad, or NaN when there is none. */
static inline double grad_at(const rc_tensor *x, int64_t e) {
  return x->grad ? rc_get_flat(x->grad, e) : NAN;
}

/* loss = sum over k of sum(out[k] * w[k]) as graph ops; a term whose out or w is NULL is left
   out, and *loss stays NULL when every term is. */
static inline rc_status gc_graph_loss(rc_tensor **loss, rc_tensor *const *out,
                                      rc_tensor *const *w) {
  for (int k = 0; k < GC_MAX_OUTS; k++) {
    if (!out[k] || !w[k]) continue;
    rc_tensor *m = NULL, *s = NULL, *sum = NULL;
    rc_status st = rcg_binary(&m, RC_MUL, out[k], w[k]);
    if (!st) st = rcg_reduce(&s, RC_SUM, m, RC_ALL_DIMS, false);
    if (!st && *loss) st = rcg_binary(&sum, RC_ADD, *loss, s);
    rc_release(m);
    if (st) {
      rc_release(s);
      return st;
    }
    if (*loss) rc_release(*loss), rc_release(s), s = sum;
    *loss = s;
  }
  return RC_OK;
}

/* One check under way: the op, its parameters and inputs, the loss weights (one per output). */
typedef struct {
  gc_op op;
  const void *ctx;
  rc_tensor *const *in;
  rc_tensor *w[GC_MAX_OUTS];
  bool failed; /* the op failed, or gave another shape, in grad-off mode */
} gc_case;

/* The analytic pass: the op with grad mode on, fresh random weights, and backward of the loss
   into the inputs' .grad. False, counted and said (the weights released), when any of it fails. */
static inline bool gc_backward(const char *label, gc_case *c) {
  rc_tensor *out[GC_MAX_OUTS] = {NULL}, *loss = NULL;
  check_count++;
  rc_status st = c->op(out, c->in, c->ctx);
  bool recorded = true;
  for (int k = 0; k < GC_MAX_OUTS; k++)
    if (out[k]) {
      recorded = recorded && out[k]->grad_fn;
      c->w[k] = random_tensor(out[k]->ndim, out[k]->shape);
    }
  if (!st && recorded) st = gc_graph_loss(&loss, out, c->w);
  if (!st && loss) st = rc_backward(loss, NULL, false);
  bool ran = !st && recorded && loss;
  for (int k = 0; k < GC_MAX_OUTS; k++) rc_release(out[k]);
  rc_release(loss);
  if (!ran) {
    check_failures++;
    fprintf(stderr, "%s: %s\n", label,
            st ? rc_last_error() : recorded ? "no output to check" : "an output was not recorded");
    for (int k = 0; k < GC_MAX_OUTS; k++) rc_release(c->w[k]), c->w[k] = NULL;
  }
  return ran;
}

/* The same loss from the raw values, in double (grad mode is off). The weights are contiguous,
   and so are most outputs: read directly, as this runs twice for every element checked. */
static inline double gc_loss_value(gc_case *c) {
  rc_tensor *out[GC_MAX_OUTS] = {NULL};
  double loss = 0;
  if (c->op(out, c->in, c->ctx) != RC_OK) c->failed = true;
  for (int k = 0; k < GC_MAX_OUTS; k++) {
    rc_tensor *o = out[k];
    if (o && c->w[k] && rc_numel(o) != rc_numel(c->w[k])) {
      c->failed = true; /* not the shape backward saw */
    } else if (o && c->w[k]) {
      const float *w = rc_f32(c->w[k]), *v = rc_is_contiguous(o) ? rc_f32(o) : NULL;
      for (int64_t i = 0; i < rc_numel(o); i++) loss += (v ? v[i] : rc_get_flat(o, i)) * w[i];
    }
    rc_release(o);
  }
  return loss;
}

/* d loss / d x[e] by a central difference of step h, over the step the float32 value took. */
static inline double gc_difference(gc_case *c, rc_tensor *x, int64_t e, double h) {
  double x0 = rc_get_flat(x, e);
  rc_set_flat(x, e, x0 + h);
  double hi = rc_get_flat(x, e), up = gc_loss_value(c);
  rc_set_flat(x, e, x0 - h);
  double lo = rc_get_flat(x, e), down = gc_loss_value(c);
  rc_set_flat(x, e, x0);
  return (up - down) / (hi - lo);
}

/* d loss / d x[e] into *numeric; false where opt->kinks and the differences at eps, eps/2 and
   eps/4 disagree: a kink is within reach and no difference quotient holds there. */
static inline bool gc_numeric(gc_case *c, const gc_options *opt, rc_tensor *x, int64_t e,
                              double *numeric) {
  *numeric = gc_difference(c, x, e, opt->eps);
  if (!opt->kinks) return true;
  double half = gc_difference(c, x, e, opt->eps / 2);
  double quarter = gc_difference(c, x, e, opt->eps / 4);
  double spread = fmax(fabs(*numeric - half), fabs(half - quarter));
  return spread <= GC_KINK_SPREAD * fmax(1.0, fabs(*numeric));
}

static inline bool gc_checked(const gc_options *opt, rc_tensor *const *in, int i) {
  return in[i] && (!opt->check || opt->check[i]);
}

/* Checks the gradient backward gives every checked input (opt->check) against central
   differences of loss = sum_k sum(out_k * w_k), with w_k fixed and random, element by element.
   Each non-NULL input becomes a leaf that requires grad if and only if it is checked, its .grad
   reset first; on return the checked inputs hold their analytic .grad for the caller to look at.
   The differences run in double, with grad mode off, on one thread (tiny problems: threads only
   cost, and no value depends on them). Prints, naming label, the first 3 elements that differ. */
static inline void gradcheck(const char *label, gc_op op, const void *ctx, int n,
                             rc_tensor *const *in, const gc_options *opt) {
  gc_case c = {op, ctx, in, {NULL}, false};
  for (int i = 0; i < n; i++)
    if (in[i]) {
      in[i]->requires_grad = gc_checked(opt, in, i);
      rc_release(in[i]->grad);
      in[i]->grad = NULL;
    }
  if (!gc_backward(label, &c)) return;
  bool was = rc_set_grad_enabled(false);
  int threads = rc_threads(), bad = 0, skipped = 0, total = 0;
  rc_set_threads(1);
  for (int i = 0; i < n; i++) {
    if (!gc_checked(opt, in, i)) continue;
    rc_tensor *x = in[i], *g = x->grad;
    check_count++;
    if (!shape_is(g, x->ndim, x->shape)) {
      check_failures++;
      fprintf(stderr, "%s: input %d has no gradient of its shape\n", label, i);
      continue;
    }
    int bad_before = bad;
    for (int64_t e = 0; e < rc_numel(x); e++, total++) {
      double numeric, analytic = rc_get_flat(g, e);
      if (!gc_numeric(&c, opt, x, e, &numeric)) {
        skipped++;
        continue;
      }
      if (!(fabs(analytic - numeric) <= opt->tol * fmax(1.0, fabs(numeric))) && bad++ < 3)
        fprintf(stderr, "%s: input %d element %lld (x = %.6g): analytic %.6g, numeric %.6g\n",
                label, i, (long long)e, rc_get_flat(x, e), analytic, numeric);
    }
    if (bad > bad_before || c.failed) check_failures++;
  }
  rc_set_threads(threads);
  rc_set_grad_enabled(was);
  if (c.failed)
    fprintf(stderr, "%s: the op failed, or gave another shape, in grad-off mode (last error: %s)\n",
            label, rc_last_error());
  if (bad > 3) fprintf(stderr, "%s: %d elements differ in all\n", label, bad);
  if (opt->kinks) {
    check_count++;
    if (skipped * 2 > total) {
      check_failures++;
      fprintf(stderr, "%s: %d of %d elements skipped next to kinks (at most half may be)\n",
              label, skipped, total);
    }
  }
  for (int k = 0; k < GC_MAX_OUTS; k++) rc_release(c.w[k]);
}

#endif
