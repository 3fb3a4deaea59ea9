/* core/safetensors.c — the safetensors reader and atomic writer behind rc_safetensors_*.
   The header is JSON (cJSON); every size in a file is checked before the read it guards. */
#include "safetensors.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "ops.h"

/* Tensor data goes to disk as it lies in memory, which the format requires little-endian. */
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "recur's safetensors I/O writes tensor memory as is: it needs a little-endian machine"
#endif

/* JSON integers are doubles to most readers: exact up to 2^53. */
#define MAX_JSON_INT 9007199254740992.0

/* --- shared helpers -------------------------------------------------------------- */

bool rc_utf8_valid(const char *s, size_t n, size_t *bad) {
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0;
  while (i < n) {
    unsigned c = p[i];
    size_t len;
    unsigned min, cp;
    if (c < 0x80) {
      i++;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2, min = 0x80, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3, min = 0x800, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4, min = 0x10000, cp = c & 0x07;
    } else {
      goto invalid;
    }
    if (n - i < len) goto invalid;
    for (size_t k = 1; k < len; k++) {
      if ((p[i + k] & 0xC0) != 0x80) goto invalid;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) goto invalid;
    i += len;
  }
  return true;
invalid:
  if (bad) *bad = i;
  return false;
}

static const char *st_dtype_name(rc_dtype d) { return d == RC_INT64 ? "I64" : "F32"; }

/* "load: 'path': <message>" as the core's last error. */
static rc_status failf(rc_status code, const char *op, const char *label, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static rc_status failf(rc_status code, const char *op, const char *label, const char *fmt, ...) {
  char msg[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return rc_fail(code, "%s: '%s': %s", op, label, msg);
}

static const char *json_type_name(const cJSON *j) {
  if (cJSON_IsObject(j)) return "an object";
  if (cJSON_IsArray(j)) return "a list";
  if (cJSON_IsString(j)) return "a string";
  if (cJSON_IsNumber(j)) return "a number";
  if (cJSON_IsBool(j)) return "a boolean";
  if (cJSON_IsNull(j)) return "null";
  return "something else";
}

/* A JSON number that is a whole number in [0, 2^53]. */
static bool json_size(const cJSON *j, uint64_t *v) {
  if (!cJSON_IsNumber(j)) return false;
  double d = j->valuedouble;
  if (!(d >= 0 && d <= MAX_JSON_INT) || d != floor(d)) return false;
  *v = (uint64_t)d;
  return true;
}

/* --- reading ------------------------------------------------------------------------ */

/* Where the bytes come from: a file or memory, read front to back. */
typedef struct {
  const char *label;
  FILE *file;
  const unsigned char *mem;
  uint64_t size, pos;
} source;

static rc_status src_read(source *s, void *dst, uint64_t n, const char *what) {
  if (n > s->size - s->pos) /* the checks before every read make this unreachable */
    return failf(RC_ERR_IO, "load", s->label, "%s runs past the end of the file", what);
  if (n == 0) return RC_OK;
  if (s->mem) {
    memcpy(dst, s->mem + s->pos, (size_t)n);
  } else if (fread(dst, 1, (size_t)n, s->file) != (size_t)n) {
    int err = errno;
    return failf(RC_ERR_IO, "load", s->label, "reading %s failed: %s", what,
                 ferror(s->file) ? strerror(err) : "the file ended early (did it shrink?)");
  }
  s->pos += n;
  return RC_OK;
}

typedef struct {
  const char *name;  /* inside the cJSON tree */
  rc_dtype dtype;
  int ndim;
  int64_t shape[RC_MAX_DIMS];
  uint64_t begin, end;
  int order;         /* position in the header */
} entry;

static int by_offset(const void *a, const void *b) {
  const entry *x = a, *y = b;
  if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
  if (x->end != y->end) return x->end < y->end ? -1 : 1;
  return x->order - y->order;
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

const char *rc_json_text_problem(const char *s, size_t n, size_t *at) {
  if (!rc_utf8_valid(s, n, at)) return "is not valid UTF-8";
  bool in_string = false;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    *at = i;
    /* JSON allows whitespace between tokens and no control byte inside a string */
    if (c < 0x20 && (in_string || (c != '\t' && c != '\n' && c != '\r')))
      return "has a control byte";
    if (c == '"') {
      in_string = !in_string;
    } else if (c == '\\' && in_string && i + 1 < n) {
      if (s[i + 1] == 'u' && i + 5 < n && !memcmp(s + i + 2, "0000", 4))
        return "has a \\u0000 escape";
      i++; /* the escaped character: in "\\\\u0000" the second backslash is text */
    }
  }
  return NULL;
}

static rc_status parse_metadata(const char *label, const cJSON *meta, rc_safetensors *st) {
  if (cJSON_IsNull(meta)) return RC_OK;
  if (!cJSON_IsObject(meta))
    return failf(RC_ERR_IO, "load", label, "__metadata__ must be an object of strings, got %s",
                 json_type_name(meta));
  int n = cJSON_GetArraySize(meta);
  if (n == 0) return RC_OK;
  st->meta_keys = calloc((size_t)n, sizeof(char *));
  st->meta_values = calloc((size_t)n, sizeof(char *));
  if (!st->meta_keys || !st->meta_values)
    return rc_fail(RC_ERR_NOMEM, "load: out of memory reading '%s'", label);
  const cJSON *item;
  cJSON_ArrayForEach(item, meta) {
    if (!cJSON_IsString(item))
      return failf(RC_ERR_IO, "load", label, "__metadata__ value of '%.200s' must be a string, got %s",
                   item->string, json_type_name(item));
    int i = st->meta_count;
    st->meta_keys[i] = strdup(item->string);
    st->meta_values[i] = strdup(item->valuestring);
    if (!st->meta_keys[i] || !st->meta_values[i]) {
      free(st->meta_keys[i]);
      free(st->meta_values[i]);
      return rc_fail(RC_ERR_NOMEM, "load: out of memory reading '%s'", label);
    }
    st->meta_count++;
  }
  char **sorted = malloc((size_t)n * sizeof(char *));
  if (!sorted) return rc_fail(RC_ERR_NOMEM, "load: out of memory reading '%s'", label);
  memcpy(sorted, st->meta_keys, (size_t)n * sizeof(char *));
  qsort(sorted, (size_t)n, sizeof(char *), by_name);
  for (int i = 1; i < n; i++)
    if (!strcmp(sorted[i - 1], sorted[i])) {
      rc_status s = failf(RC_ERR_IO, "load", label, "__metadata__ has the key '%.200s' twice",
                          sorted[i]);
      free(sorted);
      return s;
    }
  free(sorted);
  return RC_OK;
}

/* One tensor's entry {"dtype": ..., "shape": [...], "data_offsets": [b, e]}, checked
   against itself and against the size of the data section. */
static rc_status parse_entry(const char *label, const cJSON *item, uint64_t data_size, entry *e) {
  const char *name = item->string;
  if (!cJSON_IsObject(item))
    return failf(RC_ERR_IO, "load", label, "tensor '%.200s' must be an object, got %s", name,
                 json_type_name(item));
  const cJSON *dtype = NULL, *shape = NULL, *offsets = NULL, *field;
  cJSON_ArrayForEach(field, item) {
    const cJSON **slot = !strcmp(field->string, "dtype")          ? &dtype
                         : !strcmp(field->string, "shape")        ? &shape
                         : !strcmp(field->string, "data_offsets") ? &offsets
                                                                  : NULL;
    if (!slot)
      return failf(RC_ERR_IO, "load", label,
                   "tensor '%.200s' has a field '%.200s' (expected dtype, shape and data_offsets)",
                   name, field->string);
    if (*slot)
      return failf(RC_ERR_IO, "load", label, "tensor '%.200s' has '%s' twice", name,
                   field->string);
    *slot = field;
  }
  if (!dtype || !shape || !offsets)
    return failf(RC_ERR_IO, "load", label, "tensor '%.200s' has no %s", name,
                 !dtype ? "dtype" : !shape ? "shape" : "data_offsets");

  if (!cJSON_IsString(dtype))
    return failf(RC_ERR_IO, "load", label, "tensor '%.200s': dtype must be a string, got %s", name,
                 json_type_name(dtype));
  if (!strcmp(dtype->valuestring, "F32"))
    e->dtype = RC_FLOAT32;
  else if (!strcmp(dtype->valuestring, "I64"))
    e->dtype = RC_INT64;
  else
    return failf(RC_ERR_IO, "load", label,
                 "tensor '%.200s' has dtype '%.40s', which recur does not read (it reads F32 and I64)",
                 name, dtype->valuestring);

  if (!cJSON_IsArray(shape))
    return failf(RC_ERR_IO, "load", label, "tensor '%.200s': shape must be a list of sizes, got %s",
                 name, json_type_name(shape));
  int ndim = cJSON_GetArraySize(shape);
  if (ndim > RC_MAX_DIMS)
    return failf(RC_ERR_IO, "load", label, "tensor '%.200s' has %d dims, more than the %d recur supports",
                 name, ndim, RC_MAX_DIMS);
  e->ndim = ndim;
  uint64_t numel = 1;
  bool overflow = false;
  for (int d = 0; d < ndim; d++) {
    const cJSON *size = cJSON_GetArrayItem(shape, d);
    uint64_t v;
    if (!json_size(size, &v))
      return failf(RC_ERR_IO, "load", label,
                   "tensor '%.200s': size %d of the shape must be a whole number >= 0, got %s", name,
                   d + 1, cJSON_IsNumber(size) ? "a negative, fractional or huge number"
                                               : json_type_name(size));
    e->shape[d] = (int64_t)v;
    overflow |= __builtin_mul_overflow(numel, v, &numel);
  }
  char dims[160];
  rc_dims_str(ndim, e->shape, dims, sizeof dims);
  uint64_t nbytes;
  if (overflow || __builtin_mul_overflow(numel, (uint64_t)rc_dtype_size(e->dtype), &nbytes))
    return failf(RC_ERR_IO, "load", label, "tensor '%.200s' has shape %s, too large to exist", name,
                 dims);

  if (!cJSON_IsArray(offsets) || cJSON_GetArraySize(offsets) != 2 ||
      !json_size(cJSON_GetArrayItem(offsets, 0), &e->begin) ||
      !json_size(cJSON_GetArrayItem(offsets, 1), &e->end))
    return failf(RC_ERR_IO, "load", label,
                 "tensor '%.200s': data_offsets must be two whole numbers [begin, end]", name);
  if (e->end < e->begin)
    return failf(RC_ERR_IO, "load", label,
                 "tensor '%.200s': data_offsets [%" PRIu64 ", %" PRIu64 "] end before they begin",
                 name, e->begin, e->end);
  if (e->end - e->begin != nbytes)
    return failf(RC_ERR_IO, "load", label,
                 "tensor '%.200s': shape %s of %s needs %" PRIu64 " bytes but data_offsets [%" PRIu64
                 ", %" PRIu64 "] hold %" PRIu64,
                 name, dims, st_dtype_name(e->dtype), nbytes, e->begin, e->end, e->end - e->begin);
  if (e->end > data_size)
    return failf(RC_ERR_IO, "load", label,
                 "tensor '%.200s': data_offsets [%" PRIu64 ", %" PRIu64
                 "] run past the end of the data (%" PRIu64 " bytes)",
                 name, e->begin, e->end, data_size);
  e->name = name;
  return RC_OK;
}

/* After each entry checked alone: the tensors must tile the data section exactly. */
static rc_status check_layout(const char *label, entry *sorted, int n, uint64_t data_size) {
  uint64_t at = 0;
  for (int i = 0; i < n; i++) {
    const entry *e = &sorted[i];
    if (e->begin > at) {
      if (i == 0)
        return failf(RC_ERR_IO, "load", label,
                     "the first %" PRIu64 " bytes of the data belong to no tensor (tensor '%.200s' "
                     "begins at %" PRIu64 ")", e->begin, e->name, e->begin);
      return failf(RC_ERR_IO, "load", label,
                   "%" PRIu64 " bytes between tensor '%.200s' (ends at %" PRIu64
                   ") and tensor '%.200s' (begins at %" PRIu64 ") belong to no tensor",
                   e->begin - at, sorted[i - 1].name, at, e->name, e->begin);
    }
    if (e->begin < at)
      return failf(RC_ERR_IO, "load", label,
                   "tensors '%.200s' [%" PRIu64 ", %" PRIu64 "] and '%.200s' [%" PRIu64 ", %" PRIu64
                   "] overlap",
                   sorted[i - 1].name, sorted[i - 1].begin, sorted[i - 1].end, e->name, e->begin,
                   e->end);
    at = e->end;
  }
  if (at != data_size) {
    if (n == 0)
      return failf(RC_ERR_IO, "load", label,
                   "the header lists no tensors but %" PRIu64 " bytes of data follow it", data_size);
    return failf(RC_ERR_IO, "load", label,
                 "%" PRIu64 " bytes after the last tensor '%.200s' (ends at %" PRIu64
                 " of %" PRIu64 ") belong to no tensor",
                 data_size - at, sorted[n - 1].name, at, data_size);
  }
  return RC_OK;
}

static rc_status parse(source *s, rc_safetensors **out) {
  const char *label = s->label;
  *out = NULL;
  if (s->size < 8)
    return failf(RC_ERR_IO, "load", label,
                 "file has %" PRIu64 " bytes, fewer than the 8 of the header length (truncated?)",
                 s->size);
  unsigned char len_bytes[8];
  rc_status st = src_read(s, len_bytes, 8, "the header length");
  if (st != RC_OK) return st;
  uint64_t n = 0;
  for (int i = 7; i >= 0; i--) n = (n << 8) | len_bytes[i];
  if (n > RC_SAFETENSORS_MAX_HEADER)
    return failf(RC_ERR_IO, "load", label,
                 "header length %" PRIu64 " is over the limit of %d bytes (not a safetensors file?)",
                 n, RC_SAFETENSORS_MAX_HEADER);
  if (n > s->size - 8)
    return failf(RC_ERR_IO, "load", label,
                 "header length %" PRIu64 " runs past the end of the file (%" PRIu64
                 " bytes follow the length; truncated?)", n, s->size - 8);
  if (n < 2)
    return failf(RC_ERR_IO, "load", label, "header length %" PRIu64 " is too short for a JSON object", n);
  uint64_t data_size = s->size - 8 - n;

  char *header = malloc((size_t)n + 1);
  if (!header) return rc_fail(RC_ERR_NOMEM, "load: out of memory reading '%s'", label);
  cJSON *root = NULL;
  entry *entries = NULL;
  const char **names = NULL;
  rc_safetensors *res = NULL;
  st = src_read(s, header, n, "the header");
  if (st != RC_OK) goto done;
  header[n] = '\0';
  size_t at;
  const char *problem = rc_json_text_problem(header, (size_t)n, &at);
  if (problem) {
    st = failf(RC_ERR_IO, "load", label, "header %s (byte %zu)", problem, at);
    goto done;
  }

  const char *end = NULL;
  root = cJSON_ParseWithLengthOpts(header, (size_t)n, &end, false);
  if (!root) {
    st = failf(RC_ERR_IO, "load", label, "header is not valid JSON (error near byte %td of %" PRIu64 ")",
               end ? end - header : (ptrdiff_t)0, n);
    goto done;
  }
  for (const char *p = end; p < header + n; p++)
    if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
      st = failf(RC_ERR_IO, "load", label, "header has text after its JSON object (byte %td)",
                 p - header);
      goto done;
    }
  if (!cJSON_IsObject(root)) {
    st = failf(RC_ERR_IO, "load", label, "header must be a JSON object, got %s", json_type_name(root));
    goto done;
  }

  res = calloc(1, sizeof *res);
  int total = cJSON_GetArraySize(root);
  entries = calloc((size_t)total + 1, sizeof *entries);
  names = calloc((size_t)total + 1, sizeof *names);
  if (!res || !entries || !names) {
    st = rc_fail(RC_ERR_NOMEM, "load: out of memory reading '%s'", label);
    goto done;
  }
  int count = 0;
  bool have_meta = false;
  const cJSON *item;
  cJSON_ArrayForEach(item, root) {
    if (!strcmp(item->string, "__metadata__")) {
      if (have_meta) {
        st = failf(RC_ERR_IO, "load", label, "header has __metadata__ twice");
        goto done;
      }
      have_meta = true;
      st = parse_metadata(label, item, res);
    } else {
      st = parse_entry(label, item, data_size, &entries[count]);
      entries[count].order = count;
      names[count] = item->string;
      count++;
    }
    if (st != RC_OK) goto done;
  }
  qsort(names, (size_t)count, sizeof *names, by_name);
  for (int i = 1; i < count; i++)
    if (!strcmp(names[i - 1], names[i])) {
      st = failf(RC_ERR_IO, "load", label, "tensor '%.200s' appears twice in the header", names[i]);
      goto done;
    }
  qsort(entries, (size_t)count, sizeof *entries, by_offset);
  st = check_layout(label, entries, count, data_size);
  if (st != RC_OK) goto done;

  /* Everything fits: allocate, then read the data front to back. */
  res->names = calloc((size_t)count + 1, sizeof(char *));
  res->tensors = calloc((size_t)count + 1, sizeof(rc_tensor *));
  if (!res->names || !res->tensors) {
    st = rc_fail(RC_ERR_NOMEM, "load: out of memory reading '%s'", label);
    goto done;
  }
  res->count = count;
  for (int i = 0; i < count; i++) {
    const entry *e = &entries[i];
    res->names[e->order] = strdup(e->name);
    if (!res->names[e->order]) {
      st = rc_fail(RC_ERR_NOMEM, "load: out of memory reading '%s'", label);
      goto done;
    }
    st = rc_empty(&res->tensors[e->order], e->dtype, e->ndim, e->shape);
    if (st != RC_OK) goto done;
    char what[300];
    snprintf(what, sizeof what, "the data of tensor '%.200s'", e->name);
    st = src_read(s, res->tensors[e->order]->storage->data, e->end - e->begin, what);
    if (st != RC_OK) goto done;
  }

done:
  if (st == RC_OK) {
    *out = res;
  } else {
    rc_safetensors_free(res);
  }
  free(names);
  free(entries);
  cJSON_Delete(root);
  free(header);
  return st;
}

rc_status rc_safetensors_load_buffer(rc_safetensors **out, const void *data, size_t size,
                                     const char *label) {
  if (!out) return rc_fail(RC_ERR_ARG, "load: out must not be NULL");
  *out = NULL;
  if (!data && size > 0) return rc_fail(RC_ERR_ARG, "load: data is NULL but size is %zu", size);
  static const unsigned char none[1];
  source s = {label ? label : "<memory>", NULL, data ? data : none, size, 0};
  return parse(&s, out);
}

rc_status rc_safetensors_load(rc_safetensors **out, const char *path) {
  if (!out) return rc_fail(RC_ERR_ARG, "load: out must not be NULL");
  *out = NULL;
  if (!path || !*path) return rc_fail(RC_ERR_ARG, "load: expected a file name, got an empty one");
  FILE *f = fopen(path, "rb");
  if (!f) return failf(RC_ERR_IO, "load", path, "cannot open: %s", strerror(errno));
  struct stat sb;
  if (fstat(fileno(f), &sb) != 0) {
    int err = errno;
    fclose(f);
    return failf(RC_ERR_IO, "load", path, "cannot stat: %s", strerror(err));
  }
  if (!S_ISREG(sb.st_mode)) {
    fclose(f);
    return failf(RC_ERR_IO, "load", path, "is not a regular file");
  }
  source s = {path, f, NULL, (uint64_t)sb.st_size, 0};
  rc_status st = parse(&s, out);
  fclose(f);
  return st;
}

void rc_safetensors_free(rc_safetensors *st) {
  if (!st) return;
  for (int i = 0; i < st->count; i++) {
    if (st->names) free(st->names[i]);
    if (st->tensors) rc_release(st->tensors[i]);
  }
  for (int i = 0; i < st->meta_count; i++) {
    free(st->meta_keys[i]);
    free(st->meta_values[i]);
  }
  free(st->names);
  free(st->tensors);
  free(st->meta_keys);
  free(st->meta_values);
  free(st);
}

/* --- writing ------------------------------------------------------------------------ */

/* Sort keys for the write order: int64 before float32 (alignment), then by name. */
typedef struct {
  const char *name;
  const rc_tensor *t;
} named;

static int write_order(const void *a, const void *b) {
  const named *x = a, *y = b;
  if (x->t->dtype != y->t->dtype) return x->t->dtype == RC_INT64 ? -1 : 1;
  return strcmp(x->name, y->name);
}

static int by_key(const void *a, const void *b) {
  return strcmp(((const char *const *)a)[0], ((const char *const *)b)[0]);
}

/* Adds item under key, or frees it; false when either failed (out of memory). */
static bool add_item(cJSON *obj, const char *key, cJSON *item) {
  if (!item) return false;
  if (!cJSON_AddItemToObject(obj, key, item)) {
    cJSON_Delete(item);
    return false;
  }
  return true;
}

/* An exact integer: cJSON would print numbers with %g. */
static bool add_int(cJSON *array, uint64_t v) {
  char buf[32];
  snprintf(buf, sizeof buf, "%" PRIu64, v);
  cJSON *item = cJSON_CreateRaw(buf);
  if (!item) return false;
  if (!cJSON_AddItemToArray(array, item)) {
    cJSON_Delete(item);
    return false;
  }
  return true;
}

/* The JSON header for tensors already in write order; NULL when out of memory. */
static char *build_header(int count, const named *order, int meta_count, const char *const *meta) {
  cJSON *root = cJSON_CreateObject();
  bool ok = root != NULL;
  if (ok && meta_count > 0) {
    cJSON *m = cJSON_CreateObject();
    ok = add_item(root, "__metadata__", m);
    for (int i = 0; ok && i < meta_count; i++)
      ok = add_item(m, meta[2 * i], cJSON_CreateString(meta[2 * i + 1]));
  }
  uint64_t at = 0;
  for (int i = 0; ok && i < count; i++) {
    const rc_tensor *t = order[i].t;
    uint64_t nbytes = (uint64_t)rc_numel(t) * rc_dtype_size(t->dtype);
    /* each item is attached as soon as it exists, so deleting root frees everything */
    cJSON *e = cJSON_CreateObject();
    ok = add_item(root, order[i].name, e);
    ok = ok && add_item(e, "dtype", cJSON_CreateString(st_dtype_name(t->dtype)));
    cJSON *shape = ok ? cJSON_CreateArray() : NULL;
    ok = ok && add_item(e, "shape", shape);
    for (int d = 0; ok && d < t->ndim; d++) ok = add_int(shape, (uint64_t)t->shape[d]);
    cJSON *offsets = ok ? cJSON_CreateArray() : NULL;
    ok = ok && add_item(e, "data_offsets", offsets) && add_int(offsets, at) &&
         add_int(offsets, at + nbytes);
    at += nbytes;
  }
  char *text = ok ? cJSON_PrintUnformatted(root) : NULL;
  cJSON_Delete(root);
  return text;
}

static char *dir_of(const char *path) {
  const char *slash = strrchr(path, '/');
  if (!slash) return strdup(".");
  size_t n = slash == path ? 1 : (size_t)(slash - path);
  char *d = malloc(n + 1);
  if (d) {
    memcpy(d, path, n);
    d[n] = '\0';
  }
  return d;
}

/* Temp files of a save are "<base>.tmp-<pid>-<n>": remove those of processes that have
   ended (a kill -9 mid-save leaves one). Our own pid's are other threads' saves in flight;
   a pid that exists (kill(pid, 0) succeeds or says EPERM) may still be writing. */
static void remove_stale_temps(const char *dir, const char *path) {
  const char *slash = strrchr(path, '/');
  const char *base = slash ? slash + 1 : path;
  size_t blen = strlen(base);
  DIR *dp = opendir(dir);
  if (!dp) return;
  struct dirent *de;
  while ((de = readdir(dp)) != NULL) {
    const char *n = de->d_name;
    if (strncmp(n, base, blen) || strncmp(n + blen, ".tmp-", 5)) continue;
    const char *p = n + blen + 5;
    char *after;
    errno = 0;
    long long pid = strtoll(p, &after, 10);
    if (after == p || *after != '-' || errno || pid <= 1 || pid > 0x7fffffff) continue;
    const char *q = after + 1;
    strtoull(q, &after, 10);
    if (after == q || *after != '\0') continue;
    if ((pid_t)pid == getpid()) continue;
    if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
    size_t len = strlen(dir) + 1 + strlen(n) + 1;
    char *full = malloc(len);
    if (!full) break;
    snprintf(full, len, "%s/%s", dir, n);
    unlink(full);
    free(full);
  }
  closedir(dp);
}

/* Checks before anything touches the disk. */
static rc_status check_save_args(const char *path, int count, const char *const *names,
                                 const rc_tensor *const *tensors, int meta_count,
                                 const char *const *meta_keys, const char *const *meta_values) {
  if (!path || !*path) return rc_fail(RC_ERR_ARG, "save: expected a file name, got an empty one");
  if (count < 0 || meta_count < 0)
    return rc_fail(RC_ERR_ARG, "save: counts must be >= 0, got %d tensors and %d metadata", count,
                   meta_count);
  if ((count > 0 && (!names || !tensors)) || (meta_count > 0 && (!meta_keys || !meta_values)))
    return rc_fail(RC_ERR_ARG, "save: '%s': names, tensors or metadata arrays are NULL", path);
  size_t bad;
  for (int i = 0; i < count; i++) {
    if (!names[i] || !tensors[i])
      return failf(RC_ERR_ARG, "save", path, "tensor %d has a NULL name or tensor", i);
    if (!strcmp(names[i], "__metadata__"))
      return failf(RC_ERR_ARG, "save", path,
                   "'__metadata__' cannot name a tensor (the format reserves it)");
    if (!rc_utf8_valid(names[i], strlen(names[i]), &bad))
      return failf(RC_ERR_ARG, "save", path, "tensor name '%.200s' is not valid UTF-8 (byte %zu)",
                   names[i], bad);
    if (tensors[i]->dtype != RC_FLOAT32 && tensors[i]->dtype != RC_INT64)
      return failf(RC_ERR_ARG, "save", path, "tensor '%.200s' has an unknown dtype", names[i]);
  }
  for (int i = 0; i < meta_count; i++) {
    if (!meta_keys[i] || !meta_values[i])
      return failf(RC_ERR_ARG, "save", path, "metadata entry %d has a NULL key or value", i);
    if (!rc_utf8_valid(meta_keys[i], strlen(meta_keys[i]), &bad) ||
        !rc_utf8_valid(meta_values[i], strlen(meta_values[i]), &bad))
      return failf(RC_ERR_ARG, "save", path, "metadata '%.200s' is not valid UTF-8", meta_keys[i]);
  }
  return RC_OK;
}

static atomic_uint temp_counter;

rc_status rc_safetensors_save(const char *path, int count, const char *const *names,
                              const rc_tensor *const *tensors, int meta_count,
                              const char *const *meta_keys, const char *const *meta_values) {
  rc_status st = check_save_args(path, count, names, tensors, meta_count, meta_keys, meta_values);
  if (st != RC_OK) return st;

  named *order = calloc((size_t)count + 1, sizeof *order);
  rc_tensor **dense = calloc((size_t)count + 1, sizeof *dense);
  const char **meta = calloc(2 * (size_t)meta_count + 1, sizeof *meta);
  char *header = NULL, *dir = NULL, *tmp = NULL;
  FILE *f = NULL;
  bool tmp_exists = false;
  if (!order || !dense || !meta) {
    st = rc_fail(RC_ERR_NOMEM, "save: out of memory writing '%s'", path);
    goto done;
  }
  for (int i = 0; i < meta_count; i++) {
    meta[2 * i] = meta_keys[i];
    meta[2 * i + 1] = meta_values[i];
  }
  qsort(meta, (size_t)meta_count, 2 * sizeof *meta, by_key);
  for (int i = 1; i < meta_count; i++)
    if (!strcmp(meta[2 * i - 2], meta[2 * i])) {
      st = failf(RC_ERR_ARG, "save", path, "metadata key '%.200s' is given twice", meta[2 * i]);
      goto done;
    }
  /* Row-major bytes of each tensor: views are copied into a contiguous tensor first. */
  for (int i = 0; i < count; i++) {
    st = rc_contiguous(&dense[i], tensors[i]);
    if (st != RC_OK) goto done;
    order[i].name = names[i];
    order[i].t = dense[i];
  }
  qsort(order, (size_t)count, sizeof *order, write_order);
  for (int i = 1; i < count; i++)
    if (!strcmp(order[i - 1].name, order[i].name)) {
      st = failf(RC_ERR_ARG, "save", path, "tensor name '%.200s' is given twice", order[i].name);
      goto done;
    }

  header = build_header(count, order, meta_count, meta);
  dir = dir_of(path);
  size_t tmp_len = strlen(path) + 64;
  tmp = malloc(tmp_len);
  if (!header || !dir || !tmp) {
    st = rc_fail(RC_ERR_NOMEM, "save: out of memory writing '%s'", path);
    goto done;
  }

  /* A fresh temp file next to the target (same filesystem, so rename is atomic). */
  int fd = -1;
  for (int attempt = 0; fd < 0 && attempt < 1000; attempt++) {
    snprintf(tmp, tmp_len, "%s.tmp-%ld-%u", path, (long)getpid(),
             atomic_fetch_add(&temp_counter, 1));
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0 && errno != EEXIST) break;
  }
  if (fd < 0) {
    st = failf(RC_ERR_IO, "save", path, "cannot create the temporary file '%s': %s", tmp,
               strerror(errno));
    goto done;
  }
  tmp_exists = true;
  struct stat old;
  if (stat(path, &old) == 0 && S_ISREG(old.st_mode))
    (void)fchmod(fd, old.st_mode & 07777); /* keep the old file's permissions, as an overwrite would */
  f = fdopen(fd, "wb");
  if (!f) {
    st = failf(RC_ERR_IO, "save", path, "cannot write the temporary file '%s': %s", tmp,
               strerror(errno));
    close(fd);
    goto done;
  }

  size_t hlen = strlen(header), padded = (hlen + 7) & ~(size_t)7;
  unsigned char len_bytes[8];
  for (int i = 0; i < 8; i++) len_bytes[i] = (unsigned char)((uint64_t)padded >> (8 * i));
  bool ok = fwrite(len_bytes, 1, 8, f) == 8 && fwrite(header, 1, hlen, f) == hlen;
  for (size_t i = hlen; ok && i < padded; i++) ok = fputc(' ', f) != EOF;
  for (int i = 0; ok && i < count; i++) {
    const rc_tensor *t = order[i].t;
    size_t n = (size_t)rc_numel(t);
    if (n > 0)
      ok = fwrite((const char *)t->storage->data + (size_t)t->offset * rc_dtype_size(t->dtype),
                  rc_dtype_size(t->dtype), n, f) == n;
  }
  ok = ok && fflush(f) == 0 && fsync(fileno(f)) == 0;
  int err = errno;
  int closed = fclose(f);
  f = NULL;
  if (ok && closed != 0) ok = false, err = errno;
  if (!ok) {
    st = failf(RC_ERR_IO, "save", path,
               "writing the temporary file '%s' failed: %s (the old file, if any, is untouched)", tmp,
               strerror(err));
    goto done;
  }
  if (rename(tmp, path) != 0) {
    st = failf(RC_ERR_IO, "save", path, "cannot rename '%s' over it: %s", tmp, strerror(errno));
    goto done;
  }
  tmp_exists = false;
  /* The rename is durable only once the directory is on disk. */
  int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0 || (fsync(dfd) != 0 && errno != EINVAL)) {
    st = failf(RC_ERR_IO, "save", path, "saved, but syncing its directory '%s' failed: %s", dir,
               strerror(errno));
    if (dfd >= 0) close(dfd);
    goto done;
  }
  close(dfd);
  remove_stale_temps(dir, path);

done:
  if (tmp_exists) unlink(tmp);
  for (int i = 0; dense && i < count; i++) rc_release(dense[i]);
  free(dense);
  free(order);
  free(meta);
  free(header);
  free(dir);
  free(tmp);
  return st;
}
