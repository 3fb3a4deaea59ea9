/* tests/embed/test_embed.c — the embedding API (bindings/recur_engine.h) from a C host: every
   function, every error path, shared tensors, autograd fields, and the engine after errors. */
#include <stdlib.h>
#include <lauxlib.h>
#include <lua.h>
#include "../core/check.h"
#include "recur_engine.h"

/* A call that must succeed; on failure print the engine's message. */
#define CHECK_RUN(e, call)                                                                 \
  do {                                                                                     \
    check_count++;                                                                         \
    int st_ = (call);                                                                      \
    if (st_ != RECUR_ENGINE_OK) {                                                          \
      check_failures++;                                                                    \
      fprintf(stderr, "%s:%d: %s failed (%d): %s\n", __FILE__, __LINE__, #call, st_,       \
              recur_engine_error(e));                                                      \
    }                                                                                      \
  } while (0)

/* A call that must fail with `status` and a message containing `needle`. */
#define CHECK_REFUSED(e, call, status, needle)                                             \
  do {                                                                                     \
    check_count++;                                                                         \
    int st_ = (call);                                                                      \
    if (st_ != (status) || !strstr(recur_engine_error(e), needle)) {                       \
      check_failures++;                                                                    \
      fprintf(stderr, "%s:%d: %s: expected status %d with \"%s\", got %d \"%s\"\n",        \
              __FILE__, __LINE__, #call, (int)(status), needle, st_, recur_engine_error(e)); \
    }                                                                                      \
  } while (0)

static rc_tensor *vector(int64_t n, const float *values) { return tensor_of(1, &n, values); }

/* Run first: rc_init has not succeeded yet, so a bad BLIS_ARCH_TYPE makes recur refuse to
   start; the engine says why and every call fails, until a new engine starts cleanly. */
static void test_setup_failure(void) {
  setenv("BLIS_ARCH_TYPE", "banana", 1);
  recur_engine *e = recur_engine_new();
  unsetenv("BLIS_ARCH_TYPE");
  CHECK(e != NULL);
  if (!e) return;
  CHECK(strstr(recur_engine_error(e), "BLIS_ARCH_TYPE=banana is not a BLIS arch id") != NULL);
  CHECK_REFUSED(e, recur_engine_run_string(e, "x = 1", NULL), RECUR_ENGINE_ERR_SETUP,
                "BLIS_ARCH_TYPE=banana");
  rc_tensor *t = (rc_tensor *)1, *out[1] = {(rc_tensor *)1};
  CHECK_REFUSED(e, recur_engine_get_tensor(e, "x", &t), RECUR_ENGINE_ERR_SETUP, "banana");
  CHECK(t == NULL);
  CHECK_REFUSED(e, recur_engine_call(e, "f", 0, NULL, 1, out), RECUR_ENGINE_ERR_SETUP, "banana");
  CHECK(out[0] == NULL);
  CHECK_REFUSED(e, recur_engine_run_file(e, "-", 0, NULL), RECUR_ENGINE_ERR_SETUP, "banana");
  /* even a bad argument: the start-up message is what the host needs to see */
  CHECK_REFUSED(e, recur_engine_set_tensor(e, NULL, NULL), RECUR_ENGINE_ERR_SETUP, "banana");
  CHECK(strstr(recur_engine_error(e), "BLIS_ARCH_TYPE=banana") != NULL);
  recur_engine_free(e);

  e = recur_engine_new();
  CHECK(e != NULL && strcmp(recur_engine_error(e), "") == 0);
  recur_engine_free(e);
}

static void test_new_and_run_string(void) {
  recur_engine *e = recur_engine_new();
  CHECK(e != NULL);
  CHECK(strcmp(recur_engine_error(e), "") == 0);
  lua_State *L = recur_engine_lua(e);
  CHECK(L != NULL);
  CHECK(recur_engine_lua(NULL) == NULL);
  int top = lua_gettop(L);

  /* recur is a global and a module, the standard libraries are open, recur.nn is found */
  CHECK_RUN(e, recur_engine_run_string(e,
      "assert(type(recur) == 'table' and require('recur') == recur)\n"
      "assert(string.format('%d', 3) == '3' and math.pi and io.write and os.time)\n"
      "local nn = require 'recur.nn'\n"
      "assert(nn.Linear and recur.nn == nn)\n"
      "answer = 42", "=setup"));
  CHECK_RUN(e, recur_engine_run_string(e, "assert(answer == 42)", NULL));

  /* a syntax error: the chunk name in the message, nothing run */
  CHECK_REFUSED(e, recur_engine_run_string(e, "answer = = 1", "=model"), RECUR_ENGINE_ERR_SYNTAX,
                "model:1: unexpected symbol");
  /* without a chunk name, the code names the chunk (luaL_loadstring) */
  CHECK_REFUSED(e, recur_engine_run_string(e, "answer = = 1", NULL), RECUR_ENGINE_ERR_SYNTAX,
                "[string \"answer = = 1\"]:1:");
  /* a runtime error comes with the traceback; the engine stays usable */
  CHECK_REFUSED(e, recur_engine_run_string(e, "local function f() error('boom') end\nf()",
                                           "=model"),
                RECUR_ENGINE_ERR_RUN, "model:1: boom\nstack traceback:");
  CHECK(strstr(recur_engine_error(e), "in local 'f'") != NULL);
  /* a core error raised by a binding keeps its message */
  CHECK_REFUSED(e, recur_engine_run_string(e, "recur.ones(2, 3):matmul(recur.ones(2, 3))", "=m"),
                RECUR_ENGINE_ERR_RUN, "recur.matmul");
  /* an error object that is not a string */
  CHECK_REFUSED(e, recur_engine_run_string(e, "error({})", "=m"), RECUR_ENGINE_ERR_RUN,
                "(error object is a table value)");
  CHECK_RUN(e, recur_engine_run_string(e, "answer = answer + 1", "=after"));
  CHECK(strcmp(recur_engine_error(e), "") == 0); /* a success clears the last message */
  CHECK_RUN(e, recur_engine_run_string(e, "assert(answer == 43)", NULL));
  CHECK_REFUSED(e, recur_engine_run_string(e, NULL, NULL), RECUR_ENGINE_ERR_ARG,
                "recur_engine_run_string: code is NULL");
  CHECK(lua_gettop(L) == top); /* calls leave the stack as they found it */

  /* the escape hatch and the traceback handler, used by hand */
  lua_pushcfunction(L, recur_engine_traceback);
  CHECK(luaL_loadstring(L, "error('by hand')") == LUA_OK);
  CHECK(lua_pcall(L, 0, 0, -2) == LUA_ERRRUN);
  CHECK(strstr(lua_tostring(L, -1), "by hand\nstack traceback:") != NULL);
  lua_settop(L, top);
  /* a host that leaves values on the stack does not confuse the engine */
  lua_pushinteger(L, 7);
  CHECK_RUN(e, recur_engine_run_string(e, "answer = 1", NULL));
  CHECK(lua_gettop(L) == top + 1 && lua_tointeger(L, -1) == 7);
  lua_settop(L, top);
  recur_engine_free(e);
  recur_engine_free(NULL);
  CHECK(strlen(recur_engine_error(NULL)) > 0);
  CHECK(recur_engine_run_string(NULL, "x = 1", NULL) == RECUR_ENGINE_ERR_ARG);
}

static const char *write_script(char *path, const char *code) {
  strcpy(path, "/tmp/test_embed_XXXXXX");
  int fd = mkstemp(path);
  FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
  if (!f) return NULL;
  fputs(code, f);
  fclose(f);
  return path;
}

static void test_run_file(void) {
  recur_engine *e = recur_engine_new();
  char path[64], bad[64], broken[64];
  CHECK(write_script(path, "got = {arg[0], arg[1], arg[2], select('#', ...), ...}\n") != NULL);
  char *args[] = {"one", "two"};
  CHECK_RUN(e, recur_engine_run_file(e, path, 2, args));
  char check[256];
  snprintf(check, sizeof check,
           "assert(got[1] == '%s' and got[2] == 'one' and got[3] == 'two' and got[4] == 2\n"
           "  and got[5] == 'one' and got[6] == 'two' and arg[3] == nil)", path);
  CHECK_RUN(e, recur_engine_run_string(e, check, "=check"));
  CHECK_RUN(e, recur_engine_run_file(e, path, 0, NULL));
  CHECK_RUN(e, recur_engine_run_string(e, "assert(#arg == 0 and got[4] == 0)", "=check"));

  CHECK(write_script(bad, "local x = 1\nerror('file boom')\n") != NULL);
  CHECK_REFUSED(e, recur_engine_run_file(e, bad, 0, NULL), RECUR_ENGINE_ERR_RUN,
                ":2: file boom\nstack traceback:");
  CHECK(write_script(broken, "x = = 1\n") != NULL);
  CHECK_REFUSED(e, recur_engine_run_file(e, broken, 0, NULL), RECUR_ENGINE_ERR_SYNTAX,
                "unexpected symbol");
  CHECK_REFUSED(e, recur_engine_run_file(e, "/nonexistent/model.lua", 0, NULL),
                RECUR_ENGINE_ERR_FILE, "cannot open /nonexistent/model.lua");
  CHECK_REFUSED(e, recur_engine_run_file(e, NULL, 0, NULL), RECUR_ENGINE_ERR_ARG,
                "recur_engine_run_file: path is NULL");
  CHECK_REFUSED(e, recur_engine_run_file(e, path, -1, NULL), RECUR_ENGINE_ERR_ARG,
                "recur_engine_run_file: argc is -1, expected 0 or more");
  CHECK_REFUSED(e, recur_engine_run_file(e, path, 2, NULL), RECUR_ENGINE_ERR_ARG,
                "recur_engine_run_file: argv is NULL but argc is 2");
  char *holes[] = {"one", NULL};
  CHECK_REFUSED(e, recur_engine_run_file(e, path, 2, holes), RECUR_ENGINE_ERR_ARG,
                "recur_engine_run_file: argv[1] is NULL");
  CHECK_RUN(e, recur_engine_run_file(e, path, 1, args)); /* usable after all of that */
  remove(path);
  remove(bad);
  remove(broken);
  recur_engine_free(e);
}

static void test_set_and_get_share_the_tensor(void) {
  recur_engine *e = recur_engine_new();
  rc_tensor *t = vector(3, (const float[]){1, 2, 3});
  CHECK_RUN(e, recur_engine_set_tensor(e, "a", t));
  CHECK(t->refcount == 2); /* the host's and the global's */
  /* Lua writes, the host sees it; the host writes, Lua sees it: one storage */
  CHECK_RUN(e, recur_engine_run_string(e, "assert(a:size(1) == 3 and a[2]:item() == 2)\n"
                                          "a[1] = 10", "=lua"));
  CHECK(rc_f32(t)[0] == 10.0f);
  rc_f32(t)[2] = 30.0f;
  CHECK_RUN(e, recur_engine_run_string(e, "assert(a[3]:item() == 30)", "=lua"));

  /* the host drops its reference; the global still holds the same tensor */
  rc_release(t);
  rc_tensor *back = NULL;
  CHECK_RUN(e, recur_engine_get_tensor(e, "a", &back));
  CHECK(back == t && back->refcount == 2);
  CHECK(back && rc_f32(back)[0] == 10.0f && rc_f32(back)[2] == 30.0f);

  /* a tensor made in Lua: a new reference to the one Lua holds */
  CHECK_RUN(e, recur_engine_run_string(e, "b = recur.tensor{{1, 2}, {3, 4}}", NULL));
  rc_tensor *b = NULL;
  CHECK_RUN(e, recur_engine_get_tensor(e, "b", &b));
  CHECK(b && b->ndim == 2 && b->shape[0] == 2 && b->shape[1] == 2 && rc_get_flat(b, 3) == 4.0);
  CHECK_RUN(e, recur_engine_run_string(e, "b[1][1] = -1", NULL));
  CHECK(b && rc_get_flat(b, 0) == -1.0);

  /* replacing a global drops the engine's reference once collected */
  CHECK_RUN(e, recur_engine_run_string(e, "a = nil; collectgarbage()", NULL));
  CHECK(back->refcount == 1);
  rc_release(back);
  rc_release(b);

  /* errors: the global missing, not a tensor, closed; bad arguments */
  rc_tensor *out = (rc_tensor *)1;
  CHECK_REFUSED(e, recur_engine_get_tensor(e, "nope", &out), RECUR_ENGINE_ERR_TYPE,
                "recur_engine_get_tensor: no global 'nope' (expected a tensor)");
  CHECK(out == NULL);
  CHECK_RUN(e, recur_engine_run_string(e, "n = 5; s = 'x'; tbl = {}", NULL));
  CHECK_REFUSED(e, recur_engine_get_tensor(e, "n", &out), RECUR_ENGINE_ERR_TYPE,
                "recur_engine_get_tensor: global 'n' is a number, expected a tensor");
  CHECK_REFUSED(e, recur_engine_get_tensor(e, "tbl", &out), RECUR_ENGINE_ERR_TYPE,
                "global 'tbl' is a table, expected a tensor");
  CHECK_RUN(e, recur_engine_run_string(e, "do c = recur.ones(2); local k <close> = c end", NULL));
  CHECK_REFUSED(e, recur_engine_get_tensor(e, "c", &out), RECUR_ENGINE_ERR_TYPE,
                "global 'c' is a closed tensor");
  CHECK(out == NULL);
  CHECK_REFUSED(e, recur_engine_get_tensor(e, NULL, &out), RECUR_ENGINE_ERR_ARG,
                "recur_engine_get_tensor: name is NULL");
  CHECK_REFUSED(e, recur_engine_get_tensor(e, "b", NULL), RECUR_ENGINE_ERR_ARG,
                "recur_engine_get_tensor: out is NULL");
  rc_tensor *one = vector(1, (const float[]){1});
  CHECK_REFUSED(e, recur_engine_set_tensor(e, NULL, one), RECUR_ENGINE_ERR_ARG,
                "recur_engine_set_tensor: name is NULL");
  CHECK_REFUSED(e, recur_engine_set_tensor(e, "x", NULL), RECUR_ENGINE_ERR_ARG,
                "recur_engine_set_tensor: the tensor is NULL");
  CHECK(one->refcount == 1);
  /* the same tensor in two engines: both see one storage */
  recur_engine *e2 = recur_engine_new();
  CHECK_RUN(e, recur_engine_set_tensor(e, "shared", one));
  CHECK_RUN(e2, recur_engine_set_tensor(e2, "shared", one));
  CHECK_RUN(e, recur_engine_run_string(e, "shared[1] = 7", NULL));
  CHECK_RUN(e2, recur_engine_run_string(e2, "assert(shared[1]:item() == 7)", NULL));
  recur_engine_free(e2);
  recur_engine_free(e);
  CHECK(one->refcount == 1); /* closing an engine releases what its globals held */
  rc_release(one);
}

static void test_requires_grad_is_kept(void) {
  recur_engine *e = recur_engine_new();
  /* a host leaf that requires grad: Lua sees it so, and backward fills the host's .grad */
  rc_tensor *w = vector(2, (const float[]){3, -1});
  w->requires_grad = true;
  CHECK_RUN(e, recur_engine_set_tensor(e, "w", w));
  CHECK_RUN(e, recur_engine_run_string(e, "assert(w.requires_grad and w.is_leaf)\n"
                                          "local loss = (w * w):sum()\n"
                                          "loss:backward()", "=grad"));
  CHECK(w->grad != NULL);
  if (w->grad) {
    CHECK_NEAR(rc_get_flat(w->grad, 0), 6.0, 1e-6); /* d(w.w)/dw = 2w */
    CHECK_NEAR(rc_get_flat(w->grad, 1), -2.0, 1e-6);
  }
  /* a Lua tensor that requires grad comes back as one, grad and all */
  CHECK_RUN(e, recur_engine_run_string(e, "v = recur.ones(2):requires_grad_();\n"
                                          "(v * 5):sum():backward()", NULL));
  rc_tensor *v = NULL;
  CHECK_RUN(e, recur_engine_get_tensor(e, "v", &v));
  CHECK(v && v->requires_grad && v->grad && rc_get_flat(v->grad, 1) == 5.0);
  /* through a call: the result of an op on a grad input is a non-leaf that requires grad */
  CHECK_RUN(e, recur_engine_run_string(e, "function double(x) return x * 2 end", NULL));
  const rc_tensor *in[1] = {w};
  rc_tensor *y = NULL;
  CHECK_RUN(e, recur_engine_call(e, "double", 1, in, 1, &y));
  CHECK(y && y->requires_grad && y->grad_fn != NULL);
  rc_release(y);
  rc_release(v);
  recur_engine_free(e);
  rc_release(w);
}

static void test_call(void) {
  recur_engine *e = recur_engine_new();
  CHECK_RUN(e, recur_engine_run_string(e,
      "function affine(x, w) return x * w + 1, x - w, 'extra' end\n"
      "function one(x) return x end\n"
      "function mixed(x) return x, 5 end\n"
      "function holes(x) return nil, x end\n"
      "function nothing() calls = (calls or 0) + 1 end\n"
      "function fails(x) error('bad model') end\n"
      "function closes(x) local c <close> = recur.ones(1); return c end\n"
      "model = recur.nn.Linear(2, 1)\n"
      "n = 3\n", "=defs"));
  rc_tensor *x = vector(2, (const float[]){1, 2}), *w = vector(2, (const float[]){3, 4});
  const rc_tensor *in[2] = {x, w};
  rc_tensor *out[2] = {NULL, NULL};

  /* two tensors in, two out (the third result is dropped), values as Lua computed them */
  CHECK_RUN(e, recur_engine_call(e, "affine", 2, in, 2, out));
  CHECK(out[0] && rc_get_flat(out[0], 0) == 4.0 && rc_get_flat(out[0], 1) == 9.0);
  CHECK(out[1] && rc_get_flat(out[1], 0) == -2.0 && rc_get_flat(out[1], 1) == -2.0);
  rc_release(out[0]);
  rc_release(out[1]);
  /* inputs go in as themselves: a function returning its input hands back the same tensor */
  CHECK_RUN(e, recur_engine_call(e, "one", 1, in, 1, out));
  CHECK(out[0] == x);
  rc_release(out[0]);
  /* no inputs, no outputs */
  CHECK_RUN(e, recur_engine_call(e, "nothing", 0, NULL, 0, NULL));
  CHECK_RUN(e, recur_engine_call(e, "nothing", 0, NULL, 0, NULL));
  CHECK_RUN(e, recur_engine_run_string(e, "assert(calls == 2)", NULL));
  /* a callable: an nn module */
  rc_tensor *row = NULL;
  const int64_t shape[2] = {1, 2};
  row = tensor_of(2, shape, (const float[]){1, 1});
  const rc_tensor *rows[1] = {row};
  CHECK_RUN(e, recur_engine_call(e, "model", 1, rows, 1, out));
  CHECK(out[0] && out[0]->ndim == 2 && out[0]->shape[0] == 1 && out[0]->shape[1] == 1);
  rc_release(out[0]);
  rc_release(row);

  /* refusals: every out slot NULL, the engine usable after each */
  out[0] = out[1] = (rc_tensor *)1;
  CHECK_REFUSED(e, recur_engine_call(e, "one", 1, in, 2, out), RECUR_ENGINE_ERR_TYPE,
                "recur_engine_call: 'one' returned 1 value, expected 2");
  CHECK(out[0] == NULL && out[1] == NULL);
  CHECK_REFUSED(e, recur_engine_call(e, "nothing", 0, NULL, 1, out), RECUR_ENGINE_ERR_TYPE,
                "'nothing' returned 0 values, expected 1");
  CHECK_REFUSED(e, recur_engine_call(e, "mixed", 1, in, 2, out), RECUR_ENGINE_ERR_TYPE,
                "recur_engine_call: result 2 of 'mixed' is a number, expected a tensor");
  CHECK(out[0] == NULL && out[1] == NULL);
  CHECK_REFUSED(e, recur_engine_call(e, "holes", 1, in, 2, out), RECUR_ENGINE_ERR_TYPE,
                "result 1 of 'holes' is nil, expected a tensor");
  CHECK_REFUSED(e, recur_engine_call(e, "closes", 1, in, 1, out), RECUR_ENGINE_ERR_TYPE,
                "result 1 of 'closes' is a closed tensor");
  CHECK_REFUSED(e, recur_engine_call(e, "missing", 1, in, 1, out), RECUR_ENGINE_ERR_TYPE,
                "recur_engine_call: no global 'missing' (expected a function)");
  CHECK_REFUSED(e, recur_engine_call(e, "n", 1, in, 1, out), RECUR_ENGINE_ERR_TYPE,
                "recur_engine_call: global 'n' is a number, expected a function");
  CHECK_REFUSED(e, recur_engine_call(e, "fails", 1, in, 1, out), RECUR_ENGINE_ERR_RUN,
                "defs:6: bad model\nstack traceback:");
  CHECK(out[0] == NULL);
  CHECK_REFUSED(e, recur_engine_call(e, "affine", 1, in, 1, out), RECUR_ENGINE_ERR_RUN,
                "stack traceback:"); /* x * nil inside Lua */
  CHECK_RUN(e, recur_engine_call(e, "one", 1, in, 1, out));
  CHECK(out[0] == x);
  rc_release(out[0]);

  /* bad arguments from C */
  CHECK_REFUSED(e, recur_engine_call(e, NULL, 1, in, 1, out), RECUR_ENGINE_ERR_ARG,
                "recur_engine_call: fn_name is NULL");
  CHECK(out[0] == NULL);
  CHECK_REFUSED(e, recur_engine_call(e, "one", -1, in, 1, out), RECUR_ENGINE_ERR_ARG,
                "recur_engine_call: nin is -1, expected 0 or more");
  CHECK_REFUSED(e, recur_engine_call(e, "one", 1, NULL, 1, out), RECUR_ENGINE_ERR_ARG,
                "recur_engine_call: in is NULL but nin is 1");
  const rc_tensor *with_hole[2] = {x, NULL};
  CHECK_REFUSED(e, recur_engine_call(e, "one", 2, with_hole, 1, out), RECUR_ENGINE_ERR_ARG,
                "recur_engine_call: in[1] is NULL");
  CHECK_REFUSED(e, recur_engine_call(e, "one", 1, in, -2, out), RECUR_ENGINE_ERR_ARG,
                "recur_engine_call: nout is -2, expected 0 or more");
  CHECK_REFUSED(e, recur_engine_call(e, "one", 1, in, 1, NULL), RECUR_ENGINE_ERR_ARG,
                "recur_engine_call: out is NULL but nout is 1");

  recur_engine_free(e);
  CHECK(x->refcount == 1 && w->refcount == 1); /* nothing the calls took is kept */
  rc_release(x);
  rc_release(w);
}

/* Lua's allocator, failing on request: the engine reports out of memory and leaks nothing. */
static bool alloc_fails;
static lua_Alloc real_alloc;
static void *real_ud;
static void *failing_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  if (alloc_fails && nsize > (ptr ? osize : 0)) return NULL;
  return real_alloc(ud, ptr, osize, nsize);
}

static void test_out_of_memory(void) {
  recur_engine *e = recur_engine_new();
  lua_State *L = recur_engine_lua(e);
  real_alloc = lua_getallocf(L, &real_ud);
  lua_setallocf(L, failing_alloc, real_ud);
  rc_tensor *t = vector(2, (const float[]){1, 2});
  alloc_fails = true;
  CHECK_REFUSED(e, recur_engine_set_tensor(e, "t", t), RECUR_ENGINE_ERR_MEM, "not enough memory");
  const rc_tensor *in[1] = {t};
  rc_tensor *out = NULL;
  CHECK_REFUSED(e, recur_engine_call(e, "print", 1, in, 0, &out), RECUR_ENGINE_ERR_MEM,
                "not enough memory");
  CHECK_REFUSED(e, recur_engine_run_string(e, "x = {}", NULL), RECUR_ENGINE_ERR_MEM,
                "not enough memory");
  alloc_fails = false;
  CHECK(t->refcount == 1); /* no reference leaked by the failed pushes */
  CHECK_RUN(e, recur_engine_set_tensor(e, "t", t));
  CHECK_RUN(e, recur_engine_run_string(e, "assert(t[2]:item() == 2)", NULL));
  lua_setallocf(L, real_alloc, real_ud);
  recur_engine_free(e);
  rc_release(t);
}

int main(void) {
  test_setup_failure();
  test_new_and_run_string();
  test_run_file();
  test_set_and_get_share_the_tensor();
  test_requires_grad_is_kept();
  test_call();
  test_out_of_memory();
  return check_summary("embed");
}
