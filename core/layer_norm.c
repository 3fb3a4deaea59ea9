/* core/layer_norm.c — layer normalization over the last k dims: a fused forward that saves each
   row's mean and 1/std, and a fused backward giving dx, dweight and dbias in one pass per row. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "nn_ops.h"
#include "ops.h"
#include "runtime.h"
#include "loop.h"

/* Rows reduced into separate dweight/dbias partials: a fixed count (not the thread count), so
   the partials and their in-order sum are the same on any number of threads. */
#define MAX_BLOCKS 128

static bool dims_equal(int n, const int64_t *a, const int64_t *b) {
  for (int d = 0; d < n; d++)
    if (a[d] != b[d]) return false;
  return true;
}

static rc_status check_param(const char *what, const rc_tensor *p, int k, const int64_t *nshape) {
  char s1[128], s2[128];
  if (!p) return RC_OK;
  if (p->dtype != RC_FLOAT32)
    return rc_fail(RC_ERR_ARG, "layer_norm: %s must be float32, got %s", what,
                   rc_dtype_name(p->dtype));
  if (p->ndim != k || !dims_equal(k, p->shape, nshape))
    return rc_fail(RC_ERR_SHAPE, "layer_norm: %s shape %s must equal normalized_shape %s", what,
                   rc_shape_str(p, s1, sizeof s1), rc_dims_str(k, nshape, s2, sizeof s2));
  return RC_OK;
}

/* x (..., normalized_shape) seen as (rows, cols). */
static rc_status check_args(const rc_tensor *x, int k, const int64_t *nshape,
                            const rc_tensor *weight, const rc_tensor *bias, double eps,
                            int64_t *rows, int64_t *cols) {
  char s1[128], s2[128];
  rc_status st;
  if (x->dtype != RC_FLOAT32)
    return rc_fail(RC_ERR_ARG, "layer_norm: input must be float32, got %s",
                   rc_dtype_name(x->dtype));
  if (k < 1 || k > x->ndim)
    return rc_fail(RC_ERR_SHAPE, "layer_norm: normalized_shape must have 1..%d dims for input "
                                 "shape %s, got %d", x->ndim, rc_shape_str(x, s1, sizeof s1), k);
  if (!dims_equal(k, nshape, x->shape + x->ndim - k))
    return rc_fail(RC_ERR_SHAPE, "layer_norm: normalized_shape %s does not match the last dims "
                                 "of input shape %s", rc_dims_str(k, nshape, s1, sizeof s1),
                   rc_shape_str(x, s2, sizeof s2));
  if ((st = check_param("weight", weight, k, nshape))) return st;
  if ((st = check_param("bias", bias, k, nshape))) return st;
  if (!(eps >= 0) || isinf(eps))
    return rc_fail(RC_ERR_ARG, "layer_norm: eps must be finite and >= 0, got %g", eps);
  *rows = *cols = 1;
  for (int d = 0; d < x->ndim; d++) *(d < x->ndim - k ? rows : cols) *= x->shape[d];
  return RC_OK;
}

/* --- forward ------------------------------------------------------------------------------
   x (rows, cols), weight, bias (cols) or NULL -> out (rows, cols),
   mean, rstd (rows): saved for backward. Per row, in double: mean, then the biased variance
   from (x - mean)^2 (two passes: no cancellation), rstd = 1 / sqrt(var + eps); then
   out = (x - mean) * rstd * weight + bias. */
static void forward_rows(float *out, float *mean, float *rstd, const float *x, const float *w,
                         const float *b, int64_t rows, int64_t cols, double eps) {
#pragma omp parallel for schedule(static) num_threads(rc_threads()) \
    if (rows * cols >= RC_PARALLEL_MIN)
  for (int64_t r = 0; r < rows; r++) {
    const float *xr = x + r * cols;
    float *yr = out + r * cols;
    double sum = 0, var = 0;
#pragma omp simd reduction(+ : sum)
    for (int64_t c = 0; c < cols; c++) sum += xr[c];
    double mu = sum / (double)cols;
#pragma omp simd reduction(+ : var)
    for (int64_t c = 0; c < cols; c++) var += ((double)xr[c] - mu) * ((double)xr[c] - mu);
    float m = (float)mu, rs = (float)(1.0 / sqrt(var / (double)cols + eps));
    for (int64_t c = 0; c < cols; c++) {
      float h = (xr[c] - m) * rs;
      yr[c] = (w ? h * w[c] : h) + (b ? b[c] : 0.0f);
    }
    mean[r] = m, rstd[r] = rs;
  }
}

/* Forward with the saved rows' statistics (mean, rstd may be NULL: not wanted). */
static rc_status layer_norm_forward(rc_tensor **out, rc_tensor **mean, rc_tensor **rstd,
                                    const rc_tensor *x, int k, const int64_t *nshape,
                                    const rc_tensor *weight, const rc_tensor *bias, double eps) {
  int64_t rows = 0, cols = 0;
  rc_status st = check_args(x, k, nshape, weight, bias, eps, &rows, &cols);
  if (st) return st;
  rc_tensor *xc = NULL, *wc = NULL, *bc = NULL, *r = NULL, *mt = NULL, *rt = NULL;
  if ((st = rc_contiguous(&xc, x))) goto done;
  if (weight && (st = rc_contiguous(&wc, weight))) goto done;
  if (bias && (st = rc_contiguous(&bc, bias))) goto done;
  if ((st = rc_empty_like(&r, x, RC_FLOAT32))) goto done;
  if ((st = rc_empty(&mt, RC_FLOAT32, 1, &rows))) goto done;
  if ((st = rc_empty(&rt, RC_FLOAT32, 1, &rows))) goto done;
  forward_rows(rc_f32(r), rc_f32(mt), rc_f32(rt), rc_f32(xc), wc ? rc_f32(wc) : NULL,
               bc ? rc_f32(bc) : NULL, rows, cols, eps);
  *out = r, r = NULL;
  if (mean) *mean = mt, mt = NULL;
  if (rstd) *rstd = rt, rt = NULL;
done:
  rc_release(xc), rc_release(wc), rc_release(bc), rc_release(r), rc_release(mt),
      rc_release(rt);
  return st;
}

rc_status rc_layer_norm(rc_tensor **out, const rc_tensor *x, int normalized_ndim,
                        const int64_t *normalized_shape, const rc_tensor *weight,
                        const rc_tensor *bias, double eps) {
  return layer_norm_forward(out, NULL, NULL, x, normalized_ndim, normalized_shape, weight, bias,
                            eps);
}

/* --- backward -----------------------------------------------------------------------------
   dy (rows, cols), x (rows, cols), weight (cols) or NULL, mean, rstd (rows) ->
   dx (rows, cols) or NULL, dweight, dbias (cols) or NULL. Per row, with
   xhat = (x - mean) rstd and dxhat = dy * weight:
     dx = rstd (dxhat - mean(dxhat) - xhat mean(dxhat xhat))
     dweight += dy xhat,  dbias += dy
   Rows go in MAX_BLOCKS fixed blocks; each block sums its rows in order into its own
   partial (double), and the partials are summed in block order. */
typedef struct {
  float *dx, *dw, *db;
  const float *dy, *x, *w, *mean, *rstd;
  int64_t rows, cols;
} ln_grad;

static void backward_block(const ln_grad *j, int64_t r0, int64_t r1, double *pw, double *pb) {
  const int64_t cols = j->cols;
  const float *w = j->w;
  for (int64_t r = r0; r < r1; r++) {
    const float *dy = j->dy + r * cols, *x = j->x + r * cols;
    const float m = j->mean[r], rs = j->rstd[r];
    double a = 0, c = 0;
    if (w) {
#pragma omp simd reduction(+ : a, c)
      for (int64_t i = 0; i < cols; i++) {
        float dh = dy[i] * w[i];
        a += dh;
        c += dh * ((x[i] - m) * rs);
      }
    } else {
#pragma omp simd reduction(+ : a, c)
      for (int64_t i = 0; i < cols; i++) {
        a += dy[i];
        c += dy[i] * ((x[i] - m) * rs);
      }
    }
    if (j->dx) {
      float *dx = j->dx + r * cols;
      const float am = (float)(a / (double)cols), cm = (float)(c / (double)cols);
#pragma omp simd
      for (int64_t i = 0; i < cols; i++) {
        float h = (x[i] - m) * rs, dh = w ? dy[i] * w[i] : dy[i];
        dx[i] = rs * (dh - am - h * cm);
      }
    }
    if (pw) {
#pragma omp simd
      for (int64_t i = 0; i < cols; i++) pw[i] += dy[i] * ((x[i] - m) * rs);
    }
    if (pb) {
#pragma omp simd
      for (int64_t i = 0; i < cols; i++) pb[i] += dy[i];
    }
  }
}

static rc_status backward_rows(const ln_grad *j) {
  int64_t rows = j->rows, cols = j->cols;
  int64_t blocks = rows < MAX_BLOCKS ? rows : MAX_BLOCKS;
  double *pw = NULL, *pb = NULL;
  size_t n = (size_t)(blocks * cols > 0 ? blocks * cols : 1);
  if ((j->dw && !(pw = calloc(n, sizeof *pw))) || (j->db && !(pb = calloc(n, sizeof *pb)))) {
    free(pw);
    return rc_fail(RC_ERR_NOMEM, "layer_norm: out of memory for the weight gradient");
  }
#pragma omp parallel for schedule(static) num_threads(rc_threads()) \
    if (rows * cols >= RC_PARALLEL_MIN)
  for (int64_t b = 0; b < blocks; b++)
    backward_block(j, b * rows / blocks, (b + 1) * rows / blocks, pw ? pw + b * cols : NULL,
                   pb ? pb + b * cols : NULL);
#pragma omp parallel for schedule(static) num_threads(rc_threads()) \
    if (blocks * cols >= RC_PARALLEL_MIN)
  for (int64_t i = 0; i < cols; i++) {
    double sw = 0, sb = 0;
    for (int64_t b = 0; b < blocks; b++) {
      if (pw) sw += pw[b * cols + i];
      if (pb) sb += pb[b * cols + i];
    }
    if (j->dw) j->dw[i] = (float)sw;
    if (j->db) j->db[i] = (float)sb;
  }
  free(pw), free(pb);
  return RC_OK;
}

/* saved: x, weight, mean, rstd. i[0] = rows, i[1] = cols. Inputs: x, weight, bias. */
static rc_status layer_norm_backward(rc_node *n, rc_tensor *const *gout, rc_tensor **gin) {
  if (!gout[0]) return RC_OK;
  rc_tensor *dyc = NULL, *xc = NULL, *wc = NULL, *dx = NULL, *dw = NULL, *db = NULL;
  rc_status st;
  const rc_edge *in = n->inputs;
  if ((st = rc_contiguous(&dyc, gout[0])) || (st = rc_contiguous(&xc, n->saved[0])) ||
      (n->saved[1] && (st = rc_contiguous(&wc, n->saved[1]))))
    goto done;
  if (in[0].needs_grad && (st = rc_empty_like(&dx, xc, RC_FLOAT32))) goto done;
  if (in[1].needs_grad && (st = rc_empty(&dw, RC_FLOAT32, in[1].ndim, in[1].shape))) goto done;
  if (in[2].needs_grad && (st = rc_empty(&db, RC_FLOAT32, in[2].ndim, in[2].shape))) goto done;
  ln_grad j = {dx ? rc_f32(dx) : NULL, dw ? rc_f32(dw) : NULL, db ? rc_f32(db) : NULL,
               rc_f32(dyc), rc_f32(xc), wc ? rc_f32(wc) : NULL, rc_f32(n->saved[2]),
               rc_f32(n->saved[3]), n->i[0], n->i[1]};
  if ((st = backward_rows(&j))) goto done;
  gin[0] = dx, gin[1] = dw, gin[2] = db;
  dx = dw = db = NULL;
done:
  rc_release(dyc), rc_release(xc), rc_release(wc), rc_release(dx), rc_release(dw),
      rc_release(db);
  return st;
}

rc_status rcg_layer_norm(rc_tensor **out, const rc_tensor *x, int normalized_ndim,
                         const int64_t *normalized_shape, const rc_tensor *weight,
                         const rc_tensor *bias, double eps) {
  rc_tensor *mean = NULL, *rstd = NULL;
  rc_status st = layer_norm_forward(out, &mean, &rstd, x, normalized_ndim, normalized_shape,
                                    weight, bias, eps);
  if (st) return st;
  const rc_tensor *in[3] = {x, weight, bias}, *saved[4] = {x, weight, mean, rstd};
  rc_node *node;
  st = rc_record(&node, *out, "LayerNormBackward", layer_norm_backward, 3, in, 4, saved);
  if (node) {
    node->i[1] = 1;
    for (int d = x->ndim - normalized_ndim; d < x->ndim; d++) node->i[1] *= x->shape[d];
    node->i[0] = mean->shape[0];
  }
  rc_release(mean), rc_release(rstd);
  if (st) {
    rc_release(*out);
    *out = NULL;
  }
  return st;
}
