/* core/autograd.h — reverse-mode autograd: graph nodes recorded by the differentiable ops
   (core/grad.h), and the engine that walks them once in reverse creation order. */
#ifndef RC_AUTOGRAD_H
#define RC_AUTOGRAD_H

#include "tensor.h"

typedef struct rc_node rc_node;

/* Gradients of a node's inputs from the gradients of its outputs.
   grad_outputs[i]: d loss / d output i, or NULL when no gradient reached output i.
   grad_inputs[j]: to be set (a new reference, shaped like input j) for every input j with
   node->inputs[j].needs_grad; may stay NULL, meaning zero. Runs with grad mode off. */
typedef rc_status (*rc_backward_fn)(rc_node *node, rc_tensor *const *grad_outputs,
                                    rc_tensor **grad_inputs);

/* Where an input's gradient goes: on to the node that made it, or into a leaf's .grad. */
typedef struct {
  bool needs_grad;
  rc_node *node;        /* the input's grad_fn (retained), or NULL */
  int output_nr;        /* which output of that node */
  rc_tensor *leaf;      /* a leaf that requires grad (retained), or NULL */
  int ndim;             /* the input's shape, for gradients that must be made from nothing */
  int64_t shape[RC_MAX_DIMS];
} rc_edge;

#define RC_NODE_PARAMS 16

struct rc_node {
  int refcount;
  uint64_t seq;                 /* creation order: consumers always come after producers */
  const char *name;             /* "MulBackward", shown as t.grad_fn */
  rc_backward_fn backward;
  int ninputs;
  rc_edge *inputs;
  int noutputs;
  int nsaved;
  rc_tensor **saved;            /* values backward needs (detached aliases) */
  uint64_t *saved_version;      /* their storage versions when saved */
  double f[RC_NODE_PARAMS];     /* the op's scalar parameters (alpha, p, ...) */
  int64_t i[RC_NODE_PARAMS];    /* and integer ones (dims, sizes ...) */
  void *ctx;                    /* larger parameters, freed with the node (free()) */
  bool released;                /* saved values dropped after a backward without retain_graph */
  /* engine scratch, used during one backward */
  rc_tensor **grads;            /* per output, accumulated */
  bool queued;
};

/* --- grad mode (thread-local) --------------------------------------------------- */
bool rc_grad_enabled(void);
/* Returns the previous setting, so a scope can restore it. */
bool rc_set_grad_enabled(bool enabled);

/* --- recording (for the differentiable ops) ------------------------------------ */
/* True when grad mode is on and any of the n tensors (NULLs skipped) requires grad. */
bool rc_any_requires_grad(int n, const rc_tensor *const *ts);
/* A new node over the n inputs (NULLs allowed: no edge) with room for nsaved values. */
rc_status rc_node_new(rc_node **out, const char *name, rc_backward_fn backward, int n,
                      const rc_tensor *const *inputs, int nsaved, int noutputs);
/* Save t (as a detached alias) in slot i, remembering its version. NULL is allowed. */
rc_status rc_node_save(rc_node *node, int i, const rc_tensor *t);
/* Make t output `output_nr` of node: t->grad_fn = node (retained), t->requires_grad = true. */
void rc_node_attach(rc_node *node, rc_tensor *t, int output_nr);
void rc_node_release(rc_node *node);

/* The usual recording in one call: if grad mode is on and an input requires grad, make a node
   over the inputs, save the nsaved values (may include out itself, or NULLs) and attach it to
   out as output 0. *node is the node (owned by out) for setting f[]/i[], or NULL when nothing
   was recorded. On failure out is left as it was (the caller releases it). */
rc_status rc_record(rc_node **node, rc_tensor *out, const char *name, rc_backward_fn backward,
                    int n, const rc_tensor *const *inputs, int nsaved,
                    const rc_tensor *const *saved);

/* Finish an rcg_ op: when recording failed (st != RC_OK), release the op's output *out and
   pass the failure on, so a failed call leaves nothing behind. */
rc_status rc_record_finish(rc_status st, rc_tensor **out);

/* In backward functions (and forwards) that chain raw ops with an `rc_status st` and a
   `done:` label for clean-up: jump there on the first failure. */
#define RC_TRY(call)              \
  do {                            \
    if ((st = (call))) goto done; \
  } while (0)

/* In-place writes: refuse one on a leaf that requires grad while grad mode is on (its
   gradient would be wrong), and bump the storage version so saved values are checked. */
rc_status rc_inplace_check(const char *fn, rc_tensor *t);
void rc_bump_version(rc_tensor *t);

/* --- the engine ----------------------------------------------------------------- */
/* Backpropagate from root. grad = d loss / d root, or NULL for a one-element root (= 1).
   Leaves that require grad accumulate into .grad (+=). Without retain_graph the saved
   values are freed, and a second backward through the same nodes is an error. */
rc_status rc_backward(rc_tensor *root, const rc_tensor *grad, bool retain_graph);

/* A new tensor sharing t's storage with no history (t:detach()). */
rc_status rc_detach(rc_tensor **out, const rc_tensor *t);

/* g summed down to `shape` (undoing broadcasting): a new reference; g itself (retained) when
   the shapes already agree. */
rc_status rc_sum_to_shape(rc_tensor **out, rc_tensor *g, int ndim, const int64_t *shape);

#endif
