/* tests/core/check.h — the tiny harness of the C tests: CHECK macros that count failures
   and say where, and helpers to build tensors from literals. No framework, no Lua. */
#ifndef RC_CHECK_H
#define RC_CHECK_H

#include <math.h>
#include <stdio.h>
#include <string.h>
#include "recur.h"

static int check_failures, check_count;

#define CHECK(cond)                                                            \
  do {                                                                         \
    check_count++;                                                             \
    if (!(cond)) {                                                             \
      check_failures++;                                                        \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                          \
  } while (0)

/* A call that must succeed; on failure print the core's message. */
#define CHECK_OK(call)                                                                   \
  do {                                                                                   \
    check_count++;                                                                       \
    rc_status st_ = (call);                                                              \
    if (st_ != RC_OK) {                                                                  \
      check_failures++;                                                                  \
      fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__, #call, rc_last_error()); \
    }                                                                                    \
  } while (0)

/* A call that must fail with a message containing `needle`. */
#define CHECK_FAILS(call, needle)                                                        \
  do {                                                                                   \
    check_count++;                                                                       \
    rc_status st_ = (call);                                                              \
    if (st_ == RC_OK || !strstr(rc_last_error(), needle)) {                              \
      check_failures++;                                                                  \
      fprintf(stderr, "%s:%d: %s: expected failure with \"%s\", got %s \"%s\"\n", __FILE__, \
              __LINE__, #call, needle, st_ == RC_OK ? "success" : "failure",             \
              st_ == RC_OK ? "" : rc_last_error());                                      \
    }                                                                                    \
  } while (0)

#define CHECK_NEAR(a, b, tol)                                                            \
  do {                                                                                   \
    check_count++;                                                                       \
    double a_ = (a), b_ = (b);                                                           \
    if (!(fabs(a_ - b_) <= (tol))) {                                                     \
      check_failures++;                                                                  \
      fprintf(stderr, "%s:%d: %s = %.9g, expected %.9g (tol %g)\n", __FILE__, __LINE__, #a, \
              a_, b_, (double)(tol));                                                    \
    }                                                                                    \
  } while (0)

/* A new float32 tensor of the given shape holding values (row-major). */
static inline rc_tensor *tensor_of(int ndim, const int64_t *shape, const float *values) {
  rc_tensor *t = NULL;
  if (rc_empty(&t, RC_FLOAT32, ndim, shape) != RC_OK) return NULL;
  memcpy(rc_f32(t), values, sizeof(float) * (size_t)rc_numel(t));
  return t;
}

static inline int check_summary(const char *name) {
  printf("%s: %d checks, %d failed\n", name, check_count, check_failures);
  return check_failures ? 1 : 0;
}

#endif
