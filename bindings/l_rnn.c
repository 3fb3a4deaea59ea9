/* bindings/l_rnn.c — the fused recurrent layers and cells for the Lua nn modules
   (scripts/recur/nn/rnn.lua): internal functions recur._rnn, recur._rnn_cell,
   recur._rnn_weights. The modules hold the weights; these translate and call core/rnn.h. */
#include <string.h>
#include "lrecur.h"
#include "../core/rnn.h"

static rc_rnn_mode check_mode(lua_State *L, int arg, const char *fn) {
  rc_rnn_mode mode;
  const char *name = luaL_checkstring(L, arg);
  if (rc_rnn_mode_from_name(name, &mode) != RC_OK)
    luaL_error(L, "recur.%s: unknown mode '%s' (expected RNN_TANH, RNN_RELU, LSTM or GRU)", fn,
               name);
  return mode;
}

static int64_t int_field(lua_State *L, int t, const char *key, int64_t fallback) {
  lua_getfield(L, t, key);
  int64_t v = lua_isnil(L, -1) ? fallback : luaL_checkinteger(L, -1);
  lua_pop(L, 1);
  return v;
}

static bool bool_field(lua_State *L, int t, const char *key, bool fallback) {
  lua_getfield(L, t, key);
  bool v = lua_isnil(L, -1) ? fallback : lua_toboolean(L, -1);
  lua_pop(L, 1);
  return v;
}

/* The config table {input_size, hidden_size, num_layers, bidirectional, dropout, training,
   bias} at arg, for mode. */
static rc_rnn_config check_config(lua_State *L, int arg, rc_rnn_mode mode) {
  static const char *const names[] = {"input_size", "hidden_size", "num_layers", "bidirectional",
                                      "dropout", "training", "bias", NULL};
  luaL_checktype(L, arg, LUA_TTABLE);
  rcl_check_options(L, arg, "_rnn", names);
  rc_rnn_config cfg = {0};
  cfg.mode = mode;
  cfg.input_size = int_field(L, arg, "input_size", 0);
  cfg.hidden_size = int_field(L, arg, "hidden_size", 0);
  cfg.num_layers = (int)int_field(L, arg, "num_layers", 1);
  cfg.bidirectional = bool_field(L, arg, "bidirectional", false);
  cfg.training = bool_field(L, arg, "training", true);
  cfg.has_bias = bool_field(L, arg, "bias", true);
  lua_getfield(L, arg, "dropout");
  cfg.dropout = luaL_optnumber(L, -1, 0);
  lua_pop(L, 1);
  return cfg;
}

/* The tensor at arg, or NULL for nil. */
static rc_tensor *opt_tensor(lua_State *L, int arg) {
  return lua_isnoneornil(L, arg) ? NULL : rcl_check_tensor(L, arg);
}

/* recur._rnn(mode, cfg, x, h0, c0, lengths, weights) -> out, h_n[, c_n] */
static int l_rnn(lua_State *L) {
  rc_rnn_mode mode = check_mode(L, 1, "_rnn");
  rc_rnn_config cfg = check_config(L, 2, mode);
  rc_tensor *x = rcl_check_tensor(L, 3);
  rc_tensor *h0 = opt_tensor(L, 4), *c0 = opt_tensor(L, 5), *lengths = opt_tensor(L, 6);
  luaL_checktype(L, 7, LUA_TTABLE);
  int n = (int)luaL_len(L, 7);
  if (n > 1024) return luaL_error(L, "recur._rnn: %d weights is too many (at most 1024)", n);
  const rc_tensor *weights[1024];
  for (int i = 0; i < n; i++) {
    lua_geti(L, 7, i + 1);
    weights[i] = rcl_check_tensor(L, -1); /* stays referenced by the table at 7 */
    lua_pop(L, 1);
  }
  rc_tensor *out = NULL, *h_n = NULL, *c_n = NULL;
  RCL_CHECK(L, rcg_rnn(&out, &h_n, mode == RC_LSTM ? &c_n : NULL, &cfg, x, h0, c0, lengths, n,
                       weights));
  rcl_push_tensor(L, out);
  rcl_push_tensor(L, h_n);
  if (c_n) {
    rcl_push_tensor(L, c_n);
    return 3;
  }
  return 2;
}

/* recur._rnn_cell(mode, x, hx, cx, w_ih, w_hh, b_ih, b_hh) -> h[, c] */
static int l_rnn_cell(lua_State *L) {
  rc_rnn_mode mode = check_mode(L, 1, "_rnn_cell");
  rc_tensor *x = rcl_check_tensor(L, 2);
  rc_tensor *hx = opt_tensor(L, 3), *cx = opt_tensor(L, 4);
  rc_tensor *w_ih = rcl_check_tensor(L, 5), *w_hh = rcl_check_tensor(L, 6);
  rc_tensor *b_ih = opt_tensor(L, 7), *b_hh = opt_tensor(L, 8);
  rc_tensor *h = NULL, *c = NULL;
  RCL_CHECK(L, rcg_rnn_cell(&h, mode == RC_LSTM ? &c : NULL, mode, x, hx, cx, w_ih, w_hh, b_ih,
                            b_hh));
  rcl_push_tensor(L, h);
  if (c) {
    rcl_push_tensor(L, c);
    return 2;
  }
  return 1;
}

/* recur._rnn_weights(mode, cfg) -> { {name = "weight_ih_l0", shape = {4H, D}}, ... } in the
   flat order the layer takes. */
static int l_rnn_weights(lua_State *L) {
  rc_rnn_mode mode = check_mode(L, 1, "_rnn_weights");
  rc_rnn_config cfg = check_config(L, 2, mode);
  int n = rc_rnn_weight_count(&cfg);
  lua_createtable(L, n, 0);
  for (int i = 0; i < n; i++) {
    char name[64];
    int ndim;
    int64_t shape[2];
    RCL_CHECK(L, rc_rnn_weight_info(&cfg, i, name, sizeof name, &ndim, shape));
    lua_createtable(L, 0, 2);
    lua_pushstring(L, name);
    lua_setfield(L, -2, "name");
    lua_createtable(L, ndim, 0);
    for (int d = 0; d < ndim; d++) {
      lua_pushinteger(L, shape[d]);
      lua_rawseti(L, -2, d + 1);
    }
    lua_setfield(L, -2, "shape");
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

static const luaL_Reg rnn_funcs[] = {
  {"_rnn", l_rnn},
  {"_rnn_cell", l_rnn_cell},
  {"_rnn_weights", l_rnn_weights},
  {NULL, NULL}
};

void rcl_open_rnn(lua_State *L) { rcl_add_functions(L, rnn_funcs); }
