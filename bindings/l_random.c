/* bindings/l_random.c — STUB: to be written. */
#include "lrecur.h"

static const luaL_Reg random_funcs[] = {{NULL, NULL}};

void rcl_open_random(lua_State *L) { rcl_add_functions(L, random_funcs); }
