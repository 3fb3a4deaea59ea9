/* core/linalg.c — matmul (with torch.matmul's 1-D and batch-broadcast rules), addmm, bmm, dot.
   Every product goes through rc_gemm with the operands' own strides: views are never copied
   unless a matrix dim was expanded (stride 0), which BLIS cannot read. */
#include <string.h>
#include "gemm.h"
#include "loop.h"
#include "ops.h"
#include "runtime.h"

/* Below this many multiply-adds per matrix, a batch runs one single-threaded GEMM per thread
   instead of threading each GEMM (many small products: attention scores, per-step cells). */
static const int64_t batch_parallel_max_madds = INT64_C(1) << 21;

static rc_status need_float(const char *fn, const rc_tensor *t) {
  if (t->dtype != RC_FLOAT32)
    return rc_fail(RC_ERR_ARG, "%s: needs float32 tensors, got %s", fn, rc_dtype_name(t->dtype));
  return RC_OK;
}

static bool has_zero_matrix_stride(const rc_tensor *t) {
  for (int d = t->ndim - 2; d < t->ndim; d++)
    if (d >= 0 && t->shape[d] > 1 && t->stride[d] == 0) return true;
  return false;
}

/* out (..., n, m) = a (..., n, k) @ b (..., k, m), batch dims already broadcast to `bshape`
   (nb dims). a and b are >= 2-D; their batch dims broadcast (stride 0 where size 1). */
static rc_status batched_gemm(rc_tensor *out, const rc_tensor *a, const rc_tensor *b, int nb,
                              const int64_t *bshape, float beta) {
  int64_t n = a->shape[a->ndim - 2], k = a->shape[a->ndim - 1], m = b->shape[b->ndim - 1];
  int64_t batches = 1;
  for (int d = 0; d < nb; d++) batches *= bshape[d];
  if (batches == 0 || n == 0 || m == 0) return RC_OK;
  /* Per-operand batch strides aligned to the broadcast batch shape. */
  int64_t sa[RC_MAX_DIMS] = {0}, sb[RC_MAX_DIMS] = {0}, so[RC_MAX_DIMS] = {0};
  for (int d = 0; d < nb; d++) {
    int ad = a->ndim - 2 - nb + d, bd = b->ndim - 2 - nb + d;
    sa[d] = (ad >= 0 && a->shape[ad] != 1) ? a->stride[ad] : 0;
    sb[d] = (bd >= 0 && b->shape[bd] != 1) ? b->stride[bd] : 0;
    so[d] = out->stride[d];
  }
  const float *pa = (const float *)a->storage->data, *pb = (const float *)b->storage->data;
  float *po = (float *)out->storage->data;
  int64_t a_rs = a->stride[a->ndim - 2], a_cs = a->stride[a->ndim - 1];
  int64_t b_rs = b->stride[b->ndim - 2], b_cs = b->stride[b->ndim - 1];
  int64_t o_rs = out->stride[out->ndim - 2], o_cs = out->stride[out->ndim - 1];

  int threads = rc_threads();
  bool per_thread = batches > 1 && threads > 1 && n * m * k < batch_parallel_max_madds;
  rc_status first_error = RC_OK;
#pragma omp parallel for schedule(static) num_threads(threads) if (per_thread)
  for (int64_t i = 0; i < batches; i++) {
    int64_t oa = a->offset, ob = b->offset, oo = out->offset, r = i;
    for (int d = nb - 1; d >= 0; d--) {
      int64_t idx = r % bshape[d];
      r /= bshape[d];
      oa += idx * sa[d], ob += idx * sb[d], oo += idx * so[d];
    }
    rc_status st = per_thread
      ? rc_gemm_threads(1, n, m, k, 1.0f, pa + oa, a_rs, a_cs, pb + ob, b_rs, b_cs, beta,
                        po + oo, o_rs, o_cs)
      : rc_gemm(n, m, k, 1.0f, pa + oa, a_rs, a_cs, pb + ob, b_rs, b_cs, beta, po + oo, o_rs,
                o_cs);
    if (st) {
#pragma omp critical
      first_error = st;
    }
  }
  return first_error;
}

/* a and b as at least 2-D views (1-D promoted as torch.matmul does), contiguous where a
   matrix dim was expanded. */
static rc_status as_matrix(rc_tensor **out, const rc_tensor *t, bool is_left) {
  rc_status st;
  if (t->ndim == 1)
    st = rc_unsqueeze(out, t, is_left ? 0 : 1);
  else
    st = rc_view_of(out, t, t->ndim, t->shape, t->stride, t->offset);
  if (st) return st;
  if (has_zero_matrix_stride(*out)) {
    rc_tensor *c = NULL;
    if ((st = rc_clone(&c, *out))) {
      rc_release(*out);
      return st;
    }
    rc_release(*out);
    *out = c;
  }
  return RC_OK;
}

rc_status rc_matmul(rc_tensor **out, const rc_tensor *a, const rc_tensor *b) {
  rc_status st;
  if ((st = need_float("matmul", a)) || (st = need_float("matmul", b))) return st;
  if (a->ndim == 0 || b->ndim == 0)
    return rc_fail(RC_ERR_SHAPE, "matmul: both arguments need at least 1 dim, got %d and %d",
                   a->ndim, b->ndim);
  int64_t k_a = a->shape[a->ndim - 1], k_b = b->shape[b->ndim >= 2 ? b->ndim - 2 : 0];
  if (k_a != k_b) {
    char sa[128], sb[128];
    return rc_fail(RC_ERR_SHAPE, "matmul: shapes %s and %s cannot be multiplied (%lld != %lld)",
                   rc_shape_str(a, sa, sizeof sa), rc_shape_str(b, sb, sizeof sb),
                   (long long)k_a, (long long)k_b);
  }
  rc_tensor *am = NULL, *bm = NULL, *res = NULL;
  if ((st = as_matrix(&am, a, true))) return st;
  if ((st = as_matrix(&bm, b, false))) goto done;

  /* Broadcast batch dims. */
  int nb;
  int64_t bshape[RC_MAX_DIMS];
  if ((st = rc_broadcast_shapes("matmul", am->ndim - 2, am->shape, bm->ndim - 2, bm->shape, &nb,
                                bshape)))
    goto done;
  int64_t oshape[RC_MAX_DIMS];
  memcpy(oshape, bshape, sizeof(int64_t) * (size_t)nb);
  oshape[nb] = am->shape[am->ndim - 2];
  oshape[nb + 1] = bm->shape[bm->ndim - 1];
  if ((st = rc_empty(&res, RC_FLOAT32, nb + 2, oshape))) goto done;

  /* A batched left operand times a plain matrix is one tall GEMM when the batch rows lie
     evenly in memory (the common (B,T,D) @ (D,H) case). */
  if (bm->ndim == 2 && am->ndim > 2 && rc_is_contiguous(am)) {
    int64_t rows = 1; /* every dim but the last: k may be 0 */
    for (int d = 0; d < am->ndim - 1; d++) rows *= am->shape[d];
    st = rc_gemm(rows, oshape[nb + 1], k_a, 1.0f, rc_f32(am), k_a, 1, rc_f32(bm), bm->stride[0],
                 bm->stride[1], 0.0f, rc_f32(res), oshape[nb + 1], 1);
  } else {
    st = batched_gemm(res, am, bm, nb, bshape, 0.0f);
  }
  if (st) goto done;

  /* Drop the dims that 1-D operands were promoted with. */
  if (a->ndim == 1 || b->ndim == 1) {
    rc_tensor *sq = NULL;
    int drop = a->ndim == 1 ? nb : nb + 1;
    if ((st = rc_squeeze(&sq, res, drop))) goto done;
    if (a->ndim == 1 && b->ndim == 1) { /* dot: (1) -> () */
      rc_tensor *sq2 = NULL;
      st = rc_squeeze(&sq2, sq, 0);
      rc_release(sq);
      if (st) goto done;
      sq = sq2;
    }
    rc_release(res);
    res = sq;
  }
  *out = res;
  res = NULL;
done:
  rc_release(am);
  rc_release(bm);
  rc_release(res);
  return st;
}

rc_status rc_bmm(rc_tensor **out, const rc_tensor *a, const rc_tensor *b) {
  rc_status st;
  if ((st = need_float("bmm", a)) || (st = need_float("bmm", b))) return st;
  char sa[128], sb[128];
  if (a->ndim != 3 || b->ndim != 3 || a->shape[0] != b->shape[0] || a->shape[2] != b->shape[1])
    return rc_fail(RC_ERR_SHAPE,
                   "bmm: expected (B,n,k) and (B,k,m), got %s and %s",
                   rc_shape_str(a, sa, sizeof sa), rc_shape_str(b, sb, sizeof sb));
  return rc_matmul(out, a, b);
}

rc_status rc_dot(rc_tensor **out, const rc_tensor *a, const rc_tensor *b) {
  rc_status st;
  if ((st = need_float("dot", a)) || (st = need_float("dot", b))) return st;
  char sa[128], sb[128];
  if (a->ndim != 1 || b->ndim != 1 || a->shape[0] != b->shape[0])
    return rc_fail(RC_ERR_SHAPE, "dot: expected two 1-D tensors of one length, got %s and %s",
                   rc_shape_str(a, sa, sizeof sa), rc_shape_str(b, sb, sizeof sb));
  return rc_matmul(out, a, b);
}

rc_status rc_addmm(rc_tensor **out, const rc_tensor *c, const rc_tensor *a, const rc_tensor *b,
                   double beta, double alpha) {
  rc_status st;
  if ((st = need_float("addmm", c)) || (st = need_float("addmm", a)) ||
      (st = need_float("addmm", b)))
    return st;
  char sa[128], sb[128], sc[128];
  if (a->ndim != 2 || b->ndim != 2 || a->shape[1] != b->shape[0])
    return rc_fail(RC_ERR_SHAPE, "addmm: expected (n,k) and (k,m) matrices, got %s and %s",
                   rc_shape_str(a, sa, sizeof sa), rc_shape_str(b, sb, sizeof sb));
  int64_t shape[2] = {a->shape[0], b->shape[1]};
  rc_tensor *res = NULL, *am = NULL, *bm = NULL;
  if ((st = rc_empty(&res, RC_FLOAT32, 2, shape))) return st;
  if ((st = rc_copy_(res, c))) { /* c broadcast to (n,m) */
    rc_release(res);
    return rc_fail(st, "addmm: input %s cannot be broadcast to (%lld,%lld)",
                   rc_shape_str(c, sc, sizeof sc), (long long)shape[0], (long long)shape[1]);
  }
  if ((st = as_matrix(&am, a, true)) || (st = as_matrix(&bm, b, false))) goto done;
  /* beta = 0 must ignore c entirely (NaN included), as BLIS and PyTorch do. */
  st = rc_gemm(shape[0], shape[1], a->shape[1], (float)alpha, rc_f32(am), am->stride[0],
               am->stride[1], rc_f32(bm), bm->stride[0], bm->stride[1], (float)beta, rc_f32(res),
               shape[1], 1);
done:
  rc_release(am);
  rc_release(bm);
  if (st) {
    rc_release(res);
    return st;
  }
  *out = res;
  return RC_OK;
}
