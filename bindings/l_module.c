/* bindings/l_module.c — luaopen_recur: builds the `recur` table and the tensor metatable,
   then lets each binding area add its functions and methods. */
#include <stdlib.h>
#include <string.h>
#include "lrecur.h"

static const char *module_key = "recur.module";
static const char *methods_key = "recur.methods";

int rcl_core_error(lua_State *L) {
  return luaL_error(L, "recur.%s", rc_last_error());
}

static int compare_names(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void rcl_check_options(lua_State *L, int arg, const char *fn, const char *const *allowed) {
  enum { max_reported = 16 };
  const char *unknown[max_reported];
  int n = 0, top = lua_gettop(L);
  arg = lua_absindex(L, arg);
  lua_pushnil(L);
  while (lua_next(L, arg)) {
    lua_pop(L, 1);
    bool known = false;
    if (lua_type(L, -1) == LUA_TSTRING)
      for (int i = 0; allowed[i] && !known; i++) known = !strcmp(lua_tostring(L, -1), allowed[i]);
    if (!known && n < max_reported) {
      lua_pushvalue(L, -1);
      unknown[n++] = luaL_tolstring(L, -1, NULL); /* stays on the stack, so stays valid */
      lua_remove(L, -2);
      lua_insert(L, -2); /* keep the iteration key on top */
    }
  }
  if (n == 0) return;
  qsort(unknown, (size_t)n, sizeof unknown[0], compare_names);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (int i = 0; i < n; i++) {
    luaL_addstring(&b, i ? ", '" : "'");
    luaL_addstring(&b, unknown[i]);
    luaL_addchar(&b, '\'');
  }
  luaL_addstring(&b, " (expected ");
  int count = 0;
  while (allowed[count]) count++;
  for (int i = 0; i < count; i++) {
    luaL_addstring(&b, i == 0 ? "" : i == count - 1 ? " or " : ", ");
    luaL_addstring(&b, allowed[i]);
  }
  luaL_addchar(&b, ')');
  luaL_pushresult(&b);
  (void)top;
  luaL_error(L, "recur.%s: unknown option%s %s", fn, n > 1 ? "s" : "", lua_tostring(L, -1));
}

static void add_to(lua_State *L, const char *key, const luaL_Reg *funcs) {
  lua_getfield(L, LUA_REGISTRYINDEX, key);
  luaL_setfuncs(L, funcs, 0);
  lua_pop(L, 1);
}

void rcl_add_functions(lua_State *L, const luaL_Reg *funcs) { add_to(L, module_key, funcs); }
void rcl_add_methods(lua_State *L, const luaL_Reg *funcs) { add_to(L, methods_key, funcs); }

/* The Lua half of recur, loaded on first use: `recur.nn` is `require "recur.nn"`. */
static const char *const lua_parts[] = {"nn", "optim", "data", "datasets", "plot", "progress",
                                        "gradcheck", "clip", NULL};

static int module_index(lua_State *L) {
  const char *key = lua_tostring(L, 2);
  for (int i = 0; key && lua_parts[i]; i++)
    if (!strcmp(key, lua_parts[i])) {
      lua_getglobal(L, "require");
      lua_pushfstring(L, "recur.%s", key);
      lua_call(L, 1, 1);
      lua_pushvalue(L, 2);
      lua_pushvalue(L, -2);
      lua_rawset(L, 1); /* cached: the next access is a plain field */
      return 1;
    }
  return 0;
}

int luaopen_recur(lua_State *L) {
  if (rc_init() != RC_OK) rcl_core_error(L);
  /* Tensor memory lives outside Lua's heap; rcl_push_tensor reports it as GC debt. Lua 5.4's
     generational mode (lua5.4's default) ignores that debt for young objects, and a loop
     making 4 MB tensors grew to GBs; incremental mode keeps it flat. */
  lua_gc(L, LUA_GCINC, 0, 0, 0);
  lua_newtable(L); /* the module */
  lua_pushvalue(L, -1);
  lua_setfield(L, LUA_REGISTRYINDEX, module_key);
  lua_newtable(L); /* tensor methods */
  lua_setfield(L, LUA_REGISTRYINDEX, methods_key);

  rcl_open_tensor(L);
  rcl_open_print(L);
  rcl_open_create(L);
  rcl_open_view(L);
  rcl_open_math(L);
  rcl_open_reduce(L);
  rcl_open_linalg(L);
  rcl_open_index(L);
  rcl_open_random(L);
  rcl_open_runtime(L);
  rcl_open_autograd(L);
  rcl_open_optim(L);
  rcl_open_nn(L);
  rcl_open_io(L);
  rcl_open_rnn(L);

  lua_getfield(L, LUA_REGISTRYINDEX, methods_key);
  lua_setfield(L, -2, "Tensor"); /* recur.Tensor: the methods, so Lua code can add more */
  lua_pushliteral(L, RC_VERSION);
  lua_setfield(L, -2, "version");
  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, module_index);
  lua_setfield(L, -2, "__index");
  lua_setmetatable(L, -2);
  return 1;
}
