/* core/optim.h — fused optimizer updates: one pass over a parameter per step for SGD, Adam,
   AdamW, RMSprop and Adagrad, computing op for op what PyTorch 1.13's single-tensor code does. */
#ifndef RC_OPTIM_H
#define RC_OPTIM_H

#include "tensor.h"

/* Every update below works on contiguous float32 tensors of one shape: the parameter, its
   gradient and the optimizer's state for it. It writes the parameter and the state in place
   (bumping their storage versions, so a graph that saved the old values refuses backward)
   and never records autograd history: an update is what PyTorch runs under no_grad.
   Hyperparameters are doubles, as Python floats are; each reaches the float32 arithmetic
   where PyTorch converts it. Rounding follows PyTorch's CPU kernels (AVX2 and wider):
   add(b, alpha) and addcmul are fused multiply-adds (fmaf), every other op rounds on its
   own, so the results equal PyTorch 1.13's bit for bit (tests/golden/optim.lua).
   Elementwise, so large tensors run in parallel with results independent of the thread
   count. On error nothing has been written. */

/* SGD with momentum, dampening, Nesterov momentum and L2 weight decay.
   d = grad (negated when maximize) + weight_decay * param
   momentum != 0: buf = d on the first step (PyTorch's buffer is None then: *momentum_buf
   == NULL, and a new buffer is made and returned there), else
   buf = momentum * buf + (1 - dampening) * d; then d = d + momentum * buf (nesterov) or buf.
   param -= lr * d. With momentum == 0, momentum_buf may be NULL and is not touched. */
typedef struct {
  double lr, momentum, dampening, weight_decay;
  bool nesterov, maximize;
} rc_sgd_options;

rc_status rc_sgd_step(rc_tensor *param, const rc_tensor *grad, rc_tensor **momentum_buf,
                      const rc_sgd_options *opts);

/* Adam (L2 weight decay added to the gradient) and AdamW (decoupled: param *= 1 - lr * wd
   before the update). exp_avg, exp_avg_sq: the moments, zeros before the first step;
   max_exp_avg_sq: the running maximum of exp_avg_sq, required with amsgrad (else NULL).
   step: the step being taken, 1 for the first (bias corrections 1 - beta^step). */
typedef struct {
  double lr, beta1, beta2, eps, weight_decay;
  bool amsgrad, maximize;
} rc_adam_options;

rc_status rc_adam_step(rc_tensor *param, const rc_tensor *grad, rc_tensor *exp_avg,
                       rc_tensor *exp_avg_sq, rc_tensor *max_exp_avg_sq, int64_t step,
                       const rc_adam_options *opts);
rc_status rc_adamw_step(rc_tensor *param, const rc_tensor *grad, rc_tensor *exp_avg,
                        rc_tensor *exp_avg_sq, rc_tensor *max_exp_avg_sq, int64_t step,
                        const rc_adam_options *opts);

/* RMSprop. square_avg: zeros before the first step; grad_avg (zeros at first): required
   when centered, else NULL; momentum_buf (zeros at first): required when momentum > 0,
   else NULL. */
typedef struct {
  double lr, alpha, eps, weight_decay, momentum;
  bool centered, maximize;
} rc_rmsprop_options;

rc_status rc_rmsprop_step(rc_tensor *param, const rc_tensor *grad, rc_tensor *square_avg,
                          rc_tensor *grad_avg, rc_tensor *momentum_buf,
                          const rc_rmsprop_options *opts);

/* Adagrad. state_sum: the sum of squared gradients, initial_accumulator_value everywhere
   before the first step. step: the step being taken, 1 for the first; the learning rate is
   lr / (1 + (step - 1) * lr_decay). */
typedef struct {
  double lr, lr_decay, weight_decay, eps;
  bool maximize;
} rc_adagrad_options;

rc_status rc_adagrad_step(rc_tensor *param, const rc_tensor *grad, rc_tensor *state_sum,
                          int64_t step, const rc_adagrad_options *opts);

#endif
