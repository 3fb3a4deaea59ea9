/* core/loop.h — the one strided loop behind elementwise ops, copies and fills.
   Operands share one (broadcast) shape; dims are coalesced, then rows run in parallel when large. */
#ifndef RC_LOOP_H
#define RC_LOOP_H

#include "tensor.h"

#define RC_LOOP_MAX_OPS 4

typedef struct {
  int nops;
  int ndim;                                    /* >= 1 after coalescing */
  int64_t shape[RC_MAX_DIMS];
  int64_t stride[RC_LOOP_MAX_OPS][RC_MAX_DIMS]; /* 0 along broadcast dims */
  int64_t base[RC_LOOP_MAX_OPS];                /* each operand's element offset */
} rc_loop;

/* The shape a and b broadcast to, as PyTorch/NumPy: align right, sizes equal or 1. */
rc_status rc_broadcast_shapes(const char *fn, int andim, const int64_t *ashape, int bndim,
                              const int64_t *bshape, int *ndim, int64_t *shape);

/* Set up a loop over `shape` for nops tensors; each must broadcast to shape. */
rc_status rc_loop_init(rc_loop *lp, const char *fn, int ndim, const int64_t *shape, int nops,
                       const rc_tensor *const *ops);

/* One innermost row: n elements; offsets[i] is operand i's first element (from its storage
   start), strides[i] its step. Rows run concurrently, so a row function must only write
   its own row. */
typedef void (*rc_row_fn)(void *ctx, int64_t n, const int64_t *offsets, const int64_t *strides);
void rc_loop_run(const rc_loop *lp, rc_row_fn row, void *ctx);

/* Work below this many elements runs on one thread: forking costs more than it saves. */
#define RC_PARALLEL_MIN 32768

#endif
