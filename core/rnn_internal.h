/* core/rnn_internal.h — what the pieces of the recurrent layers' driver share (not installed):
   one layer's buffers as the recurrence sees them, scratch blocks, and the recurrence's entry. */
#ifndef RC_RNN_INTERNAL_H
#define RC_RNN_INTERNAL_H

#include "alloc.h"
#include "rnn.h"

/* A scratch block from the allocator's cache (training loops ask for the same sizes). */
typedef struct {
  float *data;
  size_t bytes;
} block;

static inline rc_status block_get(block *b, const char *fn, int64_t floats) {
  b->bytes = sizeof(float) * (size_t)(floats > 0 ? floats : 1);
  b->data = rc_block_alloc(b->bytes);
  if (!b->data) return rc_fail(RC_ERR_NOMEM, "%s: out of memory for a %lld-float workspace", fn,
                               (long long)floats);
  return RC_OK;
}

static inline void block_put(block *b) {
  if (b->data) rc_block_free(b->data, b->bytes);
  b->data = NULL;
}

/* Floats rounded up to whole 64-byte pieces, as the workspaces and panels are laid out. */
static inline int64_t rounded(int64_t floats) { return (floats + 15) & ~(int64_t)15; }

/* Everything the steps of one layer touch. Matrices are row-major with the row strides given;
   rows are (t, sorted batch row) pairs, t*B + i. */
typedef struct {
  const rc_rnn_plan *p;
  int l;
  int64_t Din;                     /* D_l: input_size, or dirs*H above layer 0 */
  const float *x;                  /* X_l (T*B, Din), row stride Din */
  float *out;                      /* O_l (T*B, dirs*H) */
  float *gates[2], *cells[2];      /* (T*B, GS), (T*B, H); cells NULL when not kept */
  float *h[2], *c[2], *hw[2];      /* running state (B, H), (B, H); GRU's h W_hh^T (B, 3H) */
  const float *w_ih[2], *w_hh[2], *b_ih[2], *b_hh[2];
  const float *zeros;              /* (B, H) of zeros: absent states and gradients */
  /* backward */
  float *dg[2];                    /* d pre-activations (T*B, GS) */
  const float *dout;               /* d O_l, row stride dos (0: one zero row) */
  int64_t dos;
  float *dh[2], *dc[2];            /* running d h, d c (B, H) */
  const float *h0[2], *c0[2];      /* sorted initial states (B, H), or zeros */
} layer_ctx;

/* One layer's recurrence, forward or backward (core/rnn_recurrence.c). Forward: gates come in
   holding the input projections and leave activated; out, cells and the running h, c are
   filled. Backward: dg of every step, and the running dh, dc end as d h0, d c0. */
rc_status rc_rnn_run_recurrence(const layer_ctx *L, bool backward);

#endif
