/* bindings/l_runtime.c — STUB: to be written. */
#include "lrecur.h"

static const luaL_Reg runtime_funcs[] = {{NULL, NULL}};

void rcl_open_runtime(lua_State *L) { rcl_add_functions(L, runtime_funcs); }
