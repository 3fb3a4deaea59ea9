/* tests/core/test_rnn_grad.c — gradients of the recurrent layer and cell nodes against central
   finite differences, in every mode, and the node's behaviour on the autograd tape. */
#include <stdlib.h>
#include "check.h"
#include "gradcheck.h"
#include "rnn_case.h"

/* A case and the weights of a hand-made loss sum(out * r0) + sum(h_n * r1) + sum(c_n * r2). */
typedef struct {
  rnn_case rc;
  rc_tensor *r[3];
  bool no_out, no_states; /* leave out of gradcheck's loss: out; h_n and c_n */
} grad_case;

/* The shared case, then the loss weights r drawn after it. */
static void grad_case_make(grad_case *c, spec s, uint64_t seed) {
  memset(c, 0, sizeof *c);
  case_make(&c->rc, s, seed);
  int64_t sshape[3] = {s.L * s.dirs, s.B, s.H}, oshape[3] = {s.T, s.B, s.dirs * s.H};
  c->r[0] = uniform(3, oshape, -1, 1);
  c->r[1] = uniform(3, sshape, -1, 1);
  if (s.mode == RC_LSTM) c->r[2] = uniform(3, sshape, -1, 1);
}

static void grad_case_free(grad_case *c) {
  case_free(&c->rc);
  rc_release(c->r[0]), rc_release(c->r[1]), rc_release(c->r[2]);
}

/* The tensors whose gradients are checked: x, h0, c0 (NULL when absent), then the weights. */
static int inputs_of(grad_case *c, rc_tensor **in) {
  in[0] = c->rc.x, in[1] = c->rc.h0, in[2] = c->rc.c0;
  for (int i = 0; i < c->rc.nw; i++) in[3 + i] = c->rc.w[i];
  return 3 + c->rc.nw;
}

/* The layer under test, in as inputs_of gives it. Dropout draws the same masks every call. With
   grad mode on (gradcheck's analytic pass) one node must give all three outputs. */
static rc_status f_rnn(rc_tensor **out, rc_tensor *const *in, const void *ctx) {
  const grad_case *c = ctx;
  rc_manual_seed(77);
  rc_status st = rcg_rnn(&out[0], &out[1], &out[2], &c->rc.cfg, in[0], in[1], in[2], c->rc.lengths,
                         c->rc.nw, (const rc_tensor *const *)in + 3);
  if (!st && rc_grad_enabled())
    CHECK(out[0]->grad_fn && out[1]->grad_fn == out[0]->grad_fn &&
          (!out[2] || out[2]->grad_fn == out[0]->grad_fn));
  if (c->no_out) rc_release(out[0]), out[0] = NULL;
  if (c->no_states) rc_release(out[1]), rc_release(out[2]), out[1] = out[2] = NULL;
  return st;
}

/* The step and tolerance this test was written with: GC_KINK_SPREAD was measured at this step
   (float32 noise <= 4e-4 relative on the smooth modes). Worst seen: 6.4e-4, relu with dropout. */
static void check_case(grad_case *c, const char *label) {
  rc_tensor *in[3 + 64];
  int n = inputs_of(c, in);
  gc_options opt = {.eps = 4e-3, .tol = 2e-3, .kinks = c->rc.s.mode == RC_RNN_RELU};
  gradcheck(label, f_rnn, c, n, in, &opt);
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
            grad_case_make(&c, s, seed++);
            check_case(&c, label_of(&s, label, sizeof label));
            grad_case_free(&c);
          }
  /* Without biases, longer sequences, and with dropout between layers (same masks each run). */
  for (int m = 0; m < 4; m++) {
    spec nb = {modes[m], 2, 2, 5, 2, 3, 4, false, true, true, false, 0};
    spec dr = {modes[m], 2, 2, 3, 3, 3, 4, true, true, true, false, 0.4};
    grad_case c;
    grad_case_make(&c, nb, seed++);
    check_case(&c, label_of(&nb, label, sizeof label));
    grad_case_free(&c);
    grad_case_make(&c, dr, seed++);
    check_case(&c, label_of(&dr, label, sizeof label));
    grad_case_free(&c);
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
      grad_case_make(&c, s, 900 + m * 2 + which);
      c.no_out = which == 0, c.no_states = which == 1;
      check_case(&c, label_of(&s, label, sizeof label));
      grad_case_free(&c);
    }
}

/* One cell step, in = x, hx, cx, w_ih, w_hh, b_ih, b_hh (ctx: the mode). With grad mode on
   (gradcheck's analytic pass) its node must carry the cell's name. */
static rc_status f_cell(rc_tensor **out, rc_tensor *const *in, const void *ctx) {
  rc_rnn_mode mode = *(const rc_rnn_mode *)ctx;
  rc_status st = rcg_rnn_cell(&out[0], &out[1], mode, in[0], in[1], in[2], in[3], in[4], in[5],
                              in[6]);
  const char *name = mode == RC_LSTM ? "LSTMCellBackward"
                     : mode == RC_GRU ? "GRUCellBackward" : "RNNCellBackward";
  if (!st && rc_grad_enabled()) CHECK(out[0]->grad_fn && !strcmp(out[0]->grad_fn->name, name));
  return st;
}

/* Cells: loss = sum(h * w0) + sum(c * w1), checked the same way. Rather than step around kinks,
   relu takes a smaller step: a pre-activation must lie nearer its kink to be crossed. */
static void test_cells(void) {
  rc_rnn_mode modes[4] = {RC_RNN_TANH, RC_RNN_RELU, RC_LSTM, RC_GRU};
  char label[64];
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
      gc_options opt = {.eps = modes[m] == RC_RNN_RELU ? 1e-3 : 4e-3, .tol = 2e-3};
      snprintf(label, sizeof label, "cell %s states=%d", rc_rnn_mode_name(modes[m]), states);
      gradcheck(label, f_cell, &modes[m], 7, t, &opt);
      for (int i = 0; i < 7; i++) rc_release(t[i]);
    }
}

/* One node for the whole layer; no node under no_grad; retain_graph; saved-value checks. */
static void test_tape(void) {
  spec s = {RC_LSTM, 2, 2, 4, 3, 3, 4, true, true, true, false, 0};
  grad_case c;
  grad_case_make(&c, s, 1200);
  const rc_tensor *const *w = (const rc_tensor *const *)c.rc.w;
  for (int i = 0; i < c.rc.nw; i++) c.rc.w[i]->requires_grad = true;
  rc_tensor *o = NULL, *h = NULL, *cc = NULL, *loss = NULL;

  bool was = rc_set_grad_enabled(false);
  CHECK_OK(rcg_rnn(&o, &h, &cc, &c.rc.cfg, c.rc.x, c.rc.h0, c.rc.c0, c.rc.lengths, c.rc.nw, w));
  CHECK(o && o->grad_fn == NULL && !o->requires_grad && h->grad_fn == NULL);
  rc_release(o), rc_release(h), rc_release(cc);
  rc_set_grad_enabled(was);

  CHECK_OK(rcg_rnn(&o, &h, &cc, &c.rc.cfg, c.rc.x, c.rc.h0, c.rc.c0, c.rc.lengths, c.rc.nw, w));
  CHECK(o && o->grad_fn && o->grad_fn == h->grad_fn && h->grad_fn == cc->grad_fn);
  if (o && o->grad_fn) {
    CHECK(strcmp(o->grad_fn->name, "LSTMBackward") == 0);
    CHECK(o->grad_fn->ninputs == 3 + c.rc.nw && o->grad_fn->noutputs == 3);
    CHECK(o->output_nr == 0 && h->output_nr == 1 && cc->output_nr == 2);
    CHECK(!o->grad_fn->inputs[0].needs_grad); /* x does not require grad */
  }
  CHECK_OK(gc_graph_loss(&loss, (rc_tensor *[]){o, h, cc}, c.r));
  /* retain_graph: a second backward adds the same gradient again. */
  CHECK_OK(rc_backward(loss, NULL, true));
  rc_tensor *once = NULL;
  CHECK_OK(rc_clone(&once, c.rc.w[1]->grad));
  CHECK_OK(rc_backward(loss, NULL, false));
  double worst = 0;
  for (int64_t i = 0; once && i < rc_numel(once); i++)
    worst = fmax(worst, fabs(rc_f32(c.rc.w[1]->grad)[i] - 2 * rc_f32(once)[i]));
  CHECK(worst < 1e-5);
  CHECK(c.rc.x->grad == NULL);
  CHECK_FAILS(rc_backward(loss, NULL, false), "a second time");
  rc_release(once), rc_release(loss), rc_release(o), rc_release(h), rc_release(cc);
  loss = NULL;

  /* A weight changed in place after the forward: its saved alias notices. */
  CHECK_OK(rcg_rnn(&o, &h, &cc, &c.rc.cfg, c.rc.x, c.rc.h0, c.rc.c0, c.rc.lengths, c.rc.nw, w));
  CHECK_OK(gc_graph_loss(&loss, (rc_tensor *[]){NULL, h, NULL}, c.r));
  rc_bump_version(c.rc.w[3]);
  CHECK_FAILS(rc_backward(loss, NULL, false), "saved for its gradient was changed");
  rc_release(loss), rc_release(o), rc_release(h), rc_release(cc);
  grad_case_free(&c);
}

/* The same gradients (bit for bit) at 1 and 2 threads and with the directions concurrent or one
   after another on the packed path; the rc_gemm path and the transposed kernel orientation
   agree to rounding. */
static void test_threads_do_not_change_gradients(void) {
  rc_rnn_mode modes[2] = {RC_LSTM, RC_GRU};
  for (int m = 0; m < 2; m++) {
    spec s = {modes[m], 2, 2, 6, 40, 12, 40, true, true, true, false, 0};
    grad_case c;
    grad_case_make(&c, s, 1300 + m);
    rc_tensor *all[3 + 64], *in[3 + 64], *first[3 + 64] = {NULL};
    int n = 0, count = inputs_of(&c, all), threads = rc_threads();
    for (int i = 0; i < count; i++)
      if (all[i]) in[n++] = all[i];
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
      CHECK_OK(rcg_rnn(&o, &h, &cc, &c.rc.cfg, c.rc.x, c.rc.h0, c.rc.c0, c.rc.lengths, c.rc.nw,
                       (const rc_tensor *const *)c.rc.w));
      CHECK_OK(gc_graph_loss(&loss, (rc_tensor *[]){o, h, cc}, c.r));
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
    grad_case_free(&c);
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
      grad_case_make(&c, s, 1400 + m);
      snprintf(label, sizeof label, "threaded %s policy %d dirs %d B %d",
               rc_rnn_mode_name(modes[m]), runs[k][0], runs[k][1], runs[k][2]);
      check_case(&c, label);
      grad_case_free(&c);
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
