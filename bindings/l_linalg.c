/* bindings/l_linalg.c — Lua functions of recur's linear algebra: matmul, addmm, bmm, dot.
   Each checks its arguments, calls core/ (the differentiable rcg_* form), and turns a core
   error into a Lua error. */
#include "lrecur.h"

/* product(a, b) for the two tensors at args 1 and 2. */
static int product(lua_State *L,
                   rc_status (*op)(rc_tensor **, const rc_tensor *, const rc_tensor *)) {
  rc_tensor *a = rcl_check_tensor(L, 1);
  rc_tensor *b = rcl_check_tensor(L, 2);
  rc_tensor *out = NULL;
  RCL_CHECK(L, op(&out, a, b));
  rcl_push_tensor(L, out);
  return 1;
}

static int l_matmul(lua_State *L) { return product(L, rcg_matmul); }
static int l_bmm(lua_State *L) { return product(L, rcg_bmm); }
static int l_dot(lua_State *L) { return product(L, rcg_dot); }

/* addmm(c, a, b[, opts]) with opts {beta = 1, alpha = 1}, as torch.addmm. */
static int l_addmm(lua_State *L) {
  rc_tensor *c = rcl_check_tensor(L, 1);
  rc_tensor *a = rcl_check_tensor(L, 2);
  rc_tensor *b = rcl_check_tensor(L, 3);
  double beta = 1, alpha = 1;
  if (!lua_isnoneornil(L, 4)) {
    static const char *const names[] = {"alpha", "beta", NULL};
    luaL_checktype(L, 4, LUA_TTABLE);
    rcl_check_options(L, 4, "addmm", names);
    lua_getfield(L, 4, "beta");
    beta = luaL_optnumber(L, -1, 1);
    lua_getfield(L, 4, "alpha");
    alpha = luaL_optnumber(L, -1, 1);
    lua_pop(L, 2);
  }
  rc_tensor *out = NULL;
  RCL_CHECK(L, rcg_addmm(&out, c, a, b, beta, alpha));
  rcl_push_tensor(L, out);
  return 1;
}

static const luaL_Reg linalg_funcs[] = {
  {"matmul", l_matmul},
  {"mm",     l_matmul},
  {"addmm",  l_addmm},
  {"bmm",    l_bmm},
  {"dot",    l_dot},
  {NULL, NULL}
};

void rcl_open_linalg(lua_State *L) {
  rcl_add_functions(L, linalg_funcs);
  rcl_add_methods(L, linalg_funcs);
}
