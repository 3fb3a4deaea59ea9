/* scripts/bench/onednn_rnn.c — times oneDNN 2.6's own RNN/LSTM/GRU primitives at issue 6's rows,
   the reference for recur. Run: build/onednn_rnn [--threads 2 --repeats 7 --only lstm] */
#define _POSIX_C_SOURCE 200809L
#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "timing.h"

/* Build by hand (the CMake target does the same):
     gcc -O2 -std=c11 -fopenmp onednn_rnn.c -o onednn_rnn -ldnnl -lm
   Prints the common row format of scripts/bench on stdout:
     row onednn <cell> <D>,<H>,<T>,<B> <train_ms or -> <infer_ms or ->
     meta onednn <version, CPU runtime, ISA, threads>
   and a human-readable table (with GFLOP/s and the implementation oneDNN picked) on stderr.
   train = forward_training (fills the workspace) + backward (diff_src_layer, diff_weights_layer,
   diff_weights_iter, diff_bias for an all-ones diff_dst_layer), timed together; infer =
   forward_inference. One warm-up call, then the median of --repeats calls. */

/* Every oneDNN call is checked: a failure names the call and the status, then exits, since a
   benchmark that half-ran would print misleading rows. */
#define CHECK(call)                                                                          \
  do {                                                                                       \
    dnnl_status_t st_ = (call);                                                              \
    if (st_ != dnnl_success) {                                                               \
      fprintf(stderr, "onednn_rnn: %s failed: %s (%d)\n", #call, dnnl_status2str(st_), (int)st_); \
      exit(1);                                                                               \
    }                                                                                        \
  } while (0)

enum { CELL_RNN, CELL_LSTM, CELL_GRU };

typedef struct {
  const char *name; /* as in the common row format */
  int kind;
  int gates;        /* G of the weights (and of the flop count) */
  int bias_gates;   /* lbr_gru carries a 4th bias row, b_hn, kept inside r * (W_hn h + b_hn) */
} cell_info;

static const cell_info cells[3] = {
    {"rnn_tanh", CELL_RNN, 1, 1}, {"lstm", CELL_LSTM, 4, 4}, {"gru", CELL_GRU, 3, 4}};

/* (D, H, T, B) of BENCH.md; the last row is inference only (a long sequence at batch 1). */
static const int64_t shapes[4][4] = {
    {512, 512, 100, 64}, {128, 128, 50, 50}, {1024, 1024, 35, 64}, {512, 512, 1000, 1}};
static const int infer_only[4] = {0, 0, 0, 1};

/* The floats of a plain f32 memory object, and how many. */
static float *floats_of(dnnl_memory_t m, size_t *n) {
  const dnnl_memory_desc_t *md;
  void *p;
  CHECK(dnnl_memory_get_memory_desc(m, &md));
  CHECK(dnnl_memory_get_data_handle(m, &p));
  *n = dnnl_memory_desc_get_size(md) / sizeof(float);
  return p;
}

/* Fixed inputs for every run and host: a small LCG into [-scale, scale], seeded per tensor. */
static void fill_random(dnnl_memory_t m, uint32_t seed, float scale) {
  size_t n;
  float *f = floats_of(m, &n);
  uint32_t s = seed * 2654435761u + 1u;
  for (size_t i = 0; i < n; i++) {
    s = s * 1664525u + 1013904223u;
    f[i] = scale * (float)((s >> 8) * (2.0 / 16777216.0) - 1.0);
  }
}

static void fill_value(dnnl_memory_t m, float v) {
  size_t n;
  float *f = floats_of(m, &n);
  for (size_t i = 0; i < n; i++) f[i] = v;
}

static void zero_memory(dnnl_memory_t m) {
  size_t n;
  float *f = floats_of(m, &n);
  memset(f, 0, n * sizeof(float));
}
static dnnl_memory_desc_t plain_md(int ndims, const int64_t *dims, dnnl_format_tag_t tag) {
  /* The API takes a full dnnl_dims_t (DNNL_MAX_NDIMS entries); passing a shorter array makes
     GCC warn about an over-read at -O3, though oneDNN reads only ndims of them. */
  dnnl_dims_t full = {0};
  for (int i = 0; i < ndims; i++) full[i] = dims[i];
  dnnl_memory_desc_t md;
  CHECK(dnnl_memory_desc_init_by_tag(&md, ndims, full, dnnl_f32, tag));
  return md;
}

/* oneDNN allocates the buffer, so it is aligned as its kernels like. */
static dnnl_memory_t new_memory(const dnnl_memory_desc_t *md, dnnl_engine_t eng) {
  dnnl_memory_t m;
  CHECK(dnnl_memory_create(&m, md, eng, DNNL_MEMORY_ALLOCATE));
  return m;
}

/* The memory a primitive wants for one of its arguments (its own layout when we passed any), or
   NULL when it wants none (e.g. no workspace for inference). */
static dnnl_memory_t memory_for(const_dnnl_primitive_desc_t pd, int arg, dnnl_engine_t eng) {
  const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md, arg);
  if (md == NULL || dnnl_memory_desc_get_size(md) == 0) return NULL;
  return new_memory(md, eng);
}

/* Copies user weights (ldigo) into the layout a primitive chose; done once, outside the timing, as
   a user who keeps the weights in oneDNN's layout between calls would. */
static void reorder(dnnl_memory_t from, dnnl_memory_t to, dnnl_engine_t eng, dnnl_stream_t s) {
  const dnnl_memory_desc_t *fmd, *tmd;
  CHECK(dnnl_memory_get_memory_desc(from, &fmd));
  CHECK(dnnl_memory_get_memory_desc(to, &tmd));
  dnnl_primitive_desc_t pd;
  dnnl_primitive_t p;
  CHECK(dnnl_reorder_primitive_desc_create(&pd, fmd, eng, tmd, eng, NULL));
  CHECK(dnnl_primitive_create(&p, pd));
  dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
  CHECK(dnnl_primitive_execute(p, s, 2, args));
  CHECK(dnnl_stream_wait(s));
  CHECK(dnnl_primitive_destroy(p));
  CHECK(dnnl_primitive_desc_destroy(pd));
}

/* Plain (user) descriptors of one case; weights_any / diff_weights_any let the primitive choose. */
typedef struct {
  dnnl_memory_desc_t src, dst, bias, wl_any, wi_any, wl_user, wi_user;
} case_mds;

static case_mds make_mds(const cell_info *c, int64_t D, int64_t H, int64_t T, int64_t B) {
  case_mds m;
  int64_t src[3] = {T, B, D}, dst[3] = {T, B, H};
  int64_t wl[5] = {1, 1, D, c->gates, H}, wi[5] = {1, 1, H, c->gates, H};
  int64_t bias[4] = {1, 1, c->bias_gates, H};
  m.src = plain_md(3, src, dnnl_tnc);
  m.dst = plain_md(3, dst, dnnl_tnc);
  m.bias = plain_md(4, bias, dnnl_ldgo);
  m.wl_any = plain_md(5, wl, dnnl_format_tag_any);
  m.wi_any = plain_md(5, wi, dnnl_format_tag_any);
  m.wl_user = plain_md(5, wl, dnnl_ldigo);
  m.wi_user = plain_md(5, wi, dnnl_ldigo);
  return m;
}

/* Forward descriptor. src_iter / dst_iter are NULL: a zero initial state, as with h0 = None in
   PyTorch; for one unidirectional layer h_n is the last time step of dst_layer anyway. */
static dnnl_rnn_desc_t forward_desc(const cell_info *c, dnnl_prop_kind_t pk, const case_mds *m) {
  dnnl_rnn_desc_t d;
  const dnnl_rnn_direction_t dir = dnnl_unidirectional_left2right;
  switch (c->kind) {
  case CELL_RNN:
    CHECK(dnnl_vanilla_rnn_forward_desc_init(&d, pk, dnnl_eltwise_tanh, dir, &m->src, NULL,
                                             &m->wl_any, &m->wi_any, &m->bias, &m->dst, NULL, 0,
                                             0.0f, 0.0f));
    break;
  case CELL_LSTM:
    CHECK(dnnl_lstm_forward_desc_init(&d, pk, dir, &m->src, NULL, NULL, &m->wl_any, &m->wi_any,
                                      &m->bias, &m->dst, NULL, NULL, 0));
    break;
  default:
    CHECK(dnnl_lbr_gru_forward_desc_init(&d, pk, dir, &m->src, NULL, &m->wl_any, &m->wi_any,
                                         &m->bias, &m->dst, NULL, 0));
    break;
  }
  return d;
}

/* Backward descriptor: the gradients have the same shapes as the forward tensors; diff weights in
   any layout too (oneDNN accumulates into them, see run_train). No iteration-state gradients:
   the loss is the sum of the outputs only. */
static dnnl_rnn_desc_t backward_desc(const cell_info *c, const case_mds *m) {
  dnnl_rnn_desc_t d;
  const dnnl_rnn_direction_t dir = dnnl_unidirectional_left2right;
  switch (c->kind) {
  case CELL_RNN:
    CHECK(dnnl_vanilla_rnn_backward_desc_init(
        &d, dnnl_backward, dnnl_eltwise_tanh, dir, &m->src, NULL, &m->wl_any, &m->wi_any, &m->bias,
        &m->dst, NULL, &m->src, NULL, &m->wl_any, &m->wi_any, &m->bias, &m->dst, NULL, 0, 0.0f,
        0.0f));
    break;
  case CELL_LSTM:
    CHECK(dnnl_lstm_backward_desc_init(&d, dnnl_backward, dir, &m->src, NULL, NULL, &m->wl_any,
                                       &m->wi_any, &m->bias, &m->dst, NULL, NULL, &m->src, NULL,
                                       NULL, &m->wl_any, &m->wi_any, &m->bias, &m->dst, NULL, NULL,
                                       0));
    break;
  default:
    CHECK(dnnl_lbr_gru_backward_desc_init(&d, dnnl_backward, dir, &m->src, NULL, &m->wl_any,
                                          &m->wi_any, &m->bias, &m->dst, NULL, &m->src, NULL,
                                          &m->wl_any, &m->wi_any, &m->bias, &m->dst, NULL, 0));
    break;
  }
  return d;
}

static const char *impl_name(const_dnnl_primitive_desc_t pd) {
  const char *s = NULL;
  CHECK(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &s));
  return s ? s : "?";
}

static const char *layout_name(dnnl_memory_t m) {
  const dnnl_memory_desc_t *md;
  CHECK(dnnl_memory_get_memory_desc(m, &md));
  return dnnl_fmt_kind2str(md->format_kind);
}

/* Timed calls of one primitive set; the stream is synchronous on CPU but we still wait, so the
   timing covers the whole call whatever the runtime. */
#define MAX_ARGS 12

typedef struct {
  dnnl_primitive_t prim;
  int nargs;
  dnnl_exec_arg_t args[MAX_ARGS];
} exec_t;

static void run(const exec_t *e, dnnl_stream_t s) {
  CHECK(dnnl_primitive_execute(e->prim, s, e->nargs, e->args));
}

static void destroy_memories(dnnl_memory_t *m, int n) {
  for (int i = 0; i < n; i++) CHECK(dnnl_memory_destroy(m[i]));
}

/* Median ms of forward_training + backward. oneDNN 2.6 accumulates into diff_weights_* and
   diff_bias (it has no overwrite flag yet), so each call zeroes them first, as a training step
   must; the memset is timed as part of the step (a few MB, about 1 % of the call). */
static double run_train(const cell_info *c, const case_mds *m, dnnl_memory_t src,
                        dnnl_memory_t bias, dnnl_memory_t wl_user, dnnl_memory_t wi_user,
                        dnnl_engine_t eng, dnnl_stream_t s, int repeats, char *info,
                        size_t info_len) {
  dnnl_rnn_desc_t fd = forward_desc(c, dnnl_forward_training, m), bd = backward_desc(c, m);
  dnnl_primitive_desc_t fpd, bpd;
  CHECK(dnnl_primitive_desc_create(&fpd, &fd, NULL, eng, NULL));
  CHECK(dnnl_primitive_desc_create(&bpd, &bd, NULL, eng, fpd));

  /* Forward and backward may want the weights in different layouts: one copy each. */
  dnnl_memory_t fwl = memory_for(fpd, DNNL_ARG_WEIGHTS_LAYER, eng);
  dnnl_memory_t fwi = memory_for(fpd, DNNL_ARG_WEIGHTS_ITER, eng);
  dnnl_memory_t bwl = memory_for(bpd, DNNL_ARG_WEIGHTS_LAYER, eng);
  dnnl_memory_t bwi = memory_for(bpd, DNNL_ARG_WEIGHTS_ITER, eng);
  reorder(wl_user, fwl, eng, s), reorder(wi_user, fwi, eng, s);
  reorder(wl_user, bwl, eng, s), reorder(wi_user, bwi, eng, s);
  dnnl_memory_t dst = new_memory(&m->dst, eng);
  dnnl_memory_t ws = memory_for(fpd, DNNL_ARG_WORKSPACE, eng);
  if (ws == NULL) {
    fprintf(stderr, "onednn_rnn: %s: forward_training wants no workspace\n", c->name);
    exit(1);
  }
  dnnl_memory_t ddst = new_memory(&m->dst, eng), dsrc = new_memory(&m->src, eng);
  dnnl_memory_t dwl = memory_for(bpd, DNNL_ARG_DIFF_WEIGHTS_LAYER, eng);
  dnnl_memory_t dwi = memory_for(bpd, DNNL_ARG_DIFF_WEIGHTS_ITER, eng);
  dnnl_memory_t db = memory_for(bpd, DNNL_ARG_DIFF_BIAS, eng);
  fill_value(ddst, 1.0f); /* d(sum of outputs)/d(output) */

  exec_t f = {.nargs = 6}, b = {.nargs = 11};
  CHECK(dnnl_primitive_create(&f.prim, fpd));
  CHECK(dnnl_primitive_create(&b.prim, bpd));
  dnnl_exec_arg_t fa[6] = {{DNNL_ARG_SRC_LAYER, src}, {DNNL_ARG_WEIGHTS_LAYER, fwl},
                           {DNNL_ARG_WEIGHTS_ITER, fwi}, {DNNL_ARG_BIAS, bias},
                           {DNNL_ARG_DST_LAYER, dst},    {DNNL_ARG_WORKSPACE, ws}};
  dnnl_exec_arg_t ba[11] = {{DNNL_ARG_SRC_LAYER, src},          {DNNL_ARG_WEIGHTS_LAYER, bwl},
                            {DNNL_ARG_WEIGHTS_ITER, bwi},       {DNNL_ARG_BIAS, bias},
                            {DNNL_ARG_DST_LAYER, dst},          {DNNL_ARG_WORKSPACE, ws},
                            {DNNL_ARG_DIFF_DST_LAYER, ddst},    {DNNL_ARG_DIFF_SRC_LAYER, dsrc},
                            {DNNL_ARG_DIFF_WEIGHTS_LAYER, dwl}, {DNNL_ARG_DIFF_WEIGHTS_ITER, dwi},
                            {DNNL_ARG_DIFF_BIAS, db}};
  memcpy(f.args, fa, sizeof fa);
  memcpy(b.args, ba, sizeof ba);

  snprintf(info, info_len, "fwd %s (weights layer/iter %s/%s), bwd %s (%s/%s)", impl_name(fpd),
           layout_name(fwl), layout_name(fwi), impl_name(bpd), layout_name(bwl), layout_name(bwi));
  double t[1000];
  for (int r = -1; r < repeats; r++) { /* r = -1: the warm-up */
    double t0 = bench_now();
    zero_memory(dwl), zero_memory(dwi), zero_memory(db);
    run(&f, s);
    run(&b, s);
    CHECK(dnnl_stream_wait(s));
    if (r >= 0) t[r] = (bench_now() - t0) * 1e3;
  }

  /* src and bias belong to the caller (shared with the inference run). */
  dnnl_memory_t own[11] = {fwl, fwi, bwl, bwi, dst, ws, ddst, dsrc, dwl, dwi, db};
  destroy_memories(own, 11);
  CHECK(dnnl_primitive_destroy(b.prim));
  CHECK(dnnl_primitive_destroy(f.prim));
  CHECK(dnnl_primitive_desc_destroy(bpd));
  CHECK(dnnl_primitive_desc_destroy(fpd));
  return bench_median(t, repeats);
}

/* Median ms of forward_inference (no workspace; weights in the inference primitive's layout,
   which may be oneDNN's packed-GEMM format). */
static double run_infer(const cell_info *c, const case_mds *m, dnnl_memory_t src,
                        dnnl_memory_t bias, dnnl_memory_t wl_user, dnnl_memory_t wi_user,
                        dnnl_engine_t eng, dnnl_stream_t s, int repeats, char *info,
                        size_t info_len) {
  dnnl_rnn_desc_t d = forward_desc(c, dnnl_forward_inference, m);
  dnnl_primitive_desc_t pd;
  CHECK(dnnl_primitive_desc_create(&pd, &d, NULL, eng, NULL));
  dnnl_memory_t wl = memory_for(pd, DNNL_ARG_WEIGHTS_LAYER, eng);
  dnnl_memory_t wi = memory_for(pd, DNNL_ARG_WEIGHTS_ITER, eng);
  reorder(wl_user, wl, eng, s), reorder(wi_user, wi, eng, s);
  dnnl_memory_t dst = new_memory(&m->dst, eng);
  exec_t e = {.nargs = 5};
  CHECK(dnnl_primitive_create(&e.prim, pd));
  dnnl_exec_arg_t a[5] = {{DNNL_ARG_SRC_LAYER, src}, {DNNL_ARG_WEIGHTS_LAYER, wl},
                          {DNNL_ARG_WEIGHTS_ITER, wi}, {DNNL_ARG_BIAS, bias},
                          {DNNL_ARG_DST_LAYER, dst}};
  memcpy(e.args, a, sizeof a);
  snprintf(info, info_len, "infer %s (weights layer/iter %s/%s)", impl_name(pd), layout_name(wl),
           layout_name(wi));
  double t[1000];
  for (int r = -1; r < repeats; r++) {
    double t0 = bench_now();
    run(&e, s);
    CHECK(dnnl_stream_wait(s));
    if (r >= 0) t[r] = (bench_now() - t0) * 1e3;
  }
  dnnl_memory_t own[3] = {wl, wi, dst};
  destroy_memories(own, 3);
  CHECK(dnnl_primitive_destroy(e.prim));
  CHECK(dnnl_primitive_desc_destroy(pd));
  return bench_median(t, repeats);
}

static void usage(FILE *f, const char *prog) {
  fprintf(f,
          "usage: %s [--threads N] [--repeats N] [--only CELL] [--help]\n"
          "  oneDNN's own RNN primitives (f32, one layer, unidirectional, tnc activations,\n"
          "  weights in the layout oneDNN picks) at issue 6's shapes (D,H,T,B):\n"
          "  (512,512,100,64) (128,128,50,50) (1024,1024,35,64) train and infer,\n"
          "  (512,512,1000,1) infer only.\n"
          "  --threads N   OpenMP threads for oneDNN (default 2)\n"
          "  --repeats N   timed calls per measurement after one warm-up, median kept (default 7)\n"
          "  --only CELL   rnn_tanh | lstm | gru (default all three)\n"
          "stdout: 'row onednn <cell> <D>,<H>,<T>,<B> <train_ms|-> <infer_ms|->' and a 'meta'\n"
          "line; "
          "stderr: a table with GFLOP/s (forward 2*T*B*G*H*(D+H), train = 3x forward).\n",
          prog);
}

static int parse_int(const char *s, int lo, int hi, int *out) {
  char *end;
  long v = strtol(s, &end, 10);
  if (end == s || *end != '\0' || v < lo || v > hi) return 0;
  *out = (int)v;
  return 1;
}

int main(int argc, char **argv) {
  int threads = 2, repeats = 7;
  const char *only = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      usage(stdout, argv[0]);
      return 0;
    }
    if (i + 1 >= argc) {
      fprintf(stderr, "%s: unknown option or missing value: %s\n", argv[0], a);
      usage(stderr, argv[0]);
      return 2;
    }
    const char *v = argv[++i];
    if (strcmp(a, "--threads") == 0) {
      if (!parse_int(v, 1, 1024, &threads)) {
        fprintf(stderr, "%s: --threads expects an integer in 1..1024, got '%s'\n", argv[0], v);
        return 2;
      }
    } else if (strcmp(a, "--repeats") == 0) {
      if (!parse_int(v, 1, 1000, &repeats)) {
        fprintf(stderr, "%s: --repeats expects an integer in 1..1000, got '%s'\n", argv[0], v);
        return 2;
      }
    } else if (strcmp(a, "--only") == 0) {
      if (strcmp(v, "rnn_tanh") && strcmp(v, "lstm") && strcmp(v, "gru")) {
        fprintf(stderr, "%s: --only expects rnn_tanh, lstm or gru, got '%s'\n", argv[0], v);
        return 2;
      }
      only = v;
    } else {
      fprintf(stderr, "%s: unknown option: %s\n", argv[0], a);
      usage(stderr, argv[0]);
      return 2;
    }
  }

  /* Debian's oneDNN runs on OpenMP (libgomp), the same runtime as this program, so this sets
     the threads of every primitive. */
  omp_set_num_threads(threads);
  const dnnl_version_t *ver = dnnl_version();
  printf("meta onednn oneDNN %d.%d.%d (hash %s, CPU runtime %s), ISA %s, threads %d\n", ver->major,
         ver->minor, ver->patch, ver->hash ? ver->hash : "?", dnnl_runtime2str(ver->cpu_runtime),
         dnnl_cpu_isa2str(dnnl_get_effective_cpu_isa()), omp_get_max_threads());
  fflush(stdout);

  dnnl_engine_t eng;
  dnnl_stream_t s;
  CHECK(dnnl_engine_create(&eng, dnnl_cpu, 0));
  CHECK(dnnl_stream_create(&s, eng, dnnl_stream_default_flags));

  fprintf(stderr, "# oneDNN RNN, %d threads, median of %d after 1 warm-up\n", threads, repeats);
  fprintf(stderr, "# %-8s %15s | %9s %7s | %9s %7s\n", "cell", "D,H,T,B", "train ms", "GFLOP/s",
          "infer ms", "GFLOP/s");
  for (int ci = 0; ci < 3; ci++) {
    const cell_info *c = &cells[ci];
    if (only && strcmp(only, c->name) != 0) continue;
    for (int si = 0; si < 4; si++) {
      int64_t D = shapes[si][0], H = shapes[si][1], T = shapes[si][2], B = shapes[si][3];
      case_mds m = make_mds(c, D, H, T, B);
      /* Inputs shared by train and infer: the same data in both. */
      dnnl_memory_t src = new_memory(&m.src, eng), bias = new_memory(&m.bias, eng);
      dnnl_memory_t wl_user = new_memory(&m.wl_user, eng), wi_user = new_memory(&m.wi_user, eng);
      /* PyTorch's default init, U(-1/sqrt(H), 1/sqrt(H)), as recur's own benchmark uses: it keeps
         W_hh's spectral radius below 1, so 100-step gradients stay finite and ordinary. */
      float k = 1.0f / sqrtf((float)H);
      fill_random(src, 1, 1.0f), fill_random(bias, 2, k);
      fill_random(wl_user, 3, k), fill_random(wi_user, 4, k);

      char train_info[256] = "", infer_info[256] = "";
      double train_ms = -1;
      if (!infer_only[si])
        train_ms = run_train(c, &m, src, bias, wl_user, wi_user, eng, s, repeats, train_info,
                             sizeof train_info);
      double infer_ms = run_infer(c, &m, src, bias, wl_user, wi_user, eng, s, repeats, infer_info,
                                  sizeof infer_info);

      char shape[64], train_s[32] = "-", infer_s[32];
      snprintf(shape, sizeof shape, "%lld,%lld,%lld,%lld", (long long)D, (long long)H,
               (long long)T, (long long)B);
      if (train_ms >= 0) snprintf(train_s, sizeof train_s, "%.3f", train_ms);
      snprintf(infer_s, sizeof infer_s, "%.3f", infer_ms);
      printf("row onednn %s %s %s %s\n", c->name, shape, train_s, infer_s);
      fflush(stdout);

      double fwd = 2.0 * (double)T * (double)B * c->gates * (double)H * (double)(D + H);
      if (train_ms >= 0)
        fprintf(stderr, "  %-8s %15s | %9.2f %7.1f | %9.2f %7.1f\n", c->name, shape, train_ms,
                3 * fwd / (train_ms * 1e-3) * 1e-9, infer_ms, fwd / (infer_ms * 1e-3) * 1e-9);
      else
        fprintf(stderr, "  %-8s %15s | %9s %7s | %9.2f %7.1f\n", c->name, shape, "-", "-",
                infer_ms, fwd / (infer_ms * 1e-3) * 1e-9);
      if (train_info[0]) fprintf(stderr, "      %s\n", train_info);
      fprintf(stderr, "      %s\n", infer_info);

      CHECK(dnnl_memory_destroy(src));
      CHECK(dnnl_memory_destroy(bias));
      CHECK(dnnl_memory_destroy(wl_user));
      CHECK(dnnl_memory_destroy(wi_user));
    }
  }
  CHECK(dnnl_stream_destroy(s));
  CHECK(dnnl_engine_destroy(eng));
  return 0;
}
