/* core/rnn_plan.c — the recurrent layers' names and weights (PyTorch's flat list), the argument
   checks of a layer call, and its plan: checked sizes and the batch sorted by length. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "rnn.h"

/* --- names and weights ------------------------------------------------------------------------ */

int rc_rnn_gate_count(rc_rnn_mode mode) {
  switch (mode) {
  case RC_LSTM: return 4;
  case RC_GRU: return 3;
  default: return 1;
  }
}

const char *rc_rnn_mode_name(rc_rnn_mode mode) {
  switch (mode) {
  case RC_RNN_TANH: return "RNN_TANH";
  case RC_RNN_RELU: return "RNN_RELU";
  case RC_LSTM: return "LSTM";
  case RC_GRU: return "GRU";
  }
  return "?";
}

rc_status rc_rnn_mode_from_name(const char *name, rc_rnn_mode *mode) {
  static const rc_rnn_mode modes[] = {RC_RNN_TANH, RC_RNN_RELU, RC_LSTM, RC_GRU};
  for (int i = 0; i < 4; i++)
    if (name && strcmp(name, rc_rnn_mode_name(modes[i])) == 0) {
      *mode = modes[i];
      return RC_OK;
    }
  return rc_fail(RC_ERR_ARG, "rnn: mode must be 'RNN_TANH', 'RNN_RELU', 'LSTM' or 'GRU', got '%s'",
                 name ? name : "(null)");
}

static bool valid_mode(rc_rnn_mode mode) { return mode >= RC_RNN_TANH && mode <= RC_GRU; }

/* The op's name in messages. */
static const char *op_name(rc_rnn_mode mode) {
  return mode == RC_LSTM ? "lstm" : mode == RC_GRU ? "gru" : "rnn";
}

int rc_rnn_weight_count(const rc_rnn_config *cfg) {
  return cfg->num_layers * (cfg->bidirectional ? 2 : 1) * (cfg->has_bias ? 4 : 2);
}

rc_status rc_rnn_weight_info(const rc_rnn_config *cfg, int i, char *name, size_t name_size,
                             int *ndim, int64_t shape[2]) {
  int per = cfg->has_bias ? 4 : 2, dirs = cfg->bidirectional ? 2 : 1;
  int n = rc_rnn_weight_count(cfg);
  if (!valid_mode(cfg->mode) || i < 0 || i >= n)
    return rc_fail(RC_ERR_INDEX, "%s: weight %d out of range 0..%d", op_name(cfg->mode), i, n - 1);
  int kind = i % per, d = (i / per) % dirs, l = i / per / dirs;
  static const char *kinds[] = {"weight_ih", "weight_hh", "bias_ih", "bias_hh"};
  if (name) snprintf(name, name_size, "%s_l%d%s", kinds[kind], l, d ? "_reverse" : "");
  int64_t gh = rc_rnn_gate_count(cfg->mode) * cfg->hidden_size;
  *ndim = kind < 2 ? 2 : 1;
  shape[0] = gh;
  shape[1] = kind == 0 ? (l == 0 ? cfg->input_size : dirs * cfg->hidden_size)
                       : kind == 1 ? cfg->hidden_size : 0;
  return RC_OK;
}

/* --- the plan --------------------------------------------------------------------------------- */

typedef struct {
  int64_t len, index;
} len_index;

/* Longest first; equal lengths keep their order (stable). */
static int by_length(const void *a, const void *b) {
  const len_index *x = a, *y = b;
  if (x->len != y->len) return x->len < y->len ? 1 : -1;
  return (x->index > y->index) - (x->index < y->index);
}

static rc_status check_state(const char *fn, const char *what, const rc_tensor *s, int64_t n0,
                             int64_t B, int64_t H) {
  char got[128];
  if (s->dtype != RC_FLOAT32)
    return rc_fail(RC_ERR_ARG, "%s: %s must be float32, got %s", fn, what,
                   rc_dtype_name(s->dtype));
  if (s->ndim != 3 || s->shape[0] != n0 || s->shape[1] != B || s->shape[2] != H)
    return rc_fail(RC_ERR_SHAPE,
                   "%s: %s must have shape (%lld,%lld,%lld) (num_layers*num_directions, batch, "
                   "hidden_size), got %s", fn, what, (long long)n0, (long long)B, (long long)H,
                   rc_shape_str(s, got, sizeof got));
  return RC_OK;
}

rc_status rc_rnn_plan_new(rc_rnn_plan **plan, const char *fn, const rc_rnn_config *cfg,
                          const rc_tensor *x, const rc_tensor *h0, const rc_tensor *c0,
                          const rc_tensor *lengths, int nweights,
                          const rc_tensor *const *weights) {
  char got[128], want[128];
  *plan = NULL;
  if (!valid_mode(cfg->mode))
    return rc_fail(RC_ERR_ARG, "rnn: unknown mode %d", (int)cfg->mode);
  if (!fn) fn = op_name(cfg->mode);
  if (cfg->input_size < 1 || cfg->hidden_size < 1 || cfg->num_layers < 1)
    return rc_fail(RC_ERR_ARG,
                   "%s: input_size, hidden_size and num_layers must be >= 1, got %lld, %lld, %d",
                   fn, (long long)cfg->input_size, (long long)cfg->hidden_size, cfg->num_layers);
  if (!(cfg->dropout >= 0 && cfg->dropout <= 1))
    return rc_fail(RC_ERR_ARG, "%s: dropout must be in [0, 1], got %g", fn, cfg->dropout);
  if (!x) return rc_fail(RC_ERR_ARG, "%s: the input is missing", fn);
  if (x->dtype != RC_FLOAT32)
    return rc_fail(RC_ERR_ARG, "%s: input must be float32, got %s", fn, rc_dtype_name(x->dtype));
  if (x->ndim != 3)
    return rc_fail(RC_ERR_SHAPE, "%s: input must have 3 dims (T,B,D), got %d dims %s", fn,
                   x->ndim, rc_shape_str(x, got, sizeof got));
  if (x->shape[2] != cfg->input_size)
    return rc_fail(RC_ERR_SHAPE, "%s: input has 3 dims (T,B,D) but D=%lld while input_size=%lld",
                   fn, (long long)x->shape[2], (long long)cfg->input_size);
  int64_t T = x->shape[0], B = x->shape[1], H = cfg->hidden_size;
  if (T < 1 || B < 1)
    return rc_fail(RC_ERR_SHAPE, "%s: input must have at least one step and one sequence, got %s",
                   fn, rc_shape_str(x, got, sizeof got));
  int dirs = cfg->bidirectional ? 2 : 1;
  int64_t nstates = (int64_t)cfg->num_layers * dirs;
  rc_status st;
  if (h0 && (st = check_state(fn, "h0", h0, nstates, B, H))) return st;
  if (c0 && cfg->mode != RC_LSTM)
    return rc_fail(RC_ERR_ARG, "%s: c0 is only for LSTM", fn);
  if (c0 && (st = check_state(fn, "c0", c0, nstates, B, H))) return st;

  int expected = rc_rnn_weight_count(cfg);
  if (nweights != expected || (nweights > 0 && !weights))
    return rc_fail(RC_ERR_ARG,
                   "%s: expected %d weight tensors (num_layers=%d x %d direction%s x %d), got %d",
                   fn, expected, cfg->num_layers, dirs, dirs > 1 ? "s" : "",
                   cfg->has_bias ? 4 : 2, nweights);
  for (int i = 0; i < nweights; i++) {
    char name[64];
    int ndim;
    int64_t shape[2];
    rc_rnn_weight_info(cfg, i, name, sizeof name, &ndim, shape);
    const rc_tensor *w = weights[i];
    if (!w) return rc_fail(RC_ERR_ARG, "%s: %s is missing", fn, name);
    if (w->dtype != RC_FLOAT32)
      return rc_fail(RC_ERR_ARG, "%s: %s must be float32, got %s", fn, name,
                     rc_dtype_name(w->dtype));
    bool ok = w->ndim == ndim && w->shape[0] == shape[0] && (ndim == 1 || w->shape[1] == shape[1]);
    if (!ok)
      return rc_fail(RC_ERR_SHAPE, "%s: %s must have shape %s, got %s", fn, name,
                     rc_dims_str(ndim, shape, want, sizeof want), rc_shape_str(w, got, sizeof got));
  }

  len_index *order = NULL;
  if (lengths) {
    if (lengths->dtype != RC_INT64)
      return rc_fail(RC_ERR_ARG, "%s: lengths must be int64, got %s", fn,
                     rc_dtype_name(lengths->dtype));
    if (lengths->ndim != 1 || lengths->shape[0] != B)
      return rc_fail(RC_ERR_SHAPE,
                     "%s: lengths must have one entry per sequence, shape (%lld), got %s", fn,
                     (long long)B, rc_shape_str(lengths, got, sizeof got));
    if (!(order = malloc(sizeof *order * (size_t)B)))
      return rc_fail(RC_ERR_NOMEM, "%s: out of memory", fn);
    const int64_t *lv = rc_i64(lengths);
    for (int64_t b = 0; b < B; b++) {
      int64_t len = lv[b * lengths->stride[0]];
      if (len < 1 || len > T) {
        free(order);
        return rc_fail(RC_ERR_ARG,
                       "%s: lengths must be in 1..T=%lld, but sequence %lld of %lld has length "
                       "%lld", fn, (long long)T, (long long)(b + 1), (long long)B, (long long)len);
      }
      order[b] = (len_index){len, b};
    }
    qsort(order, (size_t)B, sizeof *order, by_length);
  }

  rc_rnn_plan *p = malloc(sizeof *p + sizeof(int64_t) * (size_t)(B + T + 1));
  if (!p) {
    free(order);
    return rc_fail(RC_ERR_NOMEM, "%s: out of memory", fn);
  }
  p->mode = cfg->mode;
  p->fn = fn;
  p->T = T, p->B = B, p->D = cfg->input_size, p->H = H;
  p->L = cfg->num_layers, p->dirs = dirs, p->G = rc_rnn_gate_count(cfg->mode);
  p->GS = cfg->mode == RC_GRU ? 4 * H : p->G * H;
  p->has_bias = cfg->has_bias, p->has_h0 = h0 != NULL, p->has_c0 = c0 != NULL;
  p->dropout = cfg->training && cfg->num_layers > 1 ? cfg->dropout : 0.0;
  p->perm = (int64_t *)(p + 1);
  p->bs = p->perm + B;
  p->sorted = true;
  for (int64_t i = 0; i < B; i++) {
    p->perm[i] = order ? order[i].index : i;
    if (p->perm[i] != i) p->sorted = false;
  }
  /* bs[t] = how many sequences are longer than t: a prefix of the sorted batch. */
  int64_t active = B;
  for (int64_t t = 0; t <= T; t++) {
    while (order && active > 0 && order[active - 1].len <= t) active--;
    p->bs[t] = t == T ? 0 : active;
  }
  free(order);
  *plan = p;
  return RC_OK;
}
