/* bindings/l_random.c — Lua functions of recur's random numbers: seeding, the generator state,
   random tensors (rand, randn, randint, bernoulli, multinomial) and the in-place fills. */
#include "lrecur.h"

/* A shape from arg (sizes or one table) with nothing after it. */
static int check_only_shape(lua_State *L, int arg, int64_t *shape, const char *fn) {
  int ndim = rcl_check_shape(L, arg, shape, fn);
  int next = lua_istable(L, arg) ? arg + 1 : arg + ndim;
  if (!lua_isnoneornil(L, next))
    return luaL_error(L, "recur.%s: argument %d should be a size, got %s", fn, next,
                      luaL_typename(L, next));
  for (int d = 0; d < ndim; d++)
    if (shape[d] < 0)
      return luaL_error(L, "recur.%s: sizes must be >= 0, got %d for dim %d", fn, (int)shape[d],
                        d + 1);
  return ndim;
}

/* --- seeding and state --------------------------------------------------------- */

static int l_manual_seed(lua_State *L) {
  rc_manual_seed((uint64_t)luaL_checkinteger(L, 1));
  return 0;
}

static int l_seed(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)rc_rng_get_state().seed);
  return 1;
}

static int l_get_rng_state(lua_State *L) {
  rc_rng_state s = rc_rng_get_state();
  lua_createtable(L, 0, 2);
  lua_pushinteger(L, (lua_Integer)s.seed);
  lua_setfield(L, -2, "seed");
  lua_pushinteger(L, (lua_Integer)s.offset);
  lua_setfield(L, -2, "offset");
  return 1;
}

static lua_Integer state_field(lua_State *L, const char *name) {
  lua_getfield(L, 1, name);
  if (!lua_isinteger(L, -1))
    luaL_error(L, "recur.set_rng_state: field '%s' must be an integer, got %s", name,
               luaL_typename(L, -1));
  lua_Integer v = lua_tointeger(L, -1);
  lua_pop(L, 1);
  return v;
}

static int l_set_rng_state(lua_State *L) {
  if (!lua_istable(L, 1))
    return luaL_error(L, "recur.set_rng_state: expected a table {seed=..., offset=...}, got %s",
                      luaL_typename(L, 1));
  lua_Integer seed = state_field(L, "seed"), offset = state_field(L, "offset");
  if (offset < 0)
    return luaL_error(L, "recur.set_rng_state: field 'offset' must be >= 0, got %I", offset);
  rc_rng_state s = {(uint64_t)seed, (uint64_t)offset};
  rc_rng_set_state(s);
  return 0;
}

/* --- new random tensors ------------------------------------------------------- */

/* A new float32 tensor of standard uniform or normal numbers, shaped by the arguments from
   arg 1 on, or like the tensor at arg 1. */
static int new_random(lua_State *L, bool like, bool normal, const char *fn) {
  rc_tensor *t = NULL;
  if (like) {
    RCL_CHECK(L, rc_empty_like(&t, rcl_check_tensor(L, 1), RC_FLOAT32));
  } else {
    int64_t shape[RC_MAX_DIMS];
    int ndim = check_only_shape(L, 1, shape, fn);
    RCL_CHECK(L, rc_empty(&t, RC_FLOAT32, ndim, shape));
  }
  rcl_push_tensor(L, t); /* owned by Lua from here: an error below cannot leak it */
  RCL_CHECK(L, normal ? rc_normal_(t, 0, 1) : rc_uniform_(t, 0, 1));
  return 1;
}

static int l_rand(lua_State *L) { return new_random(L, false, false, "rand"); }
static int l_randn(lua_State *L) { return new_random(L, false, true, "randn"); }
static int l_rand_like(lua_State *L) { return new_random(L, true, false, "rand_like"); }
static int l_randn_like(lua_State *L) { return new_random(L, true, true, "randn_like"); }

/* As torch.randint: randint(high, shape) or randint(low, high, shape), high excluded;
   int64 unless an options table says {dtype = 'float32'}. */
static int l_randint(lua_State *L) {
  int shape_arg = lua_istable(L, 2) ? 2 : 3;
  lua_Integer low = 0, high;
  if (shape_arg == 2) {
    high = luaL_checkinteger(L, 1);
  } else {
    low = luaL_checkinteger(L, 1);
    high = luaL_checkinteger(L, 2);
  }
  if (!lua_istable(L, shape_arg))
    return luaL_error(L, "recur.randint: expected a shape table such as {2, 3} as argument %d, "
                         "got %s", shape_arg, luaL_typename(L, shape_arg));
  int64_t shape[RC_MAX_DIMS];
  int ndim = rcl_check_shape(L, shape_arg, shape, "randint");
  for (int d = 0; d < ndim; d++)
    if (shape[d] < 0)
      return luaL_error(L, "recur.randint: sizes must be >= 0, got %d for dim %d", (int)shape[d],
                        d + 1);
  rc_dtype dtype = RC_INT64;
  if (lua_istable(L, shape_arg + 1)) {
    lua_getfield(L, shape_arg + 1, "dtype");
    if (!lua_isnil(L, -1)) dtype = rcl_opt_dtype(L, -1, "randint");
    lua_pop(L, 1);
  } else if (!lua_isnoneornil(L, shape_arg + 1)) {
    return luaL_error(L, "recur.randint: argument %d should be an options table, got %s",
                      shape_arg + 1, luaL_typename(L, shape_arg + 1));
  }
  rc_tensor *t = NULL;
  RCL_CHECK(L, rc_empty(&t, dtype, ndim, shape));
  rcl_push_tensor(L, t);
  RCL_CHECK(L, rc_randint_(t, low, high));
  return 1;
}

static int l_bernoulli(lua_State *L) {
  rc_tensor *probs = rcl_check_tensor(L, 1), *out = NULL;
  RCL_CHECK(L, rc_bernoulli(&out, probs));
  rcl_push_tensor(L, out);
  return 1;
}

/* Indices come back 1-based, as everything in Lua. */
static int l_multinomial(lua_State *L) {
  rc_tensor *probs = rcl_check_tensor(L, 1), *out = NULL;
  lua_Integer num_samples = luaL_checkinteger(L, 2);
  bool replacement = lua_toboolean(L, 3);
  RCL_CHECK(L, rc_multinomial(&out, probs, num_samples, replacement));
  int64_t *ids = rc_i64(out), n = rc_numel(out);
  for (int64_t i = 0; i < n; i++) ids[i] += 1;
  rcl_push_tensor(L, out);
  return 1;
}

/* --- in-place fills: return the tensor itself, so calls chain ----------------- */

static int l_uniform_(lua_State *L) {
  rc_tensor *t = rcl_check_tensor(L, 1);
  double from = luaL_optnumber(L, 2, 0), to = luaL_optnumber(L, 3, 1);
  RCL_CHECK(L, rcg_uniform_(t, from, to));
  lua_settop(L, 1);
  return 1;
}

static int l_normal_(lua_State *L) {
  rc_tensor *t = rcl_check_tensor(L, 1);
  double mean = luaL_optnumber(L, 2, 0), std = luaL_optnumber(L, 3, 1);
  RCL_CHECK(L, rcg_normal_(t, mean, std));
  lua_settop(L, 1);
  return 1;
}

static int l_bernoulli_(lua_State *L) {
  rc_tensor *t = rcl_check_tensor(L, 1);
  double p = luaL_optnumber(L, 2, 0.5);
  RCL_CHECK(L, rcg_bernoulli_(t, p));
  lua_settop(L, 1);
  return 1;
}

static const luaL_Reg random_funcs[] = {
  {"manual_seed", l_manual_seed},
  {"seed", l_seed},
  {"initial_seed", l_seed},
  {"get_rng_state", l_get_rng_state},
  {"set_rng_state", l_set_rng_state},
  {"rand", l_rand},
  {"randn", l_randn},
  {"rand_like", l_rand_like},
  {"randn_like", l_randn_like},
  {"randint", l_randint},
  {"bernoulli", l_bernoulli},
  {"multinomial", l_multinomial},
  {"uniform_", l_uniform_},
  {"normal_", l_normal_},
  {"bernoulli_", l_bernoulli_},
  {NULL, NULL}
};

/* The ones whose first argument is a tensor, also as methods: t:bernoulli_(0.3). */
static const luaL_Reg random_methods[] = {
  {"bernoulli", l_bernoulli},
  {"multinomial", l_multinomial},
  {"uniform_", l_uniform_},
  {"normal_", l_normal_},
  {"bernoulli_", l_bernoulli_},
  {NULL, NULL}
};

void rcl_open_random(lua_State *L) {
  rcl_add_functions(L, random_funcs);
  rcl_add_methods(L, random_methods);
}
