/* tests/core/test_nn_ops.c — embedding, dropout, the losses and layer_norm (core/nn_ops.h):
   values worked out by hand, slow reference loops, finite-difference gradients, bad input. */
#include <stdint.h>
#include <stdlib.h>
#include "check.h"
#include "gradcheck.h"

#define LEN(a) ((int)(sizeof(a) / sizeof *(a)))

/* Values uniform in [-scale, scale). */
static rc_tensor *rand_tensor(int ndim, const int64_t *shape, double scale) {
  rc_tensor *t = random_tensor(ndim, shape);
  for (int64_t i = 0; t && i < rc_numel(t); i++) rc_f32(t)[i] *= (float)scale;
  return t;
}

static rc_tensor *scalar_of(float v) { return tensor_of(0, NULL, &v); }

/* Every element (row-major) within tol * max(1, |expected|) of expected. */
static bool values_near(const rc_tensor *t, int n, const double *expected, double tol) {
  if (!t || rc_numel(t) != n) return false;
  for (int i = 0; i < n; i++) {
    double v = rc_get_flat(t, i), e = expected[i];
    if (!(fabs(v - e) <= tol * fmax(1.0, fabs(e)))) {
      fprintf(stderr, "  element %d is %.9g, expected %.9g\n", i, v, e);
      return false;
    }
  }
  return true;
}

#define CHECK_NEAR_VALUES(t, tol, ...)                                      \
  do {                                                                      \
    const double expected_[] = {__VA_ARGS__};                               \
    CHECK(values_near((t), LEN(expected_), expected_, (tol)));              \
  } while (0)

/* Same shape, same bits. */
static bool identical(const rc_tensor *a, const rc_tensor *b) {
  if (!a || !b || a->ndim != b->ndim || rc_numel(a) != rc_numel(b)) return false;
  for (int64_t i = 0; i < rc_numel(a); i++) {
    float x = (float)rc_get_flat(a, i), y = (float)rc_get_flat(b, i);
    if (memcmp(&x, &y, sizeof x)) return false;
  }
  return true;
}

static bool all_finite(const rc_tensor *t) {
  for (int64_t i = 0; i < rc_numel(t); i++)
    if (!isfinite(rc_get_flat(t, i))) return false;
  return true;
}

/* The step and tolerance these checks were written with: the losses and layer_norm are curved
   (exp, log, 1/sqrt), unlike the linear view ops (worst seen: 1e-4). */
static const gc_options smooth = {.eps = 1e-2, .tol = 1e-2};

/* --- embedding ------------------------------------------------------------------------ */

typedef struct {
  const rc_tensor *ids;
  int64_t padding_idx;
} emb_arg;

static rc_status build_embedding(rc_tensor **out, rc_tensor *const *in, const void *arg) {
  const emb_arg *a = arg;
  return rcg_embedding(out, in[0], a->ids, a->padding_idx);
}

static void test_embedding_forward(void) {
  /* weight row v = (10v, 10v + 1) */
  rc_tensor *w = tensor_of(2, (int64_t[]){4, 2}, (float[]){0, 1, 10, 11, 20, 21, 30, 31});
  rc_tensor *ids = longs(2, (int64_t[]){2, 3}, (int64_t[]){3, 0, 1, 1, 1, 2}), *out = NULL;
  CHECK_OK(rc_embedding(&out, w, ids, RC_NO_PADDING));
  CHECK(shape_is(out, 3, (int64_t[]){2, 3, 2}));
  CHECK_NEAR_VALUES(out, 0, 30, 31, 0, 1, 10, 11, 10, 11, 10, 11, 20, 21);
  rc_release(out);
  /* the padding row is looked up like any other (only its gradient differs) */
  CHECK_OK(rc_embedding(&out, w, ids, 1));
  CHECK_NEAR_VALUES(out, 0, 30, 31, 0, 1, 10, 11, 10, 11, 10, 11, 20, 21);
  rc_release(out);
  /* a 0-d id gives one row (D); a transposed weight reads like its contiguous copy */
  rc_tensor *one = longs(0, NULL, (int64_t[]){2}), *wt = NULL, *wtt = NULL;
  CHECK_OK(rc_embedding(&out, w, one, RC_NO_PADDING));
  CHECK(shape_is(out, 1, (int64_t[]){2}));
  CHECK_NEAR_VALUES(out, 0, 20, 21);
  rc_release(out);
  CHECK_OK(rc_clone(&wt, w));
  rc_tensor *tmp = NULL;
  CHECK_OK(rc_transpose(&tmp, w, 0, 1)); /* (2,4) view */
  CHECK_OK(rc_contiguous(&wtt, tmp));    /* (2,4) contiguous */
  rc_release(tmp);
  CHECK_OK(rc_transpose(&tmp, wtt, 0, 1)); /* (4,2), non-contiguous, same values as w */
  CHECK(!rc_is_contiguous(tmp));
  CHECK_OK(rc_embedding(&out, tmp, ids, RC_NO_PADDING));
  CHECK_NEAR_VALUES(out, 0, 30, 31, 0, 1, 10, 11, 10, 11, 10, 11, 20, 21);
  rc_release(out), rc_release(tmp), rc_release(wt), rc_release(wtt), rc_release(one);
  rc_release(w), rc_release(ids);
}

static void test_embedding_grad(void) {
  rc_tensor *w = rand_tensor(2, (int64_t[]){5, 3}, 1.0);
  /* row 2 three times, row 0 (padding) twice, rows 1 and 4 once, row 3 never */
  rc_tensor *ids = longs(2, (int64_t[]){3, 3}, (int64_t[]){2, 0, 1, 2, 4, 0, 2, 3, 3});
  emb_arg a = {ids, RC_NO_PADDING};
  gradcheck("embedding", build_embedding, &a, 1, (rc_tensor *[]){w}, &smooth);

  /* With padding_idx 0: the gradient is the scatter-add of g over the ids, row 0 left at 0. */
  rc_tensor *out = NULL, *g = rand_tensor(3, (int64_t[]){3, 3, 3}, 1.0);
  rc_release(w->grad), w->grad = NULL; /* gradcheck leaves the gradient it checked */
  CHECK_OK(rcg_embedding(&out, w, ids, 0));
  CHECK(out->grad_fn && !strcmp(out->grad_fn->name, "EmbeddingBackward"));
  CHECK_OK(rc_backward(out, g, false));
  const int64_t *id = rc_i64(ids);
  double expect[5][3] = {{0}};
  for (int i = 0; i < 9; i++)
    if (id[i] != 0)
      for (int d = 0; d < 3; d++) expect[id[i]][d] += rc_f32(g)[i * 3 + d];
  CHECK(w->grad && values_near(w->grad, 15, &expect[0][0], 1e-6));
  for (int d = 0; d < 3; d++) CHECK(rc_f32(w->grad)[d] == 0.0f);     /* padding row */
  for (int d = 0; d < 3; d++) CHECK(rc_f32(w->grad)[3 * 3 + d] != 0); /* row 3 named twice */
  rc_release(out), rc_release(g), rc_release(w), rc_release(ids);
}

/* The backward sums each row in a fixed order: the same bits on 1, 2 or 3 threads. */
static void test_embedding_threads(void) {
  const int64_t V = 1000, D = 64, n = 4096;
  int saved = rc_threads();
  rc_tensor *w = rand_tensor(2, (int64_t[]){V, D}, 1.0), *ids = NULL;
  CHECK_OK(rc_empty(&ids, RC_INT64, 1, &n));
  for (int64_t i = 0; i < n; i++) /* ids 0..49 */
    rc_i64(ids)[i] = (int64_t)((next_value() + 1) * 0.5f * 50);
  rc_tensor *g = rand_tensor(2, (int64_t[]){n, D}, 1.0);
  rc_tensor *grads[3] = {NULL}, *outs[3] = {NULL};
  for (int t = 0; t < 3; t++) {
    rc_set_threads(t + 1);
    w->requires_grad = true;
    rc_release(w->grad);
    w->grad = NULL;
    CHECK_OK(rcg_embedding(&outs[t], w, ids, 7));
    CHECK_OK(rc_backward(outs[t], g, false));
    grads[t] = rc_retain(w->grad);
  }
  rc_set_threads(saved);
  CHECK(identical(grads[0], grads[1]) && identical(grads[0], grads[2]));
  CHECK(identical(outs[0], outs[1]) && identical(outs[0], outs[2]));
  /* the sum for row 3 is that of a plain loop over i */
  double s = 0;
  for (int64_t i = 0; i < n; i++)
    if (rc_i64(ids)[i] == 3) s += rc_f32(g)[i * D + 5];
  CHECK_NEAR(rc_f32(grads[0])[3 * D + 5], s, 1e-4);
  for (int64_t d = 0; d < D; d++) CHECK(rc_f32(grads[0])[7 * D + d] == 0.0f);
  for (int t = 0; t < 3; t++) rc_release(grads[t]), rc_release(outs[t]);
  rc_release(w), rc_release(ids), rc_release(g);
}

static void test_embedding_errors(void) {
  rc_tensor *w = rand_tensor(2, (int64_t[]){5, 3}, 1.0), *out = NULL;
  rc_tensor *bad = longs(1, (int64_t[]){3}, (int64_t[]){1, 5, 2});
  rc_tensor *neg = longs(1, (int64_t[]){2}, (int64_t[]){-1, 0});
  rc_tensor *ok = longs(1, (int64_t[]){2}, (int64_t[]){1, 0});
  rc_tensor *fids = tensor_of(1, (int64_t[]){2}, (float[]){1, 0});
  rc_tensor *w1 = rand_tensor(1, (int64_t[]){5}, 1.0);
  CHECK_FAILS(rc_embedding(&out, w, bad, RC_NO_PADDING),
              "embedding: id 5 out of range for 5 rows (expected 0..4)");
  CHECK(out == NULL);
  CHECK_FAILS(rc_embedding(&out, w, neg, RC_NO_PADDING),
              "embedding: id -1 out of range for 5 rows (expected 0..4)");
  CHECK_FAILS(rc_embedding(&out, w, fids, RC_NO_PADDING),
              "embedding: ids must be int64, got float32");
  CHECK_FAILS(rc_embedding(&out, w1, ok, RC_NO_PADDING),
              "embedding: weight must be 2-D (num_embeddings, embedding_dim), got shape (5)");
  CHECK_FAILS(rc_embedding(&out, w, ok, 5),
              "embedding: padding_idx 5 out of range for 5 rows (expected 0..4)");
  CHECK_FAILS(rc_embedding(&out, w, ok, -2), "embedding: padding_idx -2 out of range");
  CHECK(out == NULL);
  rc_release(w), rc_release(bad), rc_release(neg), rc_release(ok), rc_release(fids),
      rc_release(w1);
}

/* --- dropout ---------------------------------------------------------------------------- */

typedef struct {
  double p;
  uint64_t seed;
} drop_arg;

static rc_status build_dropout(rc_tensor **out, rc_tensor *const *in, const void *arg) {
  const drop_arg *a = arg;
  rc_manual_seed(a->seed); /* the same mask at every call */
  return rcg_dropout(out, in[0], a->p, true);
}

static void test_dropout_identity(void) {
  rc_tensor *x = rand_tensor(2, (int64_t[]){3, 4}, 1.0), *out = NULL, *mask = NULL;
  CHECK_OK(rc_dropout(&out, &mask, x, 0.0, true));
  CHECK(out == x && mask == NULL); /* x itself, as PyTorch */
  rc_release(out);
  CHECK_OK(rc_dropout(&out, &mask, x, 0.7, false));
  CHECK(out == x && mask == NULL);
  rc_release(out);
  x->requires_grad = true;
  CHECK_OK(rcg_dropout(&out, x, 0.5, false));
  CHECK(out == x && out->grad_fn == NULL);
  rc_release(out);
  x->requires_grad = false;
  rc_release(x);
}

static void test_dropout_values(void) {
  const int64_t n = 100000;
  rc_tensor *x = NULL, *out = NULL, *mask = NULL;
  CHECK_OK(rc_full(&x, RC_FLOAT32, 1, &n, 3.0));
  rc_manual_seed(42);
  CHECK_OK(rc_dropout(&out, &mask, x, 0.25, true));
  /* each element is dropped (0) or kept and scaled: 3 / 0.75 = 4; about 3/4 are kept */
  int64_t kept = 0;
  bool only_two_values = true, mask_matches = true;
  for (int64_t i = 0; i < n; i++) {
    float v = rc_f32(out)[i], m = rc_f32(mask)[i];
    kept += v != 0;
    only_two_values &= v == 0.0f || fabsf(v - 4.0f) < 1e-6f;
    mask_matches &= v == 3.0f * m && (m == 0.0f || fabsf(m - 1.0f / 0.75f) < 1e-6f);
  }
  CHECK(only_two_values);
  CHECK(mask_matches);
  CHECK(fabs((double)kept / (double)n - 0.75) < 0.01);
  /* the same seed gives the same mask, a different one another */
  rc_tensor *again = NULL, *other = NULL;
  rc_manual_seed(42);
  CHECK_OK(rc_dropout(&again, NULL, x, 0.25, true));
  CHECK(identical(out, again));
  rc_manual_seed(43);
  CHECK_OK(rc_dropout(&other, NULL, x, 0.25, true));
  CHECK(!identical(out, other));
  rc_release(again), rc_release(other);
  /* ... and the same on any thread count */
  int saved = rc_threads();
  rc_set_threads(3);
  rc_manual_seed(42);
  CHECK_OK(rc_dropout(&again, NULL, x, 0.25, true));
  rc_set_threads(saved);
  CHECK(identical(out, again));
  rc_release(again), rc_release(out), rc_release(mask);
  /* p = 1 drops everything */
  CHECK_OK(rc_dropout(&out, &mask, x, 1.0, true));
  bool zeros = true;
  for (int64_t i = 0; i < n; i++) zeros &= rc_f32(out)[i] == 0.0f;
  CHECK(zeros);
  rc_release(out), rc_release(mask), rc_release(x);
}

static void test_dropout_grad(void) {
  rc_tensor *x = rand_tensor(2, (int64_t[]){4, 5}, 1.0);
  drop_arg a = {0.4, 7};
  gradcheck("dropout", build_dropout, &a, 1, (rc_tensor *[]){x}, &smooth);
  /* the gradient is g * mask: 0 or 1/(1-p) where g = 1 */
  rc_tensor *out = NULL, *g = NULL;
  rc_release(x->grad), x->grad = NULL; /* gradcheck leaves the gradient it checked */
  rc_manual_seed(7);
  CHECK_OK(rcg_dropout(&out, x, 0.4, true));
  CHECK(out->grad_fn && !strcmp(out->grad_fn->name, "DropoutBackward"));
  CHECK_OK(rc_full(&g, RC_FLOAT32, 2, x->shape, 1.0));
  CHECK_OK(rc_backward(out, g, false));
  bool ok = true;
  for (int i = 0; i < 20; i++) {
    float gi = rc_f32(x->grad)[i], oi = rc_f32(out)[i], xi = rc_f32(x)[i];
    ok &= (gi == 0.0f && oi == 0.0f) || (fabsf(gi - 1.0f / 0.6f) < 1e-6f && oi == xi * gi);
  }
  CHECK(ok);
  rc_release(out), rc_release(g), rc_release(x);
}

static void test_dropout_errors(void) {
  rc_tensor *x = rand_tensor(1, (int64_t[]){4}, 1.0), *out = NULL;
  rc_tensor *ix = longs(1, (int64_t[]){2}, (int64_t[]){1, 2});
  CHECK_FAILS(rc_dropout(&out, NULL, x, 1.5, true), "dropout: p must be in [0, 1], got 1.5");
  CHECK_FAILS(rc_dropout(&out, NULL, x, -0.1, true), "dropout: p must be in [0, 1], got -0.1");
  CHECK_FAILS(rc_dropout(&out, NULL, x, NAN, false), "dropout: p must be in [0, 1], got nan");
  CHECK_FAILS(rc_dropout(&out, NULL, ix, 0.5, true), "dropout: input must be float32, got int64");
  CHECK(out == NULL);
  rc_release(x), rc_release(ix);
}

/* --- mse_loss ----------------------------------------------------------------------------- */

typedef struct {
  rc_reduction reduction;
  const rc_tensor *pos_weight;
  const rc_tensor *weight; /* BCE's, or NULL */
} pair_arg;

static rc_status build_mse(rc_tensor **out, rc_tensor *const *in, const void *arg) {
  return rcg_mse_loss(out, in[0], in[1], ((const pair_arg *)arg)->reduction);
}

static void test_mse(void) {
  /* differences 1, 0, -2: squares 1, 0, 4 */
  rc_tensor *x = tensor_of(1, (int64_t[]){3}, (float[]){1, 2, 3});
  rc_tensor *y = tensor_of(1, (int64_t[]){3}, (float[]){0, 2, 5}), *out = NULL;
  CHECK_OK(rc_mse_loss(&out, x, y, RC_REDUCTION_MEAN));
  CHECK(out->ndim == 0);
  CHECK_NEAR(rc_f32(out)[0], 5.0 / 3.0, 1e-6);
  rc_release(out);
  CHECK_OK(rc_mse_loss(&out, x, y, RC_REDUCTION_SUM));
  CHECK_NEAR(rc_f32(out)[0], 5.0, 1e-6);
  rc_release(out);
  CHECK_OK(rc_mse_loss(&out, x, y, RC_REDUCTION_NONE));
  CHECK(shape_is(out, 1, (int64_t[]){3}));
  CHECK_NEAR_VALUES(out, 0, 1, 0, 4);
  rc_release(out);
  /* d mean / dx = 2 (x - y) / 3 */
  x->requires_grad = true;
  CHECK_OK(rcg_mse_loss(&out, x, y, RC_REDUCTION_MEAN));
  CHECK(out->grad_fn && !strcmp(out->grad_fn->name, "MseLossBackward"));
  CHECK_OK(rc_backward(out, NULL, false));
  CHECK_NEAR_VALUES(x->grad, 1e-6, 2.0 / 3, 0, -4.0 / 3);
  rc_release(out);
  x->requires_grad = false;
  rc_release(x), rc_release(y);

  rc_tensor *a = rand_tensor(2, (int64_t[]){3, 4}, 1.0);
  rc_tensor *b = rand_tensor(2, (int64_t[]){3, 4}, 1.0);
  for (int r = 0; r < 3; r++) {
    pair_arg pa = {(rc_reduction)r, NULL, NULL};
    gradcheck("mse_loss", build_mse, &pa, 2, (rc_tensor *[]){a, b}, &smooth);
  }
  rc_tensor *c = rand_tensor(2, (int64_t[]){4, 3}, 1.0);
  out = NULL;
  CHECK_FAILS(rc_mse_loss(&out, a, c, RC_REDUCTION_MEAN),
              "mse_loss: input shape (3,4) and target shape (4,3) must be the same");
  CHECK_FAILS(rc_mse_loss(&out, a, b, (rc_reduction)7), "mse_loss: unknown reduction 7");
  CHECK(out == NULL);
  rc_release(a), rc_release(b), rc_release(c);
}

/* The chunked sums do not depend on the thread count. */
static void test_loss_threads(void) {
  const int64_t n = 300000;
  rc_tensor *x = rand_tensor(1, &n, 3.0), *y = rand_tensor(1, &n, 1.0);
  for (int64_t i = 0; i < n; i++) rc_f32(y)[i] = rc_f32(y)[i] > 0;
  int saved = rc_threads();
  rc_tensor *m[3] = {NULL}, *b[3] = {NULL};
  for (int t = 0; t < 3; t++) {
    rc_set_threads(t + 1);
    CHECK_OK(rc_mse_loss(&m[t], x, y, RC_REDUCTION_MEAN));
    CHECK_OK(rc_binary_cross_entropy_with_logits(&b[t], x, y, NULL, NULL, RC_REDUCTION_SUM));
  }
  rc_set_threads(saved);
  CHECK(identical(m[0], m[1]) && identical(m[0], m[2]));
  CHECK(identical(b[0], b[1]) && identical(b[0], b[2]));
  double s = 0;
  for (int64_t i = 0; i < n; i++) {
    double d = (double)rc_f32(x)[i] - rc_f32(y)[i];
    s += d * d;
  }
  CHECK_NEAR(rc_f32(m[0])[0], s / (double)n, 1e-5);
  for (int t = 0; t < 3; t++) rc_release(m[t]), rc_release(b[t]);
  rc_release(x), rc_release(y);
}

/* --- binary_cross_entropy_with_logits ------------------------------------------------------- */

static rc_status build_bce(rc_tensor **out, rc_tensor *const *in, const void *arg) {
  const pair_arg *a = arg;
  return rcg_binary_cross_entropy_with_logits(out, in[0], in[1], a->weight, a->pos_weight,
                                              a->reduction);
}

/* log(1 + exp(v)) */
static double softplus(double v) { return v > 0 ? v + log1p(exp(-v)) : log1p(exp(v)); }

static void test_bce(void) {
  /* loss = (1 - y) x + (1 + (pw - 1) y) log(1 + exp(-x)) */
  rc_tensor *x = tensor_of(1, (int64_t[]){4}, (float[]){1, -2, 0, 3});
  rc_tensor *y = tensor_of(1, (int64_t[]){4}, (float[]){1, 0, 0.5f, 0.25f}), *out = NULL;
  double e[4], sum = 0;
  for (int i = 0; i < 4; i++) {
    double xi = rc_f32(x)[i], yi = rc_f32(y)[i];
    e[i] = (1 - yi) * xi + softplus(-xi);
    sum += e[i];
  }
  CHECK_OK(rc_binary_cross_entropy_with_logits(&out, x, y, NULL, NULL, RC_REDUCTION_NONE));
  CHECK(values_near(out, 4, e, 1e-6));
  rc_release(out);
  CHECK_OK(rc_binary_cross_entropy_with_logits(&out, x, y, NULL, NULL, RC_REDUCTION_MEAN));
  CHECK_NEAR(rc_f32(out)[0], sum / 4, 1e-6);
  rc_release(out);
  /* x = 1, y = 1: log(1 + e^-1) = 0.31326169 */
  CHECK_NEAR(e[0], 0.31326169, 1e-8);
  /* pos_weight 3 scales the positive term: 3 * 0.31326169 at x = 1, y = 1 */
  rc_tensor *pw = scalar_of(3);
  CHECK_OK(rc_binary_cross_entropy_with_logits(&out, x, y, NULL, pw, RC_REDUCTION_NONE));
  CHECK_NEAR(rc_f32(out)[0], 3 * 0.31326169, 1e-6);
  CHECK_NEAR(rc_f32(out)[1], e[1], 1e-6); /* y = 0: pos_weight plays no part */
  rc_release(out), rc_release(pw), rc_release(x), rc_release(y);

  /* gradients for input and target, with and without a (C) pos_weight on (N,C) */
  rc_tensor *a = rand_tensor(2, (int64_t[]){3, 4}, 3.0);
  rc_tensor *b = rand_tensor(2, (int64_t[]){3, 4}, 1.0);
  for (int64_t i = 0; i < 12; i++) rc_f32(b)[i] = 0.5f + 0.5f * rc_f32(b)[i]; /* in [0, 1) */
  rc_tensor *pwc = tensor_of(1, (int64_t[]){4}, (float[]){0.5f, 1, 2, 4});
  for (int r = 0; r < 3; r++) {
    pair_arg pa = {(rc_reduction)r, NULL, NULL}, pb = {(rc_reduction)r, pwc, NULL};
    gradcheck("bce", build_bce, &pa, 2, (rc_tensor *[]){a, b}, &smooth);
    gradcheck("bce pos_weight", build_bce, &pb, 2, (rc_tensor *[]){a, b}, &smooth);
  }
  rc_tensor *bad = tensor_of(1, (int64_t[]){3}, (float[]){1, 2, 3}), *c = NULL;
  out = NULL;
  CHECK_FAILS(rc_binary_cross_entropy_with_logits(&out, a, b, NULL, bad, RC_REDUCTION_MEAN),
              "binary_cross_entropy_with_logits: pos_weight shape (3) does not broadcast to "
              "input shape (3,4)");
  c = rand_tensor(1, (int64_t[]){12}, 1.0);
  CHECK_FAILS(rc_binary_cross_entropy_with_logits(&out, a, c, NULL, NULL, RC_REDUCTION_MEAN),
              "binary_cross_entropy_with_logits: input shape (3,4) and target shape (12) must "
              "be the same");
  CHECK(out == NULL);
  rc_release(a), rc_release(b), rc_release(pwc), rc_release(bad), rc_release(c);
}

/* Logits of +-1e4: losses and gradients are finite and exact. */
static void test_bce_extreme(void) {
  rc_tensor *x = tensor_of(1, (int64_t[]){4}, (float[]){1e4f, -1e4f, 1e4f, -1e4f});
  rc_tensor *y = tensor_of(1, (int64_t[]){4}, (float[]){0, 1, 1, 0});
  rc_tensor *pw = scalar_of(3), *out = NULL, *g = NULL;
  x->requires_grad = true;
  CHECK_OK(rcg_binary_cross_entropy_with_logits(&out, x, y, NULL, NULL, RC_REDUCTION_NONE));
  CHECK_NEAR_VALUES(out, 1e-6, 1e4, 1e4, 0, 0);
  CHECK_OK(rc_full(&g, RC_FLOAT32, 1, (int64_t[]){4}, 1.0));
  CHECK_OK(rc_backward(out, g, false));
  CHECK_NEAR_VALUES(x->grad, 1e-6, 1, -1, 0, 0); /* sigmoid(x) - y */
  rc_release(out);
  rc_release(x->grad);
  x->grad = NULL;
  /* with pos_weight 3: the miss at x = -1e4, y = 1 costs 3e4, gradient -3 */
  CHECK_OK(rcg_binary_cross_entropy_with_logits(&out, x, y, NULL, pw, RC_REDUCTION_NONE));
  CHECK_NEAR_VALUES(out, 1e-6, 1e4, 3e4, 0, 0);
  CHECK_OK(rc_backward(out, g, false));
  CHECK_NEAR_VALUES(x->grad, 1e-6, 1, -3, 0, 0);
  CHECK(all_finite(x->grad));
  rc_release(out), rc_release(g), rc_release(pw), rc_release(x), rc_release(y);
}

/* --- cross_entropy and nll_loss ---------------------------------------------------------- */

typedef struct {
  const rc_tensor *target;
  int64_t ignore_index;
  double smoothing;
  rc_reduction reduction;
  const rc_tensor *weight; /* class weights, or NULL */
} class_arg;

static rc_status build_ce(rc_tensor **out, rc_tensor *const *in, const void *arg) {
  const class_arg *a = arg;
  return rcg_cross_entropy(out, in[0], a->target, a->weight, a->ignore_index, a->smoothing,
                           a->reduction);
}

/* Probability targets: in = {logits, probabilities, weight or NULL}, all differentiable. */
static rc_status build_ce_probs(rc_tensor **out, rc_tensor *const *in, const void *arg) {
  const class_arg *a = arg;
  return rcg_cross_entropy(out, in[0], in[1], in[2], a->ignore_index, a->smoothing,
                           a->reduction);
}

static rc_status build_nll(rc_tensor **out, rc_tensor *const *in, const void *arg) {
  const class_arg *a = arg;
  return rcg_nll_loss(out, in[0], a->target, a->weight, a->ignore_index, a->reduction);
}

/* The slow, obvious cross-entropy of logits (N,C,inner) by the definition: per position,
   log-softmax over C, the target distribution q (class t: (1 - s) onehot(t) + s/C; or
   probabilities p (N,C,inner): (1 - s) p + s/C), loss = sum_c w_c q_c (-logp_c) (w NULL: 1).
   Mean divides by the sum of w_t not ignored (class targets) or by N * inner (probabilities).
   rows_out gets the per-position losses. */
static double reference_loss(const float *x, const int64_t *t, const float *p, const float *w,
                             int64_t N, int64_t C, int64_t inner, int64_t ignore, double s,
                             rc_reduction red, double *rows_out) {
  double sum = 0, divisor = 0;
  for (int64_t n = 0; n < N; n++)
    for (int64_t j = 0; j < inner; j++) {
      double row = 0;
      int64_t tt = p ? -1 : t[n * inner + j];
      if (p || tt != ignore) {
        double z = 0;
        for (int64_t c = 0; c < C; c++) z += exp(x[(n * C + c) * inner + j]);
        for (int64_t c = 0; c < C; c++) {
          int64_t at = (n * C + c) * inner + j;
          double q = (1 - s) * (p ? p[at] : c == tt) + s / (double)C;
          row += (w ? w[c] : 1) * q * -(x[at] - log(z));
        }
        divisor += p ? 1 : w ? w[tt] : 1;
      }
      if (rows_out) rows_out[n * inner + j] = row;
      sum += row;
    }
  return red == RC_REDUCTION_MEAN ? sum / divisor : sum;
}

static double reference_ce(const float *x, const int64_t *t, int64_t N, int64_t C, int64_t inner,
                           int64_t ignore, double s, rc_reduction red, double *rows_out) {
  return reference_loss(x, t, NULL, NULL, N, C, inner, ignore, s, red, rows_out);
}

static void test_cross_entropy_values(void) {
  /* logits (1, 2, 3), target 2: -log(e^3 / (e + e^2 + e^3)) = 0.40760596 */
  rc_tensor *x = tensor_of(1, (int64_t[]){3}, (float[]){1, 2, 3});
  rc_tensor *t = longs(0, NULL, (int64_t[]){2}), *out = NULL;
  CHECK_OK(rc_cross_entropy(&out, x, t, NULL, RC_IGNORE_INDEX, 0, RC_REDUCTION_MEAN));
  CHECK(out->ndim == 0);
  CHECK_NEAR(rc_f32(out)[0], 0.40760596, 1e-6);
  rc_release(out);
  /* smoothing 0.3: 0.7 * 0.40760596 + 0.3 * mean(-logp) = 0.7 * 0.40760596 + 0.3 * 1.40760596 */
  CHECK_OK(rc_cross_entropy(&out, x, t, NULL, RC_IGNORE_INDEX, 0.3, RC_REDUCTION_MEAN));
  CHECK_NEAR(rc_f32(out)[0], 0.7 * 0.40760596 + 0.3 * 1.40760596, 1e-6);
  rc_release(out);
  /* nll of log-probabilities picks -logp[t] */
  rc_tensor *lp = tensor_of(1, (int64_t[]){3}, (float[]){-2.4076059f, -1.4076059f, -0.4076059f});
  CHECK_OK(rc_nll_loss(&out, lp, t, NULL, RC_IGNORE_INDEX, RC_REDUCTION_SUM));
  CHECK_NEAR(rc_f32(out)[0], 0.4076059, 1e-6);
  rc_release(out), rc_release(lp), rc_release(x), rc_release(t);

  /* (N,C,d) against the reference, every reduction, with an ignored position and smoothing */
  const int64_t N = 4, C = 5, d = 3;
  rc_tensor *z = rand_tensor(3, (int64_t[]){N, C, d}, 2.0);
  int64_t tv[12] = {0, 4, 2, 1, -100, 3, 3, 3, 0, 2, 1, 4};
  rc_tensor *tt = longs(2, (int64_t[]){N, d}, tv);
  double rows[12];
  for (int r = 0; r < 3; r++)
    for (int k = 0; k < 2; k++) {
      double s = k ? 0.2 : 0.0;
      double want = reference_ce(rc_f32(z), tv, N, C, d, -100, s, (rc_reduction)r, rows);
      CHECK_OK(rc_cross_entropy(&out, z, tt, NULL, -100, s, (rc_reduction)r));
      if (r == RC_REDUCTION_NONE) {
        CHECK(shape_is(out, 2, (int64_t[]){N, d}));
        CHECK(values_near(out, 12, rows, 1e-5));
        CHECK(rc_f32(out)[4] == 0.0f); /* the ignored position */
      } else {
        CHECK(out->ndim == 0);
        CHECK_NEAR(rc_f32(out)[0], want, 1e-5 * fmax(1, fabs(want)));
      }
      rc_release(out);
    }
  rc_release(z), rc_release(tt);
}

/* Ignored rows are left out of the mean entirely: the loss is that of the other rows. */
static void test_cross_entropy_ignore(void) {
  rc_tensor *x = rand_tensor(2, (int64_t[]){3, 4}, 2.0), *two = NULL, *tmp = NULL;
  rc_tensor *t = longs(1, (int64_t[]){3}, (int64_t[]){1, 0, 3});  /* 0 = padding: ignored */
  rc_tensor *t2 = longs(1, (int64_t[]){2}, (int64_t[]){1, 3});
  rc_tensor *a = NULL, *b = NULL, *rows = longs(1, (int64_t[]){2}, (int64_t[]){0, 2});
  CHECK_OK(rc_index_select(&tmp, x, 0, rows)); /* rows 0 and 2 of x */
  two = tmp;
  rc_release(rows);
  CHECK_OK(rc_cross_entropy(&a, x, t, NULL, 0, 0.1, RC_REDUCTION_MEAN));
  CHECK_OK(rc_cross_entropy(&b, two, t2, NULL, RC_IGNORE_INDEX, 0.1, RC_REDUCTION_MEAN));
  CHECK_NEAR(rc_f32(a)[0], rc_f32(b)[0], 1e-6);
  rc_release(a), rc_release(b);
  /* every target ignored: mean is 0 / 0 = NaN (as PyTorch), sum is 0 */
  rc_tensor *all = longs(1, (int64_t[]){3}, (int64_t[]){0, 0, 0});
  CHECK_OK(rc_cross_entropy(&a, x, all, NULL, 0, 0, RC_REDUCTION_MEAN));
  CHECK(isnan(rc_f32(a)[0]));
  CHECK_OK(rc_cross_entropy(&b, x, all, NULL, 0, 0, RC_REDUCTION_SUM));
  CHECK(rc_f32(b)[0] == 0.0f);
  rc_release(a), rc_release(b), rc_release(all);
  /* the ignored row's gradient is exactly 0 */
  x->requires_grad = true;
  CHECK_OK(rcg_cross_entropy(&a, x, t, NULL, 0, 0.1, RC_REDUCTION_MEAN));
  CHECK(a->grad_fn && !strcmp(a->grad_fn->name, "CrossEntropyLossBackward"));
  CHECK_OK(rc_backward(a, NULL, false));
  for (int c = 0; c < 4; c++) CHECK(rc_f32(x->grad)[4 + c] == 0.0f);
  /* a kept row: (softmax - 0.9 onehot - 0.1/4) / 2 */
  double z = 0;
  for (int c = 0; c < 4; c++) z += exp(rc_f32(x)[c]);
  for (int c = 0; c < 4; c++)
    CHECK_NEAR(rc_f32(x->grad)[c], (exp(rc_f32(x)[c]) / z - (c == 1 ? 0.9 : 0) - 0.025) / 2, 1e-6);
  rc_release(a), rc_release(x), rc_release(t), rc_release(t2), rc_release(two);
}

/* Positive class weights in [0.2, 2). */
static rc_tensor *class_weights(int64_t C) {
  rc_tensor *w = random_tensor(1, &C);
  for (int64_t c = 0; w && c < C; c++) rc_f32(w)[c] = 1.1f + 0.9f * rc_f32(w)[c];
  return w;
}

static void test_class_grads(void) {
  rc_tensor *x = rand_tensor(2, (int64_t[]){4, 5}, 2.0);
  rc_tensor *t = longs(1, (int64_t[]){4}, (int64_t[]){4, -100, 0, 2});
  rc_tensor *x3 = rand_tensor(3, (int64_t[]){2, 3, 4}, 2.0);
  rc_tensor *t3 = longs(2, (int64_t[]){2, 4}, (int64_t[]){0, 1, 2, 7, 2, 2, 1, 0});
  rc_tensor *x1 = rand_tensor(1, (int64_t[]){6}, 2.0), *t1 = longs(0, NULL, (int64_t[]){5});
  rc_tensor *w5 = class_weights(5), *w3 = class_weights(3), *w6 = class_weights(6);
  for (int weighted = 0; weighted < 2; weighted++)
    for (int r = 0; r < 3; r++) {
      const rc_tensor *wa = weighted ? w5 : NULL, *wb = weighted ? w3 : NULL;
      for (int k = 0; k < 3; k++) {
        class_arg a = {t, -100, k * 0.25, (rc_reduction)r, wa};
        gradcheck("cross_entropy (N,C)", build_ce, &a, 1, (rc_tensor *[]){x}, &smooth);
        class_arg a3 = {t3, 7, k * 0.25, (rc_reduction)r, wb};
        gradcheck("cross_entropy (N,C,d)", build_ce, &a3, 1, (rc_tensor *[]){x3}, &smooth);
        class_arg a1 = {t1, -100, k * 0.25, (rc_reduction)r, weighted ? w6 : NULL};
        gradcheck("cross_entropy (C)", build_ce, &a1, 1, (rc_tensor *[]){x1}, &smooth);
      }
      class_arg n = {t, -100, 0, (rc_reduction)r, wa}, n3 = {t3, 7, 0, (rc_reduction)r, wb};
      gradcheck("nll_loss (N,C)", build_nll, &n, 1, (rc_tensor *[]){x}, &smooth);
      gradcheck("nll_loss (N,C,d)", build_nll, &n3, 1, (rc_tensor *[]){x3}, &smooth);
    }
  rc_release(x), rc_release(t), rc_release(x3), rc_release(t3), rc_release(x1), rc_release(t1);
  rc_release(w5), rc_release(w3), rc_release(w6);
}

/* Probabilities (softmax of random values) along dim 1 of (N,C,inner), or of a (C) vector. */
static rc_tensor *probabilities(int ndim, const int64_t *shape) {
  rc_tensor *p = rand_tensor(ndim, shape, 2.0);
  int64_t C = shape[ndim == 1 ? 0 : 1], inner = rc_numel(p) / (ndim == 1 ? C : shape[0] * C);
  for (int64_t n = 0; n < rc_numel(p) / (C * inner); n++)
    for (int64_t j = 0; j < inner; j++) {
      float *v = rc_f32(p) + n * C * inner + j;
      double z = 0;
      for (int64_t c = 0; c < C; c++) z += exp(v[c * inner]);
      for (int64_t c = 0; c < C; c++) v[c * inner] = (float)(exp(v[c * inner]) / z);
    }
  return p;
}

/* Probability targets: the logits, the probabilities and the weight all get gradients. */
static void test_prob_grads(void) {
  rc_tensor *x = rand_tensor(2, (int64_t[]){4, 5}, 2.0), *p = probabilities(2, x->shape);
  rc_tensor *x3 = rand_tensor(3, (int64_t[]){2, 3, 4}, 2.0), *p3 = probabilities(3, x3->shape);
  rc_tensor *x1 = rand_tensor(1, (int64_t[]){6}, 2.0), *p1 = probabilities(1, x1->shape);
  rc_tensor *w5 = class_weights(5), *w3 = class_weights(3), *w6 = class_weights(6);
  for (int weighted = 0; weighted < 2; weighted++)
    for (int r = 0; r < 3; r++)
      for (int k = 0; k < 2; k++) {
        class_arg a = {NULL, RC_IGNORE_INDEX, k * 0.3, (rc_reduction)r, NULL};
        gradcheck("cross_entropy probabilities (N,C)", build_ce_probs, &a, 3,
                  (rc_tensor *[]){x, p, weighted ? w5 : NULL}, &smooth);
        gradcheck("cross_entropy probabilities (N,C,d)", build_ce_probs, &a, 3,
                  (rc_tensor *[]){x3, p3, weighted ? w3 : NULL}, &smooth);
        gradcheck("cross_entropy probabilities (C)", build_ce_probs, &a, 3,
                  (rc_tensor *[]){x1, p1, weighted ? w6 : NULL}, &smooth);
      }
  /* the logits alone (target and weight constants): only the logits' gradient is made */
  const gc_options logits_only = {.eps = 1e-2, .tol = 1e-2, .check = (bool[]){true, false, false}};
  class_arg a = {NULL, -1, 0.1, RC_REDUCTION_MEAN, NULL};
  gradcheck("cross_entropy probabilities, logits only", build_ce_probs, &a, 3,
            (rc_tensor *[]){x, p, w5}, &logits_only);
  CHECK(p->grad == NULL && w5->grad == NULL);
  rc_release(x), rc_release(p), rc_release(x3), rc_release(p3), rc_release(x1), rc_release(p1);
  rc_release(w5), rc_release(w3), rc_release(w6);
}

/* Weighted class targets and probability targets against the reference, every reduction. */
static void test_weighted_values(void) {
  const int64_t N = 4, C = 5, d = 3;
  rc_tensor *x = rand_tensor(3, (int64_t[]){N, C, d}, 2.0), *p = probabilities(3, x->shape);
  rc_tensor *w = class_weights(C), *out = NULL;
  int64_t tv[12] = {0, 4, 2, 1, -100, 3, 3, 3, 0, 2, 1, 4};
  rc_tensor *t = longs(2, (int64_t[]){N, d}, tv);
  const float *xv = rc_f32(x), *pv = rc_f32(p), *wv = rc_f32(w);
  double rows[12];
  for (int r = 0; r < 3; r++)
    for (int k = 0; k < 2; k++) {
      double s = k ? 0.2 : 0.0;
      for (int probs = 0; probs < 2; probs++) {
        double want = reference_loss(xv, tv, probs ? pv : NULL, wv, N, C, d, -100, s,
                                     (rc_reduction)r, rows);
        CHECK_OK(rc_cross_entropy(&out, x, probs ? p : t, w, -100, s, (rc_reduction)r));
        if (r == RC_REDUCTION_NONE) {
          CHECK(shape_is(out, 2, (int64_t[]){N, d}));
          CHECK(values_near(out, 12, rows, 1e-5));
        } else {
          CHECK(out->ndim == 0);
          CHECK_NEAR(rc_f32(out)[0], want, 1e-5 * fmax(1, fabs(want)));
        }
        rc_release(out);
      }
    }
  /* nll_loss: -w_t log_probs[t], the mean over the weights of the targets not ignored */
  CHECK_OK(rc_nll_loss(&out, x, t, w, -100, RC_REDUCTION_MEAN));
  double sum = 0, wsum = 0;
  for (int64_t i = 0; i < 12; i++)
    if (tv[i] != -100) {
      sum -= wv[tv[i]] * xv[(i / d * C + tv[i]) * d + i % d];
      wsum += wv[tv[i]];
    }
  CHECK_NEAR(rc_f32(out)[0], sum / wsum, 1e-5 * fmax(1, fabs(sum / wsum)));
  rc_release(out);
  /* by hand: logits (0, log 3), softmax (1/4, 3/4), probabilities (1/2, 1/2), weight (2, 4):
     loss = 2/2 log 4 + 4/2 log(4/3) */
  rc_tensor *xh = tensor_of(2, (int64_t[]){1, 2}, (float[]){0, (float)log(3.0)});
  rc_tensor *ph = tensor_of(2, (int64_t[]){1, 2}, (float[]){0.5f, 0.5f});
  rc_tensor *wh = tensor_of(1, (int64_t[]){2}, (float[]){2, 4});
  CHECK_OK(rc_cross_entropy(&out, xh, ph, wh, RC_IGNORE_INDEX, 0, RC_REDUCTION_MEAN));
  CHECK_NEAR(rc_f32(out)[0], log(4.0) + 2 * log(4.0 / 3), 1e-6);
  rc_release(out), rc_release(xh), rc_release(ph), rc_release(wh);
  rc_release(x), rc_release(p), rc_release(w), rc_release(t);
}

/* BCE's weight: each element's loss times w (broadcast), the mean still over all elements. */
static void test_bce_weight(void) {
  rc_tensor *x = tensor_of(2, (int64_t[]){2, 2}, (float[]){1, -2, 0, 3});
  rc_tensor *y = tensor_of(2, (int64_t[]){2, 2}, (float[]){1, 0, 0.5f, 0.25f});
  rc_tensor *w = tensor_of(2, (int64_t[]){2, 1}, (float[]){2, 0.5f}), *plain = NULL, *out = NULL;
  CHECK_OK(rc_binary_cross_entropy_with_logits(&plain, x, y, NULL, NULL, RC_REDUCTION_NONE));
  CHECK_OK(rc_binary_cross_entropy_with_logits(&out, x, y, w, NULL, RC_REDUCTION_NONE));
  const float *l = rc_f32(plain);
  CHECK_NEAR_VALUES(out, 1e-6, 2 * l[0], 2 * l[1], 0.5 * l[2], 0.5 * l[3]);
  rc_release(out);
  CHECK_OK(rc_binary_cross_entropy_with_logits(&out, x, y, w, NULL, RC_REDUCTION_MEAN));
  CHECK_NEAR(rc_f32(out)[0], (2 * (l[0] + l[1]) + 0.5 * (l[2] + l[3])) / 4, 1e-6);
  rc_release(out), rc_release(plain);

  rc_tensor *a = rand_tensor(2, (int64_t[]){3, 4}, 3.0);
  rc_tensor *b = rand_tensor(2, (int64_t[]){3, 4}, 1.0);
  for (int64_t i = 0; i < 12; i++) rc_f32(b)[i] = 0.5f + 0.5f * rc_f32(b)[i]; /* in [0, 1) */
  rc_tensor *wc = class_weights(4), *wf = rand_tensor(2, (int64_t[]){3, 4}, 1.0);
  rc_tensor *pw = tensor_of(1, (int64_t[]){4}, (float[]){0.5f, 1, 2, 4});
  for (int r = 0; r < 3; r++) {
    pair_arg pa = {(rc_reduction)r, NULL, wc}, pb = {(rc_reduction)r, pw, wf};
    gradcheck("bce weight (4)", build_bce, &pa, 2, (rc_tensor *[]){a, b}, &smooth);
    gradcheck("bce weight (3,4), pos_weight", build_bce, &pb, 2, (rc_tensor *[]){a, b}, &smooth);
  }
  rc_tensor *bad = tensor_of(1, (int64_t[]){3}, (float[]){1, 2, 3});
  rc_tensor *iw = longs(1, (int64_t[]){4}, (int64_t[]){1, 1, 1, 1});
  out = NULL;
  CHECK_FAILS(rc_binary_cross_entropy_with_logits(&out, a, b, bad, NULL, RC_REDUCTION_MEAN),
              "binary_cross_entropy_with_logits: weight shape (3) does not broadcast to input "
              "shape (3,4)");
  CHECK_FAILS(rc_binary_cross_entropy_with_logits(&out, a, b, iw, NULL, RC_REDUCTION_MEAN),
              "binary_cross_entropy_with_logits: weight must be float32, got int64");
  wc->requires_grad = true;
  CHECK_FAILS(rcg_binary_cross_entropy_with_logits(&out, a, b, wc, NULL, RC_REDUCTION_MEAN),
              "binary_cross_entropy_with_logits: weight requires grad, but no gradient is "
              "computed for it (as in PyTorch); detach it");
  CHECK(out == NULL);
  wc->requires_grad = false;
  rc_release(x), rc_release(y), rc_release(w), rc_release(a), rc_release(b), rc_release(wc),
      rc_release(wf), rc_release(pw), rc_release(bad), rc_release(iw);
}

/* Logits of +-1e4 give finite losses and gradients: softmax of such a row is one-hot. */
static void test_cross_entropy_extreme(void) {
  rc_tensor *x = tensor_of(2, (int64_t[]){2, 3}, (float[]){1e4f, -1e4f, 0, -1e4f, 1e4f, 1e4f});
  rc_tensor *t = longs(1, (int64_t[]){2}, (int64_t[]){1, 2}), *out = NULL;
  x->requires_grad = true;
  CHECK_OK(rcg_cross_entropy(&out, x, t, NULL, RC_IGNORE_INDEX, 0, RC_REDUCTION_NONE));
  /* row 0: -logp[1] = 1e4 - (-1e4) = 2e4; row 1: two equal maxima, -logp[2] = log 2 */
  CHECK_NEAR_VALUES(out, 1e-6, 2e4, log(2.0));
  rc_tensor *g = NULL;
  CHECK_OK(rc_full(&g, RC_FLOAT32, 1, (int64_t[]){2}, 1.0));
  CHECK_OK(rc_backward(out, g, false));
  CHECK(all_finite(x->grad));
  CHECK_NEAR_VALUES(x->grad, 1e-6, 1, -1, 0, 0, 0.5, -0.5);
  rc_release(out), rc_release(g);
  CHECK_OK(rc_cross_entropy(&out, x, t, NULL, RC_IGNORE_INDEX, 0.5, RC_REDUCTION_SUM));
  CHECK(all_finite(out));
  rc_release(out), rc_release(x), rc_release(t);
}

/* Rows run in parallel; each row's loss is its own, and the total sums rows in order. */
static void test_cross_entropy_threads(void) {
  const int64_t N = 512, C = 300;
  rc_tensor *x = rand_tensor(2, (int64_t[]){N, C}, 4.0), *t = NULL, *g = NULL;
  CHECK_OK(rc_empty(&t, RC_INT64, 1, &N));
  for (int64_t i = 0; i < N; i++) rc_i64(t)[i] = i % 7 == 0 ? -100 : (i * 37) % C;
  CHECK_OK(rc_full(&g, RC_FLOAT32, 0, NULL, 1.0));
  int saved = rc_threads();
  rc_tensor *loss[3] = {NULL}, *grad[3] = {NULL};
  for (int k = 0; k < 3; k++) {
    rc_set_threads(k + 1);
    x->requires_grad = true;
    rc_release(x->grad);
    x->grad = NULL;
    CHECK_OK(rcg_cross_entropy(&loss[k], x, t, NULL, -100, 0.1, RC_REDUCTION_MEAN));
    CHECK_OK(rc_backward(loss[k], g, false));
    grad[k] = rc_retain(x->grad);
  }
  rc_set_threads(saved);
  CHECK(identical(loss[0], loss[1]) && identical(loss[0], loss[2]));
  CHECK(identical(grad[0], grad[1]) && identical(grad[0], grad[2]));
  double want = reference_ce(rc_f32(x), rc_i64(t), N, C, 1, -100, 0.1, RC_REDUCTION_MEAN, NULL);
  CHECK_NEAR(rc_f32(loss[0])[0], want, 1e-5 * want);
  for (int k = 0; k < 3; k++) rc_release(loss[k]), rc_release(grad[k]);
  rc_release(x), rc_release(t), rc_release(g);
}

/* Probability targets with a weight: the loss and all three gradients are the same bits on
   1, 2 or 3 threads (the weight's gradient sums rows in order). */
static void test_prob_threads(void) {
  const int64_t N = 512, C = 300;
  rc_tensor *x = rand_tensor(2, (int64_t[]){N, C}, 4.0), *p = probabilities(2, x->shape);
  rc_tensor *w = class_weights(C), *g = NULL, *in[3] = {x, p, w};
  CHECK_OK(rc_full(&g, RC_FLOAT32, 0, NULL, 1.0));
  int saved = rc_threads();
  rc_tensor *loss[3] = {NULL}, *grad[3][3] = {{NULL}};
  for (int k = 0; k < 3; k++) {
    rc_set_threads(k + 1);
    for (int j = 0; j < 3; j++) {
      in[j]->requires_grad = true;
      rc_release(in[j]->grad);
      in[j]->grad = NULL;
    }
    CHECK_OK(rcg_cross_entropy(&loss[k], x, p, w, RC_IGNORE_INDEX, 0.1, RC_REDUCTION_MEAN));
    CHECK_OK(rc_backward(loss[k], g, false));
    for (int j = 0; j < 3; j++) grad[k][j] = rc_retain(in[j]->grad);
  }
  rc_set_threads(saved);
  CHECK(identical(loss[0], loss[1]) && identical(loss[0], loss[2]));
  for (int j = 0; j < 3; j++)
    CHECK(identical(grad[0][j], grad[1][j]) && identical(grad[0][j], grad[2][j]));
  double want = reference_loss(rc_f32(x), NULL, rc_f32(p), rc_f32(w), N, C, 1, RC_IGNORE_INDEX,
                               0.1, RC_REDUCTION_MEAN, NULL);
  CHECK_NEAR(rc_f32(loss[0])[0], want, 1e-5 * want);
  for (int k = 0; k < 3; k++) {
    rc_release(loss[k]);
    for (int j = 0; j < 3; j++) rc_release(grad[k][j]);
  }
  for (int j = 0; j < 3; j++) in[j]->requires_grad = false;
  rc_release(x), rc_release(p), rc_release(w), rc_release(g);
}

/* Bad weights and probability targets: refused before anything is made. */
static void test_weight_errors(void) {
  rc_tensor *x = rand_tensor(2, (int64_t[]){2, 5}, 1.0), *out = NULL;
  rc_tensor *t = longs(1, (int64_t[]){2}, (int64_t[]){1, 2});
  rc_tensor *w4 = class_weights(4), *w5 = class_weights(5), *w15 = NULL;
  rc_tensor *iw = longs(1, (int64_t[]){5}, (int64_t[]){1, 1, 1, 1, 1});
  rc_tensor *p = probabilities(2, x->shape), *p3 = rand_tensor(2, (int64_t[]){3, 5}, 1.0);
  rc_tensor *it = longs(2, (int64_t[]){2, 5}, (int64_t[]){0, 1, 0, 0, 0, 1, 0, 0, 0, 0});
  CHECK_OK(rc_view(&w15, w5, 2, (int64_t[]){1, 5}));
  CHECK_FAILS(rc_cross_entropy(&out, x, t, w4, RC_IGNORE_INDEX, 0, RC_REDUCTION_MEAN),
              "cross_entropy: weight shape (4) must be (5), one entry per class");
  CHECK_FAILS(rc_cross_entropy(&out, x, p, w15, RC_IGNORE_INDEX, 0, RC_REDUCTION_MEAN),
              "cross_entropy: weight shape (1,5) must be (5), one entry per class");
  CHECK_FAILS(rc_nll_loss(&out, x, t, iw, RC_IGNORE_INDEX, RC_REDUCTION_MEAN),
              "nll_loss: weight must be float32, got int64");
  CHECK_FAILS(rc_cross_entropy(&out, x, p3, NULL, RC_IGNORE_INDEX, 0, RC_REDUCTION_MEAN),
              "cross_entropy: probability target shape (3,5) must equal input shape (2,5) "
              "(class-index targets are int64)");
  CHECK_FAILS(rc_cross_entropy(&out, x, it, NULL, RC_IGNORE_INDEX, 0, RC_REDUCTION_MEAN),
              "cross_entropy: a target of the input's shape (2,5) holds class probabilities and "
              "must be float32, got int64");
  CHECK_FAILS(rc_cross_entropy(&out, x, p, NULL, 0, 0, RC_REDUCTION_MEAN),
              "cross_entropy: ignore_index 0 applies to class-index targets only, not to "
              "probability targets");
  CHECK_FAILS(rc_cross_entropy(&out, x, p, NULL, RC_IGNORE_INDEX, -0.5, RC_REDUCTION_MEAN),
              "cross_entropy: label_smoothing must be in [0, 1], got -0.5");
  CHECK_FAILS(rc_nll_loss(&out, x, p, NULL, RC_IGNORE_INDEX, RC_REDUCTION_MEAN),
              "nll_loss: target must be int64 class ids, got float32");
  /* a weight that requires grad: refused with class targets (grad mode on), used under
     no_grad, and differentiated with probabilities */
  w5->requires_grad = true;
  CHECK_FAILS(rcg_cross_entropy(&out, x, t, w5, RC_IGNORE_INDEX, 0, RC_REDUCTION_MEAN),
              "cross_entropy: weight requires grad, but no gradient is computed for it with "
              "class-index targets (as in PyTorch); detach it");
  CHECK_FAILS(rcg_nll_loss(&out, x, t, w5, RC_IGNORE_INDEX, RC_REDUCTION_MEAN),
              "nll_loss: weight requires grad, but no gradient is computed for it (as in "
              "PyTorch); detach it");
  CHECK(out == NULL);
  bool was = rc_set_grad_enabled(false);
  CHECK_OK(rcg_cross_entropy(&out, x, t, w5, RC_IGNORE_INDEX, 0, RC_REDUCTION_MEAN));
  CHECK(out && out->grad_fn == NULL);
  rc_release(out);
  rc_set_grad_enabled(was);
  out = NULL;
  CHECK_OK(rcg_cross_entropy(&out, x, p, w5, RC_IGNORE_INDEX, 0, RC_REDUCTION_SUM));
  CHECK(out && out->grad_fn && !strcmp(out->grad_fn->name, "CrossEntropyLossBackward"));
  CHECK_OK(rc_backward(out, NULL, false));
  CHECK(shape_is(w5->grad, 1, (int64_t[]){5}));
  rc_release(out);
  w5->requires_grad = false;
  rc_release(x), rc_release(t), rc_release(w4), rc_release(w5), rc_release(w15), rc_release(iw),
      rc_release(p), rc_release(p3), rc_release(it);
}

static void test_class_errors(void) {
  rc_tensor *x = rand_tensor(2, (int64_t[]){2, 5}, 1.0), *out = NULL;
  rc_tensor *bad = longs(1, (int64_t[]){2}, (int64_t[]){1, 5});
  rc_tensor *neg = longs(1, (int64_t[]){2}, (int64_t[]){-1, 0});
  rc_tensor *three = longs(1, (int64_t[]){3}, (int64_t[]){1, 2, 3});
  rc_tensor *ft = tensor_of(1, (int64_t[]){2}, (float[]){1, 2});
  rc_tensor *ok = longs(1, (int64_t[]){2}, (int64_t[]){1, 2});
  rc_tensor *x0 = scalar_of(1);
  CHECK_FAILS(rc_cross_entropy(&out, x, bad, NULL, RC_IGNORE_INDEX, 0, RC_REDUCTION_MEAN),
              "cross_entropy: target 5 out of range for 5 classes (expected 0..4, or "
              "ignore_index -100)");
  CHECK_FAILS(rc_cross_entropy(&out, x, neg, NULL, RC_IGNORE_INDEX, 0, RC_REDUCTION_MEAN),
              "cross_entropy: target -1 out of range for 5 classes");
  CHECK_FAILS(rc_nll_loss(&out, x, bad, NULL, 0, RC_REDUCTION_MEAN),
              "nll_loss: target 5 out of range for 5 classes (expected 0..4, or ignore_index 0)");
  CHECK_FAILS(rc_cross_entropy(&out, x, three, NULL, RC_IGNORE_INDEX, 0, RC_REDUCTION_MEAN),
              "cross_entropy: target shape (3) does not match input shape (2,5) (expected "
              "target shape (2))");
  CHECK_FAILS(rc_nll_loss(&out, x, ft, NULL, RC_IGNORE_INDEX, RC_REDUCTION_MEAN),
              "nll_loss: target must be int64 class ids, got float32");
  CHECK_FAILS(rc_cross_entropy(&out, x, ok, NULL, RC_IGNORE_INDEX, 1.5, RC_REDUCTION_MEAN),
              "cross_entropy: label_smoothing must be in [0, 1], got 1.5");
  CHECK_FAILS(rc_cross_entropy(&out, x0, ok, NULL, RC_IGNORE_INDEX, 0, RC_REDUCTION_MEAN),
              "cross_entropy: input must be (C), (N,C) or (N,C,d...), got shape ()");
  CHECK(out == NULL);
  rc_reduction r = RC_REDUCTION_MEAN;
  CHECK_OK(rc_reduction_from_name("x", "none", &r));
  CHECK(r == RC_REDUCTION_NONE);
  CHECK_FAILS(rc_reduction_from_name("cross_entropy", "avg", &r),
              "cross_entropy: reduction must be 'mean', 'sum' or 'none', got 'avg'");
  CHECK(!strcmp(rc_reduction_name(RC_REDUCTION_SUM), "sum"));
  rc_release(x), rc_release(bad), rc_release(neg), rc_release(three), rc_release(ft),
      rc_release(ok), rc_release(x0);
}

/* --- layer_norm ----------------------------------------------------------------------------- */

typedef struct {
  int k;
  int64_t shape[RC_MAX_DIMS];
  double eps;
} ln_arg;

static rc_status build_ln(rc_tensor **out, rc_tensor *const *in, const void *arg) {
  const ln_arg *a = arg;
  return rcg_layer_norm(out, in[0], a->k, a->shape, in[1], in[2], a->eps);
}

static void test_layer_norm_values(void) {
  /* row (1, 2, 3): mean 2, var 2/3, out = (x - 2) / sqrt(2/3 + eps) */
  rc_tensor *x = tensor_of(2, (int64_t[]){2, 3}, (float[]){1, 2, 3, 4, 4, 4}), *out = NULL;
  double r = 1 / sqrt(2.0 / 3 + 1e-5);
  CHECK_OK(rc_layer_norm(&out, x, 1, (int64_t[]){3}, NULL, NULL, 1e-5));
  CHECK(shape_is(out, 2, (int64_t[]){2, 3}));
  CHECK_NEAR_VALUES(out, 1e-6, -r, 0, r, 0, 0, 0); /* a constant row normalizes to 0 */
  rc_release(out);
  rc_tensor *w = tensor_of(1, (int64_t[]){3}, (float[]){2, 1, -1});
  rc_tensor *b = tensor_of(1, (int64_t[]){3}, (float[]){0.5f, 0, 1});
  CHECK_OK(rc_layer_norm(&out, x, 1, (int64_t[]){3}, w, b, 1e-5));
  CHECK_NEAR_VALUES(out, 1e-6, -2 * r + 0.5, 0, -r + 1, 0.5, 0, 1);
  rc_release(out), rc_release(x), rc_release(w), rc_release(b);

  /* over the last two dims of (2,2,3): each (2,3) block is one row; against a plain loop */
  rc_tensor *y = rand_tensor(3, (int64_t[]){2, 2, 3}, 2.0);
  CHECK_OK(rc_layer_norm(&out, y, 2, (int64_t[]){2, 3}, NULL, NULL, 1e-3));
  double expect[12];
  for (int row = 0; row < 2; row++) {
    const float *v = rc_f32(y) + row * 6;
    double m = 0, s = 0;
    for (int i = 0; i < 6; i++) m += v[i] / 6.0;
    for (int i = 0; i < 6; i++) s += (v[i] - m) * (v[i] - m) / 6.0;
    for (int i = 0; i < 6; i++) expect[row * 6 + i] = (v[i] - m) / sqrt(s + 1e-3);
  }
  CHECK(values_near(out, 12, expect, 1e-5));
  rc_release(out), rc_release(y);
}

static void test_layer_norm_grads(void) {
  rc_tensor *x = rand_tensor(3, (int64_t[]){2, 3, 4}, 2.0);
  rc_tensor *w = rand_tensor(2, (int64_t[]){3, 4}, 1.5);
  rc_tensor *b = rand_tensor(2, (int64_t[]){3, 4}, 1.0);
  rc_tensor *w1 = rand_tensor(1, (int64_t[]){4}, 1.5), *b1 = rand_tensor(1, (int64_t[]){4}, 1.0);
  ln_arg two = {2, {3, 4}, 1e-5}, one = {1, {4}, 1e-5};
  gc_options weight_only = smooth;
  weight_only.check = (bool[]){false, true, false};
  gradcheck("layer_norm (3,4)", build_ln, &two, 3, (rc_tensor *[]){x, w, b}, &smooth);
  gradcheck("layer_norm (4)", build_ln, &one, 3, (rc_tensor *[]){x, w1, b1}, &smooth);
  gradcheck("layer_norm no affine", build_ln, &one, 3, (rc_tensor *[]){x, NULL, NULL}, &smooth);
  gradcheck("layer_norm weight only", build_ln, &one, 3, (rc_tensor *[]){x, w1, NULL},
            &weight_only);
  gradcheck("layer_norm bias only", build_ln, &one, 3, (rc_tensor *[]){x, NULL, b1}, &smooth);
  /* dbias is the sum of g over rows; dweight that of g * xhat */
  rc_tensor *out = NULL, *g = rand_tensor(3, (int64_t[]){2, 3, 4}, 1.0);
  rc_release(b1->grad), b1->grad = NULL; /* gradcheck leaves the gradient it checked */
  CHECK_OK(rcg_layer_norm(&out, x, 1, (int64_t[]){4}, w1, b1, 1e-5));
  CHECK(out->grad_fn && !strcmp(out->grad_fn->name, "LayerNormBackward"));
  CHECK_OK(rc_backward(out, g, false));
  for (int i = 0; i < 4; i++) {
    double s = 0;
    for (int row = 0; row < 6; row++) s += rc_f32(g)[row * 4 + i];
    CHECK_NEAR(rc_f32(b1->grad)[i], s, 1e-5);
  }
  rc_release(out), rc_release(g);
  rc_release(x), rc_release(w), rc_release(b), rc_release(w1), rc_release(b1);
}

static void test_layer_norm_threads(void) {
  const int64_t rows = 4096, cols = 64;
  rc_tensor *x = rand_tensor(2, (int64_t[]){rows, cols}, 3.0);
  rc_tensor *g = rand_tensor(2, (int64_t[]){rows, cols}, 1.0);
  rc_tensor *w = rand_tensor(1, &cols, 1.0), *b = rand_tensor(1, &cols, 1.0);
  int saved = rc_threads();
  rc_tensor *o[3], *dx[3], *dw[3], *db[3];
  for (int k = 0; k < 3; k++) {
    rc_set_threads(k + 1);
    rc_tensor *in[3] = {x, w, b};
    for (int j = 0; j < 3; j++) {
      rc_release(in[j]->grad);
      in[j]->grad = NULL;
      in[j]->requires_grad = true;
    }
    o[k] = NULL;
    CHECK_OK(rcg_layer_norm(&o[k], x, 1, &cols, w, b, 1e-5));
    CHECK_OK(rc_backward(o[k], g, false));
    dx[k] = rc_retain(x->grad), dw[k] = rc_retain(w->grad), db[k] = rc_retain(b->grad);
  }
  rc_set_threads(saved);
  for (int k = 1; k < 3; k++) {
    CHECK(identical(o[0], o[k]));
    CHECK(identical(dx[0], dx[k]));
    CHECK(identical(dw[0], dw[k]));
    CHECK(identical(db[0], db[k]));
  }
  double s = 0;
  for (int64_t r = 0; r < rows; r++) s += rc_f32(g)[r * cols + 9];
  CHECK_NEAR(rc_f32(db[0])[9], s, 1e-4);
  for (int k = 0; k < 3; k++)
    rc_release(o[k]), rc_release(dx[k]), rc_release(dw[k]), rc_release(db[k]);
  rc_release(x), rc_release(g), rc_release(w), rc_release(b);
}

static void test_layer_norm_errors(void) {
  rc_tensor *x = rand_tensor(2, (int64_t[]){2, 3}, 1.0), *out = NULL;
  rc_tensor *w4 = rand_tensor(1, (int64_t[]){4}, 1.0);
  rc_tensor *ix = longs(1, (int64_t[]){3}, (int64_t[]){1, 2, 3});
  CHECK_FAILS(rc_layer_norm(&out, x, 1, (int64_t[]){4}, NULL, NULL, 1e-5),
              "layer_norm: normalized_shape (4) does not match the last dims of input shape (2,3)");
  CHECK_FAILS(rc_layer_norm(&out, x, 3, (int64_t[]){1, 2, 3}, NULL, NULL, 1e-5),
              "layer_norm: normalized_shape must have 1..2 dims for input shape (2,3), got 3");
  CHECK_FAILS(rc_layer_norm(&out, x, 1, (int64_t[]){3}, w4, NULL, 1e-5),
              "layer_norm: weight shape (4) must equal normalized_shape (3)");
  CHECK_FAILS(rc_layer_norm(&out, x, 1, (int64_t[]){3}, NULL, w4, 1e-5),
              "layer_norm: bias shape (4) must equal normalized_shape (3)");
  CHECK_FAILS(rc_layer_norm(&out, x, 1, (int64_t[]){3}, NULL, NULL, -1),
              "layer_norm: eps must be finite and >= 0, got -1");
  CHECK_FAILS(rc_layer_norm(&out, x, 1, (int64_t[]){3}, ix, NULL, 1e-5),
              "layer_norm: weight must be float32, got int64");
  CHECK(out == NULL);
  rc_release(x), rc_release(w4), rc_release(ix);
}

/* A saved input changed in place before backward is caught, not silently used. */
static void test_saved_versions(void) {
  rc_tensor *w = rand_tensor(2, (int64_t[]){4, 2}, 1.0), *out = NULL, *g = NULL;
  rc_tensor *ids = longs(1, (int64_t[]){2}, (int64_t[]){1, 3});
  w->requires_grad = true;
  CHECK_OK(rcg_embedding(&out, w, ids, RC_NO_PADDING));
  rc_i64(ids)[0] = 2;
  rc_bump_version(ids);
  CHECK_OK(rc_full(&g, RC_FLOAT32, 2, out->shape, 1.0));
  CHECK_FAILS(rc_backward(out, g, false),
              "a value EmbeddingBackward saved for its gradient was changed");
  rc_release(out), rc_release(g), rc_release(w), rc_release(ids);
  /* ... the class weight of cross_entropy too */
  rc_tensor *x = rand_tensor(2, (int64_t[]){2, 3}, 1.0), *cw = class_weights(3);
  rc_tensor *t = longs(1, (int64_t[]){2}, (int64_t[]){0, 2});
  x->requires_grad = true;
  CHECK_OK(rcg_cross_entropy(&out, x, t, cw, RC_IGNORE_INDEX, 0.1, RC_REDUCTION_MEAN));
  rc_f32(cw)[1] = 5;
  rc_bump_version(cw);
  CHECK_FAILS(rc_backward(out, NULL, false),
              "a value CrossEntropyLossBackward saved for its gradient was changed");
  rc_release(out), rc_release(x), rc_release(cw), rc_release(t);
}

int main(void) {
  test_embedding_forward();
  test_embedding_grad();
  test_embedding_threads();
  test_embedding_errors();
  test_dropout_identity();
  test_dropout_values();
  test_dropout_grad();
  test_dropout_errors();
  test_mse();
  test_loss_threads();
  test_bce();
  test_bce_extreme();
  test_cross_entropy_values();
  test_cross_entropy_ignore();
  test_class_grads();
  test_prob_grads();
  test_weighted_values();
  test_bce_weight();
  test_cross_entropy_extreme();
  test_cross_entropy_threads();
  test_prob_threads();
  test_weight_errors();
  test_class_errors();
  test_layer_norm_values();
  test_layer_norm_grads();
  test_layer_norm_threads();
  test_layer_norm_errors();
  test_saved_versions();
  return check_summary("nn_ops");
}
