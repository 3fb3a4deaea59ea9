/* tests/core/test_rnn.c — the fused recurrent layers and cells against a slow, obvious reference
   loop (the cell equations step by step in double), in every mode; threads, dropout, errors. */
#include <stdlib.h>
#include "check.h"
#include "rnn_case.h"

/* --- the reference: each sequence, direction and step on its own, in double ------------------- */

static double sigm(double v) { return 1.0 / (1.0 + exp(-v)); }

static double at3(const rc_tensor *t, int64_t a, int64_t b, int64_t c) {
  return rc_f32(t)[a * t->stride[0] + b * t->stride[1] + c * t->stride[2]];
}

/* out (T,B,dirs*H), hn, cn (L*dirs,B,H). layer_input: NULL = x; else replaces the input of layer
   `zero_layer` by zeros (used to check dropout p = 1). */
static void reference(const rnn_case *c, double *out, double *hn, double *cn, int zero_layer) {
  const spec *s = &c->s;
  int64_t T = s->T, B = s->B, H = s->H, OW = s->dirs * H;
  int G = rc_rnn_gate_count(s->mode), per = s->bias ? 4 : 2;
  double *in = malloc(sizeof(double) * (size_t)(T * B * (s->D > OW ? s->D : OW)));
  double *cur = calloc((size_t)(T * B * OW), sizeof(double));
  double *ax = malloc(sizeof(double) * (size_t)(G * H));
  double *ah = malloc(sizeof(double) * (size_t)(G * H));
  double *h = malloc(sizeof(double) * (size_t)H), *cc = malloc(sizeof(double) * (size_t)H);
  for (int64_t t = 0; t < T; t++)
    for (int64_t b = 0; b < B; b++)
      for (int64_t q = 0; q < s->D; q++) in[(t * B + b) * s->D + q] = at3(c->x, t, b, q);
  int64_t Din = s->D;
  for (int l = 0; l < s->L; l++) {
    if (l == zero_layer) memset(in, 0, sizeof(double) * (size_t)(T * B * Din));
    memset(cur, 0, sizeof(double) * (size_t)(T * B * OW));
    for (int d = 0; d < s->dirs; d++) {
      rc_tensor *const *w = c->w + (l * s->dirs + d) * per;
      const float *wih = rc_f32(w[0]), *whh = rc_f32(w[1]);
      const float *bih = s->bias ? rc_f32(w[2]) : NULL, *bhh = s->bias ? rc_f32(w[3]) : NULL;
      for (int64_t b = 0; b < B; b++) {
        int64_t len = c->lengths ? rc_i64(c->lengths)[b] : T;
        for (int64_t j = 0; j < H; j++) {
          h[j] = c->h0 ? at3(c->h0, l * s->dirs + d, b, j) : 0.0;
          cc[j] = c->c0 ? at3(c->c0, l * s->dirs + d, b, j) : 0.0;
        }
        for (int64_t k = 0; k < len; k++) {
          int64_t t = d == 0 ? k : len - 1 - k;
          for (int64_t r = 0; r < G * H; r++) {
            double sx = bih ? bih[r] : 0.0, sh = bhh ? bhh[r] : 0.0;
            for (int64_t q = 0; q < Din; q++) sx += wih[r * Din + q] * in[(t * B + b) * Din + q];
            for (int64_t q = 0; q < H; q++) sh += whh[r * H + q] * h[q];
            ax[r] = sx, ah[r] = sh;
          }
          for (int64_t j = 0; j < H; j++) {
            switch (s->mode) {
            case RC_RNN_TANH: h[j] = tanh(ax[j] + ah[j]); break;
            case RC_RNN_RELU: h[j] = ax[j] + ah[j] > 0 ? ax[j] + ah[j] : 0.0; break;
            case RC_LSTM: {
              double i = sigm(ax[j] + ah[j]), f = sigm(ax[H + j] + ah[H + j]);
              double g = tanh(ax[2 * H + j] + ah[2 * H + j]);
              double o = sigm(ax[3 * H + j] + ah[3 * H + j]);
              cc[j] = f * cc[j] + i * g;
              h[j] = o * tanh(cc[j]);
              break;
            }
            case RC_GRU: {
              double r = sigm(ax[j] + ah[j]), z = sigm(ax[H + j] + ah[H + j]);
              double n = tanh(ax[2 * H + j] + r * ah[2 * H + j]);
              h[j] = (1 - z) * n + z * h[j];
              break;
            }
            }
          }
          for (int64_t j = 0; j < H; j++) cur[(t * B + b) * OW + d * H + j] = h[j];
        }
        for (int64_t j = 0; j < H; j++) {
          hn[((l * s->dirs + d) * B + b) * H + j] = h[j];
          if (cn) cn[((l * s->dirs + d) * B + b) * H + j] = cc[j];
        }
      }
    }
    memcpy(in, cur, sizeof(double) * (size_t)(T * B * OW));
    Din = OW;
  }
  memcpy(out, cur, sizeof(double) * (size_t)(T * B * OW));
  free(in), free(cur), free(ax), free(ah), free(h), free(cc);
}

static double max_diff(const rc_tensor *t, const double *ref) {
  double worst = 0;
  for (int64_t i = 0; i < rc_numel(t); i++) {
    double e = fabs(rc_f32(t)[i] - ref[i]);
    if (!(e <= worst)) worst = e; /* NaN counts as worst */
  }
  return worst;
}

static const char *mode_str(rc_rnn_mode m) { return rc_rnn_mode_name(m); }

/* Run the fused layer on c and compare out, h_n, c_n with the reference. */
static void check_against_reference(const rnn_case *c, double tol) {
  const spec *s = &c->s;
  rc_tensor *out = NULL, *hn = NULL, *cn = NULL;
  int64_t no = s->T * s->B * s->dirs * s->H, ns = s->L * s->dirs * s->B * s->H;
  double *rout = malloc(sizeof(double) * (size_t)no), *rhn = malloc(sizeof(double) * (size_t)ns);
  double *rcn = malloc(sizeof(double) * (size_t)ns);
  reference(c, rout, rhn, rcn, -1);
  CHECK_OK(rc_rnn(&out, &hn, &cn, &c->cfg, c->x, c->h0, c->c0, c->lengths, c->nw,
                  (const rc_tensor *const *)c->w));
  if (out && hn) {
    double e1 = max_diff(out, rout), e2 = max_diff(hn, rhn), e3 = cn ? max_diff(cn, rcn) : 0;
    CHECK(out->ndim == 3 && out->shape[0] == s->T && out->shape[1] == s->B &&
          out->shape[2] == s->dirs * s->H);
    CHECK(hn->ndim == 3 && hn->shape[0] == s->L * s->dirs && hn->shape[1] == s->B);
    CHECK((cn != NULL) == (s->mode == RC_LSTM));
    if (!(e1 <= tol && e2 <= tol && e3 <= tol)) {
      fprintf(stderr, "  %s L=%d dirs=%d lengths=%d states=%d bias=%d strided=%d: out %.3g "
              "h_n %.3g c_n %.3g\n", mode_str(s->mode), s->L, s->dirs, s->with_lengths,
              s->with_states, s->bias, s->strided_x, e1, e2, e3);
    }
    CHECK(e1 <= tol);
    CHECK(e2 <= tol);
    CHECK(e3 <= tol);
  }
  /* Outputs past a sequence's length are exactly zero. */
  if (out && c->lengths) {
    bool zero = true;
    for (int64_t b = 0; b < s->B; b++)
      for (int64_t t = rc_i64(c->lengths)[b]; t < s->T; t++)
        for (int64_t j = 0; j < s->dirs * s->H; j++)
          zero = zero && rc_f32(out)[(t * s->B + b) * s->dirs * s->H + j] == 0.0f;
    CHECK(zero);
  }
  rc_release(out), rc_release(hn), rc_release(cn);
  free(rout), free(rhn), free(rcn);
}

/* Every cell type x layers 1/2 x uni/bidirectional x lengths x initial states. */
static void test_every_mode(void) {
  rc_rnn_mode modes[4] = {RC_RNN_TANH, RC_RNN_RELU, RC_LSTM, RC_GRU};
  uint64_t seed = 1;
  for (int m = 0; m < 4; m++)
    for (int L = 1; L <= 2; L++)
      for (int dirs = 1; dirs <= 2; dirs++)
        for (int lens = 0; lens < 2; lens++)
          for (int states = 0; states < 2; states++) {
            spec s = {modes[m], L, dirs, 5, 3, 3, 4, true, lens, states, (L + lens) % 2 == 0, 0};
            rnn_case c;
            case_make(&c, s, seed++);
            check_against_reference(&c, 2e-5);
            case_free(&c);
          }
  /* Without biases. */
  for (int m = 0; m < 4; m++) {
    spec s = {modes[m], 2, 2, 4, 3, 3, 4, false, true, true, false, 0};
    rnn_case c;
    case_make(&c, s, seed++);
    check_against_reference(&c, 2e-5);
    case_free(&c);
  }
}

/* Sizes off the SIMD width and the micro-panel widths, more rows than a thread split needs,
   lengths, under every threading policy: 1, 2 = per-step rc_gemm (concurrent streams / threaded
   GEMMs); packed W_hh with 3 = units split, directions concurrent, 4 = units split, directions
   one after another, 5 = batch split; and 3, 4, 5 with the kernel in its other orientation
   (+ 8: what column-preferring kernels such as skx's get). */
static void test_larger_shapes(void) {
  rc_rnn_mode modes[4] = {RC_RNN_TANH, RC_RNN_RELU, RC_LSTM, RC_GRU};
  int policies[8] = {1, 2, 3, 4, 5, 11, 12, 13};
  for (int m = 0; m < 4; m++)
    for (int k = 0; k < 8; k++) {
      int was = rc_rnn_set_threading(policies[k]);
      spec s1 = {modes[m], 2, 2, 7, 37, 20, 33, true, true, true, m % 2 == 0, 0};
      spec s2 = {modes[m], 1, 1, 3, 64, 16, 64, true, true, false, false, 0};
      rnn_case c;
      case_make(&c, s1, 100 + m);
      check_against_reference(&c, 5e-5);
      case_free(&c);
      case_make(&c, s2, 200 + m);
      check_against_reference(&c, 5e-5);
      case_free(&c);
      rc_rnn_set_threading(was);
    }
}

static bool same_values(const rc_tensor *a, const rc_tensor *b) {
  if (!a || !b) return a == b;
  return rc_numel(a) == rc_numel(b) &&
         memcmp(rc_f32(a), rc_f32(b), sizeof(float) * (size_t)rc_numel(a)) == 0;
}

/* Results do not depend on the thread count nor on how the work is split over threads: the
   packed path (default) at 1 and 2 threads, with directions one after another and with the
   batch split gives the same bits; the rc_gemm path agrees to rounding. */
static void test_threads_do_not_change_results(void) {
  rc_rnn_mode modes[4] = {RC_RNN_TANH, RC_RNN_RELU, RC_LSTM, RC_GRU};
  int threads = rc_threads();
  for (int m = 0; m < 4; m++) {
    spec s = {modes[m], 2, 2, 6, 40, 12, 40, true, true, true, false, 0};
    rnn_case c;
    case_make(&c, s, 300 + m);
    rc_tensor *first[3] = {NULL, NULL, NULL};
    bool same = true;
    double worst = 0;
    int runs[6][2] = {{1, 0}, {2, 0}, {2, 4}, {2, 5}, {2, 1}, {2, 2}}; /* threads, policy */
    for (int k = 0; k < 6; k++) {
      rc_set_threads(runs[k][0]);
      int was = rc_rnn_set_threading(runs[k][1]);
      rc_tensor *o = NULL, *h = NULL, *cc = NULL;
      CHECK_OK(rc_rnn(&o, &h, &cc, &c.cfg, c.x, c.h0, c.c0, c.lengths, c.nw,
                      (const rc_tensor *const *)c.w));
      rc_rnn_set_threading(was);
      if (k == 0) {
        first[0] = o, first[1] = h, first[2] = cc;
        continue;
      }
      if (k < 4) {
        same = same && same_values(o, first[0]) && same_values(h, first[1]) &&
               same_values(cc, first[2]);
      } else if (o && first[0]) {
        for (int64_t i = 0; i < rc_numel(o); i++)
          worst = fmax(worst, fabs(rc_f32(o)[i] - rc_f32(first[0])[i]));
      }
      rc_release(o), rc_release(h), rc_release(cc);
    }
    CHECK(same);
    CHECK(worst < 1e-5);
    for (int k = 0; k < 3; k++) rc_release(first[k]);
    case_free(&c);
  }
  rc_set_threads(threads);
}

/* --- cells ---------------------------------------------------------------------------------- */

static void test_cells(void) {
  rc_rnn_mode modes[4] = {RC_RNN_TANH, RC_RNN_RELU, RC_LSTM, RC_GRU};
  for (int m = 0; m < 4; m++)
    for (int states = 0; states < 2; states++) {
      /* The cell is the layer with T = 1 and one layer: compare with the reference through it. */
      spec s = {modes[m], 1, 1, 1, 3, 5, 4, true, false, states, false, 0};
      rnn_case c;
      case_make(&c, s, 400 + m * 2 + states);
      double rout[12], rhn[12], rcn[12];
      reference(&c, rout, rhn, rcn, -1);
      rc_tensor *x2 = NULL, *h2 = NULL, *c2 = NULL, *h = NULL, *cc = NULL;
      rc_select(&x2, c.x, 0, 0);
      if (c.h0) rc_select(&h2, c.h0, 0, 0);
      if (c.c0) rc_select(&c2, c.c0, 0, 0);
      CHECK_OK(rc_rnn_cell(&h, &cc, modes[m], x2, h2, c2, c.w[0], c.w[1], c.w[2], c.w[3]));
      CHECK(h && h->ndim == 2 && h->shape[0] == 3 && h->shape[1] == 4);
      if (h) CHECK(max_diff(h, rhn) < 2e-5);
      CHECK((cc != NULL) == (modes[m] == RC_LSTM));
      if (cc) CHECK(max_diff(cc, rcn) < 2e-5);
      rc_release(h), rc_release(cc);
      /* One sequence without a batch dim: (D) -> (H), the row of sequence 1. */
      rc_tensor *x1 = NULL, *h1 = NULL, *c1 = NULL;
      rc_select(&x1, x2, 0, 1);
      if (h2) rc_select(&h1, h2, 0, 1);
      if (c2) rc_select(&c1, c2, 0, 1);
      CHECK_OK(rc_rnn_cell(&h, &cc, modes[m], x1, h1, c1, c.w[0], c.w[1], c.w[2], c.w[3]));
      CHECK(h && h->ndim == 1 && h->shape[0] == 4);
      if (h) CHECK(max_diff(h, rhn + 4) < 2e-5);
      if (cc) CHECK(max_diff(cc, rcn + 4) < 2e-5);
      rc_release(h), rc_release(cc);
      rc_release(x1), rc_release(h1), rc_release(c1);
      rc_release(x2), rc_release(h2), rc_release(c2);
      case_free(&c);
    }
}

/* --- dropout between layers ------------------------------------------------------------------- */

static void test_dropout(void) {
  spec s = {RC_LSTM, 2, 2, 5, 3, 3, 4, true, true, true, false, 0};
  rnn_case c;
  case_make(&c, s, 500);
  int64_t no = 5 * 3 * 8, ns = 4 * 3 * 4;
  double *rout = malloc(sizeof(double) * (size_t)no), *rhn = malloc(sizeof(double) * (size_t)ns);
  double *rcn = malloc(sizeof(double) * (size_t)ns);
  const rc_tensor *const *w = (const rc_tensor *const *)c.w;
  rc_tensor *o1 = NULL, *h1 = NULL, *c1 = NULL, *o2 = NULL, *h2 = NULL, *c2 = NULL;
  /* Not training, or p = 0: no dropout. */
  reference(&c, rout, rhn, rcn, -1);
  c.cfg.dropout = 0.5, c.cfg.training = false;
  CHECK_OK(rc_rnn(&o1, &h1, &c1, &c.cfg, c.x, c.h0, c.c0, c.lengths, c.nw, w));
  if (o1) CHECK(max_diff(o1, rout) < 2e-5);
  rc_release(o1), rc_release(h1), rc_release(c1);
  c.cfg.dropout = 0, c.cfg.training = true;
  CHECK_OK(rc_rnn(&o1, &h1, &c1, &c.cfg, c.x, c.h0, c.c0, c.lengths, c.nw, w));
  if (o1) CHECK(max_diff(o1, rout) < 2e-5);
  rc_release(o1), rc_release(h1), rc_release(c1);
  /* p = 1: the second layer sees zeros. */
  reference(&c, rout, rhn, rcn, 1);
  c.cfg.dropout = 1;
  CHECK_OK(rc_rnn(&o1, &h1, &c1, &c.cfg, c.x, c.h0, c.c0, c.lengths, c.nw, w));
  if (o1) CHECK(max_diff(o1, rout) < 2e-5);
  if (h1) CHECK(max_diff(h1, rhn) < 2e-5);
  rc_release(o1), rc_release(h1), rc_release(c1);
  /* p = 0.5: the same seed gives the same masks; the first layer's states are untouched. */
  reference(&c, rout, rhn, rcn, -1);
  c.cfg.dropout = 0.5;
  rc_manual_seed(9);
  CHECK_OK(rc_rnn(&o1, &h1, &c1, &c.cfg, c.x, c.h0, c.c0, c.lengths, c.nw, w));
  rc_manual_seed(9);
  CHECK_OK(rc_rnn(&o2, &h2, &c2, &c.cfg, c.x, c.h0, c.c0, c.lengths, c.nw, w));
  if (o1 && o2) {
    CHECK(memcmp(rc_f32(o1), rc_f32(o2), sizeof(float) * (size_t)no) == 0);
    CHECK(max_diff(o1, rout) > 1e-3);
    double e = 0; /* h_n of layer 0 (its first 2*B*H values) does not see dropout */
    for (int64_t i = 0; i < 2 * 3 * 4; i++) e = fmax(e, fabs(rc_f32(h1)[i] - rhn[i]));
    CHECK(e < 2e-5);
  }
  rc_release(o1), rc_release(h1), rc_release(c1), rc_release(o2), rc_release(h2), rc_release(c2);
  free(rout), free(rhn), free(rcn);
  case_free(&c);
}

/* --- names, shapes, errors -------------------------------------------------------------------- */

static void test_weight_info(void) {
  rc_rnn_config cfg = {.mode = RC_GRU, .input_size = 3, .hidden_size = 4, .num_layers = 2,
                       .bidirectional = true, .has_bias = true};
  CHECK(rc_rnn_weight_count(&cfg) == 16);
  char name[64];
  int ndim;
  int64_t shape[2];
  CHECK_OK(rc_rnn_weight_info(&cfg, 0, name, sizeof name, &ndim, shape));
  CHECK(strcmp(name, "weight_ih_l0") == 0 && ndim == 2 && shape[0] == 12 && shape[1] == 3);
  CHECK_OK(rc_rnn_weight_info(&cfg, 5, name, sizeof name, &ndim, shape));
  CHECK(strcmp(name, "weight_hh_l0_reverse") == 0 && ndim == 2 && shape[0] == 12 && shape[1] == 4);
  CHECK_OK(rc_rnn_weight_info(&cfg, 8, name, sizeof name, &ndim, shape));
  CHECK(strcmp(name, "weight_ih_l1") == 0 && shape[1] == 8);
  CHECK_OK(rc_rnn_weight_info(&cfg, 15, name, sizeof name, &ndim, shape));
  CHECK(strcmp(name, "bias_hh_l1_reverse") == 0 && ndim == 1 && shape[0] == 12);
  CHECK_FAILS(rc_rnn_weight_info(&cfg, 16, name, sizeof name, &ndim, shape),
              "gru: weight 16 out of range 0..15");
  rc_rnn_mode m;
  CHECK_OK(rc_rnn_mode_from_name("LSTM", &m));
  CHECK(m == RC_LSTM);
  CHECK_FAILS(rc_rnn_mode_from_name("lstm2", &m),
              "rnn: mode must be 'RNN_TANH', 'RNN_RELU', 'LSTM' or 'GRU', got 'lstm2'");
  CHECK(rc_rnn_gate_count(RC_RNN_RELU) == 1 && rc_rnn_gate_count(RC_GRU) == 3);
}

static void test_errors(void) {
  spec s = {RC_LSTM, 2, 1, 5, 3, 3, 4, true, true, true, false, 0};
  rnn_case c;
  case_make(&c, s, 600);
  rc_tensor *o = NULL, *h = NULL, *cc = NULL, *bad = NULL;
  const rc_tensor *const *w = (const rc_tensor *const *)c.w;
  /* input dims and size */
  int64_t s2[2] = {5, 3};
  rc_empty(&bad, RC_FLOAT32, 2, s2);
  CHECK_FAILS(rc_rnn(&o, &h, &cc, &c.cfg, bad, NULL, NULL, NULL, c.nw, w),
              "lstm: input must have 3 dims (T,B,D), got 2 dims (5,3)");
  rc_release(bad);
  int64_t s3[3] = {5, 3, 64};
  rc_empty(&bad, RC_FLOAT32, 3, s3);
  CHECK_FAILS(rc_rnn(&o, &h, &cc, &c.cfg, bad, NULL, NULL, NULL, c.nw, w),
              "lstm: input has 3 dims (T,B,D) but D=64 while input_size=3");
  rc_release(bad);
  /* states */
  int64_t hs[3] = {1, 3, 4};
  rc_empty(&bad, RC_FLOAT32, 3, hs);
  CHECK_FAILS(rc_rnn(&o, &h, &cc, &c.cfg, c.x, bad, NULL, NULL, c.nw, w),
              "lstm: h0 must have shape (2,3,4) (num_layers*num_directions, batch, "
              "hidden_size), got (1,3,4)");
  CHECK_FAILS(rc_rnn(&o, &h, &cc, &c.cfg, c.x, c.h0, bad, NULL, c.nw, w),
              "lstm: c0 must have shape (2,3,4)");
  rc_release(bad);
  rc_rnn_config gru = c.cfg;
  gru.mode = RC_GRU;
  CHECK_FAILS(rc_rnn(&o, &h, &cc, &gru, c.x, c.h0, c.c0, NULL, c.nw, w),
              "gru: c0 is only for LSTM");
  /* lengths */
  int64_t three = 3, two = 2;
  rc_tensor *len = NULL;
  rc_empty(&len, RC_INT64, 1, &three);
  int64_t vals[3] = {2, 6, 1};
  memcpy(rc_i64(len), vals, sizeof vals);
  CHECK_FAILS(rc_rnn(&o, &h, &cc, &c.cfg, c.x, NULL, NULL, len, c.nw, w),
              "lstm: lengths must be in 1..T=5, but sequence 2 of 3 has length 6");
  rc_i64(len)[1] = 0;
  CHECK_FAILS(rc_rnn(&o, &h, &cc, &c.cfg, c.x, NULL, NULL, len, c.nw, w),
              "lstm: lengths must be in 1..T=5, but sequence 2 of 3 has length 0");
  rc_release(len);
  rc_empty(&len, RC_INT64, 1, &two);
  CHECK_FAILS(rc_rnn(&o, &h, &cc, &c.cfg, c.x, NULL, NULL, len, c.nw, w),
              "lstm: lengths must have one entry per sequence, shape (3), got (2)");
  rc_release(len);
  rc_empty(&len, RC_FLOAT32, 1, &three);
  CHECK_FAILS(rc_rnn(&o, &h, &cc, &c.cfg, c.x, NULL, NULL, len, c.nw, w),
              "lstm: lengths must be int64, got float32");
  rc_release(len);
  /* weights */
  CHECK_FAILS(rc_rnn(&o, &h, &cc, &c.cfg, c.x, NULL, NULL, NULL, c.nw - 2, w),
              "lstm: expected 8 weight tensors (num_layers=2 x 1 direction x 4), got 6");
  rc_tensor *saved = c.w[4];
  int64_t ws[2] = {16, 3};
  rc_empty(&c.w[4], RC_FLOAT32, 2, ws);
  CHECK_FAILS(rc_rnn(&o, &h, &cc, &c.cfg, c.x, NULL, NULL, NULL, c.nw, w),
              "lstm: weight_ih_l1 must have shape (16,4), got (16,3)");
  rc_release(c.w[4]);
  c.w[4] = saved;
  rc_rnn_config neg = c.cfg;
  neg.dropout = 1.5;
  CHECK_FAILS(rc_rnn(&o, &h, &cc, &neg, c.x, NULL, NULL, NULL, c.nw, w),
              "lstm: dropout must be in [0, 1], got 1.5");
  CHECK(o == NULL && h == NULL && cc == NULL);
  /* cells */
  CHECK_FAILS(rc_rnn_cell(&h, &cc, RC_LSTM, c.x, NULL, NULL, c.w[0], c.w[1], c.w[2], c.w[3]),
              "lstm_cell: input must be (B,D) or (D), got 3 dims (5,3,3)");
  rc_tensor *x2 = NULL, *h2 = NULL;
  rc_select(&x2, c.x, 0, 0);
  CHECK_FAILS(rc_rnn_cell(&h, &cc, RC_LSTM, x2, NULL, NULL, c.w[4], c.w[1], c.w[2], c.w[3]),
              "lstm_cell: input has D=3 but weight_ih has 4 columns (input_size)");
  CHECK_FAILS(rc_rnn_cell(&h, &cc, RC_LSTM, x2, NULL, NULL, c.w[0], c.w[1], c.w[2], NULL),
              "lstm_cell: give both bias_ih and bias_hh, or neither");
  rc_select(&h2, c.h0, 0, 0);
  CHECK_FAILS(rc_rnn_cell(&h, &cc, RC_GRU, x2, h2, h2, c.w[0], c.w[1], c.w[2], c.w[3]),
              "gru_cell: cx is only for LSTM");
  rc_tensor *h2n = NULL;
  rc_narrow(&h2n, h2, 0, 0, 2);
  CHECK_FAILS(rc_rnn_cell(&h, &cc, RC_LSTM, x2, h2n, NULL, c.w[0], c.w[1], c.w[2], c.w[3]),
              "lstm_cell: hx must have shape (3,4) (batch, hidden_size), got (2,4)");
  CHECK_FAILS(rc_rnn_cell(&h, &cc, RC_GRU, x2, NULL, NULL, c.w[0], c.w[1], NULL, NULL),
              "gru_cell: weight_ih and weight_hh must have 3*hidden_size = 12 rows, got 16 and 16");
  CHECK(h == NULL && cc == NULL);
  rc_release(x2), rc_release(h2), rc_release(h2n);
  case_free(&c);
}

int main(void) {
  CHECK_OK(rc_init());
  test_every_mode();
  test_larger_shapes();
  test_threads_do_not_change_results();
  test_cells();
  test_dropout();
  test_weight_info();
  test_errors();
  return check_summary("rnn");
}
