/* bindings/l_math.c — STUB: to be written. */
#include "lrecur.h"

static const luaL_Reg math_funcs[] = {{NULL, NULL}};

void rcl_open_math(lua_State *L) { rcl_add_functions(L, math_funcs); }
