/* core/grad.h — the differentiable ops: each is the raw op of ops.h (same arguments), recorded
   on the autograd graph when grad mode is on and an input requires grad. Bindings and C hosts
   that train call these; the raw rc_* ops never record (backward functions use them). */
#ifndef RC_GRAD_H
#define RC_GRAD_H

#include "autograd.h"
#include "ops.h"

/* --- elementwise (core/grad_elementwise.c) --------------------------------------- */
rc_status rcg_binary(rc_tensor **out, rc_binop op, const rc_tensor *a, const rc_tensor *b);
rc_status rcg_binary_scalar(rc_tensor **out, rc_binop op, const rc_tensor *a, double s);
rc_status rcg_scalar_binary(rc_tensor **out, rc_binop op, double s, const rc_tensor *a);
rc_status rcg_unary(rc_tensor **out, rc_unop op, const rc_tensor *a);
rc_status rcg_clamp(rc_tensor **out, const rc_tensor *a, double lo, double hi);
rc_status rcg_where(rc_tensor **out, const rc_tensor *cond, const rc_tensor *a,
                    const rc_tensor *b);
rc_status rcg_masked_fill(rc_tensor **out, const rc_tensor *a, const rc_tensor *mask,
                          double value);
/* In-place forms: refused on tensors that take part in a graph (see rc_inplace_check). */
rc_status rcg_binary_(rc_tensor *a, rc_binop op, const rc_tensor *b);
rc_status rcg_binary_scalar_(rc_tensor *a, rc_binop op, double s);
rc_status rcg_unary_(rc_tensor *a, rc_unop op);
rc_status rcg_clamp_(rc_tensor *a, double lo, double hi);
rc_status rcg_masked_fill_(rc_tensor *a, const rc_tensor *mask, double value);
rc_status rcg_fill_(rc_tensor *t, double value);
rc_status rcg_copy_(rc_tensor *dst, const rc_tensor *src);
rc_status rcg_uniform_(rc_tensor *t, double lo, double hi);
rc_status rcg_normal_(rc_tensor *t, double mean, double std);
rc_status rcg_bernoulli_(rc_tensor *t, double p);
rc_status rcg_randint_(rc_tensor *t, int64_t lo, int64_t hi);

/* --- views, copies and indexing (core/grad_view.c) ------------------------------- */
rc_status rcg_view(rc_tensor **out, const rc_tensor *t, int ndim, const int64_t *shape);
rc_status rcg_reshape(rc_tensor **out, const rc_tensor *t, int ndim, const int64_t *shape);
rc_status rcg_transpose(rc_tensor **out, const rc_tensor *t, int dim0, int dim1);
rc_status rcg_permute(rc_tensor **out, const rc_tensor *t, int ndim, const int *dims);
rc_status rcg_narrow(rc_tensor **out, const rc_tensor *t, int dim, int64_t start,
                     int64_t length);
rc_status rcg_select(rc_tensor **out, const rc_tensor *t, int dim, int64_t index);
rc_status rcg_unsqueeze(rc_tensor **out, const rc_tensor *t, int dim);
rc_status rcg_squeeze(rc_tensor **out, const rc_tensor *t, int dim);
rc_status rcg_expand(rc_tensor **out, const rc_tensor *t, int ndim, const int64_t *shape);
rc_status rcg_flatten(rc_tensor **out, const rc_tensor *t, int start_dim, int end_dim);
rc_status rcg_contiguous(rc_tensor **out, const rc_tensor *t);
rc_status rcg_clone(rc_tensor **out, const rc_tensor *t);
rc_status rcg_to_dtype(rc_tensor **out, const rc_tensor *t, rc_dtype dtype);
rc_status rcg_index_select(rc_tensor **out, const rc_tensor *a, int dim,
                           const rc_tensor *index);
rc_status rcg_gather(rc_tensor **out, const rc_tensor *a, int dim, const rc_tensor *index);
rc_status rcg_scatter_add(rc_tensor **out, const rc_tensor *a, int dim, const rc_tensor *index,
                          const rc_tensor *src);
rc_status rcg_scatter_add_(rc_tensor *a, int dim, const rc_tensor *index, const rc_tensor *src);
rc_status rcg_cat(rc_tensor **out, int n, const rc_tensor *const *ts, int dim);
rc_status rcg_stack(rc_tensor **out, int n, const rc_tensor *const *ts, int dim);
rc_status rcg_split(rc_tensor ***pieces, int *count, const rc_tensor *a, int64_t size, int dim);
rc_status rcg_split_sizes(rc_tensor ***pieces, int *count, const rc_tensor *a, int n,
                          const int64_t *sizes, int dim);
rc_status rcg_chunk(rc_tensor ***pieces, int *count, const rc_tensor *a, int chunks, int dim);

/* --- reductions (core/grad_reduce.c) ---------------------------------------------- */
rc_status rcg_reduce(rc_tensor **out, rc_reduce_op op, const rc_tensor *a, int dim,
                     bool keepdim);
rc_status rcg_max_dim(rc_tensor **values, rc_tensor **indices, const rc_tensor *a, int dim,
                      bool keepdim, bool is_min);
rc_status rcg_norm(rc_tensor **out, const rc_tensor *a, double p, int dim, bool keepdim);
rc_status rcg_logsumexp(rc_tensor **out, const rc_tensor *a, int dim, bool keepdim);
rc_status rcg_softmax(rc_tensor **out, const rc_tensor *a, int dim);
rc_status rcg_log_softmax(rc_tensor **out, const rc_tensor *a, int dim);

/* --- linear algebra (core/grad_linalg.c) ------------------------------------------ */
rc_status rcg_matmul(rc_tensor **out, const rc_tensor *a, const rc_tensor *b);
rc_status rcg_addmm(rc_tensor **out, const rc_tensor *c, const rc_tensor *a,
                    const rc_tensor *b, double beta, double alpha);
rc_status rcg_bmm(rc_tensor **out, const rc_tensor *a, const rc_tensor *b);
rc_status rcg_dot(rc_tensor **out, const rc_tensor *a, const rc_tensor *b);

#endif
