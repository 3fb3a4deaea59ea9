/* core/reduce.c — reductions (sum, mean, prod, max, min, argmax, norm, logsumexp) and
   softmax/log_softmax, over one dim or all dims of any strided view, in parallel and deterministic. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include "loop.h"
#include "ops.h"
#include "runtime.h"
#include "vmath.h"

/* How a result stays independent of the thread count:
   - one dim: every output is reduced by exactly one work item, in a fixed order that depends
     only on the shape and strides (work items are chunks of outputs, never of the reduction);
   - all dims: the input is cut into blocks of RDC_BLOCK elements (a constant), each block is
     reduced on its own, and the block results are combined in block order on one thread.
   Float sums and products accumulate in double. Runs along a contiguous dim are `omp simd`
   reductions: the compiler keeps one partial per vector lane, an order fixed at compile time.

   int64 input: sum, prod, max, min and argmax stay int64 (sums wrap on overflow, as PyTorch).
   mean of int64 is an error in PyTorch; here it is the exact int64 sum divided by the count,
   as float32. norm, logsumexp, softmax and log_softmax of int64 (errors in PyTorch) work on the
   values converted to float32 and give float32. */

#define RDC_WIDTH 2048    /* outputs per work item, at most: long rows read well */
#define RDC_BLOCK 32768   /* elements per block of an all-dims reduction */

/* What is accumulated per output. */
typedef enum {
  K_SUM, K_PROD, K_MAX, K_MIN, K_ARGMAX, K_ARGMIN,
  K_SUMABS, K_SUMSQ, K_SUMPOW, K_NONZERO, K_MAXABS, K_MINABS,
  K_SUMEXP  /* sum of exp(x - shift), the second pass of logsumexp */
} kop;

/* How the accumulator becomes the output value. */
typedef enum { FIN_VALUE, FIN_MEAN, FIN_SQRT, FIN_ROOT, FIN_LSE } fin;

/* The running state of w outputs, one lane each. The lanes live in a buffer of
   w * RDC_LANE_BYTES from the heap (one per thread), never on a thread's small stack. */
typedef struct {
  kop op;
  bool is_int;                /* the input is int64 */
  double p;                   /* K_SUMPOW's exponent */
  double *d;                  /* float sums and products */
  int64_t *iv;                /* int64 sums, products, max/min, argmax's value */
  int64_t *idx;               /* argmax's index; -1 while nothing was seen */
  float *v;                   /* float max/min, and argmax's value */
  float *shift;               /* K_SUMEXP: subtracted before exp (the max) */
} acc;

#define RDC_LANE_BYTES (3 * sizeof(int64_t) + 2 * sizeof(float))

static void acc_bind(acc *s, void *buf, int w) {
  s->d = buf;
  s->iv = (int64_t *)(s->d + w);
  s->idx = s->iv + w;
  s->v = (float *)(s->idx + w);
  s->shift = s->v + w;
}

/* One lane, for the all-dims reductions. */
typedef struct {
  double d;
  int64_t iv, idx;
  float v, shift;
} lane1;

static void acc_bind1(acc *s, lane1 *l) {
  s->d = &l->d;
  s->iv = &l->iv;
  s->idx = &l->idx;
  s->v = &l->v;
  s->shift = &l->shift;
}

/* --- float helpers that vectorize ---------------------------------------------------------- */
/* GCC keeps IEEE exceptions exact (-ftrapping-math), so it will not vectorize a loop whose
   float compares sit behind a branch; the helpers below choose with integer masks instead. */

static inline uint32_t f2u(float x) {
  uint32_t u;
  memcpy(&u, &x, sizeof u);
  return u;
}
static inline float u2f(uint32_t u) {
  float x;
  memcpy(&x, &u, sizeof x);
  return x;
}
static inline bool is_nan_bits(float x) { return (f2u(x) & 0x7fffffffu) > 0x7f800000u; }

/* NaN wins, as in PyTorch: once a NaN is seen the max (and min) is NaN. */
static inline float nan_max(float best, float x) {
  return ((x > best) | is_nan_bits(x)) ? x : best;
}
static inline float nan_min(float best, float x) {
  return ((x < best) | is_nan_bits(x)) ? x : best;
}

/* --- one output's run of elements (float) ------------------------------------------------- */

static inline __attribute__((always_inline)) double term(kop op, float x, double p, float shift) {
  switch (op) {
  case K_SUMABS: return fabsf(x);
  case K_SUMSQ: return (double)x * (double)x;
  case K_SUMPOW: return pow(fabs((double)x), p);
  case K_NONZERO: return x != 0.0f ? 1.0 : 0.0;
  case K_SUMEXP: return rc_vexp(x - shift);
  default: return x;
  }
}

/* Sum of term(x[i*s]) for i < n. */
static inline __attribute__((always_inline)) double sum_run(kop op, const float *x, int64_t n,
                                                            int64_t s, double p, float shift) {
  double sum = 0.0;
  if (s == 1) {
#pragma omp simd reduction(+ : sum)
    for (int64_t i = 0; i < n; i++) sum += term(op, x[i], p, shift);
  } else {
#pragma omp simd reduction(+ : sum)
    for (int64_t i = 0; i < n; i++) sum += term(op, x[i * s], p, shift);
  }
  return sum;
}

/* One switch outside the loops, so each op's loop is compiled (and vectorized) on its own. */
static double sum_run_op(kop op, const float *x, int64_t n, int64_t s, double p, float shift) {
  switch (op) {
  case K_SUMABS: return sum_run(K_SUMABS, x, n, s, p, shift);
  case K_SUMSQ: return sum_run(K_SUMSQ, x, n, s, p, shift);
  case K_SUMPOW: return sum_run(K_SUMPOW, x, n, s, p, shift);
  case K_NONZERO: return sum_run(K_NONZERO, x, n, s, p, shift);
  case K_SUMEXP: return sum_run(K_SUMEXP, x, n, s, p, shift);
  default: return sum_run(K_SUM, x, n, s, p, shift);
  }
}

/* Max (min) of x[i*s] (of |x| with absval), NaN if any is NaN; init for n = 0. */
static inline __attribute__((always_inline)) float extreme_run(bool is_min, bool absval,
                                                               const float *x, int64_t n,
                                                               int64_t s) {
  float best = is_min ? INFINITY : (absval ? 0.0f : -INFINITY);
  uint32_t nan = 0;
  if (is_min) {
#pragma omp simd reduction(min : best) reduction(| : nan)
    for (int64_t i = 0; i < n; i++) {
      float v = absval ? fabsf(x[i * s]) : x[i * s];
      best = v < best ? v : best;
      nan |= is_nan_bits(v);
    }
  } else {
#pragma omp simd reduction(max : best) reduction(| : nan)
    for (int64_t i = 0; i < n; i++) {
      float v = absval ? fabsf(x[i * s]) : x[i * s];
      best = v > best ? v : best;
      nan |= is_nan_bits(v);
    }
  }
  return nan ? NAN : best;
}

static float extreme_run_op(kop op, const float *x, int64_t n, int64_t s) {
  switch (op) {
  case K_MIN: return s == 1 ? extreme_run(true, false, x, n, 1) : extreme_run(true, false, x, n, s);
  case K_MAXABS: return extreme_run(false, true, x, n, s);
  case K_MINABS: return extreme_run(true, true, x, n, s);
  default: return s == 1 ? extreme_run(false, false, x, n, 1) : extreme_run(false, false, x, n, s);
  }
}

/* Should (x at xi) replace (best at bi) as the max (min) with the first index? NaN counts as
   the extreme, and the first NaN wins, as PyTorch's argmax. bi < 0: nothing seen yet. */
static inline bool better_f32(bool is_min, float x, int64_t xi, float best, int64_t bi) {
  if (bi < 0) return true;
  if (best != best) return x != x && xi < bi;
  if (x != x) return true;
  if (is_min ? x < best : x > best) return true;
  return x == best && xi < bi;
}

/* First extreme of x[i*s], i < n >= 1: its value and index i. Two passes: the extreme (a
   vectorized reduction), then a search for its first occurrence. */
static void arg_run(bool is_min, const float *x, int64_t n, int64_t s, float *value,
                    int64_t *index) {
  float m = extreme_run_op(is_min ? K_MIN : K_MAX, x, n, s);
  int64_t i = 0;
  if (m != m)
    while (x[i * s] == x[i * s]) i++;
  else
    while (x[i * s] != m) i++;
  *value = x[i * s];
  *index = i;
}

/* --- one output's run of elements (int64) ------------------------------------------------- */

static int64_t isum_run(const int64_t *x, int64_t n, int64_t s) {
  uint64_t acc = 0; /* unsigned: overflow wraps instead of being undefined */
  for (int64_t i = 0; i < n; i++) acc += (uint64_t)x[i * s];
  return (int64_t)acc;
}

static int64_t iprod_run(const int64_t *x, int64_t n, int64_t s) {
  uint64_t acc = 1;
  for (int64_t i = 0; i < n; i++) acc *= (uint64_t)x[i * s];
  return (int64_t)acc;
}

static int64_t iextreme_run(bool is_min, const int64_t *x, int64_t n, int64_t s) {
  int64_t best = is_min ? INT64_MAX : INT64_MIN;
  for (int64_t i = 0; i < n; i++) {
    int64_t v = x[i * s];
    best = (is_min ? v < best : v > best) ? v : best;
  }
  return best;
}

static void iarg_run(bool is_min, const int64_t *x, int64_t n, int64_t s, int64_t *value,
                     int64_t *index) {
  int64_t best = x[0], bi = 0;
  for (int64_t i = 1; i < n; i++) {
    int64_t v = x[i * s];
    if (is_min ? v < best : v > best) {
      best = v;
      bi = i;
    }
  }
  *value = best;
  *index = bi;
}

/* --- the accumulator ---------------------------------------------------------------------- */

static void acc_init(acc *s, kop op, int w) {
  s->op = op;
  for (int k = 0; k < w; k++) {
    s->d[k] = op == K_PROD ? 1.0 : 0.0;
    s->v[k] = (op == K_MIN || op == K_MINABS) ? INFINITY : (op == K_MAXABS ? 0.0f : -INFINITY);
    s->iv[k] = op == K_PROD ? 1 : (op == K_MAX ? INT64_MIN : (op == K_MIN ? INT64_MAX : 0));
    s->idx[k] = -1;
  }
}

static bool is_sum_like(kop op) {
  return op == K_SUM || op == K_SUMABS || op == K_SUMSQ || op == K_SUMPOW || op == K_NONZERO ||
         op == K_SUMEXP;
}

/* Fold a run's result for output k into its lane. i0 is the index of the run's first element
   (argmax), which keeps "first" global when a lane is fed several runs in order. */
static void fold_f32(acc *s, int k, const float *x, int64_t n, int64_t rs, int64_t i0) {
  kop op = s->op;
  if (n == 0) return;
  if (is_sum_like(op)) {
    s->d[k] += sum_run_op(op, x, n, rs, s->p, s->shift[k]);
  } else if (op == K_PROD) {
    double prod = 1.0;
    for (int64_t i = 0; i < n; i++) prod *= x[i * rs];
    s->d[k] *= prod;
  } else if (op == K_ARGMAX || op == K_ARGMIN) {
    bool is_min = op == K_ARGMIN;
    float v;
    int64_t i;
    arg_run(is_min, x, n, rs, &v, &i);
    if (better_f32(is_min, v, i0 + i, s->v[k], s->idx[k])) {
      s->v[k] = v;
      s->idx[k] = i0 + i;
    }
  } else {
    float v = extreme_run_op(op, x, n, rs);
    s->v[k] = (op == K_MIN || op == K_MINABS) ? nan_min(s->v[k], v) : nan_max(s->v[k], v);
  }
}

static void fold_i64(acc *s, int k, const int64_t *x, int64_t n, int64_t rs, int64_t i0) {
  if (n == 0) return;
  switch (s->op) {
  case K_PROD: s->iv[k] = (int64_t)((uint64_t)s->iv[k] * (uint64_t)iprod_run(x, n, rs)); break;
  case K_MAX: {
    int64_t v = iextreme_run(false, x, n, rs);
    s->iv[k] = v > s->iv[k] ? v : s->iv[k];
    break;
  }
  case K_MIN: {
    int64_t v = iextreme_run(true, x, n, rs);
    s->iv[k] = v < s->iv[k] ? v : s->iv[k];
    break;
  }
  case K_ARGMAX:
  case K_ARGMIN: {
    bool is_min = s->op == K_ARGMIN;
    int64_t v, i;
    iarg_run(is_min, x, n, rs, &v, &i);
    if (s->idx[k] < 0 || (is_min ? v < s->iv[k] : v > s->iv[k])) {
      s->iv[k] = v;
      s->idx[k] = i0 + i;
    }
    break;
  }
  default: s->iv[k] = (int64_t)((uint64_t)s->iv[k] + (uint64_t)isum_run(x, n, rs)); break;
  }
}

/* argmax (argmin) of fresh lanes, row by row: the first row seeds every lane, then a strictly
   better value (or a first NaN) takes over, so ties keep the first row. */
static void columns_arg_f32(acc *s, const float *x, int64_t n, int64_t rs, int w, bool is_min) {
  if (n == 0) return;
  for (int k = 0; k < w; k++) {
    s->v[k] = x[k];
    s->idx[k] = 0;
  }
  for (int64_t i = 1; i < n; i++) {
    const float *row = x + i * rs;
    for (int k = 0; k < w; k++) {
      float v = row[k], best = s->v[k];
      bool take = (is_min ? v < best : v > best) | (is_nan_bits(v) & !is_nan_bits(best));
      s->v[k] = take ? v : best;
      s->idx[k] = take ? i : s->idx[k];
    }
  }
}

/* Outputs side by side in memory (column stride 1): walk the reduced dim in the outer loop
   and the w outputs in the inner one, so memory is read row by row and the inner loop
   vectorizes. Each output still takes its elements in order i = 0, 1, ... */
static void columns_f32(acc *s, const float *x, int64_t n, int64_t rs, int w) {
  kop op = s->op;
  if (op == K_ARGMAX || op == K_ARGMIN) {
    columns_arg_f32(s, x, n, rs, w, op == K_ARGMIN);
    return;
  }
  for (int64_t i = 0; i < n; i++) {
    const float *row = x + i * rs;
    switch (op) {
    case K_SUM: for (int k = 0; k < w; k++) s->d[k] += row[k]; break;
    case K_SUMABS: for (int k = 0; k < w; k++) s->d[k] += fabsf(row[k]); break;
    case K_SUMSQ: for (int k = 0; k < w; k++) s->d[k] += (double)row[k] * (double)row[k]; break;
    case K_SUMPOW: for (int k = 0; k < w; k++) s->d[k] += pow(fabs((double)row[k]), s->p); break;
    case K_NONZERO: for (int k = 0; k < w; k++) s->d[k] += row[k] != 0.0f ? 1.0 : 0.0; break;
    case K_SUMEXP: for (int k = 0; k < w; k++) s->d[k] += rc_vexp(row[k] - s->shift[k]); break;
    case K_PROD: for (int k = 0; k < w; k++) s->d[k] *= row[k]; break;
    case K_MAX: for (int k = 0; k < w; k++) s->v[k] = nan_max(s->v[k], row[k]); break;
    case K_MIN: for (int k = 0; k < w; k++) s->v[k] = nan_min(s->v[k], row[k]); break;
    case K_MAXABS: for (int k = 0; k < w; k++) s->v[k] = nan_max(s->v[k], fabsf(row[k])); break;
    case K_MINABS: for (int k = 0; k < w; k++) s->v[k] = nan_min(s->v[k], fabsf(row[k])); break;
    default: break; /* the args: columns_arg_f32 */
    }
  }
}

static void columns_i64(acc *s, const int64_t *x, int64_t n, int64_t rs, int w) {
  kop op = s->op;
  for (int64_t i = 0; i < n; i++) {
    const int64_t *row = x + i * rs;
    switch (op) {
    case K_PROD:
      for (int k = 0; k < w; k++) s->iv[k] = (int64_t)((uint64_t)s->iv[k] * (uint64_t)row[k]);
      break;
    case K_MAX: for (int k = 0; k < w; k++) s->iv[k] = row[k] > s->iv[k] ? row[k] : s->iv[k]; break;
    case K_MIN: for (int k = 0; k < w; k++) s->iv[k] = row[k] < s->iv[k] ? row[k] : s->iv[k]; break;
    case K_ARGMAX:
    case K_ARGMIN:
      for (int k = 0; k < w; k++)
        if (s->idx[k] < 0 || (op == K_ARGMIN ? row[k] < s->iv[k] : row[k] > s->iv[k])) {
          s->iv[k] = row[k];
          s->idx[k] = i;
        }
      break;
    default:
      for (int k = 0; k < w; k++) s->iv[k] = (int64_t)((uint64_t)s->iv[k] + (uint64_t)row[k]);
      break;
    }
  }
}

/* Accumulate w outputs: output k takes the n elements at x + k*cs + i*rs, i < n.
   `columns` picks the row-by-row walk; callers decide it from the shape alone, never from w,
   so an output's order of summation cannot depend on how outputs were cut into items. */
static void acc_run(acc *s, const void *x, int64_t n, int64_t rs, int w, int64_t cs,
                    bool columns, int64_t i0) {
  if (s->is_int) {
    const int64_t *xi = x;
    if (columns)
      columns_i64(s, xi, n, rs, w);
    else
      for (int k = 0; k < w; k++) fold_i64(s, k, xi + k * cs, n, rs, i0);
  } else {
    const float *xf = x;
    if (columns)
      columns_f32(s, xf, n, rs, w);
    else
      for (int k = 0; k < w; k++) fold_f32(s, k, xf + k * cs, n, rs, i0);
  }
}

/* --- one job: what to compute and where the results go ------------------------------------ */

typedef struct {
  kop op;
  fin finish;
  double p;             /* norm's p */
  int64_t n;            /* elements per output (FIN_MEAN) */
  rc_tensor *values;    /* float32 or int64; NULL for argmax */
  rc_tensor *indices;   /* int64 or NULL */
} job;


/* Write lanes 0..w-1 to the outputs at element offset off (past each output's first element),
   spaced os apart. values and indices are new contiguous tensors of one shape. */
static void acc_finish(const job *jb, const acc *s, int w, int64_t off, int64_t os) {
  if (jb->indices) {
    int64_t *ip = rc_i64(jb->indices) + off;
    for (int k = 0; k < w; k++) ip[k * os] = s->idx[k];
  }
  if (!jb->values) return;
  if (jb->values->dtype == RC_INT64) { /* int64 in, int64 out: sum, prod, max, min */
    int64_t *vp = rc_i64(jb->values) + off;
    for (int k = 0; k < w; k++) vp[k * os] = s->iv[k];
    return;
  }
  float *vp = rc_f32(jb->values) + off;
  for (int k = 0; k < w; k++) {
    double r;
    if (s->is_int) /* int64 mean: the exact sum over the count */
      r = (double)s->iv[k] / (double)jb->n;
    else if (is_sum_like(s->op) || s->op == K_PROD)
      r = s->d[k];
    else
      r = s->v[k];
    switch (jb->finish) {
    case FIN_MEAN: if (!s->is_int) r /= (double)jb->n; break;
    case FIN_SQRT: r = sqrt(r); break;
    case FIN_ROOT: r = pow(r, 1.0 / jb->p); break;
    case FIN_LSE: r = (double)s->shift[k] + log(r); break;
    case FIN_VALUE: break;
    }
    vp[k * os] = (float)r;
  }
}

/* logsumexp's shift: the max, or 0 where the max is infinite (exp(x - 0) then gives the right
   inf or 0 where x - max would give NaN), as PyTorch. */
static inline float lse_shift(float m) { return isinf(m) ? 0.0f : m; }

/* --- one dim ------------------------------------------------------------------------------ */

/* The reduced dim (length n, input stride rs, output stride ors) and the kept dims, coalesced:
   output j is reached through input strides is[] and output strides os[]. */
typedef struct {
  int64_t n, rs, ors;
  int ndim;                                  /* kept dims, >= 1 */
  int64_t shape[RC_MAX_DIMS], is[RC_MAX_DIMS], os[RC_MAX_DIMS];
  int64_t count;                             /* outputs */
} plan;

/* ostride: the output's stride for each of a's dims (the reduced dim's is used by softmax).
   A 0-d tensor is seen as one dim of length 1. */
static void plan_dim(plan *pl, const rc_tensor *a, int dim, const int64_t *ostride) {
  pl->n = a->ndim ? a->shape[dim] : 1;
  pl->rs = a->ndim ? a->stride[dim] : 0;
  pl->ors = a->ndim ? ostride[dim] : 0;
  pl->count = 1;
  int n = 0;
  for (int d = 0; d < a->ndim; d++) {
    if (d == dim) continue;
    pl->count *= a->shape[d];
    if (a->shape[d] == 1) continue;
    if (n > 0 && pl->is[n - 1] == a->stride[d] * a->shape[d] &&
        pl->os[n - 1] == ostride[d] * a->shape[d]) {
      pl->shape[n - 1] *= a->shape[d];
      pl->is[n - 1] = a->stride[d];
      pl->os[n - 1] = ostride[d];
    } else {
      pl->shape[n] = a->shape[d];
      pl->is[n] = a->stride[d];
      pl->os[n] = ostride[d];
      n++;
    }
  }
  if (n == 0) {
    pl->shape[0] = 1;
    pl->is[0] = pl->os[0] = 0;
    n = 1;
  }
  pl->ndim = n;
}

/* Read row by row when the outputs sit side by side in the input and the reduced dim does
   not: sum over dim 0 of a (1000,512) walks 1000 rows of 512, not 512 columns of stride 512.
   Decided from the shape alone (see acc_run). */
static bool plan_columns(const plan *pl) {
  return pl->is[pl->ndim - 1] == 1 && pl->rs != 1 && pl->shape[pl->ndim - 1] > 1;
}

/* Work items: rows (all kept dims but the last) times chunks of the last kept dim. Chunks are
   narrower when there are few rows, so every thread gets work; that never changes a result. */
typedef struct {
  int64_t m, width, chunks, items;
  bool parallel;
  int threads;
} split;

static void split_plan(split *sp, const plan *pl) {
  sp->m = pl->shape[pl->ndim - 1];
  int64_t rows = pl->count / (sp->m ? sp->m : 1);
  sp->threads = rc_threads();
  sp->parallel = sp->threads > 1 && pl->count * pl->n >= RC_PARALLEL_MIN;
  sp->width = RDC_WIDTH;
  if (sp->parallel && rows < 4 * sp->threads) {
    int64_t want = (4 * sp->threads + rows - 1) / rows;
    int64_t width = (sp->m + want - 1) / want;
    sp->width = width < 16 ? 16 : (width > RDC_WIDTH ? RDC_WIDTH : width);
  }
  sp->chunks = (sp->m + sp->width - 1) / sp->width;
  sp->items = pl->count ? rows * sp->chunks : 0;
}

/* Item `item`'s first output: its input and output element offsets, and how many outputs. */
static int item_at(const plan *pl, const split *sp, int64_t item, int64_t *in, int64_t *out) {
  int64_t r = item / sp->chunks, c0 = item % sp->chunks * sp->width;
  int last = pl->ndim - 1;
  int64_t io = c0 * pl->is[last], oo = c0 * pl->os[last];
  for (int d = last - 1; d >= 0; d--) {
    int64_t i = r % pl->shape[d];
    r /= pl->shape[d];
    io += i * pl->is[d];
    oo += i * pl->os[d];
  }
  *in = io;
  *out = oo;
  return (int)(sp->m - c0 < sp->width ? sp->m - c0 : sp->width);
}

static const void *element(const rc_tensor *t, int64_t off) {
  return t->dtype == RC_INT64 ? (const void *)(rc_i64(t) + off) : (const void *)(rc_f32(t) + off);
}

/* Per-thread scratch of `bytes` each, from the heap: *buf, or NULL and a message. */
static rc_status thread_scratch(const split *sp, size_t bytes, char **buf) {
  size_t threads = sp->parallel ? (size_t)sp->threads : 1;
  *buf = malloc(threads * bytes);
  return *buf ? RC_OK
              : rc_fail(RC_ERR_NOMEM, "reduce: out of memory for %zu bytes of scratch",
                        threads * bytes);
}

/* Reduce plan pl of a into the job's outputs (contiguous, one element per output). */
static rc_status run_dim(const job *jb, const rc_tensor *a, const plan *pl) {
  split sp;
  split_plan(&sp, pl);
  bool columns = plan_columns(pl);
  int64_t cs = pl->is[pl->ndim - 1], ocs = pl->os[pl->ndim - 1];
  size_t bytes = (size_t)sp.width * RDC_LANE_BYTES;
  char *scratch;
  rc_status st = thread_scratch(&sp, bytes, &scratch);
  if (st) return st;
#pragma omp parallel for schedule(static) num_threads(sp.threads) if (sp.parallel)
  for (int64_t item = 0; item < sp.items; item++) {
    acc s;
    int64_t io, oo;
    int w = item_at(pl, &sp, item, &io, &oo);
    const void *x = element(a, io);
    acc_bind(&s, scratch + (size_t)omp_get_thread_num() * bytes, w);
    s.is_int = a->dtype == RC_INT64;
    s.p = jb->p;
    if (jb->op == K_SUMEXP) { /* logsumexp: the max first, then the shifted sum */
      acc_init(&s, K_MAX, w);
      acc_run(&s, x, pl->n, pl->rs, w, cs, columns, 0);
      for (int k = 0; k < w; k++) s.shift[k] = lse_shift(s.v[k]);
    }
    acc_init(&s, jb->op, w);
    acc_run(&s, x, pl->n, pl->rs, w, cs, columns, 0);
    acc_finish(jb, &s, w, oo, ocs);
  }
  free(scratch);
  return RC_OK;
}

/* --- all dims ----------------------------------------------------------------------------- */

/* a's elements as coalesced dims, in row-major order or (where the order only changes
   rounding) in memory order, so a transposed view reads memory sequentially. */
typedef struct {
  int ndim;
  int64_t shape[RC_MAX_DIMS], stride[RC_MAX_DIMS];
} walk;

static void walk_init(walk *wk, const rc_tensor *a, bool memory_order) {
  int order[RC_MAX_DIMS], n = 0;
  for (int d = 0; d < a->ndim; d++)
    if (a->shape[d] != 1) order[n++] = d;
  if (memory_order) /* insertion sort, stable: larger strides outside */
    for (int i = 1; i < n; i++)
      for (int j = i; j > 0 && a->stride[order[j - 1]] < a->stride[order[j]]; j--) {
        int t = order[j];
        order[j] = order[j - 1];
        order[j - 1] = t;
      }
  int m = 0;
  for (int i = 0; i < n; i++) {
    int d = order[i];
    if (m > 0 && wk->stride[m - 1] == a->stride[d] * a->shape[d]) {
      wk->shape[m - 1] *= a->shape[d];
      wk->stride[m - 1] = a->stride[d];
    } else {
      wk->shape[m] = a->shape[d];
      wk->stride[m] = a->stride[d];
      m++;
    }
  }
  if (m == 0) {
    wk->shape[0] = 1;
    wk->stride[0] = 0;
    m = 1;
  }
  wk->ndim = m;
}

/* Feed elements [start, start + count) of the walk to lane 0 of s, one innermost run at a
   time; i0 = the run's flat position, so argmax's index is the flat row-major index. */
static void walk_run(const walk *wk, const rc_tensor *a, acc *s, int64_t start, int64_t count) {
  int64_t idx[RC_MAX_DIMS], rest = start;
  int last = wk->ndim - 1;
  for (int d = last; d >= 0; d--) {
    idx[d] = rest % wk->shape[d];
    rest /= wk->shape[d];
  }
  while (count > 0) {
    int64_t off = 0;
    for (int d = 0; d <= last; d++) off += idx[d] * wk->stride[d];
    int64_t len = wk->shape[last] - idx[last];
    if (len > count) len = count;
    acc_run(s, element(a, off), len, wk->stride[last], 1, 0, false, start);
    start += len;
    count -= len;
    idx[last] += len;
    for (int d = last; d > 0 && idx[d] == wk->shape[d]; d--) {
      idx[d] = 0;
      idx[d - 1]++;
    }
  }
}

/* Fold block result b into lane 0 of s; blocks come in order, so ties keep the earlier. */
static void merge_partial(acc *s, const lane1 *b) {
  switch (s->op) {
  case K_PROD:
    if (s->is_int)
      s->iv[0] = (int64_t)((uint64_t)s->iv[0] * (uint64_t)b->iv);
    else
      s->d[0] *= b->d;
    break;
  case K_MAX:
  case K_MAXABS:
    if (s->is_int)
      s->iv[0] = b->iv > s->iv[0] ? b->iv : s->iv[0];
    else
      s->v[0] = nan_max(s->v[0], b->v);
    break;
  case K_MIN:
  case K_MINABS:
    if (s->is_int)
      s->iv[0] = b->iv < s->iv[0] ? b->iv : s->iv[0];
    else
      s->v[0] = nan_min(s->v[0], b->v);
    break;
  case K_ARGMAX:
  case K_ARGMIN: {
    bool is_min = s->op == K_ARGMIN, take;
    if (s->is_int)
      take = s->idx[0] < 0 || (is_min ? b->iv < s->iv[0] : b->iv > s->iv[0]);
    else
      take = better_f32(is_min, b->v, b->idx, s->v[0], s->idx[0]);
    if (take) {
      s->v[0] = b->v;
      s->iv[0] = b->iv;
      s->idx[0] = b->idx;
    }
    break;
  }
  default: /* the sums */
    if (s->is_int)
      s->iv[0] = (int64_t)((uint64_t)s->iv[0] + (uint64_t)b->iv);
    else
      s->d[0] += b->d;
    break;
  }
}

/* Reduce all of a with op into lane 0 of *s (s->is_int, s->p and s->shift[0] set by caller). */
static rc_status run_all(acc *s, kop op, const rc_tensor *a) {
  int64_t numel = rc_numel(a), blocks = (numel + RDC_BLOCK - 1) / RDC_BLOCK;
  walk wk;
  walk_init(&wk, a, op != K_ARGMAX && op != K_ARGMIN);
  acc_init(s, op, 1);
  if (blocks == 0) return RC_OK;
  lane1 *parts = malloc((size_t)blocks * sizeof *parts);
  if (!parts) return rc_fail(RC_ERR_NOMEM, "reduce: out of memory for %lld block results",
                             (long long)blocks);
  int threads = rc_threads();
  bool parallel = threads > 1 && numel >= RC_PARALLEL_MIN;
  const acc *proto = s;
#pragma omp parallel for schedule(static) num_threads(threads) if (parallel)
  for (int64_t b = 0; b < blocks; b++) {
    acc t;
    acc_bind1(&t, &parts[b]);
    t.is_int = proto->is_int;
    t.p = proto->p;
    t.shift[0] = proto->shift[0];
    acc_init(&t, op, 1);
    int64_t start = b * RDC_BLOCK;
    walk_run(&wk, a, &t, start, numel - start < RDC_BLOCK ? numel - start : RDC_BLOCK);
  }
  for (int64_t b = 0; b < blocks; b++) merge_partial(s, &parts[b]);
  free(parts);
  return RC_OK;
}

/* --- the common path of every reduction --------------------------------------------------- */

static bool needs_elements(kop op) {
  return op == K_MAX || op == K_MIN || op == K_ARGMAX || op == K_ARGMIN || op == K_MAXABS ||
         op == K_MINABS;
}

static const char *extreme_name(kop op) {
  switch (op) {
  case K_MIN: case K_ARGMIN: return "minimum";
  case K_MAXABS: return "inf norm";
  case K_MINABS: return "-inf norm";
  default: return "maximum";
  }
}

/* name: the user-facing op name for messages. want_values / want_indices: which outputs.
   vdtype: the values' dtype. a must be float32 unless the op keeps int64. */
static rc_status reduce_common(rc_tensor **values, rc_tensor **indices, const char *name, kop op,
                               fin finish, double p, const rc_tensor *a, int dim, bool keepdim,
                               rc_dtype vdtype) {
  bool all = dim == RC_ALL_DIMS || (a->ndim == 0 && (dim == 0 || dim == -1));
  rc_status st;
  if (!all && (st = rc_norm_dim(name, &dim, a->ndim))) return st;
  char sbuf[160];
  if (needs_elements(op)) {
    if (all && rc_numel(a) == 0)
      return rc_fail(RC_ERR_ARG, "%s: cannot take the %s of an empty tensor (shape %s): give a "
                     "dim of non-zero size", name, extreme_name(op), rc_shape_str(a, sbuf, sizeof sbuf));
    if (!all && a->shape[dim] == 0)
      return rc_fail(RC_ERR_ARG, "%s: cannot take the %s over dim %d of size 0 (shape %s)", name,
                     extreme_name(op), dim, rc_shape_str(a, sbuf, sizeof sbuf));
  }

  /* Output shape; outputs are contiguous, so keepdim only changes the shape. */
  int ondim = 0;
  int64_t oshape[RC_MAX_DIMS], count = 1;
  for (int d = 0; d < a->ndim; d++) {
    bool reduced = all || d == dim;
    if (!reduced) count *= a->shape[d];
    if (!reduced || keepdim) oshape[ondim++] = reduced ? 1 : a->shape[d];
  }
  rc_tensor *v = NULL, *ix = NULL;
  if (values && (st = rc_empty(&v, vdtype, ondim, oshape))) return st;
  if (indices && (st = rc_empty(&ix, RC_INT64, ondim, oshape))) {
    rc_release(v);
    return st;
  }
  job jb = {op, finish, p, all ? rc_numel(a) : a->shape[dim], v, ix};

  if (all || count == 1) { /* one output: cut the input into fixed blocks */
    acc s;
    lane1 lane;
    acc_bind1(&s, &lane);
    s.is_int = a->dtype == RC_INT64;
    s.p = p;
    s.shift[0] = 0.0f;
    if (op == K_SUMEXP) {
      if ((st = run_all(&s, K_MAX, a))) goto fail;
      s.shift[0] = lse_shift(s.v[0]);
    }
    if ((st = run_all(&s, op, a))) goto fail;
    acc_finish(&jb, &s, 1, 0, 0);
  } else {
    int64_t ostride[RC_MAX_DIMS], stride = 1;
    for (int d = a->ndim - 1; d >= 0; d--) {
      ostride[d] = d == dim ? 0 : stride;
      if (d != dim) stride *= a->shape[d];
    }
    plan pl;
    plan_dim(&pl, a, dim, ostride);
    if ((st = run_dim(&jb, a, &pl))) goto fail;
  }
  if (values) *values = v;
  if (indices) *indices = ix;
  return RC_OK;
fail:
  rc_release(v);
  rc_release(ix);
  return st;
}

static const char *reduce_name(rc_reduce_op op) {
  switch (op) {
  case RC_SUM: return "sum";
  case RC_MEAN: return "mean";
  case RC_PROD: return "prod";
  case RC_MAX: return "max";
  case RC_MIN: return "min";
  }
  return "reduce";
}

rc_status rc_reduce(rc_tensor **out, rc_reduce_op op, const rc_tensor *a, int dim, bool keepdim) {
  const char *name = reduce_name(op);
  switch (op) {
  case RC_SUM: return reduce_common(out, NULL, name, K_SUM, FIN_VALUE, 0, a, dim, keepdim, a->dtype);
  case RC_MEAN: return reduce_common(out, NULL, name, K_SUM, FIN_MEAN, 0, a, dim, keepdim, RC_FLOAT32);
  case RC_PROD: return reduce_common(out, NULL, name, K_PROD, FIN_VALUE, 0, a, dim, keepdim, a->dtype);
  case RC_MAX: return reduce_common(out, NULL, name, K_MAX, FIN_VALUE, 0, a, dim, keepdim, a->dtype);
  case RC_MIN: return reduce_common(out, NULL, name, K_MIN, FIN_VALUE, 0, a, dim, keepdim, a->dtype);
  }
  return rc_fail(RC_ERR_ARG, "reduce: unknown reduction %d", (int)op);
}

rc_status rc_max_dim(rc_tensor **values, rc_tensor **indices, const rc_tensor *a, int dim,
                     bool keepdim, bool is_min) {
  return reduce_common(values, indices, is_min ? "min" : "max", is_min ? K_ARGMIN : K_ARGMAX,
                       FIN_VALUE, 0, a, dim, keepdim, a->dtype);
}

rc_status rc_argmax(rc_tensor **out, const rc_tensor *a, int dim, bool keepdim, bool is_min) {
  return reduce_common(NULL, out, is_min ? "argmin" : "argmax", is_min ? K_ARGMIN : K_ARGMAX,
                       FIN_VALUE, 0, a, dim, keepdim, a->dtype);
}

/* int64 input of the float-only ops: its values as float32 (see the top of the file).
   *tmp is the copy to release, or NULL when a is float32 already. */
static rc_status as_float(const rc_tensor **a, rc_tensor **tmp) {
  *tmp = NULL;
  if ((*a)->dtype == RC_FLOAT32) return RC_OK;
  rc_status st = rc_to_dtype(tmp, *a, RC_FLOAT32);
  if (st == RC_OK) *a = *tmp;
  return st;
}

rc_status rc_norm(rc_tensor **out, const rc_tensor *a, double p, int dim, bool keepdim) {
  if (isnan(p)) return rc_fail(RC_ERR_ARG, "norm: p must be a number, got nan");
  kop op;
  fin finish = FIN_VALUE;
  if (p == INFINITY) op = K_MAXABS;
  else if (p == -INFINITY) op = K_MINABS;
  else if (p == 0) op = K_NONZERO;  /* the count of non-zero elements, as PyTorch */
  else if (p == 1) op = K_SUMABS;
  else if (p == 2) op = K_SUMSQ, finish = FIN_SQRT;
  else op = K_SUMPOW, finish = FIN_ROOT;
  rc_tensor *tmp;
  rc_status st = as_float(&a, &tmp);
  if (st) return st;
  st = reduce_common(out, NULL, "norm", op, finish, p, a, dim, keepdim, RC_FLOAT32);
  rc_release(tmp);
  return st;
}

rc_status rc_logsumexp(rc_tensor **out, const rc_tensor *a, int dim, bool keepdim) {
  rc_tensor *tmp;
  rc_status st = as_float(&a, &tmp);
  if (st) return st;
  st = reduce_common(out, NULL, "logsumexp", K_SUMEXP, FIN_LSE, 0, a, dim, keepdim, RC_FLOAT32);
  rc_release(tmp);
  return st;
}

/* --- softmax and log_softmax -------------------------------------------------------------- */

/* y = exp(x - m) for n elements, returning their sum. */
static double exp_write_run(const float *x, int64_t n, int64_t s, float *y, int64_t ys, float m) {
  double sum = 0.0;
  if (s == 1 && ys == 1) {
#pragma omp simd reduction(+ : sum)
    for (int64_t i = 0; i < n; i++) {
      float e = rc_vexp(x[i] - m);
      y[i] = e;
      sum += e;
    }
  } else {
#pragma omp simd reduction(+ : sum)
    for (int64_t i = 0; i < n; i++) {
      float e = rc_vexp(x[i * s] - m);
      y[i * ys] = e;
      sum += e;
    }
  }
  return sum;
}

/* One slice: a pass for the max, one for the exp-sum, one to write. log_softmax writes
   (x - max) - log(sum), which keeps the digits that max + log(sum) would round away. */
static void softmax_run(const float *x, int64_t n, int64_t s, float *y, int64_t ys, bool log_sm) {
  float m = extreme_run_op(K_MAX, x, n, s);
  if (log_sm) {
    float ls = (float)log(sum_run_op(K_SUMEXP, x, n, s, 0, m));
    if (s == 1 && ys == 1)
      for (int64_t i = 0; i < n; i++) y[i] = (x[i] - m) - ls;
    else
      for (int64_t i = 0; i < n; i++) y[i * ys] = (x[i * s] - m) - ls;
  } else {
    float inv = (float)(1.0 / exp_write_run(x, n, s, y, ys, m));
    if (ys == 1)
      for (int64_t i = 0; i < n; i++) y[i] *= inv;
    else
      for (int64_t i = 0; i < n; i++) y[i * ys] *= inv;
  }
}

/* w slices side by side (input column stride 1): the same three passes, row by row. */
static void softmax_columns(const float *x, int64_t n, int64_t rs, int w, float *y, int64_t yrs,
                            int64_t ycs, bool log_sm, char *scratch) {
  double *sum = (double *)scratch;   /* w each: sum, m, f */
  float *m = (float *)(sum + w), *f = m + w;
  for (int k = 0; k < w; k++) {
    m[k] = -INFINITY;
    sum[k] = 0.0;
  }
  for (int64_t i = 0; i < n; i++)
    for (int k = 0; k < w; k++) m[k] = nan_max(m[k], x[i * rs + k]);
  if (log_sm) {
    for (int64_t i = 0; i < n; i++)
      for (int k = 0; k < w; k++) sum[k] += rc_vexp(x[i * rs + k] - m[k]);
    for (int k = 0; k < w; k++) f[k] = (float)log(sum[k]);
    for (int64_t i = 0; i < n; i++)
      for (int k = 0; k < w; k++) y[i * yrs + k * ycs] = (x[i * rs + k] - m[k]) - f[k];
  } else {
    for (int64_t i = 0; i < n; i++)
      for (int k = 0; k < w; k++) {
        float e = rc_vexp(x[i * rs + k] - m[k]);
        y[i * yrs + k * ycs] = e;
        sum[k] += e;
      }
    for (int k = 0; k < w; k++) f[k] = (float)(1.0 / sum[k]);
    for (int64_t i = 0; i < n; i++)
      for (int k = 0; k < w; k++) y[i * yrs + k * ycs] *= f[k];
  }
}

static rc_status softmax_common(rc_tensor **out, const char *name, const rc_tensor *a, int dim,
                                bool log_sm) {
  rc_status st;
  if (a->ndim == 0 && (dim == 0 || dim == -1))
    dim = 0; /* a 0-d tensor is one slice of one element, as PyTorch */
  else if ((st = rc_norm_dim(name, &dim, a->ndim)))
    return st;
  rc_tensor *tmp, *y = NULL;
  if ((st = as_float(&a, &tmp))) return st;
  if ((st = rc_empty_like(&y, a, RC_FLOAT32))) {
    rc_release(tmp);
    return st;
  }
  plan pl;
  plan_dim(&pl, a, dim, y->stride);
  split sp;
  split_plan(&sp, &pl);
  bool columns = plan_columns(&pl);
  int64_t cs = pl.is[pl.ndim - 1], ocs = pl.os[pl.ndim - 1];
  if (pl.n == 0) sp.items = 0;
  size_t bytes = (size_t)sp.width * (sizeof(double) + 2 * sizeof(float));
  char *scratch = NULL;
  if (columns && (st = thread_scratch(&sp, bytes, &scratch))) {
    rc_release(y);
    rc_release(tmp);
    return st;
  }
#pragma omp parallel for schedule(static) num_threads(sp.threads) if (sp.parallel)
  for (int64_t item = 0; item < sp.items; item++) {
    int64_t io, oo;
    int w = item_at(&pl, &sp, item, &io, &oo);
    const float *x = rc_f32(a) + io;
    float *yo = rc_f32(y) + oo;
    if (columns)
      softmax_columns(x, pl.n, pl.rs, w, yo, pl.ors, ocs, log_sm,
                      scratch + (size_t)omp_get_thread_num() * bytes);
    else
      for (int k = 0; k < w; k++) softmax_run(x + k * cs, pl.n, pl.rs, yo + k * ocs, pl.ors, log_sm);
  }
  free(scratch);
  rc_release(tmp);
  *out = y;
  return RC_OK;
}

rc_status rc_softmax(rc_tensor **out, const rc_tensor *a, int dim) {
  return softmax_common(out, "softmax", a, dim, false);
}

rc_status rc_log_softmax(rc_tensor **out, const rc_tensor *a, int dim) {
  return softmax_common(out, "log_softmax", a, dim, true);
}
