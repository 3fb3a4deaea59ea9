/* tests/core/gradcheck.h — the finite-difference check shared by the C gradient tests:
   backward of sum(out * w) against central differences of every input element. */
#ifndef RC_TEST_GRADCHECK_H
#define RC_TEST_GRADCHECK_H

#include <stdint.h>
#include "check.h"

/* One differentiable op under test: out from the inputs, with ctx holding its parameters. */
typedef rc_status (*op_fn)(rc_tensor **out, rc_tensor *const *in, const void *ctx);

static uint32_t rng_state = 2463534242u;

/* Deterministic values in [-1, 1). */
static float next_value(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 17;
  rng_state ^= rng_state << 5;
  return (float)((rng_state >> 8) * (2.0 / 16777216.0) - 1.0);
}

static rc_tensor *random_tensor(int ndim, const int64_t *shape) {
  rc_tensor *t = NULL;
  if (rc_empty(&t, RC_FLOAT32, ndim, shape) != RC_OK) return NULL;
  for (int64_t i = 0; i < rc_numel(t); i++) rc_f32(t)[i] = next_value();
  return t;
}

/* sum(out * w), in double, with grad mode off. */
static double weighted_loss(op_fn f, const void *ctx, rc_tensor *const *in, const rc_tensor *w,
                            bool *ok) {
  rc_tensor *out = NULL;
  if (f(&out, in, ctx) != RC_OK) {
    *ok = false;
    return 0;
  }
  double loss = 0;
  for (int64_t i = 0; i < rc_numel(out); i++) loss += rc_get_flat(out, i) * rc_get_flat(w, i);
  rc_release(out);
  return loss;
}

/* Backward of loss = sum(out * w) (w fixed, random) against central differences for every
   element of every input: |analytic - numeric| <= 1e-2 * max(1, |numeric|). The inputs are
   made leaves that require grad; their .grad is reset first. */
static void gradcheck(const char *what, op_fn f, const void *ctx, int nin, rc_tensor **in,
                      double eps) {
  for (int i = 0; i < nin; i++) {
    in[i]->requires_grad = true;
    rc_release(in[i]->grad);
    in[i]->grad = NULL;
  }
  rc_tensor *out = NULL, *w = NULL;
  check_count++;
  if (f(&out, in, ctx) != RC_OK) {
    check_failures++;
    fprintf(stderr, "%s: forward failed: %s\n", what, rc_last_error());
    return;
  }
  CHECK(out->requires_grad && out->grad_fn != NULL);
  w = random_tensor(out->ndim, out->shape);
  CHECK_OK(rc_backward(out, w, false));
  rc_release(out);
  bool was = rc_set_grad_enabled(false);
  for (int i = 0; i < nin; i++) {
    rc_tensor *x = in[i], *g = x->grad;
    check_count++;
    bool same = g && g->ndim == x->ndim;
    for (int d = 0; same && d < x->ndim; d++) same = g->shape[d] == x->shape[d];
    if (!same) {
      check_failures++;
      fprintf(stderr, "%s: input %d has no gradient of its shape\n", what, i);
      continue;
    }
    int bad = 0;
    bool ok = true;
    for (int64_t e = 0; e < rc_numel(x); e++) {
      float *p = (float *)x->storage->data + rc_flat_offset(x, e), x0 = *p;
      float hi = (float)(x0 + eps), lo = (float)(x0 - eps);
      *p = hi;
      double lp = weighted_loss(f, ctx, in, w, &ok);
      *p = lo;
      double lm = weighted_loss(f, ctx, in, w, &ok);
      *p = x0;
      double numeric = (lp - lm) / ((double)hi - (double)lo), analytic = rc_get_flat(g, e);
      if (!(fabs(analytic - numeric) <= 1e-2 * fmax(1.0, fabs(numeric)))) {
        if (bad++ < 3)
          fprintf(stderr, "%s: input %d element %lld (x = %.6g): analytic %.6g, numeric %.6g\n",
                  what, i, (long long)e, x0, analytic, numeric);
      }
    }
    if (bad || !ok) check_failures++;
  }
  rc_set_grad_enabled(was);
  rc_release(w);
}

/* Gradient of element e of x's .grad, or NaN when there is none. */
static double grad_at(const rc_tensor *x, int64_t e) {
  return x->grad ? rc_get_flat(x->grad, e) : NAN;
}

#endif
