/* bindings/l_math.c — Lua functions and methods of elementwise math: arithmetic, comparisons,
   unary functions, clamp, where, masked_fill, and the in-place forms ending in `_`. */
#include <math.h>
#include "lrecur.h"

/* --- binary: a tensor or a number on either side ------------------------------------ */

/* x op y for args 1 and 2 (at most one a number); add and sub take alpha at arg 3 as
   torch.add: x + alpha * y. */
static int binary(lua_State *L, rc_binop op, bool takes_alpha) {
  bool x_num = lua_type(L, 1) == LUA_TNUMBER, y_num = !x_num && lua_type(L, 2) == LUA_TNUMBER;
  rc_tensor *x = x_num ? NULL : rcl_check_tensor(L, 1);
  rc_tensor *y = y_num ? NULL : rcl_check_tensor(L, 2);
  double alpha = takes_alpha ? luaL_optnumber(L, 3, 1) : 1;
  double xv = x_num ? lua_tonumber(L, 1) : 0, yv = y_num ? lua_tonumber(L, 2) : 0;
  rc_tensor *scaled = NULL, *out = NULL;
  if (alpha != 1) {
    if (y_num)
      yv *= alpha;
    else
      RCL_CHECK(L, rcg_binary_scalar(&scaled, RC_MUL, y, alpha));
  }
  if (scaled) y = scaled;
  rc_status st = x_num ? rcg_scalar_binary(&out, op, xv, y)
               : y_num ? rcg_binary_scalar(&out, op, x, yv)
                       : rcg_binary(&out, op, x, y);
  rc_release(scaled);
  if (st) rcl_core_error(L);
  rcl_push_tensor(L, out);
  return 1;
}

/* x op= y: x (arg 1) is written and returned, the same userdata. */
static int binary_(lua_State *L, rc_binop op, bool takes_alpha) {
  rc_tensor *x = rcl_check_tensor(L, 1);
  bool y_num = lua_type(L, 2) == LUA_TNUMBER;
  rc_tensor *y = y_num ? NULL : rcl_check_tensor(L, 2);
  double alpha = takes_alpha ? luaL_optnumber(L, 3, 1) : 1;
  double yv = y_num ? lua_tonumber(L, 2) : 0;
  rc_tensor *scaled = NULL;
  if (alpha != 1) {
    if (y_num)
      yv *= alpha;
    else
      RCL_CHECK(L, rcg_binary_scalar(&scaled, RC_MUL, y, alpha));
  }
  if (scaled) y = scaled;
  rc_status st = y_num ? rcg_binary_scalar_(x, op, yv) : rcg_binary_(x, op, y);
  rc_release(scaled);
  if (st) rcl_core_error(L);
  lua_pushvalue(L, 1);
  return 1;
}

static int math_add(lua_State *L) { return binary(L, RC_ADD, true); }
static int math_sub(lua_State *L) { return binary(L, RC_SUB, true); }
static int math_mul(lua_State *L) { return binary(L, RC_MUL, false); }
static int math_div(lua_State *L) { return binary(L, RC_DIV, false); }
static int math_pow(lua_State *L) { return binary(L, RC_POW, false); }
static int math_maximum(lua_State *L) { return binary(L, RC_MAXIMUM, false); }
static int math_minimum(lua_State *L) { return binary(L, RC_MINIMUM, false); }
static int math_eq(lua_State *L) { return binary(L, RC_EQ, false); }
static int math_ne(lua_State *L) { return binary(L, RC_NE, false); }
static int math_lt(lua_State *L) { return binary(L, RC_LT, false); }
static int math_le(lua_State *L) { return binary(L, RC_LE, false); }
static int math_gt(lua_State *L) { return binary(L, RC_GT, false); }
static int math_ge(lua_State *L) { return binary(L, RC_GE, false); }

static int math_add_(lua_State *L) { return binary_(L, RC_ADD, true); }
static int math_sub_(lua_State *L) { return binary_(L, RC_SUB, true); }
static int math_mul_(lua_State *L) { return binary_(L, RC_MUL, false); }
static int math_div_(lua_State *L) { return binary_(L, RC_DIV, false); }
static int math_pow_(lua_State *L) { return binary_(L, RC_POW, false); }
static int math_eq_(lua_State *L) { return binary_(L, RC_EQ, false); }
static int math_ne_(lua_State *L) { return binary_(L, RC_NE, false); }
static int math_lt_(lua_State *L) { return binary_(L, RC_LT, false); }
static int math_le_(lua_State *L) { return binary_(L, RC_LE, false); }
static int math_gt_(lua_State *L) { return binary_(L, RC_GT, false); }
static int math_ge_(lua_State *L) { return binary_(L, RC_GE, false); }

/* --- unary ---------------------------------------------------------------------------- */

static int unary(lua_State *L, rc_unop op) {
  rc_tensor *out = NULL;
  RCL_CHECK(L, rcg_unary(&out, op, rcl_check_tensor(L, 1)));
  rcl_push_tensor(L, out);
  return 1;
}

static int unary_(lua_State *L, rc_unop op) {
  RCL_CHECK(L, rcg_unary_(rcl_check_tensor(L, 1), op));
  lua_pushvalue(L, 1);
  return 1;
}

static int math_neg(lua_State *L) { return unary(L, RC_NEG); }
static int math_abs(lua_State *L) { return unary(L, RC_ABS); }
static int math_exp(lua_State *L) { return unary(L, RC_EXP); }
static int math_log(lua_State *L) { return unary(L, RC_LOG); }
static int math_sqrt(lua_State *L) { return unary(L, RC_SQRT); }
static int math_tanh(lua_State *L) { return unary(L, RC_TANH); }
static int math_sigmoid(lua_State *L) { return unary(L, RC_SIGMOID); }
static int math_relu(lua_State *L) { return unary(L, RC_RELU); }
static int math_sin(lua_State *L) { return unary(L, RC_SIN); }
static int math_cos(lua_State *L) { return unary(L, RC_COS); }
static int math_floor(lua_State *L) { return unary(L, RC_FLOOR); }
static int math_ceil(lua_State *L) { return unary(L, RC_CEIL); }
static int math_round(lua_State *L) { return unary(L, RC_ROUND); }
static int math_sign(lua_State *L) { return unary(L, RC_SIGN); }
static int math_reciprocal(lua_State *L) { return unary(L, RC_RECIPROCAL); }
static int math_square(lua_State *L) { return unary(L, RC_SQUARE); }
static int math_log1p(lua_State *L) { return unary(L, RC_LOG1P); }

static int math_neg_(lua_State *L) { return unary_(L, RC_NEG); }
static int math_abs_(lua_State *L) { return unary_(L, RC_ABS); }
static int math_exp_(lua_State *L) { return unary_(L, RC_EXP); }
static int math_log_(lua_State *L) { return unary_(L, RC_LOG); }
static int math_sqrt_(lua_State *L) { return unary_(L, RC_SQRT); }
static int math_tanh_(lua_State *L) { return unary_(L, RC_TANH); }
static int math_sigmoid_(lua_State *L) { return unary_(L, RC_SIGMOID); }
static int math_relu_(lua_State *L) { return unary_(L, RC_RELU); }
static int math_sin_(lua_State *L) { return unary_(L, RC_SIN); }
static int math_cos_(lua_State *L) { return unary_(L, RC_COS); }
static int math_floor_(lua_State *L) { return unary_(L, RC_FLOOR); }
static int math_ceil_(lua_State *L) { return unary_(L, RC_CEIL); }
static int math_round_(lua_State *L) { return unary_(L, RC_ROUND); }
static int math_sign_(lua_State *L) { return unary_(L, RC_SIGN); }
static int math_reciprocal_(lua_State *L) { return unary_(L, RC_RECIPROCAL); }
static int math_square_(lua_State *L) { return unary_(L, RC_SQUARE); }
static int math_log1p_(lua_State *L) { return unary_(L, RC_LOG1P); }

/* --- clamp ------------------------------------------------------------------------------ */

/* clamp(t, min, max): nil (or nothing) for a missing bound, which the core spells NAN. */
static double opt_bound(lua_State *L, int arg) {
  return lua_isnoneornil(L, arg) ? NAN : luaL_checknumber(L, arg);
}

static int math_clamp(lua_State *L) {
  rc_tensor *t = rcl_check_tensor(L, 1), *out = NULL;
  double lo = opt_bound(L, 2), hi = opt_bound(L, 3);
  RCL_CHECK(L, rcg_clamp(&out, t, lo, hi));
  rcl_push_tensor(L, out);
  return 1;
}

static int math_clamp_(lua_State *L) {
  rc_tensor *t = rcl_check_tensor(L, 1);
  double lo = opt_bound(L, 2), hi = opt_bound(L, 3);
  RCL_CHECK(L, rcg_clamp_(t, lo, hi));
  lua_pushvalue(L, 1);
  return 1;
}

/* --- where and masked_fill ------------------------------------------------------------- */

/* A tensor at arg, or a number there as a 0-d tensor: a Lua integer becomes int64 and a float
   float32, so where(c, long_t, 0) stays int64 as in torch. The new tensor is pushed, so Lua
   owns it and an error later cannot leak it. */
static rc_tensor *check_value(lua_State *L, int arg) {
  if (lua_type(L, arg) != LUA_TNUMBER) return rcl_check_tensor(L, arg);
  rc_tensor *t = NULL;
  if (lua_isinteger(L, arg)) {
    RCL_CHECK(L, rc_empty(&t, RC_INT64, 0, NULL));
    rc_i64(t)[0] = lua_tointeger(L, arg);
  } else {
    RCL_CHECK(L, rc_full(&t, RC_FLOAT32, 0, NULL, lua_tonumber(L, arg)));
  }
  rcl_push_tensor(L, t);
  return t;
}

/* out = cond ? a : b, with the condition and the values if true and if false at the args
   given (the method puts them in another order). */
static int where(lua_State *L, int cond_arg, int a_arg, int b_arg) {
  rc_tensor *cond = rcl_check_tensor(L, cond_arg), *out = NULL;
  rc_tensor *a = check_value(L, a_arg);
  rc_tensor *b = check_value(L, b_arg);
  RCL_CHECK(L, rcg_where(&out, cond, a, b));
  rcl_push_tensor(L, out);
  return 1;
}

/* recur.where(cond, a, b) */
static int math_where(lua_State *L) { return where(L, 1, 2, 3); }
/* a:where(cond, b), as torch.Tensor.where: a where cond holds, b elsewhere */
static int method_where(lua_State *L) {
  rcl_check_tensor(L, 1);
  return where(L, 2, 1, 3);
}

/* The fill value: a number, or a one-element tensor as torch allows. */
static double check_fill_value(lua_State *L, int arg) {
  if (lua_type(L, arg) == LUA_TNUMBER) return lua_tonumber(L, arg);
  rc_tensor *v = rcl_to_tensor(L, arg);
  if (!v || rc_numel(v) != 1) {
    const char *got = v ? "a tensor of several elements" : luaL_typename(L, arg);
    luaL_argerror(L, arg,
                  lua_pushfstring(L, "number or one-element tensor expected, got %s", got));
  }
  return rc_get_flat(v, 0);
}

static int math_masked_fill(lua_State *L) {
  rc_tensor *t = rcl_check_tensor(L, 1), *mask = rcl_check_tensor(L, 2), *out = NULL;
  double value = check_fill_value(L, 3);
  RCL_CHECK(L, rcg_masked_fill(&out, t, mask, value));
  rcl_push_tensor(L, out);
  return 1;
}

static int math_masked_fill_(lua_State *L) {
  rc_tensor *t = rcl_check_tensor(L, 1), *mask = rcl_check_tensor(L, 2);
  double value = check_fill_value(L, 3);
  RCL_CHECK(L, rcg_masked_fill_(t, mask, value));
  lua_pushvalue(L, 1);
  return 1;
}

/* Each is both recur.<name>(t, ...) and t:<name>(...). */
static const luaL_Reg math_funcs[] = {
  {"add", math_add}, {"sub", math_sub}, {"mul", math_mul}, {"div", math_div}, {"pow", math_pow},
  {"maximum", math_maximum}, {"minimum", math_minimum}, {"eq", math_eq}, {"ne", math_ne},
  {"lt", math_lt}, {"le", math_le}, {"gt", math_gt}, {"ge", math_ge},
  {"add_", math_add_}, {"sub_", math_sub_}, {"mul_", math_mul_}, {"div_", math_div_},
  {"pow_", math_pow_}, {"eq_", math_eq_}, {"ne_", math_ne_}, {"lt_", math_lt_}, {"le_", math_le_},
  {"gt_", math_gt_}, {"ge_", math_ge_},
  {"neg", math_neg}, {"abs", math_abs}, {"exp", math_exp}, {"log", math_log}, {"sqrt", math_sqrt},
  {"tanh", math_tanh}, {"sigmoid", math_sigmoid}, {"relu", math_relu}, {"sin", math_sin},
  {"cos", math_cos}, {"floor", math_floor}, {"ceil", math_ceil}, {"round", math_round},
  {"sign", math_sign}, {"reciprocal", math_reciprocal}, {"square", math_square},
  {"log1p", math_log1p},
  {"neg_", math_neg_}, {"abs_", math_abs_}, {"exp_", math_exp_}, {"log_", math_log_},
  {"sqrt_", math_sqrt_}, {"tanh_", math_tanh_}, {"sigmoid_", math_sigmoid_},
  {"relu_", math_relu_}, {"sin_", math_sin_}, {"cos_", math_cos_}, {"floor_", math_floor_},
  {"ceil_", math_ceil_}, {"round_", math_round_}, {"sign_", math_sign_},
  {"reciprocal_", math_reciprocal_}, {"square_", math_square_}, {"log1p_", math_log1p_},
  {"clamp", math_clamp}, {"clamp_", math_clamp_},
  {"where", math_where},
  {"masked_fill", math_masked_fill}, {"masked_fill_", math_masked_fill_},
  {NULL, NULL}
};

/* The method where differs from the function: t:where(cond, other) puts t first, as torch. */
static const luaL_Reg math_method_overrides[] = {
  {"where", method_where},
  {NULL, NULL}
};

void rcl_open_math(lua_State *L) {
  rcl_add_functions(L, math_funcs);
  rcl_add_methods(L, math_funcs);
  rcl_add_methods(L, math_method_overrides);
}
