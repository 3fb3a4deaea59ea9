/* core/rnn_recurrence.c — one layer's recurrence, the per-step GEMMs and gate math over T steps:
   on W_hh packed once into BLIS's micro-panels, or through rc_gemm; and its threading policy. */
#include <blis.h>
#include <omp.h>
#include <string.h>
#include "gemm.h"
#include "loop.h"
#include "rnn_internal.h"
#include "runtime.h"
#include "small_tile.h"

/* --- threads ---------------------------------------------------------------------------------- */

static int threading_policy; /* see rc_rnn_set_threading: a policy 0..5, + 8 to flip the kernel */

int rc_rnn_set_threading(int policy) {
  int was = threading_policy;
  threading_policy = policy;
  return was;
}

/* A layer's whole recurrence below this many multiply-adds is not worth waking threads for. */
static const int64_t stream_min_madds = INT64_C(1) << 18;

/* Per-step GEMMs below this many multiply-adds run faster as independent one-thread streams
   (the two directions, or halves of the batch) than as one GEMM split over the threads. Only
   for the rc_gemm path (policies 1, 2), kept to measure the packed path against. */
static const int64_t stream_max_madds = INT64_C(1) << 23;

/* The threads a layer's recurrence may use: one when it is too small to pay for waking more
   (unless a policy was set explicitly, as the tests do to reach the threaded code). */
static int recurrence_threads(const rc_rnn_plan *p) {
  int64_t madds = p->T * p->B * p->G * p->H * p->H * p->dirs;
  return madds < stream_min_madds && threading_policy == 0 ? 1 : rc_threads();
}

/* The rc_gemm path as streams: `chunks` row ranges per direction, run concurrently (each GEMM
   on one thread) or one after another (each GEMM on all threads). */
static void choose_streams(const rc_rnn_plan *p, int threads, int *chunks, bool *concurrent) {
  int64_t madds = p->B * p->G * p->H * p->H;
  int policy = threading_policy & 7;
  bool split = policy == 1 || (policy != 2 && madds < stream_max_madds);
  *chunks = 1;
  *concurrent = false;
  if (threads < 2 || !split) return;
  int want = (threads + p->dirs - 1) / p->dirs;
  while (want > 1 && p->B / want < 4) want--; /* keep a few rows per GEMM */
  *chunks = want;
  *concurrent = p->dirs * want > 1;
}

/* A GEMM of a stream: one thread inside concurrent streams, else rc_gemm's own choice (small
   products stay on one thread). */
static rc_status stream_gemm(int threads, int64_t m, int64_t n, int64_t k, const float *a,
                             int64_t a_rs, int64_t a_cs, const float *b, int64_t b_rs,
                             int64_t b_cs, float beta, float *c, int64_t c_rs) {
  if (threads == 1)
    return rc_gemm_threads(1, m, n, k, 1.0f, a, a_rs, a_cs, b, b_rs, b_cs, beta, c, c_rs, 1);
  return rc_gemm(m, n, k, 1.0f, a, a_rs, a_cs, b, b_rs, b_cs, beta, c, c_rs, 1);
}

/* Rows [lo, hi) split into `parts` nearly equal pieces; piece k. */
static void piece(int64_t lo, int64_t hi, int parts, int k, int64_t *a, int64_t *b) {
  int64_t n = hi - lo;
  *a = lo + n * k / parts;
  *b = lo + n * (k + 1) / parts;
}

/* --- the gate math of one step ---------------------------------------------------------------- */

/* The gate math of step t, rows [lo, hi), units [u0, u1). */
static void gate_forward(const layer_ctx *L, int d, int64_t t, int64_t lo, int64_t hi, int64_t u0,
                         int64_t u1) {
  const rc_rnn_plan *p = L->p;
  int64_t H = p->H, B = p->B, OW = p->dirs * H, n = hi - lo;
  float *g = L->gates[d] + (t * B + lo) * p->GS, *o = L->out + (t * B + lo) * OW + d * H;
  float *h = L->h[d] + lo * H;
  switch (p->mode) {
  case RC_RNN_TANH:
  case RC_RNN_RELU:
    rc_rnn_step_forward(p->mode == RC_RNN_RELU, n, H, u0, u1, g, p->GS, h, o, OW);
    break;
  case RC_LSTM:
    rc_lstm_step_forward(n, H, u0, u1, g, p->GS, h, L->c[d] + lo * H, o, OW,
                         L->cells[d] ? L->cells[d] + (t * B + lo) * H : NULL);
    break;
  case RC_GRU: {
    const float *bhn = L->b_hh[d] ? L->b_hh[d] + 2 * H : L->zeros;
    rc_gru_step_forward(n, H, u0, u1, g, p->GS, L->hw[d] + lo * 3 * H, 3 * H, bhn, h, o, OW);
    break;
  }
  }
}

/* The gate derivatives of step t, rows [lo, hi), units [u0, u1), whose previous states all come
   from h_prev/c_prev (rows of stride ps, already offset to row lo). */
static void gate_backward(const layer_ctx *L, int d, int64_t t, int64_t lo, int64_t hi,
                          int64_t u0, int64_t u1, const float *h_prev, const float *c_prev,
                          int64_t ps) {
  const rc_rnn_plan *p = L->p;
  int64_t H = p->H, B = p->B, OW = p->dirs * H, n = hi - lo, GS = p->GS;
  float *dg = L->dg[d] + (t * B + lo) * GS;
  const float *g = L->gates[d] + (t * B + lo) * GS;
  const float *dout = L->dos ? L->dout + (t * B + lo) * L->dos + d * H : L->zeros;
  switch (p->mode) {
  case RC_RNN_TANH:
  case RC_RNN_RELU:
    rc_rnn_step_backward(p->mode == RC_RNN_RELU, n, H, u0, u1, dg, GS, L->dh[d] + lo * H, dout,
                         L->dos, L->out + (t * B + lo) * OW + d * H, OW);
    break;
  case RC_LSTM:
    rc_lstm_step_backward(n, H, u0, u1, dg, GS, L->dc[d] + lo * H, L->dh[d] + lo * H, dout,
                          L->dos, g, GS, L->cells[d] + (t * B + lo) * H, c_prev, ps);
    break;
  case RC_GRU:
    rc_gru_step_backward(n, H, u0, u1, dg, GS, L->dh[d] + lo * H, dout, L->dos, g, GS, h_prev, ps);
    break;
  }
}

/* Rows [lo, hi) at step t: the previous states of rows below `fresh` come from step prev_t
   (the layer's out and cells), the others from h0/c0 (sequences starting at t). */
static void gate_backward_split(const layer_ctx *L, int d, int64_t t, int64_t lo, int64_t hi,
                                int64_t u0, int64_t u1, int64_t prev_t, int64_t fresh) {
  const rc_rnn_plan *p = L->p;
  int64_t H = p->H, B = p->B, OW = p->dirs * H;
  int64_t mid = hi < fresh ? hi : fresh > lo ? fresh : lo; /* [lo, mid) go on, [mid, hi) start */
  if (mid > lo) {
    const float *hp = L->out + (prev_t * B + lo) * OW + d * H;
    const float *cp = L->cells[d] ? L->cells[d] + (prev_t * B + lo) * H : NULL;
    gate_backward(L, d, t, lo, mid, u0, u1, hp, cp, p->mode == RC_GRU ? OW : H);
  }
  if (hi > mid)
    gate_backward(L, d, t, mid, hi, u0, u1, L->h0[d] + mid * H, L->c0[d] + mid * H, H);
}

/* Where step t's rows continue from: forward, every running row from step t-1 (none at t = 0);
   reverse, rows still running at t+1 from there, the others start at t from h0. */
static void previous_step(const rc_rnn_plan *p, int d, int64_t t, int64_t lo, int64_t hi,
                          int64_t *prev_t, int64_t *fresh) {
  *prev_t = d == 0 ? t - 1 : t + 1;
  *fresh = d == 0 ? (t > 0 ? hi : lo) : (p->bs[t + 1] < hi ? p->bs[t + 1] : hi);
}

/* --- the recurrence through rc_gemm (policies 1 and 2) ------------------------------------------
   One stream is a direction and a range of batch rows [r0, r1); each step calls rc_gemm, which
   repacks W_hh every time. Kept as the fallback and to measure the packed path against. */

static rc_status stream_forward(const layer_ctx *L, int d, int64_t r0, int64_t r1, int threads) {
  const rc_rnn_plan *p = L->p;
  int64_t T = p->T, B = p->B, H = p->H, GH = p->G * H, OW = p->dirs * H;
  for (int64_t s = 0; s < T; s++) {
    int64_t t = d == 0 ? s : T - 1 - s;
    int64_t hi = r1 < p->bs[t] ? r1 : p->bs[t], lo = r0;
    /* Sequences already finished output zeros at this step. */
    for (int64_t i = hi > r0 ? hi : r0; i < r1; i++)
      memset(L->out + (t * B + i) * OW + d * H, 0, sizeof(float) * (size_t)H);
    if (hi <= lo) continue;
    int64_t n = hi - lo;
    /* At the first step with no h0 every running row is h0 = 0: nothing to multiply. */
    bool zero_state = s == 0 && !p->has_h0;
    rc_status st = RC_OK;
    if (p->mode == RC_GRU) {
      if (zero_state)
        memset(L->hw[d] + lo * 3 * H, 0, sizeof(float) * (size_t)(n * 3 * H));
      else
        st = stream_gemm(threads, n, GH, H, L->h[d] + lo * H, H, 1, L->w_hh[d], 1, H, 0.0f,
                         L->hw[d] + lo * 3 * H, 3 * H);
    } else if (!zero_state) {
      st = stream_gemm(threads, n, GH, H, L->h[d] + lo * H, H, 1, L->w_hh[d], 1, H, 1.0f,
                       L->gates[d] + (t * B + lo) * p->GS, p->GS);
    }
    if (st) return st;
    if (threads > 1 && n * p->GS >= RC_PARALLEL_MIN) {
#pragma omp parallel for schedule(static) num_threads(threads)
      for (int k = 0; k < threads; k++) {
        int64_t a, b;
        piece(lo, hi, threads, k, &a, &b);
        if (b > a) gate_forward(L, d, t, a, b, 0, H);
      }
    } else {
      gate_forward(L, d, t, lo, hi, 0, H);
    }
  }
  return RC_OK;
}

static rc_status stream_backward(const layer_ctx *L, int d, int64_t r0, int64_t r1, int threads) {
  const rc_rnn_plan *p = L->p;
  int64_t T = p->T, B = p->B, H = p->H, GH = p->G * H, GS = p->GS;
  for (int64_t s = 0; s < T; s++) {
    int64_t t = d == 0 ? T - 1 - s : s;
    int64_t hi = r1 < p->bs[t] ? r1 : p->bs[t], lo = r0;
    /* Rows not running at step t get no gradient there (the weight GEMMs read all rows). */
    for (int64_t i = hi > r0 ? hi : r0; i < r1; i++)
      memset(L->dg[d] + (t * B + i) * GS, 0, sizeof(float) * (size_t)GS);
    if (hi <= lo) continue;
    int64_t prev_t, fresh;
    previous_step(p, d, t, lo, hi, &prev_t, &fresh);
    int parts = threads > 1 && (hi - lo) * GS >= RC_PARALLEL_MIN ? threads : 1;
#pragma omp parallel for schedule(static) num_threads(parts) if (parts > 1)
    for (int k = 0; k < parts; k++) {
      int64_t a, b;
      piece(lo, hi, parts, k, &a, &b);
      if (b > a) gate_backward_split(L, d, t, a, b, 0, H, prev_t, fresh);
    }
    /* d h_{t-1} = dG W_hh (GRU: plus the z * dh its kernel left there). */
    rc_status st = stream_gemm(threads, hi - lo, H, GH, L->dg[d] + (t * B + lo) * GS, GS, 1,
                               L->w_hh[d], H, 1, p->mode == RC_GRU ? 1.0f : 0.0f,
                               L->dh[d] + lo * H, H);
    if (st) return st;
  }
  return RC_OK;
}

typedef rc_status (*stream_fn)(const layer_ctx *L, int d, int64_t r0, int64_t r1, int threads);

static rc_status run_gemm_streams(const layer_ctx *L, stream_fn fn) {
  const rc_rnn_plan *p = L->p;
  int threads = recurrence_threads(p), chunks;
  bool concurrent;
  choose_streams(p, threads, &chunks, &concurrent);
  int n = p->dirs * chunks;
  if (!concurrent) {
    for (int k = 0; k < n; k++) {
      int64_t r0, r1;
      piece(0, p->B, chunks, k % chunks, &r0, &r1);
      rc_status st = fn(L, k / chunks, r0, r1, threads);
      if (st) return st;
    }
    return RC_OK;
  }
  rc_status status[64] = {RC_OK};
  if (n > 64) n = 64, chunks = 64 / p->dirs;
#pragma omp parallel for schedule(static, 1) num_threads(n < threads ? n : threads)
  for (int k = 0; k < n; k++) {
    int64_t r0, r1;
    piece(0, p->B, chunks, k % chunks, &r0, &r1);
    status[k] = fn(L, k / chunks, r0, r1, 1);
  }
  for (int k = 0; k < n; k++)
    if (status[k]) /* the message was left on a worker thread */
      return rc_fail(status[k], "%s: a GEMM of the recurrence failed", p->fn);
  return RC_OK;
}

/* --- the recurrence on packed W_hh (policies 0, 3, 4, 5) ----------------------------------------
   BLIS packs both operands into micro-panels at every call; W_hh is the same for all T steps, so
   each stream packs it once and calls BLIS's own microkernel on the panels (as oneDNN's packed
   GEMM does). Threads work on independent streams (a direction, or part of its batch) where the
   steps are small; on larger steps the threads of a stream split its hidden units: each owns
   the GEMM columns of its units (all gates) and then does their gate math, so one barrier per
   step is the only sync; each packs its units' share of the next GEMM's state operand (h_t
   forward, dG_t backward) into double-buffered panels. */

typedef struct {
  sgemm_ukr_ft ukr;
  cntx_t *cntx;
  int64_t kc;         /* BLIS's k blocking: a weight micro-panel of kc rows stays in L1 */
  bool state_is_a;    /* kernel A = state (the kernel prefers row-stored C), else its transpose */
  int64_t ws, ww;     /* micro-panel widths: state side (rows of C), weight side (columns of C) */
  bool small_tiles;   /* rc_small_tile gives this kernel's bits: it may take the leftover rows */
} ukernel;

static inline void ukr_tile(const ukernel *u, int64_t mi, int64_t nj, int64_t k, const float *s,
                            const float *w, float beta, float *c, int64_t ldc,
                            const float *next_s);

/* Whether rc_small_tile computes exactly what this microkernel computes for m < ws rows. It
   sums each element in order with one FMA per term, as the skx/haswell/zen kernels do; other
   kernels BLIS may run (sandybridge: no FMA; penryn; generic, e.g. on CPUs BLIS does not know)
   round differently, and then a row's bits would depend on its place in the batch and on the
   thread count. So ask the kernel itself, on random panels, at beta 0 and 1. */
static bool small_tiles_agree(const ukernel *u) {
  enum { k = 37, widest = 32 }; /* skx's 32 is the widest panel we know; wider: no small tiles */
  _Alignas(64) float s[widest * k], w[widest * k], c1[widest * widest], c2[widest * widest];
  if (u->ws > widest || u->ww > widest) return false;
  uint32_t seed = 12345u;
  for (int i = 0; i < widest * k; i++) {
    seed = seed * 1664525u + 1013904223u;
    s[i] = (float)(seed >> 8) * (2.0f / 16777216.0f) - 1.0f;
    seed = seed * 1664525u + 1013904223u;
    w[i] = (float)(seed >> 8) * (2.0f / 16777216.0f) - 1.0f;
  }
  for (int64_t m = 1; m < u->ws; m++) {
    if (rc_small_tile_panels(m, u->ww) == 0) continue; /* never asked of it */
    for (int b = 0; b <= 1; b++) {
      for (int64_t i = 0; i < m * u->ww; i++) c1[i] = c2[i] = s[i % (widest * k)];
      ukr_tile(u, m, u->ww, k, s, w, (float)b, c1, u->ww, s);
      rc_small_tile(m, 1, u->ww, k, s, u->ws, w, 0, u->ww, (float)b, c2, u->ww);
      if (memcmp(c1, c2, sizeof(float) * (size_t)(m * u->ww)) != 0) return false;
    }
  }
  return true;
}

static bool ukernel_query(ukernel *u) {
  cntx_t *cntx = bli_gks_query_cntx();
  if (!cntx) return false;
  int64_t mr = bli_cntx_get_blksz_def_dt(BLIS_FLOAT, BLIS_MR, cntx);
  int64_t nr = bli_cntx_get_blksz_def_dt(BLIS_FLOAT, BLIS_NR, cntx);
  int64_t kc = bli_cntx_get_blksz_def_dt(BLIS_FLOAT, BLIS_KC, cntx);
  void_fp f = bli_cntx_get_l3_nat_ukr_dt(BLIS_FLOAT, BLIS_GEMM_UKR, cntx);
  if (!f || mr < 1 || nr < 1 || kc < 1) return false;
  bool rows = bli_cntx_l3_nat_ukr_prefers_rows_dt(BLIS_FLOAT, BLIS_GEMM_UKR, cntx);
  if (threading_policy & 8) rows = !rows; /* the other orientation, for tests */
  u->ukr = (sgemm_ukr_ft)f;
  u->cntx = cntx;
  u->kc = kc;
  u->state_is_a = rows;
  u->ws = rows ? mr : nr;
  u->ww = rows ? nr : mr;
  u->small_tiles = small_tiles_agree(u);
  return true;
}

/* One tile: C (mi x nj, row stride ldc) = beta C + state panel (mi x k) * weight panel (k x nj).
   next_s: the state panel of the next call (the kernel prefetches it). */
static inline void ukr_tile(const ukernel *u, int64_t mi, int64_t nj, int64_t k, const float *s,
                            const float *w, float beta, float *c, int64_t ldc,
                            const float *next_s) {
  float one = 1.0f;
  auxinfo_t aux;
  memset(&aux, 0, sizeof aux);
  if (u->state_is_a) {
    aux.a_next = (void *)next_s, aux.b_next = (void *)w;
    u->ukr(mi, nj, k, &one, (float *)s, (float *)w, &beta, c, ldc, 1, &aux, u->cntx);
  } else { /* C^T = W^T s^T: C stored by columns from the kernel's view */
    aux.a_next = (void *)w, aux.b_next = (void *)next_s;
    u->ukr(nj, mi, k, &one, (float *)w, (float *)s, &beta, c, 1, ldc, &aux, u->cntx);
  }
}

/* Panels hold k rows of `width` values each (row p of a panel = index p of the sum). */
static int64_t panel_floats(int64_t k, int64_t width) { return rounded(k * width); }

/* State panels: columns [p0, p1) of rows [0, n) of src (row stride ld), rows up to a whole
   panel zero; panel i holds rows i*ws ... */
static void pack_state(float *panels, int64_t k, int64_t ws, const float *src, int64_t ld,
                       int64_t n, int64_t p0, int64_t p1) {
  int64_t stride = panel_floats(k, ws);
  for (int64_t i = 0; i * ws < n; i++) {
    float *pn = panels + i * stride;
    for (int64_t r = 0; r < ws; r++) {
      int64_t row = i * ws + r;
      if (row < n) {
        const float *from = src + row * ld;
        for (int64_t q = p0; q < p1; q++) pn[q * ws + r] = from[q];
      } else {
        for (int64_t q = p0; q < p1; q++) pn[q * ws + r] = 0.0f;
      }
    }
  }
}

/* C rows [0, m) = beta C + state panels (k) * weight panels (g, b) for g < G, b in [b0, b1):
   panel (g, b) makes C's columns g*H + b*ww ... (min(ww, H - b*ww) of them). Whole tiles of ws
   rows go to BLIS's microkernel; the rows left over (batch 1, the batch's last rows), for which
   it would compute a whole tile, go to rc_small_tile, several panels at once. */
static void packed_gemm(const ukernel *u, int64_t m, int64_t k, const float *sp, const float *wp,
                        int G, int64_t H, int64_t b0, int64_t b1, int64_t nblk, float beta,
                        float *C, int64_t ldc) {
  int64_t ws = u->ws, ww = u->ww, sstride = panel_floats(k, ws), wstride = panel_floats(k, ww);
  int64_t whole = m / ws, tail = m - whole * ws;
  /* group 0: the microkernel takes the tail too */
  int group = tail > 0 && u->small_tiles ? rc_small_tile_panels(tail, ww) : 0;
  int64_t tiles = group > 0 ? whole : (m + ws - 1) / ws;
  for (int64_t p0 = 0; p0 < k; p0 += u->kc) {
    int64_t kb = k - p0 < u->kc ? k - p0 : u->kc;
    float bt = p0 == 0 ? beta : 1.0f;
    for (int g = 0; g < G; g++) {
      for (int64_t b = b0; b < b1; b++) {
        const float *w = wp + (g * nblk + b) * wstride + p0 * ww;
        int64_t nj = H - b * ww < ww ? H - b * ww : ww;
        float *cc = C + g * H + b * ww;
        for (int64_t i = 0; i < tiles; i++) {
          int64_t mi = m - i * ws < ws ? m - i * ws : ws;
          const float *s = sp + i * sstride + p0 * ws;
          ukr_tile(u, mi, nj, kb, s, w, bt, cc + i * ws * ldc, ldc,
                   (i + 1) * ws < m ? s + sstride : sp + p0 * ws);
        }
      }
      for (int64_t b = b0; group > 0 && b < b1; b += group) {
        int np = b1 - b < group ? (int)(b1 - b) : group;
        int64_t ncols = H - b * ww < np * ww ? H - b * ww : np * ww;
        rc_small_tile(tail, np, ncols, kb, sp + whole * sstride + p0 * ws, ws,
                      wp + (g * nblk + b) * wstride + p0 * ww, wstride, ww, bt,
                      C + whole * ws * ldc + g * H + b * ww, ldc);
      }
    }
  }
}

/* The units a thread owns: whole weight panels, [b0, b1) of nblk. */
typedef struct {
  int64_t b0, b1, u0, u1, nblk;
} unit_share;

static unit_share share_of(int64_t H, int64_t ww, int q, int nt) {
  unit_share s;
  s.nblk = (H + ww - 1) / ww;
  s.b0 = s.nblk * q / nt, s.b1 = s.nblk * (q + 1) / nt;
  s.u0 = s.b0 * ww < H ? s.b0 * ww : H;
  s.u1 = s.b1 * ww < H ? s.b1 * ww : H;
  return s;
}

static void team_barrier(int nt) {
  if (nt > 1) {
#pragma omp barrier
  }
}

/* One packed stream: direction d, batch rows [r0, r1), and unit share q of nt (the threads of a
   stream split the units and meet at a barrier every step; streams never meet). */
typedef struct {
  int d, q, nt;
  int64_t r0, r1;
  float *wp, *sp[2];  /* weight panels, double-buffered state panels */
} packed_stream;

/* Forward: pack this share's W_hh panels, then per step the GEMM into its units' columns and
   their gate math, and pack its units of h_t for the next step. */
static void packed_forward(const layer_ctx *L, const ukernel *u, const packed_stream *ps) {
  const rc_rnn_plan *p = L->p;
  int d = ps->d, nt = ps->nt;
  int64_t T = p->T, B = p->B, H = p->H, OW = p->dirs * H, ww = u->ww, r0 = ps->r0;
  int64_t rows = ps->r1 - r0;
  bool gru = p->mode == RC_GRU;
  unit_share my = share_of(H, ww, ps->q, nt);
  int64_t wstride = panel_floats(H, ww), nu = my.u1 - my.u0;
  /* Panel (g, b): rows g*H + b*ww ... of W_hh, transposed to k = H rows of ww. */
  for (int g = 0; g < p->G; g++)
    for (int64_t b = my.b0; b < my.b1; b++) {
      float *pn = ps->wp + (g * my.nblk + b) * wstride;
      for (int64_t c = 0; c < ww; c++) {
        int64_t unit = b * ww + c;
        const float *row = L->w_hh[d] + (g * H + unit) * H;
        for (int64_t k = 0; k < H; k++) pn[k * ww + c] = unit < H ? row[k] : 0.0f;
      }
    }
  pack_state(ps->sp[0], H, u->ws, L->h[d] + r0 * H, H, rows, my.u0, my.u1);
  team_barrier(nt);
  for (int64_t s = 0; s < T; s++) {
    int64_t t = d == 0 ? s : T - 1 - s;
    int64_t end = p->bs[t] < ps->r1 ? p->bs[t] : ps->r1, m = end > r0 ? end - r0 : 0;
    for (int64_t i = r0 + m; i < ps->r1; i++) /* finished sequences output zeros */
      memset(L->out + (t * B + i) * OW + d * H + my.u0, 0, sizeof(float) * (size_t)nu);
    if (m > 0 && nu > 0) {
      float *C = gru ? L->hw[d] + r0 * 3 * H : L->gates[d] + (t * B + r0) * p->GS;
      int64_t ldc = gru ? 3 * H : p->GS;
      if (s > 0 || p->has_h0) {
        packed_gemm(u, m, H, ps->sp[s % 2], ps->wp, p->G, H, my.b0, my.b1, my.nblk,
                    gru ? 0.0f : 1.0f, C, ldc);
      } else if (gru) { /* h = 0 at the first step: h W_hh^T = 0 */
        for (int64_t i = 0; i < m; i++)
          for (int g = 0; g < 3; g++)
            memset(C + i * ldc + g * H + my.u0, 0, sizeof(float) * (size_t)nu);
      }
      gate_forward(L, d, t, r0, r0 + m, my.u0, my.u1);
    }
    /* All rows: a sequence starting later (reverse) reads its h0 from here. */
    pack_state(ps->sp[(s + 1) % 2], H, u->ws, L->h[d] + r0 * H, H, rows, my.u0, my.u1);
    team_barrier(nt);
  }
}

/* Backward: per step the gate derivatives of this share's units, packed as the state operand,
   then d h_{t-1} (its units' columns) = dG W_hh. */
static void packed_backward(const layer_ctx *L, const ukernel *u, const packed_stream *ps) {
  const rc_rnn_plan *p = L->p;
  int d = ps->d, nt = ps->nt;
  int64_t T = p->T, B = p->B, H = p->H, GH = p->G * H, GS = p->GS, ww = u->ww, r0 = ps->r0;
  unit_share my = share_of(H, ww, ps->q, nt);
  int64_t wstride = panel_floats(GH, ww), nu = my.u1 - my.u0;
  /* Panel b: columns b*ww ... of W_hh, k = G*H rows of ww. */
  for (int64_t b = my.b0; b < my.b1; b++) {
    float *pn = ps->wp + b * wstride;
    for (int64_t k = 0; k < GH; k++)
      for (int64_t c = 0; c < ww; c++) {
        int64_t unit = b * ww + c;
        pn[k * ww + c] = unit < H ? L->w_hh[d][k * H + unit] : 0.0f;
      }
  }
  for (int64_t s = 0; s < T; s++) {
    int64_t t = d == 0 ? T - 1 - s : s;
    int64_t end = p->bs[t] < ps->r1 ? p->bs[t] : ps->r1, m = end > r0 ? end - r0 : 0;
    float *dg = L->dg[d] + t * B * GS;
    /* Rows not running at step t get no gradient there (the weight GEMMs read all rows). */
    for (int64_t i = r0 + m; i < ps->r1; i++)
      for (int64_t k = 0; k < GS / H; k++)
        memset(dg + i * GS + k * H + my.u0, 0, sizeof(float) * (size_t)nu);
    if (m > 0 && nu > 0) {
      int64_t prev_t, fresh;
      previous_step(p, d, t, r0, r0 + m, &prev_t, &fresh);
      gate_backward_split(L, d, t, r0, r0 + m, my.u0, my.u1, prev_t, fresh);
      for (int g = 0; g < p->G; g++)
        pack_state(ps->sp[s % 2], GH, u->ws, dg + r0 * GS, GS, m, g * H + my.u0, g * H + my.u1);
    }
    team_barrier(nt);
    if (m > 0 && nu > 0) /* d h_{t-1} = dG W_hh (GRU: plus the z * dh its kernel left there) */
      packed_gemm(u, m, GH, ps->sp[s % 2], ps->wp, 1, H, my.b0, my.b1, my.nblk,
                  p->mode == RC_GRU ? 1.0f : 0.0f, L->dh[d] + r0 * H, H);
  }
}

/* Per-step GEMMs below this many multiply-adds per thread are too short to pay a barrier each
   step: the threads take halves of the batch instead (each with its own copy of the panels).
   Measured on 2 Zen 3 cores, training, (D,H,T,B) = (128,128,50,50): LSTM 22.1 ms with the
   batch split against 26.1 ms with the units split, GRU 22.9 against 27.2; at (512,512,100,64)
   the two are within noise of each other, and a loaded machine makes every per-step barrier
   cost a scheduler time slice (LSTM-128 then 489 ms split by units, 104 ms by batch). */
static const int64_t unit_split_min_madds = INT64_C(1) << 23;

/* Run the packed recurrence of one layer. Streams: the directions, each cut into batch chunks
   when steps are small (policy 5 always, 3 and 4 never), run concurrently; the threads left
   over per stream split its units (policy 4: the directions one after another, on all
   threads). */
static rc_status run_packed(const layer_ctx *L, const ukernel *u, bool backward) {
  const rc_rnn_plan *p = L->p;
  int threads = recurrence_threads(p), policy = threading_policy & 7;
  bool concurrent = policy != 4 && p->dirs > 1 && threads > 1;
  int per_dir = concurrent ? threads / p->dirs : threads; /* threads per direction */
  if (per_dir < 1) per_dir = 1;
  int64_t nblk = (p->H + u->ww - 1) / u->ww;
  int chunks = 1, tps = per_dir;
  int64_t step_madds = p->B * p->G * p->H * p->H / per_dir;
  bool split_batch = policy == 5 || (policy == 0 && step_madds < unit_split_min_madds);
  if (per_dir > 1 && split_batch && p->B >= 2 * u->ws) {
    chunks = per_dir;
    while (chunks > 1 && p->B / chunks < u->ws) chunks--;
    tps = 1;
  }
  if (tps > nblk) tps = (int)nblk;
  int64_t k = backward ? p->G * p->H : p->H;
  int64_t wfloats = backward ? nblk * panel_floats(k, u->ww)
                             : p->G * nblk * panel_floats(k, u->ww);
  int64_t sfloats = (p->B + u->ws - 1) / u->ws * panel_floats(k, u->ws);
  int nstreams = p->dirs * chunks, per_pass = concurrent ? nstreams : chunks;
  block ws;
  rc_status st = block_get(&ws, p->fn, nstreams * (wfloats + 2 * sfloats));
  if (st) return st;
  packed_stream streams[64];
  if (nstreams > 64) nstreams = 64; /* more than 64 threads: never on the machines we know */
  for (int k2 = 0; k2 < nstreams; k2++) {
    packed_stream *s = &streams[k2];
    s->d = k2 / chunks;
    piece(0, p->B, chunks, k2 % chunks, &s->r0, &s->r1);
    s->wp = ws.data + k2 * (wfloats + 2 * sfloats);
    s->sp[0] = s->wp + wfloats, s->sp[1] = s->sp[0] + sfloats;
  }
  int team = per_pass * tps;
  for (int first = 0; first < nstreams; first += per_pass) {
#pragma omp parallel num_threads(team) if (team > 1)
    {
      int id = omp_get_thread_num(), got = omp_get_num_threads();
      if (got == team || id == 0) {
        /* With fewer threads than asked for, thread 0 runs every stream alone. */
        int lo = got == team ? id / tps : 0, hi = got == team ? lo + 1 : per_pass;
        for (int k2 = lo; k2 < hi; k2++) {
          packed_stream s = streams[first + k2];
          s.q = got == team ? id % tps : 0;
          s.nt = got == team ? tps : 1;
          if (backward)
            packed_backward(L, u, &s);
          else
            packed_forward(L, u, &s);
        }
      }
    }
  }
  block_put(&ws);
  return RC_OK;
}

/* The recurrence of one layer, forward or backward, by the chosen path. */
rc_status rc_rnn_run_recurrence(const layer_ctx *L, bool backward) {
  ukernel u;
  bool packed = (threading_policy & 7) != 1 && (threading_policy & 7) != 2;
  if (packed && ukernel_query(&u)) return run_packed(L, &u, backward);
  return run_gemm_streams(L, backward ? stream_backward : stream_forward);
}
