/* core/runtime.h — start-up, threads, clocks and the build/CPU facts recur reports.
   rc_init picks BLIS's kernels from the CPU's features before BLIS initialises. */
#ifndef RC_RUNTIME_H
#define RC_RUNTIME_H

#include "error.h"

/* Idempotent; every entry point that needs BLIS calls it. Honors BLIS_ARCH_TYPE if set. */
rc_status rc_init(void);

/* One knob for BLIS and the engine's OpenMP loops. n >= 1. */
rc_status rc_set_threads(int n);
int rc_threads(void);
int rc_max_threads(void);       /* cores available to this process */

/* Monotonic wall-clock seconds (os.clock is CPU time: wrong for threaded work). */
double rc_now(void);

typedef struct {
  const char *version;          /* recur's */
  const char *blis_version;
  const char *blis_arch;        /* the sub-configuration in use: "skx", "zen3", ... */
  const char *arch_source;      /* "cpu features" | "BLIS_ARCH_TYPE" | "BLIS default" */
  const char *simd;             /* best SIMD level of this CPU: "avx512", "avx2", "sse2" */
  int threads;
  int cpu_family, cpu_model;
} rc_config_info;

rc_status rc_config(rc_config_info *info);

#define RC_VERSION "0.1.0"

#endif
