/* tests/core/test_random.c — the Philox generator against the published known answers, and the
   random tensors: reproducibility, thread-count independence, distributions, views, errors. */
#include <stdint.h>
#include <stdlib.h>
#include "check.h"

/* Defined in core/random.c (not in the public header): the full-width block function. */
void rc_philox4x32_10(const uint32_t counter[4], const uint32_t key[2], uint32_t out[4]);

static rc_tensor *new_f32(int ndim, const int64_t *shape) {
  rc_tensor *t = NULL;
  if (rc_empty(&t, RC_FLOAT32, ndim, shape) != RC_OK) return NULL;
  return t;
}

static rc_tensor *new_1d(rc_dtype dtype, int64_t n) {
  rc_tensor *t = NULL;
  if (rc_empty(&t, dtype, 1, &n) != RC_OK) return NULL;
  return t;
}

static bool same_state(rc_rng_state a, rc_rng_state b) {
  return a.seed == b.seed && a.offset == b.offset;
}

static void test_known_answers(void) {
  /* Random123's kat_vectors, philox4x32 10: counter (4 words), key (2 words), expected. */
  static const uint32_t kat[3][10] = {
    {0, 0, 0, 0, 0, 0, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
    {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff,
     0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd},
    {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0,
     0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1},
  };
  for (int v = 0; v < 3; v++) {
    uint32_t out[4];
    rc_philox4x32_10(kat[v], kat[v] + 4, out);
    for (int k = 0; k < 4; k++) CHECK(out[k] == kat[v][6 + k]);
  }
  /* rc_philox(seed, counter) is counter (lo, hi, 0, 0) under key (lo, hi) of the seed. */
  uint32_t out[4];
  rc_philox(0, 0, out);
  CHECK(out[0] == 0x6627e8d5 && out[1] == 0xe169c58d && out[2] == 0xbc57ac4c &&
        out[3] == 0x9b00dbd8);
  uint32_t ctr[4] = {5, 1, 0, 0}, key[2] = {0x89abcdef, 0x01234567}, ref[4];
  rc_philox4x32_10(ctr, key, ref);
  rc_philox(UINT64_C(0x0123456789abcdef), (UINT64_C(1) << 32) + 5, out);
  CHECK(memcmp(out, ref, sizeof out) == 0);
}

static void test_state(void) {
  rc_manual_seed(42);
  rc_rng_state s = rc_rng_get_state();
  CHECK(s.seed == 42 && s.offset == 0);
  rc_tensor *t = new_1d(RC_FLOAT32, 10);
  CHECK_OK(rc_uniform_(t, 0, 1));
  CHECK(rc_rng_get_state().offset == 3); /* 10 floats, 4 per block */
  rc_tensor *ints = new_1d(RC_INT64, 5);
  CHECK_OK(rc_randint_(ints, 0, 100));
  CHECK(rc_rng_get_state().offset == 6); /* 5 ints, 2 per block */
  CHECK(rc_rng_reserve(4) == 6);
  CHECK(rc_rng_get_state().offset == 10);
  rc_manual_seed(42);
  CHECK(rc_rng_get_state().offset == 0);

  /* An empty tensor draws nothing. */
  rc_tensor *none = new_1d(RC_FLOAT32, 0);
  CHECK_OK(rc_normal_(none, 0, 1));
  CHECK(rc_rng_get_state().offset == 0);

  /* set_state replays a draw. */
  rc_tensor *a = new_1d(RC_FLOAT32, 37), *b = new_1d(RC_FLOAT32, 37);
  rc_rng_state saved = rc_rng_get_state();
  CHECK_OK(rc_normal_(a, 0, 1));
  rc_rng_set_state(saved);
  CHECK_OK(rc_normal_(b, 0, 1));
  CHECK(memcmp(rc_f32(a), rc_f32(b), 37 * sizeof(float)) == 0);

  /* Skipping the offset ahead lands in the middle of the same stream. */
  rc_manual_seed(9);
  rc_tensor *whole = new_1d(RC_FLOAT32, 16), *tail = new_1d(RC_FLOAT32, 8);
  CHECK_OK(rc_uniform_(whole, 0, 1));
  rc_rng_state skip = {9, 2};
  rc_rng_set_state(skip);
  CHECK_OK(rc_uniform_(tail, 0, 1));
  CHECK(memcmp(rc_f32(whole) + 8, rc_f32(tail), 8 * sizeof(float)) == 0);

  /* Same seed, same numbers; another seed, other numbers. */
  rc_manual_seed(7);
  CHECK_OK(rc_uniform_(a, 0, 1));
  rc_manual_seed(7);
  CHECK_OK(rc_uniform_(b, 0, 1));
  CHECK(memcmp(rc_f32(a), rc_f32(b), 37 * sizeof(float)) == 0);
  rc_manual_seed(8);
  CHECK_OK(rc_uniform_(b, 0, 1));
  CHECK(memcmp(rc_f32(a), rc_f32(b), 37 * sizeof(float)) != 0);
  rc_release(t);
  rc_release(ints);
  rc_release(none);
  rc_release(a);
  rc_release(b);
  rc_release(whole);
  rc_release(tail);
}

/* The values follow from the blocks by the documented formulas: element i of a draw reads word
   i % 4 of block (offset + i / 4), or words 2(i % 2), 2(i % 2) + 1 of block (offset + i / 2)
   for randint. Sizes not a multiple of 4 or 32 check the ragged ends. */
static void test_values_from_blocks(void) {
  rc_manual_seed(123);
  const int64_t n = 101;
  rc_tensor *u = new_1d(RC_FLOAT32, n);
  CHECK_OK(rc_uniform_(u, 0, 1));
  bool uniform_ok = true;
  for (int64_t i = 0; i < n; i++) {
    uint32_t r[4];
    rc_philox(123, (uint64_t)(i / 4), r);
    uniform_ok = uniform_ok && rc_f32(u)[i] == (float)(r[i % 4] >> 8) / 16777216.0f;
  }
  CHECK(uniform_ok);
  uint64_t next = 26; /* ceil(101 / 4) */
  CHECK(rc_rng_get_state().offset == next);

  /* Box-Muller of words (0, 1) and (2, 3) of each block; 71 elements: the last pair is cut. */
  rc_tensor *z = new_1d(RC_FLOAT32, 71);
  CHECK_OK(rc_normal_(z, 1, 2));
  bool normal_ok = true;
  for (int64_t i = 0; i < 71; i += 2) {
    uint32_t r[4];
    rc_philox(123, next + (uint64_t)(i / 4), r);
    int k = (int)(i % 4);
    double u1 = ((double)r[k] + 0.5) / 4294967296.0, u2 = (double)r[k + 1] / 4294967296.0;
    double radius = sqrt(-2 * log(u1)), angle = 2 * 3.14159265358979323846 * u2;
    normal_ok = normal_ok && fabs(rc_f32(z)[i] - (1 + 2 * radius * cos(angle))) < 1e-5;
    if (i + 1 < 71)
      normal_ok = normal_ok && fabs(rc_f32(z)[i + 1] - (1 + 2 * radius * sin(angle))) < 1e-5;
  }
  CHECK(normal_ok);
  next += 18; /* ceil(71 / 4) */

  /* randint: 64 bits from two words, modulo the range, 2 per block. */
  rc_tensor *ri = new_1d(RC_INT64, 37);
  CHECK_OK(rc_randint_(ri, -5, 1000));
  bool randint_ok = true;
  for (int64_t i = 0; i < 37; i++) {
    uint32_t r[4];
    rc_philox(123, next + (uint64_t)(i / 2), r);
    uint64_t bits = (uint64_t)r[2 * (i % 2)] << 32 | r[2 * (i % 2) + 1];
    randint_ok = randint_ok && rc_i64(ri)[i] == -5 + (int64_t)(bits % 1005);
  }
  CHECK(randint_ok);
  next += 19; /* ceil(37 / 2) */

  /* bernoulli_: 1 where word * 2^-32 < p. */
  rc_tensor *bern = new_1d(RC_FLOAT32, 45);
  CHECK_OK(rc_bernoulli_(bern, 0.37));
  bool bern_ok = true;
  for (int64_t i = 0; i < 45; i++) {
    uint32_t r[4];
    rc_philox(123, next + (uint64_t)(i / 4), r);
    bern_ok = bern_ok && rc_f32(bern)[i] == ((double)r[i % 4] / 4294967296.0 < 0.37 ? 1.0f : 0.0f);
  }
  CHECK(bern_ok);
  CHECK(rc_rng_get_state().offset == next + 12);
  rc_release(u);
  rc_release(z);
  rc_release(ri);
  rc_release(bern);
}

static void mean_std(const float *x, int64_t n, double *mean, double *std) {
  double s = 0, s2 = 0;
  for (int64_t i = 0; i < n; i++) s += x[i];
  *mean = s / (double)n;
  for (int64_t i = 0; i < n; i++) s2 += (x[i] - *mean) * (x[i] - *mean);
  *std = sqrt(s2 / (double)n);
}

static void test_distributions(void) {
  const int64_t n = 1000000;
  rc_tensor *t = new_1d(RC_FLOAT32, n);
  float *x = rc_f32(t);
  double mean, std;
  rc_manual_seed(2024);

  /* Uniform [0,1): mean 1/2, std 1/sqrt(12) = 0.288675; the standard error of the mean is
     0.29e-3, so 2e-3 is about 7 of them. */
  CHECK_OK(rc_uniform_(t, 0, 1));
  mean_std(x, n, &mean, &std);
  CHECK_NEAR(mean, 0.5, 2e-3);
  CHECK_NEAR(std, 0.288675, 2e-3);
  float lo = 1, hi = 0;
  for (int64_t i = 0; i < n; i++) {
    lo = x[i] < lo ? x[i] : lo;
    hi = x[i] > hi ? x[i] : hi;
  }
  CHECK(lo >= 0.0f && lo < 1e-4f);
  CHECK(hi < 1.0f && hi > 0.9999f);

  /* Uniform [-2, 3): mean 0.5, std 5/sqrt(12) = 1.443376. */
  CHECK_OK(rc_uniform_(t, -2, 3));
  mean_std(x, n, &mean, &std);
  CHECK_NEAR(mean, 0.5, 1e-2);
  CHECK_NEAR(std, 1.443376, 1e-2);
  bool inside = true;
  for (int64_t i = 0; i < n; i++) inside = inside && x[i] >= -2.0f && x[i] < 3.0f;
  CHECK(inside);

  /* An interval one float wide: rounding would give hi half the time, but hi is excluded. */
  float one_up = nextafterf(1.0f, 2.0f);
  CHECK_OK(rc_uniform_(t, 1.0, one_up));
  bool all_one = true;
  for (int64_t i = 0; i < n; i++) all_one = all_one && x[i] == 1.0f;
  CHECK(all_one);

  /* Normal(0,1): 68.27 % within one std. */
  CHECK_OK(rc_normal_(t, 0, 1));
  mean_std(x, n, &mean, &std);
  CHECK_NEAR(mean, 0.0, 5e-3);
  CHECK_NEAR(std, 1.0, 5e-3);
  int64_t within = 0;
  bool finite = true;
  for (int64_t i = 0; i < n; i++) {
    within += fabsf(x[i]) < 1.0f;
    finite = finite && isfinite(x[i]);
  }
  CHECK(finite);
  CHECK_NEAR((double)within / (double)n, 0.682689, 3e-3);

  CHECK_OK(rc_normal_(t, 3, 2));
  mean_std(x, n, &mean, &std);
  CHECK_NEAR(mean, 3.0, 1e-2);
  CHECK_NEAR(std, 2.0, 1e-2);

  /* std 0 gives the mean exactly. */
  CHECK_OK(rc_normal_(t, -1.5, 0));
  CHECK(x[0] == -1.5f && x[n - 1] == -1.5f);

  /* Bernoulli(0.3): mean 0.3, standard error 0.46e-3. */
  CHECK_OK(rc_bernoulli_(t, 0.3));
  mean_std(x, n, &mean, &std);
  CHECK_NEAR(mean, 0.3, 3e-3);
  bool binary = true;
  for (int64_t i = 0; i < n; i++) binary = binary && (x[i] == 0.0f || x[i] == 1.0f);
  CHECK(binary);
  CHECK_OK(rc_bernoulli_(t, 0));
  mean_std(x, n, &mean, &std);
  CHECK(mean == 0.0);
  CHECK_OK(rc_bernoulli_(t, 1));
  mean_std(x, n, &mean, &std);
  CHECK(mean == 1.0);

  /* bernoulli_ on an int64 tensor writes 0/1 integers. */
  rc_tensor *bi = new_1d(RC_INT64, 1000);
  CHECK_OK(rc_bernoulli_(bi, 0.5));
  int64_t ones = 0;
  bool ints_binary = true;
  for (int i = 0; i < 1000; i++) {
    ints_binary = ints_binary && (rc_i64(bi)[i] == 0 || rc_i64(bi)[i] == 1);
    ones += rc_i64(bi)[i];
  }
  CHECK(ints_binary);
  CHECK(ones > 400 && ones < 600);
  rc_release(bi);
  rc_release(t);
}

static void test_randint(void) {
  const int64_t n = 700000;
  rc_tensor *t = new_1d(RC_INT64, n);
  rc_manual_seed(5);
  CHECK_OK(rc_randint_(t, -3, 4));
  int64_t counts[7] = {0};
  bool in_range = true;
  for (int64_t i = 0; i < n; i++) {
    int64_t v = rc_i64(t)[i];
    if (v < -3 || v >= 4) {
      in_range = false;
      continue;
    }
    counts[v + 3]++;
  }
  CHECK(in_range);
  /* 1/7 each: expected 100000, standard error about 293. */
  for (int k = 0; k < 7; k++) CHECK_NEAR((double)counts[k], 100000, 2000);

  /* float32 tensors get whole numbers. */
  rc_tensor *f = new_1d(RC_FLOAT32, 1000);
  CHECK_OK(rc_randint_(f, 0, 10));
  bool whole = true;
  for (int i = 0; i < 1000; i++)
    whole = whole && rc_f32(f)[i] == floorf(rc_f32(f)[i]) && rc_f32(f)[i] >= 0 &&
            rc_f32(f)[i] <= 9;
  CHECK(whole);

  /* The widest range: hi - lo overflows int64 but not the uint64 range. */
  CHECK_OK(rc_randint_(t, INT64_MIN, INT64_MAX));
  int64_t negative = 0;
  for (int64_t i = 0; i < 1000; i++) negative += rc_i64(t)[i] < 0;
  CHECK(negative > 400 && negative < 600);

  rc_rng_state before = rc_rng_get_state();
  CHECK_FAILS(rc_randint_(t, 5, 5), "randint: expected low < high, got low=5 high=5");
  CHECK_FAILS(rc_randint_(t, 6, 2), "randint: expected low < high, got low=6 high=2");
  CHECK(same_state(before, rc_rng_get_state()));
  rc_release(t);
  rc_release(f);
}

/* Draws into views land in the view's row-major order and nowhere else. */
static void test_views(void) {
  int64_t shape[2] = {4, 6};
  rc_tensor *base = new_f32(2, shape);
  CHECK_OK(rc_fill_(base, -1));
  /* Transposed view (6,4) with strides (1,6). */
  int64_t tshape[2] = {6, 4}, tstride[2] = {1, 6};
  rc_tensor *tview = NULL, *ref = new_f32(2, tshape);
  CHECK_OK(rc_view_of(&tview, base, 2, tshape, tstride, 0));
  rc_manual_seed(77);
  CHECK_OK(rc_uniform_(tview, 0, 1));
  rc_manual_seed(77);
  CHECK_OK(rc_uniform_(ref, 0, 1));
  bool same = true;
  for (int64_t i = 0; i < 24; i++) same = same && rc_get_flat(tview, i) == rc_get_flat(ref, i);
  CHECK(same);
  /* Element (r, c) of the view is base[c][r]. */
  CHECK(rc_f32(base)[1 * 6 + 2] == rc_f32(ref)[2 * 4 + 1]);
  CHECK(rc_rng_get_state().offset == 6);

  /* Columns 1..3 of base: (4,3) with strides (6,1), offset 1. */
  CHECK_OK(rc_fill_(base, -1));
  int64_t nshape[2] = {4, 3}, nstride[2] = {6, 1};
  rc_tensor *narrow = NULL, *nref = new_f32(2, nshape);
  CHECK_OK(rc_view_of(&narrow, base, 2, nshape, nstride, 1));
  rc_manual_seed(78);
  CHECK_OK(rc_normal_(narrow, 0, 1));
  rc_manual_seed(78);
  CHECK_OK(rc_normal_(nref, 0, 1));
  bool kept = true, drawn = true;
  for (int r = 0; r < 4; r++)
    for (int c = 0; c < 6; c++) {
      float v = rc_f32(base)[r * 6 + c];
      if (c >= 1 && c <= 3)
        drawn = drawn && v == rc_f32(nref)[r * 3 + c - 1];
      else
        kept = kept && v == -1.0f;
    }
  CHECK(drawn);
  CHECK(kept);

  /* int64 view, randint. */
  rc_tensor *ibase = NULL, *iview = NULL, *iref = NULL;
  CHECK_OK(rc_full(&ibase, RC_INT64, 2, shape, -7));
  CHECK_OK(rc_view_of(&iview, ibase, 2, tshape, tstride, 0));
  CHECK_OK(rc_empty(&iref, RC_INT64, 2, tshape));
  rc_manual_seed(79);
  CHECK_OK(rc_randint_(iview, 0, 1000000));
  rc_manual_seed(79);
  CHECK_OK(rc_randint_(iref, 0, 1000000));
  same = true;
  for (int64_t i = 0; i < 24; i++) same = same && rc_get_flat(iview, i) == rc_get_flat(iref, i);
  CHECK(same);

  /* An expanded view (stride 0) would write one element several times: refused. */
  int64_t eshape[2] = {3, 6}, estride[2] = {0, 1};
  rc_tensor *expanded = NULL;
  CHECK_OK(rc_view_of(&expanded, base, 2, eshape, estride, 0));
  rc_rng_state before = rc_rng_get_state();
  CHECK_FAILS(rc_uniform_(expanded, 0, 1), "uniform_: cannot fill an expanded view");
  CHECK_FAILS(rc_bernoulli_(expanded, 0.5), "bernoulli_: cannot fill an expanded view");
  CHECK(same_state(before, rc_rng_get_state()));

  rc_release(base);
  rc_release(tview);
  rc_release(ref);
  rc_release(narrow);
  rc_release(nref);
  rc_release(ibase);
  rc_release(iview);
  rc_release(iref);
  rc_release(expanded);
}

static void test_bad_fill_args(void) {
  rc_tensor *t = new_1d(RC_FLOAT32, 8), *i = new_1d(RC_INT64, 8);
  rc_rng_state before = rc_rng_get_state();
  CHECK_FAILS(rc_uniform_(i, 0, 1), "uniform_: needs a float32 tensor, got int64");
  CHECK_FAILS(rc_normal_(i, 0, 1), "normal_: needs a float32 tensor, got int64");
  CHECK_FAILS(rc_uniform_(t, 2, 1),
              "uniform_: expected finite bounds with from <= to, got from=2 to=1");
  CHECK_FAILS(rc_uniform_(t, 0, INFINITY), "uniform_: expected finite bounds");
  CHECK_FAILS(rc_normal_(t, 0, -1),
              "normal_: expected a finite mean and a finite std >= 0, got mean=0 std=-1");
  CHECK_FAILS(rc_normal_(t, NAN, 1), "normal_: expected a finite mean");
  CHECK_FAILS(rc_bernoulli_(t, 1.5), "bernoulli_: probability must be in [0, 1], got 1.5");
  CHECK_FAILS(rc_bernoulli_(t, NAN), "bernoulli_: probability must be in [0, 1], got nan");
  CHECK(same_state(before, rc_rng_get_state()));
  /* uniform_(a, a) is allowed and fills a. */
  CHECK_OK(rc_uniform_(t, 2.5, 2.5));
  CHECK(rc_f32(t)[0] == 2.5f && rc_f32(t)[7] == 2.5f);
  rc_release(t);
  rc_release(i);
}

static void test_bernoulli_probs(void) {
  /* (100000, 4) with columns of probability 0, 1, 0.25, 0.75. */
  const int64_t rows = 100000;
  int64_t shape[2] = {rows, 4};
  rc_tensor *probs = new_f32(2, shape), *out = NULL;
  const float col[4] = {0, 1, 0.25f, 0.75f};
  for (int64_t r = 0; r < rows; r++)
    for (int c = 0; c < 4; c++) rc_f32(probs)[r * 4 + c] = col[c];
  rc_manual_seed(11);
  CHECK_OK(rc_bernoulli(&out, probs));
  CHECK(out && out->dtype == RC_FLOAT32 && out->ndim == 2 && out->shape[0] == rows &&
        out->shape[1] == 4);
  CHECK(rc_rng_get_state().offset == (uint64_t)rows); /* 4 per block */
  double sum[4] = {0};
  for (int64_t r = 0; r < rows; r++)
    for (int c = 0; c < 4; c++) sum[c] += rc_f32(out)[r * 4 + c];
  CHECK(sum[0] == 0);
  CHECK(sum[1] == (double)rows);
  /* standard error sqrt(0.25 * 0.75 / 1e5) = 1.4e-3 */
  CHECK_NEAR(sum[2] / (double)rows, 0.25, 1e-2);
  CHECK_NEAR(sum[3] / (double)rows, 0.75, 1e-2);
  rc_release(out);
  out = NULL;

  /* A transposed (4, rows) view of probs gives the same as a contiguous copy of it. */
  int64_t tshape[2] = {4, rows}, tstride[2] = {1, 4};
  rc_tensor *tview = NULL, *tcopy = NULL, *a = NULL, *b = NULL;
  CHECK_OK(rc_view_of(&tview, probs, 2, tshape, tstride, 0));
  CHECK_OK(rc_to_dtype(&tcopy, tview, RC_FLOAT32));
  rc_manual_seed(12);
  CHECK_OK(rc_bernoulli(&a, tview));
  rc_manual_seed(12);
  CHECK_OK(rc_bernoulli(&b, tcopy));
  CHECK(a && b && memcmp(rc_f32(a), rc_f32(b), sizeof(float) * 4 * (size_t)rows) == 0);
  /* Row 0 of the transposed probs is all 0, row 1 all 1. */
  CHECK(a && rc_f32(a)[0] == 0 && rc_f32(a)[rows] == 1 && rc_f32(a)[2 * rows - 1] == 1);

  /* Bad probabilities: nothing drawn, nothing returned. */
  rc_f32(probs)[4 * 500 + 2] = -0.5f;
  rc_rng_state before = rc_rng_get_state();
  rc_tensor *never = NULL;
  CHECK_FAILS(rc_bernoulli(&never, probs), "bernoulli: probabilities must be in [0, 1], got -0.5");
  rc_f32(probs)[4 * 500 + 2] = NAN;
  CHECK_FAILS(rc_bernoulli(&never, probs), "bernoulli: probabilities must be in [0, 1], got nan");
  rc_f32(probs)[4 * 500 + 2] = 1.25f;
  CHECK_FAILS(rc_bernoulli(&never, probs), "got 1.25");
  CHECK(never == NULL);
  CHECK(same_state(before, rc_rng_get_state()));
  rc_release(probs);
  rc_release(tview);
  rc_release(tcopy);
  rc_release(a);
  rc_release(b);
}

static void test_multinomial(void) {
  /* With replacement, weights 1,2,0,7 (not normalised). */
  const float w[4] = {1, 2, 0, 7};
  int64_t wshape[1] = {4};
  rc_tensor *probs = tensor_of(1, wshape, w), *out = NULL;
  const int64_t k = 200000;
  rc_manual_seed(31);
  CHECK_OK(rc_multinomial(&out, probs, k, true));
  CHECK(out && out->dtype == RC_INT64 && out->ndim == 1 && out->shape[0] == k);
  CHECK(rc_rng_get_state().offset == (uint64_t)(k / 4));
  int64_t counts[4] = {0};
  bool valid = true;
  for (int64_t i = 0; i < k; i++) {
    int64_t c = rc_i64(out)[i];
    if (c < 0 || c > 3)
      valid = false;
    else
      counts[c]++;
  }
  CHECK(valid);
  CHECK(counts[2] == 0);
  CHECK_NEAR((double)counts[0] / (double)k, 0.1, 5e-3);
  CHECK_NEAR((double)counts[1] / (double)k, 0.2, 5e-3);
  CHECK_NEAR((double)counts[3] / (double)k, 0.7, 5e-3);
  rc_release(out);
  out = NULL;

  /* Without replacement, all categories: each row a permutation of 0..4. */
  int64_t pshape[2] = {3, 5};
  const float pw[15] = {1, 1, 1, 1, 1, 5, 4, 3, 2, 1, 0.1f, 10, 0.1f, 10, 3};
  rc_tensor *rows = tensor_of(2, pshape, pw);
  CHECK_OK(rc_multinomial(&out, rows, 5, false));
  CHECK(out && out->ndim == 2 && out->shape[0] == 3 && out->shape[1] == 5);
  bool permutations = true;
  for (int r = 0; r < 3 && out; r++) {
    int seen = 0;
    for (int j = 0; j < 5; j++) {
      int64_t c = rc_i64(out)[r * 5 + j];
      if (c < 0 || c > 4 || (seen >> c & 1)) permutations = false;
      else seen |= 1 << c;
    }
  }
  CHECK(permutations);
  rc_release(out);
  out = NULL;

  /* Without replacement, zero weights are never drawn. */
  const float zw[6] = {0, 3, 0, 1, 2, 0};
  int64_t zshape[1] = {6};
  rc_tensor *zprobs = tensor_of(1, zshape, zw);
  bool no_zero = true, distinct = true;
  for (int rep = 0; rep < 200; rep++) {
    CHECK_OK(rc_multinomial(&out, zprobs, 3, false));
    int64_t *o = rc_i64(out);
    for (int j = 0; j < 3; j++) no_zero = no_zero && zw[o[j]] > 0;
    distinct = distinct && o[0] != o[1] && o[0] != o[2] && o[1] != o[2];
    rc_release(out);
    out = NULL;
  }
  CHECK(no_zero);
  CHECK(distinct);

  /* Without replacement, first and second draws follow sequential sampling: with p =
     (.1,.2,.3,.4), P(first = j) = p_j and P(second = j) = sum_{i != j} p_i p_j / (1 - p_i). */
  const int64_t n_rows = 100000;
  int64_t bshape[2] = {n_rows, 4};
  rc_tensor *many = new_f32(2, bshape);
  for (int64_t r = 0; r < n_rows; r++)
    for (int c = 0; c < 4; c++) rc_f32(many)[r * 4 + c] = (float)(c + 1);
  CHECK_OK(rc_multinomial(&out, many, 2, false));
  double first[4] = {0}, second[4] = {0};
  for (int64_t r = 0; r < n_rows; r++) {
    first[rc_i64(out)[2 * r]] += 1.0 / (double)n_rows;
    second[rc_i64(out)[2 * r + 1]] += 1.0 / (double)n_rows;
  }
  for (int j = 0; j < 4; j++) {
    double pj = (j + 1) / 10.0, expect = 0;
    for (int i = 0; i < 4; i++)
      if (i != j) expect += (i + 1) / 10.0 * pj / (1 - (i + 1) / 10.0);
    CHECK_NEAR(first[j], pj, 6e-3);
    CHECK_NEAR(second[j], expect, 6e-3);
  }
  rc_release(out);
  out = NULL;

  /* Bad input: message, no result, no numbers used. */
  rc_rng_state before = rc_rng_get_state();
  int64_t s3[3] = {2, 2, 2};
  rc_tensor *cube = NULL;
  CHECK_OK(rc_full(&cube, RC_FLOAT32, 3, s3, 1));
  CHECK_FAILS(rc_multinomial(&out, cube, 1, true),
              "multinomial: probs must be 1-D (N) or 2-D (B,N), got shape (2,2,2)");
  CHECK_FAILS(rc_multinomial(&out, probs, 0, true), "multinomial: num_samples must be >= 1, got 0");
  CHECK_FAILS(rc_multinomial(&out, probs, 5, false),
              "multinomial: cannot draw 5 samples without replacement from 4 categories");
  CHECK_FAILS(rc_multinomial(&out, probs, 4, false),
              "multinomial: cannot draw 4 samples without replacement from 3 non-zero weights");
  CHECK_FAILS(rc_multinomial(&out, zprobs, 4, false),
              "from 3 non-zero weights");
  const float neg[3] = {1, -1, 2}, nan3[3] = {1, NAN, 2}, inf3[3] = {1, INFINITY, 2},
              zero3[3] = {0, 0, 0};
  int64_t s1[1] = {3};
  rc_tensor *tneg = tensor_of(1, s1, neg), *tnan = tensor_of(1, s1, nan3),
            *tinf = tensor_of(1, s1, inf3), *tzero = tensor_of(1, s1, zero3);
  CHECK_FAILS(rc_multinomial(&out, tneg, 1, true),
              "multinomial: weights must be finite and >= 0, got -1");
  CHECK_FAILS(rc_multinomial(&out, tnan, 1, true),
              "multinomial: weights must be finite and >= 0, got nan");
  CHECK_FAILS(rc_multinomial(&out, tinf, 1, true),
              "multinomial: weights must be finite and >= 0, got inf");
  CHECK_FAILS(rc_multinomial(&out, tzero, 1, true), "multinomial: the weights sum to 0");
  int64_t s22[2] = {2, 3};
  const float second_zero[6] = {1, 2, 3, 0, 0, 0};
  rc_tensor *tz2 = tensor_of(2, s22, second_zero);
  CHECK_FAILS(rc_multinomial(&out, tz2, 1, true), "multinomial: the weights sum to 0 (row 2 of 2)");
  int64_t s0[1] = {0};
  rc_tensor *empty = NULL;
  CHECK_OK(rc_empty(&empty, RC_FLOAT32, 1, s0));
  CHECK_FAILS(rc_multinomial(&out, empty, 1, true),
              "multinomial: probs has no categories (shape (0))");
  CHECK(out == NULL);
  CHECK(same_state(before, rc_rng_get_state()));

  rc_release(probs);
  rc_release(rows);
  rc_release(zprobs);
  rc_release(many);
  rc_release(cube);
  rc_release(tneg);
  rc_release(tnan);
  rc_release(tinf);
  rc_release(tzero);
  rc_release(tz2);
  rc_release(empty);
}

/* Same state, 1 thread vs 2: bitwise the same numbers. */
static void test_thread_independence(void) {
  int saved_threads = rc_threads();
  const int64_t n = 1000000;
  rc_tensor *a = new_1d(RC_FLOAT32, n), *b = new_1d(RC_FLOAT32, n);
  rc_tensor *ia = new_1d(RC_INT64, n), *ib = new_1d(RC_INT64, n);
  int64_t wshape[2] = {64, 1000};
  rc_tensor *w = new_f32(2, wshape);
  rc_tensor *m1 = NULL, *m2 = NULL, *r1 = NULL, *r2 = NULL, *p1 = NULL, *p2 = NULL;

  for (int pass = 0; pass < 2; pass++) {
    CHECK_OK(rc_set_threads(pass == 0 ? 1 : 2));
    rc_tensor *x = pass ? b : a, *ix = pass ? ib : ia;
    rc_manual_seed(99);
    CHECK_OK(rc_uniform_(w, 0, 1));
    CHECK_OK(rc_normal_(x, 0, 1));
    CHECK_OK(rc_randint_(ix, 0, 1000));
    CHECK_OK(rc_multinomial(pass ? &m2 : &m1, w, 10, false));
    CHECK_OK(rc_multinomial(pass ? &r2 : &r1, w, 10, true));
    CHECK_OK(rc_bernoulli(pass ? &p2 : &p1, w));
  }
  CHECK(memcmp(rc_f32(a), rc_f32(b), sizeof(float) * (size_t)n) == 0);
  CHECK(memcmp(rc_i64(ia), rc_i64(ib), sizeof(int64_t) * (size_t)n) == 0);
  CHECK(m1 && m2 && memcmp(rc_i64(m1), rc_i64(m2), sizeof(int64_t) * 640) == 0);
  CHECK(r1 && r2 && memcmp(rc_i64(r1), rc_i64(r2), sizeof(int64_t) * 640) == 0);
  CHECK(p1 && p2 && memcmp(rc_f32(p1), rc_f32(p2), sizeof(float) * 64000) == 0);
  rc_set_threads(saved_threads);
  rc_release(a);
  rc_release(b);
  rc_release(ia);
  rc_release(ib);
  rc_release(w);
  rc_release(m1);
  rc_release(m2);
  rc_release(r1);
  rc_release(r2);
  rc_release(p1);
  rc_release(p2);
}

int main(void) {
  CHECK_OK(rc_init());
  test_known_answers();
  test_state();
  test_values_from_blocks();
  test_distributions();
  test_randint();
  test_views();
  test_bad_fill_args();
  test_bernoulli_probs();
  test_multinomial();
  test_thread_independence();
  return check_summary("random");
}
