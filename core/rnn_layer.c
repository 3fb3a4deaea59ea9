/* core/rnn_layer.c — the sequence driver of the recurrent layers: forward and backward over
   layers and directions, their workspace and reserve, the input projections, weight gradients. */
#include <stdlib.h>
#include <string.h>
#include "gemm.h"
#include "loop.h"
#include "ops.h"
#include "random.h"
#include "rnn_internal.h"
#include "runtime.h"

/* The shape of the work, cuDNN's and oneDNN's: per layer and direction, the input projection
   of all T steps is one GEMM (T*B x D times D x G*H) with the biases folded in; each step is
   one recurrent GEMM (h_{t-1} W_hh^T over the rows still running) and one fused pass of gate
   math (core/rnn_tanh.c, lstm.c, gru.c). Backward runs the steps in reverse with the fused
   gate derivatives, keeps d pre-activations of all steps, and ends with a few large GEMMs:
   dW_ih = dG^T X, dW_hh = dG^T H_prev, db = column sums of dG, dX = dG W_ih.
   The large GEMMs go through rc_gemm; the per-step ones run on W_hh packed once per layer
   into BLIS's micro-panels (core/rnn_recurrence.c), with rc_gemm as fallback.
   Everything runs in the sorted batch order; x, states and results are permuted once. */

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

/* Bump allocation inside one block. */
static float *take(float **cursor, int64_t floats) {
  float *p = *cursor;
  *cursor += (floats + 15) & ~(int64_t)15; /* keep every piece 64-byte aligned */
  return p;
}

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

/* Layer l's states (dirs, B, H) of a 3-D state tensor s, in the sorted batch order, into dst;
   s NULL: zeros (no initial state, no gradient from the next layer). */
static rc_status gather_layer(float *dst, const rc_rnn_plan *p, const rc_tensor *s, int l) {
  if (!s) {
    memset(dst, 0, sizeof(float) * (size_t)(p->dirs * p->B * p->H));
    return RC_OK;
  }
  rc_tensor *v = NULL;
  int64_t shape[3] = {p->dirs, p->B, p->H};
  rc_status st = rc_view_of(&v, s, 3, shape, s->stride, s->offset + l * p->dirs * s->stride[0]);
  if (st) return st;
  gather(dst, v, p->perm);
  rc_release(v);
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
    if ((st = gather_layer(hrun, p, h0, l)) || (st = gather_layer(crun, p, c0, l))) goto done;
    if ((st = project_inputs(&L, bias_row))) goto done;
    if ((st = rc_rnn_run_recurrence(&L, false))) goto done;
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
    if ((st = gather_layer(dhrun, p, dh_n, l)) || (st = gather_layer(dcrun, p, dc_n, l)))
      goto done;
    if ((st = rc_rnn_run_recurrence(&L, true))) goto done;
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
