/* bindings/recur_engine.c — the embedding API (recur_engine.h): the one way a Lua state with
   `recur` is set up (the recur executable uses it too), and tensors traded through globals. */
#define _GNU_SOURCE /* dladdr */
#include <dlfcn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <lualib.h>
#include "lrecur.h"
#include "recur_engine.h"

struct recur_engine {
  lua_State *L;
  char *error;       /* the last call's message if it failed (owned), else NULL */
  bool error_lost;   /* it failed but its message could not be kept (out of memory) */
  int setup_status;  /* RECUR_ENGINE_ERR_SETUP when recur could not open: `error` says why */
};

/* --- messages --------------------------------------------------------------------------- */

static void clear_error(recur_engine *e) {
  free(e->error);
  e->error = NULL;
  e->error_lost = false;
}

static int fail(recur_engine *e, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(recur_engine *e, int status, const char *fmt, ...) {
  clear_error(e);
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  e->error = n >= 0 ? malloc((size_t)n + 1) : NULL;
  if (e->error) {
    va_start(ap, fmt);
    vsnprintf(e->error, (size_t)n + 1, fmt, ap);
    va_end(ap);
  }
  e->error_lost = e->error == NULL;
  return status;
}

/* Keeps the message on top of the Lua stack as the failure's and pops it. */
static int fail_with_lua_message(recur_engine *e, int status) {
  const char *msg = lua_tostring(e->L, -1);
  fail(e, status, "%s", msg ? msg : "(no message)");
  lua_pop(e->L, 1);
  return status;
}

const char *recur_engine_error(const recur_engine *e) {
  if (!e) return "recur_engine: no engine (recur_engine_new ran out of memory)";
  if (e->error) return e->error;
  return e->error_lost ? "out of memory (the error message could not be kept)" : "";
}

int recur_engine_traceback(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (msg == NULL) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) return 1;
    msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  }
  luaL_traceback(L, L, msg, 1);
  return 1;
}

/* A status of Lua's (lua_pcall, luaL_load*) as one of ours. */
static int from_lua_status(int st) {
  switch (st) {
  case LUA_OK: return RECUR_ENGINE_OK;
  case LUA_ERRSYNTAX: return RECUR_ENGINE_ERR_SYNTAX;
  case LUA_ERRMEM: return RECUR_ENGINE_ERR_MEM;
  case LUA_ERRFILE: return RECUR_ENGINE_ERR_FILE;
  default: return RECUR_ENGINE_ERR_RUN;
  }
}

/* --- setup ------------------------------------------------------------------------------- */

/* dir/rel (rel may be NULL) in buf when it holds recur's Lua modules (dir/rel/recur). */
static bool lua_dir_at(char *buf, size_t size, const char *dir, const char *rel) {
  snprintf(buf, size, "%s%s%s", dir, rel ? "/" : "", rel ? rel : "");
  char probe[4200];
  snprintf(probe, sizeof probe, "%s/recur", buf);
  return access(probe, R_OK) == 0;
}

/* The directory of the absolute file path in `path` (cut in place), or false. */
static bool cut_to_dir(char *path) {
  char *slash = strrchr(path, '/');
  if (path[0] != '/' || !slash) return false;
  *slash = 0;
  return true;
}

/* Where the Lua half of recur lives, first found: installed beside the binary holding this
   code (librecur_lua.so: its libdir's way to share/lua/5.4; a program linked with the static
   library, like `recur`: bin/../share/lua/5.4), else the source tree this was built from,
   else the configured install prefix. */
static const char *find_lua_dir(char *buf, size_t size) {
  static const char *const beside[] = {"../share/lua/5.4", RECUR_LUADIR_FROM_LIBDIR};
  char bins[2][4096];
  int nbins = 0;
  Dl_info info; /* the shared library, when this code is in one */
  if (dladdr((void *)recur_engine_new, &info) && info.dli_fname) {
    snprintf(bins[nbins], sizeof bins[nbins], "%s", info.dli_fname);
    nbins += cut_to_dir(bins[nbins]);
  }
  ssize_t n = readlink("/proc/self/exe", bins[nbins], sizeof bins[nbins] - 1);
  if (n > 0) {
    bins[nbins][n] = 0;
    nbins += cut_to_dir(bins[nbins]);
  }
  for (int b = 0; b < nbins; b++)
    for (int r = 0; r < 2; r++)
      if (lua_dir_at(buf, size, bins[b], beside[r])) return buf;
  if (lua_dir_at(buf, size, RECUR_SOURCE_SCRIPTS, NULL)) return buf;
  if (lua_dir_at(buf, size, RECUR_INSTALL_LUADIR, NULL)) return buf;
  return RECUR_SOURCE_SCRIPTS; /* named in require's "not found" list */
}

static void set_path(lua_State *L) {
  char dir[4096];
  const char *luadir = find_lua_dir(dir, sizeof dir);
  lua_getglobal(L, "package");
  lua_getfield(L, -1, "path");
  lua_pushfstring(L, "%s/?.lua;%s/?/init.lua;%s", luadir, luadir, lua_tostring(L, -1));
  lua_setfield(L, -3, "path");
  lua_pop(L, 2);
}

static int open_engine(lua_State *L) {
  luaL_openlibs(L);
  set_path(L);
  luaL_requiref(L, "recur", luaopen_recur, 1); /* global + package.loaded */
  return 0;
}

recur_engine *recur_engine_new(void) {
  recur_engine *e = calloc(1, sizeof *e);
  if (!e) return NULL;
  e->L = luaL_newstate();
  if (!e->L) {
    free(e);
    return NULL;
  }
  /* No traceback here: a start-up failure is recur's ("recur.init: BLIS_ARCH_TYPE=..."),
     not a script's. */
  lua_pushcfunction(e->L, open_engine);
  int st = lua_pcall(e->L, 0, 0, 0);
  if (st != LUA_OK) {
    e->setup_status = fail_with_lua_message(e, RECUR_ENGINE_ERR_SETUP);
    if (st == LUA_ERRMEM || !e->error) {
      recur_engine_free(e);
      return NULL;
    }
  }
  return e;
}

void recur_engine_free(recur_engine *e) {
  if (!e) return;
  lua_close(e->L);
  free(e->error);
  free(e);
}

lua_State *recur_engine_lua(recur_engine *e) { return e ? e->L : NULL; }

/* --- calls into Lua -------------------------------------------------------------------------- */

/* What a call asks of its body, which runs in protected mode. A body that refuses (a global
   of the wrong type, a chunk that does not load) sets status and returns its message. */
typedef struct {
  int status;
  const char *name; /* the global, the code, or the script's path */
  const char *chunkname;
  int argc;
  char **argv;
  int nin, nout;
  const rc_tensor *const *in;
  rc_tensor **out;
} request;

/* Every call starts here: no engine, or one whose recur never started, fails at once (the
   latter keeping the start-up message); otherwise the last call's message goes. */
static int begin(recur_engine *e) {
  if (!e) return RECUR_ENGINE_ERR_ARG;
  if (e->setup_status) return e->setup_status;
  clear_error(e);
  return RECUR_ENGINE_OK;
}

/* Runs body with the request under lua_pcall and the traceback handler; the stack is left as
   found and a failure's message is kept. */
static int run_protected(recur_engine *e, lua_CFunction body, request *r) {
  lua_State *L = e->L;
  int base = lua_gettop(L);
  if (!lua_checkstack(L, 3)) return fail(e, RECUR_ENGINE_ERR_MEM, "out of memory");
  lua_pushcfunction(L, recur_engine_traceback);
  lua_pushcfunction(L, body);
  lua_pushlightuserdata(L, r);
  r->status = RECUR_ENGINE_OK;
  int st = from_lua_status(lua_pcall(L, 1, 1, base + 1));
  if (st == RECUR_ENGINE_OK) st = r->status;
  if (st != RECUR_ENGINE_OK) fail_with_lua_message(e, st);
  lua_settop(L, base);
  return st;
}

/* Refuses a count n < 0, or n > 0 with no array. */
static int bad_count(recur_engine *e, const char *fn, int n, const char *n_name,
                     const char *array_name) {
  if (n < 0) return fail(e, RECUR_ENGINE_ERR_ARG, "%s: %s is %d, expected 0 or more", fn, n_name, n);
  return fail(e, RECUR_ENGINE_ERR_ARG, "%s: %s is NULL but %s is %d", fn, array_name, n_name, n);
}

/* A body's refusal: the message is on top of the stack. */
static int refuse(request *r, int status) {
  r->status = status;
  return 1;
}

/* Pushes t as a Lua value that holds its own reference to the same tensor. */
static void push_shared(lua_State *L, const rc_tensor *t) {
  rcl_push_tensor(L, (rc_tensor *)t);
  rc_retain((rc_tensor *)t); /* after the push, which may raise out of memory: never leaks */
}

/* The open tensor at idx, or NULL after pushing "<what> is a number, expected a tensor". */
static rc_tensor *expect_tensor(lua_State *L, int idx, const char *fn, const char *what) {
  rc_tensor *t = rcl_to_tensor(L, idx);
  if (t) return t;
  if (luaL_testudata(L, idx, RCL_TENSOR_MT))
    lua_pushfstring(L, "%s: %s is a closed tensor (its <close> scope ended)", fn, what);
  else if (lua_isnil(L, idx))
    lua_pushfstring(L, "%s: %s is nil, expected a tensor", fn, what);
  else
    lua_pushfstring(L, "%s: %s is a %s, expected a tensor", fn, what, luaL_typename(L, idx));
  return NULL;
}

static int run_string_body(lua_State *L) {
  request *r = lua_touserdata(L, 1);
  int st = r->chunkname ? luaL_loadbuffer(L, r->name, strlen(r->name), r->chunkname)
                        : luaL_loadstring(L, r->name);
  if (st != LUA_OK) return refuse(r, from_lua_status(st));
  lua_call(L, 0, 0);
  return 0;
}

int recur_engine_run_string(recur_engine *e, const char *code, const char *chunkname) {
  int st = begin(e);
  if (st) return st;
  if (!code) return fail(e, RECUR_ENGINE_ERR_ARG, "recur_engine_run_string: code is NULL");
  request r = {.name = code, .chunkname = chunkname};
  return run_protected(e, run_string_body, &r);
}

static int run_file_body(lua_State *L) {
  request *r = lua_touserdata(L, 1);
  int st = luaL_loadfile(L, strcmp(r->name, "-") == 0 ? NULL : r->name);
  if (st != LUA_OK) return refuse(r, from_lua_status(st));
  lua_createtable(L, r->argc, 1);
  lua_pushstring(L, r->name);
  lua_rawseti(L, -2, 0);
  for (int i = 0; i < r->argc; i++) {
    lua_pushstring(L, r->argv[i]);
    lua_rawseti(L, -2, i + 1);
  }
  lua_setglobal(L, "arg");
  luaL_checkstack(L, r->argc, "too many arguments to script");
  for (int i = 0; i < r->argc; i++) lua_pushstring(L, r->argv[i]);
  lua_call(L, r->argc, 0);
  return 0;
}

int recur_engine_run_file(recur_engine *e, const char *path, int argc, char **argv) {
  int st = begin(e);
  if (st) return st;
  if (!path) return fail(e, RECUR_ENGINE_ERR_ARG, "recur_engine_run_file: path is NULL");
  if (argc < 0 || (argc > 0 && !argv))
    return bad_count(e, "recur_engine_run_file", argc, "argc", "argv");
  for (int i = 0; i < argc; i++)
    if (!argv[i])
      return fail(e, RECUR_ENGINE_ERR_ARG, "recur_engine_run_file: argv[%d] is NULL", i);
  request r = {.name = path, .argc = argc, .argv = argv};
  return run_protected(e, run_file_body, &r);
}

/* --- tensors across ------------------------------------------------------------------------ */

static int set_tensor_body(lua_State *L) {
  request *r = lua_touserdata(L, 1);
  push_shared(L, r->in[0]);
  lua_setglobal(L, r->name);
  return 0;
}

int recur_engine_set_tensor(recur_engine *e, const char *name, const rc_tensor *t) {
  int st = begin(e);
  if (st) return st;
  if (!name || !t)
    return fail(e, RECUR_ENGINE_ERR_ARG, "recur_engine_set_tensor: %s is NULL",
                name ? "the tensor" : "name");
  request r = {.name = name, .in = &t};
  return run_protected(e, set_tensor_body, &r);
}

static int get_tensor_body(lua_State *L) {
  request *r = lua_touserdata(L, 1);
  static const char fn[] = "recur_engine_get_tensor";
  if (lua_getglobal(L, r->name) == LUA_TNIL) {
    lua_pushfstring(L, "%s: no global '%s' (expected a tensor)", fn, r->name);
    return refuse(r, RECUR_ENGINE_ERR_TYPE);
  }
  int idx = lua_gettop(L);
  rc_tensor *t = expect_tensor(L, idx, fn, lua_pushfstring(L, "global '%s'", r->name));
  if (!t) return refuse(r, RECUR_ENGINE_ERR_TYPE);
  r->out[0] = rc_retain(t);
  return 0;
}

int recur_engine_get_tensor(recur_engine *e, const char *name, rc_tensor **out) {
  if (out) *out = NULL;
  int st = begin(e);
  if (st) return st;
  if (!out) return fail(e, RECUR_ENGINE_ERR_ARG, "recur_engine_get_tensor: out is NULL");
  if (!name) return fail(e, RECUR_ENGINE_ERR_ARG, "recur_engine_get_tensor: name is NULL");
  request r = {.name = name, .out = out};
  return run_protected(e, get_tensor_body, &r);
}

static int call_body(lua_State *L) {
  request *r = lua_touserdata(L, 1);
  static const char fn[] = "recur_engine_call";
  int type = lua_getglobal(L, r->name);
  if (type == LUA_TNIL) {
    lua_pushfstring(L, "%s: no global '%s' (expected a function)", fn, r->name);
    return refuse(r, RECUR_ENGINE_ERR_TYPE);
  }
  if (type != LUA_TFUNCTION) {
    if (luaL_getmetafield(L, -1, "__call") == LUA_TNIL) {
      lua_pushfstring(L, "%s: global '%s' is a %s, expected a function", fn, r->name,
                      luaL_typename(L, -1));
      return refuse(r, RECUR_ENGINE_ERR_TYPE);
    }
    lua_pop(L, 1); /* callable: a module, say */
  }
  int base = lua_gettop(L) - 1; /* below the function */
  luaL_checkstack(L, r->nin, "too many inputs");
  for (int i = 0; i < r->nin; i++) push_shared(L, r->in[i]);
  lua_call(L, r->nin, LUA_MULTRET);
  luaL_checkstack(L, 4, "too many results"); /* after MULTRET no free slot is promised */
  int nres = lua_gettop(L) - base;
  if (nres < r->nout) {
    lua_pushfstring(L, "%s: '%s' returned %d value%s, expected %d", fn, r->name, nres,
                    nres == 1 ? "" : "s", r->nout);
    return refuse(r, RECUR_ENGINE_ERR_TYPE);
  }
  for (int i = 0; i < r->nout; i++) {
    const char *what = lua_pushfstring(L, "result %d of '%s'", i + 1, r->name);
    if (!expect_tensor(L, base + 1 + i, fn, what)) return refuse(r, RECUR_ENGINE_ERR_TYPE);
    lua_pop(L, 1);
  }
  /* All checked: only now take references, so a refusal leaves nothing behind. */
  for (int i = 0; i < r->nout; i++) r->out[i] = rc_retain(rcl_to_tensor(L, base + 1 + i));
  return 0;
}

int recur_engine_call(recur_engine *e, const char *fn_name, int nin, const rc_tensor *const *in,
                      int nout, rc_tensor **out) {
  static const char fn[] = "recur_engine_call";
  for (int i = 0; out && i < nout; i++) out[i] = NULL;
  int st = begin(e);
  if (st) return st;
  if (nout < 0 || (nout > 0 && !out))
    return bad_count(e, fn, nout, "nout", "out");
  if (!fn_name) return fail(e, RECUR_ENGINE_ERR_ARG, "%s: fn_name is NULL", fn);
  if (nin < 0 || (nin > 0 && !in))
    return bad_count(e, fn, nin, "nin", "in");
  for (int i = 0; i < nin; i++)
    if (!in[i]) return fail(e, RECUR_ENGINE_ERR_ARG, "%s: in[%d] is NULL", fn, i);
  request r = {.name = fn_name, .nin = nin, .in = in, .nout = nout, .out = out};
  return run_protected(e, call_body, &r);
}
