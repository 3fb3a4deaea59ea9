/* bindings/l_autograd.c — autograd from Lua: t:backward(), t.grad, t.requires_grad,
   t:requires_grad_(), t:detach(), t.grad_fn, t.is_leaf, and recur.no_grad in both forms. */
#include <string.h>
#include "lrecur.h"

/* t:backward([grad][, {retain_graph = false}]) */
static int l_backward(lua_State *L) {
  rc_tensor *t = rcl_check_tensor(L, 1);
  int opts = 0;
  rc_tensor *grad = NULL;
  if (lua_istable(L, 2) && !rcl_to_tensor(L, 2)) {
    opts = 2;
  } else if (!lua_isnoneornil(L, 2)) {
    grad = rcl_check_tensor(L, 2);
    if (lua_istable(L, 3)) opts = 3;
  }
  bool retain = false;
  if (opts) {
    static const char *const names[] = {"retain_graph", NULL};
    rcl_check_options(L, opts, "backward", names);
    lua_getfield(L, opts, "retain_graph");
    retain = lua_toboolean(L, -1);
    lua_pop(L, 1);
  }
  RCL_CHECK(L, rc_backward(t, grad, retain));
  return 0;
}

static int l_detach(lua_State *L) {
  rc_tensor *out = NULL;
  RCL_CHECK(L, rc_detach(&out, rcl_check_tensor(L, 1)));
  rcl_push_tensor(L, out);
  return 1;
}

static void set_requires_grad(lua_State *L, rc_tensor *t, bool on) {
  if (on && t->dtype != RC_FLOAT32)
    luaL_error(L, "recur.requires_grad_: only float32 tensors can require grad, this one is %s",
               rc_dtype_name(t->dtype));
  if (!on && t->grad_fn)
    luaL_error(L, "recur.requires_grad_: a result of other tensors cannot stop requiring grad; "
                  "use t:detach()");
  t->requires_grad = on;
}

/* t:requires_grad_([flag = true]) -> t */
static int l_requires_grad_(lua_State *L) {
  rc_tensor *t = rcl_check_tensor(L, 1);
  set_requires_grad(L, t, lua_isnoneornil(L, 2) ? true : lua_toboolean(L, 2));
  lua_settop(L, 1);
  return 1;
}

/* t:zero_grad_() is not PyTorch; t.grad = nil is. This helper drops the gradient. */

int rcl_tensor_property(lua_State *L, rc_tensor *t, const char *key) {
  if (!strcmp(key, "grad")) {
    if (t->grad)
      rcl_push_tensor(L, rc_retain(t->grad));
    else
      lua_pushnil(L);
  } else if (!strcmp(key, "requires_grad")) {
    lua_pushboolean(L, t->requires_grad);
  } else if (!strcmp(key, "is_leaf")) {
    lua_pushboolean(L, t->grad_fn == NULL);
  } else if (!strcmp(key, "grad_fn")) {
    if (t->grad_fn)
      lua_pushstring(L, t->grad_fn->name);
    else
      lua_pushnil(L);
  } else {
    return 0;
  }
  return 1;
}

int rcl_set_tensor_property(lua_State *L, rc_tensor *t, const char *key, int value) {
  if (!strcmp(key, "requires_grad")) {
    set_requires_grad(L, t, lua_toboolean(L, value));
  } else if (!strcmp(key, "grad")) {
    rc_tensor *g = lua_isnil(L, value) ? NULL : rcl_check_tensor(L, value);
    if (g) {
      bool same = g->ndim == t->ndim && g->dtype == t->dtype;
      for (int d = 0; same && d < t->ndim; d++) same = g->shape[d] == t->shape[d];
      if (!same) {
        char s1[128], s2[128];
        return luaL_error(L, "recur.grad: the gradient must match the tensor: got %s %s for a "
                             "%s %s", rc_dtype_name(g->dtype), rc_shape_str(g, s1, sizeof s1),
                          rc_dtype_name(t->dtype), rc_shape_str(t, s2, sizeof s2));
      }
    }
    rc_release(t->grad);
    t->grad = rc_retain(g);
  } else {
    return luaL_error(L, "recur: tensors have no settable field '%s' (settable: requires_grad, "
                         "grad)", key);
  }
  return 0;
}

/* --- grad mode -------------------------------------------------------------------- */

static int guard_close(lua_State *L) {
  bool *was = luaL_checkudata(L, 1, "recur.GradModeGuard");
  rc_set_grad_enabled(*was);
  return 0;
}

/* recur.no_grad(fn, ...) runs fn with grad mode off and returns its results;
   recur.no_grad() returns a guard for `local _ <close> = recur.no_grad()`. Same for
   enable_grad. Grad mode is restored even when fn raises an error. */
static int grad_mode_scope(lua_State *L, bool enabled) {
  if (lua_isnoneornil(L, 1)) {
    bool *was = lua_newuserdatauv(L, sizeof *was, 0);
    *was = rc_set_grad_enabled(enabled);
    luaL_setmetatable(L, "recur.GradModeGuard");
    return 1;
  }
  luaL_checktype(L, 1, LUA_TFUNCTION);
  int nargs = lua_gettop(L) - 1;
  bool was = rc_set_grad_enabled(enabled);
  int status = lua_pcall(L, nargs, LUA_MULTRET, 0);
  rc_set_grad_enabled(was);
  if (status != LUA_OK) return lua_error(L);
  return lua_gettop(L);
}

static int l_no_grad(lua_State *L) { return grad_mode_scope(L, false); }
static int l_enable_grad(lua_State *L) { return grad_mode_scope(L, true); }

static int l_is_grad_enabled(lua_State *L) {
  lua_pushboolean(L, rc_grad_enabled());
  return 1;
}

static int l_set_grad_enabled(lua_State *L) {
  luaL_checktype(L, 1, LUA_TBOOLEAN);
  lua_pushboolean(L, rc_set_grad_enabled(lua_toboolean(L, 1)));
  return 1;
}

static const luaL_Reg autograd_methods[] = {
  {"backward", l_backward},
  {"detach", l_detach},
  {"requires_grad_", l_requires_grad_},
  {NULL, NULL}
};

static const luaL_Reg autograd_funcs[] = {
  {"no_grad", l_no_grad},
  {"enable_grad", l_enable_grad},
  {"is_grad_enabled", l_is_grad_enabled},
  {"set_grad_enabled", l_set_grad_enabled},
  {"backward", l_backward},
  {"detach", l_detach},
  {NULL, NULL}
};

void rcl_open_autograd(lua_State *L) {
  luaL_newmetatable(L, "recur.GradModeGuard");
  lua_pushcfunction(L, guard_close);
  lua_setfield(L, -2, "__close");
  lua_pop(L, 1);
  rcl_add_methods(L, autograd_methods);
  rcl_add_functions(L, autograd_funcs);
}
