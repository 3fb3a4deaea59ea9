/* bindings/l_reduce.c — Lua functions and methods of reductions (sum, mean, prod, max, min,
   argmax, argmin, norm, logsumexp) and softmax/log_softmax. Dims and returned indices are 1-based.
   All but argmax/argmin (and max's indices) are differentiable: they call the rcg_* ops. */
#include "lrecur.h"

/* keepdim at arg: absent or nil = false, else it must be a boolean. */
static bool opt_keepdim(lua_State *L, int arg, const char *fn) {
  if (lua_isnoneornil(L, arg)) return false;
  if (!lua_isboolean(L, arg))
    luaL_error(L, "recur.%s: keepdim must be a boolean, got %s", fn, luaL_typename(L, arg));
  return lua_toboolean(L, arg);
}

/* Core indices are 0-based; Lua's are 1-based (as Torch7). idx is a new tensor we own. The
   1-based copy is a new tensor, not idx changed in place: max's gradient keeps idx. */
static void push_lua_indices(lua_State *L, rc_tensor *idx) {
  rc_tensor *one_based = NULL;
  rc_status st = rc_binary_scalar(&one_based, RC_ADD, idx, 1);
  rc_release(idx);
  RCL_CHECK(L, st);
  rcl_push_tensor(L, one_based);
}

/* t:sum([dim[, keepdim]]) and mean, prod: all dims (a 0-d tensor) without a dim. */
static int reduce(lua_State *L, rc_reduce_op op, const char *fn) {
  rc_tensor *t = rcl_check_tensor(L, 1), *out = NULL;
  int dim = rcl_opt_dim(L, 2, t->ndim, RC_ALL_DIMS, fn);
  bool keepdim = opt_keepdim(L, 3, fn);
  RCL_CHECK(L, rcg_reduce(&out, op, t, dim, keepdim));
  rcl_push_tensor(L, out);
  return 1;
}

static int l_sum(lua_State *L) { return reduce(L, RC_SUM, "sum"); }
static int l_mean(lua_State *L) { return reduce(L, RC_MEAN, "mean"); }
static int l_prod(lua_State *L) { return reduce(L, RC_PROD, "prod"); }

/* t:max() -> a 0-d tensor; t:max(dim[, keepdim]) -> values, indices; t:max(other) -> the
   elementwise maximum, as torch.max. min likewise. */
static int extreme(lua_State *L, bool is_min) {
  const char *fn = is_min ? "min" : "max";
  rc_tensor *t = rcl_check_tensor(L, 1), *out = NULL, *idx = NULL;
  rc_tensor *other = rcl_to_tensor(L, 2);
  if (other) {
    RCL_CHECK(L, rcg_binary(&out, is_min ? RC_MINIMUM : RC_MAXIMUM, t, other));
    rcl_push_tensor(L, out);
    return 1;
  }
  if (lua_isnoneornil(L, 2)) {
    bool keepdim = opt_keepdim(L, 3, fn);
    RCL_CHECK(L, rcg_reduce(&out, is_min ? RC_MIN : RC_MAX, t, RC_ALL_DIMS, keepdim));
    rcl_push_tensor(L, out);
    return 1;
  }
  int dim = rcl_check_dim(L, 2, t->ndim, 0, fn);
  bool keepdim = opt_keepdim(L, 3, fn);
  RCL_CHECK(L, rcg_max_dim(&out, &idx, t, dim, keepdim, is_min));
  rcl_push_tensor(L, out); /* now owned by Lua */
  push_lua_indices(L, idx);
  return 2;
}

static int l_max(lua_State *L) { return extreme(L, false); }
static int l_min(lua_State *L) { return extreme(L, true); }

/* t:argmax([dim[, keepdim]]): without a dim, the flat (row-major) position, 1-based. */
static int arg_extreme(lua_State *L, bool is_min) {
  const char *fn = is_min ? "argmin" : "argmax";
  rc_tensor *t = rcl_check_tensor(L, 1), *idx = NULL;
  int dim = rcl_opt_dim(L, 2, t->ndim, RC_ALL_DIMS, fn);
  bool keepdim = opt_keepdim(L, 3, fn);
  RCL_CHECK(L, rc_argmax(&idx, t, dim, keepdim, is_min));
  push_lua_indices(L, idx);
  return 1;
}

static int l_argmax(lua_State *L) { return arg_extreme(L, false); }
static int l_argmin(lua_State *L) { return arg_extreme(L, true); }

/* t:norm([p[, dim[, keepdim]]]): p = 2 by default; math.huge for the max-abs norm. */
static int l_norm(lua_State *L) {
  rc_tensor *t = rcl_check_tensor(L, 1), *out = NULL;
  double p = luaL_optnumber(L, 2, 2.0);
  int dim = rcl_opt_dim(L, 3, t->ndim, RC_ALL_DIMS, "norm");
  bool keepdim = opt_keepdim(L, 4, "norm");
  RCL_CHECK(L, rcg_norm(&out, t, p, dim, keepdim));
  rcl_push_tensor(L, out);
  return 1;
}

/* t:logsumexp(dim[, keepdim]): the dim is required, as torch.logsumexp. */
static int l_logsumexp(lua_State *L) {
  rc_tensor *t = rcl_check_tensor(L, 1), *out = NULL;
  int dim = rcl_check_dim(L, 2, t->ndim, 0, "logsumexp");
  bool keepdim = opt_keepdim(L, 3, "logsumexp");
  RCL_CHECK(L, rcg_logsumexp(&out, t, dim, keepdim));
  rcl_push_tensor(L, out);
  return 1;
}

static int l_softmax(lua_State *L) {
  rc_tensor *t = rcl_check_tensor(L, 1), *out = NULL;
  int dim = rcl_check_dim(L, 2, t->ndim, 0, "softmax");
  RCL_CHECK(L, rcg_softmax(&out, t, dim));
  rcl_push_tensor(L, out);
  return 1;
}

static int l_log_softmax(lua_State *L) {
  rc_tensor *t = rcl_check_tensor(L, 1), *out = NULL;
  int dim = rcl_check_dim(L, 2, t->ndim, 0, "log_softmax");
  RCL_CHECK(L, rcg_log_softmax(&out, t, dim));
  rcl_push_tensor(L, out);
  return 1;
}

static const luaL_Reg reduce_funcs[] = {
  {"sum", l_sum}, {"mean", l_mean}, {"prod", l_prod},
  {"max", l_max}, {"min", l_min}, {"argmax", l_argmax}, {"argmin", l_argmin},
  {"norm", l_norm}, {"logsumexp", l_logsumexp},
  {"softmax", l_softmax}, {"log_softmax", l_log_softmax},
  {NULL, NULL}
};

void rcl_open_reduce(lua_State *L) {
  rcl_add_functions(L, reduce_funcs);
  rcl_add_methods(L, reduce_funcs); /* the tensor comes first: recur.sum(t, 1) == t:sum(1) */
}
