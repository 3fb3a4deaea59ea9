/* core/grad_rnn.c — the recurrent layer and cell as differentiable ops: the whole multi-layer,
   bidirectional layer (or one cell step) is ONE node whose backward runs the fused backward. */
#include <stdio.h>
#include <stdlib.h>
#include "rnn.h"
#include "ops.h"

static const char *node_name(rc_rnn_mode mode, bool cell) {
  switch (mode) {
  case RC_LSTM: return cell ? "LSTMCellBackward" : "LSTMBackward";
  case RC_GRU: return cell ? "GRUCellBackward" : "GRUBackward";
  default: return cell ? "RNNCellBackward" : "RNNBackward";
  }
}

/* --- backward of the layer and of the cell ------------------------------------------------------
   inputs:  x, h0, c0, then the nw weights (node->ninputs = 3 + nw; NULL ones have no edge)
   saved:   x, h0, c0 as (T,B,D) and (L*dirs,B,H) tensors, the nw weights, out (the result,
            read as the last layer's output; NULL when the batch was permuted), reserve
   outputs: layer: out (T,B,dirs*H), h_n, c_n (L*dirs,B,H); cell (i[0] = 1): h, c (B,H) or (H)
   ctx:     the plan. Gradients: dx like x, dh0, dc0 like the states, dW like each weight. */

/* A (1, B, C) view of a cell's (B, C) or (C) tensor (a size-1 dim needs no real stride). */
static rc_status as_3d(rc_tensor **v, const rc_tensor *t) {
  *v = NULL;
  if (!t) return RC_OK;
  int64_t shape[3] = {1, t->ndim == 2 ? t->shape[0] : 1, t->shape[t->ndim - 1]};
  int64_t stride[3] = {0, t->ndim == 2 ? t->stride[0] : 0, t->stride[t->ndim - 1]};
  return rc_view_of(v, t, 3, shape, stride, t->offset);
}

static rc_status rnn_backward(rc_node *n, rc_tensor *const *gout, rc_tensor **gin) {
  const rc_rnn_plan *p = n->ctx;
  int nw = p->L * p->dirs * (p->has_bias ? 4 : 2); /* a cell without bias has 2 of its 4 slots */
  bool cell = n->i[0] == 1;
  /* Outputs: layer out, h_n, c_n; cell h (and c for LSTM only: gout has noutputs entries). */
  const rc_tensor *g_out = cell ? NULL : gout[0];
  const rc_tensor *g_h = cell ? gout[0] : gout[1];
  const rc_tensor *g_c = cell ? (n->noutputs > 1 ? gout[1] : NULL) : gout[2];
  if (!g_out && !g_h && !g_c) return RC_OK;
  rc_tensor *gh3 = NULL, *gc3 = NULL;
  rc_status st = RC_OK;
  if (cell) { /* the cell's h, c are the layer's h_n, c_n with the leading 1 dropped */
    if ((st = as_3d(&gh3, g_h)) || (st = as_3d(&gc3, g_c))) goto fail;
    g_h = gh3, g_c = gc3;
  }
  for (int j = 0; j < n->ninputs; j++) {
    if (!n->inputs[j].needs_grad) continue;
    if ((st = rc_empty(&gin[j], RC_FLOAT32, n->inputs[j].ndim, n->inputs[j].shape))) goto fail;
  }
  st = rc_rnn_backward_run(p, n->saved[0], n->saved[1], n->saved[2],
                           (const rc_tensor *const *)n->saved + 3, n->saved[3 + nw],
                           n->saved[4 + nw], g_out, g_h, g_c, gin[0], gin[1], gin[2], gin + 3);
  if (st) goto fail;
  rc_release(gh3), rc_release(gc3);
  return RC_OK;
fail:
  rc_release(gh3), rc_release(gc3);
  for (int j = 0; j < n->ninputs; j++) {
    rc_release(gin[j]);
    gin[j] = NULL;
  }
  return st;
}

/* Forward with a reserve, then one node over `inputs` (3 + nw) with the plan as its ctx and the
   given results attached as outputs 0.. (NULLs skipped). Takes the plan: freed on failure.
   x3, h03, c03 are the driver's 3-D views (the layer's own tensors for the layer). */
static rc_status forward_recorded(rc_rnn_plan *p, bool cell, const rc_tensor *const *inputs,
                                  const rc_tensor *x3, const rc_tensor *h03, const rc_tensor *c03,
                                  const rc_tensor *const *weights, rc_tensor *out,
                                  rc_tensor *h_n, rc_tensor *c_n, rc_tensor *const *results,
                                  int nresults) {
  int nw = rc_rnn_weight_count(&(rc_rnn_config){.num_layers = p->L,
                                                 .bidirectional = p->dirs == 2,
                                                 .has_bias = p->has_bias});
  rc_tensor *reserve = NULL;
  rc_node *node = NULL;
  int64_t numel = rc_rnn_reserve_numel(p);
  rc_status st = rc_empty(&reserve, RC_FLOAT32, 1, &numel);
  if (st) goto fail;
  if ((st = rc_rnn_forward_run(p, x3, h03, c03, weights, out, h_n, c_n, reserve))) goto fail;
  int ninputs = 3 + (cell ? 4 : nw);
  if ((st = rc_node_new(&node, node_name(p->mode, cell), rnn_backward, ninputs, inputs, 5 + nw,
                        nresults)))
    goto fail;
  const rc_tensor *saved[3] = {x3, h03, c03};
  for (int i = 0; i < 3 && st == RC_OK; i++) st = rc_node_save(node, i, saved[i]);
  for (int i = 0; i < nw && st == RC_OK; i++) st = rc_node_save(node, 3 + i, weights[i]);
  /* The last layer's output is read back from the result only when nothing was permuted. */
  if (st == RC_OK && p->sorted) st = rc_node_save(node, 3 + nw, out);
  if (st == RC_OK) st = rc_node_save(node, 4 + nw, reserve);
  if (st) goto fail;
  node->ctx = p;
  p = NULL;
  node->i[0] = cell;
  for (int i = 0; i < nresults; i++)
    if (results[i]) rc_node_attach(node, results[i], i);
  rc_node_release(node); /* the results hold it */
  rc_release(reserve);
  return RC_OK;
fail:
  rc_node_release(node);
  rc_release(reserve);
  free(p);
  return st;
}

/* --- the layer -------------------------------------------------------------------------------- */

rc_status rcg_rnn(rc_tensor **out, rc_tensor **h_n, rc_tensor **c_n, const rc_rnn_config *cfg,
                  const rc_tensor *x, const rc_tensor *h0, const rc_tensor *c0,
                  const rc_tensor *lengths, int nweights, const rc_tensor *const *weights) {
  *out = *h_n = NULL;
  if (c_n) *c_n = NULL;
  if (nweights < 0 || nweights > 4096 || (nweights > 0 && !weights))
    return rc_rnn(out, h_n, c_n, cfg, x, h0, c0, lengths, nweights, weights); /* its message */
  const rc_tensor **inputs = malloc(sizeof *inputs * (size_t)(3 + nweights));
  if (!inputs) return rc_fail(RC_ERR_NOMEM, "rnn: out of memory");
  inputs[0] = x, inputs[1] = h0, inputs[2] = c0;
  for (int i = 0; i < nweights; i++) inputs[3 + i] = weights[i];
  if (!rc_any_requires_grad(3 + nweights, inputs)) {
    free(inputs);
    return rc_rnn(out, h_n, c_n, cfg, x, h0, c0, lengths, nweights, weights);
  }
  rc_rnn_plan *p = NULL;
  rc_tensor *o = NULL, *h = NULL, *c = NULL;
  rc_status st = rc_rnn_plan_new(&p, NULL, cfg, x, h0, c0, lengths, nweights, weights);
  if (st) goto fail;
  int64_t oshape[3] = {p->T, p->B, p->dirs * p->H}, sshape[3] = {p->L * p->dirs, p->B, p->H};
  if ((st = rc_empty(&o, RC_FLOAT32, 3, oshape)) || (st = rc_empty(&h, RC_FLOAT32, 3, sshape)))
    goto fail;
  if (p->mode == RC_LSTM && (st = rc_empty(&c, RC_FLOAT32, 3, sshape))) goto fail;
  rc_tensor *results[3] = {o, h, c};
  st = forward_recorded(p, false, inputs, x, h0, c0, weights, o, h, c, results, 3);
  p = NULL; /* taken */
  if (st) goto fail;
  free(inputs);
  *out = o, *h_n = h;
  if (c_n)
    *c_n = c;
  else
    rc_release(c);
  return RC_OK;
fail:
  free(inputs);
  free(p);
  rc_release(o), rc_release(h), rc_release(c);
  return st;
}

/* --- the cell --------------------------------------------------------------------------------- */

static const char *cell_name(rc_rnn_mode mode) {
  return mode == RC_LSTM ? "lstm_cell" : mode == RC_GRU ? "gru_cell" : "rnn_cell";
}

/* Check a cell's arguments against PyTorch's rules and give the layer config they make. */
static rc_status cell_check(const char *fn, rc_rnn_mode mode, const rc_tensor *x,
                            const rc_tensor *hx, const rc_tensor *cx, const rc_tensor *w_ih,
                            const rc_tensor *w_hh, const rc_tensor *b_ih, const rc_tensor *b_hh,
                            rc_rnn_config *cfg) {
  char got[128];
  if (mode < RC_RNN_TANH || mode > RC_GRU)
    return rc_fail(RC_ERR_ARG, "rnn_cell: unknown mode %d", (int)mode);
  if (!x || !w_ih || !w_hh)
    return rc_fail(RC_ERR_ARG, "%s: input, weight_ih and weight_hh are required", fn);
  if (x->dtype != RC_FLOAT32)
    return rc_fail(RC_ERR_ARG, "%s: input must be float32, got %s", fn, rc_dtype_name(x->dtype));
  if (x->ndim != 1 && x->ndim != 2)
    return rc_fail(RC_ERR_SHAPE, "%s: input must be (B,D) or (D), got %d dims %s", fn, x->ndim,
                   rc_shape_str(x, got, sizeof got));
  if (w_hh->ndim != 2 || w_ih->ndim != 2)
    return rc_fail(RC_ERR_SHAPE, "%s: weight_ih and weight_hh must be 2-D, got %d and %d dims",
                   fn, w_ih->ndim, w_hh->ndim);
  const rc_tensor *ws[4] = {w_ih, w_hh, b_ih, b_hh};
  const char *wnames[4] = {"weight_ih", "weight_hh", "bias_ih", "bias_hh"};
  for (int k = 0; k < 4; k++)
    if (ws[k] && ws[k]->dtype != RC_FLOAT32)
      return rc_fail(RC_ERR_ARG, "%s: %s must be float32, got %s", fn, wnames[k],
                     rc_dtype_name(ws[k]->dtype));
  int64_t H = w_hh->shape[1], GH = rc_rnn_gate_count(mode) * H, D = x->shape[x->ndim - 1];
  if (w_ih->shape[1] != D)
    return rc_fail(RC_ERR_SHAPE, "%s: input has D=%lld but weight_ih has %lld columns (input_size)",
                   fn, (long long)D, (long long)w_ih->shape[1]);
  if ((b_ih == NULL) != (b_hh == NULL))
    return rc_fail(RC_ERR_ARG, "%s: give both bias_ih and bias_hh, or neither", fn);
  if (cx && mode != RC_LSTM) return rc_fail(RC_ERR_ARG, "%s: cx is only for LSTM", fn);
  const rc_tensor *states[2] = {hx, cx};
  const char *names[2] = {"hx", "cx"};
  for (int k = 0; k < 2; k++) {
    const rc_tensor *s = states[k];
    if (!s) continue;
    if (s->dtype != RC_FLOAT32)
      return rc_fail(RC_ERR_ARG, "%s: %s must be float32, got %s", fn, names[k],
                     rc_dtype_name(s->dtype));
    bool ok = s->ndim == x->ndim && s->shape[s->ndim - 1] == H &&
              (x->ndim == 1 || s->shape[0] == x->shape[0]);
    if (!ok) {
      char want[64];
      if (x->ndim == 2)
        snprintf(want, sizeof want, "(%lld,%lld)", (long long)x->shape[0], (long long)H);
      else
        snprintf(want, sizeof want, "(%lld)", (long long)H);
      return rc_fail(RC_ERR_SHAPE, "%s: %s must have shape %s (batch, hidden_size), got %s", fn,
                     names[k], want, rc_shape_str(s, got, sizeof got));
    }
  }
  if (w_ih->shape[0] != GH || w_hh->shape[0] != GH)
    return rc_fail(RC_ERR_SHAPE,
                   "%s: weight_ih and weight_hh must have %d*hidden_size = %lld rows, got %lld "
                   "and %lld", fn, rc_rnn_gate_count(mode), (long long)GH,
                   (long long)w_ih->shape[0], (long long)w_hh->shape[0]);
  *cfg = (rc_rnn_config){.mode = mode, .input_size = D, .hidden_size = H, .num_layers = 1,
                         .bidirectional = false, .dropout = 0, .training = false,
                         .has_bias = b_ih != NULL};
  return RC_OK;
}

/* The cell as a one-step, one-layer layer: 3-D views of x and the states, the plan, results. */
typedef struct {
  rc_tensor *x3, *h3, *c3;        /* views (1,B,D), (1,B,H) */
  rc_tensor *out, *h_n, *c_n;     /* (1,B,H) */
  rc_tensor *h, *c;               /* the results: views of h_n, c_n shaped like hx */
  rc_rnn_plan *plan;
} cell_call;

static void cell_free(cell_call *k) {
  rc_release(k->x3), rc_release(k->h3), rc_release(k->c3), rc_release(k->out);
  rc_release(k->h_n), rc_release(k->c_n), rc_release(k->h), rc_release(k->c);
  free(k->plan);
}

static rc_status cell_prepare(cell_call *k, const char *fn, rc_rnn_mode mode,
                              const rc_tensor *x, const rc_tensor *hx, const rc_tensor *cx,
                              const rc_tensor *const *weights, int nw) {
  rc_rnn_config cfg;
  const rc_tensor *b_ih = nw == 4 ? weights[2] : NULL, *b_hh = nw == 4 ? weights[3] : NULL;
  rc_status st = cell_check(fn, mode, x, hx, cx, weights[0], weights[1], b_ih, b_hh, &cfg);
  if (st) return st;
  if ((st = as_3d(&k->x3, x)) || (st = as_3d(&k->h3, hx)) || (st = as_3d(&k->c3, cx))) return st;
  if ((st = rc_rnn_plan_new(&k->plan, fn, &cfg, k->x3, k->h3, k->c3, NULL, nw, weights))) return st;
  int64_t B = k->x3->shape[1], H = cfg.hidden_size, shape[3] = {1, B, H};
  if ((st = rc_empty(&k->out, RC_FLOAT32, 3, shape))) return st;
  if ((st = rc_empty(&k->h_n, RC_FLOAT32, 3, shape))) return st;
  if (mode == RC_LSTM && (st = rc_empty(&k->c_n, RC_FLOAT32, 3, shape))) return st;
  /* Results shaped like the input's batch: (B,H) or (H). */
  int64_t rshape[2] = {B, H}, rstride[2] = {H, 1};
  int rdim = x->ndim;
  const int64_t *rs = rdim == 2 ? rshape : rshape + 1, *rst = rdim == 2 ? rstride : rstride + 1;
  if ((st = rc_view_of(&k->h, k->h_n, rdim, rs, rst, 0))) return st;
  if (k->c_n && (st = rc_view_of(&k->c, k->c_n, rdim, rs, rst, 0))) return st;
  return RC_OK;
}

static rc_status cell_run(rc_tensor **h, rc_tensor **c, rc_rnn_mode mode, const rc_tensor *x,
                          const rc_tensor *hx, const rc_tensor *cx, const rc_tensor *w_ih,
                          const rc_tensor *w_hh, const rc_tensor *b_ih, const rc_tensor *b_hh,
                          bool may_record) {
  *h = NULL;
  if (c) *c = NULL;
  const char *fn = cell_name(mode);
  const rc_tensor *weights[4] = {w_ih, w_hh, b_ih, b_hh};
  int nw = b_ih || b_hh ? 4 : 2;
  const rc_tensor *inputs[7] = {x, hx, cx, w_ih, w_hh, b_ih, b_hh};
  cell_call k = {0};
  rc_status st = cell_prepare(&k, fn, mode, x, hx, cx, weights, nw);
  if (st) goto done;
  if (may_record && rc_any_requires_grad(7, inputs)) {
    rc_tensor *results[2] = {k.h, k.c};
    st = forward_recorded(k.plan, true, inputs, k.x3, k.h3, k.c3, weights, k.out, k.h_n, k.c_n,
                          results, mode == RC_LSTM ? 2 : 1);
    k.plan = NULL; /* taken */
  } else {
    st = rc_rnn_forward_run(k.plan, k.x3, k.h3, k.c3, weights, k.out, k.h_n, k.c_n, NULL);
  }
  if (st) goto done;
  *h = k.h, k.h = NULL;
  if (c) *c = k.c, k.c = NULL;
done:
  cell_free(&k);
  return st;
}

rc_status rc_rnn_cell(rc_tensor **h, rc_tensor **c, rc_rnn_mode mode, const rc_tensor *x,
                      const rc_tensor *hx, const rc_tensor *cx, const rc_tensor *w_ih,
                      const rc_tensor *w_hh, const rc_tensor *b_ih, const rc_tensor *b_hh) {
  return cell_run(h, c, mode, x, hx, cx, w_ih, w_hh, b_ih, b_hh, false);
}

rc_status rcg_rnn_cell(rc_tensor **h, rc_tensor **c, rc_rnn_mode mode, const rc_tensor *x,
                       const rc_tensor *hx, const rc_tensor *cx, const rc_tensor *w_ih,
                       const rc_tensor *w_hh, const rc_tensor *b_ih, const rc_tensor *b_hh) {
  return cell_run(h, c, mode, x, hx, cx, w_ih, w_hh, b_ih, b_hh, true);
}
