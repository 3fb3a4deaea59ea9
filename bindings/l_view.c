/* bindings/l_view.c — STUB: to be written. */
#include "lrecur.h"

static const luaL_Reg view_funcs[] = {{NULL, NULL}};

void rcl_open_view(lua_State *L) { rcl_add_functions(L, view_funcs); }
