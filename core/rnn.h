/* core/rnn.h — recurrent layers (RNN tanh/relu, LSTM, GRU) as fused kernels: the layer and cell
   ops for C hosts and the Lua bindings, the sequence driver, and the per-step gate kernels. */
#ifndef RC_RNN_H
#define RC_RNN_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include "autograd.h"
#include "vmath.h"

/* ==== The ops ====================================================================================

   Weights are PyTorch's, in PyTorch's order and layout, so they move between the two unchanged:
   for layer k and direction (forward, then "_reverse"):
     weight_ih_l{k}[_reverse]  (G*H, D_k)    D_0 = input_size, D_k = dirs*H above
     weight_hh_l{k}[_reverse]  (G*H, H)
     bias_ih_l{k}[_reverse]    (G*H)         only when has_bias
     bias_hh_l{k}[_reverse]    (G*H)
   G = 1 (RNN), 4 (LSTM: gates i, f, g, o), 3 (GRU: r, z, n). The flat list a layer op takes is
   w_ih_l0, w_hh_l0, b_ih_l0, b_hh_l0, then the same with _reverse, then l1 ... (PyTorch's
   _flat_weights order); rc_rnn_weight_info gives the name and shape of entry i, so a Lua module
   can create its parameters from it.

   Equations (PyTorch's), per step, with h = h_{t-1}:
     RNN:  h_t = act(W_ih x + b_ih + W_hh h + b_hh),   act = tanh or relu
     LSTM: i, f, o = sigmoid(...), g = tanh(...);  c_t = f*c + i*g;  h_t = o*tanh(c_t)
     GRU:  r, z = sigmoid(W_i{r,z} x + b_i{r,z} + W_h{r,z} h + b_h{r,z})
           n = tanh(W_in x + b_in + r*(W_hn h + b_hn));  h_t = (1-z)*n + z*h

   Lua's side (scripts/recur/nn): batch_first is a transpose before and after the call (views; x
   may be any strided 3-D view); h0/c0 = nil passes NULL (zeros); `dropout` and `training` come
   from the module; the module holds the weights in the flat order above. */

typedef enum { RC_RNN_TANH = 0, RC_RNN_RELU = 1, RC_LSTM = 2, RC_GRU = 3 } rc_rnn_mode;

typedef struct {
  rc_rnn_mode mode;
  int64_t input_size;    /* D */
  int64_t hidden_size;   /* H */
  int num_layers;        /* L >= 1 */
  bool bidirectional;    /* dirs = 2: outputs concatenated (forward first) */
  double dropout;        /* on the outputs of every layer but the last, when training; [0, 1] */
  bool training;
  bool has_bias;
} rc_rnn_config;

/* G: gates per hidden unit (1, 1, 4, 3). */
int rc_rnn_gate_count(rc_rnn_mode mode);
/* "RNN_TANH" | "RNN_RELU" | "LSTM" | "GRU" (PyTorch's mode strings), and back. */
const char *rc_rnn_mode_name(rc_rnn_mode mode);
rc_status rc_rnn_mode_from_name(const char *name, rc_rnn_mode *mode);
/* How many tensors the flat weight list holds: L * dirs * (has_bias ? 4 : 2). */
int rc_rnn_weight_count(const rc_rnn_config *cfg);
/* Entry i of the flat list: its PyTorch name ("weight_hh_l1_reverse") and shape (1 or 2 dims). */
rc_status rc_rnn_weight_info(const rc_rnn_config *cfg, int i, char *name, size_t name_size,
                             int *ndim, int64_t shape[2]);

/* The layer (nn.RNN / nn.LSTM / nn.GRU).
   x        (T, B, D) float32, any strides
   h0, c0   (L*dirs, B, H) or NULL (zeros); c0 only for LSTM (must be NULL otherwise)
   lengths  (B) int64, each in 1..T, any order, or NULL (all T). A sequence stops at its length:
            out past it is zero, h_n/c_n hold its state at its own last step, and its reverse
            direction starts at its own last element.
   weights  the flat list above (nweights = rc_rnn_weight_count)
   out      (T, B, dirs*H) new; h_n (L*dirs, B, H) new, layer-major then direction (the last
            two are the last layer's forward and backward); c_n likewise for LSTM, NULL for the
            others (c_n may be a NULL pointer when not LSTM).
   Dropout masks come from the seeded RNG (core/random.h). The raw op keeps nothing for
   backward; rcg_rnn records the whole layer as ONE node ("LSTMBackward", ...) whose inputs are
   x, h0, c0 and every weight and whose outputs are out, h_n, c_n. Its backward needs no more
   memory than O(L*T*B*(G+1)*H) floats, saved by the forward. */
rc_status rc_rnn(rc_tensor **out, rc_tensor **h_n, rc_tensor **c_n, const rc_rnn_config *cfg,
                 const rc_tensor *x, const rc_tensor *h0, const rc_tensor *c0,
                 const rc_tensor *lengths, int nweights, const rc_tensor *const *weights);
rc_status rcg_rnn(rc_tensor **out, rc_tensor **h_n, rc_tensor **c_n, const rc_rnn_config *cfg,
                  const rc_tensor *x, const rc_tensor *h0, const rc_tensor *c0,
                  const rc_tensor *lengths, int nweights, const rc_tensor *const *weights);

/* One step (nn.RNNCell / nn.LSTMCell / nn.GRUCell), the same kernels with T = 1.
   x (B, D) or (D); hx, cx (B, H) or (H) as x, or NULL (zeros); cx only for LSTM.
   w_ih (G*H, D), w_hh (G*H, H), b_ih, b_hh (G*H) both or neither.
   h (B, H) or (H) new; c likewise for LSTM (NULL otherwise; c may be a NULL pointer then).
   rcg_rnn_cell records one node with inputs x, hx, cx, w_ih, w_hh, b_ih, b_hh and outputs h, c. */
rc_status rc_rnn_cell(rc_tensor **h, rc_tensor **c, rc_rnn_mode mode, const rc_tensor *x,
                      const rc_tensor *hx, const rc_tensor *cx, const rc_tensor *w_ih,
                      const rc_tensor *w_hh, const rc_tensor *b_ih, const rc_tensor *b_hh);
rc_status rcg_rnn_cell(rc_tensor **h, rc_tensor **c, rc_rnn_mode mode, const rc_tensor *x,
                       const rc_tensor *hx, const rc_tensor *cx, const rc_tensor *w_ih,
                       const rc_tensor *w_hh, const rc_tensor *b_ih, const rc_tensor *b_hh);

/* ==== The sequence driver (core/rnn_plan.c, rnn_layer.c, rnn_recurrence.c), for grad_rnn.c =====

   A plan holds one call's checked sizes and its batch order: sequences sorted by length,
   longest first (stable), so the sequences still running at step t are rows 0..bs[t]-1 and
   each step's GEMMs run over those rows only. One malloc block: free() frees it (node->ctx). */
typedef struct {
  rc_rnn_mode mode;
  const char *fn;        /* "rnn" | "lstm" | "gru" | "rnn_cell" ... for messages */
  int64_t T, B, D, H;
  int L, dirs, G;
  int64_t GS;            /* floats per row of a gate buffer: G*H, and 4H for GRU (r,z,n,hn) */
  bool has_bias, has_h0, has_c0;
  double dropout;        /* the effective one: 0 unless training with L > 1 */
  bool sorted;           /* the batch is already in order: perm is the identity */
  int64_t *perm;         /* (B): sorted row i is batch entry perm[i] */
  int64_t *bs;           /* (T+1): rows active at step t; bs[T] = 0 */
} rc_rnn_plan;

/* Check every argument (messages name cfg's op) and make the plan. */
rc_status rc_rnn_plan_new(rc_rnn_plan **plan, const char *fn, const rc_rnn_config *cfg,
                          const rc_tensor *x, const rc_tensor *h0, const rc_tensor *c0,
                          const rc_tensor *lengths, int nweights,
                          const rc_tensor *const *weights);
/* Floats of the reserve the training forward fills for backward. */
int64_t rc_rnn_reserve_numel(const rc_rnn_plan *p);
/* Forward. weights contiguous (flat list). out (T,B,dirs*H), h_n, c_n (L*dirs,B,H) contiguous,
   allocated by the caller (c_n NULL unless LSTM). reserve: NULL for inference, else a
   contiguous tensor of rc_rnn_reserve_numel floats that backward reads. */
rc_status rc_rnn_forward_run(const rc_rnn_plan *p, const rc_tensor *x, const rc_tensor *h0,
                             const rc_tensor *c0, const rc_tensor *const *weights,
                             rc_tensor *out, rc_tensor *h_n, rc_tensor *c_n,
                             rc_tensor *reserve);
/* Backward of a training forward: same x, h0, c0, weights, out and reserve; dout (T,B,dirs*H),
   dh_n, dc_n (L*dirs,B,H) any strides or NULL (zero). Results into caller-allocated contiguous
   tensors, each NULL when not wanted: dx like x's shape, dh0/dc0 (L*dirs,B,H), dweights[i]
   like weight i. Results are written (=), never accumulated. */
rc_status rc_rnn_backward_run(const rc_rnn_plan *p, const rc_tensor *x, const rc_tensor *h0,
                              const rc_tensor *c0, const rc_tensor *const *weights,
                              const rc_tensor *out, const rc_tensor *reserve,
                              const rc_tensor *dout, const rc_tensor *dh_n,
                              const rc_tensor *dc_n, rc_tensor *dx, rc_tensor *dh0,
                              rc_tensor *dc0, rc_tensor *const *dweights);

/* How the recurrence runs, for measuring and testing; returns the previous setting.
   0 automatic: packed, directions concurrent, each direction's threads taking parts of the batch
     on small steps (no sync until the end) and splitting its hidden units on large ones (a
     barrier per step); one thread for a layer too small to pay for more.
   Per-step GEMMs on W_hh packed once per layer into BLIS micro-panels, driving BLIS's kernel:
     3 directions concurrent, units split;  4 directions one after another, units split;
     5 directions concurrent, batch split.
   Per-step GEMMs through rc_gemm (BLIS repacks W_hh at every step), the fallback:
     1 directions / halves of the batch as concurrent streams with one-thread GEMMs,
     2 one stream after another, each GEMM threaded.
   + 8: use BLIS's kernel in its other orientation (what column-preferring kernels, skx's, get).
   Any policy but 0 also threads layers that 0 would keep on one thread. */
int rc_rnn_set_threading(int policy);

/* ==== Per-step gate kernels (core/rnn_tanh.c, core/lstm.c, core/gru.c) ===========================

   Each works on n rows (the sequences active at this step) and hidden units u0..u1-1 of H, so
   threads can split the units of one step; pointers are to row 0, unit 0, and gate k of unit j
   sits at column k*H + j. Row strides are in floats; a stride of 0 with a pointer to H zeros
   reads a zero matrix (no gradient). The running state h (and c) is (n, H) contiguous and is
   updated in place. */

/* RNN. pre (n,H) stride ps: x W_ih^T + b_ih + b_hh + h W_hh^T.  out (n,H) stride os: h_t. */
void rc_rnn_step_forward(bool relu, int64_t n, int64_t H, int64_t u0, int64_t u1,
                         const float *pre, int64_t ps, float *h, float *out, int64_t os);
/* dpre (n,H) stride dps := d loss/d pre;  dh (n,H): d loss/d h_t from the next step;
   dout (n,H) stride dos: d loss/d out_t;  out (n,H) stride os: h_t. */
void rc_rnn_step_backward(bool relu, int64_t n, int64_t H, int64_t u0, int64_t u1, float *dpre,
                          int64_t dps, const float *dh, const float *dout, int64_t dos,
                          const float *out, int64_t os);

/* LSTM. gates (n,4H) stride gs: in the pre-activations, out i, f, g, o after activation.
   c (n,H) the running cell; cells (n,H) stride H: c_t saved for backward, or NULL. */
void rc_lstm_step_forward(int64_t n, int64_t H, int64_t u0, int64_t u1, float *gates, int64_t gs,
                          float *h, float *c, float *out, int64_t os, float *cells);
/* dgates (n,4H) stride dgs := d loss/d pre-activations;  dc (n,H): in d loss/d c_t from the
   next step, out d loss/d c_{t-1};  dh, dout as RNN;  gates, cells: what forward saved;
   c_prev (n,H) stride cps: c_{t-1}. */
void rc_lstm_step_backward(int64_t n, int64_t H, int64_t u0, int64_t u1, float *dgates,
                           int64_t dgs, float *dc, const float *dh, const float *dout,
                           int64_t dos, const float *gates, int64_t gs, const float *cells,
                           const float *c_prev, int64_t cps);

/* GRU. gates (n,4H) stride gs: in x W_ih^T + b_ih + [b_hr, b_hz, 0] in the first 3H; out
   r, z, n, hn with hn = W_hn h + b_hn.  hw (n,3H) stride hws: h W_hh^T.  b_hn (H). */
void rc_gru_step_forward(int64_t n, int64_t H, int64_t u0, int64_t u1, float *gates, int64_t gs,
                         const float *hw, int64_t hws, const float *b_hn, float *h, float *out,
                         int64_t os);
/* dgates (n,4H) stride dgs := [d r_pre, d z_pre, d hn, d n_pre] (the first 3H meet W_hh, the
   first 2H and the last H meet W_ih);  dh (n,H): in d loss/d h_t from the next step, out the
   direct part z * d h_t of d loss/d h_{t-1} (the GEMM adds the rest);  h_prev stride hps. */
void rc_gru_step_backward(int64_t n, int64_t H, int64_t u0, int64_t u1, float *dgates,
                          int64_t dgs, float *dh, const float *dout, int64_t dos,
                          const float *gates, int64_t gs, const float *h_prev, int64_t hps);

/* ==== Vectorizable activations for the kernels above ============================================
   libm's expf/tanhf are calls, which stop gcc from vectorizing the gate loops; these are plain
   arithmetic (Cephes' polynomials, within a few ulp), so a loop over them becomes SIMD code. */

/* exp(x) for x clamped to [-87, 87] (so 2^n stays a normal number); NaN stays NaN. Selects are
   integer masks: a float compare may trap, so gcc would not turn it into a blend. vmath.h's
   polynomial, but not its rc_vexp: with that one's extra range masks the LSTM layer trained ~20 % slower (512 shape, measured
   681/653 vs 791/833 ms alternating builds), and after the clamp those masks never fire. */
static inline float rc_rnn_exp(float x) {
  uint32_t ux = rc_f2u(x), ax = ux & 0x7fffffffu;
  uint32_t clamp = 0u - (uint32_t)((ax > 0x42ae0000u) & (ax <= 0x7f800000u)); /* |x| > 87 */
  ux = (ux & ~clamp) | (clamp & ((ux & 0x80000000u) | 0x42ae0000u));
  return rc_exp_in_range(rc_u2f(ux));
}

static inline float rc_rnn_sigmoid(float x) { return 1.0f / (1.0f + rc_rnn_exp(-x)); }

/* Near 0 a polynomial keeps the relative error small (1 - 2/(e^2|x| + 1) would cancel). */
static inline float rc_rnn_tanh(float x) {
  uint32_t ux = rc_f2u(x), sign = ux & 0x80000000u, ua = ux & 0x7fffffffu;
  float a = rc_u2f(ua);
  float e = rc_rnn_exp(a + a);
  float big = 1.0f - 2.0f / (e + 1.0f);        /* >= 0: the sign goes in as a bit */
  float z = x * x;
  float p = -5.70498872745e-3f;
  p = p * z + 2.06390887954e-2f;
  p = p * z - 5.37397155531e-2f;
  p = p * z + 1.33314422036e-1f;
  p = p * z - 3.33332819422e-1f;
  float small = p * z * x + x;
  uint32_t use_big = 0u - (uint32_t)(ua > 0x3f200000u);                      /* |x| > 0.625 */
  return rc_u2f(((rc_f2u(big) | sign) & use_big) |
                              (rc_f2u(small) & ~use_big));
}

/* max(x, 0) with NaN kept, and the test h > 0 of its derivative, as masks. */
static inline float rc_rnn_relu(float x) {
  uint32_t ux = rc_f2u(x);
  uint32_t keep = 0u - (uint32_t)(((ux >> 31) == 0) | ((ux & 0x7fffffffu) > 0x7f800000u));
  return rc_u2f(ux & keep);
}
static inline float rc_rnn_if_positive(float y, float v) {
  uint32_t uy = rc_f2u(y);
  uint32_t pos = 0u - (uint32_t)(((uy >> 31) == 0) & (uy != 0)); /* y > 0 (NaN: passes v) */
  return rc_u2f(rc_f2u(v) & pos);
}

#endif
