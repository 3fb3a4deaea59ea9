/* bindings/l_print.c — STUB: to be written. */
#include "lrecur.h"

static const luaL_Reg print_funcs[] = {{NULL, NULL}};

void rcl_open_print(lua_State *L) { rcl_add_functions(L, print_funcs); }

void rcl_push_tensor_string(lua_State *L, const rc_tensor *t) {
  char s[128];
  lua_pushfstring(L, "tensor of shape %s", rc_shape_str(t, s, sizeof s));
}
