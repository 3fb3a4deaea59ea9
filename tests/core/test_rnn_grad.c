/* tests/core/test_rnn_grad.c — gradients of the recurrent layer and cell nodes against central
   finite differences, in every mode, and the node's behaviour on the autograd tape. */
#include <stdlib.h>
#include "check.h"

/* loss = sum(out * R1) + sum(h_n * R2) + sum(c_n * R3), with fixed random R's (NULL: left out). */
typedef struct {
  rc_rnn_mode mode;
  int L, dirs;
  int64_t T, B, D, H;
  bool bias, with_lengths, with_states, strided_x;
  double dropout;
} spec;

typedef struct {
  spec s;
  rc_rnn_config cfg;
  rc_tensor *x, *x_base, *h0, *c0, *lengths;
  int nw;
  rc_tensor *w[64];
  rc_tensor *r1, *r2, *r3;
} grad_case;

static rc_tensor *uniform(int ndim, const int64_t *shape, double lo, double hi) {
  rc_tensor *t = NULL;
  rc_empty(&t, RC_FLOAT32, ndim, shape);
  rc_uniform_(t, lo, hi);
  return t;
}

static void case_make(grad_case *c, spec s, uint64_t seed) {
  memset(c, 0, sizeof *c);
  c->s = s;
  c->cfg = (rc_rnn_config){.mode = s.mode, .input_size = s.D, .hidden_size = s.H,
                           .num_layers = s.L, .bidirectional = s.dirs == 2,
                           .dropout = s.dropout, .training = s.dropout > 0, .has_bias = s.bias};
  rc_manual_seed(seed);
  int64_t shape[3] = {s.T, s.B, s.D};
  if (s.strided_x) { /* (T,B,D) over (B,T,D) storage */
    int64_t bshape[3] = {s.B, s.T, s.D}, stride[3] = {s.D, s.T * s.D, 1};
    c->x_base = uniform(3, bshape, -1, 1);
    rc_view_of(&c->x, c->x_base, 3, shape, stride, 0);
  } else {
    c->x = uniform(3, shape, -1, 1);
  }
  int64_t sshape[3] = {s.L * s.dirs, s.B, s.H}, oshape[3] = {s.T, s.B, s.dirs * s.H};
  if (s.with_states) {
    c->h0 = uniform(3, sshape, -1, 1);
    if (s.mode == RC_LSTM) c->c0 = uniform(3, sshape, -1, 1);
  }
  if (s.with_lengths) {
    rc_empty(&c->lengths, RC_INT64, 1, &s.B);
    for (int64_t b = 0; b < s.B; b++) rc_i64(c->lengths)[b] = 1 + (b * 7 + 3) % s.T;
    if (s.B > 1) rc_i64(c->lengths)[1] = s.T;
    if (s.B > 2) rc_i64(c->lengths)[2] = 1;
  }
  c->nw = rc_rnn_weight_count(&c->cfg);
  double k = 1.0 / sqrt((double)s.H);
  for (int i = 0; i < c->nw; i++) {
    int ndim;
    int64_t wshape[2];
    rc_rnn_weight_info(&c->cfg, i, NULL, 0, &ndim, wshape);
    c->w[i] = uniform(ndim, wshape, -k, k);
  }
  c->r1 = uniform(3, oshape, -1, 1);
  c->r2 = uniform(3, sshape, -1, 1);
  if (s.mode == RC_LSTM) c->r3 = uniform(3, sshape, -1, 1);
}

static void case_free(grad_case *c) {
  rc_release(c->x), rc_release(c->x_base), rc_release(c->h0), rc_release(c->c0);
  rc_release(c->lengths), rc_release(c->r1), rc_release(c->r2), rc_release(c->r3);
  for (int i = 0; i < c->nw; i++) rc_release(c->w[i]);
}

static double dot(const rc_tensor *a, const rc_tensor *r) {
  double s = 0;
  if (!a || !r) return 0;
  for (int64_t i = 0; i < rc_numel(a); i++) s += (double)rc_f32(a)[i] * rc_f32(r)[i];
  return s;
}

/* The loss through the raw op (no graph), in double. Dropout masks: the same seed every time. */
static double loss_raw(const grad_case *c) {
  rc_tensor *o = NULL, *h = NULL, *cc = NULL;
  rc_manual_seed(77);
  if (rc_rnn(&o, &h, &cc, &c->cfg, c->x, c->h0, c->c0, c->lengths, c->nw,
             (const rc_tensor *const *)c->w) != RC_OK) {
    fprintf(stderr, "rc_rnn failed: %s\n", rc_last_error());
    return NAN;
  }
  double s = dot(o, c->r1) + dot(h, c->r2) + dot(cc, c->r3);
  rc_release(o), rc_release(h), rc_release(cc);
  return s;
}

/* sum(a * r) as graph ops, added to *acc. */
static rc_status add_term(rc_tensor **acc, rc_tensor *a, rc_tensor *r) {
  rc_tensor *m = NULL, *s = NULL, *t = NULL;
  rc_status st;
  if (!a || !r) return RC_OK;
  if ((st = rcg_binary(&m, RC_MUL, a, r))) return st;
  st = rcg_reduce(&s, RC_SUM, m, RC_ALL_DIMS, false);
  rc_release(m);
  if (st) return st;
  if (!*acc) {
    *acc = s;
    return RC_OK;
  }
  st = rcg_binary(&t, RC_ADD, *acc, s);
  rc_release(s), rc_release(*acc);
  *acc = t;
  return st;
}

/* The tensors whose gradients are checked: x, h0, c0, then the weights. */
static int inputs_of(grad_case *c, rc_tensor **in) {
  int n = 0;
  in[n++] = c->x;
  if (c->h0) in[n++] = c->h0;
  if (c->c0) in[n++] = c->c0;
  for (int i = 0; i < c->nw; i++) in[n++] = c->w[i];
  return n;
}

/* Analytic gradients by backward through rcg_rnn, then central differences of loss_raw for every
   element of every input. */
static void gradcheck(grad_case *c, double eps, const char *label) {
  rc_tensor *in[70];
  int n = inputs_of(c, in);
  for (int i = 0; i < n; i++) {
    in[i]->requires_grad = true;
    rc_release(in[i]->grad);
    in[i]->grad = NULL;
  }
  rc_tensor *o = NULL, *h = NULL, *cc = NULL, *loss = NULL;
  rc_manual_seed(77);
  CHECK_OK(rcg_rnn(&o, &h, &cc, &c->cfg, c->x, c->h0, c->c0, c->lengths, c->nw,
                   (const rc_tensor *const *)c->w));
  CHECK(o && o->grad_fn && h && h->grad_fn == o->grad_fn);
  CHECK_OK(add_term(&loss, o, c->r1));
  CHECK_OK(add_term(&loss, h, c->r2));
  CHECK_OK(add_term(&loss, cc, c->r3));
  if (loss) CHECK_OK(rc_backward(loss, NULL, false));
  rc_release(o), rc_release(h), rc_release(cc), rc_release(loss);
  for (int i = 0; i < n; i++) in[i]->requires_grad = false;

  /* relu has kinks: where a perturbation moves a pre-activation across 0 the central difference
     is not the derivative. There the differences at eps, eps/2 and eps/4 disagree by more than
     float32 noise (measured: <= 4e-4 relative on smooth modes); such elements are skipped and
     counted, and at least half of all elements must be checked. */
  bool kinks = c->s.mode == RC_RNN_RELU;
  int threads = rc_threads();
  rc_set_threads(1); /* tiny problems: threads only cost here */
  double worst = 0;
  int bad = 0, skipped = 0, total = 0;
  for (int i = 0; i < n; i++) {
    rc_tensor *t = in[i];
    CHECK(t->grad != NULL);
    if (!t->grad) continue;
    for (int64_t e = 0; e < rc_numel(t); e++) {
      double v = rc_get_flat(t, e), numeric[3];
      for (int k = 0; k < (kinks ? 3 : 1); k++) {
        double h = eps / (1 << k);
        rc_set_flat(t, e, v + h);
        double up = loss_raw(c);
        rc_set_flat(t, e, v - h);
        double down = loss_raw(c);
        rc_set_flat(t, e, v);
        numeric[k] = (up - down) / (2 * h);
      }
      total++;
      double scale = fmax(1.0, fabs(numeric[0]));
      double spread = 0;
      if (kinks) spread = fmax(fabs(numeric[0] - numeric[1]), fabs(numeric[1] - numeric[2]));
      if (spread > 8e-4 * scale) {
        skipped++;
        continue;
      }
      double analytic = rc_get_flat(t->grad, e);
      double err = fabs(analytic - numeric[0]) / fmax(1.0, fabs(numeric[0]));
      if (!(err <= worst)) worst = err;
      if (!(err <= 2e-3) && bad++ < 3)
        fprintf(stderr, "  %s: input %d element %lld: analytic %.6g numeric %.6g\n", label, i,
                (long long)e, analytic, numeric[0]);
    }
  }
  rc_set_threads(threads);
  if (!(worst <= 2e-3)) fprintf(stderr, "  %s: worst relative error %.3g\n", label, worst);
  CHECK(worst <= 2e-3);
  CHECK(skipped * 2 <= total);
}

static const char *label_of(const spec *s, char *buf, size_t size) {
  snprintf(buf, size, "%s L=%d dirs=%d lengths=%d states=%d bias=%d strided=%d dropout=%g",
           rc_rnn_mode_name(s->mode), s->L, s->dirs, s->with_lengths, s->with_states, s->bias,
           s->strided_x, s->dropout);
  return buf;
}

/* Every cell type x layers 1/2 x uni/bidirectional x lengths x initial states. */
static void test_every_mode(void) {
  rc_rnn_mode modes[4] = {RC_RNN_TANH, RC_RNN_RELU, RC_LSTM, RC_GRU};
  uint64_t seed = 11;
  char label[160];
  for (int m = 0; m < 4; m++)
    for (int L = 1; L <= 2; L++)
      for (int dirs = 1; dirs <= 2; dirs++)
        for (int lens = 0; lens < 2; lens++)
          for (int states = 0; states < 2; states++) {
            bool strided = (dirs + states) % 2 == 0;
            spec s = {modes[m], L, dirs, 4, 3, 3, 4, true, lens, states, strided, 0};
            grad_case c;
            case_make(&c, s, seed++);
            gradcheck(&c, 4e-3, label_of(&s, label, sizeof label));
            case_free(&c);
          }
  /* Without biases, longer sequences, and with dropout between layers (same masks each run). */
  for (int m = 0; m < 4; m++) {
    spec nb = {modes[m], 2, 2, 5, 2, 3, 4, false, true, true, false, 0};
    spec dr = {modes[m], 2, 2, 3, 3, 3, 4, true, true, true, false, 0.4};
    grad_case c;
    case_make(&c, nb, seed++);
    gradcheck(&c, 4e-3, label_of(&nb, label, sizeof label));
    case_free(&c);
    case_make(&c, dr, seed++);
    gradcheck(&c, 4e-3, label_of(&dr, label, sizeof label));
    case_free(&c);
  }
}

/* A loss of h_n only (no gradient reaches out), or of out only: both paths of a NULL gradient. */
static void test_partial_outputs(void) {
  rc_rnn_mode modes[2] = {RC_LSTM, RC_GRU};
  char label[160];
  for (int m = 0; m < 2; m++)
    for (int which = 0; which < 2; which++) {
      spec s = {modes[m], 2, 2, 4, 3, 3, 4, true, true, true, false, 0};
      grad_case c;
      case_make(&c, s, 900 + m * 2 + which);
      if (which == 0) {
        rc_release(c.r1), c.r1 = NULL;
      } else {
        rc_release(c.r2), rc_release(c.r3), c.r2 = c.r3 = NULL;
      }
      gradcheck(&c, 4e-3, label_of(&s, label, sizeof label));
      case_free(&c);
    }
}

/* Cells: loss = sum(h * R2) + sum(c * R3), checked the same way. */
static void test_cells(void) {
  rc_rnn_mode modes[4] = {RC_RNN_TANH, RC_RNN_RELU, RC_LSTM, RC_GRU};
  for (int m = 0; m < 4; m++)
    for (int states = 0; states < 2; states++) {
      rc_manual_seed(1000 + m * 2 + states);
      int64_t B = 3, D = 3, H = 4, G = rc_rnn_gate_count(modes[m]);
      int64_t xs[2] = {B, D}, hs[2] = {B, H}, wi[2] = {G * H, D}, wh[2] = {G * H, H};
      int64_t bs[1] = {G * H};
      rc_tensor *t[7] = {uniform(2, xs, -1, 1), states ? uniform(2, hs, -1, 1) : NULL,
                         states && modes[m] == RC_LSTM ? uniform(2, hs, -1, 1) : NULL,
                         uniform(2, wi, -0.5, 0.5), uniform(2, wh, -0.5, 0.5),
                         uniform(1, bs, -0.5, 0.5), uniform(1, bs, -0.5, 0.5)};
      rc_tensor *r2 = uniform(2, hs, -1, 1), *r3 = uniform(2, hs, -1, 1);
      for (int i = 0; i < 7; i++)
        if (t[i]) t[i]->requires_grad = true;
      rc_tensor *h = NULL, *cc = NULL, *loss = NULL;
      CHECK_OK(rcg_rnn_cell(&h, &cc, modes[m], t[0], t[1], t[2], t[3], t[4], t[5], t[6]));
      CHECK(h && h->grad_fn);
      const char *name = modes[m] == RC_LSTM ? "LSTMCellBackward"
                         : modes[m] == RC_GRU ? "GRUCellBackward" : "RNNCellBackward";
      if (h && h->grad_fn) CHECK(strcmp(h->grad_fn->name, name) == 0);
      CHECK_OK(add_term(&loss, h, r2));
      CHECK_OK(add_term(&loss, cc, r3));
      if (loss) CHECK_OK(rc_backward(loss, NULL, false));
      rc_release(h), rc_release(cc), rc_release(loss);
      double eps = modes[m] == RC_RNN_RELU ? 1e-3 : 4e-3, worst = 0;
      for (int i = 0; i < 7; i++) {
        if (!t[i]) continue;
        t[i]->requires_grad = false;
        CHECK(t[i]->grad != NULL);
        if (!t[i]->grad) continue;
        for (int64_t e = 0; e < rc_numel(t[i]); e++) {
          double v = rc_get_flat(t[i], e), lv[2];
          for (int k = 0; k < 2; k++) {
            rc_set_flat(t[i], e, v + (k ? -eps : eps));
            rc_tensor *h2 = NULL, *c2 = NULL;
            CHECK_OK(rc_rnn_cell(&h2, &c2, modes[m], t[0], t[1], t[2], t[3], t[4], t[5], t[6]));
            lv[k] = dot(h2, r2) + dot(c2, r3);
            rc_release(h2), rc_release(c2);
          }
          rc_set_flat(t[i], e, v);
          double numeric = (lv[0] - lv[1]) / (2 * eps);
          double err = fabs(rc_get_flat(t[i]->grad, e) - numeric) / fmax(1.0, fabs(numeric));
          if (!(err <= worst)) worst = err;
        }
      }
      if (!(worst <= 2e-3)) fprintf(stderr, "  cell %s states=%d: worst %.3g\n",
                                   rc_rnn_mode_name(modes[m]), states, worst);
      CHECK(worst <= 2e-3);
      for (int i = 0; i < 7; i++) rc_release(t[i]);
      rc_release(r2), rc_release(r3);
    }
}

/* One node for the whole layer; no node under no_grad; retain_graph; saved-value checks. */
static void test_tape(void) {
  spec s = {RC_LSTM, 2, 2, 4, 3, 3, 4, true, true, true, false, 0};
  grad_case c;
  case_make(&c, s, 1200);
  const rc_tensor *const *w = (const rc_tensor *const *)c.w;
  for (int i = 0; i < c.nw; i++) c.w[i]->requires_grad = true;
  rc_tensor *o = NULL, *h = NULL, *cc = NULL, *loss = NULL;

  bool was = rc_set_grad_enabled(false);
  CHECK_OK(rcg_rnn(&o, &h, &cc, &c.cfg, c.x, c.h0, c.c0, c.lengths, c.nw, w));
  CHECK(o && o->grad_fn == NULL && !o->requires_grad && h->grad_fn == NULL);
  rc_release(o), rc_release(h), rc_release(cc);
  rc_set_grad_enabled(was);

  CHECK_OK(rcg_rnn(&o, &h, &cc, &c.cfg, c.x, c.h0, c.c0, c.lengths, c.nw, w));
  CHECK(o && o->grad_fn && o->grad_fn == h->grad_fn && h->grad_fn == cc->grad_fn);
  if (o && o->grad_fn) {
    CHECK(strcmp(o->grad_fn->name, "LSTMBackward") == 0);
    CHECK(o->grad_fn->ninputs == 3 + c.nw && o->grad_fn->noutputs == 3);
    CHECK(o->output_nr == 0 && h->output_nr == 1 && cc->output_nr == 2);
    CHECK(!o->grad_fn->inputs[0].needs_grad); /* x does not require grad */
  }
  CHECK_OK(add_term(&loss, o, c.r1));
  CHECK_OK(add_term(&loss, h, c.r2));
  CHECK_OK(add_term(&loss, cc, c.r3));
  /* retain_graph: a second backward adds the same gradient again. */
  CHECK_OK(rc_backward(loss, NULL, true));
  rc_tensor *once = NULL;
  CHECK_OK(rc_clone(&once, c.w[1]->grad));
  CHECK_OK(rc_backward(loss, NULL, false));
  double worst = 0;
  for (int64_t i = 0; once && i < rc_numel(once); i++)
    worst = fmax(worst, fabs(rc_f32(c.w[1]->grad)[i] - 2 * rc_f32(once)[i]));
  CHECK(worst < 1e-5);
  CHECK(c.x->grad == NULL);
  CHECK_FAILS(rc_backward(loss, NULL, false), "a second time");
  rc_release(once), rc_release(loss), rc_release(o), rc_release(h), rc_release(cc);
  loss = NULL;

  /* A weight changed in place after the forward: its saved alias notices. */
  CHECK_OK(rcg_rnn(&o, &h, &cc, &c.cfg, c.x, c.h0, c.c0, c.lengths, c.nw, w));
  CHECK_OK(add_term(&loss, h, c.r2));
  rc_bump_version(c.w[3]);
  CHECK_FAILS(rc_backward(loss, NULL, false), "saved for its gradient was changed");
  rc_release(loss), rc_release(o), rc_release(h), rc_release(cc);
  case_free(&c);
}

/* The same gradients (bit for bit) at 1 and 2 threads and with the directions concurrent or one
   after another on the packed path; the rc_gemm path and the transposed kernel orientation
   agree to rounding. */
static void test_threads_do_not_change_gradients(void) {
  rc_rnn_mode modes[2] = {RC_LSTM, RC_GRU};
  for (int m = 0; m < 2; m++) {
    spec s = {modes[m], 2, 2, 6, 40, 12, 40, true, true, true, false, 0};
    grad_case c;
    case_make(&c, s, 1300 + m);
    rc_tensor *in[70];
    int n = inputs_of(&c, in), threads = rc_threads();
    rc_tensor *first[70] = {NULL};
    bool same = true;
    double worst = 0;
    int runs[7][2] = {{1, 0}, {2, 0}, {2, 4}, {2, 5}, {2, 1}, {2, 2}, {2, 11}}; /* threads, policy */
    for (int k = 0; k < 7; k++) {
      rc_set_threads(runs[k][0]);
      int was = rc_rnn_set_threading(runs[k][1]);
      for (int i = 0; i < n; i++) {
        in[i]->requires_grad = true;
        rc_release(in[i]->grad), in[i]->grad = NULL;
      }
      rc_tensor *o = NULL, *h = NULL, *cc = NULL, *loss = NULL;
      CHECK_OK(rcg_rnn(&o, &h, &cc, &c.cfg, c.x, c.h0, c.c0, c.lengths, c.nw,
                       (const rc_tensor *const *)c.w));
      CHECK_OK(add_term(&loss, o, c.r1));
      CHECK_OK(add_term(&loss, h, c.r2));
      CHECK_OK(add_term(&loss, cc, c.r3));
      if (loss) CHECK_OK(rc_backward(loss, NULL, false));
      rc_release(o), rc_release(h), rc_release(cc), rc_release(loss);
      rc_rnn_set_threading(was);
      for (int i = 0; i < n; i++) {
        rc_tensor *gr = in[i]->grad;
        if (!gr) {
          same = false;
          continue;
        }
        if (k == 0) {
          first[i] = rc_retain(gr);
        } else if (k < 4) {
          same = same && memcmp(rc_f32(first[i]), rc_f32(gr),
                                sizeof(float) * (size_t)rc_numel(gr)) == 0;
        } else {
          for (int64_t e = 0; e < rc_numel(gr); e++)
            worst = fmax(worst, fabs(rc_f32(gr)[e] - rc_f32(first[i])[e]) /
                                    fmax(1.0, fabs(rc_f32(first[i])[e])));
        }
      }
    }
    CHECK(same);
    CHECK(worst < 1e-4);
    for (int i = 0; i < n; i++) rc_release(first[i]), in[i]->requires_grad = false;
    rc_set_threads(threads);
    case_free(&c);
  }
}

/* Gradients through the threaded packed path: units split over two threads (with a partial
   micro-panel) and batch split, in both kernel orientations, one and two directions. RNN_RELU
   takes RNN_TANH's path through the driver; it is left out here because with 33 sequences some
   pre-activation always sits within eps/4 of relu's kink, where no difference quotient holds. */
static void test_threaded_gradients(void) {
  rc_rnn_mode modes[3] = {RC_RNN_TANH, RC_LSTM, RC_GRU};
  /* policy, directions, batch: a batch split needs two micro-panels' worth of rows, and the
     flipped kernel's state panels are wider (16 rows on zen3 against 6). */
  int runs[5][3] = {{3, 1, 13}, {5, 1, 13}, {11, 1, 13}, {13, 1, 33}, {3, 2, 13}};
  char label[160];
  for (int m = 0; m < 3; m++)
    for (int k = 0; k < 5; k++) {
      int was = rc_rnn_set_threading(runs[k][0]);
      spec s = {modes[m], 1, runs[k][1], 3, runs[k][2], 3, 18, true, true, true, false, 0};
      grad_case c;
      case_make(&c, s, 1400 + m);
      snprintf(label, sizeof label, "threaded %s policy %d dirs %d B %d",
               rc_rnn_mode_name(modes[m]), runs[k][0], runs[k][1], runs[k][2]);
      gradcheck(&c, 4e-3, label);
      case_free(&c);
      rc_rnn_set_threading(was);
    }
}

int main(void) {
  CHECK_OK(rc_init());
  test_every_mode();
  test_partial_outputs();
  test_cells();
  test_tape();
  test_threads_do_not_change_gradients();
  test_threaded_gradients();
  return check_summary("rnn_grad");
}
