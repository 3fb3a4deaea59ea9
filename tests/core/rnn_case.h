/* tests/core/rnn_case.h — one recurrent-layer problem for the C tests (test_rnn.c, test_rnn_grad.c):
   a spec of the mode and sizes, and its random input, states, lengths and PyTorch-shaped weights. */
#ifndef RC_TEST_RNN_CASE_H
#define RC_TEST_RNN_CASE_H

#include "check.h"

typedef struct {
  rc_rnn_mode mode;
  int L, dirs;
  int64_t T, B, D, H;
  bool bias, with_lengths, with_states, strided_x;
  double dropout; /* > 0: training mode with dropout between layers */
} spec;

typedef struct {
  spec s;
  rc_rnn_config cfg;
  rc_tensor *x, *x_base, *h0, *c0, *lengths;
  int nw;
  rc_tensor *w[64];
} rnn_case;

static rc_tensor *uniform(int ndim, const int64_t *shape, double lo, double hi) {
  rc_tensor *t = NULL;
  rc_empty(&t, RC_FLOAT32, ndim, shape);
  rc_uniform_(t, lo, hi);
  return t;
}

/* Lengths in 1..T, unsorted, with T and 1 present when B allows. */
static void fill_lengths(int64_t *len, int64_t B, int64_t T) {
  for (int64_t b = 0; b < B; b++) len[b] = 1 + (b * 7 + 3) % T;
  if (B > 1) len[1] = T;
  if (B > 2) len[2] = 1;
}

/* x (T,B,D) in [-1, 1] (a view of (B,T,D) storage when strided_x, as batch_first gives), h0/c0
   in [-1, 1] when with_states, lengths when with_lengths, weights U(-1/sqrt(H), 1/sqrt(H)), all
   drawn from the seeded RNG in that order. */
static void case_make(rnn_case *c, spec s, uint64_t seed) {
  memset(c, 0, sizeof *c);
  c->s = s;
  c->cfg = (rc_rnn_config){.mode = s.mode, .input_size = s.D, .hidden_size = s.H,
                           .num_layers = s.L, .bidirectional = s.dirs == 2,
                           .dropout = s.dropout, .training = s.dropout > 0, .has_bias = s.bias};
  rc_manual_seed(seed);
  int64_t shape[3] = {s.T, s.B, s.D};
  if (s.strided_x) {
    int64_t bshape[3] = {s.B, s.T, s.D}, stride[3] = {s.D, s.T * s.D, 1};
    c->x_base = uniform(3, bshape, -1, 1);
    rc_view_of(&c->x, c->x_base, 3, shape, stride, 0);
  } else {
    c->x = uniform(3, shape, -1, 1);
  }
  int64_t sshape[3] = {s.L * s.dirs, s.B, s.H};
  if (s.with_states) {
    c->h0 = uniform(3, sshape, -1, 1);
    if (s.mode == RC_LSTM) c->c0 = uniform(3, sshape, -1, 1);
  }
  if (s.with_lengths) {
    rc_empty(&c->lengths, RC_INT64, 1, &s.B);
    fill_lengths(rc_i64(c->lengths), s.B, s.T);
  }
  c->nw = rc_rnn_weight_count(&c->cfg);
  double k = 1.0 / sqrt((double)s.H);
  for (int i = 0; i < c->nw; i++) {
    int ndim;
    int64_t wshape[2];
    rc_rnn_weight_info(&c->cfg, i, NULL, 0, &ndim, wshape);
    c->w[i] = uniform(ndim, wshape, -k, k);
  }
}

static void case_free(rnn_case *c) {
  rc_release(c->x), rc_release(c->x_base), rc_release(c->h0), rc_release(c->c0);
  rc_release(c->lengths);
  for (int i = 0; i < c->nw; i++) rc_release(c->w[i]);
}

#endif
