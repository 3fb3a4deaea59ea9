/* core/lstm.c — the LSTM's gate math for one step, forward and backward, gate order i, f, g, o
   as PyTorch; core/rnn_recurrence.c does the GEMMs around it. One pass per step, vectorized over H. */
#include "rnn.h"

/* --- forward ------------------------------------------------------------------------------------
   gates (n, 4H) stride gs   in: pre-activations [i f g o] = x W_ih^T + b + h_{t-1} W_hh^T;
                             out: i, f, o = sigmoid, g = tanh (saved for backward)
   h     (n, H)  stride H    running h: becomes h_t = o * tanh(c_t)
   c     (n, H)  stride H    running c: c_t = f * c_{t-1} + i * g
   out   (n, H)  stride os   h_t, the layer output slice
   cells (n, H)  stride H    c_t saved for backward, or NULL (inference)
   Units u0..u1-1 only. */
static inline __attribute__((always_inline)) void lstm_row(int64_t H, int64_t u0, int64_t u1,
                                                           float *restrict gi,
                                                           float *restrict hr, float *restrict cr,
                                                           float *restrict o,
                                                           float *restrict keep, bool save) {
  float *restrict gf = gi + H, *restrict gg = gi + 2 * H, *restrict go = gi + 3 * H;
  for (int64_t j = u0; j < u1; j++) {
    float i = rc_rnn_sigmoid(gi[j]), f = rc_rnn_sigmoid(gf[j]);
    float g = rc_rnn_tanh(gg[j]), q = rc_rnn_sigmoid(go[j]);
    float c = f * cr[j] + i * g;
    float y = q * rc_rnn_tanh(c);
    gi[j] = i, gf[j] = f, gg[j] = g, go[j] = q;
    cr[j] = c;
    hr[j] = y;
    o[j] = y;
    if (save) keep[j] = c;
  }
}

void rc_lstm_step_forward(int64_t n, int64_t H, int64_t u0, int64_t u1, float *gates, int64_t gs,
                          float *h, float *c, float *out, int64_t os, float *cells) {
  for (int64_t r = 0; r < n; r++) {
    if (cells)
      lstm_row(H, u0, u1, gates + r * gs, h + r * H, c + r * H, out + r * os, cells + r * H, true);
    else
      lstm_row(H, u0, u1, gates + r * gs, h + r * H, c + r * H, out + r * os, NULL, false);
  }
}

/* --- backward -----------------------------------------------------------------------------------
   dgates (n, 4H) stride dgs  := d loss / d pre-activations [i f g o]
   dc     (n, H)  stride H    in: d loss / d c_t from step t+1; out: d loss / d c_{t-1}
   dh     (n, H)  stride H    d loss / d h_t through step t+1 (the driver's GEMM)
   dout   (n, H)  stride dos  d loss / d out_t (stride 0: one zero row)
   gates  (n, 4H) stride gs   i, f, g, o as forward left them
   cells  (n, H)  stride H    c_t (tanh(c_t) is recomputed: cheaper than keeping it)
   c_prev (n, H)  stride cps  c_{t-1} */
static inline __attribute__((always_inline)) void lstm_row_backward(
    int64_t H, int64_t u0, int64_t u1, float *restrict dg, float *restrict dcr,
    const float *restrict ghr, const float *restrict gor, const float *restrict g,
    const float *restrict cr, const float *restrict cp) {
  for (int64_t j = u0; j < u1; j++) {
    float i = g[j], f = g[H + j], gg = g[2 * H + j], q = g[3 * H + j];
    float tc = rc_rnn_tanh(cr[j]);
    float dy = ghr[j] + gor[j];
    float dct = dcr[j] + dy * q * (1.0f - tc * tc);
    dg[j] = dct * gg * i * (1.0f - i);
    dg[H + j] = dct * cp[j] * f * (1.0f - f);
    dg[2 * H + j] = dct * i * (1.0f - gg * gg);
    dg[3 * H + j] = dy * tc * q * (1.0f - q);
    dcr[j] = dct * f;
  }
}

void rc_lstm_step_backward(int64_t n, int64_t H, int64_t u0, int64_t u1, float *dgates,
                           int64_t dgs, float *dc, const float *dh, const float *dout,
                           int64_t dos, const float *gates, int64_t gs, const float *cells,
                           const float *c_prev, int64_t cps) {
  for (int64_t r = 0; r < n; r++)
    lstm_row_backward(H, u0, u1, dgates + r * dgs, dc + r * H, dh + r * H, dout + r * dos,
                      gates + r * gs, cells + r * H, c_prev + r * cps);
}
