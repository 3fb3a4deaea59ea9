/* bindings/l_tensor.c — the tensor userdata: lifetime, metamethods (t[i], #t, arithmetic,
   tostring, <close>) and the methods that just report facts (size, shape, totable, item). */
#include <math.h>
#include <string.h>
#include "lrecur.h"

typedef struct {
  rc_tensor *t; /* NULL once closed */
} tensor_box;

rc_tensor *rcl_to_tensor(lua_State *L, int arg) {
  tensor_box *box = luaL_testudata(L, arg, RCL_TENSOR_MT);
  return box ? box->t : NULL;
}

rc_tensor *rcl_check_tensor(lua_State *L, int arg) {
  tensor_box *box = luaL_testudata(L, arg, RCL_TENSOR_MT);
  if (!box) {
    const char *got = luaL_typename(L, arg);
    luaL_argerror(L, arg, lua_pushfstring(L, "tensor expected, got %s", got));
  }
  if (!box->t) luaL_argerror(L, arg, "tensor was closed (used after its <close> scope ended)");
  return box->t;
}

rc_tensor *rcl_check_tensor_or_number(lua_State *L, int arg, rc_tensor **owned) {
  *owned = NULL;
  if (lua_type(L, arg) == LUA_TNUMBER) {
    RCL_CHECK(L, rc_full(owned, RC_FLOAT32, 0, NULL, lua_tonumber(L, arg)));
    return *owned;
  }
  return rcl_check_tensor(L, arg);
}

void rcl_push_tensor(lua_State *L, rc_tensor *t) {
  tensor_box *box = lua_newuserdatauv(L, sizeof *box, 1);
  box->t = t;
  luaL_setmetatable(L, RCL_TENSOR_MT);
  /* Lua cannot see tensor memory: tell the collector, so loops stay flat without
     collectgarbage(). Only fresh storage counts; a view allocates none. */
  if (t->storage->refcount == 1) {
    size_t kb = rc_storage_bytes(t) / 1024;
    if (kb > 0) lua_gc(L, LUA_GCSTEP, (int)(kb > 1 << 20 ? 1 << 20 : kb));
  }
}

static int t_gc(lua_State *L) {
  tensor_box *box = luaL_checkudata(L, 1, RCL_TENSOR_MT);
  rc_release(box->t);
  box->t = NULL;
  return 0;
}

/* --- dims and index helpers shared by every binding ----------------------- */

int rcl_check_dim(lua_State *L, int arg, int ndim, int extra, const char *fn) {
  lua_Integer d = luaL_checkinteger(L, arg);
  int n = ndim + extra;
  if (n == 0 || d == 0 || d > n || d < -n)
    return luaL_error(L, "recur.%s: dim %d out of range for a tensor of %d dims (expected %s)",
                      fn, (int)d, ndim,
                      n == 0 ? "no dim: it is 0-d"
                             : lua_pushfstring(L, "1..%d or -%d..-1", n, n));
  return d > 0 ? (int)d - 1 : (int)(d + n);
}

int rcl_opt_dim(lua_State *L, int arg, int ndim, int fallback, const char *fn) {
  if (lua_isnoneornil(L, arg)) return fallback;
  return rcl_check_dim(L, arg, ndim, 0, fn);
}

int rcl_check_shape(lua_State *L, int arg, int64_t *shape, const char *fn) {
  int n = 0;
  if (lua_istable(L, arg)) {
    n = (int)luaL_len(L, arg);
    if (n > RC_MAX_DIMS)
      return luaL_error(L, "recur.%s: at most %d dims, got %d", fn, RC_MAX_DIMS, n);
    for (int i = 0; i < n; i++) {
      lua_geti(L, arg, i + 1);
      int isnum;
      lua_Integer v = lua_tointegerx(L, -1, &isnum);
      if (!isnum)
        return luaL_error(L, "recur.%s: size %d of the shape is not an integer", fn, i + 1);
      shape[i] = v;
      lua_pop(L, 1);
    }
    return n;
  }
  int top = lua_gettop(L);
  for (int i = arg; i <= top && lua_type(L, i) == LUA_TNUMBER; i++) {
    if (n == RC_MAX_DIMS)
      return luaL_error(L, "recur.%s: at most %d dims", fn, RC_MAX_DIMS);
    int isnum;
    lua_Integer v = lua_tointegerx(L, i, &isnum);
    if (!isnum) return luaL_error(L, "recur.%s: size %d is not an integer", fn, n + 1);
    shape[n++] = v;
  }
  return n;
}

rc_dtype rcl_opt_dtype(lua_State *L, int arg, const char *fn) {
  if (lua_isnoneornil(L, arg)) return RC_FLOAT32;
  const char *name = luaL_checkstring(L, arg);
  if (!strcmp(name, "float32") || !strcmp(name, "float")) return RC_FLOAT32;
  if (!strcmp(name, "int64") || !strcmp(name, "long")) return RC_INT64;
  return (rc_dtype)luaL_error(L, "recur.%s: unknown dtype '%s' (expected 'float32' or 'int64')",
                              fn, name);
}

rc_dtype rcl_opt_dtype_field(lua_State *L, int arg, const char *fn) {
  if (!lua_istable(L, arg)) return RC_FLOAT32;
  lua_getfield(L, arg, "dtype");
  rc_dtype d = rcl_opt_dtype(L, -1, fn);
  lua_pop(L, 1);
  return d;
}

/* --- facts ------------------------------------------------------------------ */

static int t_size(lua_State *L) {
  rc_tensor *t = rcl_check_tensor(L, 1);
  if (!lua_isnoneornil(L, 2)) {
    int d = rcl_check_dim(L, 2, t->ndim, 0, "size");
    lua_pushinteger(L, t->shape[d]);
    return 1;
  }
  lua_createtable(L, t->ndim, 0);
  for (int d = 0; d < t->ndim; d++) {
    lua_pushinteger(L, t->shape[d]);
    lua_rawseti(L, -2, d + 1);
  }
  return 1;
}

static int t_stride(lua_State *L) {
  rc_tensor *t = rcl_check_tensor(L, 1);
  if (!lua_isnoneornil(L, 2)) {
    int d = rcl_check_dim(L, 2, t->ndim, 0, "stride");
    lua_pushinteger(L, t->stride[d]);
    return 1;
  }
  lua_createtable(L, t->ndim, 0);
  for (int d = 0; d < t->ndim; d++) {
    lua_pushinteger(L, t->stride[d]);
    lua_rawseti(L, -2, d + 1);
  }
  return 1;
}

static int t_dim(lua_State *L) {
  lua_pushinteger(L, rcl_check_tensor(L, 1)->ndim);
  return 1;
}

static int t_numel(lua_State *L) {
  lua_pushinteger(L, rc_numel(rcl_check_tensor(L, 1)));
  return 1;
}

static int t_dtype(lua_State *L) {
  lua_pushstring(L, rc_dtype_name(rcl_check_tensor(L, 1)->dtype));
  return 1;
}

static int t_is_contiguous(lua_State *L) {
  lua_pushboolean(L, rc_is_contiguous(rcl_check_tensor(L, 1)));
  return 1;
}

static void push_element(lua_State *L, const rc_tensor *t, int64_t flat) {
  int64_t off = rc_flat_offset(t, flat);
  if (t->dtype == RC_INT64) /* read directly: a double would round past 2^53 */
    lua_pushinteger(L, ((const int64_t *)t->storage->data)[off]);
  else
    lua_pushnumber(L, ((const float *)t->storage->data)[off]);
}

static int t_item(lua_State *L) {
  rc_tensor *t = rcl_check_tensor(L, 1);
  if (rc_numel(t) != 1) {
    char s[128];
    return luaL_error(L, "recur.item: only a tensor with one element has an item, got shape %s",
                      rc_shape_str(t, s, sizeof s));
  }
  push_element(L, t, 0);
  return 1;
}

/* Nested tables, one level per dim; elements visited in row-major order. */
static void push_table(lua_State *L, const rc_tensor *t, int dim, int64_t *flat) {
  luaL_checkstack(L, 4, "tensor too deep");
  lua_createtable(L, (int)t->shape[dim], 0);
  for (int64_t i = 0; i < t->shape[dim]; i++) {
    if (dim == t->ndim - 1)
      push_element(L, t, (*flat)++);
    else
      push_table(L, t, dim + 1, flat);
    lua_rawseti(L, -2, i + 1);
  }
}

static int t_totable(lua_State *L) {
  rc_tensor *t = rcl_check_tensor(L, 1);
  if (t->ndim == 0) {
    push_element(L, t, 0);
    return 1;
  }
  int64_t flat = 0;
  push_table(L, t, 0, &flat);
  return 1;
}

/* --- metamethods ------------------------------------------------------------ */

static int t_len(lua_State *L) {
  rc_tensor *t = rcl_check_tensor(L, 1);
  if (t->ndim == 0) return luaL_error(L, "recur.len: a 0-d tensor has no length (use :item())");
  lua_pushinteger(L, t->shape[0]);
  return 1;
}

static int t_close(lua_State *L) { return t_gc(L); }

/* t[i]: the view t:select(1, i); negative i counts from the end. */
static rc_tensor *select_index(lua_State *L, rc_tensor *t, int key_arg) {
  if (t->ndim == 0) luaL_error(L, "recur.index: cannot index a 0-d tensor (use :item())");
  lua_Integer i = lua_tointeger(L, key_arg);
  int64_t n = t->shape[0];
  if (i == 0 || i > n || i < -n)
    luaL_error(L, "recur.index: index %d out of range for dim 1 of size %d (expected 1..%d or "
                  "-%d..-1)", (int)i, (int)n, (int)n, (int)n);
  rc_tensor *view = NULL;
  RCL_CHECK(L, rcg_select(&view, t, 0, i > 0 ? i - 1 : n + i));
  return view;
}

static int t_index(lua_State *L) {
  if (lua_type(L, 2) == LUA_TNUMBER) {
    rc_tensor *t = rcl_check_tensor(L, 1);
    if (!lua_isinteger(L, 2)) return luaL_error(L, "recur.index: index must be an integer");
    rcl_push_tensor(L, select_index(L, t, 2));
    return 1;
  }
  if (lua_type(L, 2) == LUA_TSTRING && rcl_tensor_property(L, rcl_check_tensor(L, 1),
                                                           lua_tostring(L, 2)))
    return 1;
  lua_getfield(L, LUA_REGISTRYINDEX, "recur.methods");
  lua_pushvalue(L, 2);
  lua_rawget(L, -2);
  return 1;
}

static int t_newindex(lua_State *L) {
  rc_tensor *t = rcl_check_tensor(L, 1);
  if (lua_type(L, 2) == LUA_TSTRING) return rcl_set_tensor_property(L, t, lua_tostring(L, 2), 3);
  if (lua_type(L, 2) != LUA_TNUMBER || !lua_isinteger(L, 2))
    return luaL_error(L, "recur.index: t[i] = x needs an integer i, got %s",
                      luaL_typename(L, 2));
  rc_tensor *view = select_index(L, t, 2);
  rc_status st;
  if (lua_type(L, 3) == LUA_TNUMBER) {
    st = rcg_fill_(view, lua_tonumber(L, 3));
  } else {
    rc_tensor *src = rcl_to_tensor(L, 3);
    if (!src) {
      rc_release(view);
      return luaL_error(L, "recur.index: t[i] = x needs a number or a tensor, got %s",
                        luaL_typename(L, 3));
    }
    st = rcg_copy_(view, src);
  }
  rc_release(view);
  if (st) rcl_core_error(L);
  return 0;
}

static int t_tostring(lua_State *L) {
  rcl_push_tensor_string(L, rcl_check_tensor(L, 1));
  return 1;
}

/* The operator metamethods: one side may be a number; anything else is named in the error. */
static int arith(lua_State *L, rc_binop op) {
  static const char *const symbols[] = {"+", "-", "*", "/", "^"};
  for (int i = 1; i <= 2; i++)
    if (lua_type(L, i) != LUA_TNUMBER && !rcl_to_tensor(L, i))
      return luaL_error(L, "recur: cannot apply '%s' to a tensor and a %s (expected a tensor or "
                        "a number)", op <= RC_POW ? symbols[op] : "?", luaL_typename(L, i));
  rc_tensor *out = NULL;
  rc_status st;
  if (lua_type(L, 1) == LUA_TNUMBER)
    st = rcg_scalar_binary(&out, op, lua_tonumber(L, 1), rcl_check_tensor(L, 2));
  else if (lua_type(L, 2) == LUA_TNUMBER)
    st = rcg_binary_scalar(&out, op, rcl_check_tensor(L, 1), lua_tonumber(L, 2));
  else
    st = rcg_binary(&out, op, rcl_check_tensor(L, 1), rcl_check_tensor(L, 2));
  if (st) rcl_core_error(L);
  rcl_push_tensor(L, out);
  return 1;
}

static int t_add(lua_State *L) { return arith(L, RC_ADD); }
static int t_sub(lua_State *L) { return arith(L, RC_SUB); }
static int t_mul(lua_State *L) { return arith(L, RC_MUL); }
static int t_div(lua_State *L) { return arith(L, RC_DIV); }
static int t_pow(lua_State *L) { return arith(L, RC_POW); }

static int t_unm(lua_State *L) {
  rc_tensor *out = NULL;
  RCL_CHECK(L, rcg_unary(&out, RC_NEG, rcl_check_tensor(L, 1)));
  rcl_push_tensor(L, out);
  return 1;
}

static const luaL_Reg tensor_metamethods[] = {
  {"__index", t_index}, {"__newindex", t_newindex}, {"__len", t_len},
  {"__tostring", t_tostring}, {"__gc", t_gc}, {"__close", t_close},
  {"__add", t_add}, {"__sub", t_sub}, {"__mul", t_mul}, {"__div", t_div},
  {"__pow", t_pow}, {"__unm", t_unm},
  {NULL, NULL}
};

static const luaL_Reg tensor_methods[] = {
  {"size", t_size}, {"shape", t_size}, {"stride", t_stride}, {"dim", t_dim},
  {"numel", t_numel}, {"nelement", t_numel}, {"dtype", t_dtype},
  {"is_contiguous", t_is_contiguous}, {"item", t_item}, {"totable", t_totable},
  {"close", t_close},
  {NULL, NULL}
};

static int l_is_tensor(lua_State *L) {
  lua_pushboolean(L, luaL_testudata(L, 1, RCL_TENSOR_MT) != NULL);
  return 1;
}

static const luaL_Reg tensor_funcs[] = {
  {"is_tensor", l_is_tensor}, {"numel", t_numel},
  {NULL, NULL}
};

void rcl_open_tensor(lua_State *L) {
  luaL_newmetatable(L, RCL_TENSOR_MT);
  luaL_setfuncs(L, tensor_metamethods, 0);
  lua_pushliteral(L, "recur.Tensor");
  lua_setfield(L, -2, "__name");
  lua_pop(L, 1);
  rcl_add_methods(L, tensor_methods);
  rcl_add_functions(L, tensor_funcs);
}
