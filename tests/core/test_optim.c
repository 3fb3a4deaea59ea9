/* tests/core/test_optim.c — the fused optimizer updates (core/optim.c) against plain reference
   loops that do PyTorch's ops one whole-tensor pass at a time, over several steps and options. */
#include <stdlib.h>
#include "check.h"
#include "optim.h"

#define N 37     /* odd, so no vector width divides it */
#define STEPS 5

/* --- helpers -------------------------------------------------------------------- */

static uint32_t lcg_state = 12345u;
static float uniform(void) { /* in [-1, 1) */
  lcg_state = lcg_state * 1664525u + 1013904223u;
  return (float)((lcg_state >> 8) / 16777216.0 * 2.0 - 1.0);
}

static rc_tensor *vec(int64_t n, const float *values) {
  int64_t shape[1] = {n};
  return tensor_of(1, shape, values);
}

static void random_fill(float *x, int n, float scale) {
  for (int i = 0; i < n; i++) x[i] = scale * uniform();
}

/* Bit for bit: the reference rounds op for op as the kernel promises (optim.h); returns the
   number of mismatches. */
static int compare(const float *got, const float *want, int n) {
  int bad = 0;
  for (int i = 0; i < n; i++)
    if (memcmp(&got[i], &want[i], sizeof(float)) != 0) {
      if (bad++ < 3) fprintf(stderr, "  [%d] got %.9g want %.9g\n", i, got[i], want[i]);
    }
  return bad;
}

/* Reference building blocks, each one whole-tensor op as PyTorch's CPU kernels run it:
   add with alpha and addcmul are fused multiply-adds there, addcdiv is not. */
static void ref_mul_(float *a, float s, int n) { for (int i = 0; i < n; i++) a[i] = a[i] * s; }
static void ref_add_(float *a, const float *b, float alpha, int n) {
  for (int i = 0; i < n; i++) a[i] = fmaf(alpha, b[i], a[i]);
}
static void ref_addcmul_(float *a, const float *b, const float *c, float v, int n) {
  for (int i = 0; i < n; i++) a[i] = fmaf(v * b[i], c[i], a[i]);
}
static void ref_addcdiv_(float *a, const float *b, const float *c, float v, int n) {
  for (int i = 0; i < n; i++) a[i] = a[i] + v * b[i] / c[i];
}
static void ref_sqrt(float *out, const float *a, int n) {
  for (int i = 0; i < n; i++) out[i] = sqrtf(a[i]);
}
static void ref_div_scalar_(float *a, float s, int n) { for (int i = 0; i < n; i++) a[i] = a[i] / s; }
static void ref_add_scalar_(float *a, float s, int n) { for (int i = 0; i < n; i++) a[i] = a[i] + s; }
static void ref_grad(float *d, const float *g, const float *p, bool maximize, double wd, int n) {
  for (int i = 0; i < n; i++) d[i] = maximize ? -g[i] : g[i];
  if (wd != 0) ref_add_(d, p, (float)wd, n);
}

/* --- SGD ------------------------------------------------------------------------ */

static void ref_sgd(float *p, const float *g, float *buf, bool first, const rc_sgd_options *o) {
  float d[N];
  ref_grad(d, g, p, o->maximize, o->weight_decay, N);
  if (o->momentum != 0) {
    if (first) {
      memcpy(buf, d, sizeof d);
    } else {
      ref_mul_(buf, (float)o->momentum, N);
      ref_add_(buf, d, (float)(1 - o->dampening), N);
    }
    if (o->nesterov)
      ref_add_(d, buf, (float)o->momentum, N);
    else
      memcpy(d, buf, sizeof d);
  }
  ref_add_(p, d, (float)-o->lr, N);
}

static void test_sgd_matches_reference(void) {
  int combos = 0;
  for (int mask = 0; mask < 32; mask++) {
    rc_sgd_options o = {.lr = 0.05, .momentum = (mask & 1) ? 0.9 : 0,
                        .dampening = (mask & 2) ? 0.1 : 0, .weight_decay = (mask & 4) ? 0.01 : 0,
                        .nesterov = (mask & 8) != 0, .maximize = (mask & 16) != 0};
    float p0[N], ref_p[N], ref_buf[N] = {0}, g[N];
    random_fill(p0, N, 1.0f);
    memcpy(ref_p, p0, sizeof p0);
    rc_tensor *param = vec(N, p0), *buf = NULL;
    int bad = 0;
    for (int s = 0; s < STEPS; s++) {
      random_fill(g, N, 2.0f);
      rc_tensor *grad = vec(N, g);
      CHECK_OK(rc_sgd_step(param, grad, &buf, &o));
      ref_sgd(ref_p, g, ref_buf, s == 0, &o);
      bad += compare(rc_f32(param), ref_p, N);
      if (o.momentum != 0) bad += buf ? compare(rc_f32(buf), ref_buf, N) : 1;
      else bad += buf != NULL;
      rc_release(grad);
    }
    if (bad) fprintf(stderr, "sgd options mask %d: %d mismatches\n", mask, bad);
    CHECK(bad == 0);
    combos++;
    rc_release(param), rc_release(buf);
  }
  CHECK(combos == 32);
}

/* Worked by hand: lr 0.1, p = 1, g = 2. Plain: 1 - 0.2 = 0.8. Momentum 0.9, two steps with
   the same gradient: buf = 2 then 0.9*2 + 2 = 3.8; p = 1 - 0.2 - 0.38 = 0.42. Nesterov
   (first step): d = 2 + 0.9*2 = 3.8, p = 1 - 0.38 = 0.62. */
static void test_sgd_by_hand(void) {
  float one = 1, two = 2;
  rc_tensor *p = vec(1, &one), *g = vec(1, &two), *buf = NULL;
  rc_sgd_options plain = {.lr = 0.1};
  CHECK_OK(rc_sgd_step(p, g, &buf, &plain));
  CHECK_NEAR(rc_f32(p)[0], 0.8, 1e-7);
  CHECK(buf == NULL);
  rc_f32(p)[0] = 1;
  rc_sgd_options mom = {.lr = 0.1, .momentum = 0.9};
  CHECK_OK(rc_sgd_step(p, g, &buf, &mom));
  CHECK(buf != NULL);
  CHECK_NEAR(rc_f32(buf)[0], 2.0, 0);
  CHECK_OK(rc_sgd_step(p, g, &buf, &mom));
  CHECK_NEAR(rc_f32(buf)[0], 3.8, 1e-6);
  CHECK_NEAR(rc_f32(p)[0], 0.42, 1e-6);
  rc_release(buf);
  buf = NULL;
  rc_f32(p)[0] = 1;
  rc_sgd_options nesterov = {.lr = 0.1, .momentum = 0.9, .nesterov = true};
  CHECK_OK(rc_sgd_step(p, g, &buf, &nesterov));
  CHECK_NEAR(rc_f32(p)[0], 0.62, 1e-6);
  rc_release(p), rc_release(g), rc_release(buf);
}

/* --- Adam and AdamW ---------------------------------------------------------------- */

static void ref_adam(bool decoupled, float *p, const float *g, float *m, float *v, float *vmax,
                     int64_t step, const rc_adam_options *o) {
  float d[N], denom[N];
  if (decoupled) {
    for (int i = 0; i < N; i++) d[i] = o->maximize ? -g[i] : g[i];
    ref_mul_(p, (float)(1 - o->lr * o->weight_decay), N);
  } else {
    ref_grad(d, g, p, o->maximize, o->weight_decay, N);
  }
  ref_mul_(m, (float)o->beta1, N);
  ref_add_(m, d, (float)(1 - o->beta1), N);
  ref_mul_(v, (float)o->beta2, N);
  ref_addcmul_(v, d, d, (float)(1 - o->beta2), N);
  double bc1 = 1 - pow(o->beta1, (double)step), bc2 = 1 - pow(o->beta2, (double)step);
  double step_size = o->lr / bc1;
  if (o->amsgrad) {
    for (int i = 0; i < N; i++) vmax[i] = vmax[i] > v[i] ? vmax[i] : v[i];
    ref_sqrt(denom, vmax, N);
  } else {
    ref_sqrt(denom, v, N);
  }
  ref_div_scalar_(denom, (float)sqrt(bc2), N);
  ref_add_scalar_(denom, (float)o->eps, N);
  ref_addcdiv_(p, m, denom, (float)-step_size, N);
}

static void test_adam_matches_reference(bool decoupled) {
  for (int mask = 0; mask < 8; mask++) {
    rc_adam_options o = {.lr = 0.01, .beta1 = 0.8, .beta2 = 0.95, .eps = 1e-6,
                         .weight_decay = (mask & 1) ? 0.05 : 0, .amsgrad = (mask & 2) != 0,
                         .maximize = (mask & 4) != 0};
    float p0[N], ref_p[N], ref_m[N] = {0}, ref_v[N] = {0}, ref_vmax[N] = {0}, g[N], zeros[N] = {0};
    random_fill(p0, N, 1.0f);
    memcpy(ref_p, p0, sizeof p0);
    rc_tensor *param = vec(N, p0), *m = vec(N, zeros), *v = vec(N, zeros);
    rc_tensor *vmax = o.amsgrad ? vec(N, zeros) : NULL;
    int bad = 0;
    for (int s = 1; s <= STEPS; s++) {
      /* gradients that shrink, so amsgrad's maximum differs from exp_avg_sq */
      random_fill(g, N, 4.0f / (float)s);
      rc_tensor *grad = vec(N, g);
      if (decoupled)
        CHECK_OK(rc_adamw_step(param, grad, m, v, vmax, s, &o));
      else
        CHECK_OK(rc_adam_step(param, grad, m, v, vmax, s, &o));
      ref_adam(decoupled, ref_p, g, ref_m, ref_v, ref_vmax, s, &o);
      bad += compare(rc_f32(param), ref_p, N) + compare(rc_f32(m), ref_m, N) +
             compare(rc_f32(v), ref_v, N);
      if (vmax) bad += compare(rc_f32(vmax), ref_vmax, N);
      rc_release(grad);
    }
    if (bad) fprintf(stderr, "%s options mask %d: %d mismatches\n",
                     decoupled ? "adamw" : "adam", mask, bad);
    CHECK(bad == 0);
    rc_release(param), rc_release(m), rc_release(v), rc_release(vmax);
  }
}

/* Adam's first step moves each element by lr against its gradient's sign: m/(1-b1) = g,
   sqrt(v/(1-b2)) = |g|, so p = 1 - 0.1 * 2/(2 + 1e-8) = 0.9 (to float precision).
   AdamW with weight_decay 0.5 first scales p by 1 - 0.1*0.5 = 0.95: p = 0.95 - 0.1 = 0.85. */
static void test_adam_by_hand(void) {
  float one = 1, two = 2, zero = 0;
  rc_tensor *p = vec(1, &one), *g = vec(1, &two), *m = vec(1, &zero), *v = vec(1, &zero);
  rc_adam_options o = {.lr = 0.1, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8};
  CHECK_OK(rc_adam_step(p, g, m, v, NULL, 1, &o));
  CHECK_NEAR(rc_f32(p)[0], 0.9, 1e-6);
  CHECK_NEAR(rc_f32(m)[0], 0.2, 1e-7);
  CHECK_NEAR(rc_f32(v)[0], 0.004, 1e-9);
  rc_f32(p)[0] = 1, rc_f32(m)[0] = 0, rc_f32(v)[0] = 0;
  o.weight_decay = 0.5;
  CHECK_OK(rc_adamw_step(p, g, m, v, NULL, 1, &o));
  CHECK_NEAR(rc_f32(p)[0], 0.85, 1e-6);
  rc_release(p), rc_release(g), rc_release(m), rc_release(v);
}

/* --- RMSprop ------------------------------------------------------------------------ */

static void ref_rmsprop(float *p, const float *g, float *sq, float *ga, float *buf,
                        const rc_rmsprop_options *o) {
  float d[N], avg[N];
  ref_grad(d, g, p, o->maximize, o->weight_decay, N);
  ref_mul_(sq, (float)o->alpha, N);
  ref_addcmul_(sq, d, d, (float)(1 - o->alpha), N);
  if (o->centered) {
    ref_mul_(ga, (float)o->alpha, N);
    ref_add_(ga, d, (float)(1 - o->alpha), N);
    memcpy(avg, sq, sizeof avg);
    ref_addcmul_(avg, ga, ga, -1.0f, N);
    ref_sqrt(avg, avg, N);
  } else {
    ref_sqrt(avg, sq, N);
  }
  ref_add_scalar_(avg, (float)o->eps, N);
  if (o->momentum > 0) {
    ref_mul_(buf, (float)o->momentum, N);
    ref_addcdiv_(buf, d, avg, 1.0f, N);
    ref_add_(p, buf, (float)-o->lr, N);
  } else {
    ref_addcdiv_(p, d, avg, (float)-o->lr, N);
  }
}

static void test_rmsprop_matches_reference(void) {
  for (int mask = 0; mask < 16; mask++) {
    rc_rmsprop_options o = {.lr = 0.01, .alpha = 0.9, .eps = 1e-6,
                            .weight_decay = (mask & 1) ? 0.05 : 0,
                            .momentum = (mask & 2) ? 0.8 : 0, .centered = (mask & 4) != 0,
                            .maximize = (mask & 8) != 0};
    float p0[N], ref_p[N], ref_sq[N] = {0}, ref_ga[N] = {0}, ref_buf[N] = {0}, g[N], zeros[N] = {0};
    random_fill(p0, N, 1.0f);
    memcpy(ref_p, p0, sizeof p0);
    rc_tensor *param = vec(N, p0), *sq = vec(N, zeros);
    rc_tensor *ga = o.centered ? vec(N, zeros) : NULL, *buf = o.momentum > 0 ? vec(N, zeros) : NULL;
    int bad = 0;
    for (int s = 1; s <= STEPS; s++) {
      random_fill(g, N, 2.0f);
      rc_tensor *grad = vec(N, g);
      CHECK_OK(rc_rmsprop_step(param, grad, sq, ga, buf, &o));
      ref_rmsprop(ref_p, g, ref_sq, ref_ga, ref_buf, &o);
      bad += compare(rc_f32(param), ref_p, N) + compare(rc_f32(sq), ref_sq, N);
      if (ga) bad += compare(rc_f32(ga), ref_ga, N);
      if (buf) bad += compare(rc_f32(buf), ref_buf, N);
      rc_release(grad);
    }
    if (bad) fprintf(stderr, "rmsprop options mask %d: %d mismatches\n", mask, bad);
    CHECK(bad == 0);
    rc_release(param), rc_release(sq), rc_release(ga), rc_release(buf);
  }
}

/* --- Adagrad ------------------------------------------------------------------------ */

static void ref_adagrad(float *p, const float *g, float *sum, int64_t step,
                        const rc_adagrad_options *o) {
  float d[N], std[N];
  ref_grad(d, g, p, o->maximize, o->weight_decay, N);
  double clr = o->lr / (1 + (double)(step - 1) * o->lr_decay);
  ref_addcmul_(sum, d, d, 1.0f, N);
  ref_sqrt(std, sum, N);
  ref_add_scalar_(std, (float)o->eps, N);
  ref_addcdiv_(p, d, std, (float)-clr, N);
}

static void test_adagrad_matches_reference(void) {
  for (int mask = 0; mask < 16; mask++) {
    rc_adagrad_options o = {.lr = 0.1, .lr_decay = (mask & 1) ? 0.1 : 0,
                            .weight_decay = (mask & 2) ? 0.05 : 0, .eps = 1e-10,
                            .maximize = (mask & 4) != 0};
    float initial = (mask & 8) ? 0.5f : 0.0f;
    float p0[N], ref_p[N], ref_sum[N], g[N];
    random_fill(p0, N, 1.0f);
    memcpy(ref_p, p0, sizeof p0);
    for (int i = 0; i < N; i++) ref_sum[i] = initial;
    rc_tensor *param = vec(N, p0), *sum = vec(N, ref_sum);
    int bad = 0;
    for (int s = 1; s <= STEPS; s++) {
      random_fill(g, N, 2.0f);
      rc_tensor *grad = vec(N, g);
      CHECK_OK(rc_adagrad_step(param, grad, sum, s, &o));
      ref_adagrad(ref_p, g, ref_sum, s, &o);
      bad += compare(rc_f32(param), ref_p, N) + compare(rc_f32(sum), ref_sum, N);
      rc_release(grad);
    }
    if (bad) fprintf(stderr, "adagrad options mask %d: %d mismatches\n", mask, bad);
    CHECK(bad == 0);
    rc_release(param), rc_release(sum);
  }
}

/* Adagrad by hand: lr 0.1, p = 1, g = 2: sum = 4, std = 2, p = 1 - 0.1 * 2/2 = 0.9; the
   second step with lr_decay 1: clr = 0.1/2, sum = 8, p = 0.9 - 0.05 * 2/sqrt(8). */
static void test_adagrad_by_hand(void) {
  float one = 1, two = 2, zero = 0;
  rc_tensor *p = vec(1, &one), *g = vec(1, &two), *sum = vec(1, &zero);
  rc_adagrad_options o = {.lr = 0.1, .lr_decay = 1, .eps = 1e-10};
  CHECK_OK(rc_adagrad_step(p, g, sum, 1, &o));
  CHECK_NEAR(rc_f32(p)[0], 0.9, 1e-7);
  CHECK_OK(rc_adagrad_step(p, g, sum, 2, &o));
  CHECK_NEAR(rc_f32(sum)[0], 8, 0);
  CHECK_NEAR(rc_f32(p)[0], 0.9 - 0.05 * 2 / sqrt(8.0), 1e-6);
  rc_release(p), rc_release(g), rc_release(sum);
}

/* --- large tensors: parallel, and the same bits on any thread count ---------------------- */

static void test_thread_count_does_not_change_results(void) {
  enum { big = 300007 };
  float *p0 = malloc(sizeof(float) * big), *g = malloc(sizeof(float) * big);
  random_fill(p0, big, 1.0f);
  random_fill(g, big, 1.0f);
  rc_tensor *results[2] = {NULL, NULL};
  int threads[2] = {1, 4};
  int was = rc_threads();
  for (int k = 0; k < 2; k++) {
    CHECK_OK(rc_set_threads(threads[k]));
    rc_tensor *param = vec(big, p0), *grad = vec(big, g), *m = NULL, *v = NULL, *vmax = NULL;
    CHECK_OK(rc_full(&m, RC_FLOAT32, 1, (int64_t[]){big}, 0));
    CHECK_OK(rc_full(&v, RC_FLOAT32, 1, (int64_t[]){big}, 0));
    CHECK_OK(rc_full(&vmax, RC_FLOAT32, 1, (int64_t[]){big}, 0));
    rc_adam_options o = {.lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8,
                         .weight_decay = 0.01, .amsgrad = true};
    for (int s = 1; s <= 3; s++) CHECK_OK(rc_adam_step(param, grad, m, v, vmax, s, &o));
    results[k] = param;
    rc_release(grad), rc_release(m), rc_release(v), rc_release(vmax);
  }
  CHECK_OK(rc_set_threads(was));
  CHECK(memcmp(rc_f32(results[0]), rc_f32(results[1]), sizeof(float) * big) == 0);
  CHECK(rc_f32(results[0])[0] != p0[0]); /* it did update */
  rc_release(results[0]), rc_release(results[1]);
  free(p0), free(g);
}

/* --- versions and bad input --------------------------------------------------------- */

static void test_updates_bump_versions(void) {
  float x[3] = {1, 2, 3};
  rc_tensor *p = vec(3, x), *g = vec(3, x), *m = vec(3, x), *v = vec(3, x);
  uint64_t pv = p->storage->version, mv = m->storage->version, gv = g->storage->version;
  rc_adam_options o = {.lr = 0.1, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8};
  CHECK_OK(rc_adam_step(p, g, m, v, NULL, 1, &o));
  CHECK(p->storage->version == pv + 1);
  CHECK(m->storage->version == mv + 1);
  CHECK(g->storage->version == gv); /* read only */
  rc_sgd_options so = {.lr = 0.1};
  CHECK_OK(rc_sgd_step(p, g, NULL, &so));
  CHECK(p->storage->version == pv + 2);
  rc_release(p), rc_release(g), rc_release(m), rc_release(v);
}

static void test_bad_input_is_refused_untouched(void) {
  float x[6] = {1, 2, 3, 4, 5, 6};
  int64_t s23[2] = {2, 3}, s32[2] = {3, 2};
  rc_tensor *p = tensor_of(2, s23, x), *g = tensor_of(2, s23, x), *m = tensor_of(2, s23, x);
  rc_tensor *v = tensor_of(2, s23, x), *wrong = tensor_of(2, s32, x), *ids = NULL, *tr = NULL;
  CHECK_OK(rc_full(&ids, RC_INT64, 2, s23, 1));
  CHECK_OK(rc_transpose(&tr, wrong, 0, 1)); /* (2,3) but not contiguous */
  uint64_t pv = p->storage->version;
  rc_adam_options ao = {.lr = 0.1, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8};
  CHECK_FAILS(rc_adam_step(p, wrong, m, v, NULL, 1, &ao),
              "adam_step: grad has shape (3,2) but the parameter has shape (2,3)");
  CHECK_FAILS(rc_adamw_step(p, g, m, wrong, NULL, 1, &ao),
              "adamw_step: exp_avg_sq has shape (3,2) but the parameter has shape (2,3)");
  CHECK_FAILS(rc_adam_step(p, ids, m, v, NULL, 1, &ao), "adam_step: grad must be float32, got int64");
  CHECK_FAILS(rc_adam_step(p, tr, m, v, NULL, 1, &ao),
              "adam_step: grad must be contiguous, got a strided view of shape (2,3)");
  CHECK_FAILS(rc_adam_step(p, g, m, v, NULL, 0, &ao),
              "adam_step: step must be >= 1 (1 for the first), got 0");
  CHECK_FAILS(rc_adam_step(p, g, m, m, NULL, 1, &ao),
              "adam_step: exp_avg and exp_avg_sq share memory");
  ao.amsgrad = true;
  CHECK_FAILS(rc_adam_step(p, g, m, v, NULL, 1, &ao),
              "adam_step: amsgrad needs max_exp_avg_sq, got NULL");
  rc_sgd_options so = {.lr = 0.1, .momentum = 0.9};
  CHECK_FAILS(rc_sgd_step(p, g, NULL, &so), "sgd_step: momentum 0.9 needs a place for the momentum buffer");
  rc_tensor *buf = wrong;
  CHECK_FAILS(rc_sgd_step(p, g, &buf, &so),
              "sgd_step: momentum_buffer has shape (3,2) but the parameter has shape (2,3)");
  CHECK(buf == wrong);
  rc_rmsprop_options ro = {.lr = 0.1, .alpha = 0.9, .eps = 1e-8, .centered = true};
  CHECK_FAILS(rc_rmsprop_step(p, g, v, NULL, NULL, &ro), "rmsprop_step: centered needs grad_avg, got NULL");
  ro.centered = false, ro.momentum = 0.5;
  CHECK_FAILS(rc_rmsprop_step(p, g, v, NULL, NULL, &ro), "rmsprop_step: momentum 0.5 needs momentum_buffer, got NULL");
  rc_adagrad_options gro = {.lr = 0.1, .eps = 1e-10};
  CHECK_FAILS(rc_adagrad_step(p, g, ids, 1, &gro), "adagrad_step: state_sum must be float32, got int64");
  CHECK_FAILS(rc_adagrad_step(p, g, v, -1, &gro), "adagrad_step: step must be >= 1");
  /* nothing was written */
  CHECK(p->storage->version == pv);
  CHECK(memcmp(rc_f32(p), x, sizeof x) == 0 && memcmp(rc_f32(m), x, sizeof x) == 0);
  rc_release(p), rc_release(g), rc_release(m), rc_release(v), rc_release(wrong);
  rc_release(ids), rc_release(tr);
}

int main(void) {
  test_sgd_matches_reference();
  test_sgd_by_hand();
  test_adam_matches_reference(false);
  test_adam_matches_reference(true);
  test_adam_by_hand();
  test_rmsprop_matches_reference();
  test_adagrad_matches_reference();
  test_adagrad_by_hand();
  test_thread_count_does_not_change_results();
  test_updates_bump_versions();
  test_bad_input_is_refused_untouched();
  return check_summary("optim");
}
