/* core/error.h — status codes and the last-error message of the recur core.
   Every fallible core function returns an rc_status and, on failure, leaves a message here. */
#ifndef RC_ERROR_H
#define RC_ERROR_H

typedef enum {
  RC_OK = 0,
  RC_ERR_ARG,      /* a bad argument: wrong value, wrong dtype */
  RC_ERR_SHAPE,    /* shapes that do not fit together */
  RC_ERR_INDEX,    /* an index or dim out of range */
  RC_ERR_NOMEM,    /* allocation failed */
  RC_ERR_IO,       /* a file could not be read or written */
  RC_ERR_STATE     /* the operation is not allowed in the current state */
} rc_status;

/* The message of the last failure on this thread: "fn: what was expected, what came". */
const char *rc_last_error(void);

/* Record a failure and return its code, so callers can write `return rc_fail(...)`. */
rc_status rc_fail(rc_status code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
