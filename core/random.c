/* core/random.c — the one seeded Philox 4x32-10 generator and the random tensors drawn from it.
   Element i of a draw depends only on (seed, first block, i): any thread count, same numbers. */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <omp.h>
#include "loop.h"
#include "ops.h"
#include "random.h"
#include "runtime.h"

/* The full-width block function (Salmon et al., SC'11), exported for the known-answer tests;
   rc_philox is this with counter = (lo, hi, 0, 0) and key = (lo, hi) of the seed. */
void rc_philox4x32_10(const uint32_t counter[4], const uint32_t key[2], uint32_t out[4]);

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u   /* golden ratio */
#define PHILOX_W1 0xBB67AE85u   /* sqrt(3) - 1 */

#define DEFAULT_SEED 0x5EED
#define TWO_PI 6.283185307179586476925286766559

/* One generator per process. Atomics so that a C host drawing from two threads at once gets
   disjoint counters (the numbers then depend on who came first, but never overlap). */
static _Atomic uint64_t rng_seed = DEFAULT_SEED;
static _Atomic uint64_t rng_offset = 0;

void rc_philox4x32_10(const uint32_t counter[4], const uint32_t key[2], uint32_t out[4]) {
  uint32_t c0 = counter[0], c1 = counter[1], c2 = counter[2], c3 = counter[3];
  uint32_t k0 = key[0], k1 = key[1];
  for (int round = 0; round < 10; round++) {
    if (round > 0) { /* the key schedule: a Weyl sequence, bumped before rounds 2..10 */
      k0 += PHILOX_W0;
      k1 += PHILOX_W1;
    }
    uint64_t p0 = (uint64_t)PHILOX_M0 * c0, p1 = (uint64_t)PHILOX_M1 * c2;
    uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
    uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
    c0 = hi1 ^ c1 ^ k0;
    c1 = lo1;
    c2 = hi0 ^ c3 ^ k1;
    c3 = lo0;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
}

void rc_philox(uint64_t seed, uint64_t counter, uint32_t out[4]) {
  const uint32_t ctr[4] = {(uint32_t)counter, (uint32_t)(counter >> 32), 0, 0};
  const uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
  rc_philox4x32_10(ctr, key, out);
}

void rc_manual_seed(uint64_t seed) {
  atomic_store(&rng_seed, seed);
  atomic_store(&rng_offset, 0);
}

rc_rng_state rc_rng_get_state(void) {
  rc_rng_state s = {atomic_load(&rng_seed), atomic_load(&rng_offset)};
  return s;
}

void rc_rng_set_state(rc_rng_state state) {
  atomic_store(&rng_seed, state.seed);
  atomic_store(&rng_offset, state.offset);
}

uint64_t rc_rng_reserve(uint64_t blocks) { return atomic_fetch_add(&rng_offset, blocks); }

/* --- uint32 -> numbers ------------------------------------------------------ */

/* [0, 1) from the top 24 bits: exactly representable in float32, so never 1.0f. */
static inline float unit_f24(uint32_t x) { return (float)(x >> 8) * (1.0f / 16777216.0f); }

/* [0, 1) with 32 bits of resolution. */
static inline double unit_d32(uint32_t x) { return (double)x * (1.0 / 4294967296.0); }

/* Strictly inside (0, 1): safe for log. */
static inline double open_unit_d32(uint32_t x) { return ((double)x + 0.5) * (1.0 / 4294967296.0); }

/* --- many blocks at once ------------------------------------------------------ */

/* Blocks per step of a fill. One block alone is bound by the latency of its multiplies;
   independent lanes side by side become vector multiplies. */
#define LANES 8

/* The words of blocks first .. first+LANES-1 under seed, in order: word w of block first + l
   is words[4 * l + w], so element e of a fill that starts at `first` reads words[e] (or
   words[2e], words[2e+1] when it takes 64 bits). The same rounds as rc_philox4x32_10. */
static void philox_lanes(uint64_t seed, uint64_t first, uint32_t words[4 * LANES]) {
  uint32_t c0[LANES], c1[LANES], c2[LANES], c3[LANES];
  for (int l = 0; l < LANES; l++) {
    uint64_t counter = first + (uint64_t)l;
    c0[l] = (uint32_t)counter;
    c1[l] = (uint32_t)(counter >> 32);
    c2[l] = 0;
    c3[l] = 0;
  }
  uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
  for (int round = 0; round < 10; round++) {
    if (round > 0) {
      k0 += PHILOX_W0;
      k1 += PHILOX_W1;
    }
    for (int l = 0; l < LANES; l++) {
      uint64_t p0 = (uint64_t)PHILOX_M0 * c0[l], p1 = (uint64_t)PHILOX_M1 * c2[l];
      uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1[l] ^ k0;
      uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3[l] ^ k1;
      c1[l] = (uint32_t)p1;
      c3[l] = (uint32_t)p0;
      c0[l] = n0;
      c2[l] = n2;
    }
  }
  for (int l = 0; l < LANES; l++) {
    words[4 * l] = c0[l];
    words[4 * l + 1] = c1[l];
    words[4 * l + 2] = c2[l];
    words[4 * l + 3] = c3[l];
  }
}

/* --- filling a tensor ---------------------------------------------------------- */

typedef enum { DRAW_UNIFORM, DRAW_NORMAL, DRAW_RANDINT, DRAW_BERNOULLI } draw_kind;

typedef struct {
  draw_kind kind;
  double a, b;        /* uniform: lo, hi; normal: mean, std; bernoulli: p */
  int64_t lo;         /* randint: lowest value */
  uint64_t range;     /* randint: hi - lo, > 0 */
} draw;

/* randint takes 64 bits (two words) per element; the others one word. */
static int per_block(draw_kind kind) { return kind == DRAW_RANDINT ? 2 : 4; }

/* x * 2^-32 < p  <=>  x < ceil(p * 2^32) for integer x: the same test without floating point. */
static uint64_t bernoulli_threshold(double p) { return (uint64_t)ceil(p * 4294967296.0); }

/* Elements i0 .. i0+count-1 of the contiguous t from the words of their LANES blocks. */
static void write_values(rc_tensor *t, const draw *d, const uint32_t *w, int64_t i0, int count) {
  bool is_f32 = t->dtype == RC_FLOAT32;
  float *pf = is_f32 ? rc_f32(t) + i0 : NULL;
  int64_t *pi = is_f32 ? NULL : rc_i64(t) + i0;
  switch (d->kind) {
  case DRAW_UNIFORM: {
    /* lo + (hi - lo) u may round up to hi in float32: keep [lo, hi) by stepping back one ulp. */
    float top = (float)d->b, below_top = nextafterf(top, -INFINITY);
    bool clamp_top = d->b > d->a;
    for (int e = 0; e < count; e++) {
      float f = (float)(d->a + (d->b - d->a) * (double)unit_f24(w[e]));
      pf[e] = clamp_top && f >= top ? below_top : f;
    }
    break;
  }
  case DRAW_NORMAL: /* Box-Muller: words (2m, 2m+1) -> elements 2m and 2m+1 */
    for (int e = 0; e < count; e += 2) {
      double radius = sqrt(-2.0 * log(open_unit_d32(w[e])));
      double angle = TWO_PI * unit_d32(w[e + 1]);
      pf[e] = (float)(d->a + d->b * radius * cos(angle));
      if (e + 1 < count) pf[e + 1] = (float)(d->a + d->b * radius * sin(angle));
    }
    break;
  case DRAW_BERNOULLI: {
    uint64_t threshold = bernoulli_threshold(d->a);
    if (is_f32)
      for (int e = 0; e < count; e++) pf[e] = w[e] < threshold ? 1.0f : 0.0f;
    else
      for (int e = 0; e < count; e++) pi[e] = w[e] < threshold;
    break;
  }
  case DRAW_RANDINT: /* 64 bits modulo the range: bias below range / 2^64 */
    for (int e = 0; e < count; e++) {
      uint64_t bits = (uint64_t)w[2 * e] << 32 | w[2 * e + 1];
      int64_t v = (int64_t)((uint64_t)d->lo + bits % d->range);
      if (is_f32)
        pf[e] = (float)v;
      else
        pi[e] = v;
    }
    break;
  }
}

/* Fill the contiguous t: element i comes from block first + i / per_block. */
static void fill_contiguous(rc_tensor *t, const draw *d, uint64_t seed, uint64_t first) {
  int64_t n = rc_numel(t);
  int64_t per_step = (int64_t)LANES * per_block(d->kind);
  int64_t steps = (n + per_step - 1) / per_step;

#pragma omp parallel for schedule(static) num_threads(rc_threads()) if (n >= RC_PARALLEL_MIN)
  for (int64_t s = 0; s < steps; s++) {
    uint32_t words[4 * LANES];
    philox_lanes(seed, first + (uint64_t)(s * LANES), words);
    int64_t i0 = s * per_step;
    write_values(t, d, words, i0, (int)(n - i0 < per_step ? n - i0 : per_step));
  }
}

/* A view with a stride-0 dim of size > 1 names one element several times. */
static bool has_expanded_dim(const rc_tensor *t) {
  for (int d = 0; d < t->ndim; d++)
    if (t->stride[d] == 0 && t->shape[d] > 1) return true;
  return false;
}

/* Fill any view of t in row-major order. A non-contiguous view is drawn into a contiguous
   scratch tensor, then copied, so its values equal those of a contiguous draw. */
static rc_status fill(rc_tensor *t, const draw *d, const char *fn) {
  if (has_expanded_dim(t))
    return rc_fail(RC_ERR_ARG, "%s: cannot fill an expanded view (a dim of stride 0 names one "
                               "element several times); call contiguous() first", fn);
  int64_t n = rc_numel(t);
  if (n == 0) return RC_OK;
  rc_tensor *target = t;
  if (!rc_is_contiguous(t)) {
    rc_status st = rc_empty_like(&target, t, t->dtype);
    if (st) return st;
  }
  int pb = per_block(d->kind);
  uint64_t seed = atomic_load(&rng_seed);
  uint64_t first = rc_rng_reserve((uint64_t)((n + pb - 1) / pb));
  fill_contiguous(target, d, seed, first);
  rc_status st = RC_OK;
  if (target != t) {
    st = rc_copy_(t, target);
    rc_release(target);
  }
  return st;
}

static rc_status need_float(const rc_tensor *t, const char *fn) {
  if (t->dtype != RC_FLOAT32)
    return rc_fail(RC_ERR_ARG, "%s: needs a float32 tensor, got %s", fn, rc_dtype_name(t->dtype));
  return RC_OK;
}

rc_status rc_uniform_(rc_tensor *t, double lo, double hi) {
  rc_status st = need_float(t, "uniform_");
  if (st) return st;
  if (!isfinite(lo) || !isfinite(hi) || lo > hi)
    return rc_fail(RC_ERR_ARG,
                   "uniform_: expected finite bounds with from <= to, got from=%g to=%g", lo, hi);
  draw d = {DRAW_UNIFORM, lo, hi, 0, 0};
  return fill(t, &d, "uniform_");
}

rc_status rc_normal_(rc_tensor *t, double mean, double std) {
  rc_status st = need_float(t, "normal_");
  if (st) return st;
  if (!isfinite(mean) || !isfinite(std) || std < 0)
    return rc_fail(RC_ERR_ARG, "normal_: expected a finite mean and a finite std >= 0, got "
                               "mean=%g std=%g", mean, std);
  draw d = {DRAW_NORMAL, mean, std, 0, 0};
  return fill(t, &d, "normal_");
}

rc_status rc_randint_(rc_tensor *t, int64_t lo, int64_t hi) {
  if (lo >= hi)
    return rc_fail(RC_ERR_ARG, "randint: expected low < high, got low=%lld high=%lld",
                   (long long)lo, (long long)hi);
  /* Two's complement: the difference fits in uint64 even when hi - lo overflows int64. */
  draw d = {DRAW_RANDINT, 0, 0, lo, (uint64_t)hi - (uint64_t)lo};
  return fill(t, &d, "randint");
}

rc_status rc_bernoulli_(rc_tensor *t, double p) {
  if (!(p >= 0 && p <= 1))
    return rc_fail(RC_ERR_ARG, "bernoulli_: probability must be in [0, 1], got %g", p);
  draw d = {DRAW_BERNOULLI, p, 0, 0, 0};
  return fill(t, &d, "bernoulli_");
}

/* --- per-element probabilities ---------------------------------------------- */

/* probs as a contiguous float32 tensor: probs itself (retained) or a converted copy. */
static rc_status contiguous_f32(rc_tensor **out, const rc_tensor *t) {
  if (t->dtype == RC_FLOAT32 && rc_is_contiguous(t)) {
    *out = rc_retain((rc_tensor *)t);
    return RC_OK;
  }
  return rc_to_dtype(out, t, RC_FLOAT32);
}

rc_status rc_bernoulli(rc_tensor **out, const rc_tensor *probs) {
  rc_tensor *p = NULL, *r = NULL;
  rc_status st = contiguous_f32(&p, probs);
  if (st) return st;
  int64_t n = rc_numel(p);
  const float *pv = rc_f32(p);
  for (int64_t i = 0; i < n; i++)
    if (!(pv[i] >= 0 && pv[i] <= 1)) {
      double bad = pv[i];
      rc_release(p);
      return rc_fail(RC_ERR_ARG, "bernoulli: probabilities must be in [0, 1], got %g", bad);
    }
  if ((st = rc_empty_like(&r, p, RC_FLOAT32))) {
    rc_release(p);
    return st;
  }
  float *rv = rc_f32(r);
  uint64_t seed = atomic_load(&rng_seed);
  uint64_t first = rc_rng_reserve((uint64_t)((n + 3) / 4));
  const int64_t per_step = 4 * LANES;
  int64_t steps = (n + per_step - 1) / per_step;

#pragma omp parallel for schedule(static) num_threads(rc_threads()) if (n >= RC_PARALLEL_MIN)
  for (int64_t s = 0; s < steps; s++) {
    uint32_t words[4 * LANES];
    philox_lanes(seed, first + (uint64_t)(s * LANES), words);
    for (int64_t i = s * per_step; i < n && i < (s + 1) * per_step; i++)
      rv[i] = unit_d32(words[i - s * per_step]) < (double)pv[i] ? 1.0f : 0.0f;
  }
  rc_release(p);
  *out = r;
  return RC_OK;
}

/* --- multinomial ------------------------------------------------------------ */

typedef struct {
  double key;
  int64_t index;
} keyed;

/* Largest key first; equal keys by index, so the order is total and deterministic. */
static int by_key_desc(const void *va, const void *vb) {
  const keyed *a = va, *b = vb;
  if (a->key != b->key) return a->key > b->key ? -1 : 1;
  return (a->index > b->index) - (a->index < b->index);
}

/* Word i (0-based) of a draw that starts at block `first`, keeping the last block computed:
   consecutive words come from one block. Each thread has its own. */
typedef struct {
  uint64_t seed, first;
  int64_t block;      /* index of the block in r, -1 before the first */
  uint32_t r[4];
} word_reader;

static uint32_t word_at(word_reader *wr, int64_t i) {
  if (i / 4 != wr->block) {
    wr->block = i / 4;
    rc_philox(wr->seed, wr->first + (uint64_t)wr->block, wr->r);
  }
  return wr->r[i % 4];
}

/* Validate every row up front (nothing drawn, nothing allocated for the caller on error);
   fills cum (B,N) with the running sums of the weights. */
static rc_status check_weights(const float *w, double *cum, int64_t rows, int64_t n, int ndim,
                               int64_t num_samples, bool replacement) {
  for (int64_t b = 0; b < rows; b++) {
    char where[64] = "";
    if (ndim == 2) snprintf(where, sizeof where, " (row %lld of %lld)", (long long)b + 1,
                            (long long)rows);
    double total = 0;
    int64_t nonzero = 0;
    for (int64_t i = 0; i < n; i++) {
      float x = w[b * n + i];
      if (!(x >= 0) || isinf(x))
        return rc_fail(RC_ERR_ARG, "multinomial: weights must be finite and >= 0, got %g%s",
                       (double)x, where);
      total += x;
      nonzero += x > 0;
      cum[b * n + i] = total;
    }
    if (total <= 0)
      return rc_fail(RC_ERR_ARG, "multinomial: the weights sum to 0%s", where);
    if (!replacement && nonzero < num_samples)
      return rc_fail(RC_ERR_ARG, "multinomial: cannot draw %lld samples without replacement "
                                 "from %lld non-zero weights%s", (long long)num_samples,
                     (long long)nonzero, where);
  }
  return RC_OK;
}

/* With replacement: sample j of row b is the first category whose running sum exceeds
   u * total; a zero weight never exceeds its predecessor, so it is never picked. */
static void sample_with_replacement(int64_t *out, const double *cum, int64_t rows, int64_t n,
                                    int64_t k, uint64_t seed, uint64_t first) {
#pragma omp parallel for schedule(static) num_threads(rc_threads()) \
    if (rows * (k + n) >= RC_PARALLEL_MIN)
  for (int64_t b = 0; b < rows; b++) {
    const double *c = cum + b * n;
    word_reader wr = {seed, first, -1, {0}};
    for (int64_t j = 0; j < k; j++) {
      double target = unit_d32(word_at(&wr, b * k + j)) * c[n - 1];
      int64_t lo = 0, hi = n - 1; /* smallest i with c[i] > target; c[n-1] > target always */
      while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (c[mid] > target)
          hi = mid;
        else
          lo = mid + 1;
      }
      out[b * k + j] = lo;
    }
  }
}

/* Without replacement (Efraimidis & Spirakis 2006): key_i = log(u_i) / w_i; the k largest
   keys, largest first, are distributed as k sequential weighted draws without replacement.
   Zero weights get key -inf and are never among the k (check_weights made sure). */
static void sample_without_replacement(int64_t *out, const float *w, keyed *scratch, int64_t rows,
                                       int64_t n, int64_t k, uint64_t seed, uint64_t first,
                                       bool parallel) {
#pragma omp parallel for schedule(static) num_threads(rc_threads()) if (parallel)
  for (int64_t b = 0; b < rows; b++) {
    keyed *keys = scratch + (int64_t)omp_get_thread_num() * n;
    word_reader wr = {seed, first, -1, {0}};
    for (int64_t i = 0; i < n; i++) {
      double x = w[b * n + i];
      keys[i].key = x > 0 ? log(open_unit_d32(word_at(&wr, b * n + i))) / x : -INFINITY;
      keys[i].index = i;
    }
    qsort(keys, (size_t)n, sizeof *keys, by_key_desc);
    for (int64_t j = 0; j < k; j++) out[b * k + j] = keys[j].index;
  }
}

rc_status rc_multinomial(rc_tensor **out, const rc_tensor *probs, int64_t num_samples,
                         bool replacement) {
  char s[128];
  if (probs->ndim != 1 && probs->ndim != 2)
    return rc_fail(RC_ERR_SHAPE, "multinomial: probs must be 1-D (N) or 2-D (B,N), got shape %s",
                   rc_shape_str(probs, s, sizeof s));
  if (num_samples < 1)
    return rc_fail(RC_ERR_ARG, "multinomial: num_samples must be >= 1, got %lld",
                   (long long)num_samples);
  int64_t n = probs->shape[probs->ndim - 1];
  int64_t rows = probs->ndim == 2 ? probs->shape[0] : 1;
  if (n == 0)
    return rc_fail(RC_ERR_SHAPE, "multinomial: probs has no categories (shape %s)",
                   rc_shape_str(probs, s, sizeof s));
  if (!replacement && num_samples > n)
    return rc_fail(RC_ERR_ARG, "multinomial: cannot draw %lld samples without replacement from "
                               "%lld categories", (long long)num_samples, (long long)n);

  rc_tensor *p = NULL, *r = NULL;
  rc_status st = contiguous_f32(&p, probs);
  if (st) return st;
  const float *w = rc_f32(p);
  bool parallel = rc_threads() > 1 && rows > 1 && rows * n >= RC_PARALLEL_MIN;
  int workers = parallel ? rc_threads() : 1;
  double *cum = malloc(sizeof(double) * (size_t)(rows * n > 0 ? rows * n : 1));
  keyed *scratch = replacement ? NULL : malloc(sizeof(keyed) * (size_t)(workers * n));
  if (!cum || (!replacement && !scratch)) {
    st = rc_fail(RC_ERR_NOMEM, "multinomial: out of memory for %lld x %lld weights",
                 (long long)rows, (long long)n);
    goto done;
  }
  if ((st = check_weights(w, cum, rows, n, probs->ndim, num_samples, replacement))) goto done;

  /* (N) -> (k); (B,N) -> (B,k) */
  int64_t shape[2] = {rows, num_samples};
  if ((st = rc_empty(&r, RC_INT64, probs->ndim, probs->ndim == 2 ? shape : shape + 1)))
    goto done;
  uint64_t seed = atomic_load(&rng_seed);
  int64_t draws = rows * (replacement ? num_samples : n);
  uint64_t first = rc_rng_reserve((uint64_t)((draws + 3) / 4));
  if (replacement)
    sample_with_replacement(rc_i64(r), cum, rows, n, num_samples, seed, first);
  else
    sample_without_replacement(rc_i64(r), w, scratch, rows, n, num_samples, seed, first,
                               parallel);
  *out = r;
done:
  free(cum);
  free(scratch);
  rc_release(p);
  return st;
}
