/* bindings/l_index.c — Lua functions for indexing with position tensors (index_select, gather,
   scatter_add) and for cat, stack, split and chunk. Lua positions are 1-based, the core's 0-based. */
#include <stdlib.h>
#include "lrecur.h"

/* The int64 index at arg, as a new 0-based copy for the core (the caller releases it).
   Each position must lie in 1..size: the error names the bad one as the user wrote it. */
static rc_tensor *zero_based_index(lua_State *L, int arg, int64_t size, int dim, const char *fn) {
  rc_tensor *index = rcl_check_tensor(L, arg), *copy = NULL;
  if (index->dtype != RC_INT64)
    luaL_error(L, "recur.%s: index must be an int64 tensor of 1-based positions, got %s", fn,
               rc_dtype_name(index->dtype));
  RCL_CHECK(L, rc_clone(&copy, index)); /* contiguous and ours to rewrite */
  int64_t *p = rc_i64(copy), n = rc_numel(copy);
  for (int64_t i = 0; i < n; i++) {
    lua_Integer v = p[i];
    if (v < 1 || v > size) {
      rc_release(copy);
      if (size == 0)
        luaL_error(L, "recur.%s: index %I out of range for dim %d of size 0 (it has no positions)",
                   fn, v, dim + 1);
      luaL_error(L, "recur.%s: index %I out of range for dim %d of size %I (expected 1..%I)", fn,
                 v, dim + 1, (lua_Integer)size, (lua_Integer)size);
    }
    p[i] = v - 1;
  }
  return copy;
}

/* t:index_select(dim, index): the slices of t at the positions in index (1-D), along dim. */
static int l_index_select(lua_State *L) {
  rc_tensor *t = rcl_check_tensor(L, 1), *out = NULL;
  int d = rcl_check_dim(L, 2, t->ndim, 0, "index_select");
  rc_tensor *index = zero_based_index(L, 3, t->shape[d], d, "index_select");
  rc_status st = rcg_index_select(&out, t, d, index);
  rc_release(index);
  if (st) rcl_core_error(L);
  rcl_push_tensor(L, out);
  return 1;
}

/* t:gather(dim, index): out[i][j] = t[index[i][j]][j] for dim 1, shaped like index. */
static int l_gather(lua_State *L) {
  rc_tensor *t = rcl_check_tensor(L, 1), *out = NULL;
  int d = rcl_check_dim(L, 2, t->ndim, 0, "gather");
  rc_tensor *index = zero_based_index(L, 3, t->shape[d], d, "gather");
  rc_status st = rcg_gather(&out, t, d, index);
  rc_release(index);
  if (st) rcl_core_error(L);
  rcl_push_tensor(L, out);
  return 1;
}

/* t:scatter_add(dim, index, src): a copy of t with t[index[i][j]][j] += src[i][j] (dim 1).
   The _ form writes into t: refused, as every in-place write, on a tensor in a graph. */
static int scatter_add(lua_State *L, bool in_place, const char *fn) {
  rc_tensor *t = rcl_check_tensor(L, 1), *out = NULL;
  int d = rcl_check_dim(L, 2, t->ndim, 0, fn);
  rcl_check_tensor(L, 3);
  rc_tensor *src = rcl_check_tensor(L, 4);
  rc_tensor *index = zero_based_index(L, 3, t->shape[d], d, fn);
  rc_status st = in_place ? rcg_scatter_add_(t, d, index, src)
                          : rcg_scatter_add(&out, t, d, index, src);
  rc_release(index);
  if (st) rcl_core_error(L);
  if (in_place) {
    lua_settop(L, 1);
    return 1;
  }
  rcl_push_tensor(L, out);
  return 1;
}

static int l_scatter_add(lua_State *L) { return scatter_add(L, false, "scatter_add"); }
static int l_scatter_add_(lua_State *L) { return scatter_add(L, true, "scatter_add_"); }

/* The tensors of the sequence at arg 1, in an array the collector owns (so an error later
   leaks nothing); the table keeps the tensors alive. */
static const rc_tensor **check_tensor_list(lua_State *L, int *n, const char *fn) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 2); /* the array goes above the dim argument */
  lua_Integer len = luaL_len(L, 1);
  if (len < 1) luaL_error(L, "recur.%s: expects a non-empty table of tensors", fn);
  if (len > 1 << 24) luaL_error(L, "recur.%s: %I tensors are too many", fn, len);
  const rc_tensor **ts = lua_newuserdatauv(L, sizeof *ts * (size_t)len, 0);
  for (lua_Integer i = 1; i <= len; i++) {
    lua_geti(L, 1, i);
    rc_tensor *t = rcl_to_tensor(L, -1);
    if (!t) {
      if (luaL_testudata(L, -1, RCL_TENSOR_MT))
        luaL_error(L, "recur.%s: tensor %I of the table was closed", fn, i);
      luaL_error(L, "recur.%s: element %I of the table is a %s, expected a tensor", fn, i,
                 luaL_typename(L, -1));
    }
    ts[i - 1] = t;
    lua_pop(L, 1);
  }
  *n = (int)len;
  return ts;
}

/* recur.cat({a, b, ...}, dim = 1): joined along an existing dim. */
static int l_cat(lua_State *L) {
  int n;
  const rc_tensor **ts = check_tensor_list(L, &n, "cat");
  /* dims count in the first tensor that is not a (0) placeholder, which cat skips */
  const rc_tensor *ref = ts[0];
  for (int i = 0; i < n; i++)
    if (!(ts[i]->ndim == 1 && ts[i]->shape[0] == 0)) {
      ref = ts[i];
      break;
    }
  int d = lua_isnoneornil(L, 2) ? 0 : rcl_check_dim(L, 2, ref->ndim, 0, "cat");
  rc_tensor *out = NULL;
  RCL_CHECK(L, rcg_cat(&out, n, ts, d));
  rcl_push_tensor(L, out);
  return 1;
}

/* recur.stack({a, b, ...}, dim = 1): joined along a new dim. */
static int l_stack(lua_State *L) {
  int n;
  const rc_tensor **ts = check_tensor_list(L, &n, "stack");
  int d = lua_isnoneornil(L, 2) ? 0 : rcl_check_dim(L, 2, ts[0]->ndim, 1, "stack");
  rc_tensor *out = NULL;
  RCL_CHECK(L, rcg_stack(&out, n, ts, d));
  rcl_push_tensor(L, out);
  return 1;
}

/* The pieces as a Lua sequence; takes over each reference and frees the array. */
static int push_pieces(lua_State *L, rc_tensor **pieces, int count) {
  if (!lua_checkstack(L, 4)) {
    for (int i = 0; i < count; i++) rc_release(pieces[i]);
    free(pieces);
    return luaL_error(L, "recur.split: out of Lua stack");
  }
  lua_createtable(L, count, 0);
  for (int i = 0; i < count; i++) {
    rcl_push_tensor(L, pieces[i]);
    lua_rawseti(L, -2, i + 1);
  }
  free(pieces);
  return 1;
}

/* The dim at arg, 1 by default; a 0-d tensor has none to cut along. */
static int cut_dim(lua_State *L, int arg, const rc_tensor *t, const char *fn) {
  if (t->ndim == 0) return luaL_error(L, "recur.%s: a 0-d tensor has no dim to cut along", fn);
  return lua_isnoneornil(L, arg) ? 0 : rcl_check_dim(L, arg, t->ndim, 0, fn);
}

/* t:split(size, dim = 1) or t:split({sizes...}, dim = 1): a table of views. */
static int l_split(lua_State *L) {
  rc_tensor *t = rcl_check_tensor(L, 1);
  int d = cut_dim(L, 3, t, "split");
  rc_tensor **pieces = NULL;
  int count = 0;
  if (lua_istable(L, 2)) {
    lua_Integer n = luaL_len(L, 2);
    if (n > 1 << 24) return luaL_error(L, "recur.split: %I sizes are too many", n);
    int64_t *sizes = lua_newuserdatauv(L, sizeof *sizes * (size_t)(n > 0 ? n : 1), 0);
    for (lua_Integer i = 1; i <= n; i++) {
      lua_geti(L, 2, i);
      if (!lua_isinteger(L, -1))
        return luaL_error(L, "recur.split: size %I is a %s, expected an integer", i,
                          luaL_typename(L, -1));
      sizes[i - 1] = lua_tointeger(L, -1);
      lua_pop(L, 1);
    }
    RCL_CHECK(L, rcg_split_sizes(&pieces, &count, t, (int)n, sizes, d));
  } else {
    lua_Integer size = luaL_checkinteger(L, 2);
    RCL_CHECK(L, rcg_split(&pieces, &count, t, size, d));
  }
  return push_pieces(L, pieces, count);
}

/* t:chunk(n, dim = 1): at most n views of ceil(size / n) along dim. */
static int l_chunk(lua_State *L) {
  rc_tensor *t = rcl_check_tensor(L, 1);
  lua_Integer chunks = luaL_checkinteger(L, 2);
  int d = cut_dim(L, 3, t, "chunk");
  if (chunks < 1 || chunks > 1 << 24)
    return luaL_error(L, "recur.chunk: chunks must be >= 1, got %I", chunks);
  rc_tensor **pieces = NULL;
  int count = 0;
  RCL_CHECK(L, rcg_chunk(&pieces, &count, t, (int)chunks, d));
  return push_pieces(L, pieces, count);
}

static const luaL_Reg index_methods[] = {
  {"index_select", l_index_select}, {"gather", l_gather},
  {"scatter_add", l_scatter_add}, {"scatter_add_", l_scatter_add_},
  {"split", l_split}, {"chunk", l_chunk},
  {NULL, NULL}
};

static const luaL_Reg index_funcs[] = {
  {"cat", l_cat}, {"stack", l_stack},
  {NULL, NULL}
};

void rcl_open_index(lua_State *L) {
  rcl_add_functions(L, index_funcs);
  rcl_add_functions(L, index_methods);
  rcl_add_methods(L, index_methods);
}
