/* core/error.c — the thread-local last-error message behind rc_fail / rc_last_error.
   Thread-local so that OpenMP workers and host threads never overwrite each other's message. */
#include <stdarg.h>
#include <stdio.h>
#include "error.h"

static _Thread_local char last_error[1024];

const char *rc_last_error(void) { return last_error; }

rc_status rc_fail(rc_status code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(last_error, sizeof last_error, fmt, ap);
  va_end(ap);
  return code;
}
