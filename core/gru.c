/* core/gru.c — the GRU's gate math for one step, forward and backward, gate order r, z, n as
   PyTorch (the reset gate multiplies W_hn h + b_hn); core/rnn_recurrence.c does the GEMMs
   around it. */
#include "rnn.h"

/* --- forward ------------------------------------------------------------------------------------
   gates (n, 4H) stride gs   in: the first 3H hold x W_ih^T + b_ih + [b_hr, b_hz, 0];
                             out: r, z, n, hn (saved for backward)
   hw    (n, 3H) stride hws  h_{t-1} W_hh^T
   b_hn  (H)                 the hidden bias of n (zeros without bias)
   h     (n, H)  stride H    running h: becomes h_t = (1-z)*n + z*h_{t-1}
   out   (n, H)  stride os   h_t, the layer output slice
   r = sigmoid(ir + hr), z = sigmoid(iz + hz), hn = hw_n + b_hn, n = tanh(in + r*hn).
   Units u0..u1-1 only. */
static inline __attribute__((always_inline)) void gru_row(int64_t H, int64_t u0, int64_t u1,
                                                          float *restrict g,
                                                          const float *restrict w,
                                                          const float *restrict bn,
                                                          float *restrict hr, float *restrict o) {
  for (int64_t j = u0; j < u1; j++) {
    float r = rc_rnn_sigmoid(g[j] + w[j]);
    float z = rc_rnn_sigmoid(g[H + j] + w[H + j]);
    float hn = w[2 * H + j] + bn[j];
    float nn = rc_rnn_tanh(g[2 * H + j] + r * hn);
    float y = nn + z * (hr[j] - nn);
    g[j] = r, g[H + j] = z, g[2 * H + j] = nn, g[3 * H + j] = hn;
    hr[j] = y;
    o[j] = y;
  }
}

void rc_gru_step_forward(int64_t n, int64_t H, int64_t u0, int64_t u1, float *gates, int64_t gs,
                         const float *hw, int64_t hws, const float *b_hn, float *h, float *out,
                         int64_t os) {
  for (int64_t row = 0; row < n; row++)
    gru_row(H, u0, u1, gates + row * gs, hw + row * hws, b_hn, h + row * H, out + row * os);
}

/* --- backward -----------------------------------------------------------------------------------
   dgates (n, 4H) stride dgs  := [d r_pre, d z_pre, d hn, d n_pre]
   dh     (n, H)  stride H    in: d loss / d h_t through step t+1; out: z * d h_t, the direct
                              part of d loss / d h_{t-1} (the driver's GEMM adds [dr dz dhn] W_hh)
   dout   (n, H)  stride dos  d loss / d out_t (stride 0: one zero row)
   gates  (n, 4H) stride gs   r, z, n, hn as forward left them
   h_prev (n, H)  stride hps  h_{t-1} */
static inline __attribute__((always_inline)) void gru_row_backward(
    int64_t H, int64_t u0, int64_t u1, float *restrict dg, float *restrict dhr,
    const float *restrict gor, const float *restrict g, const float *restrict hp) {
  for (int64_t j = u0; j < u1; j++) {
    float r = g[j], z = g[H + j], nn = g[2 * H + j], hn = g[3 * H + j];
    float dy = dhr[j] + gor[j];
    float dpre_n = dy * (1.0f - z) * (1.0f - nn * nn);
    dg[j] = dpre_n * hn * r * (1.0f - r);
    dg[H + j] = dy * (hp[j] - nn) * z * (1.0f - z);
    dg[2 * H + j] = dpre_n * r;
    dg[3 * H + j] = dpre_n;
    dhr[j] = dy * z;
  }
}

void rc_gru_step_backward(int64_t n, int64_t H, int64_t u0, int64_t u1, float *dgates,
                          int64_t dgs, float *dh, const float *dout, int64_t dos,
                          const float *gates, int64_t gs, const float *h_prev, int64_t hps) {
  for (int64_t row = 0; row < n; row++)
    gru_row_backward(H, u0, u1, dgates + row * dgs, dh + row * H, dout + row * dos,
                     gates + row * gs, h_prev + row * hps);
}
