/* bindings/l_index.c — STUB: to be written. */
#include "lrecur.h"

static const luaL_Reg index_funcs[] = {{NULL, NULL}};

void rcl_open_index(lua_State *L) { rcl_add_functions(L, index_funcs); }
