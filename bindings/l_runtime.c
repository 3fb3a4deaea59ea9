/* bindings/l_runtime.c — recur.threads, recur.now, recur.config: the engine's knobs and
   facts, as Lua functions. */
#include "lrecur.h"

/* recur.threads() -> n; recur.threads(n) sets BLIS's and the engine's threads, returns n. */
static int l_threads(lua_State *L) {
  if (!lua_isnoneornil(L, 1)) {
    lua_Integer n = luaL_checkinteger(L, 1);
    if (n < 1 || n > 4096)
      return luaL_error(L, "recur.threads: need a count in 1..4096, got %d", (int)n);
    RCL_CHECK(L, rc_set_threads((int)n));
  }
  lua_pushinteger(L, rc_threads());
  return 1;
}

static int l_now(lua_State *L) {
  lua_pushnumber(L, rc_now());
  return 1;
}

static int l_config(lua_State *L) {
  rc_config_info info;
  RCL_CHECK(L, rc_config(&info));
  lua_createtable(L, 0, 10);
  lua_pushstring(L, info.version);       lua_setfield(L, -2, "version");
  lua_pushstring(L, LUA_RELEASE);        lua_setfield(L, -2, "lua");
  lua_pushstring(L, info.blis_version);  lua_setfield(L, -2, "blis_version");
  lua_pushstring(L, info.blis_arch);     lua_setfield(L, -2, "blis_arch");
  lua_pushstring(L, info.arch_source);   lua_setfield(L, -2, "blis_arch_source");
  lua_pushstring(L, info.simd);          lua_setfield(L, -2, "simd");
  lua_pushinteger(L, info.threads);      lua_setfield(L, -2, "threads");
  lua_pushinteger(L, rc_max_threads());  lua_setfield(L, -2, "cores");
  lua_pushinteger(L, info.cpu_family);   lua_setfield(L, -2, "cpu_family");
  lua_pushinteger(L, info.cpu_model);    lua_setfield(L, -2, "cpu_model");
  return 1;
}

static const luaL_Reg runtime_funcs[] = {
  {"threads", l_threads},
  {"now",     l_now},
  {"config",  l_config},
  {NULL, NULL}
};

void rcl_open_runtime(lua_State *L) { rcl_add_functions(L, runtime_funcs); }
