/* core/grad_reduce.c — the differentiable reductions (sum, mean, prod, max/min, norm, logsumexp)
   and softmax/log_softmax: forward is the raw op, then a node whose backward is PyTorch's rule. */
#include <math.h>
#include "grad.h"

/* An input with no elements gets an empty gradient straight away: the in-place steps below
   are refused on an empty tensor whose strides look expanded (stride 0 next to a size 0). */
static bool no_elements(const rc_edge *e) {
  for (int d = 0; d < e->ndim; d++)
    if (e->shape[d] == 0) return true;
  return false;
}

static rc_status empty_grad(rc_node *n, rc_tensor **gin) {
  return rc_full(&gin[0], RC_FLOAT32, n->inputs[0].ndim, n->inputs[0].shape, 0.0);
}

/* The reduced dim as the nodes keep it (i[0]): 0-based, or RC_ALL_DIMS. Called after the raw
   op accepted dim, so it is in range; a 0-d tensor reduced over dim 0 / -1 is "all dims". */
static int reduced_dim(const rc_tensor *a, int dim) {
  if (dim == RC_ALL_DIMS || a->ndim == 0) return RC_ALL_DIMS;
  return dim < 0 ? dim + a->ndim : dim;
}

/* t (an output or its gradient) with the reduced dim back as size 1, so that it broadcasts
   against the input: (..., ...) -> (..., 1, ...). All-dims results broadcast as they are. */
static rc_status keep(rc_tensor **out, rc_tensor *t, int dim, bool keepdim) {
  if (keepdim || dim == RC_ALL_DIMS) {
    *out = rc_retain(t);
    return RC_OK;
  }
  return rc_unsqueeze(out, t, dim);
}

/* t broadcast to the input's shape, as a contiguous tensor (gradients are dense). */
static rc_status spread(rc_tensor **out, rc_tensor *t, const rc_edge *e) {
  rc_tensor *x = NULL;
  rc_status st = rc_expand(&x, t, e->ndim, e->shape);
  if (st) return st;
  st = rc_contiguous(out, x);
  rc_release(x);
  return st;
}

/* mask (a float 0/1 tensor shaped like the input) * g / (mask's count per slice): the
   gradient of a max shared evenly by the elements that reach it, as PyTorch's amax. */
static rc_status share_evenly(rc_tensor **out, rc_tensor *mask, rc_tensor *gk, int dim) {
  rc_tensor *count = NULL, *part = NULL;
  rc_status st;
  RC_TRY(rc_reduce(&count, RC_SUM, mask, dim, true));
  RC_TRY(rc_binary(&part, RC_DIV, gk, count)); /* small: one value per slice */
  RC_TRY(rc_binary(out, RC_MUL, mask, part));
done:
  rc_release(count), rc_release(part);
  return st;
}

/* 1 where x equals the slice's extreme m (kept shape), or is NaN: a NaN makes the extreme NaN
   (NaN wins), and then the NaNs are the elements that reached it. */
static rc_status extreme_mask(rc_tensor **out, rc_tensor *x, rc_tensor *mk) {
  rc_tensor *nan = NULL;
  rc_status st;
  RC_TRY(rc_binary(out, RC_EQ, x, mk));
  RC_TRY(rc_binary(&nan, RC_NE, x, x));
  RC_TRY(rc_binary_(*out, RC_ADD, nan));
done:
  rc_release(nan);
  if (st) rc_release(*out), *out = NULL;
  return st;
}

/* --- sum, mean, prod, max, min over one dim or all ----------------------------------------
   a (...) -> out: the reduced dim dropped (or size 1 with keepdim; 0-d for all dims).
   i[0] = dim (RC_ALL_DIMS: all), i[1] = keepdim, i[2] = op; f[0] = mean's count.
   saved: prod: a. max/min: a, out. sum/mean: nothing (only the input's shape). */

/* prod: d out / d a_i = the product of the other elements of a_i's slice. Computed from the
   zero count of each slice, so it is exact with any number of zeros:
     no zero:   prod / a_i (prod of the slice with a's zeros set to 1, divided by a_i)
     one zero:  the product of the non-zeros, at the zero only; 0 elsewhere
     more:      0 everywhere. */
static rc_status prod_factor(rc_tensor **out, rc_tensor *a, int dim) {
  rc_tensor *zero = NULL, *a1 = NULL, *p1 = NULL, *nz = NULL, *c = NULL, *t = NULL;
  rc_status st;
  RC_TRY(rc_binary_scalar(&zero, RC_EQ, a, 0.0));
  RC_TRY(rc_masked_fill(&a1, a, zero, 1.0));
  RC_TRY(rc_reduce(&p1, RC_PROD, a1, dim, true)); /* product of the non-zeros, per slice */
  RC_TRY(rc_reduce(&nz, RC_SUM, zero, dim, true)); /* zeros per slice */
  RC_TRY(rc_binary(out, RC_DIV, p1, a1));
  RC_TRY(rc_binary_scalar(&c, RC_EQ, nz, 0.0));
  RC_TRY(rc_binary_(*out, RC_MUL, c)); /* slices without zeros keep prod / a_i */
  rc_release(c), c = NULL;
  RC_TRY(rc_binary_scalar(&c, RC_EQ, nz, 1.0));
  RC_TRY(rc_binary(&t, RC_MUL, zero, c));
  RC_TRY(rc_binary_(t, RC_MUL, p1));
  RC_TRY(rc_binary_(*out, RC_ADD, t)); /* slices with one zero: the others' product there */
done:
  rc_release(zero), rc_release(a1), rc_release(p1), rc_release(nz), rc_release(c), rc_release(t);
  if (st) rc_release(*out), *out = NULL;
  return st;
}

static rc_status reduce_backward(rc_node *n, rc_tensor *const *gout, rc_tensor **gin) {
  rc_tensor *g = gout[0], *a = n->saved[0], *out = n->saved[1];
  rc_tensor *gk = NULL, *ok = NULL, *t = NULL;
  int dim = (int)n->i[0];
  bool keepdim = n->i[1];
  rc_status st = RC_OK;
  if (!g) return RC_OK;
  if (no_elements(&n->inputs[0])) return empty_grad(n, gin);
  RC_TRY(keep(&gk, g, dim, keepdim));
  switch ((rc_reduce_op)n->i[2]) {
  case RC_SUM: /* every element gets g: (kept) -> a's shape */
    RC_TRY(spread(&gin[0], gk, &n->inputs[0]));
    break;
  case RC_MEAN:
    RC_TRY(rc_binary_scalar(&t, RC_DIV, gk, n->f[0]));
    RC_TRY(spread(&gin[0], t, &n->inputs[0]));
    break;
  case RC_PROD:
    RC_TRY(prod_factor(&t, a, dim));
    RC_TRY(rc_binary(&gin[0], RC_MUL, t, gk));
    break;
  case RC_MAX:
  case RC_MIN:
    RC_TRY(keep(&ok, out, dim, keepdim));
    RC_TRY(extreme_mask(&t, a, ok));
    RC_TRY(share_evenly(&gin[0], t, gk, dim));
    break;
  }
done:
  rc_release(gk), rc_release(ok), rc_release(t);
  return st;
}

static const char *reduce_node_name(rc_reduce_op op) {
  switch (op) {
  case RC_SUM: return "SumBackward";
  case RC_MEAN: return "MeanBackward";
  case RC_PROD: return "ProdBackward";
  case RC_MAX: return "MaxBackward";
  case RC_MIN: return "MinBackward";
  }
  return "?";
}

rc_status rcg_reduce(rc_tensor **out, rc_reduce_op op, const rc_tensor *a, int dim,
                     bool keepdim) {
  rc_status st = rc_reduce(out, op, a, dim, keepdim);
  if (st) return st;
  const rc_tensor *in[1] = {a}, *saved[2] = {NULL, NULL};
  if (op == RC_PROD) saved[0] = a;
  if (op == RC_MAX || op == RC_MIN) saved[0] = a, saved[1] = *out;
  rc_node *node;
  st = rc_record(&node, *out, reduce_node_name(op), reduce_backward, 1, in, 2, saved);
  if (node) {
    node->i[0] = reduced_dim(a, dim);
    node->i[1] = keepdim;
    node->i[2] = op;
    node->f[0] = (double)(node->i[0] == RC_ALL_DIMS ? rc_numel(a) : a->shape[node->i[0]]);
  }
  return rc_record_finish(st, out);
}

/* --- max/min along a dim, with indices ------------------------------------------------------
   a (..., N, ...) -> values, indices (..., ...) (size 1 at dim with keepdim).
   One node, two outputs: values is output 0; the int64 indices are not differentiable.
   The gradient goes to the returned index only (the first extreme), as PyTorch.
   i[0] = dim (RC_ALL_DIMS for a 0-d input), i[1] = keepdim. saved: indices. */
static rc_status max_dim_backward(rc_node *n, rc_tensor *const *gout, rc_tensor **gin) {
  rc_tensor *g = gout[0], *idx = n->saved[0], *gk = NULL, *ik = NULL, *ga = NULL;
  int dim = (int)n->i[0];
  bool keepdim = n->i[1];
  rc_status st = RC_OK;
  if (!g) return RC_OK;
  if (no_elements(&n->inputs[0])) return empty_grad(n, gin);
  if (dim == RC_ALL_DIMS) { /* a 0-d input is its own max */
    gin[0] = rc_retain(g);
    return RC_OK;
  }
  RC_TRY(keep(&gk, g, dim, keepdim));
  RC_TRY(keep(&ik, idx, dim, keepdim));
  RC_TRY(rc_full(&ga, RC_FLOAT32, n->inputs[0].ndim, n->inputs[0].shape, 0.0));
  RC_TRY(rc_scatter_add_(ga, dim, ik, gk));
  gin[0] = ga, ga = NULL;
done:
  rc_release(gk), rc_release(ik), rc_release(ga);
  return st;
}

rc_status rcg_max_dim(rc_tensor **values, rc_tensor **indices, const rc_tensor *a, int dim,
                      bool keepdim, bool is_min) {
  rc_status st = rc_max_dim(values, indices, a, dim, keepdim, is_min);
  if (st) return st;
  const rc_tensor *in[1] = {a};
  if (!rc_any_requires_grad(1, in) || (*values)->dtype != RC_FLOAT32) return RC_OK;
  rc_node *node = NULL;
  st = rc_node_new(&node, is_min ? "MinBackward" : "MaxBackward", max_dim_backward, 1, in, 1, 2);
  if (st == RC_OK) st = rc_node_save(node, 0, *indices);
  if (st) {
    rc_node_release(node);
    rc_release(*values), rc_release(*indices);
    *values = *indices = NULL;
    return st;
  }
  node->i[0] = reduced_dim(a, dim);
  node->i[1] = keepdim;
  rc_node_attach(node, *values, 0);
  rc_node_release(node); /* values holds it now */
  return RC_OK;
}

/* --- norm -------------------------------------------------------------------------------------
   a (...) -> out = (sum |a|^p)^(1/p) over dim or all. f[0] = p; i[0] = dim, i[1] = keepdim.
   saved: a, out.
     p = 2:      g * a / out                  (0 where out == 0)
     p = 1:      g * sign(a)
     p = +-inf:  g * sign(a) on the elements with |a| == out, shared evenly
     p = 0:      0 (a count of non-zeros)
     other p:    g * sign(a) |a|^(p-1) / out^(p-1)   (0 where out == 0; for p < 1 an element
                 that is 0 gets NaN: the derivative is infinite there) */
static rc_status norm_backward(rc_node *n, rc_tensor *const *gout, rc_tensor **gin) {
  rc_tensor *g = gout[0], *a = n->saved[0], *out = n->saved[1];
  rc_tensor *gk = NULL, *ok = NULL, *scale = NULL, *t = NULL, *u = NULL;
  int dim = (int)n->i[0];
  bool keepdim = n->i[1];
  double p = n->f[0];
  rc_status st = RC_OK;
  if (!g) return RC_OK;
  if (no_elements(&n->inputs[0])) return empty_grad(n, gin);
  RC_TRY(keep(&gk, g, dim, keepdim));
  if (out) RC_TRY(keep(&ok, out, dim, keepdim));
  if (p == 0) {
    RC_TRY(rc_full(&gin[0], RC_FLOAT32, n->inputs[0].ndim, n->inputs[0].shape, 0.0));
  } else if (p == 1) {
    RC_TRY(rc_unary(&t, RC_SIGN, a));
    RC_TRY(rc_binary(&gin[0], RC_MUL, t, gk));
  } else if (isinf(p)) {
    RC_TRY(rc_unary(&u, RC_ABS, a));
    RC_TRY(extreme_mask(&t, u, ok));
    RC_TRY(share_evenly(&scale, t, gk, dim)); /* mask * g / count */
    rc_release(u), u = NULL;
    RC_TRY(rc_unary(&u, RC_SIGN, a));
    RC_TRY(rc_binary(&gin[0], RC_MUL, scale, u));
  } else {
    /* scale = g / out^(p-1) per slice, 0 where the norm is 0; then times a's own factor. */
    if (p == 2) {
      RC_TRY(rc_binary(&scale, RC_DIV, gk, ok));
    } else {
      RC_TRY(rc_binary_scalar(&u, RC_POW, ok, p - 1));
      RC_TRY(rc_binary(&scale, RC_DIV, gk, u));
      rc_release(u), u = NULL;
    }
    RC_TRY(rc_binary_scalar(&u, RC_EQ, ok, 0.0));
    RC_TRY(rc_masked_fill_(scale, u, 0.0));
    if (p == 2) {
      RC_TRY(rc_binary(&gin[0], RC_MUL, a, scale));
    } else {
      RC_TRY(rc_unary(&t, RC_ABS, a));
      RC_TRY(rc_binary_scalar_(t, RC_POW, p - 1));
      rc_release(u), u = NULL;
      RC_TRY(rc_unary(&u, RC_SIGN, a));
      RC_TRY(rc_binary_(t, RC_MUL, u));
      RC_TRY(rc_binary(&gin[0], RC_MUL, t, scale));
    }
  }
done:
  rc_release(gk), rc_release(ok), rc_release(scale), rc_release(t), rc_release(u);
  return st;
}

rc_status rcg_norm(rc_tensor **out, const rc_tensor *a, double p, int dim, bool keepdim) {
  rc_status st = rc_norm(out, a, p, dim, keepdim);
  if (st) return st;
  const rc_tensor *in[1] = {a}, *saved[2] = {a, *out};
  if (p == 0 || p == 1) saved[1] = NULL; /* their gradients do not involve the norm */
  if (p == 0) saved[0] = NULL;
  rc_node *node;
  st = rc_record(&node, *out, "NormBackward", norm_backward, 1, in, 2, saved);
  if (node) {
    node->f[0] = p;
    node->i[0] = reduced_dim(a, dim);
    node->i[1] = keepdim;
  }
  return rc_record_finish(st, out);
}

/* --- logsumexp: a (...) -> out = log sum exp(a) over dim; d/da = g * exp(a - out), the
   softmax of a. i[0] = dim, i[1] = keepdim. saved: a, out. */
static rc_status logsumexp_backward(rc_node *n, rc_tensor *const *gout, rc_tensor **gin) {
  rc_tensor *g = gout[0], *a = n->saved[0], *out = n->saved[1], *gk = NULL, *ok = NULL;
  rc_tensor *t = NULL;
  int dim = (int)n->i[0];
  bool keepdim = n->i[1];
  rc_status st = RC_OK;
  if (!g) return RC_OK;
  if (no_elements(&n->inputs[0])) return empty_grad(n, gin);
  RC_TRY(keep(&gk, g, dim, keepdim));
  RC_TRY(keep(&ok, out, dim, keepdim));
  RC_TRY(rc_binary(&t, RC_SUB, a, ok));
  RC_TRY(rc_unary_(t, RC_EXP));
  RC_TRY(rc_binary_(t, RC_MUL, gk));
  gin[0] = t, t = NULL;
done:
  rc_release(gk), rc_release(ok), rc_release(t);
  return st;
}

rc_status rcg_logsumexp(rc_tensor **out, const rc_tensor *a, int dim, bool keepdim) {
  rc_status st = rc_logsumexp(out, a, dim, keepdim);
  if (st) return st;
  const rc_tensor *in[1] = {a}, *saved[2] = {a, *out};
  rc_node *node;
  st = rc_record(&node, *out, "LogsumexpBackward", logsumexp_backward, 1, in, 2, saved);
  if (node) node->i[0] = reduced_dim(a, dim), node->i[1] = keepdim;
  return rc_record_finish(st, out);
}

/* --- softmax: a (...) -> y (...), normalised along dim. d/da = y * (g - sum(g * y, dim)).
   i[0] = dim. saved: y. */
static rc_status softmax_backward(rc_node *n, rc_tensor *const *gout, rc_tensor **gin) {
  rc_tensor *g = gout[0], *y = n->saved[0], *gy = NULL, *s = NULL, *t = NULL;
  rc_status st = RC_OK;
  if (!g) return RC_OK;
  if (no_elements(&n->inputs[0])) return empty_grad(n, gin);
  RC_TRY(rc_binary(&gy, RC_MUL, g, y));
  RC_TRY(rc_reduce(&s, RC_SUM, gy, (int)n->i[0], true));
  RC_TRY(rc_binary(&t, RC_SUB, g, s));
  RC_TRY(rc_binary_(t, RC_MUL, y));
  gin[0] = t, t = NULL;
done:
  rc_release(gy), rc_release(s), rc_release(t);
  return st;
}

rc_status rcg_softmax(rc_tensor **out, const rc_tensor *a, int dim) {
  rc_status st = rc_softmax(out, a, dim);
  if (st) return st;
  const rc_tensor *in[1] = {a}, *saved[1] = {*out};
  rc_node *node;
  st = rc_record(&node, *out, "SoftmaxBackward", softmax_backward, 1, in, 1, saved);
  if (node) node->i[0] = reduced_dim(a, dim);
  return rc_record_finish(st, out);
}

/* --- log_softmax: a (...) -> y = a - logsumexp(a, dim). d/da = g - exp(y) * sum(g, dim).
   i[0] = dim. saved: y. */
static rc_status log_softmax_backward(rc_node *n, rc_tensor *const *gout, rc_tensor **gin) {
  rc_tensor *g = gout[0], *y = n->saved[0], *s = NULL, *t = NULL;
  rc_status st = RC_OK;
  if (!g) return RC_OK;
  if (no_elements(&n->inputs[0])) return empty_grad(n, gin);
  RC_TRY(rc_reduce(&s, RC_SUM, g, (int)n->i[0], true));
  RC_TRY(rc_unary(&t, RC_EXP, y));
  RC_TRY(rc_binary_(t, RC_MUL, s));
  RC_TRY(rc_binary(&gin[0], RC_SUB, g, t));
done:
  rc_release(s), rc_release(t);
  return st;
}

rc_status rcg_log_softmax(rc_tensor **out, const rc_tensor *a, int dim) {
  rc_status st = rc_log_softmax(out, a, dim);
  if (st) return st;
  const rc_tensor *in[1] = {a}, *saved[1] = {*out};
  rc_node *node;
  st = rc_record(&node, *out, "LogSoftmaxBackward", log_softmax_backward, 1, in, 1, saved);
  if (node) node->i[0] = reduced_dim(a, dim);
  return rc_record_finish(st, out);
}
