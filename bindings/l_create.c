/* bindings/l_create.c — STUB: to be written. */
#include "lrecur.h"

static const luaL_Reg create_funcs[] = {{NULL, NULL}};

void rcl_open_create(lua_State *L) { rcl_add_functions(L, create_funcs); }
