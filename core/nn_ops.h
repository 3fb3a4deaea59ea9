/* core/nn_ops.h — the neural-network ops that have their own fused kernels: embedding, dropout,
   the losses and layer_norm, each differentiable (rcg_*) with its raw form (rc_*, no recording). */
#ifndef RC_NN_OPS_H
#define RC_NN_OPS_H

#include "autograd.h"

/* How a loss turns per-element losses into its result, as PyTorch's `reduction`. */
typedef enum { RC_REDUCTION_MEAN = 0, RC_REDUCTION_SUM, RC_REDUCTION_NONE } rc_reduction;

/* "mean" | "sum" | "none" -> the enum; fn names the op in the error message. */
rc_status rc_reduction_from_name(const char *fn, const char *name, rc_reduction *out);
const char *rc_reduction_name(rc_reduction reduction);

#define RC_NO_PADDING (-1)          /* embedding without a padding row */
#define RC_IGNORE_INDEX (-100)      /* PyTorch's default ignore_index */

/* --- embedding (core/embedding.c) ---------------------------------------------------------
   weight (V,D) float32, ids (...) int64 of row numbers 0..V-1 -> out (..., D), row ids[i] of
   weight at position i. padding_idx in 0..V-1, or RC_NO_PADDING: that row is looked up as any
   other but gets no gradient. The gradient of weight is a deterministic scatter-add. */
rc_status rc_embedding(rc_tensor **out, const rc_tensor *weight, const rc_tensor *ids,
                       int64_t padding_idx);
rc_status rcg_embedding(rc_tensor **out, const rc_tensor *weight, const rc_tensor *ids,
                        int64_t padding_idx);

/* --- dropout (core/dropout.c) -------------------------------------------------------------
   Training: out = x * mask with mask 0 (probability p) or 1/(1-p), drawn from the seeded RNG;
   p = 1 gives zeros. p = 0 or !training: out is x itself (retained), as PyTorch. p outside
   [0, 1] is an error. The raw form also returns the mask (x's shape), or NULL for identity. */
rc_status rc_dropout(rc_tensor **out, rc_tensor **mask, const rc_tensor *x, double p,
                     bool training);
rc_status rcg_dropout(rc_tensor **out, const rc_tensor *x, double p, bool training);

/* --- losses (core/loss.c) -----------------------------------------------------------------
   Each gives a 0-d tensor for "mean" and "sum", the per-element losses for "none". Sums run
   in a fixed order: the same value for any thread count. */

/* input, target (...) float32 of the same shape: (input - target)^2. Both are
   differentiable. */
rc_status rc_mse_loss(rc_tensor **out, const rc_tensor *input, const rc_tensor *target,
                      rc_reduction reduction);
rc_status rcg_mse_loss(rc_tensor **out, const rc_tensor *input, const rc_tensor *target,
                       rc_reduction reduction);

/* input (logits), target (...) float32 of the same shape; weight and pos_weight (NULL, or
   broadcastable to input, e.g. (C) for input (N,C)) as PyTorch:
   loss = weight ((1 - y) x + (1 + (pos_weight - 1) y) log(1 + exp(-x))), computed without
   overflow; "mean" divides by the element count whatever the weight. Gradients for input and
   target; weight and pos_weight are constants: one that requires grad is refused (as
   PyTorch 1.13 does). */
rc_status rc_binary_cross_entropy_with_logits(rc_tensor **out, const rc_tensor *input,
                                              const rc_tensor *target, const rc_tensor *weight,
                                              const rc_tensor *pos_weight,
                                              rc_reduction reduction);
rc_status rcg_binary_cross_entropy_with_logits(rc_tensor **out, const rc_tensor *input,
                                               const rc_tensor *target, const rc_tensor *weight,
                                               const rc_tensor *pos_weight,
                                               rc_reduction reduction);

/* logits (C), (N,C) or (N,C,d1..dk) float32, log_softmax over the class dim (logp), weight
   (C) float32 or NULL (all 1), s = label_smoothing in [0, 1]; target either
   - (), (N) or (N,d1..dk) int64 class ids 0..C-1 or ignore_index: per target
     loss = (1 - s) w[t] (-logp[t]) + s/C sum_c w[c] (-logp[c]); ignored targets give 0 and no
     gradient; "mean" divides by the sum of w[t] over the targets not ignored (their count
     without weight); a weight that requires grad is refused (PyTorch 1.13 does too), or
   - float32 class probabilities p of the logits' shape: loss = sum_c w[c] q[c] (-logp[c])
     with q = (1 - s) p + s/C, per position; "mean" divides by the number of positions
     (N d1..dk), not by weights; ignore_index must be negative (it does not apply).
     target and weight get gradients too, as in PyTorch.
   Gradient for logits (and the probabilities and weight, above). */
rc_status rc_cross_entropy(rc_tensor **out, const rc_tensor *logits, const rc_tensor *target,
                           const rc_tensor *weight, int64_t ignore_index, double label_smoothing,
                           rc_reduction reduction);
rc_status rcg_cross_entropy(rc_tensor **out, const rc_tensor *logits, const rc_tensor *target,
                            const rc_tensor *weight, int64_t ignore_index, double label_smoothing,
                            rc_reduction reduction);

/* log_probs shaped as cross_entropy's logits, int64 class ids as its targets, weight (C) or
   NULL: loss = -w[t] log_probs[t], "mean" over the sum of w[t] not ignored. A weight that
   requires grad is refused. */
rc_status rc_nll_loss(rc_tensor **out, const rc_tensor *log_probs, const rc_tensor *target,
                      const rc_tensor *weight, int64_t ignore_index, rc_reduction reduction);
rc_status rcg_nll_loss(rc_tensor **out, const rc_tensor *log_probs, const rc_tensor *target,
                       const rc_tensor *weight, int64_t ignore_index, rc_reduction reduction);

/* --- layer_norm (core/layer_norm.c) -------------------------------------------------------
   x (..., normalized_shape) float32, normalized over its last k = normalized_ndim dims:
   out = (x - mean) / sqrt(var + eps) * weight + bias, var biased, weight and bias
   (normalized_shape) or NULL. Gradients for x, weight and bias. */
rc_status rc_layer_norm(rc_tensor **out, const rc_tensor *x, int normalized_ndim,
                        const int64_t *normalized_shape, const rc_tensor *weight,
                        const rc_tensor *bias, double eps);
rc_status rcg_layer_norm(rc_tensor **out, const rc_tensor *x, int normalized_ndim,
                         const int64_t *normalized_shape, const rc_tensor *weight,
                         const rc_tensor *bias, double eps);

#endif
