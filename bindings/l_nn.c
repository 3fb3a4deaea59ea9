/* bindings/l_nn.c — Lua functions of the fused neural-network ops (embedding, dropout, losses,
   layer_norm) that recur.nn wraps as modules. Each checks its arguments, then calls core/.

   Ids are NOT shifted here, unlike the 1-based positions of gather or index_select. recur's
   token ids are row numbers: id 0 is the padding token and row 0 its row (padding_idx = 0),
   real tokens are 1..V-1 of an Embedding(V, D) holding rows 0..V-1. Class targets of
   cross_entropy and nll_loss are class numbers 0..C-1 the same way, so `ignore_index = 0`
   skips padding exactly as in PyTorch. Both go to core/ unchanged (so does a float32 target
   of class probabilities). */
#include "lrecur.h"

/* The options table at arg: 0 when absent (none or nil), arg when a table of known keys. */
static int opt_table(lua_State *L, int arg, const char *fn, const char *const *allowed) {
  if (lua_isnoneornil(L, arg)) return 0;
  if (!lua_istable(L, arg))
    return luaL_error(L, "recur.%s: options must be a table, got %s", fn, luaL_typename(L, arg));
  rcl_check_options(L, arg, fn, allowed);
  return arg;
}

/* reduction from a string at idx (absent or nil: "mean"). */
static rc_reduction check_reduction(lua_State *L, int idx, const char *fn) {
  rc_reduction r = RC_REDUCTION_MEAN;
  if (lua_isnoneornil(L, idx)) return r;
  if (lua_type(L, idx) != LUA_TSTRING)
    luaL_error(L, "recur.%s: reduction must be a string ('mean', 'sum' or 'none'), got %s", fn,
               luaL_typename(L, idx));
  RCL_CHECK(L, rc_reduction_from_name(fn, lua_tostring(L, idx), &r));
  return r;
}

static rc_reduction field_reduction(lua_State *L, int opts, const char *fn) {
  if (!opts) return RC_REDUCTION_MEAN;
  lua_getfield(L, opts, "reduction");
  rc_reduction r = check_reduction(L, -1, fn);
  lua_pop(L, 1);
  return r;
}

static int64_t field_integer(lua_State *L, int opts, const char *key, int64_t fallback,
                             const char *fn) {
  if (!opts) return fallback;
  lua_getfield(L, opts, key);
  int64_t v = fallback;
  if (!lua_isnil(L, -1)) {
    if (!lua_isinteger(L, -1))
      luaL_error(L, "recur.%s: %s must be an integer, got %s", fn, key,
                 lua_type(L, -1) == LUA_TNUMBER ? "a fraction" : luaL_typename(L, -1));
    v = lua_tointeger(L, -1);
  }
  lua_pop(L, 1);
  return v;
}

static double field_number(lua_State *L, int opts, const char *key, double fallback,
                           const char *fn) {
  if (!opts) return fallback;
  lua_getfield(L, opts, key);
  double v = fallback;
  if (!lua_isnil(L, -1)) {
    if (lua_type(L, -1) != LUA_TNUMBER)
      luaL_error(L, "recur.%s: %s must be a number, got %s", fn, key, luaL_typename(L, -1));
    v = lua_tonumber(L, -1);
  }
  lua_pop(L, 1);
  return v;
}

/* A tensor option or NULL; the table keeps it alive while the call runs. */
static rc_tensor *field_tensor(lua_State *L, int opts, const char *key, const char *fn) {
  if (!opts) return NULL;
  lua_getfield(L, opts, key);
  rc_tensor *t = NULL;
  if (!lua_isnil(L, -1) && !(t = rcl_to_tensor(L, -1)))
    luaL_error(L, "recur.%s: %s must be a tensor, got %s", fn, key, luaL_typename(L, -1));
  lua_pop(L, 1);
  return t;
}

/* A tensor or nil at arg. */
static rc_tensor *opt_tensor(lua_State *L, int arg) {
  return lua_isnoneornil(L, arg) ? NULL : rcl_check_tensor(L, arg);
}

/* recur.embedding(ids, weight[, padding_idx]): ids int64 (...) of rows 0..V-1, weight (V,D)
   -> (..., D). padding_idx (a row, nil for none) gets no gradient. */
static int l_embedding(lua_State *L) {
  rc_tensor *ids = rcl_check_tensor(L, 1), *weight = rcl_check_tensor(L, 2), *out = NULL;
  int64_t padding_idx = RC_NO_PADDING;
  if (!lua_isnoneornil(L, 3)) {
    lua_Integer p = luaL_checkinteger(L, 3);
    if (p < 0) /* in core -1 means "none"; in Lua nil does */
      return luaL_error(L, "recur.embedding: padding_idx must be a row number >= 0 or nil, "
                           "got %I", p);
    padding_idx = p;
  }
  RCL_CHECK(L, rcg_embedding(&out, weight, ids, padding_idx));
  rcl_push_tensor(L, out);
  return 1;
}

/* recur.dropout(x[, p = 0.5[, training = true]]) */
static int l_dropout(lua_State *L) {
  rc_tensor *x = rcl_check_tensor(L, 1), *out = NULL;
  double p = luaL_optnumber(L, 2, 0.5);
  bool training = true;
  if (!lua_isnoneornil(L, 3)) {
    if (!lua_isboolean(L, 3))
      return luaL_error(L, "recur.dropout: training must be a boolean, got %s",
                        luaL_typename(L, 3));
    training = lua_toboolean(L, 3);
  }
  RCL_CHECK(L, rcg_dropout(&out, x, p, training));
  rcl_push_tensor(L, out);
  return 1;
}

/* recur.mse_loss(input, target[, reduction]) with reduction a string or {reduction = ...}. */
static int l_mse_loss(lua_State *L) {
  static const char *const names[] = {"reduction", NULL};
  rc_tensor *input = rcl_check_tensor(L, 1), *target = rcl_check_tensor(L, 2), *out = NULL;
  rc_reduction r = lua_type(L, 3) == LUA_TTABLE
                       ? field_reduction(L, opt_table(L, 3, "mse_loss", names), "mse_loss")
                       : check_reduction(L, 3, "mse_loss");
  RCL_CHECK(L, rcg_mse_loss(&out, input, target, r));
  rcl_push_tensor(L, out);
  return 1;
}

/* recur.binary_cross_entropy_with_logits(input, target[, {reduction =, weight =,
   pos_weight =}]) */
static int l_bce_with_logits(lua_State *L) {
  static const char *const names[] = {"pos_weight", "reduction", "weight", NULL};
  const char *fn = "binary_cross_entropy_with_logits";
  rc_tensor *input = rcl_check_tensor(L, 1), *target = rcl_check_tensor(L, 2), *out = NULL;
  int opts = opt_table(L, 3, fn, names);
  rc_reduction r = field_reduction(L, opts, fn);
  rc_tensor *weight = field_tensor(L, opts, "weight", fn);
  rc_tensor *pos_weight = field_tensor(L, opts, "pos_weight", fn);
  RCL_CHECK(L, rcg_binary_cross_entropy_with_logits(&out, input, target, weight, pos_weight, r));
  rcl_push_tensor(L, out);
  return 1;
}

/* recur.cross_entropy(logits, target[, {reduction =, weight =, ignore_index = -100,
   label_smoothing = 0}]): target int64 class numbers 0..C-1, unshifted, or float32 class
   probabilities of the logits' shape; weight (C) float32. */
static int l_cross_entropy(lua_State *L) {
  static const char *const names[] = {"ignore_index", "label_smoothing", "reduction", "weight",
                                      NULL};
  rc_tensor *logits = rcl_check_tensor(L, 1), *target = rcl_check_tensor(L, 2), *out = NULL;
  int opts = opt_table(L, 3, "cross_entropy", names);
  rc_reduction r = field_reduction(L, opts, "cross_entropy");
  rc_tensor *weight = field_tensor(L, opts, "weight", "cross_entropy");
  int64_t ignore = field_integer(L, opts, "ignore_index", RC_IGNORE_INDEX, "cross_entropy");
  double smoothing = field_number(L, opts, "label_smoothing", 0.0, "cross_entropy");
  RCL_CHECK(L, rcg_cross_entropy(&out, logits, target, weight, ignore, smoothing, r));
  rcl_push_tensor(L, out);
  return 1;
}

/* recur.nll_loss(log_probs, target[, {reduction =, weight =, ignore_index = -100}]) */
static int l_nll_loss(lua_State *L) {
  static const char *const names[] = {"ignore_index", "reduction", "weight", NULL};
  rc_tensor *logp = rcl_check_tensor(L, 1), *target = rcl_check_tensor(L, 2), *out = NULL;
  int opts = opt_table(L, 3, "nll_loss", names);
  rc_reduction r = field_reduction(L, opts, "nll_loss");
  rc_tensor *weight = field_tensor(L, opts, "weight", "nll_loss");
  int64_t ignore = field_integer(L, opts, "ignore_index", RC_IGNORE_INDEX, "nll_loss");
  RCL_CHECK(L, rcg_nll_loss(&out, logp, target, weight, ignore, r));
  rcl_push_tensor(L, out);
  return 1;
}

/* recur.layer_norm(x, normalized_shape[, weight[, bias[, eps = 1e-5]]]): normalized_shape a
   table of the last dims' sizes, or one size. */
static int l_layer_norm(lua_State *L) {
  rc_tensor *x = rcl_check_tensor(L, 1), *out = NULL;
  int64_t shape[RC_MAX_DIMS];
  int k;
  if (lua_istable(L, 2)) {
    k = rcl_check_shape(L, 2, shape, "layer_norm");
  } else if (lua_isinteger(L, 2)) {
    shape[0] = lua_tointeger(L, 2);
    k = 1;
  } else {
    return luaL_error(L, "recur.layer_norm: normalized_shape must be a table of sizes or a "
                         "size, got %s", luaL_typename(L, 2));
  }
  rc_tensor *weight = opt_tensor(L, 3), *bias = opt_tensor(L, 4);
  double eps = luaL_optnumber(L, 5, 1e-5);
  RCL_CHECK(L, rcg_layer_norm(&out, x, k, shape, weight, bias, eps));
  rcl_push_tensor(L, out);
  return 1;
}

static const luaL_Reg nn_funcs[] = {
  {"embedding", l_embedding},
  {"dropout", l_dropout},
  {"mse_loss", l_mse_loss},
  {"binary_cross_entropy_with_logits", l_bce_with_logits},
  {"cross_entropy", l_cross_entropy},
  {"nll_loss", l_nll_loss},
  {"layer_norm", l_layer_norm},
  {NULL, NULL}
};

void rcl_open_nn(lua_State *L) {
  rcl_add_functions(L, nn_funcs);
  rcl_add_methods(L, nn_funcs); /* the first argument is a tensor: x:dropout(0.3) works too */
}
