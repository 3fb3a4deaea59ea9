/* core/rnn_layer.c — the sequence driver of the recurrent layers: argument checks, the plan
   (batch sorted by length), forward and backward over layers, directions and steps. */
#include <blis.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "alloc.h"
#include "gemm.h"
#include "loop.h"
#include "ops.h"
#include "random.h"
#include "rnn.h"
#include "runtime.h"
#include "small_tile.h"

/* The shape of the work, cuDNN's and oneDNN's: per layer and direction, the input projection
   of all T steps is one GEMM (T*B x D times D x G*H) with the biases folded in; each step is
   one recurrent GEMM (h_{t-1} W_hh^T over the rows still running) and one fused pass of gate
   math (core/rnn_tanh.c, lstm.c, gru.c). Backward runs the steps in reverse with the fused
   gate derivatives, keeps d pre-activations of all steps, and ends with a few large GEMMs:
   dW_ih = dG^T X, dW_hh = dG^T H_prev, db = column sums of dG, dX = dG W_ih.
   The large GEMMs go through rc_gemm; the per-step ones run on W_hh packed once per layer
   into BLIS's micro-panels (see "the recurrence on packed W_hh"), with rc_gemm as fallback.
   Everything runs in the sorted batch order; x, states and results are permuted once. */

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

/* --- threads ---------------------------------------------------------------------------------- */

static int threading_policy; /* see rc_rnn_set_threading: a policy 0..5, + 8 to flip the kernel */

int rc_rnn_set_threading(int policy) {
  int was = threading_policy;
  threading_policy = policy;
  return was;
}

/* A layer's whole recurrence below this many multiply-adds is not worth waking threads for. */
static const int64_t stream_min_madds = INT64_C(1) << 18;

/* Per-step GEMMs below this many multiply-adds run faster as independent one-thread streams
   (the two directions, or halves of the batch) than as one GEMM split over the threads. Only
   for the rc_gemm path (policies 1, 2), kept to measure the packed path against. */
static const int64_t stream_max_madds = INT64_C(1) << 23;

/* The threads a layer's recurrence may use: one when it is too small to pay for waking more
   (unless a policy was set explicitly, as the tests do to reach the threaded code). */
static int recurrence_threads(const rc_rnn_plan *p) {
  int64_t madds = p->T * p->B * p->G * p->H * p->H * p->dirs;
  return madds < stream_min_madds && threading_policy == 0 ? 1 : rc_threads();
}

/* The rc_gemm path as streams: `chunks` row ranges per direction, run concurrently (each GEMM
   on one thread) or one after another (each GEMM on all threads). */
static void choose_streams(const rc_rnn_plan *p, int threads, int *chunks, bool *concurrent) {
  int64_t madds = p->B * p->G * p->H * p->H;
  int policy = threading_policy & 7;
  bool split = policy == 1 || (policy != 2 && madds < stream_max_madds);
  *chunks = 1;
  *concurrent = false;
  if (threads < 2 || !split) return;
  int want = (threads + p->dirs - 1) / p->dirs;
  while (want > 1 && p->B / want < 4) want--; /* keep a few rows per GEMM */
  *chunks = want;
  *concurrent = p->dirs * want > 1;
}

/* A GEMM of a stream: one thread inside concurrent streams, else rc_gemm's own choice (small
   products stay on one thread). */
static rc_status stream_gemm(int threads, int64_t m, int64_t n, int64_t k, const float *a,
                             int64_t a_rs, int64_t a_cs, const float *b, int64_t b_rs,
                             int64_t b_cs, float beta, float *c, int64_t c_rs) {
  if (threads == 1)
    return rc_gemm_threads(1, m, n, k, 1.0f, a, a_rs, a_cs, b, b_rs, b_cs, beta, c, c_rs, 1);
  return rc_gemm(m, n, k, 1.0f, a, a_rs, a_cs, b, b_rs, b_cs, beta, c, c_rs, 1);
}

/* Rows [lo, hi) split into `parts` nearly equal pieces; piece k. */
static void piece(int64_t lo, int64_t hi, int parts, int k, int64_t *a, int64_t *b) {
  int64_t n = hi - lo;
  *a = lo + n * k / parts;
  *b = lo + n * (k + 1) / parts;
}

/* --- buffers ---------------------------------------------------------------------------------- */

/* Where layer l's pieces sit in the reserve (floats from the layer's start; -1 = absent). */
typedef struct {
  int64_t gates, cells, out, mask, xin, size;
} layer_layout;

static layer_layout layout_of(const rc_rnn_plan *p, int l) {
  int64_t TB = p->T * p->B, OW = p->dirs * p->H, o = 0;
  layer_layout r = {-1, -1, -1, -1, -1, 0};
  r.gates = o, o += p->dirs * TB * p->GS;
  if (p->mode == RC_LSTM) r.cells = o, o += p->dirs * TB * p->H;
  /* The last layer's output is the result itself when no permutation separates them. */
  if (l < p->L - 1 || !p->sorted) r.out = o, o += TB * OW;
  if (l > 0 && p->dropout > 0) r.mask = o, o += TB * OW, r.xin = o, o += TB * OW;
  r.size = o;
  return r;
}

static int64_t layer_start(const rc_rnn_plan *p, int l) {
  int64_t o = 0;
  for (int k = 0; k < l; k++) o += layout_of(p, k).size;
  return o;
}

int64_t rc_rnn_reserve_numel(const rc_rnn_plan *p) { return layer_start(p, p->L); }

/* A scratch block from the allocator's cache (training loops ask for the same sizes). */
typedef struct {
  float *data;
  size_t bytes;
} block;

static rc_status block_get(block *b, const char *fn, int64_t floats) {
  b->bytes = sizeof(float) * (size_t)(floats > 0 ? floats : 1);
  b->data = rc_block_alloc(b->bytes);
  if (!b->data) return rc_fail(RC_ERR_NOMEM, "%s: out of memory for a %lld-float workspace", fn,
                               (long long)floats);
  return RC_OK;
}

static void block_put(block *b) {
  if (b->data) rc_block_free(b->data, b->bytes);
  b->data = NULL;
}

/* Bump allocation inside one block. */
static float *take(float **cursor, int64_t floats) {
  float *p = *cursor;
  *cursor += (floats + 15) & ~(int64_t)15; /* keep every piece 64-byte aligned */
  return p;
}

static int64_t rounded(int64_t floats) { return (floats + 15) & ~(int64_t)15; }

/* The flat weights as contiguous tensors (themselves, retained, when already contiguous). */
static rc_status contiguous_weights(const rc_rnn_plan *p, const rc_tensor *const *weights,
                                    rc_tensor **cw) {
  int n = p->L * p->dirs * (p->has_bias ? 4 : 2);
  for (int i = 0; i < n; i++) {
    rc_status st = rc_contiguous(&cw[i], weights[i]);
    if (st) {
      while (i-- > 0) rc_release(cw[i]);
      return st;
    }
  }
  return RC_OK;
}

static void release_all(rc_tensor **ts, int n) {
  for (int i = 0; i < n; i++) rc_release(ts[i]);
}

static int weight_index(const rc_rnn_plan *p, int l, int d, int kind) {
  return (l * p->dirs + d) * (p->has_bias ? 4 : 2) + kind;
}

/* dst (n0, B, C) contiguous, in sorted row order = src (n0, B, C) any strides:
   dst[a][i] = src[a][perm[i]]. */
static void gather(float *dst, const rc_tensor *src, const int64_t *perm) {
  int64_t n0 = src->shape[0], B = src->shape[1], C = src->shape[2];
  const int64_t *s = src->stride;
  const float *base = rc_f32(src);
  bool par = n0 * B * C >= RC_PARALLEL_MIN;
#pragma omp parallel for schedule(static) num_threads(rc_threads()) if (par)
  for (int64_t a = 0; a < n0; a++)
    for (int64_t i = 0; i < B; i++) {
      const float *from = base + a * s[0] + perm[i] * s[1];
      float *to = dst + (a * B + i) * C;
      if (s[2] == 1)
        memcpy(to, from, sizeof(float) * (size_t)C);
      else
        for (int64_t c = 0; c < C; c++) to[c] = from[c * s[2]];
    }
}

/* dst (n0, B, C) contiguous: dst[a][perm[i]] = src[a][i], src rows of stride C. */
static void scatter(float *dst, const float *src, int64_t n0, int64_t B, int64_t C,
                    const int64_t *perm) {
  bool par = n0 * B * C >= RC_PARALLEL_MIN;
#pragma omp parallel for schedule(static) num_threads(rc_threads()) if (par)
  for (int64_t a = 0; a < n0; a++)
    for (int64_t i = 0; i < B; i++)
      memcpy(dst + (a * B + perm[i]) * C, src + (a * B + i) * C, sizeof(float) * (size_t)C);
}

/* --- one layer -------------------------------------------------------------------------------- */

/* Everything the steps of one layer touch. Matrices are row-major with the row strides given;
   rows are (t, sorted batch row) pairs, t*B + i. */
typedef struct {
  const rc_rnn_plan *p;
  int l;
  int64_t Din;                     /* D_l: input_size, or dirs*H above layer 0 */
  const float *x;                  /* X_l (T*B, Din), row stride Din */
  float *out;                      /* O_l (T*B, dirs*H) */
  float *gates[2], *cells[2];      /* (T*B, GS), (T*B, H); cells NULL when not kept */
  float *h[2], *c[2], *hw[2];      /* running state (B, H), (B, H); GRU's h W_hh^T (B, 3H) */
  const float *w_ih[2], *w_hh[2], *b_ih[2], *b_hh[2];
  const float *zeros;              /* (B, H) of zeros: absent states and gradients */
  /* backward */
  float *dg[2];                    /* d pre-activations (T*B, GS) */
  const float *dout;               /* d O_l, row stride dos (0: one zero row) */
  int64_t dos;
  float *dh[2], *dc[2];            /* running d h, d c (B, H) */
  const float *h0[2], *c0[2];      /* sorted initial states (B, H), or zeros */
} layer_ctx;

/* The gate math of step t, rows [lo, hi), units [u0, u1). */
static void gate_forward(const layer_ctx *L, int d, int64_t t, int64_t lo, int64_t hi, int64_t u0,
                         int64_t u1) {
  const rc_rnn_plan *p = L->p;
  int64_t H = p->H, B = p->B, OW = p->dirs * H, n = hi - lo;
  float *g = L->gates[d] + (t * B + lo) * p->GS, *o = L->out + (t * B + lo) * OW + d * H;
  float *h = L->h[d] + lo * H;
  switch (p->mode) {
  case RC_RNN_TANH:
  case RC_RNN_RELU:
    rc_rnn_step_forward(p->mode == RC_RNN_RELU, n, H, u0, u1, g, p->GS, h, o, OW);
    break;
  case RC_LSTM:
    rc_lstm_step_forward(n, H, u0, u1, g, p->GS, h, L->c[d] + lo * H, o, OW,
                         L->cells[d] ? L->cells[d] + (t * B + lo) * H : NULL);
    break;
  case RC_GRU: {
    const float *bhn = L->b_hh[d] ? L->b_hh[d] + 2 * H : L->zeros;
    rc_gru_step_forward(n, H, u0, u1, g, p->GS, L->hw[d] + lo * 3 * H, 3 * H, bhn, h, o, OW);
    break;
  }
  }
}

/* The gate derivatives of step t, rows [lo, hi), units [u0, u1), whose previous states all come
   from h_prev/c_prev (rows of stride ps, already offset to row lo). */
static void gate_backward(const layer_ctx *L, int d, int64_t t, int64_t lo, int64_t hi,
                          int64_t u0, int64_t u1, const float *h_prev, const float *c_prev,
                          int64_t ps) {
  const rc_rnn_plan *p = L->p;
  int64_t H = p->H, B = p->B, OW = p->dirs * H, n = hi - lo, GS = p->GS;
  float *dg = L->dg[d] + (t * B + lo) * GS;
  const float *g = L->gates[d] + (t * B + lo) * GS;
  const float *dout = L->dos ? L->dout + (t * B + lo) * L->dos + d * H : L->zeros;
  switch (p->mode) {
  case RC_RNN_TANH:
  case RC_RNN_RELU:
    rc_rnn_step_backward(p->mode == RC_RNN_RELU, n, H, u0, u1, dg, GS, L->dh[d] + lo * H, dout,
                         L->dos, L->out + (t * B + lo) * OW + d * H, OW);
    break;
  case RC_LSTM:
    rc_lstm_step_backward(n, H, u0, u1, dg, GS, L->dc[d] + lo * H, L->dh[d] + lo * H, dout,
                          L->dos, g, GS, L->cells[d] + (t * B + lo) * H, c_prev, ps);
    break;
  case RC_GRU:
    rc_gru_step_backward(n, H, u0, u1, dg, GS, L->dh[d] + lo * H, dout, L->dos, g, GS, h_prev, ps);
    break;
  }
}

/* Rows [lo, hi) at step t: the previous states of rows below `fresh` come from step prev_t
   (the layer's out and cells), the others from h0/c0 (sequences starting at t). */
static void gate_backward_split(const layer_ctx *L, int d, int64_t t, int64_t lo, int64_t hi,
                                int64_t u0, int64_t u1, int64_t prev_t, int64_t fresh) {
  const rc_rnn_plan *p = L->p;
  int64_t H = p->H, B = p->B, OW = p->dirs * H;
  int64_t mid = hi < fresh ? hi : fresh > lo ? fresh : lo; /* [lo, mid) go on, [mid, hi) start */
  if (mid > lo) {
    const float *hp = L->out + (prev_t * B + lo) * OW + d * H;
    const float *cp = L->cells[d] ? L->cells[d] + (prev_t * B + lo) * H : NULL;
    gate_backward(L, d, t, lo, mid, u0, u1, hp, cp, p->mode == RC_GRU ? OW : H);
  }
  if (hi > mid)
    gate_backward(L, d, t, mid, hi, u0, u1, L->h0[d] + mid * H, L->c0[d] + mid * H, H);
}

/* Where step t's rows continue from: forward, every running row from step t-1 (none at t = 0);
   reverse, rows still running at t+1 from there, the others start at t from h0. */
static void previous_step(const rc_rnn_plan *p, int d, int64_t t, int64_t lo, int64_t hi,
                          int64_t *prev_t, int64_t *fresh) {
  *prev_t = d == 0 ? t - 1 : t + 1;
  *fresh = d == 0 ? (t > 0 ? hi : lo) : (p->bs[t + 1] < hi ? p->bs[t + 1] : hi);
}

/* --- the recurrence through rc_gemm (policies 1 and 2) ------------------------------------------
   One stream is a direction and a range of batch rows [r0, r1); each step calls rc_gemm, which
   repacks W_hh every time. Kept as the fallback and to measure the packed path against. */

static rc_status stream_forward(const layer_ctx *L, int d, int64_t r0, int64_t r1, int threads) {
  const rc_rnn_plan *p = L->p;
  int64_t T = p->T, B = p->B, H = p->H, GH = p->G * H, OW = p->dirs * H;
  for (int64_t s = 0; s < T; s++) {
    int64_t t = d == 0 ? s : T - 1 - s;
    int64_t hi = r1 < p->bs[t] ? r1 : p->bs[t], lo = r0;
    /* Sequences already finished output zeros at this step. */
    for (int64_t i = hi > r0 ? hi : r0; i < r1; i++)
      memset(L->out + (t * B + i) * OW + d * H, 0, sizeof(float) * (size_t)H);
    if (hi <= lo) continue;
    int64_t n = hi - lo;
    /* At the first step with no h0 every running row is h0 = 0: nothing to multiply. */
    bool zero_state = s == 0 && !p->has_h0;
    rc_status st = RC_OK;
    if (p->mode == RC_GRU) {
      if (zero_state)
        memset(L->hw[d] + lo * 3 * H, 0, sizeof(float) * (size_t)(n * 3 * H));
      else
        st = stream_gemm(threads, n, GH, H, L->h[d] + lo * H, H, 1, L->w_hh[d], 1, H, 0.0f,
                         L->hw[d] + lo * 3 * H, 3 * H);
    } else if (!zero_state) {
      st = stream_gemm(threads, n, GH, H, L->h[d] + lo * H, H, 1, L->w_hh[d], 1, H, 1.0f,
                       L->gates[d] + (t * B + lo) * p->GS, p->GS);
    }
    if (st) return st;
    if (threads > 1 && n * p->GS >= RC_PARALLEL_MIN) {
#pragma omp parallel for schedule(static) num_threads(threads)
      for (int k = 0; k < threads; k++) {
        int64_t a, b;
        piece(lo, hi, threads, k, &a, &b);
        if (b > a) gate_forward(L, d, t, a, b, 0, H);
      }
    } else {
      gate_forward(L, d, t, lo, hi, 0, H);
    }
  }
  return RC_OK;
}

static rc_status stream_backward(const layer_ctx *L, int d, int64_t r0, int64_t r1, int threads) {
  const rc_rnn_plan *p = L->p;
  int64_t T = p->T, B = p->B, H = p->H, GH = p->G * H, GS = p->GS;
  for (int64_t s = 0; s < T; s++) {
    int64_t t = d == 0 ? T - 1 - s : s;
    int64_t hi = r1 < p->bs[t] ? r1 : p->bs[t], lo = r0;
    /* Rows not running at step t get no gradient there (the weight GEMMs read all rows). */
    for (int64_t i = hi > r0 ? hi : r0; i < r1; i++)
      memset(L->dg[d] + (t * B + i) * GS, 0, sizeof(float) * (size_t)GS);
    if (hi <= lo) continue;
    int64_t prev_t, fresh;
    previous_step(p, d, t, lo, hi, &prev_t, &fresh);
    int parts = threads > 1 && (hi - lo) * GS >= RC_PARALLEL_MIN ? threads : 1;
#pragma omp parallel for schedule(static) num_threads(parts) if (parts > 1)
    for (int k = 0; k < parts; k++) {
      int64_t a, b;
      piece(lo, hi, parts, k, &a, &b);
      if (b > a) gate_backward_split(L, d, t, a, b, 0, H, prev_t, fresh);
    }
    /* d h_{t-1} = dG W_hh (GRU: plus the z * dh its kernel left there). */
    rc_status st = stream_gemm(threads, hi - lo, H, GH, L->dg[d] + (t * B + lo) * GS, GS, 1,
                               L->w_hh[d], H, 1, p->mode == RC_GRU ? 1.0f : 0.0f,
                               L->dh[d] + lo * H, H);
    if (st) return st;
  }
  return RC_OK;
}

typedef rc_status (*stream_fn)(const layer_ctx *L, int d, int64_t r0, int64_t r1, int threads);

static rc_status run_gemm_streams(const layer_ctx *L, stream_fn fn) {
  const rc_rnn_plan *p = L->p;
  int threads = recurrence_threads(p), chunks;
  bool concurrent;
  choose_streams(p, threads, &chunks, &concurrent);
  int n = p->dirs * chunks;
  if (!concurrent) {
    for (int k = 0; k < n; k++) {
      int64_t r0, r1;
      piece(0, p->B, chunks, k % chunks, &r0, &r1);
      rc_status st = fn(L, k / chunks, r0, r1, threads);
      if (st) return st;
    }
    return RC_OK;
  }
  rc_status status[64] = {RC_OK};
  if (n > 64) n = 64, chunks = 64 / p->dirs;
#pragma omp parallel for schedule(static, 1) num_threads(n < threads ? n : threads)
  for (int k = 0; k < n; k++) {
    int64_t r0, r1;
    piece(0, p->B, chunks, k % chunks, &r0, &r1);
    status[k] = fn(L, k / chunks, r0, r1, 1);
  }
  for (int k = 0; k < n; k++)
    if (status[k]) /* the message was left on a worker thread */
      return rc_fail(status[k], "%s: a GEMM of the recurrence failed", p->fn);
  return RC_OK;
}

/* --- the recurrence on packed W_hh (policies 0, 3, 4, 5) ----------------------------------------
   BLIS packs both operands into micro-panels at every call; W_hh is the same for all T steps, so
   each stream packs it once and calls BLIS's own microkernel on the panels (as oneDNN's packed
   GEMM does). Threads work on independent streams (a direction, or part of its batch) where the
   steps are small; on larger steps the threads of a stream split its hidden units: each owns
   the GEMM columns of its units (all gates) and then does their gate math, so one barrier per
   step is the only sync; each packs its units' share of the next GEMM's state operand (h_t
   forward, dG_t backward) into double-buffered panels. */

typedef struct {
  sgemm_ukr_ft ukr;
  cntx_t *cntx;
  int64_t kc;         /* BLIS's k blocking: a weight micro-panel of kc rows stays in L1 */
  bool state_is_a;    /* kernel A = state (the kernel prefers row-stored C), else its transpose */
  int64_t ws, ww;     /* micro-panel widths: state side (rows of C), weight side (columns of C) */
} ukernel;

static bool ukernel_query(ukernel *u) {
  cntx_t *cntx = bli_gks_query_cntx();
  if (!cntx) return false;
  int64_t mr = bli_cntx_get_blksz_def_dt(BLIS_FLOAT, BLIS_MR, cntx);
  int64_t nr = bli_cntx_get_blksz_def_dt(BLIS_FLOAT, BLIS_NR, cntx);
  int64_t kc = bli_cntx_get_blksz_def_dt(BLIS_FLOAT, BLIS_KC, cntx);
  void_fp f = bli_cntx_get_l3_nat_ukr_dt(BLIS_FLOAT, BLIS_GEMM_UKR, cntx);
  if (!f || mr < 1 || nr < 1 || kc < 1) return false;
  bool rows = bli_cntx_l3_nat_ukr_prefers_rows_dt(BLIS_FLOAT, BLIS_GEMM_UKR, cntx);
  if (threading_policy & 8) rows = !rows; /* the other orientation, for tests */
  u->ukr = (sgemm_ukr_ft)f;
  u->cntx = cntx;
  u->kc = kc;
  u->state_is_a = rows;
  u->ws = rows ? mr : nr;
  u->ww = rows ? nr : mr;
  return true;
}

/* One tile: C (mi x nj, row stride ldc) = beta C + state panel (mi x k) * weight panel (k x nj).
   next_s: the state panel of the next call (the kernel prefetches it). */
static inline void ukr_tile(const ukernel *u, int64_t mi, int64_t nj, int64_t k, const float *s,
                            const float *w, float beta, float *c, int64_t ldc,
                            const float *next_s) {
  float one = 1.0f;
  auxinfo_t aux;
  memset(&aux, 0, sizeof aux);
  if (u->state_is_a) {
    aux.a_next = (void *)next_s, aux.b_next = (void *)w;
    u->ukr(mi, nj, k, &one, (float *)s, (float *)w, &beta, c, ldc, 1, &aux, u->cntx);
  } else { /* C^T = W^T s^T: C stored by columns from the kernel's view */
    aux.a_next = (void *)w, aux.b_next = (void *)next_s;
    u->ukr(nj, mi, k, &one, (float *)w, (float *)s, &beta, c, 1, ldc, &aux, u->cntx);
  }
}

/* Panels hold k rows of `width` values each (row p of a panel = index p of the sum). */
static int64_t panel_floats(int64_t k, int64_t width) { return rounded(k * width); }

/* State panels: columns [p0, p1) of rows [0, n) of src (row stride ld), rows up to a whole
   panel zero; panel i holds rows i*ws ... */
static void pack_state(float *panels, int64_t k, int64_t ws, const float *src, int64_t ld,
                       int64_t n, int64_t p0, int64_t p1) {
  int64_t stride = panel_floats(k, ws);
  for (int64_t i = 0; i * ws < n; i++) {
    float *pn = panels + i * stride;
    for (int64_t r = 0; r < ws; r++) {
      int64_t row = i * ws + r;
      if (row < n) {
        const float *from = src + row * ld;
        for (int64_t q = p0; q < p1; q++) pn[q * ws + r] = from[q];
      } else {
        for (int64_t q = p0; q < p1; q++) pn[q * ws + r] = 0.0f;
      }
    }
  }
}

/* C rows [0, m) = beta C + state panels (k) * weight panels (g, b) for g < G, b in [b0, b1):
   panel (g, b) makes C's columns g*H + b*ww ... (min(ww, H - b*ww) of them). Whole tiles of ws
   rows go to BLIS's microkernel; the rows left over (batch 1, the batch's last rows), for which
   it would compute a whole tile, go to rc_small_tile, several panels at once. */
static void packed_gemm(const ukernel *u, int64_t m, int64_t k, const float *sp, const float *wp,
                        int G, int64_t H, int64_t b0, int64_t b1, int64_t nblk, float beta,
                        float *C, int64_t ldc) {
  int64_t ws = u->ws, ww = u->ww, sstride = panel_floats(k, ws), wstride = panel_floats(k, ww);
  int64_t whole = m / ws, tail = m - whole * ws;
  int group = tail > 0 ? rc_small_tile_panels(tail, ww) : 0; /* 0: the microkernel takes it */
  int64_t tiles = group > 0 ? whole : (m + ws - 1) / ws;
  for (int64_t p0 = 0; p0 < k; p0 += u->kc) {
    int64_t kb = k - p0 < u->kc ? k - p0 : u->kc;
    float bt = p0 == 0 ? beta : 1.0f;
    for (int g = 0; g < G; g++) {
      for (int64_t b = b0; b < b1; b++) {
        const float *w = wp + (g * nblk + b) * wstride + p0 * ww;
        int64_t nj = H - b * ww < ww ? H - b * ww : ww;
        float *cc = C + g * H + b * ww;
        for (int64_t i = 0; i < tiles; i++) {
          int64_t mi = m - i * ws < ws ? m - i * ws : ws;
          const float *s = sp + i * sstride + p0 * ws;
          ukr_tile(u, mi, nj, kb, s, w, bt, cc + i * ws * ldc, ldc,
                   (i + 1) * ws < m ? s + sstride : sp + p0 * ws);
        }
      }
      for (int64_t b = b0; group > 0 && b < b1; b += group) {
        int np = b1 - b < group ? (int)(b1 - b) : group;
        int64_t ncols = H - b * ww < np * ww ? H - b * ww : np * ww;
        rc_small_tile(tail, np, ncols, kb, sp + whole * sstride + p0 * ws, ws,
                      wp + (g * nblk + b) * wstride + p0 * ww, wstride, ww, bt,
                      C + whole * ws * ldc + g * H + b * ww, ldc);
      }
    }
  }
}

/* The units a thread owns: whole weight panels, [b0, b1) of nblk. */
typedef struct {
  int64_t b0, b1, u0, u1, nblk;
} unit_share;

static unit_share share_of(int64_t H, int64_t ww, int q, int nt) {
  unit_share s;
  s.nblk = (H + ww - 1) / ww;
  s.b0 = s.nblk * q / nt, s.b1 = s.nblk * (q + 1) / nt;
  s.u0 = s.b0 * ww < H ? s.b0 * ww : H;
  s.u1 = s.b1 * ww < H ? s.b1 * ww : H;
  return s;
}

static void team_barrier(int nt) {
  if (nt > 1) {
#pragma omp barrier
  }
}

/* One packed stream: direction d, batch rows [r0, r1), and unit share q of nt (the threads of a
   stream split the units and meet at a barrier every step; streams never meet). */
typedef struct {
  int d, q, nt;
  int64_t r0, r1;
  float *wp, *sp[2];  /* weight panels, double-buffered state panels */
} packed_stream;

/* Forward: pack this share's W_hh panels, then per step the GEMM into its units' columns and
   their gate math, and pack its units of h_t for the next step. */
static void packed_forward(const layer_ctx *L, const ukernel *u, const packed_stream *ps) {
  const rc_rnn_plan *p = L->p;
  int d = ps->d, nt = ps->nt;
  int64_t T = p->T, B = p->B, H = p->H, OW = p->dirs * H, ww = u->ww, r0 = ps->r0;
  int64_t rows = ps->r1 - r0;
  bool gru = p->mode == RC_GRU;
  unit_share my = share_of(H, ww, ps->q, nt);
  int64_t wstride = panel_floats(H, ww), nu = my.u1 - my.u0;
  /* Panel (g, b): rows g*H + b*ww ... of W_hh, transposed to k = H rows of ww. */
  for (int g = 0; g < p->G; g++)
    for (int64_t b = my.b0; b < my.b1; b++) {
      float *pn = ps->wp + (g * my.nblk + b) * wstride;
      for (int64_t c = 0; c < ww; c++) {
        int64_t unit = b * ww + c;
        const float *row = L->w_hh[d] + (g * H + unit) * H;
        for (int64_t k = 0; k < H; k++) pn[k * ww + c] = unit < H ? row[k] : 0.0f;
      }
    }
  pack_state(ps->sp[0], H, u->ws, L->h[d] + r0 * H, H, rows, my.u0, my.u1);
  team_barrier(nt);
  for (int64_t s = 0; s < T; s++) {
    int64_t t = d == 0 ? s : T - 1 - s;
    int64_t end = p->bs[t] < ps->r1 ? p->bs[t] : ps->r1, m = end > r0 ? end - r0 : 0;
    for (int64_t i = r0 + m; i < ps->r1; i++) /* finished sequences output zeros */
      memset(L->out + (t * B + i) * OW + d * H + my.u0, 0, sizeof(float) * (size_t)nu);
    if (m > 0 && nu > 0) {
      float *C = gru ? L->hw[d] + r0 * 3 * H : L->gates[d] + (t * B + r0) * p->GS;
      int64_t ldc = gru ? 3 * H : p->GS;
      if (s > 0 || p->has_h0) {
        packed_gemm(u, m, H, ps->sp[s % 2], ps->wp, p->G, H, my.b0, my.b1, my.nblk,
                    gru ? 0.0f : 1.0f, C, ldc);
      } else if (gru) { /* h = 0 at the first step: h W_hh^T = 0 */
        for (int64_t i = 0; i < m; i++)
          for (int g = 0; g < 3; g++)
            memset(C + i * ldc + g * H + my.u0, 0, sizeof(float) * (size_t)nu);
      }
      gate_forward(L, d, t, r0, r0 + m, my.u0, my.u1);
    }
    /* All rows: a sequence starting later (reverse) reads its h0 from here. */
    pack_state(ps->sp[(s + 1) % 2], H, u->ws, L->h[d] + r0 * H, H, rows, my.u0, my.u1);
    team_barrier(nt);
  }
}

/* Backward: per step the gate derivatives of this share's units, packed as the state operand,
   then d h_{t-1} (its units' columns) = dG W_hh. */
static void packed_backward(const layer_ctx *L, const ukernel *u, const packed_stream *ps) {
  const rc_rnn_plan *p = L->p;
  int d = ps->d, nt = ps->nt;
  int64_t T = p->T, B = p->B, H = p->H, GH = p->G * H, GS = p->GS, ww = u->ww, r0 = ps->r0;
  unit_share my = share_of(H, ww, ps->q, nt);
  int64_t wstride = panel_floats(GH, ww), nu = my.u1 - my.u0;
  /* Panel b: columns b*ww ... of W_hh, k = G*H rows of ww. */
  for (int64_t b = my.b0; b < my.b1; b++) {
    float *pn = ps->wp + b * wstride;
    for (int64_t k = 0; k < GH; k++)
      for (int64_t c = 0; c < ww; c++) {
        int64_t unit = b * ww + c;
        pn[k * ww + c] = unit < H ? L->w_hh[d][k * H + unit] : 0.0f;
      }
  }
  for (int64_t s = 0; s < T; s++) {
    int64_t t = d == 0 ? T - 1 - s : s;
    int64_t end = p->bs[t] < ps->r1 ? p->bs[t] : ps->r1, m = end > r0 ? end - r0 : 0;
    float *dg = L->dg[d] + t * B * GS;
    /* Rows not running at step t get no gradient there (the weight GEMMs read all rows). */
    for (int64_t i = r0 + m; i < ps->r1; i++)
      for (int64_t k = 0; k < GS / H; k++)
        memset(dg + i * GS + k * H + my.u0, 0, sizeof(float) * (size_t)nu);
    if (m > 0 && nu > 0) {
      int64_t prev_t, fresh;
      previous_step(p, d, t, r0, r0 + m, &prev_t, &fresh);
      gate_backward_split(L, d, t, r0, r0 + m, my.u0, my.u1, prev_t, fresh);
      for (int g = 0; g < p->G; g++)
        pack_state(ps->sp[s % 2], GH, u->ws, dg + r0 * GS, GS, m, g * H + my.u0, g * H + my.u1);
    }
    team_barrier(nt);
    if (m > 0 && nu > 0) /* d h_{t-1} = dG W_hh (GRU: plus the z * dh its kernel left there) */
      packed_gemm(u, m, GH, ps->sp[s % 2], ps->wp, 1, H, my.b0, my.b1, my.nblk,
                  p->mode == RC_GRU ? 1.0f : 0.0f, L->dh[d] + r0 * H, H);
  }
}

/* Per-step GEMMs below this many multiply-adds per thread are too short to pay a barrier each
   step: the threads take halves of the batch instead (each with its own copy of the panels).
   Measured on 2 Zen 3 cores, training, (D,H,T,B) = (128,128,50,50): LSTM 22.1 ms with the
   batch split against 26.1 ms with the units split, GRU 22.9 against 27.2; at (512,512,100,64)
   the two are within noise of each other, and a loaded machine makes every per-step barrier
   cost a scheduler time slice (LSTM-128 then 489 ms split by units, 104 ms by batch). */
static const int64_t unit_split_min_madds = INT64_C(1) << 23;

/* Run the packed recurrence of one layer. Streams: the directions, each cut into batch chunks
   when steps are small (policy 5 always, 3 and 4 never), run concurrently; the threads left
   over per stream split its units (policy 4: the directions one after another, on all
   threads). */
static rc_status run_packed(const layer_ctx *L, const ukernel *u, bool backward) {
  const rc_rnn_plan *p = L->p;
  int threads = recurrence_threads(p), policy = threading_policy & 7;
  bool concurrent = policy != 4 && p->dirs > 1 && threads > 1;
  int per_dir = concurrent ? threads / p->dirs : threads; /* threads per direction */
  if (per_dir < 1) per_dir = 1;
  int64_t nblk = (p->H + u->ww - 1) / u->ww;
  int chunks = 1, tps = per_dir;
  int64_t step_madds = p->B * p->G * p->H * p->H / per_dir;
  bool split_batch = policy == 5 || (policy == 0 && step_madds < unit_split_min_madds);
  if (per_dir > 1 && split_batch && p->B >= 2 * u->ws) {
    chunks = per_dir;
    while (chunks > 1 && p->B / chunks < u->ws) chunks--;
    tps = 1;
  }
  if (tps > nblk) tps = (int)nblk;
  int64_t k = backward ? p->G * p->H : p->H;
  int64_t wfloats = backward ? nblk * panel_floats(k, u->ww)
                             : p->G * nblk * panel_floats(k, u->ww);
  int64_t sfloats = (p->B + u->ws - 1) / u->ws * panel_floats(k, u->ws);
  int nstreams = p->dirs * chunks, per_pass = concurrent ? nstreams : chunks;
  block ws;
  rc_status st = block_get(&ws, p->fn, nstreams * (wfloats + 2 * sfloats));
  if (st) return st;
  packed_stream streams[64];
  if (nstreams > 64) nstreams = 64; /* more than 64 threads: never on the machines we know */
  for (int k2 = 0; k2 < nstreams; k2++) {
    packed_stream *s = &streams[k2];
    s->d = k2 / chunks;
    piece(0, p->B, chunks, k2 % chunks, &s->r0, &s->r1);
    s->wp = ws.data + k2 * (wfloats + 2 * sfloats);
    s->sp[0] = s->wp + wfloats, s->sp[1] = s->sp[0] + sfloats;
  }
  int team = per_pass * tps;
  for (int first = 0; first < nstreams; first += per_pass) {
#pragma omp parallel num_threads(team) if (team > 1)
    {
      int id = omp_get_thread_num(), got = omp_get_num_threads();
      if (got == team || id == 0) {
        /* With fewer threads than asked for, thread 0 runs every stream alone. */
        int lo = got == team ? id / tps : 0, hi = got == team ? lo + 1 : per_pass;
        for (int k2 = lo; k2 < hi; k2++) {
          packed_stream s = streams[first + k2];
          s.q = got == team ? id % tps : 0;
          s.nt = got == team ? tps : 1;
          if (backward)
            packed_backward(L, u, &s);
          else
            packed_forward(L, u, &s);
        }
      }
    }
  }
  block_put(&ws);
  return RC_OK;
}

/* The recurrence of one layer, forward or backward, by the chosen path. */
static rc_status run_recurrence(const layer_ctx *L, bool backward) {
  ukernel u;
  bool packed = (threading_policy & 7) != 1 && (threading_policy & 7) != 2;
  if (packed && ukernel_query(&u)) return run_packed(L, &u, backward);
  return run_gemm_streams(L, backward ? stream_backward : stream_forward);
}

/* --- forward ---------------------------------------------------------------------------------- */

/* The input projections of both directions: gates[:, :GH] = X W_ih^T + bias, one GEMM each.
   The bias row is b_ih + b_hh, except GRU's n part, which takes b_in only (b_hn sits inside
   r * (W_hn h + b_hn)). */
static rc_status project_inputs(const layer_ctx *L, float *bias_row) {
  const rc_rnn_plan *p = L->p;
  int64_t TB = p->T * p->B, H = p->H, GH = p->G * H, GS = p->GS;
  for (int d = 0; d < p->dirs; d++) {
    float *g = L->gates[d];
    float beta = 0.0f;
    if (p->has_bias) {
      for (int64_t j = 0; j < GH; j++)
        bias_row[j] = L->b_ih[d][j] + (p->mode == RC_GRU && j >= 2 * H ? 0.0f : L->b_hh[d][j]);
      bool par = TB * GH >= RC_PARALLEL_MIN;
#pragma omp parallel for schedule(static) num_threads(rc_threads()) if (par)
      for (int64_t r = 0; r < TB; r++) memcpy(g + r * GS, bias_row, sizeof(float) * (size_t)GH);
      beta = 1.0f;
    }
    rc_status st = rc_gemm(TB, GH, L->Din, 1.0f, L->x, L->Din, 1, L->w_ih[d], 1, L->Din, beta, g,
                           GS, 1);
    if (st) return st;
  }
  return RC_OK;
}

/* Layer by layer: projections, the recurrence, final states, then dropout into the next
   layer's input. Training (a reserve) keeps every layer's gates, cells, output and mask. */
rc_status rc_rnn_forward_run(const rc_rnn_plan *p, const rc_tensor *x, const rc_tensor *h0,
                             const rc_tensor *c0, const rc_tensor *const *weights,
                             rc_tensor *out, rc_tensor *h_n, rc_tensor *c_n,
                             rc_tensor *reserve) {
  rc_status st = rc_init();
  if (st) return st;
  int64_t T = p->T, B = p->B, H = p->H, TB = T * B, OW = p->dirs * H, GS = p->GS;
  int nw = rc_rnn_weight_count(&(rc_rnn_config){.num_layers = p->L, .bidirectional = p->dirs == 2,
                                                 .has_bias = p->has_bias});
  rc_tensor **cw = calloc((size_t)nw, sizeof *cw);
  if (!cw) return rc_fail(RC_ERR_NOMEM, "%s: out of memory", p->fn);
  if ((st = contiguous_weights(p, weights, cw))) {
    free(cw);
    return st;
  }
  bool training = reserve != NULL;
  bool copy_x = !p->sorted || !rc_is_contiguous(x);
  /* One workspace: running states, GRU scratch, zeros, the bias row, the sorted input, and
     (inference) the gates and two ping-pong layer outputs. */
  int64_t need = 2 * rounded(p->dirs * B * H) + rounded(p->dirs * B * 3 * H) + rounded(B * H) +
                 rounded(GS) + (copy_x ? rounded(TB * p->D) : 0);
  if (!training) need += p->dirs * rounded(TB * GS) + 2 * rounded(TB * OW);
  block ws = {0};
  rc_tensor *mask_t = NULL;
  if ((st = block_get(&ws, p->fn, need))) goto done;
  float *cur = ws.data;
  float *hrun = take(&cur, p->dirs * B * H), *crun = take(&cur, p->dirs * B * H);
  float *hw = take(&cur, p->dirs * B * 3 * H), *zeros = take(&cur, B * H);
  float *bias_row = take(&cur, GS);
  memset(zeros, 0, sizeof(float) * (size_t)(B * H));
  const float *x0 = rc_f32(x);
  if (copy_x) {
    float *xs = take(&cur, TB * p->D);
    gather(xs, x, p->perm);
    x0 = xs;
  }
  float *inf_gates = NULL, *pingpong[2] = {NULL, NULL};
  if (!training) {
    inf_gates = take(&cur, p->dirs * rounded(TB * GS));
    pingpong[0] = take(&cur, TB * OW), pingpong[1] = take(&cur, TB * OW);
  }
  float *res = training ? rc_f32(reserve) : NULL;
  const float *xin = x0;
  int64_t Din = p->D;
  for (int l = 0; l < p->L; l++) {
    layer_ctx L = {.p = p, .l = l, .Din = Din, .x = xin, .zeros = zeros};
    layer_layout lay = layout_of(p, l);
    float *base = training ? res + layer_start(p, l) : NULL;
    for (int d = 0; d < p->dirs; d++) {
      L.gates[d] = training ? base + lay.gates + d * TB * GS : inf_gates + d * rounded(TB * GS);
      L.cells[d] = training && lay.cells >= 0 ? base + lay.cells + d * TB * H : NULL;
      L.h[d] = hrun + d * B * H, L.c[d] = crun + d * B * H, L.hw[d] = hw + d * B * 3 * H;
      L.w_ih[d] = rc_f32(cw[weight_index(p, l, d, 0)]);
      L.w_hh[d] = rc_f32(cw[weight_index(p, l, d, 1)]);
      L.b_ih[d] = p->has_bias ? rc_f32(cw[weight_index(p, l, d, 2)]) : NULL;
      L.b_hh[d] = p->has_bias ? rc_f32(cw[weight_index(p, l, d, 3)]) : NULL;
    }
    bool last = l == p->L - 1;
    if (last && p->sorted) L.out = rc_f32(out);
    else if (training) L.out = base + lay.out;
    else L.out = pingpong[l % 2];
    /* Running states start at h0 / c0 (sorted), or zeros. */
    rc_tensor *hv = NULL, *cv = NULL;
    if (h0) {
      int64_t shape[3] = {p->dirs, B, H};
      int64_t at = h0->offset + l * p->dirs * h0->stride[0];
      if ((st = rc_view_of(&hv, h0, 3, shape, h0->stride, at))) goto done;
      gather(hrun, hv, p->perm);
      rc_release(hv);
    } else {
      memset(hrun, 0, sizeof(float) * (size_t)(p->dirs * B * H));
    }
    if (c0) {
      int64_t shape[3] = {p->dirs, B, H};
      int64_t at = c0->offset + l * p->dirs * c0->stride[0];
      if ((st = rc_view_of(&cv, c0, 3, shape, c0->stride, at))) goto done;
      gather(crun, cv, p->perm);
      rc_release(cv);
    } else {
      memset(crun, 0, sizeof(float) * (size_t)(p->dirs * B * H));
    }
    if ((st = project_inputs(&L, bias_row))) goto done;
    if ((st = run_recurrence(&L, false))) goto done;
    /* Final states: each sequence's running state after its own last step. */
    scatter(rc_f32(h_n) + l * p->dirs * B * H, hrun, p->dirs, B, H, p->perm);
    if (c_n) scatter(rc_f32(c_n) + l * p->dirs * B * H, crun, p->dirs, B, H, p->perm);
    if (last) {
      if (!p->sorted) scatter(rc_f32(out), L.out, T, B, OW, p->perm);
      break;
    }
    /* The next layer's input: this output, through dropout when training. */
    xin = L.out;
    Din = OW;
    if (p->dropout > 0) {
      layer_layout next = layout_of(p, l + 1);
      float *dropped = L.out; /* inference: in place, the output is not needed again */
      int64_t n = TB * OW;
      if (training) {
        float *nbase = res + layer_start(p, l + 1);
        dropped = nbase + next.xin;
        st = rc_view_of(&mask_t, reserve, 1, &n, (int64_t[]){1},
                        reserve->offset + layer_start(p, l + 1) + next.mask);
      } else {
        st = rc_empty(&mask_t, RC_FLOAT32, 1, &n);
      }
      if (st) goto done;
      /* As core/dropout.c: p = 1 keeps nothing (no draw, no 1/0 scale). */
      float scale = p->dropout < 1 ? (float)(1.0 / (1.0 - p->dropout)) : 0.0f;
      if ((st = p->dropout < 1 ? rc_bernoulli_(mask_t, 1.0 - p->dropout) : rc_fill_(mask_t, 0.0)))
        goto done;
      float *mask = rc_f32(mask_t);
      const float *o = L.out;
#pragma omp parallel for simd schedule(static) num_threads(rc_threads()) if (n >= RC_PARALLEL_MIN)
      for (int64_t i = 0; i < n; i++) {
        mask[i] *= scale;
        dropped[i] = o[i] * mask[i];
      }
      rc_release(mask_t);
      mask_t = NULL;
      xin = dropped;
    }
  }
done:
  rc_release(mask_t);
  block_put(&ws);
  release_all(cw, nw);
  free(cw);
  return st;
}

/* --- backward: weight gradients --------------------------------------------------------------- */

/* Column sums of m (rows, cols) of row stride rs into sum (cols), in double, fixed order. */
static void column_sums(float *sum, const float *m, int64_t rows, int64_t cols, int64_t rs) {
  const int64_t chunk = 256;
  int64_t nchunks = (cols + chunk - 1) / chunk;
  bool par = rows * cols >= RC_PARALLEL_MIN;
#pragma omp parallel for schedule(static) num_threads(rc_threads()) if (par)
  for (int64_t k = 0; k < nchunks; k++) {
    double acc[256] = {0};
    int64_t c0 = k * chunk, w = cols - c0 < chunk ? cols - c0 : chunk;
    for (int64_t r = 0; r < rows; r++) {
      const float *row = m + r * rs + c0;
      for (int64_t j = 0; j < w; j++) acc[j] += row[j];
    }
    for (int64_t j = 0; j < w; j++) sum[c0 + j] = (float)acc[j];
  }
}

/* The weight gradients of direction d and its share of dX (beta 0 for the first direction). */
static rc_status weight_grads(const layer_ctx *L, int d, float *dw_ih, float *dw_hh, float *db_ih,
                              float *db_hh, float *dX, float *dg_start, float *colsum) {
  const rc_rnn_plan *p = L->p;
  int64_t T = p->T, B = p->B, H = p->H, GH = p->G * H, GS = p->GS, TB = T * B;
  int64_t OW = p->dirs * H, Din = L->Din;
  const float *dg = L->dg[d];
  rc_status st = RC_OK;
  bool gru = p->mode == RC_GRU;
  /* dW_ih (GH, Din) = dG^T X; GRU's rows of n take d n_pre, the last H columns of dG. */
  if (dw_ih) {
    int64_t first = gru ? 2 * H : GH;
    if ((st = rc_gemm(first, Din, TB, 1.0f, dg, 1, GS, L->x, Din, 1, 0.0f, dw_ih, Din, 1)))
      return st;
    if (gru && (st = rc_gemm(H, Din, TB, 1.0f, dg + 3 * H, 1, GS, L->x, Din, 1, 0.0f,
                             dw_ih + 2 * H * Din, Din, 1)))
      return st;
  }
  /* dW_hh (GH, H) = sum_t dG_t^T h_{t-1}: the outputs one step earlier (forward) or later
     (reverse), where rows not running are zero on one side or the other; then the rows that
     started from h0, each at its first step. */
  if (dw_hh) {
    const float *dg_rest = d == 0 ? dg + B * GS : dg;
    const float *h_rest = d == 0 ? L->out + d * H : L->out + B * OW + d * H;
    if ((st = rc_gemm(GH, H, (T - 1) * B, 1.0f, dg_rest, 1, GS, h_rest, OW, 1, 0.0f, dw_hh, H, 1)))
      return st;
    if (p->has_h0) {
      const float *start = dg;
      if (d == 1) { /* row i starts at its own last step */
        for (int64_t t = 0; t < T; t++)
          for (int64_t i = p->bs[t + 1]; i < p->bs[t]; i++)
            memcpy(dg_start + i * GS, dg + (t * B + i) * GS, sizeof(float) * (size_t)GH);
        start = dg_start;
      }
      if ((st = rc_gemm(GH, H, B, 1.0f, start, 1, GS, L->h0[d], H, 1, 1.0f, dw_hh, H, 1)))
        return st;
    }
  }
  if (db_ih || db_hh) {
    column_sums(colsum, dg, TB, GS, GS);
    if (db_hh) memcpy(db_hh, colsum, sizeof(float) * (size_t)GH);
    if (db_ih) {
      memcpy(db_ih, colsum, sizeof(float) * (size_t)(gru ? 2 * H : GH));
      if (gru) memcpy(db_ih + 2 * H, colsum + 3 * H, sizeof(float) * (size_t)H);
    }
  }
  /* dX (T*B, Din) += dG W_ih. */
  if (dX) {
    float beta = d == 0 ? 0.0f : 1.0f;
    int64_t first = gru ? 2 * H : GH;
    if ((st = rc_gemm(TB, Din, first, 1.0f, dg, GS, 1, L->w_ih[d], Din, 1, beta, dX, Din, 1)))
      return st;
    if (gru && (st = rc_gemm(TB, Din, H, 1.0f, dg + 3 * H, GS, 1, L->w_ih[d] + 2 * H * Din, Din, 1,
                             1.0f, dX, Din, 1)))
      return st;
  }
  return RC_OK;
}

/* Rows (p->dirs, B, H) of a 3-D state tensor starting at layer l, as a view. */
static rc_status layer_states(rc_tensor **v, const rc_rnn_plan *p, const rc_tensor *s, int l) {
  int64_t shape[3] = {p->dirs, p->B, p->H};
  return rc_view_of(v, s, 3, shape, s->stride, s->offset + l * p->dirs * s->stride[0]);
}

static rc_status gather_layer(float *dst, const rc_rnn_plan *p, const rc_tensor *s, int l) {
  rc_tensor *v = NULL;
  rc_status st = layer_states(&v, p, s, l);
  if (st) return st;
  gather(dst, v, p->perm);
  rc_release(v);
  return RC_OK;
}

rc_status rc_rnn_backward_run(const rc_rnn_plan *p, const rc_tensor *x, const rc_tensor *h0,
                              const rc_tensor *c0, const rc_tensor *const *weights,
                              const rc_tensor *out, const rc_tensor *reserve,
                              const rc_tensor *dout, const rc_tensor *dh_n,
                              const rc_tensor *dc_n, rc_tensor *dx, rc_tensor *dh0,
                              rc_tensor *dc0, rc_tensor *const *dweights) {
  rc_status st = rc_init();
  if (st) return st;
  int64_t T = p->T, B = p->B, H = p->H, TB = T * B, OW = p->dirs * H, GS = p->GS;
  int64_t Dmax = p->D > OW ? p->D : OW;
  int nw = rc_rnn_weight_count(&(rc_rnn_config){.num_layers = p->L, .bidirectional = p->dirs == 2,
                                                 .has_bias = p->has_bias});
  rc_tensor **cw = calloc((size_t)nw, sizeof *cw);
  if (!cw) return rc_fail(RC_ERR_NOMEM, "%s: out of memory", p->fn);
  if ((st = contiguous_weights(p, weights, cw))) {
    free(cw);
    return st;
  }
  bool copy_x = !p->sorted || !rc_is_contiguous(x);
  bool copy_dout = dout && (!p->sorted || !rc_is_contiguous(dout));
  int64_t need = 2 * rounded(p->dirs * B * H) + rounded(B * H) + 2 * rounded(p->dirs * B * H) +
                 rounded(B * GS) + rounded(GS) + p->dirs * rounded(TB * GS) +
                 2 * rounded(TB * Dmax) + (copy_x ? rounded(TB * p->D) : 0) +
                 (copy_dout ? rounded(TB * OW) : 0);
  block ws = {0};
  if ((st = block_get(&ws, p->fn, need))) goto done;
  float *cur = ws.data;
  float *dhrun = take(&cur, p->dirs * B * H), *dcrun = take(&cur, p->dirs * B * H);
  float *zeros = take(&cur, B * H);
  float *h0s = take(&cur, p->dirs * B * H), *c0s = take(&cur, p->dirs * B * H);
  float *dg_start = take(&cur, B * GS), *colsum = take(&cur, GS);
  memset(zeros, 0, sizeof(float) * (size_t)(B * H));
  float *dgs = take(&cur, p->dirs * rounded(TB * GS));
  float *dbuf[2] = {take(&cur, TB * Dmax), take(&cur, TB * Dmax)};
  const float *x0 = rc_f32(x);
  if (copy_x) {
    float *xs = take(&cur, TB * p->D);
    gather(xs, x, p->perm);
    x0 = xs;
  }
  /* d O of the last layer: the incoming gradient in sorted order, or nothing. */
  const float *dO = NULL;
  if (dout) {
    if (copy_dout) {
      float *ds = take(&cur, TB * OW);
      gather(ds, dout, p->perm);
      dO = ds;
    } else {
      dO = rc_f32(dout);
    }
  }
  const float *res = rc_f32(reserve);
  for (int l = p->L - 1; l >= 0; l--) {
    layer_layout lay = layout_of(p, l);
    const float *base = res + layer_start(p, l);
    layer_ctx L = {.p = p, .l = l, .zeros = zeros, .dout = dO ? dO : zeros, .dos = dO ? OW : 0};
    L.Din = l == 0 ? p->D : OW;
    if (l == 0) {
      L.x = x0;
    } else {
      layer_layout below = layout_of(p, l - 1);
      L.x = lay.xin >= 0 ? base + lay.xin : res + layer_start(p, l - 1) + below.out;
    }
    L.out = (float *)(l == p->L - 1 && p->sorted ? rc_f32(out) : base + lay.out);
    for (int d = 0; d < p->dirs; d++) {
      L.gates[d] = (float *)base + lay.gates + d * TB * GS;
      L.cells[d] = lay.cells >= 0 ? (float *)base + lay.cells + d * TB * H : NULL;
      L.w_ih[d] = rc_f32(cw[weight_index(p, l, d, 0)]);
      L.w_hh[d] = rc_f32(cw[weight_index(p, l, d, 1)]);
      L.dg[d] = dgs + d * rounded(TB * GS);
      L.dh[d] = dhrun + d * B * H, L.dc[d] = dcrun + d * B * H;
      L.h0[d] = p->has_h0 ? h0s + d * B * H : zeros;
      L.c0[d] = p->has_c0 ? c0s + d * B * H : zeros;
    }
    if (h0 && (st = gather_layer(h0s, p, h0, l))) goto done;
    if (c0 && (st = gather_layer(c0s, p, c0, l))) goto done;
    if (dh_n) {
      if ((st = gather_layer(dhrun, p, dh_n, l))) goto done;
    } else {
      memset(dhrun, 0, sizeof(float) * (size_t)(p->dirs * B * H));
    }
    if (dc_n) {
      if ((st = gather_layer(dcrun, p, dc_n, l))) goto done;
    } else {
      memset(dcrun, 0, sizeof(float) * (size_t)(p->dirs * B * H));
    }
    if ((st = run_recurrence(&L, true))) goto done;
    if (dh0) scatter(rc_f32(dh0) + l * p->dirs * B * H, dhrun, p->dirs, B, H, p->perm);
    if (dc0) scatter(rc_f32(dc0) + l * p->dirs * B * H, dcrun, p->dirs, B, H, p->perm);
    /* dX of this layer: the next d O below, or dx itself (sorted case) at layer 0. */
    bool want_dx = l > 0 || dx;
    float *dX = NULL;
    if (want_dx) dX = l == 0 && p->sorted ? rc_f32(dx) : dbuf[l % 2];
    for (int d = 0; d < p->dirs; d++) {
      rc_tensor *const *gw = dweights ? dweights + weight_index(p, l, d, 0) : NULL;
      float *dw_ih = gw && gw[0] ? rc_f32(gw[0]) : NULL;
      float *dw_hh = gw && gw[1] ? rc_f32(gw[1]) : NULL;
      float *db_ih = gw && p->has_bias && gw[2] ? rc_f32(gw[2]) : NULL;
      float *db_hh = gw && p->has_bias && gw[3] ? rc_f32(gw[3]) : NULL;
      if ((st = weight_grads(&L, d, dw_ih, dw_hh, db_ih, db_hh, dX, dg_start, colsum))) goto done;
    }
    if (l == 0) {
      if (dx && !p->sorted) scatter(rc_f32(dx), dX, T, B, p->D, p->perm);
      break;
    }
    /* Through the dropout between layers l-1 and l: d O_{l-1} = dX * mask. */
    if (lay.mask >= 0) {
      const float *mask = base + lay.mask;
      int64_t n = TB * OW;
#pragma omp parallel for simd schedule(static) num_threads(rc_threads()) if (n >= RC_PARALLEL_MIN)
      for (int64_t i = 0; i < n; i++) dX[i] *= mask[i];
    }
    dO = dX;
  }
done:
  block_put(&ws);
  release_all(cw, nw);
  free(cw);
  return st;
}

/* --- the raw layer: inference, nothing kept --------------------------------------------------- */

rc_status rc_rnn(rc_tensor **out, rc_tensor **h_n, rc_tensor **c_n, const rc_rnn_config *cfg,
                 const rc_tensor *x, const rc_tensor *h0, const rc_tensor *c0,
                 const rc_tensor *lengths, int nweights, const rc_tensor *const *weights) {
  *out = *h_n = NULL;
  if (c_n) *c_n = NULL;
  rc_rnn_plan *p = NULL;
  rc_tensor *o = NULL, *h = NULL, *c = NULL;
  rc_status st = rc_rnn_plan_new(&p, NULL, cfg, x, h0, c0, lengths, nweights, weights);
  if (st) return st;
  int64_t oshape[3] = {p->T, p->B, p->dirs * p->H}, sshape[3] = {p->L * p->dirs, p->B, p->H};
  if ((st = rc_empty(&o, RC_FLOAT32, 3, oshape)) || (st = rc_empty(&h, RC_FLOAT32, 3, sshape)))
    goto fail;
  if (p->mode == RC_LSTM && (st = rc_empty(&c, RC_FLOAT32, 3, sshape))) goto fail;
  if ((st = rc_rnn_forward_run(p, x, h0, c0, weights, o, h, c, NULL))) goto fail;
  free(p);
  *out = o, *h_n = h;
  if (c_n)
    *c_n = c;
  else
    rc_release(c);
  return RC_OK;
fail:
  free(p);
  rc_release(o), rc_release(h), rc_release(c);
  return st;
}
