/* bindings/recur_engine.h — the embedding API: a C program runs recur's Lua engine (the
   standard libraries, `recur`, scripts/recur) and trades tensors with it through globals. */
#ifndef RECUR_ENGINE_H
#define RECUR_ENGINE_H

#include "recur.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lua_State lua_State; /* as lua.h declares it; include lua.h to use it */
typedef struct recur_engine recur_engine;

/* What the functions below return. The message of a failed call is recur_engine_error(e). */
enum {
  RECUR_ENGINE_OK = 0,
  RECUR_ENGINE_ERR_RUN,    /* a Lua error; the message ends with the Lua traceback */
  RECUR_ENGINE_ERR_SYNTAX, /* code or a script that does not compile */
  RECUR_ENGINE_ERR_FILE,   /* a script that cannot be opened or read */
  RECUR_ENGINE_ERR_MEM,    /* out of memory */
  RECUR_ENGINE_ERR_TYPE,   /* a global missing or of the wrong type, a call's results short */
  RECUR_ENGINE_ERR_ARG,    /* a bad argument from C: NULL, a negative count */
  RECUR_ENGINE_ERR_SETUP   /* recur could not start (e.g. a bad BLIS_ARCH_TYPE): every call
                              fails with this and the message of the failure */
};

/* A Lua state with the standard libraries, `recur` as a global and in package.loaded, and
   package.path finding recur.nn, recur.optim ... (installed ones beside the library or the
   program, else the source tree it was built from). NULL only when out of memory; when recur
   itself cannot start, recur_engine_error(e) says why at once and every call fails.
   Several engines can coexist (the core's process-wide settings, such as recur.threads, are
   shared); use each from one thread at a time. */
recur_engine *recur_engine_new(void);
/* Closes the Lua state (its tensor references are released). NULL is fine. */
void recur_engine_free(recur_engine *e);

/* Runs Lua code; chunkname as in luaL_loadbuffer ("=model" prints as model:3:), or NULL to
   name the chunk by its code as luaL_loadstring does. */
int recur_engine_run_string(recur_engine *e, const char *code, const char *chunkname);
/* Runs the script at path ("-": standard input) with its arguments as the recur executable
   passes them: arg[0] = path, arg[1..argc] = argv[0..argc-1], and the same as `...`. */
int recur_engine_run_file(recur_engine *e, const char *path, int argc, char **argv);

/* Sets the global `name` to the same tensor t (no copy: storage, requires_grad and grad are
   shared). The engine takes its own reference; the host may release its one at once. */
int recur_engine_set_tensor(recur_engine *e, const char *name, const rc_tensor *t);
/* *out = a new reference to the tensor in the global `name` (the same tensor Lua holds);
   fails when the global is missing or not a tensor. *out is NULL on failure. */
int recur_engine_get_tensor(recur_engine *e, const char *name, rc_tensor **out);
/* Calls the global function (or callable) fn_name with nin tensors and takes its first nout
   results, which must be tensors, as new references in out[0..nout-1] (extra results are
   dropped; all of out is NULL on failure). Inputs are passed as themselves, not copies. */
int recur_engine_call(recur_engine *e, const char *fn_name, int nin, const rc_tensor *const *in,
                      int nout, rc_tensor **out);

/* The message of the last call if it failed, else "" (never NULL; e may be NULL). A Lua
   error in one call does not spoil the next: the engine stays usable. */
const char *recur_engine_error(const recur_engine *e);
/* The escape hatch: the engine's lua_State, for the Lua C API. Leave its stack as found. */
lua_State *recur_engine_lua(recur_engine *e);
/* A lua_pcall message handler that appends the Lua traceback to the message (what the
   engine uses), for hosts that call Lua through recur_engine_lua themselves. */
int recur_engine_traceback(lua_State *L);

#ifdef __cplusplus
}
#endif

#endif
