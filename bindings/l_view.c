/* bindings/l_view.c — Lua functions and methods for views (view, transpose, narrow, select ...),
   copies (contiguous, clone, copy_, fill_) and dtype changes. Positions and dims are 1-based. */
#include "lrecur.h"

static int push_new(lua_State *L, rc_tensor *t) {
  rcl_push_tensor(L, t);
  return 1;
}

/* A shape from arg on: a table {2,3} or the numbers up to the top; anything else there is
   an error rather than silently ignored. */
static int check_sizes(lua_State *L, int arg, int64_t *shape, const char *fn) {
  int n = rcl_check_shape(L, arg, shape, fn);
  if (!lua_istable(L, arg) && lua_gettop(L) >= arg + n)
    return luaL_error(L, "recur.%s: size %d is a %s, expected an integer", fn, n + 1,
                      luaL_typename(L, arg + n));
  return n;
}

/* t:op(sizes...) or t:op{sizes} for the shape-taking views (view, reshape, expand). */
static int with_sizes(lua_State *L, rc_status (*op)(rc_tensor **, const rc_tensor *, int, const int64_t *), const char *fn) {
  rc_tensor *t = rcl_check_tensor(L, 1), *out = NULL;
  int64_t shape[RC_MAX_DIMS];
  int n = check_sizes(L, 2, shape, fn);
  RCL_CHECK(L, op(&out, t, n, shape));
  return push_new(L, out);
}

/* t:op_as(other): the same with other's shape. */
static int as_other(lua_State *L, rc_status (*op)(rc_tensor **, const rc_tensor *, int, const int64_t *)) {
  rc_tensor *t = rcl_check_tensor(L, 1), *other = rcl_check_tensor(L, 2), *out = NULL;
  RCL_CHECK(L, op(&out, t, other->ndim, other->shape));
  return push_new(L, out);
}

static int l_view(lua_State *L) { return with_sizes(L, rcg_view, "view"); }
static int l_reshape(lua_State *L) { return with_sizes(L, rcg_reshape, "reshape"); }
static int l_view_as(lua_State *L) { return as_other(L, rcg_view); }

static int l_transpose(lua_State *L) {
  rc_tensor *t = rcl_check_tensor(L, 1), *out = NULL;
  int d0 = rcl_check_dim(L, 2, t->ndim, 0, "transpose");
  int d1 = rcl_check_dim(L, 3, t->ndim, 0, "transpose");
  RCL_CHECK(L, rcg_transpose(&out, t, d0, d1));
  return push_new(L, out);
}

/* t:t(): the transpose of a matrix; a 0-d or 1-D tensor comes back as a view of itself. */
static int l_t(lua_State *L) {
  rc_tensor *t = rcl_check_tensor(L, 1), *out = NULL;
  if (t->ndim > 2)
    return luaL_error(L, "recur.t: expects a tensor with at most 2 dims, got %d (use transpose)",
                      t->ndim);
  int dims[2] = {1, 0};
  if (t->ndim == 2)
    RCL_CHECK(L, rcg_transpose(&out, t, 0, 1));
  else
    RCL_CHECK(L, rcg_permute(&out, t, t->ndim, dims + 1)); /* identity: {0} or {} */
  return push_new(L, out);
}

static int l_permute(lua_State *L) {
  rc_tensor *t = rcl_check_tensor(L, 1), *out = NULL;
  int dims[RC_MAX_DIMS];
  bool table = lua_istable(L, 2);
  int n = table ? (int)luaL_len(L, 2) : lua_gettop(L) - 1;
  if (n != t->ndim)
    return luaL_error(L, "recur.permute: needs one dim per tensor dim (%d), got %d", t->ndim, n);
  bool seen[RC_MAX_DIMS] = {false};
  for (int i = 0; i < n; i++) {
    int arg = i + 2;
    if (table) {
      lua_geti(L, 2, i + 1);
      arg = lua_gettop(L);
    }
    if (!lua_isinteger(L, arg))
      return luaL_error(L, "recur.permute: dim %d is a %s, expected an integer", i + 1,
                        luaL_typename(L, arg));
    dims[i] = rcl_check_dim(L, arg, t->ndim, 0, "permute");
    if (seen[dims[i]])
      return luaL_error(L, "recur.permute: dim %d appears twice; dims must be a permutation of "
                           "1..%d", dims[i] + 1, t->ndim);
    seen[dims[i]] = true;
    if (table) lua_pop(L, 1);
  }
  RCL_CHECK(L, rcg_permute(&out, t, n, dims));
  return push_new(L, out);
}

/* t:narrow(dim, start, length): `length` elements from position `start` (1-based, negative
   from the end). */
static int l_narrow(lua_State *L) {
  rc_tensor *t = rcl_check_tensor(L, 1), *out = NULL;
  int d = rcl_check_dim(L, 2, t->ndim, 0, "narrow");
  lua_Integer start = luaL_checkinteger(L, 3), length = luaL_checkinteger(L, 4);
  lua_Integer size = t->shape[d];
  lua_Integer s0 = start > 0 ? start - 1 : size + start;
  if (start == 0 || s0 < 0 || s0 > size)
    return luaL_error(L, "recur.narrow: start %I out of range for dim %d of size %I (expected "
                         "1..%I or -%I..-1)", start, d + 1, size, size + 1, size);
  if (length < 0 || s0 + length > size)
    return luaL_error(L, "recur.narrow: start %I and length %I run past the end of dim %d "
                         "(size %I)", start, length, d + 1, size);
  RCL_CHECK(L, rcg_narrow(&out, t, d, s0, length));
  return push_new(L, out);
}

/* t:select(dim, i): the slice at position i (1-based, negative from the end), dim removed. */
static int l_select(lua_State *L) {
  rc_tensor *t = rcl_check_tensor(L, 1), *out = NULL;
  int d = rcl_check_dim(L, 2, t->ndim, 0, "select");
  lua_Integer i = luaL_checkinteger(L, 3), size = t->shape[d];
  if (i == 0 || i > size || i < -size)
    return luaL_error(L, "recur.select: index %I out of range for dim %d of size %I (expected "
                         "1..%I or -%I..-1)", i, d + 1, size, size, size);
  RCL_CHECK(L, rcg_select(&out, t, d, i > 0 ? i - 1 : size + i));
  return push_new(L, out);
}

static int l_unsqueeze(lua_State *L) {
  rc_tensor *t = rcl_check_tensor(L, 1), *out = NULL;
  int d = rcl_check_dim(L, 2, t->ndim, 1, "unsqueeze");
  RCL_CHECK(L, rcg_unsqueeze(&out, t, d));
  return push_new(L, out);
}

/* t:squeeze() drops every size-1 dim; t:squeeze(d) drops d if its size is 1. */
static int l_squeeze(lua_State *L) {
  rc_tensor *t = rcl_check_tensor(L, 1), *out = NULL;
  int d = RC_ALL_DIMS;
  if (!lua_isnoneornil(L, 2)) /* a 0-d tensor takes dim 1 / -1, as PyTorch takes 0 / -1 */
    d = rcl_check_dim(L, 2, t->ndim, t->ndim == 0 ? 1 : 0, "squeeze");
  RCL_CHECK(L, rcg_squeeze(&out, t, d));
  return push_new(L, out);
}

static int l_expand(lua_State *L) { return with_sizes(L, rcg_expand, "expand"); }
static int l_expand_as(lua_State *L) { return as_other(L, rcg_expand); }

/* t:flatten([start[, end]]), defaults 1 and -1. */
static int l_flatten(lua_State *L) {
  rc_tensor *t = rcl_check_tensor(L, 1), *out = NULL;
  int extra = t->ndim == 0 ? 1 : 0; /* a 0-d tensor takes dim 1 / -1 */
  int s = lua_isnoneornil(L, 2) ? 0 : rcl_check_dim(L, 2, t->ndim, extra, "flatten");
  int e = lua_isnoneornil(L, 3) ? -1 : rcl_check_dim(L, 3, t->ndim, extra, "flatten");
  if (e >= 0 && s > e)
    return luaL_error(L, "recur.flatten: start dim %d comes after end dim %d", s + 1, e + 1);
  RCL_CHECK(L, rcg_flatten(&out, t, s, e));
  return push_new(L, out);
}

static int l_contiguous(lua_State *L) {
  rc_tensor *t = rcl_check_tensor(L, 1), *out = NULL;
  RCL_CHECK(L, rcg_contiguous(&out, t));
  if (out == t) { /* already contiguous: the same tensor, as PyTorch */
    rc_release(out);
    lua_settop(L, 1);
    return 1;
  }
  return push_new(L, out);
}

static int l_clone(lua_State *L) {
  rc_tensor *t = rcl_check_tensor(L, 1), *out = NULL;
  RCL_CHECK(L, rcg_clone(&out, t));
  return push_new(L, out);
}

/* t:copy_(src): src's values (broadcast, converted) into t; returns t. */
static int l_copy_(lua_State *L) {
  rc_tensor *t = rcl_check_tensor(L, 1), *src = rcl_check_tensor(L, 2);
  RCL_CHECK(L, rcg_copy_(t, src));
  lua_settop(L, 1);
  return 1;
}

static int l_fill_(lua_State *L) {
  rc_tensor *t = rcl_check_tensor(L, 1);
  lua_Number v = luaL_checknumber(L, 2);
  RCL_CHECK(L, rcg_fill_(t, v));
  lua_settop(L, 1);
  return 1;
}

/* A tensor of dtype: t itself when it already is one (as PyTorch's .to and .float). */
static int to_dtype(lua_State *L, rc_dtype dtype) {
  rc_tensor *t = rcl_check_tensor(L, 1), *out = NULL;
  if (t->dtype == dtype) {
    lua_settop(L, 1);
    return 1;
  }
  RCL_CHECK(L, rcg_to_dtype(&out, t, dtype));
  return push_new(L, out);
}

static int l_float(lua_State *L) { return to_dtype(L, RC_FLOAT32); }
static int l_long(lua_State *L) { return to_dtype(L, RC_INT64); }

static int l_to(lua_State *L) {
  rcl_check_tensor(L, 1);
  luaL_checkstring(L, 2);
  return to_dtype(L, rcl_opt_dtype(L, 2, "to"));
}

/* Do t and o view the same storage (a write through one can show in the other)? */
static int l_shares_storage(lua_State *L) {
  rc_tensor *t = rcl_check_tensor(L, 1), *o = rcl_check_tensor(L, 2);
  lua_pushboolean(L, t->storage == o->storage);
  return 1;
}

static const luaL_Reg view_funcs[] = {
  {"view", l_view}, {"reshape", l_reshape}, {"view_as", l_view_as},
  {"transpose", l_transpose}, {"t", l_t}, {"permute", l_permute},
  {"narrow", l_narrow}, {"select", l_select},
  {"unsqueeze", l_unsqueeze}, {"squeeze", l_squeeze},
  {"expand", l_expand}, {"expand_as", l_expand_as}, {"flatten", l_flatten},
  {"contiguous", l_contiguous}, {"clone", l_clone}, {"copy_", l_copy_}, {"fill_", l_fill_},
  {"float", l_float}, {"long", l_long}, {"to", l_to},
  {"shares_storage", l_shares_storage},
  {NULL, NULL}
};

void rcl_open_view(lua_State *L) {
  rcl_add_functions(L, view_funcs);
  rcl_add_methods(L, view_funcs);
}
