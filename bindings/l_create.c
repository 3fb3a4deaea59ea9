/* bindings/l_create.c — Lua functions that make new tensors: empty/zeros/ones/full (and _like),
   arange, linspace, eye, and recur.tensor from nested Lua tables. */
#include <stdio.h>
#include <string.h>
#include "lrecur.h"

/* --- arguments ------------------------------------------------------------------ */

static const char *const dtype_only[] = {"dtype", NULL};

/* The options table at arg (may be none/nil): its dtype, or `fallback` when not given. */
static rc_dtype opts_dtype(lua_State *L, int arg, rc_dtype fallback, const char *fn) {
  if (lua_isnoneornil(L, arg)) return fallback;
  if (!lua_istable(L, arg))
    luaL_error(L, "recur.%s: argument %d should be an options table such as {dtype='int64'}, "
                  "got %s", fn, arg, luaL_typename(L, arg));
  rcl_check_options(L, arg, fn, dtype_only);
  lua_getfield(L, arg, "dtype");
  rc_dtype d = lua_isnil(L, -1) ? fallback : rcl_opt_dtype(L, -1, fn);
  lua_pop(L, 1);
  if (!lua_isnone(L, arg + 1) && !lua_isnil(L, arg + 1))
    luaL_error(L, "recur.%s: unexpected argument %d after the options table", fn, arg + 1);
  return d;
}

static void check_sizes_nonnegative(lua_State *L, int ndim, const int64_t *shape,
                                    const char *fn) {
  for (int d = 0; d < ndim; d++)
    if (shape[d] < 0)
      luaL_error(L, "recur.%s: sizes must be >= 0, got %d for dim %d", fn, (int)shape[d], d + 1);
}

/* f(2, 3[, opts]) or f({2, 3}[, opts]); a lone {dtype=...} is the options of a 0-d tensor.
   Returns ndim; *opts_arg is where the options may be. */
static int check_sizes(lua_State *L, int arg, int64_t *shape, int *opts_arg, const char *fn) {
  if (lua_istable(L, arg)) {
    bool is_options = lua_getfield(L, arg, "dtype") != LUA_TNIL;
    lua_pop(L, 1);
    if (is_options && lua_rawlen(L, arg) > 0)
      luaL_error(L, "recur.%s: sizes and options go in separate tables, e.g. %s({2, 3}, "
                    "{dtype = 'int64'})", fn, fn);
    if (is_options) {
      *opts_arg = arg;
      return 0;
    }
  }
  int ndim = rcl_check_shape(L, arg, shape, fn);
  *opts_arg = lua_istable(L, arg) ? arg + 1 : arg + ndim;
  check_sizes_nonnegative(L, ndim, shape, fn);
  return ndim;
}

/* --- filled tensors ------------------------------------------------------------- */

static int filled(lua_State *L, const char *fn, double value, bool uninitialised) {
  int64_t shape[RC_MAX_DIMS];
  int opts_arg;
  int ndim = check_sizes(L, 1, shape, &opts_arg, fn);
  rc_dtype dtype = opts_dtype(L, opts_arg, RC_FLOAT32, fn);
  rc_tensor *t = NULL;
  if (uninitialised)
    RCL_CHECK(L, rc_empty(&t, dtype, ndim, shape));
  else
    RCL_CHECK(L, rc_full(&t, dtype, ndim, shape, value));
  rcl_push_tensor(L, t);
  return 1;
}

static int l_empty(lua_State *L) { return filled(L, "empty", 0, true); }
static int l_zeros(lua_State *L) { return filled(L, "zeros", 0, false); }
static int l_ones(lua_State *L) { return filled(L, "ones", 1, false); }

/* full(shape_table, value[, opts]), as torch.full; float32 unless opts say otherwise. */
static int l_full(lua_State *L) {
  if (!lua_istable(L, 1))
    return luaL_error(L, "recur.full: expected a shape table such as {2, 3} as argument 1, got %s",
                      luaL_typename(L, 1));
  int64_t shape[RC_MAX_DIMS];
  int ndim = rcl_check_shape(L, 1, shape, "full");
  check_sizes_nonnegative(L, ndim, shape, "full");
  double value = luaL_checknumber(L, 2);
  rc_dtype dtype = opts_dtype(L, 3, RC_FLOAT32, "full");
  rc_tensor *t = NULL;
  RCL_CHECK(L, rc_full(&t, dtype, ndim, shape, value));
  rcl_push_tensor(L, t);
  return 1;
}

/* *_like(t[, opts]): t's shape, t's dtype unless opts say otherwise. */
static int filled_like(lua_State *L, const char *fn, double value, bool uninitialised,
                       int opts_arg) {
  rc_tensor *like = rcl_check_tensor(L, 1), *t = NULL;
  rc_dtype dtype = opts_dtype(L, opts_arg, like->dtype, fn);
  if (uninitialised)
    RCL_CHECK(L, rc_empty(&t, dtype, like->ndim, like->shape));
  else
    RCL_CHECK(L, rc_full(&t, dtype, like->ndim, like->shape, value));
  rcl_push_tensor(L, t);
  return 1;
}

static int l_empty_like(lua_State *L) { return filled_like(L, "empty_like", 0, true, 2); }
static int l_zeros_like(lua_State *L) { return filled_like(L, "zeros_like", 0, false, 2); }
static int l_ones_like(lua_State *L) { return filled_like(L, "ones_like", 1, false, 2); }
static int l_full_like(lua_State *L) {
  return filled_like(L, "full_like", luaL_checknumber(L, 2), false, 3);
}

/* --- ranges --------------------------------------------------------------------- */

/* arange(end), arange(start, end) or arange(start, end, step), then options; int64 when every
   number given is a Lua integer (as PyTorch for Python ints), else float32. */
static int l_arange(lua_State *L) {
  int count = 0;
  while (count < 3 && lua_type(L, count + 1) == LUA_TNUMBER) count++;
  if (count == 0)
    return luaL_error(L, "recur.arange: expected arange(end), arange(start, end) or "
                         "arange(start, end, step), got %s", luaL_typename(L, 1));
  bool integers = true;
  for (int i = 1; i <= count; i++) integers = integers && lua_isinteger(L, i);
  double start = 0, end, step = 1;
  if (count == 1) {
    end = lua_tonumber(L, 1);
  } else {
    start = lua_tonumber(L, 1);
    end = lua_tonumber(L, 2);
    if (count == 3) step = lua_tonumber(L, 3);
  }
  rc_dtype dtype = opts_dtype(L, count + 1, integers ? RC_INT64 : RC_FLOAT32, "arange");
  rc_tensor *t = NULL;
  RCL_CHECK(L, rc_arange(&t, dtype, start, end, step));
  rcl_push_tensor(L, t);
  return 1;
}

/* linspace(start, end, steps[, opts]): float32, or int64 (truncated) if asked. */
static int l_linspace(lua_State *L) {
  double start = luaL_checknumber(L, 1), end = luaL_checknumber(L, 2);
  lua_Integer steps = luaL_checkinteger(L, 3);
  rc_dtype dtype = opts_dtype(L, 4, RC_FLOAT32, "linspace");
  rc_tensor *t = NULL;
  RCL_CHECK(L, rc_linspace(&t, start, end, steps));
  rcl_push_tensor(L, t);
  if (dtype != RC_FLOAT32) {
    rc_tensor *converted = NULL;
    RCL_CHECK(L, rc_to_dtype(&converted, t, dtype));
    rcl_push_tensor(L, converted);
  }
  return 1;
}

/* eye(n[, m][, opts]): ones on the diagonal of an (n, m) matrix, m = n by default. */
static int l_eye(lua_State *L) {
  lua_Integer n = luaL_checkinteger(L, 1), m = n;
  int opts_arg = 2;
  if (lua_type(L, 2) == LUA_TNUMBER) {
    m = luaL_checkinteger(L, 2);
    opts_arg = 3;
  }
  if (n < 0 || m < 0)
    return luaL_error(L, "recur.eye: sizes must be >= 0, got n=%I m=%I", n, m);
  rc_dtype dtype = opts_dtype(L, opts_arg, RC_FLOAT32, "eye");
  rc_tensor *t = NULL;
  RCL_CHECK(L, rc_eye(&t, n, m));
  rcl_push_tensor(L, t);
  if (dtype != RC_FLOAT32) {
    rc_tensor *converted = NULL;
    RCL_CHECK(L, rc_to_dtype(&converted, t, dtype));
    rcl_push_tensor(L, converted);
  }
  return 1;
}

/* --- recur.tensor: nested tables -> tensor --------------------------------------- */

/* Where a value sits, 1-based as in Lua: "[1][2]"; a table at the top level reads "row 2". */
static const char *position(lua_State *L, const int64_t *path, int depth, bool as_row) {
  if (depth == 1 && as_row) return lua_pushfstring(L, "row %I", (lua_Integer)path[0]);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (int i = 0; i < depth; i++) {
    char s[32];
    snprintf(s, sizeof s, "[%lld]", (long long)path[i]);
    luaL_addstring(&b, s);
  }
  luaL_pushresult(&b);
  return lua_tostring(L, -1);
}

/* t[1][1]...[1]: the first table at each level fixed the shape; others are compared with it. */
static const int64_t first_path[RC_MAX_DIMS] = {1, 1, 1, 1, 1, 1, 1, 1};

static const char *elements(lua_State *L, int64_t n) {
  return lua_pushfstring(L, "%I element%s", (lua_Integer)n, n == 1 ? "" : "s");
}

/* A Lua number as an int64 element; a float out of range has no int64 value. */
static int64_t to_int64(lua_State *L, int idx, const int64_t *path, int depth) {
  if (lua_isinteger(L, idx)) return lua_tointeger(L, idx);
  double v = lua_tonumber(L, idx);
  if (!(v >= -9223372036854775808.0 && v < 9223372036854775808.0)) {
    if (depth == 0) luaL_error(L, "recur.tensor: %f is outside the int64 range", v);
    luaL_error(L, "recur.tensor: element %s is %f, outside the int64 range",
               position(L, path, depth, false), v);
  }
  return (int64_t)v; /* truncates toward zero, as PyTorch */
}

/* Sizes from the first element at every level: t, t[1], t[1][1], ... until a number. */
static int nested_shape(lua_State *L, int arg, int64_t *shape) {
  int ndim = 0;
  lua_pushvalue(L, arg);
  while (lua_istable(L, -1)) {
    if (ndim == RC_MAX_DIMS)
      luaL_error(L, "recur.tensor: more than %d levels of nesting", RC_MAX_DIMS);
    shape[ndim] = (int64_t)lua_rawlen(L, -1);
    ndim++;
    if (shape[ndim - 1] == 0) break;
    lua_rawgeti(L, -1, 1);
    lua_remove(L, -2);
  }
  lua_pop(L, 1);
  return ndim;
}

typedef struct {
  rc_tensor *t;
  int ndim;
  const int64_t *shape;
  int64_t path[RC_MAX_DIMS]; /* 1-based position of the table being read, per level */
  int64_t next;              /* flat index of the next element */
} nested_reader;

/* Reads the table on top of the stack, at nesting level `depth` (0 = the outer table). */
static void read_nested(lua_State *L, nested_reader *r, int depth) {
  luaL_checkstack(L, 8, "recur.tensor: nesting too deep");
  int64_t n = (int64_t)lua_rawlen(L, -1);
  if (n != r->shape[depth]) {
    luaL_error(L, "recur.tensor: ragged nested table: %s has %s but %s has %I",
               position(L, r->path, depth, true), elements(L, n),
               position(L, first_path, depth, true), (lua_Integer)r->shape[depth]);
    return;
  }
  bool leaf = depth == r->ndim - 1;
  for (int64_t i = 1; i <= n; i++) {
    r->path[depth] = i;
    int type = lua_rawgeti(L, -1, i);
    if (leaf && type == LUA_TNUMBER) {
      if (r->t->dtype == RC_INT64)
        rc_i64(r->t)[r->next++] = to_int64(L, -1, r->path, depth + 1);
      else
        rc_f32(r->t)[r->next++] = (float)lua_tonumber(L, -1);
    } else if (!leaf && type == LUA_TTABLE) {
      read_nested(L, r, depth + 1);
    } else if (leaf && type == LUA_TTABLE) {
      luaL_error(L, "recur.tensor: ragged nested table: %s is a table but %s is a number",
                 position(L, r->path, depth + 1, true), position(L, first_path, depth + 1, true));
    } else if (!leaf && type == LUA_TNUMBER) {
      luaL_error(L, "recur.tensor: ragged nested table: %s is a number but %s is a table of %s",
                 position(L, r->path, depth + 1, true), position(L, first_path, depth + 1, true),
                 elements(L, r->shape[depth + 1]));
    } else {
      luaL_error(L, "recur.tensor: element %s is a %s, expected a number",
                 position(L, r->path, depth + 1, false), luaL_typename(L, -1));
    }
    lua_pop(L, 1);
  }
}

/* tensor(nested_table[, opts]), tensor(number[, opts]) (0-d) or tensor(t[, opts]) (a copy).
   float32 unless opts say {dtype='int64'}. */
static int l_tensor(lua_State *L) {
  rc_tensor *src = rcl_to_tensor(L, 1), *t = NULL;
  if (src) {
    rc_dtype dtype = opts_dtype(L, 2, src->dtype, "tensor");
    RCL_CHECK(L, rc_to_dtype(&t, src, dtype));
    rcl_push_tensor(L, t);
    return 1;
  }
  rc_dtype dtype = opts_dtype(L, 2, RC_FLOAT32, "tensor");
  if (lua_type(L, 1) == LUA_TNUMBER) {
    RCL_CHECK(L, rc_empty(&t, dtype, 0, NULL));
    rcl_push_tensor(L, t);
    if (dtype == RC_INT64)
      rc_i64(t)[0] = to_int64(L, 1, first_path, 0);
    else
      rc_f32(t)[0] = (float)lua_tonumber(L, 1);
    return 1;
  }
  if (!lua_istable(L, 1))
    return luaL_error(L, "recur.tensor: expected a number, a tensor or a nested table of "
                         "numbers, got %s", luaL_typename(L, 1));
  int64_t shape[RC_MAX_DIMS];
  int ndim = nested_shape(L, 1, shape);
  RCL_CHECK(L, rc_empty(&t, dtype, ndim, shape));
  rcl_push_tensor(L, t); /* Lua owns it now: a ragged table below errors without a leak */
  nested_reader r = {t, ndim, shape, {0}, 0};
  lua_pushvalue(L, 1);
  read_nested(L, &r, 0);
  lua_pop(L, 1);
  return 1;
}

static const luaL_Reg create_funcs[] = {
  {"empty", l_empty},
  {"zeros", l_zeros},
  {"ones", l_ones},
  {"full", l_full},
  {"empty_like", l_empty_like},
  {"zeros_like", l_zeros_like},
  {"ones_like", l_ones_like},
  {"full_like", l_full_like},
  {"arange", l_arange},
  {"linspace", l_linspace},
  {"eye", l_eye},
  {"tensor", l_tensor},
  {NULL, NULL}
};

void rcl_open_create(lua_State *L) { rcl_add_functions(L, create_funcs); }
