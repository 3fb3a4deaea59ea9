/* bindings/l_optim.c — the fused optimizer updates for scripts/recur/optim.lua: recur._sgd_step,
   _adam_step, _adamw_step, _rmsprop_step, _adagrad_step (internal: the underscore says so). */
#include "lrecur.h"
#include "../core/optim.h"

/* opts[key] as a number; hyperparameters always come filled in by optim.lua. */
static double field_number(lua_State *L, int opts, const char *key, const char *fn) {
  lua_getfield(L, opts, key);
  int ok;
  double v = lua_tonumberx(L, -1, &ok);
  if (!ok)
    luaL_error(L, "recur.%s: option '%s' must be a number, got %s", fn, key,
               luaL_typename(L, -1));
  lua_pop(L, 1);
  return v;
}

/* opts[key] as a boolean: nil means false. */
static bool field_bool(lua_State *L, int opts, const char *key, const char *fn) {
  lua_getfield(L, opts, key);
  if (!lua_isnil(L, -1) && !lua_isboolean(L, -1))
    luaL_error(L, "recur.%s: option '%s' must be a boolean, got %s", fn, key,
               luaL_typename(L, -1));
  bool v = lua_toboolean(L, -1);
  lua_pop(L, 1);
  return v;
}

/* A tensor at arg, or NULL for nil. */
static rc_tensor *opt_tensor(lua_State *L, int arg) {
  return lua_isnoneornil(L, arg) ? NULL : rcl_check_tensor(L, arg);
}

/* recur._sgd_step(param, grad, momentum_buffer | nil, opts) -> momentum_buffer | nil
   opts: lr, momentum, dampening, weight_decay, nesterov, maximize. With momentum, a nil
   buffer (the first step) comes back as a new one. */
static int l_sgd_step(lua_State *L) {
  const char *fn = "_sgd_step";
  rc_tensor *param = rcl_check_tensor(L, 1), *grad = rcl_check_tensor(L, 2);
  rc_tensor *buf = opt_tensor(L, 3);
  luaL_checktype(L, 4, LUA_TTABLE);
  rc_sgd_options o = {
    .lr = field_number(L, 4, "lr", fn),
    .momentum = field_number(L, 4, "momentum", fn),
    .dampening = field_number(L, 4, "dampening", fn),
    .weight_decay = field_number(L, 4, "weight_decay", fn),
    .nesterov = field_bool(L, 4, "nesterov", fn),
    .maximize = field_bool(L, 4, "maximize", fn),
  };
  bool had_buf = buf != NULL;
  RCL_CHECK(L, rc_sgd_step(param, grad, &buf, &o));
  if (!buf)
    lua_pushnil(L);
  else if (had_buf)
    lua_pushvalue(L, 3);
  else
    rcl_push_tensor(L, buf); /* the new buffer: Lua owns it now */
  return 1;
}

/* opts: lr, betas = {beta1, beta2}, eps, weight_decay, amsgrad, maximize. */
static void adam_options(lua_State *L, int opts, const char *fn, rc_adam_options *o) {
  lua_getfield(L, opts, "betas");
  if (!lua_istable(L, -1))
    luaL_error(L, "recur.%s: option 'betas' must be a table {beta1, beta2}, got %s", fn,
               luaL_typename(L, -1));
  int betas = lua_gettop(L);
  for (int i = 1; i <= 2; i++) {
    lua_geti(L, betas, i);
    int ok;
    double b = lua_tonumberx(L, -1, &ok);
    if (!ok) luaL_error(L, "recur.%s: betas[%d] must be a number, got %s", fn, i,
                        luaL_typename(L, -1));
    if (i == 1) o->beta1 = b; else o->beta2 = b;
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  o->lr = field_number(L, opts, "lr", fn);
  o->eps = field_number(L, opts, "eps", fn);
  o->weight_decay = field_number(L, opts, "weight_decay", fn);
  o->amsgrad = field_bool(L, opts, "amsgrad", fn);
  o->maximize = field_bool(L, opts, "maximize", fn);
}

/* recur._adam_step(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq | nil, step, opts);
   step counts from 1. _adamw_step likewise. */
static int adam_like(lua_State *L, bool decoupled) {
  const char *fn = decoupled ? "_adamw_step" : "_adam_step";
  rc_tensor *param = rcl_check_tensor(L, 1), *grad = rcl_check_tensor(L, 2);
  rc_tensor *exp_avg = rcl_check_tensor(L, 3), *exp_avg_sq = rcl_check_tensor(L, 4);
  rc_tensor *vmax = opt_tensor(L, 5);
  lua_Integer step = luaL_checkinteger(L, 6);
  luaL_checktype(L, 7, LUA_TTABLE);
  rc_adam_options o;
  adam_options(L, 7, fn, &o);
  if (decoupled)
    RCL_CHECK(L, rc_adamw_step(param, grad, exp_avg, exp_avg_sq, vmax, step, &o));
  else
    RCL_CHECK(L, rc_adam_step(param, grad, exp_avg, exp_avg_sq, vmax, step, &o));
  return 0;
}

static int l_adam_step(lua_State *L) { return adam_like(L, false); }
static int l_adamw_step(lua_State *L) { return adam_like(L, true); }

/* recur._rmsprop_step(param, grad, square_avg, grad_avg | nil, momentum_buffer | nil, opts)
   opts: lr, alpha, eps, weight_decay, momentum, centered, maximize. */
static int l_rmsprop_step(lua_State *L) {
  const char *fn = "_rmsprop_step";
  rc_tensor *param = rcl_check_tensor(L, 1), *grad = rcl_check_tensor(L, 2);
  rc_tensor *square_avg = rcl_check_tensor(L, 3);
  rc_tensor *grad_avg = opt_tensor(L, 4), *buf = opt_tensor(L, 5);
  luaL_checktype(L, 6, LUA_TTABLE);
  rc_rmsprop_options o = {
    .lr = field_number(L, 6, "lr", fn),
    .alpha = field_number(L, 6, "alpha", fn),
    .eps = field_number(L, 6, "eps", fn),
    .weight_decay = field_number(L, 6, "weight_decay", fn),
    .momentum = field_number(L, 6, "momentum", fn),
    .centered = field_bool(L, 6, "centered", fn),
    .maximize = field_bool(L, 6, "maximize", fn),
  };
  RCL_CHECK(L, rc_rmsprop_step(param, grad, square_avg, grad_avg, buf, &o));
  return 0;
}

/* recur._adagrad_step(param, grad, sum, step, opts); opts: lr, lr_decay, weight_decay, eps,
   maximize. */
static int l_adagrad_step(lua_State *L) {
  const char *fn = "_adagrad_step";
  rc_tensor *param = rcl_check_tensor(L, 1), *grad = rcl_check_tensor(L, 2);
  rc_tensor *sum = rcl_check_tensor(L, 3);
  lua_Integer step = luaL_checkinteger(L, 4);
  luaL_checktype(L, 5, LUA_TTABLE);
  rc_adagrad_options o = {
    .lr = field_number(L, 5, "lr", fn),
    .lr_decay = field_number(L, 5, "lr_decay", fn),
    .weight_decay = field_number(L, 5, "weight_decay", fn),
    .eps = field_number(L, 5, "eps", fn),
    .maximize = field_bool(L, 5, "maximize", fn),
  };
  RCL_CHECK(L, rc_adagrad_step(param, grad, sum, step, &o));
  return 0;
}

static const luaL_Reg optim_funcs[] = {
  {"_sgd_step", l_sgd_step},
  {"_adam_step", l_adam_step},
  {"_adamw_step", l_adamw_step},
  {"_rmsprop_step", l_rmsprop_step},
  {"_adagrad_step", l_adagrad_step},
  {NULL, NULL}
};

void rcl_open_optim(lua_State *L) {
  rcl_add_functions(L, optim_funcs);
}
