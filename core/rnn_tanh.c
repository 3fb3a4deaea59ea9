/* core/rnn_tanh.c — the vanilla RNN's gate math for one step, h_t = tanh|relu(pre), forward and
   backward; core/rnn_recurrence.c does the GEMMs around it. One pass per step, vectorized
   over H. */
#include "rnn.h"

/* --- forward ------------------------------------------------------------------------------------
   pre (n, H) stride ps     x W_ih^T + b_ih + b_hh + h_{t-1} W_hh^T (the driver's GEMMs)
   h   (n, H) stride H      running state: becomes h_t
   out (n, H) stride os     h_t, the layer output slice (and what backward reads)
   Units u0..u1-1 only. */
void rc_rnn_step_forward(bool relu, int64_t n, int64_t H, int64_t u0, int64_t u1,
                         const float *pre, int64_t ps, float *h, float *out, int64_t os) {
  for (int64_t r = 0; r < n; r++) {
    const float *restrict a = pre + r * ps;
    float *restrict hr = h + r * H, *restrict o = out + r * os;
    if (relu) {
      for (int64_t j = u0; j < u1; j++) {
        float v = rc_rnn_relu(a[j]);             /* NaN stays NaN, as PyTorch's relu */
        hr[j] = v;
        o[j] = v;
      }
    } else {
      for (int64_t j = u0; j < u1; j++) {
        float v = rc_rnn_tanh(a[j]);
        hr[j] = v;
        o[j] = v;
      }
    }
  }
}

/* --- backward -----------------------------------------------------------------------------------
   dpre (n, H) stride dps   := d loss / d pre = (dh + dout) * act'(pre)
   dh   (n, H) stride H     d loss / d h_t through the next step (the driver's GEMM)
   dout (n, H) stride dos   d loss / d out_t (stride 0: one zero row)
   out  (n, H) stride os    h_t: tanh' = 1 - h_t^2, relu' = [h_t > 0] */
void rc_rnn_step_backward(bool relu, int64_t n, int64_t H, int64_t u0, int64_t u1, float *dpre,
                          int64_t dps, const float *dh, const float *dout, int64_t dos,
                          const float *out, int64_t os) {
  for (int64_t r = 0; r < n; r++) {
    float *restrict da = dpre + r * dps;
    const float *restrict g = dh + r * H, *restrict go = dout + r * dos, *restrict y = out + r * os;
    if (relu) {
      for (int64_t j = u0; j < u1; j++) da[j] = rc_rnn_if_positive(y[j], g[j] + go[j]);
    } else {
      for (int64_t j = u0; j < u1; j++) da[j] = (g[j] + go[j]) * (1.0f - y[j] * y[j]);
    }
  }
}
