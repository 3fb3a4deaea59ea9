/* bindings/l_module.c — luaopen_recur: builds the `recur` table and the tensor metatable,
   then lets each binding area add its functions and methods. */
#include <string.h>
#include "lrecur.h"

static const char *module_key = "recur.module";
static const char *methods_key = "recur.methods";

int rcl_core_error(lua_State *L) {
  return luaL_error(L, "recur.%s", rc_last_error());
}

static void add_to(lua_State *L, const char *key, const luaL_Reg *funcs) {
  lua_getfield(L, LUA_REGISTRYINDEX, key);
  luaL_setfuncs(L, funcs, 0);
  lua_pop(L, 1);
}

void rcl_add_functions(lua_State *L, const luaL_Reg *funcs) { add_to(L, module_key, funcs); }
void rcl_add_methods(lua_State *L, const luaL_Reg *funcs) { add_to(L, methods_key, funcs); }

int luaopen_recur(lua_State *L) {
  if (rc_init() != RC_OK) rcl_core_error(L);
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

  lua_getfield(L, LUA_REGISTRYINDEX, methods_key);
  lua_setfield(L, -2, "Tensor"); /* recur.Tensor: the methods, so Lua code can add more */
  lua_pushliteral(L, RC_VERSION);
  lua_setfield(L, -2, "version");
  return 1;
}
