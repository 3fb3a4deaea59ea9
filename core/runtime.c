/* core/runtime.c — BLIS sub-configuration choice, the thread knob, the clock, config facts.
   Debian's BLIS 0.9 runs slow `generic` kernels on CPUs it does not know (Zen 5), so we choose. */
#include <cpuid.h>
#include <omp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <blis.h>
#include "runtime.h"

static atomic_bool initialised; /* read by rc_set_threads on any thread */
static int thread_count = 1;
static bool threads_chosen; /* rc_set_threads before rc_init: keep the caller's choice */
static const char *arch_source = "BLIS default";

typedef struct {
  bool avx2, fma, avx512;
  int family, model;
} cpu_facts;

/* The OS must save the wide registers too (XCR0), not just the CPU have them. */
static unsigned long long xgetbv0(void) {
  unsigned int eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return ((unsigned long long)edx << 32) | eax;
}

static cpu_facts read_cpu(void) {
  cpu_facts c = {0};
  unsigned int a, b, cx, d;
  if (!__get_cpuid(1, &a, &b, &cx, &d)) return c;
  int base_family = (a >> 8) & 0xf, ext_family = (a >> 20) & 0xff;
  c.family = base_family == 0xf ? base_family + ext_family : base_family;
  c.model = ((a >> 4) & 0xf) | (base_family >= 0x6 ? ((a >> 12) & 0xf0) : 0);
  bool osxsave = cx & bit_OSXSAVE, has_fma = cx & bit_FMA;
  unsigned long long xcr0 = osxsave ? xgetbv0() : 0;
  bool ymm_saved = (xcr0 & 0x6) == 0x6, zmm_saved = (xcr0 & 0xe6) == 0xe6;
  if (!__get_cpuid_count(7, 0, &a, &b, &cx, &d)) return c;
  c.fma = has_fma && ymm_saved;
  c.avx2 = (b & bit_AVX2) && ymm_saved;
  c.avx512 = (b & bit_AVX512F) && (b & bit_AVX512DQ) && (b & bit_AVX512BW) &&
             (b & bit_AVX512VL) && zmm_saved;
  return c;
}

/* The sub-configuration to ask BLIS for, or -1 to keep its own choice.
   AVX-512 -> skx (Zen 4/5 and Intel server parts). Without AVX-512 BLIS already knows every
   AVX2 CPU we have met (zen/zen2/zen3/haswell) and picks better than we would. */
static int preferred_arch(const cpu_facts *c) {
  if (c->avx512) return BLIS_ARCH_SKX;
  return -1;
}

/* Whether BLIS_ARCH_TYPE=id names a sub-configuration Debian's x86-64 BLIS has; any other id
   (knc, the ARM and POWER ones) makes bli_init() abort the process. */
static bool x86_config(long id) {
  static const long ids[] = {BLIS_ARCH_SKX,       BLIS_ARCH_KNL,       BLIS_ARCH_HASWELL,
                             BLIS_ARCH_SANDYBRIDGE, BLIS_ARCH_PENRYN,  BLIS_ARCH_ZEN3,
                             BLIS_ARCH_ZEN2,      BLIS_ARCH_ZEN,       BLIS_ARCH_EXCAVATOR,
                             BLIS_ARCH_STEAMROLLER, BLIS_ARCH_PILEDRIVER, BLIS_ARCH_BULLDOZER,
                             BLIS_ARCH_GENERIC};
  for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
    if (ids[i] == id) return true;
  return false;
}

/* rc_init's body runs under a lock (hosts may start engines from several threads) until it
   succeeds once; a refused BLIS_ARCH_TYPE can be fixed and rc_init called again. */
static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;

static rc_status init_body(void) {
  const char *user_arch = getenv("BLIS_ARCH_TYPE");
  cpu_facts cpu = read_cpu();
  if (user_arch && *user_arch) {
    /* BLIS would run skx kernels on a CPU without AVX-512 and die of SIGILL, and abort on an
       id it was not built with: refuse instead. */
    char *end;
    long id = strtol(user_arch, &end, 10);
    if (*end || !x86_config(id))
      return rc_fail(RC_ERR_ARG,
                     "init: BLIS_ARCH_TYPE=%s is not a BLIS arch id of this build (0 = skx, 3 = "
                     "haswell, 4 = sandybridge, 6 = zen3, 7 = zen2, 8 = zen, %d = generic ...)",
                     user_arch, (int)BLIS_ARCH_GENERIC);
    if ((id == BLIS_ARCH_SKX || id == BLIS_ARCH_KNL) && !cpu.avx512)
      return rc_fail(RC_ERR_ARG,
                     "init: BLIS_ARCH_TYPE=%s asks for AVX-512 kernels but this CPU has no "
                     "AVX-512; unset it to let recur choose", user_arch);
    arch_source = "BLIS_ARCH_TYPE";
  } else {
    if (user_arch) unsetenv("BLIS_ARCH_TYPE");  /* BLIS reads "" as 0 = skx */
    int arch = preferred_arch(&cpu);
    if (arch >= 0) {
      char id[16];
      snprintf(id, sizeof id, "%d", arch);
      setenv("BLIS_ARCH_TYPE", id, 1);  /* read by bli_init(); the only hook BLIS 0.9 has */
      arch_source = "cpu features";
    }
  }
  bli_init();
  initialised = true;
  return rc_set_threads(threads_chosen ? thread_count : rc_max_threads());
}

rc_status rc_init(void) {
  if (initialised) return RC_OK;
  pthread_mutex_lock(&init_lock);
  rc_status st = initialised ? RC_OK : init_body();
  pthread_mutex_unlock(&init_lock);
  return st;
}

int rc_max_threads(void) { return omp_get_num_procs(); }

rc_status rc_set_threads(int n) {
  if (n < 1) return rc_fail(RC_ERR_ARG, "threads: need at least 1 thread, got %d", n);
  thread_count = n;
  threads_chosen = threads_chosen || !initialised;
  omp_set_num_threads(n);
  if (initialised) bli_thread_set_num_threads(n);
  return RC_OK;
}

int rc_threads(void) { return thread_count; }

double rc_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

rc_status rc_config(rc_config_info *info) {
  rc_status st = rc_init();
  if (st) return st;
  cpu_facts cpu = read_cpu();
  info->version = RC_VERSION;
  info->blis_version = bli_info_get_version_str();
  info->blis_arch = bli_arch_string(bli_arch_query_id());
  info->arch_source = arch_source;
  info->simd = cpu.avx512 ? "avx512" : cpu.avx2 ? "avx2" : "sse2";
  info->threads = thread_count;
  info->cpu_family = cpu.family;
  info->cpu_model = cpu.model;
  return RC_OK;
}
