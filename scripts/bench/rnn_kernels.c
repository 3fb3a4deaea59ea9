/* scripts/bench/rnn_kernels.c — the fused recurrent kernels timed from C: train (forward and
   backward, input and weight gradients) and infer, in GFLOP/s and as % of a same-run sgemm. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include "recur.h"
#include "timing.h"

/* usage: rnn_kernels [REPEATS [THREADS [POLICY]]]   POLICY: rc_rnn_set_threading (0 auto);
   RNN_BENCH_ONLY=LSTM (or GRU, RNN_TANH) runs one cell type only; RNN_BENCH_SHAPE=0..3 one
   shape only (0: 512,512,100,64  1: 128,128,50,50  2: 1024,1024,35,64  3: 512,512,1000,1).
   Prints one line per (cell, shape, direction count): median ms of train and infer, GFLOP/s
   (forward flops 2*T*B*G*H*(D+H) per direction, train = 3x forward), % of the sgemm. */

static double median(double *v, int n, double *lo, double *hi) {
  double m = bench_median(v, n);
  *lo = v[0], *hi = v[n - 1];
  return m;
}

static void die(const char *what) {
  fprintf(stderr, "rnn_kernels: %s: %s\n", what, rc_last_error());
  exit(1);
}

/* GFLOP/s of C (n x n) = A B through rc_gemm. */
static double sgemm_gflops(int64_t n, int reps) {
  float *a = malloc(sizeof(float) * (size_t)(n * n)), *b = malloc(sizeof(float) * (size_t)(n * n));
  float *c = malloc(sizeof(float) * (size_t)(n * n));
  for (int64_t i = 0; i < n * n; i++) {
    a[i] = (float)(i % 17) * 0.01f;
    b[i] = (float)(i % 13) * 0.01f;
  }
  double t[64], lo, hi;
  for (int r = -1; r < reps; r++) {
    double t0 = rc_now();
    if (rc_gemm(n, n, n, 1.0f, a, n, 1, b, n, 1, 0.0f, c, n, 1)) die("gemm");
    if (r >= 0) t[r] = rc_now() - t0;
  }
  double m = median(t, reps, &lo, &hi);
  free(a), free(b), free(c);
  return 2.0 * (double)n * n * n / m * 1e-9;
}

typedef struct {
  double train_ms, train_lo, train_hi, infer_ms, infer_lo, infer_hi;
} timing;

static timing run_case(rc_rnn_mode mode, int64_t D, int64_t H, int64_t T, int64_t B, bool bidir,
                       int reps) {
  rc_rnn_config cfg = {.mode = mode, .input_size = D, .hidden_size = H, .num_layers = 1,
                       .bidirectional = bidir, .dropout = 0, .training = true, .has_bias = true};
  int nw = rc_rnn_weight_count(&cfg);
  rc_tensor *w[8], *x = NULL, *g = NULL;
  double k = 1.0 / sqrt((double)H);
  for (int i = 0; i < nw; i++) {
    int ndim;
    int64_t shape[2];
    rc_rnn_weight_info(&cfg, i, NULL, 0, &ndim, shape);
    if (rc_empty(&w[i], RC_FLOAT32, ndim, shape) || rc_uniform_(w[i], -k, k)) die("weights");
    w[i]->requires_grad = true;
  }
  int64_t xs[3] = {T, B, D}, os[3] = {T, B, (bidir ? 2 : 1) * H};
  if (rc_empty(&x, RC_FLOAT32, 3, xs) || rc_uniform_(x, -1, 1)) die("input");
  if (rc_full(&g, RC_FLOAT32, 3, os, 1.0)) die("gradient");
  x->requires_grad = true;
  timing tm;
  double tt[64], ti[64];
  for (int r = -2; r < reps; r++) { /* two warm-ups */
    rc_tensor *out = NULL, *h = NULL, *c = NULL;
    double t0 = rc_now();
    if (rcg_rnn(&out, &h, &c, &cfg, x, NULL, NULL, NULL, nw, (const rc_tensor *const *)w))
      die("forward");
    if (rc_backward(out, g, false)) die("backward");
    double t1 = rc_now();
    rc_release(out), rc_release(h), rc_release(c);
    for (int i = 0; i < nw; i++) rc_release(w[i]->grad), w[i]->grad = NULL;
    rc_release(x->grad), x->grad = NULL;
    bool was = rc_set_grad_enabled(false);
    double t2 = rc_now();
    if (rcg_rnn(&out, &h, &c, &cfg, x, NULL, NULL, NULL, nw, (const rc_tensor *const *)w))
      die("inference");
    double t3 = rc_now();
    rc_set_grad_enabled(was);
    rc_release(out), rc_release(h), rc_release(c);
    if (r >= 0) tt[r] = (t1 - t0) * 1e3, ti[r] = (t3 - t2) * 1e3;
  }
  tm.train_ms = median(tt, reps, &tm.train_lo, &tm.train_hi);
  tm.infer_ms = median(ti, reps, &tm.infer_lo, &tm.infer_hi);
  for (int i = 0; i < nw; i++) rc_release(w[i]);
  rc_release(x), rc_release(g);
  return tm;
}

int main(int argc, char **argv) {
  int reps = argc > 1 ? atoi(argv[1]) : 10, threads = argc > 2 ? atoi(argv[2]) : 2;
  int policy = argc > 3 ? atoi(argv[3]) : 0;
  if (reps < 1 || reps > 64 || threads < 1) {
    fprintf(stderr, "usage: %s [REPEATS (1..64) [THREADS [POLICY (see core/rnn.h)]]]\n", argv[0]);
    return 2;
  }
  if (rc_init() || rc_set_threads(threads)) die("init");
  rc_rnn_set_threading(policy);
  rc_config_info info;
  rc_config(&info);
  /* RNN_BENCH_NO_CEILING=1 skips the sgemm (for profiles of the kernels alone). */
  bool no_ceiling = getenv("RNN_BENCH_NO_CEILING") != NULL;
  double peak = no_ceiling ? 0 : sgemm_gflops(2048, 5);
  printf("# BLIS %s (%s), %d threads, policy %d, %d repeats; sgemm 2048^3: %.1f GFLOP/s\n",
         info.blis_arch, info.blis_version, threads, policy, reps, peak);
  printf("# %-8s %5s %5s %4s %3s %4s | %9s %17s %7s %5s | %9s %17s %7s %5s\n", "cell", "D", "H",
         "T", "B", "dirs", "train ms", "(min..max)", "GFLOP/s", "%", "infer ms", "(min..max)",
         "GFLOP/s", "%");
  rc_rnn_mode modes[3] = {RC_LSTM, RC_GRU, RC_RNN_TANH};
  int64_t shapes[4][4] = {
      {512, 512, 100, 64}, {128, 128, 50, 50}, {1024, 1024, 35, 64}, {512, 512, 1000, 1}};
  const char *only = getenv("RNN_BENCH_ONLY"); /* e.g. "LSTM" */
  const char *only_shape = getenv("RNN_BENCH_SHAPE");
  for (int m = 0; m < 3; m++) {
    if (only && strcmp(only, rc_rnn_mode_name(modes[m])) != 0) continue;
    for (int s = 0; s < 4; s++)
      for (int dirs = 1; dirs <= 2; dirs++) {
        if (only_shape && atoi(only_shape) != s) continue;
        if (dirs == 2 && s >= 2) continue; /* bidirectional: the two shapes the brief names */
        int64_t D = shapes[s][0], H = shapes[s][1], T = shapes[s][2], B = shapes[s][3];
        timing tm = run_case(modes[m], D, H, T, B, dirs == 2, reps);
        double fwd = 2.0 * T * B * rc_rnn_gate_count(modes[m]) * H * (D + H) * dirs;
        double gt = 3 * fwd / (tm.train_ms * 1e-3) * 1e-9, gi = fwd / (tm.infer_ms * 1e-3) * 1e-9;
        printf("  %-8s %5lld %5lld %4lld %3lld %4d | %9.2f (%7.2f..%7.2f) %7.1f %5.1f | %9.2f "
               "(%7.2f..%7.2f) %7.1f %5.1f\n",
               rc_rnn_mode_name(modes[m]), (long long)D, (long long)H, (long long)T,
               (long long)B, dirs, tm.train_ms, tm.train_lo, tm.train_hi, gt, 100 * gt / peak,
               tm.infer_ms, tm.infer_lo, tm.infer_hi, gi, 100 * gi / peak);
        fflush(stdout);
      }
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("# sgemm again: %.1f GFLOP/s; peak RSS %.0f MB\n", no_ceiling ? 0 : sgemm_gflops(2048, 5),
         ru.ru_maxrss / 1024.0);
  return 0;
}
