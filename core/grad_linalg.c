/* core/grad_linalg.c — the differentiable matmul, addmm, bmm and dot. Backward is two more
   products (g @ b^T and a^T @ g) over transposed views, never copies of the operands. */
#include "grad.h"

/* out = x @ y^T over their last two dims; y^T is a view, so rc_gemm reads y transposed. */
static rc_status matmul_bt(rc_tensor **out, const rc_tensor *x, const rc_tensor *y) {
  rc_tensor *yt = NULL;
  rc_status st = rc_transpose(&yt, y, -1, -2);
  if (st == RC_OK) st = rc_matmul(out, x, yt);
  rc_release(yt);
  return st;
}

/* out = x^T @ y over their last two dims. */
static rc_status matmul_at(rc_tensor **out, const rc_tensor *x, const rc_tensor *y) {
  rc_tensor *xt = NULL;
  rc_status st = rc_transpose(&xt, x, -1, -2);
  if (st == RC_OK) st = rc_matmul(out, xt, y);
  rc_release(xt);
  return st;
}

/* t * s in place (t is a fresh result of ours); nothing to do for s = 1 or no elements. */
static rc_status scale_(rc_tensor *t, double s) {
  return s == 1.0 || rc_numel(t) == 0 ? RC_OK : rc_binary_scalar_(t, RC_MUL, s);
}

/* --- matmul, with torch.matmul's cases ---------------------------------------------------
   a (..., n, k) or (k)    b (..., k, m) or (k)    out (batch..., n, m), batch dims broadcast,
   the dims a 1-D operand was promoted with dropped again: (k)@(k) -> (), (n,k)@(k) -> (n),
   (k)@(..., k, m) -> (..., m).
   d/da = g @ b^T, d/db = a^T @ g, each summed over the batch dims its operand was broadcast
   along, and squeezed back to a 1-D operand's shape.
   saved: a (if b needs grad), b (if a needs grad). */

/* t promoted as torch.matmul promotes a 1-D operand: left (k) -> (1,k), right (k) -> (k,1). */
static rc_status promote(rc_tensor **out, const rc_tensor *t, bool is_left) {
  if (t->ndim == 1) return rc_unsqueeze(out, t, is_left ? 0 : 1);
  *out = rc_retain((rc_tensor *)t);
  return RC_OK;
}

/* The gradient of the promoted operand to input e's own shape: summed over the batch dims
   it was broadcast along, then, for a 1-D input, the promoted dim dropped again. */
static rc_status give(rc_tensor **out, rc_tensor *g, const rc_edge *e, bool is_left) {
  if (e->ndim != 1) return rc_sum_to_shape(out, g, e->ndim, e->shape);
  rc_tensor *s = NULL;
  int64_t len = e->shape[0];
  int64_t shape[2] = {is_left ? 1 : len, is_left ? len : 1};
  rc_status st = rc_sum_to_shape(&s, g, 2, shape);
  if (st) return st;
  st = rc_reshape(out, s, 1, &len);
  rc_release(s);
  return st;
}

static rc_status matmul_backward(rc_node *n, rc_tensor *const *gout, rc_tensor **gin) {
  rc_tensor *g = gout[0], *a = n->saved[0], *b = n->saved[1];
  rc_tensor *am = NULL, *bm = NULL, *gm = NULL, *t = NULL, *a2 = NULL, *g2 = NULL;
  const rc_edge *ea = &n->inputs[0], *eb = &n->inputs[1];
  rc_status st = RC_OK;
  if (!g) return RC_OK;
  if (ea->ndim == 1 && eb->ndim == 1) { /* dot: g is 0-d */
    if (ea->needs_grad) RC_TRY(rc_binary(&gin[0], RC_MUL, g, b));
    if (eb->needs_grad) RC_TRY(rc_binary(&gin[1], RC_MUL, g, a));
    goto done;
  }
  /* g with the dropped dim back: (..., m) -> (..., 1, m) for a 1-D a, (..., n) -> (..., n, 1)
     for a 1-D b. */
  if (ea->ndim == 1)
    RC_TRY(rc_unsqueeze(&gm, g, g->ndim - 1));
  else if (eb->ndim == 1)
    RC_TRY(rc_unsqueeze(&gm, g, g->ndim));
  else
    gm = rc_retain(g);
  if (ea->needs_grad) { /* g (..., n, m) @ b^T (..., m, k) -> (..., n, k) */
    RC_TRY(promote(&bm, b, false));
    RC_TRY(matmul_bt(&t, gm, bm));
    RC_TRY(give(&gin[0], t, ea, true));
    rc_release(t), t = NULL;
  }
  if (eb->needs_grad) {
    RC_TRY(promote(&am, a, true));
    if (eb->ndim <= 2 && am->ndim > 2) {
      /* b has no batch dims, so its gradient sums a^T @ g over all of a's batch: one GEMM
         of a's rows, (k, B*n) @ (B*n, m), instead of B products and a sum. Reshape copies
         only an operand whose rows do not lie evenly in memory. */
      int64_t rows = 1, k = am->shape[am->ndim - 1], m = gm->shape[gm->ndim - 1];
      for (int d = 0; d < am->ndim - 1; d++) rows *= am->shape[d];
      int64_t ashape[2] = {rows, k}, gshape[2] = {rows, m};
      RC_TRY(rc_reshape(&a2, am, 2, ashape));
      RC_TRY(rc_reshape(&g2, gm, 2, gshape));
      RC_TRY(matmul_at(&t, a2, g2));
    } else { /* a^T (..., k, n) @ g (..., n, m) -> (..., k, m) */
      RC_TRY(matmul_at(&t, am, gm));
    }
    RC_TRY(give(&gin[1], t, eb, false));
  }
done:
  rc_release(am), rc_release(bm), rc_release(gm), rc_release(t), rc_release(a2);
  rc_release(g2);
  return st;
}

/* PyTorch's names for the cases people see most. */
static const char *matmul_name(const rc_tensor *a, const rc_tensor *b) {
  if (a->ndim == 1 && b->ndim == 1) return "DotBackward";
  if (a->ndim == 2 && b->ndim == 2) return "MmBackward";
  if (a->ndim == 2 && b->ndim == 1) return "MvBackward";
  return "MatmulBackward";
}

/* Save each operand only if the other one's gradient needs it. */
static rc_status record_product(rc_tensor **out, const char *name, rc_backward_fn backward,
                                const rc_tensor *a, const rc_tensor *b) {
  const rc_tensor *in[2] = {a, b};
  const rc_tensor *saved[2] = {b->requires_grad ? a : NULL, a->requires_grad ? b : NULL};
  rc_node *node;
  return rc_record_finish(rc_record(&node, *out, name, backward, 2, in, 2, saved), out);
}

rc_status rcg_matmul(rc_tensor **out, const rc_tensor *a, const rc_tensor *b) {
  rc_status st = rc_matmul(out, a, b);
  if (st) return st;
  return record_product(out, matmul_name(a, b), matmul_backward, a, b);
}

/* --- bmm: a (B, n, k) @ b (B, k, m) -> out (B, n, m), no broadcasting.
   d/da = g @ b^T (B, n, k), d/db = a^T @ g (B, k, m). saved: a, b as matmul. */
static rc_status bmm_backward(rc_node *n, rc_tensor *const *gout, rc_tensor **gin) {
  rc_tensor *g = gout[0];
  rc_status st = RC_OK;
  if (!g) return RC_OK;
  if (n->inputs[0].needs_grad) st = matmul_bt(&gin[0], g, n->saved[1]);
  if (st == RC_OK && n->inputs[1].needs_grad) st = matmul_at(&gin[1], n->saved[0], g);
  return st;
}

rc_status rcg_bmm(rc_tensor **out, const rc_tensor *a, const rc_tensor *b) {
  rc_status st = rc_bmm(out, a, b);
  if (st) return st;
  return record_product(out, "BmmBackward", bmm_backward, a, b);
}

/* --- dot: a (k) . b (k) -> out (). d/da = g b, d/db = g a. saved: a, b as matmul. */
static rc_status dot_backward(rc_node *n, rc_tensor *const *gout, rc_tensor **gin) {
  rc_tensor *g = gout[0];
  rc_status st = RC_OK;
  if (!g) return RC_OK;
  if (n->inputs[0].needs_grad) st = rc_binary(&gin[0], RC_MUL, g, n->saved[1]);
  if (st == RC_OK && n->inputs[1].needs_grad) st = rc_binary(&gin[1], RC_MUL, g, n->saved[0]);
  return st;
}

rc_status rcg_dot(rc_tensor **out, const rc_tensor *a, const rc_tensor *b) {
  rc_status st = rc_dot(out, a, b);
  if (st) return st;
  return record_product(out, "DotBackward", dot_backward, a, b);
}

/* --- addmm: out (n, m) = beta * c + alpha * a (n, k) @ b (k, m), c broadcast to (n, m).
   d/dc = beta * g summed to c's shape, d/da = alpha * g @ b^T (n, k),
   d/db = alpha * a^T @ g (k, m). f[0] = beta, f[1] = alpha. saved: a, b as matmul. */
static rc_status addmm_backward(rc_node *n, rc_tensor *const *gout, rc_tensor **gin) {
  rc_tensor *g = gout[0], *a = n->saved[0], *b = n->saved[1], *t = NULL;
  double beta = n->f[0], alpha = n->f[1];
  const rc_edge *ec = &n->inputs[0];
  rc_status st = RC_OK;
  if (!g) return RC_OK;
  if (ec->needs_grad) {
    RC_TRY(rc_sum_to_shape(&t, g, ec->ndim, ec->shape)); /* may be g itself: scale a copy */
    if (beta == 1.0)
      gin[0] = t, t = NULL;
    else
      RC_TRY(rc_binary_scalar(&gin[0], RC_MUL, t, beta));
  }
  if (n->inputs[1].needs_grad) {
    RC_TRY(matmul_bt(&gin[1], g, b));
    RC_TRY(scale_(gin[1], alpha));
  }
  if (n->inputs[2].needs_grad) {
    RC_TRY(matmul_at(&gin[2], a, g));
    RC_TRY(scale_(gin[2], alpha));
  }
done:
  rc_release(t);
  return st;
}

rc_status rcg_addmm(rc_tensor **out, const rc_tensor *c, const rc_tensor *a,
                    const rc_tensor *b, double beta, double alpha) {
  rc_status st = rc_addmm(out, c, a, b, beta, alpha);
  if (st) return st;
  const rc_tensor *in[3] = {c, a, b};
  const rc_tensor *saved[2] = {b->requires_grad ? a : NULL, a->requires_grad ? b : NULL};
  rc_node *node;
  st = rc_record(&node, *out, "AddmmBackward", addmm_backward, 3, in, 2, saved);
  if (node) node->f[0] = beta, node->f[1] = alpha;
  return rc_record_finish(st, out);
}
