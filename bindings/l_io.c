/* bindings/l_io.c — Lua functions of recur's files: recur.save / recur.load (safetensors),
   the JSON bridge the checkpoints use (cJSON), and recur.save_checkpoint / load_checkpoint. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../core/safetensors.h"
#include "lrecur.h"

/* A C resource owned by a userdata while Lua code runs, so a Lua error cannot leak it. */
#define IO_BOX_MT "recur.io.box"

typedef struct {
  rc_safetensors *st;
  cJSON *json;
} io_box;

static int box_gc(lua_State *L) {
  io_box *box = luaL_checkudata(L, 1, IO_BOX_MT);
  rc_safetensors_free(box->st);
  cJSON_Delete(box->json);
  box->st = NULL;
  box->json = NULL;
  return 0;
}

static io_box *push_box(lua_State *L) {
  io_box *box = lua_newuserdatauv(L, sizeof *box, 0);
  box->st = NULL;
  box->json = NULL;
  luaL_setmetatable(L, IO_BOX_MT);
  return box;
}

/* A string key or value without a zero byte (the file format stores C strings). */
static const char *check_text(lua_State *L, int idx, const char *fn, const char *what) {
  size_t len;
  const char *s = lua_tolstring(L, idx, &len);
  if (strlen(s) != len)
    luaL_error(L, "recur.%s: %s '%s' has a zero byte", fn, what, s);
  return s;
}

/* --- recur.save / recur.load ----------------------------------------------------------- */

/* recur.save(path, {name = tensor, ...}[, {key = "value", ...}]) */
static int l_save(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  if (!lua_isnoneornil(L, 3)) luaL_checktype(L, 3, LUA_TTABLE);
  if (lua_getfield(L, 2, "state_dict") == LUA_TFUNCTION)
    return luaL_error(L, "recur.save: expected a table of tensors, got a module (save "
                         "model:state_dict(), or use recur.save_checkpoint)");
  lua_pop(L, 1);
  int count = 0, meta_count = 0;
  lua_pushnil(L);
  while (lua_next(L, 2)) {
    lua_pop(L, 1);
    count++;
  }
  if (lua_istable(L, 3)) {
    lua_pushnil(L);
    while (lua_next(L, 3)) {
      lua_pop(L, 1);
      meta_count++;
    }
  }
  /* Scratch arrays as userdata: the collector frees them even if a check below raises. */
  const char **names = lua_newuserdatauv(L, sizeof(char *) * ((size_t)count + 1), 0);
  const rc_tensor **tensors = lua_newuserdatauv(L, sizeof(rc_tensor *) * ((size_t)count + 1), 0);
  const char **keys = lua_newuserdatauv(L, sizeof(char *) * ((size_t)meta_count + 1), 0);
  const char **values = lua_newuserdatauv(L, sizeof(char *) * ((size_t)meta_count + 1), 0);
  int n = 0;
  lua_pushnil(L);
  while (lua_next(L, 2)) {
    if (lua_type(L, -2) != LUA_TSTRING) {
      const char *type = luaL_typename(L, -2);
      lua_pushvalue(L, -2);
      return luaL_error(L, "recur.save: tensor names must be strings, got the %s key %s", type,
                        luaL_tolstring(L, -1, NULL));
    }
    const char *name = check_text(L, -2, "save", "tensor name");
    rc_tensor *t = rcl_to_tensor(L, -1);
    if (!t)
      return luaL_error(L, "recur.save: '%s' must be a tensor, got %s", name,
                        lua_isuserdata(L, -1) && luaL_testudata(L, -1, RCL_TENSOR_MT)
                            ? "a closed tensor" : luaL_typename(L, -1));
    names[n] = name; /* the table keeps the string and the tensor alive */
    tensors[n++] = t;
    lua_pop(L, 1);
  }
  n = 0;
  if (lua_istable(L, 3)) {
    lua_pushnil(L);
    while (lua_next(L, 3)) {
      if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
        return luaL_error(L, "recur.save: metadata must map strings to strings, got %s -> %s",
                          luaL_typename(L, -2), luaL_typename(L, -1));
      keys[n] = check_text(L, -2, "save", "metadata key");
      values[n++] = check_text(L, -1, "save", "metadata value");
      lua_pop(L, 1);
    }
  }
  RCL_CHECK(L, rc_safetensors_save(path, count, names, tensors, meta_count, keys, values));
  return 0;
}

/* recur.load(path) -> {name = tensor, ...}, {key = "value", ...} */
static int l_load(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  io_box *box = push_box(L);
  RCL_CHECK(L, rc_safetensors_load(&box->st, path));
  rc_safetensors *st = box->st;
  lua_createtable(L, 0, st->count);
  for (int i = 0; i < st->count; i++) {
    rc_tensor *t = st->tensors[i];
    st->tensors[i] = NULL; /* Lua owns it from here */
    rcl_push_tensor(L, t);
    lua_setfield(L, -2, st->names[i]);
  }
  lua_createtable(L, 0, st->meta_count);
  for (int i = 0; i < st->meta_count; i++) {
    lua_pushstring(L, st->meta_values[i]);
    lua_setfield(L, -2, st->meta_keys[i]);
  }
  return 2;
}

/* --- JSON for plain Lua values ----------------------------------------------------------
   Tables become arrays (keys 1..n) or objects (string keys); {} is an empty object. JSON
   numbers are doubles to most readers, so what a double cannot say exactly is tagged:
   integers beyond 2^53 as {"$int": "digits"}, and floats with an integral value (1.0, -0.0)
   or none (inf, nan) as {"$float": "text"}; an untagged whole number decodes as an integer,
   any other number as a float. So every value comes back with its Lua type and its bits. */

#define JSON_MAX_DEPTH 100
#define JSON_EXACT 9007199254740992.0 /* 2^53 */

typedef struct {
  lua_State *L;
  char path[400];
  size_t plen;
  char err[600];
} encoder;

static cJSON *enc_fail(encoder *e, const char *fmt, const char *detail) {
  char msg[200];
  snprintf(msg, sizeof msg, fmt, detail);
  snprintf(e->err, sizeof e->err, "%s %s", e->path, msg);
  return NULL;
}

/* Path bookkeeping for messages: "config.layers[2]". Returns the length to restore. */
static size_t path_push_key(encoder *e, const char *key) {
  size_t old = e->plen;
  int w = snprintf(e->path + old, sizeof e->path - old, ".%s", key);
  e->plen = w < 0 ? old : (old + (size_t)w < sizeof e->path ? old + (size_t)w : sizeof e->path - 1);
  return old;
}

static size_t path_push_index(encoder *e, lua_Integer i) {
  size_t old = e->plen;
  int w = snprintf(e->path + old, sizeof e->path - old, "[%lld]", (long long)i);
  e->plen = w < 0 ? old : (old + (size_t)w < sizeof e->path ? old + (size_t)w : sizeof e->path - 1);
  return old;
}

static void path_pop(encoder *e, size_t old) {
  e->plen = old;
  e->path[old] = '\0';
}

static cJSON *tagged(const char *tag, const char *text) {
  cJSON *o = cJSON_CreateObject();
  if (o && !cJSON_AddItemToObject(o, tag, cJSON_CreateString(text))) {
    cJSON_Delete(o);
    return NULL;
  }
  return o;
}

/* The shortest of %.15g..%.17g that reads back as the same double ("." whatever the locale). */
static void format_double(char *buf, size_t size, double d) {
  for (int prec = 15; prec <= 17; prec++) {
    snprintf(buf, size, "%.*g", prec, d);
    for (char *p = buf; *p; p++)
      if (*p == ',') *p = '.';
    if (strtod(buf, NULL) == d) return;
  }
}

static cJSON *encode_value(encoder *e, int idx, int depth);

static int compare_keys(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Raw access throughout (lua_next, rawget): what is encoded is what the table holds. */
static cJSON *encode_table(encoder *e, int idx, int depth) {
  lua_State *L = e->L;
  if (depth > JSON_MAX_DEPTH)
    return enc_fail(e, "is nested more than %s tables deep (a table that contains itself?)", "100");
  luaL_checkstack(L, 6, "JSON nesting");
  lua_Integer ints = 0, max_int = 0, strs = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    if (lua_type(L, -1) == LUA_TSTRING) {
      strs++;
    } else if (lua_isinteger(L, -1)) {
      lua_Integer k = lua_tointeger(L, -1);
      if (k < 1) {
        char key[32];
        snprintf(key, sizeof key, "%lld", (long long)k);
        lua_pop(L, 1);
        return enc_fail(e, "has the key %s (keys must be strings, or 1..n for a list)", key);
      }
      ints++;
      if (k > max_int) max_int = k;
    } else {
      const char *type = luaL_typename(L, -1);
      lua_pop(L, 1);
      return enc_fail(e, "has a %s key (keys must be strings, or 1..n for a list)", type);
    }
  }
  if (ints > 0 && strs > 0)
    return enc_fail(e, "mixes list entries and named fields%s", "");
  if (ints > 0) {
    if (max_int != ints)
      return enc_fail(e, "is a list with holes (keys must be 1..n without gaps)%s", "");
    cJSON *arr = cJSON_CreateArray();
    if (!arr) return enc_fail(e, "could not be encoded: %s", "out of memory");
    for (lua_Integer i = 1; i <= ints; i++) {
      lua_rawgeti(L, idx, i);
      size_t old = path_push_index(e, i);
      cJSON *item = encode_value(e, lua_gettop(L), depth + 1);
      lua_pop(L, 1);
      if (!item) {
        cJSON_Delete(arr);
        return NULL;
      }
      path_pop(e, old);
      if (!cJSON_AddItemToArray(arr, item)) {
        cJSON_Delete(item);
        cJSON_Delete(arr);
        return enc_fail(e, "could not be encoded: %s", "out of memory");
      }
    }
    return arr;
  }
  /* An object, keys sorted: the same table always gives the same text. */
  const char **keys = malloc(sizeof(char *) * (size_t)(strs + 1));
  if (!keys) return enc_fail(e, "could not be encoded: %s", "out of memory");
  size_t n = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    size_t len;
    const char *k = lua_tolstring(L, -1, &len); /* a string key: no conversion happens */
    if (strlen(k) != len) {
      free(keys);
      lua_pop(L, 1);
      return enc_fail(e, "has a key with a zero byte%s", "");
    }
    size_t bad;
    if (!rc_utf8_valid(k, len, &bad)) {
      free(keys);
      lua_pop(L, 1);
      return enc_fail(e, "has a key that is not valid UTF-8 (JSON holds text only)%s", "");
    }
    keys[n++] = k; /* the table keeps the key alive */
  }
  qsort(keys, n, sizeof *keys, compare_keys);
  if (n == 1 && (!strcmp(keys[0], "$int") || !strcmp(keys[0], "$float"))) {
    lua_pushstring(L, keys[0]);
    lua_rawget(L, idx);
    bool is_string = lua_type(L, -1) == LUA_TSTRING;
    lua_pop(L, 1);
    if (is_string) {
      const char *k = keys[0];
      free(keys);
      return enc_fail(e, "is {%s = <string>}, which the JSON encoding reserves for numbers", k);
    }
  }
  cJSON *obj = cJSON_CreateObject();
  if (!obj) {
    free(keys);
    return enc_fail(e, "could not be encoded: %s", "out of memory");
  }
  for (size_t i = 0; i < n; i++) {
    lua_pushstring(L, keys[i]);
    lua_rawget(L, idx);
    size_t old = path_push_key(e, keys[i]);
    cJSON *item = encode_value(e, lua_gettop(L), depth + 1);
    lua_pop(L, 1);
    if (!item) {
      free(keys);
      cJSON_Delete(obj);
      return NULL;
    }
    path_pop(e, old);
    if (!cJSON_AddItemToObject(obj, keys[i], item)) {
      cJSON_Delete(item);
      cJSON_Delete(obj);
      free(keys);
      return enc_fail(e, "could not be encoded: %s", "out of memory");
    }
  }
  free(keys);
  return obj;
}

static cJSON *encode_value(encoder *e, int idx, int depth) {
  lua_State *L = e->L;
  char buf[64];
  switch (lua_type(L, idx)) {
  case LUA_TNIL:
    return cJSON_CreateNull();
  case LUA_TBOOLEAN:
    return cJSON_CreateBool(lua_toboolean(L, idx));
  case LUA_TNUMBER:
    if (lua_isinteger(L, idx)) {
      lua_Integer i = lua_tointeger(L, idx);
      snprintf(buf, sizeof buf, "%lld", (long long)i);
      if (i >= -(lua_Integer)JSON_EXACT && i <= (lua_Integer)JSON_EXACT) return cJSON_CreateRaw(buf);
      return tagged("$int", buf);
    } else {
      double d = lua_tonumber(L, idx);
      if (isnan(d)) return tagged("$float", "nan");
      if (isinf(d)) return tagged("$float", d > 0 ? "inf" : "-inf");
      format_double(buf, sizeof buf, d);
      if (d == floor(d) && fabs(d) <= JSON_EXACT) return tagged("$float", buf);
      return cJSON_CreateRaw(buf);
    }
  case LUA_TSTRING: {
    size_t len, bad;
    const char *s = lua_tolstring(L, idx, &len);
    if (strlen(s) != len) return enc_fail(e, "is a string with a zero byte%s", "");
    if (!rc_utf8_valid(s, len, &bad))
      return enc_fail(e, "is a string that is not valid UTF-8 (JSON holds text only)%s", "");
    return cJSON_CreateString(s);
  }
  case LUA_TTABLE:
    return encode_table(e, idx, depth);
  default:
    if (luaL_testudata(L, idx, RCL_TENSOR_MT))
      return enc_fail(e, "is a tensor, which JSON cannot hold%s", "");
    return enc_fail(e, "is a %s, which JSON cannot hold", luaL_typename(L, idx));
  }
}

/* recur._json_encode(value[, where]) -> text; `where` names the value in messages. */
static int l_json_encode(lua_State *L) {
  luaL_checkany(L, 1);
  const char *where = luaL_optstring(L, 2, "value");
  encoder e = {.L = L, .plen = 0};
  snprintf(e.path, sizeof e.path, "%s", where);
  e.plen = strlen(e.path);
  io_box *box = push_box(L);
  box->json = encode_value(&e, 1, 0);
  if (!box->json) {
    if (!e.err[0]) snprintf(e.err, sizeof e.err, "%s could not be encoded: out of memory", where);
    return luaL_error(L, "recur._json_encode: %s", e.err);
  }
  char *text = cJSON_PrintUnformatted(box->json);
  if (!text) return luaL_error(L, "recur._json_encode: %s could not be encoded: out of memory", where);
  lua_pushstring(L, text);
  cJSON_free(text);
  return 1;
}

static void decode_value(lua_State *L, const cJSON *j, const char *where);

/* A number written by encode_value's tags, or false when j is not a tag. */
static bool decode_tag(lua_State *L, const cJSON *j, const char *where) {
  const cJSON *only = j->child;
  if (!only || only->next || !cJSON_IsString(only)) return false;
  const char *text = only->valuestring;
  char *end;
  if (!strcmp(only->string, "$int")) {
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (end == text || *end || errno)
      luaL_error(L, "recur._json_decode: %s: {\"$int\": \"%s\"} is not a 64-bit integer", where, text);
    lua_pushinteger(L, (lua_Integer)v);
    return true;
  }
  if (!strcmp(only->string, "$float")) {
    double v = !strcmp(text, "nan") ? NAN : !strcmp(text, "inf") ? INFINITY
             : !strcmp(text, "-inf") ? -INFINITY : strtod(text, &end);
    if (!isnan(v) && !isinf(v) && (end == text || *end))
      luaL_error(L, "recur._json_decode: %s: {\"$float\": \"%s\"} is not a number", where, text);
    lua_pushnumber(L, v);
    return true;
  }
  return false;
}

static void decode_value(lua_State *L, const cJSON *j, const char *where) {
  luaL_checkstack(L, 4, "JSON nesting");
  if (cJSON_IsNull(j)) {
    lua_pushnil(L);
  } else if (cJSON_IsBool(j)) {
    lua_pushboolean(L, cJSON_IsTrue(j));
  } else if (cJSON_IsNumber(j)) {
    double d = j->valuedouble;
    if (d == floor(d) && fabs(d) <= JSON_EXACT)
      lua_pushinteger(L, (lua_Integer)d);
    else
      lua_pushnumber(L, d);
  } else if (cJSON_IsString(j)) {
    lua_pushstring(L, j->valuestring);
  } else if (cJSON_IsArray(j)) {
    lua_createtable(L, cJSON_GetArraySize(j), 0);
    lua_Integer i = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, j) {
      if (cJSON_IsNull(item))
        luaL_error(L, "recur._json_decode: %s: a list holds null, which a Lua list cannot", where);
      decode_value(L, item, where);
      lua_rawseti(L, -2, ++i);
    }
  } else if (cJSON_IsObject(j)) {
    if (decode_tag(L, j, where)) return;
    lua_createtable(L, 0, cJSON_GetArraySize(j));
    const cJSON *item;
    cJSON_ArrayForEach(item, j) {
      if (lua_getfield(L, -1, item->string) != LUA_TNIL)
        luaL_error(L, "recur._json_decode: %s: the key '%s' appears twice", where, item->string);
      lua_pop(L, 1);
      if (cJSON_IsNull(item)) continue; /* a nil field is no field */
      decode_value(L, item, where);
      lua_setfield(L, -2, item->string);
    }
  } else {
    luaL_error(L, "recur._json_decode: %s: unexpected JSON value", where);
  }
}

/* recur._json_decode(text[, where]) -> value */
static int l_json_decode(lua_State *L) {
  size_t len, at;
  const char *text = luaL_checklstring(L, 1, &len);
  const char *where = luaL_optstring(L, 2, "text");
  const char *problem = rc_json_text_problem(text, len, &at);
  if (problem) return luaL_error(L, "recur._json_decode: %s %s (byte %d)", where, problem, (int)at);
  io_box *box = push_box(L);
  const char *end = NULL;
  box->json = cJSON_ParseWithLengthOpts(text, len, &end, false);
  if (!box->json)
    return luaL_error(L, "recur._json_decode: %s is not valid JSON (error near byte %d)", where,
                      end ? (int)(end - text) : 0);
  for (const char *p = end; p < text + len; p++)
    if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
      return luaL_error(L, "recur._json_decode: %s has text after its JSON value (byte %d)", where,
                        (int)(p - text));
  decode_value(L, box->json, where);
  return 1;
}

/* --- training checkpoints: the Lua part scripts/recur/checkpoint.lua --------------------- */

static int forward_to_checkpoint(lua_State *L, const char *fname) {
  int nargs = lua_gettop(L);
  lua_getglobal(L, "require");
  lua_pushliteral(L, "recur.checkpoint");
  lua_call(L, 1, 1);
  lua_getfield(L, -1, fname);
  lua_remove(L, -2);
  lua_insert(L, 1);
  lua_call(L, nargs, LUA_MULTRET);
  return lua_gettop(L);
}

static int l_save_checkpoint(lua_State *L) { return forward_to_checkpoint(L, "save_checkpoint"); }
static int l_load_checkpoint(lua_State *L) { return forward_to_checkpoint(L, "load_checkpoint"); }

static const luaL_Reg io_funcs[] = {
  {"save", l_save},
  {"load", l_load},
  {"save_checkpoint", l_save_checkpoint},
  {"load_checkpoint", l_load_checkpoint},
  {"_json_encode", l_json_encode},
  {"_json_decode", l_json_decode},
  {NULL, NULL}
};

void rcl_open_io(lua_State *L) {
  luaL_newmetatable(L, IO_BOX_MT);
  lua_pushcfunction(L, box_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  rcl_add_functions(L, io_funcs);
}
