/* core/ops.h — tensor operations: creation, views, elementwise, reductions, linear algebra,
   indexing. Every op returns a status; results come back through `out` as new references. */
#ifndef RC_OPS_H
#define RC_OPS_H

#include <math.h>
#include "tensor.h"

/* "All dims" for reductions that take an optional dim. */
#define RC_ALL_DIMS (-1000)

/* --- creation (core/create.c) ------------------------------------------- */
rc_status rc_full(rc_tensor **out, rc_dtype dtype, int ndim, const int64_t *shape, double value);
rc_status rc_arange(rc_tensor **out, rc_dtype dtype, double start, double end, double step);
rc_status rc_linspace(rc_tensor **out, double start, double end, int64_t steps);
rc_status rc_eye(rc_tensor **out, int64_t n, int64_t m);
rc_status rc_fill_(rc_tensor *t, double value);
/* dst[...] = src broadcast to dst's shape, converting dtype. Safe when they overlap. */
rc_status rc_copy_(rc_tensor *dst, const rc_tensor *src);
rc_status rc_to_dtype(rc_tensor **out, const rc_tensor *t, rc_dtype dtype);

/* --- views (core/view.c): share storage with their source ---------------- */
/* shape may hold one -1 (inferred). view needs compatible strides; reshape copies if it must. */
rc_status rc_view(rc_tensor **out, const rc_tensor *t, int ndim, const int64_t *shape);
rc_status rc_reshape(rc_tensor **out, const rc_tensor *t, int ndim, const int64_t *shape);
rc_status rc_transpose(rc_tensor **out, const rc_tensor *t, int dim0, int dim1);
rc_status rc_permute(rc_tensor **out, const rc_tensor *t, int ndim, const int *dims);
rc_status rc_narrow(rc_tensor **out, const rc_tensor *t, int dim, int64_t start, int64_t length);
rc_status rc_select(rc_tensor **out, const rc_tensor *t, int dim, int64_t index);
rc_status rc_unsqueeze(rc_tensor **out, const rc_tensor *t, int dim);
/* dim = RC_ALL_DIMS squeezes every size-1 dim; a given dim of size != 1 is left alone. */
rc_status rc_squeeze(rc_tensor **out, const rc_tensor *t, int dim);
/* shape may hold -1 meaning "keep this size"; new leading dims allowed. */
rc_status rc_expand(rc_tensor **out, const rc_tensor *t, int ndim, const int64_t *shape);
rc_status rc_flatten(rc_tensor **out, const rc_tensor *t, int start_dim, int end_dim);
/* A contiguous tensor with the same values: t itself (retained) when already contiguous. */
rc_status rc_contiguous(rc_tensor **out, const rc_tensor *t);
rc_status rc_clone(rc_tensor **out, const rc_tensor *t);

/* --- elementwise (core/elementwise.c), broadcasting ---------------------- */
typedef enum {
  RC_ADD, RC_SUB, RC_MUL, RC_DIV, RC_POW, RC_MAXIMUM, RC_MINIMUM,
  RC_EQ, RC_NE, RC_LT, RC_LE, RC_GT, RC_GE     /* comparisons give 1 or 0 */
} rc_binop;
typedef enum {
  RC_NEG, RC_ABS, RC_EXP, RC_LOG, RC_SQRT, RC_TANH, RC_SIGMOID, RC_RELU,
  RC_SIN, RC_COS, RC_FLOOR, RC_CEIL, RC_ROUND, RC_SIGN, RC_RECIPROCAL, RC_SQUARE, RC_LOG1P
} rc_unop;
const char *rc_binop_name(rc_binop op);
const char *rc_unop_name(rc_unop op);

/* out = a op b; the result dtype is float32 unless both are int64 (then int64, except DIV/POW
   which give float32). Comparisons give the promoted dtype holding 1/0. */
rc_status rc_binary(rc_tensor **out, rc_binop op, const rc_tensor *a, const rc_tensor *b);
rc_status rc_binary_scalar(rc_tensor **out, rc_binop op, const rc_tensor *a, double s);
rc_status rc_scalar_binary(rc_tensor **out, rc_binop op, double s, const rc_tensor *a);
/* a = a op b in place; b must broadcast to a's shape (a's shape never changes). */
rc_status rc_binary_(rc_tensor *a, rc_binop op, const rc_tensor *b);
rc_status rc_binary_scalar_(rc_tensor *a, rc_binop op, double s);
rc_status rc_unary(rc_tensor **out, rc_unop op, const rc_tensor *a);
rc_status rc_unary_(rc_tensor *a, rc_unop op);
/* lo/hi may be NAN for "no bound". */
rc_status rc_clamp(rc_tensor **out, const rc_tensor *a, double lo, double hi);
rc_status rc_clamp_(rc_tensor *a, double lo, double hi);
/* out = cond != 0 ? a : b, all three broadcast together. */
rc_status rc_where(rc_tensor **out, const rc_tensor *cond, const rc_tensor *a, const rc_tensor *b);
/* out = mask != 0 ? value : a; mask broadcasts to a. */
rc_status rc_masked_fill(rc_tensor **out, const rc_tensor *a, const rc_tensor *mask, double value);
rc_status rc_masked_fill_(rc_tensor *a, const rc_tensor *mask, double value);

/* --- reductions (core/reduce.c) ----------------------------------------- */
/* dim = RC_ALL_DIMS reduces everything to a 0-d tensor. Results do not depend on the thread
   count: each output is summed in a fixed order. */
typedef enum { RC_SUM, RC_MEAN, RC_PROD, RC_MAX, RC_MIN } rc_reduce_op;
rc_status rc_reduce(rc_tensor **out, rc_reduce_op op, const rc_tensor *a, int dim, bool keepdim);
/* max/min along a dim with the int64 index of the first extreme. */
rc_status rc_max_dim(rc_tensor **values, rc_tensor **indices, const rc_tensor *a, int dim,
                     bool keepdim, bool is_min);
rc_status rc_argmax(rc_tensor **out, const rc_tensor *a, int dim, bool keepdim, bool is_min);
/* p-norm (p = 2 default; INFINITY for max-abs). */
rc_status rc_norm(rc_tensor **out, const rc_tensor *a, double p, int dim, bool keepdim);
rc_status rc_logsumexp(rc_tensor **out, const rc_tensor *a, int dim, bool keepdim);
rc_status rc_softmax(rc_tensor **out, const rc_tensor *a, int dim);
rc_status rc_log_softmax(rc_tensor **out, const rc_tensor *a, int dim);

/* --- linear algebra (core/linalg.c) over rc_gemm ------------------------ */
/* As torch.matmul: 1-D.1-D dot, 2-D x 2-D, 1-D promoted, N-D batched with broadcast batch dims. */
rc_status rc_matmul(rc_tensor **out, const rc_tensor *a, const rc_tensor *b);
/* out = beta * c + alpha * (a @ b), a (n,k), b (k,m), c broadcast to (n,m). */
rc_status rc_addmm(rc_tensor **out, const rc_tensor *c, const rc_tensor *a, const rc_tensor *b,
                   double beta, double alpha);
/* (B,n,k) x (B,k,m) -> (B,n,m), no broadcasting (as torch.bmm). */
rc_status rc_bmm(rc_tensor **out, const rc_tensor *a, const rc_tensor *b);
rc_status rc_dot(rc_tensor **out, const rc_tensor *a, const rc_tensor *b);

/* --- indexing (core/index.c) -------------------------------------------- */
/* index is 1-D int64 of 0-based positions. */
rc_status rc_index_select(rc_tensor **out, const rc_tensor *a, int dim, const rc_tensor *index);
rc_status rc_gather(rc_tensor **out, const rc_tensor *a, int dim, const rc_tensor *index);
/* out = a with src's values added at index along dim; the _ form writes into a. */
rc_status rc_scatter_add(rc_tensor **out, const rc_tensor *a, int dim, const rc_tensor *index,
                         const rc_tensor *src);
rc_status rc_scatter_add_(rc_tensor *a, int dim, const rc_tensor *index, const rc_tensor *src);
rc_status rc_cat(rc_tensor **out, int n, const rc_tensor *const *ts, int dim);
rc_status rc_stack(rc_tensor **out, int n, const rc_tensor *const *ts, int dim);
/* Views of consecutive pieces along dim: sizes given, or chunks of `size` (last may be short).
   *pieces is malloc'ed, *count set; release each piece and free the array. */
rc_status rc_split(rc_tensor ***pieces, int *count, const rc_tensor *a, int64_t size, int dim);
rc_status rc_split_sizes(rc_tensor ***pieces, int *count, const rc_tensor *a, int n,
                         const int64_t *sizes, int dim);
rc_status rc_chunk(rc_tensor ***pieces, int *count, const rc_tensor *a, int chunks, int dim);

#endif
