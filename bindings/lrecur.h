/* bindings/lrecur.h — what every binding file shares: the tensor userdata, argument checks
   that speak Lua's 1-based dims, and the one path from a core error to a Lua error. */
#ifndef LRECUR_H
#define LRECUR_H

#include <lauxlib.h>
#include <lua.h>
#include "../core/recur.h"

#define RCL_TENSOR_MT "recur.Tensor"

/* The tensor at arg (error if not a tensor or closed). */
rc_tensor *rcl_check_tensor(lua_State *L, int arg);
/* The tensor at arg, or NULL if the value there is not a tensor. */
rc_tensor *rcl_to_tensor(lua_State *L, int arg);
/* A tensor at arg, or a number there turned into a 0-d float32 tensor (a new reference the
   caller must release: *owned is set to it). */
rc_tensor *rcl_check_tensor_or_number(lua_State *L, int arg, rc_tensor **owned);
/* Push t as a Lua value, taking over the reference. Tells the collector about new storage. */
void rcl_push_tensor(lua_State *L, rc_tensor *t);

/* Raise the core's last error as a Lua error, prefixed with "recur.". Never returns. */
int rcl_core_error(lua_State *L);
/* Call-and-check: raise the core error unless st == RC_OK. */
#define RCL_CHECK(L, call)                          \
  do {                                              \
    if ((call) != RC_OK) rcl_core_error(L);         \
  } while (0)

/* A Lua dim (1..n, or -n..-1 from the end) at arg, as a 0-based core dim for a tensor of
   ndim dims; `extra` = 1 where a new dim may be inserted (unsqueeze, stack). */
int rcl_check_dim(lua_State *L, int arg, int ndim, int extra, const char *fn);
int rcl_opt_dim(lua_State *L, int arg, int ndim, int fallback, const char *fn);
/* A shape from arg: either a Lua table {2,3} or the numbers arg, arg+1, ... up to the top. */
int rcl_check_shape(lua_State *L, int arg, int64_t *shape, const char *fn);
/* A dtype name ("float32" | "int64"), default float32. */
rc_dtype rcl_opt_dtype(lua_State *L, int arg, const char *fn);
/* opts.dtype if arg is a table with that field, else float32. */
rc_dtype rcl_opt_dtype_field(lua_State *L, int arg, const char *fn);

/* Error unless every key of the options table at arg is in `allowed` (NULL-terminated);
   names all unknown keys, sorted: "recur.<fn>: unknown options 'a', 'b' (expected x, y or z)".
   The one options checker of the bindings: a typo never half-applies. */
void rcl_check_options(lua_State *L, int arg, const char *fn, const char *const *allowed);

/* Add funcs to the `recur` module table, or to the tensor methods table (both live in the
   registry while the module opens). */
void rcl_add_functions(lua_State *L, const luaL_Reg *funcs);
void rcl_add_methods(lua_State *L, const luaL_Reg *funcs);

/* One opener per binding area, called by luaopen_recur. */
void rcl_open_tensor(lua_State *L);
void rcl_open_print(lua_State *L);
void rcl_open_create(lua_State *L);
void rcl_open_view(lua_State *L);
void rcl_open_math(lua_State *L);
void rcl_open_reduce(lua_State *L);
void rcl_open_linalg(lua_State *L);
void rcl_open_index(lua_State *L);
void rcl_open_random(lua_State *L);
void rcl_open_runtime(lua_State *L);
void rcl_open_autograd(lua_State *L);
void rcl_open_optim(lua_State *L);
void rcl_open_nn(lua_State *L);
void rcl_open_io(lua_State *L);
void rcl_open_rnn(lua_State *L);

/* t.grad, t.requires_grad, t.is_leaf, t.grad_fn: pushes the value and returns 1, or 0 when
   key is not a property. The setter handles t.requires_grad = b and t.grad = g | nil. */
int rcl_tensor_property(lua_State *L, rc_tensor *t, const char *key);
int rcl_set_tensor_property(lua_State *L, rc_tensor *t, const char *key, int value);

/* The printer (bindings/l_print.c): pushes tostring(t). */
void rcl_push_tensor_string(lua_State *L, const rc_tensor *t);

int luaopen_recur(lua_State *L);

#endif
