/* bindings/l_print.c — the one tensor printer: tostring(t) formatted as PyTorch's
   torch.Tensor.__repr__ (torch/_tensor_str.py), plus recur.set_printoptions / get_printoptions. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "lrecur.h"

/* --- options (as torch.set_printoptions), shared by every lua_State ----------- */

#define MAX_PRECISION 40

typedef struct {
  int precision;     /* digits after the point (fixed) or of the mantissa (scientific) */
  double threshold;  /* more elements than this: summarize (may be math.huge) */
  int edgeitems;     /* summarized dims show this many items at each end */
  int linewidth;     /* 1-D rows wrap to fit this many characters */
  int sci_mode;      /* -1 = chosen from the values, 0 = never, 1 = always */
} print_options;

static const print_options default_options = {4, 1000, 3, 80, -1};
static print_options opts = {4, 1000, 3, 80, -1};

/* --- how the elements of one printout look (torch's _Formatter) ------------- */

typedef struct {
  bool int_mode;  /* float values all integral: printed "3." */
  bool sci;       /* scientific notation: "1.2346e+05" */
  int width;      /* every element is right-aligned to this width */
} elem_format;

typedef struct {
  const rc_tensor *t;
  bool summarize;   /* numel > threshold: long dims show only their edges */
  int64_t edge;     /* edgeitems */
  elem_format fmt;
} printer;

#define ELEM_BUF 160  /* %.40f of FLT_MAX needs 39 + 1 + 40 characters */
#define INDENT 7      /* strlen("tensor(") */

/* Elements are read by absolute storage offset (view offset + index . stride): exact for int64
   (rc_get_flat goes through a double) and one multiply-add per step for any strided view. */
static double float_at(const rc_tensor *t, int64_t off) {
  return ((const float *)t->storage->data)[off];
}
static int64_t int_at(const rc_tensor *t, int64_t off) {
  return ((const int64_t *)t->storage->data)[off];
}

/* Does dim `dim` show only its first and last `edge` items? */
static bool is_cut(const printer *p, int dim) {
  return p->summarize && p->t->shape[dim] > 2 * p->edge;
}

/* The unpadded text of a float under format f; returns its length. nan has no sign, as in
   Python; integral values get a trailing point so the dtype still reads as float. */
static int format_float(char *buf, const elem_format *f, double v) {
  if (isnan(v)) return snprintf(buf, ELEM_BUF, "nan");
  if (isinf(v)) return snprintf(buf, ELEM_BUF, v > 0 ? "inf" : "-inf");
  if (f->sci) return snprintf(buf, ELEM_BUF, "%.*e", opts.precision, v);
  if (f->int_mode) return snprintf(buf, ELEM_BUF, "%.0f.", v);
  return snprintf(buf, ELEM_BUF, "%.*f", opts.precision, v);
}

static int format_element(char *buf, const printer *p, int64_t off) {
  if (p->t->dtype == RC_INT64) return snprintf(buf, ELEM_BUF, "%" PRId64, int_at(p->t, off));
  return format_float(buf, &p->fmt, float_at(p->t, off));
}

/* Storage offsets of the elements the printout shows, row-major: all of them, or when
   summarizing only the edges of each long dim (torch's get_summarized_data). */
static void gather_shown(const printer *p, int dim, int64_t off, int64_t *out, int64_t *n) {
  const rc_tensor *t = p->t;
  if (dim == t->ndim) {
    out[(*n)++] = off;
    return;
  }
  for (int64_t i = 0; i < t->shape[dim]; i++) {
    if (is_cut(p, dim) && i == p->edge) i = t->shape[dim] - p->edge;
    gather_shown(p, dim + 1, off + i * t->stride[dim], out, n);
  }
}

/* Chosen from the shown values only, as torch does. Width and mode come from the nonzero
   finite values; zeros, nan and inf just take the width the others need. */
static elem_format compute_format(const printer *p, const int64_t *shown, int64_t n) {
  elem_format f = {true, false, 1};
  char s[ELEM_BUF];
  if (p->t->dtype == RC_INT64) {
    for (int64_t k = 0; k < n; k++) {
      int len = snprintf(s, sizeof s, "%" PRId64, int_at(p->t, shown[k]));
      if (len > f.width) f.width = len;
    }
    return f;
  }
  double lo = INFINITY, hi = 0;
  int64_t count = 0;
  for (int64_t k = 0; k < n; k++) {
    double v = float_at(p->t, shown[k]);
    if (!isfinite(v) || v == 0) continue;
    count++;
    lo = fmin(lo, fabs(v));
    hi = fmax(hi, fabs(v));
    if (v != ceil(v)) f.int_mode = false;
  }
  if (count == 0) return f; /* only zeros, nan, inf: "0.", "nan" (torch ignores sci_mode too) */
  /* A wide range of magnitudes would lose the small ones in fixed point. */
  f.sci = hi / lo > 1000.0 || hi > 1.0e8 || (!f.int_mode && lo < 1.0e-4);
  if (opts.sci_mode >= 0) f.sci = opts.sci_mode;
  /* Measured in the final mode (torch measures before a forced sci_mode, which misaligns). */
  for (int64_t k = 0; k < n; k++) {
    double v = float_at(p->t, shown[k]);
    if (!isfinite(v) || v == 0) continue;
    int len = format_float(s, &f, v);
    if (len > f.width) f.width = len;
  }
  return f;
}

/* --- writing ---------------------------------------------------------------- */

static void add_spaces(luaL_Buffer *b, int n) {
  for (int i = 0; i < n; i++) luaL_addchar(b, ' ');
}

/* Between items of one dim: ",", a blank line per dim below the next one, then the indent. */
static void add_separator(luaL_Buffer *b, int newlines, int indent) {
  luaL_addchar(b, ',');
  for (int i = 0; i < newlines; i++) luaL_addchar(b, '\n');
  add_spaces(b, indent);
}

/* The item-th entry of a row (" ..." counts as one): rows wrap every per_line entries. */
static void add_row_item(luaL_Buffer *b, int64_t item, int per_line, int indent, const char *s,
                         int pad) {
  if (item > 0) {
    if (item % per_line == 0)
      add_separator(b, 1, indent + 1);
    else
      luaL_addstring(b, ", ");
  }
  add_spaces(b, pad);
  luaL_addstring(b, s);
}

/* The last dim: "[a, b, c]", wrapped to linewidth like torch's _vector_str. */
static void add_row(luaL_Buffer *b, const printer *p, int64_t off, int indent) {
  const rc_tensor *t = p->t;
  int dim = t->ndim - 1;
  int per_line = (opts.linewidth - indent) / (p->fmt.width + 2);
  if (per_line < 1) per_line = 1;
  char s[ELEM_BUF];
  int64_t item = 0;
  luaL_addchar(b, '[');
  for (int64_t i = 0; i < t->shape[dim]; i++) {
    if (is_cut(p, dim) && i == p->edge) {
      add_row_item(b, item++, per_line, indent, " ...", 0);
      i = t->shape[dim] - p->edge;
    }
    int len = format_element(s, p, off + i * t->stride[dim]);
    add_row_item(b, item++, per_line, indent, s, p->fmt.width > len ? p->fmt.width - len : 0);
  }
  luaL_addchar(b, ']');
}

/* Dim `dim` and everything below it; each level indents one more column, and dims with
   k dims below them are separated by k line breaks (a blank line between matrices). */
static void add_dim(luaL_Buffer *b, const printer *p, int dim, int64_t off, int indent) {
  const rc_tensor *t = p->t;
  if (dim == t->ndim - 1) {
    add_row(b, p, off, indent);
    return;
  }
  int newlines = t->ndim - dim - 1;
  luaL_addchar(b, '[');
  for (int64_t i = 0; i < t->shape[dim]; i++) {
    if (i > 0) add_separator(b, newlines, indent + 1);
    if (is_cut(p, dim) && i == p->edge) {
      luaL_addstring(b, "...");
      add_separator(b, newlines, indent + 1);
      i = t->shape[dim] - p->edge;
    }
    add_dim(b, p, dim + 1, off + i * t->stride[dim], indent + 1);
  }
  luaL_addchar(b, ']');
}

/* ", suffix" on the same line, or on a new line at the indent when it would pass linewidth.
   *line_len counts as torch's _add_suffixes does (two more than the line really holds). */
static void add_suffix(luaL_Buffer *b, const char *suffix, int *line_len) {
  int len = (int)strlen(suffix);
  if (*line_len + len + 2 > opts.linewidth) {
    luaL_addstring(b, ",\n");
    add_spaces(b, INDENT);
    *line_len = INDENT + len;
  } else {
    luaL_addstring(b, ", ");
    *line_len += len + 2;
  }
  luaL_addstring(b, suffix);
}

static int last_line_len(luaL_Buffer *b) {
  const char *s = luaL_buffaddr(b);
  size_t n = luaL_bufflen(b), start = n;
  while (start > 0 && s[start - 1] != '\n') start--;
  return (int)(n - start) + 2;
}

/* tensor([[1., 2.],
           [3., 4.]], shape=(2,2))     tensor([1, 2], dtype=int64, shape=(2))     tensor(3.5000)
   float32 is the default dtype and goes unsaid; the shape is always said (except for 0-d)
   because a Lua user has no other quick look at it. */
void rcl_push_tensor_string(lua_State *L, const rc_tensor *t) {
  int64_t numel = rc_numel(t);
  printer p = {t, (double)numel > opts.threshold, opts.edgeitems, {true, false, 1}};
  int64_t *shown = NULL;
  if (numel > 0) {
    /* Scratch on the Lua stack, so an error while building the string leaks nothing. */
    int64_t count = 1;
    for (int d = 0; d < t->ndim; d++) count *= is_cut(&p, d) ? 2 * p.edge : t->shape[d];
    shown = lua_newuserdatauv(L, (size_t)count * sizeof *shown, 0);
    int64_t n = 0;
    gather_shown(&p, 0, t->offset, shown, &n);
    p.fmt = compute_format(&p, shown, n);
  }

  luaL_Buffer b;
  luaL_buffinit(L, &b);
  luaL_addstring(&b, "tensor(");
  if (numel == 0) {
    luaL_addstring(&b, "[]");
  } else if (t->ndim == 0) {
    char s[ELEM_BUF];
    format_element(s, &p, t->offset);
    luaL_addstring(&b, s);
  } else {
    add_dim(&b, &p, 0, t->offset, INDENT);
  }
  int line_len = last_line_len(&b);
  if (t->dtype != RC_FLOAT32) {
    char s[32];
    snprintf(s, sizeof s, "dtype=%s", rc_dtype_name(t->dtype));
    add_suffix(&b, s, &line_len);
  }
  if (t->ndim > 0) {
    char s[300], dims[256];
    snprintf(s, sizeof s, "shape=%s", rc_shape_str(t, dims, sizeof dims));
    add_suffix(&b, s, &line_len);
  }
  luaL_addchar(&b, ')');
  luaL_pushresult(&b);
  if (shown) lua_remove(L, -2);
}

/* --- recur.set_printoptions / recur.get_printoptions ------------------------ */

static const char *const option_names[] = {"edgeitems", "linewidth", "precision", "profile",
                                           "sci_mode", "threshold", NULL};

/* opts[key] as an integer in lo..hi, or *value unchanged when absent. */
static void int_option(lua_State *L, int arg, const char *key, int lo, int hi, int *value) {
  lua_getfield(L, arg, key);
  if (!lua_isnil(L, -1)) {
    int isint;
    lua_Integer v = lua_tointegerx(L, -1, &isint);
    if (!isint || v < lo || v > hi)
      luaL_error(L, "recur.set_printoptions: %s must be an integer from %d to %d, got %s", key,
                 lo, hi, luaL_tolstring(L, -1, NULL));
    *value = (int)v;
  }
  lua_pop(L, 1);
}

static int l_set_printoptions(lua_State *L) {
  if (lua_isnoneornil(L, 1)) { /* set_printoptions() resets sci_mode, as torch's */
    lua_settop(L, 0);
    lua_newtable(L);
  }
  if (!lua_istable(L, 1))
    return luaL_error(L, "recur.set_printoptions: expected an options table such as "
                         "{precision = 2}, got %s", luaL_typename(L, 1));
  rcl_check_options(L, 1, "set_printoptions", option_names);
  print_options o = opts; /* applied only once every option checked out */

  lua_getfield(L, 1, "profile"); /* first, so the other options refine it (as torch) */
  if (!lua_isnil(L, -1)) {
    const char *profile = lua_tostring(L, -1);
    if (lua_type(L, -1) != LUA_TSTRING) profile = "";
    if (!strcmp(profile, "default")) {
      o = default_options;
    } else if (!strcmp(profile, "short")) {
      o = default_options;
      o.precision = 2;
      o.edgeitems = 2;
    } else if (!strcmp(profile, "full")) {
      o = default_options;
      o.threshold = HUGE_VAL;
    } else {
      return luaL_error(L, "recur.set_printoptions: profile must be 'default', 'short' or "
                           "'full', got %s", luaL_tolstring(L, -1, NULL));
    }
  }
  lua_pop(L, 1);

  int_option(L, 1, "precision", 0, MAX_PRECISION, &o.precision);
  int_option(L, 1, "edgeitems", 1, INT32_MAX / 2, &o.edgeitems);
  int_option(L, 1, "linewidth", 1, INT32_MAX / 2, &o.linewidth);

  lua_getfield(L, 1, "threshold");
  if (!lua_isnil(L, -1)) {
    int isnum;
    lua_Number v = lua_tonumberx(L, -1, &isnum);
    if (!isnum || !(v >= 0))
      return luaL_error(L, "recur.set_printoptions: threshold must be a number >= 0 "
                           "(math.huge for no summarizing), got %s",
                        luaL_tolstring(L, -1, NULL));
    o.threshold = v;
  }
  lua_pop(L, 1);

  /* As torch: sci_mode not given means automatic again, whatever it was before. */
  lua_getfield(L, 1, "sci_mode");
  if (lua_isnil(L, -1))
    o.sci_mode = -1;
  else if (lua_isboolean(L, -1))
    o.sci_mode = lua_toboolean(L, -1);
  else
    return luaL_error(L, "recur.set_printoptions: sci_mode must be true, false or nil, got %s",
                      luaL_tolstring(L, -1, NULL));
  lua_pop(L, 1);

  opts = o;
  return 0;
}

static int l_get_printoptions(lua_State *L) {
  lua_createtable(L, 0, 5);
  lua_pushinteger(L, opts.precision);
  lua_setfield(L, -2, "precision");
  if (opts.threshold == floor(opts.threshold) && opts.threshold < 0x1p62)
    lua_pushinteger(L, (lua_Integer)opts.threshold);
  else
    lua_pushnumber(L, opts.threshold);
  lua_setfield(L, -2, "threshold");
  lua_pushinteger(L, opts.edgeitems);
  lua_setfield(L, -2, "edgeitems");
  lua_pushinteger(L, opts.linewidth);
  lua_setfield(L, -2, "linewidth");
  if (opts.sci_mode >= 0) {
    lua_pushboolean(L, opts.sci_mode);
    lua_setfield(L, -2, "sci_mode");
  }
  return 1;
}

static const luaL_Reg print_funcs[] = {
  {"set_printoptions", l_set_printoptions},
  {"get_printoptions", l_get_printoptions},
  {NULL, NULL}
};

void rcl_open_print(lua_State *L) { rcl_add_functions(L, print_funcs); }
