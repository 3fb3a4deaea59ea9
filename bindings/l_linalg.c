/* bindings/l_linalg.c — STUB: to be written. */
#include "lrecur.h"

static const luaL_Reg linalg_funcs[] = {{NULL, NULL}};

void rcl_open_linalg(lua_State *L) { rcl_add_functions(L, linalg_funcs); }
