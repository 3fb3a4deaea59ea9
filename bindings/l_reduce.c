/* bindings/l_reduce.c — STUB: to be written. */
#include "lrecur.h"

static const luaL_Reg reduce_funcs[] = {{NULL, NULL}};

void rcl_open_reduce(lua_State *L) { rcl_add_functions(L, reduce_funcs); }
