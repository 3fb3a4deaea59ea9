/* core/autograd.c — the autograd engine: grad mode, node lifetime, and backward, which runs
   every reachable node once, newest first, so a node's output gradients are complete (every
   consumer of an output was created after it) before its own backward runs. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include "autograd.h"
#include "ops.h"

static _Thread_local bool grad_disabled; /* zero-initialised: grad mode starts on */
static atomic_uint_fast64_t next_seq;

bool rc_grad_enabled(void) { return !grad_disabled; }

bool rc_set_grad_enabled(bool enabled) {
  bool was = !grad_disabled;
  grad_disabled = !enabled;
  return was;
}

bool rc_any_requires_grad(int n, const rc_tensor *const *ts) {
  if (grad_disabled) return false;
  for (int i = 0; i < n; i++)
    if (ts[i] && ts[i]->requires_grad) return true;
  return false;
}

/* --- nodes --------------------------------------------------------------------- */

rc_status rc_node_new(rc_node **out, const char *name, rc_backward_fn backward, int n,
                      const rc_tensor *const *inputs, int nsaved, int noutputs) {
  rc_node *node = calloc(1, sizeof *node);
  if (!node) return rc_fail(RC_ERR_NOMEM, "%s: out of memory recording the graph", name);
  node->inputs = calloc((size_t)(n > 0 ? n : 1), sizeof *node->inputs);
  node->saved = calloc((size_t)(nsaved > 0 ? nsaved : 1), sizeof *node->saved);
  node->saved_version = calloc((size_t)(nsaved > 0 ? nsaved : 1), sizeof *node->saved_version);
  if (!node->inputs || !node->saved || !node->saved_version) {
    free(node->inputs), free(node->saved), free(node->saved_version), free(node);
    return rc_fail(RC_ERR_NOMEM, "%s: out of memory recording the graph", name);
  }
  node->refcount = 1;
  node->seq = atomic_fetch_add(&next_seq, 1);
  node->name = name;
  node->backward = backward;
  node->ninputs = n;
  node->nsaved = nsaved;
  node->noutputs = noutputs;
  for (int j = 0; j < n; j++) {
    const rc_tensor *t = inputs[j];
    rc_edge *e = &node->inputs[j];
    if (!t) continue;
    e->ndim = t->ndim;
    memcpy(e->shape, t->shape, sizeof(int64_t) * (size_t)t->ndim);
    if (!t->requires_grad) continue;
    e->needs_grad = true;
    if (t->grad_fn) {
      e->node = t->grad_fn;
      e->node->refcount++;
      e->output_nr = t->output_nr;
    } else {
      e->leaf = rc_retain((rc_tensor *)t);
    }
  }
  *out = node;
  return RC_OK;
}

rc_status rc_node_save(rc_node *node, int i, const rc_tensor *t) {
  if (!t) return RC_OK;
  rc_tensor *alias = NULL;
  rc_status st = rc_detach(&alias, t); /* no grad_fn: a saved output cannot form a cycle */
  if (st) return st;
  rc_release(node->saved[i]);
  node->saved[i] = alias;
  node->saved_version[i] = t->storage->version;
  return RC_OK;
}

void rc_node_attach(rc_node *node, rc_tensor *t, int output_nr) {
  node->refcount++;
  rc_node_release(t->grad_fn);
  t->grad_fn = node;
  t->output_nr = output_nr;
  t->requires_grad = true;
}

rc_status rc_record(rc_node **node, rc_tensor *out, const char *name, rc_backward_fn backward,
                    int n, const rc_tensor *const *inputs, int nsaved,
                    const rc_tensor *const *saved) {
  *node = NULL;
  if (!rc_any_requires_grad(n, inputs) || out->dtype != RC_FLOAT32) return RC_OK;
  rc_node *nd = NULL;
  rc_status st = rc_node_new(&nd, name, backward, n, inputs, nsaved, 1);
  for (int i = 0; i < nsaved && st == RC_OK; i++) st = rc_node_save(nd, i, saved[i]);
  if (st) {
    rc_node_release(nd);
    return st;
  }
  rc_node_attach(nd, out, 0);
  rc_node_release(nd); /* out holds it now */
  *node = nd;
  return RC_OK;
}

rc_status rc_record_finish(rc_status st, rc_tensor **out) {
  if (st) {
    rc_release(*out);
    *out = NULL;
  }
  return st;
}

static void drop_saved(rc_node *node) {
  for (int i = 0; i < node->nsaved; i++) {
    rc_release(node->saved[i]);
    node->saved[i] = NULL;
  }
}

/* Iterative, not recursive: a graph of a long sequence is a chain of many thousand nodes. */
void rc_node_release(rc_node *node) {
  if (!node) return;
  size_t cap = 16, top = 0;
  rc_node **stack = malloc(cap * sizeof *stack);
  rc_node *local[1];
  if (!stack) { /* out of memory: fall back to one level, leaking nothing we can reach */
    stack = local;
    cap = 1;
  }
  stack[top++] = node;
  while (top) {
    rc_node *n = stack[--top];
    if (--n->refcount > 0) continue;
    for (int j = 0; j < n->ninputs; j++) {
      rc_release(n->inputs[j].leaf);
      rc_node *child = n->inputs[j].node;
      if (!child) continue;
      if (top == cap && stack != local) {
        rc_node **bigger = realloc(stack, 2 * cap * sizeof *stack);
        if (bigger) stack = bigger, cap *= 2;
      }
      if (top < cap)
        stack[top++] = child;
      else
        child->refcount--; /* could not queue it: leak rather than crash */
    }
    drop_saved(n);
    free(n->inputs), free(n->saved), free(n->saved_version), free(n->ctx), free(n->grads);
    free(n);
  }
  if (stack != local) free(stack);
}

/* --- in-place writes ----------------------------------------------------------- */

rc_status rc_inplace_check(const char *fn, rc_tensor *t) {
  if (rc_grad_enabled() && t->requires_grad && !t->grad_fn)
    return rc_fail(RC_ERR_STATE,
                   "%s: a leaf tensor that requires grad cannot be changed in place (its "
                   "gradient would be wrong); do it inside recur.no_grad, or on a clone()", fn);
  if (rc_grad_enabled() && t->requires_grad)
    return rc_fail(RC_ERR_STATE,
                   "%s: in-place operations on a tensor that is part of a graph are not "
                   "supported; use the out-of-place form", fn);
  return RC_OK;
}

void rc_bump_version(rc_tensor *t) { t->storage->version++; }

rc_status rc_detach(rc_tensor **out, const rc_tensor *t) {
  return rc_view_of(out, t, t->ndim, t->shape, t->stride, t->offset);
}

rc_status rc_sum_to_shape(rc_tensor **out, rc_tensor *g, int ndim, const int64_t *shape) {
  rc_tensor *cur = rc_retain(g), *next = NULL;
  rc_status st = RC_OK;
  while (cur->ndim > ndim) { /* leading dims that broadcasting added */
    if ((st = rc_reduce(&next, RC_SUM, cur, 0, false))) goto fail;
    rc_release(cur);
    cur = next;
  }
  for (int d = 0; d < ndim; d++)
    if (shape[d] == 1 && cur->shape[d] != 1) {
      if ((st = rc_reduce(&next, RC_SUM, cur, d, true))) goto fail;
      rc_release(cur);
      cur = next;
    }
  *out = cur;
  return RC_OK;
fail:
  rc_release(cur);
  return st;
}

/* --- the engine ---------------------------------------------------------------- */

/* A max-heap of nodes by seq: the newest node runs first. */
typedef struct {
  rc_node **items;
  size_t count, cap;
} node_heap;

static bool heap_push(node_heap *h, rc_node *n) {
  if (h->count == h->cap) {
    size_t cap = h->cap ? 2 * h->cap : 64;
    rc_node **items = realloc(h->items, cap * sizeof *items);
    if (!items) return false;
    h->items = items, h->cap = cap;
  }
  size_t i = h->count++;
  while (i > 0 && h->items[(i - 1) / 2]->seq < n->seq) {
    h->items[i] = h->items[(i - 1) / 2];
    i = (i - 1) / 2;
  }
  h->items[i] = n;
  return true;
}

static rc_node *heap_pop(node_heap *h) {
  rc_node *top = h->items[0], *last = h->items[--h->count];
  size_t i = 0;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= h->count) break;
    if (c + 1 < h->count && h->items[c + 1]->seq > h->items[c]->seq) c++;
    if (h->items[c]->seq <= last->seq) break;
    h->items[i] = h->items[c];
    i = c;
  }
  if (h->count) h->items[i] = last;
  return top;
}

/* acc = acc + g (acc may be NULL: then it becomes g). */
static rc_status accumulate(rc_tensor **acc, rc_tensor *g) {
  if (!*acc) {
    *acc = rc_retain(g);
    return RC_OK;
  }
  rc_tensor *sum = NULL;
  rc_status st = rc_binary(&sum, RC_ADD, *acc, g);
  if (st) return st;
  rc_release(*acc);
  *acc = sum;
  return RC_OK;
}

/* leaf.grad += g, in place once it exists (as PyTorch: .grad keeps its identity). */
static rc_status accumulate_leaf(rc_tensor *leaf, rc_tensor *g) {
  if (!leaf->grad) return rc_clone(&leaf->grad, g);
  rc_status st = rc_binary_(leaf->grad, RC_ADD, g);
  if (st == RC_OK) rc_bump_version(leaf->grad);
  return st;
}

static rc_status check_saved(const rc_node *n) {
  if (n->released)
    return rc_fail(RC_ERR_STATE,
                   "backward: trying to go through %s a second time, but its saved values were "
                   "freed by the first backward; pass {retain_graph = true} to the first one",
                   n->name);
  for (int i = 0; i < n->nsaved; i++)
    if (n->saved[i] && n->saved[i]->storage->version != n->saved_version[i])
      return rc_fail(RC_ERR_STATE,
                     "backward: a value %s saved for its gradient was changed by an in-place "
                     "operation since (version %llu, saved at %llu); use the out-of-place form "
                     "or clone() it first", n->name,
                     (unsigned long long)n->saved[i]->storage->version,
                     (unsigned long long)n->saved_version[i]);
  return RC_OK;
}

static rc_status run_node(rc_node *n, node_heap *heap, bool retain_graph) {
  rc_status st = check_saved(n);
  if (st) return st;
  rc_tensor **grad_inputs = calloc((size_t)(n->ninputs > 0 ? n->ninputs : 1), sizeof *grad_inputs);
  if (!grad_inputs) return rc_fail(RC_ERR_NOMEM, "backward: out of memory");
  bool was = rc_set_grad_enabled(false);
  st = n->backward(n, n->grads, grad_inputs);
  rc_set_grad_enabled(was);
  for (int j = 0; j < n->ninputs && st == RC_OK; j++) {
    rc_edge *e = &n->inputs[j];
    rc_tensor *g = grad_inputs[j];
    if (!e->needs_grad || !g) continue;
    if (e->leaf) {
      st = accumulate_leaf(e->leaf, g);
    } else if (e->node) {
      rc_node *next = e->node;
      if (!next->grads && !(next->grads = calloc((size_t)next->noutputs, sizeof *next->grads))) {
        st = rc_fail(RC_ERR_NOMEM, "backward: out of memory");
        break;
      }
      st = accumulate(&next->grads[e->output_nr], g);
      if (st == RC_OK && !next->queued) {
        next->queued = true;
        if (!heap_push(heap, next)) st = rc_fail(RC_ERR_NOMEM, "backward: out of memory");
      }
    }
  }
  for (int j = 0; j < n->ninputs; j++) rc_release(grad_inputs[j]);
  free(grad_inputs);
  if (st == RC_OK && !retain_graph) {
    drop_saved(n);
    n->released = true;
  }
  return st;
}

static void clear_scratch(rc_node *n) {
  if (n->grads)
    for (int i = 0; i < n->noutputs; i++) rc_release(n->grads[i]);
  free(n->grads);
  n->grads = NULL;
  n->queued = false;
}

rc_status rc_backward(rc_tensor *root, const rc_tensor *grad, bool retain_graph) {
  char s1[128], s2[128];
  if (!root->requires_grad)
    return rc_fail(RC_ERR_STATE, "backward: the tensor does not require grad: nothing it was "
                                 "computed from has requires_grad = true");
  rc_tensor *seed = NULL;
  rc_status st;
  if (!grad) {
    if (rc_numel(root) != 1)
      return rc_fail(RC_ERR_SHAPE, "backward: a gradient can only be implied for a one-element "
                                   "tensor; this one has shape %s, so pass the gradient",
                     rc_shape_str(root, s1, sizeof s1));
    if ((st = rc_full(&seed, RC_FLOAT32, root->ndim, root->shape, 1.0))) return st;
  } else {
    bool same = grad->ndim == root->ndim;
    for (int d = 0; same && d < root->ndim; d++) same = grad->shape[d] == root->shape[d];
    if (!same)
      return rc_fail(RC_ERR_SHAPE, "backward: the gradient has shape %s but the tensor has %s",
                     rc_shape_str(grad, s1, sizeof s1), rc_shape_str(root, s2, sizeof s2));
    if ((st = rc_to_dtype(&seed, grad, RC_FLOAT32))) return st;
  }
  if (!root->grad_fn) { /* a leaf: its gradient is the seed */
    st = accumulate_leaf(root, seed);
    rc_release(seed);
    return st;
  }
  node_heap heap = {0};
  rc_node **done = NULL; /* every node that ran, for clean-up */
  size_t ndone = 0, capdone = 0;
  rc_node *first = root->grad_fn;
  if (!(first->grads = calloc((size_t)first->noutputs, sizeof *first->grads)) ||
      !heap_push(&heap, first)) {
    rc_release(seed);
    free(heap.items);
    clear_scratch(first);
    return rc_fail(RC_ERR_NOMEM, "backward: out of memory");
  }
  first->grads[root->output_nr] = seed;
  first->queued = true;
  st = RC_OK;
  while (heap.count) {
    rc_node *n = heap_pop(&heap);
    if (ndone == capdone) {
      size_t cap = capdone ? 2 * capdone : 64;
      rc_node **bigger = realloc(done, cap * sizeof *bigger);
      if (!bigger) {
        st = rc_fail(RC_ERR_NOMEM, "backward: out of memory");
        heap_push(&heap, n); /* already has room */
        break;
      }
      done = bigger, capdone = cap;
    }
    done[ndone++] = n;
    if (st == RC_OK) st = run_node(n, &heap, retain_graph);
    if (st) break;
  }
  for (size_t i = 0; i < ndone; i++) clear_scratch(done[i]);
  for (size_t i = 0; i < heap.count; i++) clear_scratch(heap.items[i]);
  free(done);
  free(heap.items);
  return st;
}
