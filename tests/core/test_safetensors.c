/* tests/core/test_safetensors.c — safetensors files (core/safetensors.c): exact bytes written,
   round trips of every dtype and shape, atomic replacement, and broken files refused. */
#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check.h"
#include "safetensors.h"

static char dir[64];

static const char *in_dir(const char *name) {
  static char path[4][256];
  static int next;
  char *p = path[next++ % 4];
  snprintf(p, 256, "%s/%s", dir, name);
  return p;
}

static size_t read_all(const char *path, unsigned char *buf, size_t cap) {
  FILE *f = fopen(path, "rb");
  if (!f) return 0;
  size_t n = fread(buf, 1, cap, f);
  fclose(f);
  return n;
}

/* Files in dir whose names start with prefix. */
static int count_files(const char *prefix) {
  DIR *d = opendir(dir);
  struct dirent *e;
  int n = 0;
  while ((e = readdir(d)) != NULL)
    if (!strncmp(e->d_name, prefix, strlen(prefix))) n++;
  closedir(d);
  return n;
}

static rc_tensor *f32(int ndim, const int64_t *shape, float start) {
  rc_tensor *t = NULL;
  rc_empty(&t, RC_FLOAT32, ndim, shape);
  for (int64_t i = 0; i < rc_numel(t); i++) rc_f32(t)[i] = start + (float)i;
  return t;
}

/* A file as bytes: the 8-byte length of header, header, then data. */
static size_t raw_file(unsigned char *out, uint64_t len, const char *header, const void *data,
                       size_t data_len) {
  for (int i = 0; i < 8; i++) out[i] = (unsigned char)(len >> (8 * i));
  size_t h = strlen(header);
  memcpy(out + 8, header, h);
  if (data_len) memcpy(out + 8 + h, data, data_len);
  return 8 + h + data_len;
}

/* --- the bytes on disk ------------------------------------------------------------ */

static void test_exact_bytes(void) {
  int64_t shape[1] = {2};
  rc_tensor *a = tensor_of(1, shape, (const float[]){1.0f, -2.0f});
  const char *names[] = {"a"};
  const rc_tensor *ts[] = {a};
  const char *path = in_dir("exact.safetensors");
  CHECK_OK(rc_safetensors_save(path, 1, names, ts, 0, NULL, NULL));
  /* The JSON is 54 bytes, padded with 2 spaces to 56; then 1.0f and -2.0f little-endian. */
  const char *json = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
  CHECK(strlen(json) == 54);
  unsigned char want[80], got[100];
  size_t n = raw_file(want, 56, json, "  \x00\x00\x80\x3f\x00\x00\x00\xc0", 10);
  CHECK(n == 72);
  CHECK(read_all(path, got, sizeof got) == 72);
  CHECK(!memcmp(got, want, 72));
  rc_release(a);
}

static void test_int64_first_and_metadata_sorted(void) {
  int64_t s1[1] = {1}, s3[1] = {3};
  rc_tensor *f = f32(1, s1, 5), *i = NULL;
  rc_empty(&i, RC_INT64, 1, s3);
  for (int k = 0; k < 3; k++) rc_i64(i)[k] = (int64_t)1 << (40 + k);
  const char *names[] = {"a_float", "z_int"};
  const rc_tensor *ts[] = {f, i};
  const char *keys[] = {"b", "a"}, *values[] = {"2", "1"};
  const char *path = in_dir("order.safetensors");
  CHECK_OK(rc_safetensors_save(path, 2, names, ts, 2, keys, values));
  unsigned char got[300];
  size_t n = read_all(path, got, sizeof got);
  const char *json = "{\"__metadata__\":{\"a\":\"1\",\"b\":\"2\"},"
                     "\"z_int\":{\"dtype\":\"I64\",\"shape\":[3],\"data_offsets\":[0,24]},"
                     "\"a_float\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[24,28]}}";
  size_t padded = (strlen(json) + 7) / 8 * 8;
  CHECK(n == 8 + padded + 28);
  CHECK(got[0] == padded && got[1] == 0);
  CHECK(!memcmp(got + 8, json, strlen(json)));
  CHECK(got[8 + padded + 5] == 1); /* 2^40: byte 5 of the first int64 */
  rc_release(f);
  rc_release(i);
}

/* --- round trips -------------------------------------------------------------------- */

static bool same_tensor(const rc_tensor *a, const rc_tensor *b) {
  if (a->dtype != b->dtype || a->ndim != b->ndim) return false;
  for (int d = 0; d < a->ndim; d++)
    if (a->shape[d] != b->shape[d]) return false;
  for (int64_t i = 0; i < rc_numel(a); i++)
    if (rc_get_flat(a, i) != rc_get_flat(b, i)) return false;
  return true;
}

static void test_round_trips(void) {
  int64_t s0[1] = {0}, s2[2] = {0, 3}, s3[3] = {3, 0, 2}, s8[8] = {1, 2, 1, 2, 1, 2, 1, 2},
          big[1] = {1 << 20}, m[2] = {3, 4};
  rc_tensor *t[10] = {0};
  t[0] = f32(0, NULL, 7.5f);          /* 0-d */
  t[1] = f32(1, s0, 0);               /* empty */
  t[2] = f32(2, s2, 0);
  t[3] = f32(3, s3, 0);
  t[4] = f32(8, s8, -3);              /* the most dims */
  t[5] = f32(1, big, -100000);        /* 2^20 elements */
  rc_tensor *mat = f32(2, m, 0);
  rc_transpose(&t[6], mat, 0, 1);     /* non-contiguous (4,3) */
  rc_empty(&t[7], RC_INT64, 0, NULL);
  rc_i64(t[7])[0] = INT64_MIN;
  rc_empty(&t[8], RC_INT64, 2, m);
  for (int i = 0; i < 12; i++) rc_i64(t[8])[i] = INT64_MAX - i;
  rc_empty(&t[9], RC_INT64, 1, s0);
  const char *names[10] = {"scalar", "empty", "empty2", "empty3", "eight", "big",
                           "transposed", "i_scalar", "i_mat", "i_empty"};
  const char *path = in_dir("round.safetensors");
  CHECK_OK(rc_safetensors_save(path, 10, names, (const rc_tensor *const *)t, 0, NULL, NULL));
  rc_safetensors *st = NULL;
  CHECK_OK(rc_safetensors_load(&st, path));
  CHECK(st && st->count == 10 && st->meta_count == 0);
  for (int i = 0; st && i < 10; i++) {
    int found = -1;
    for (int k = 0; k < st->count; k++)
      if (!strcmp(st->names[k], names[i])) found = k;
    CHECK(found >= 0);
    if (found >= 0) {
      CHECK(same_tensor(st->tensors[found], t[i]));
      CHECK(rc_is_contiguous(st->tensors[found]));
    }
  }
  /* the transposed view came back in its row-major order: row 0 is column 0 of mat */
  for (int k = 0; st && k < st->count; k++)
    if (!strcmp(st->names[k], "transposed")) {
      const float *v = rc_f32(st->tensors[k]);
      CHECK(v[0] == 0 && v[1] == 4 && v[2] == 8 && v[3] == 1);
    }
  rc_safetensors_free(st);
  for (int i = 0; i < 10; i++) rc_release(t[i]);
  rc_release(mat);

  /* no tensors at all: a valid file of just "{}" */
  CHECK_OK(rc_safetensors_save(in_dir("none.safetensors"), 0, NULL, NULL, 0, NULL, NULL));
  CHECK_OK(rc_safetensors_load(&st, in_dir("none.safetensors")));
  CHECK(st && st->count == 0);
  rc_safetensors_free(st);
}

/* --- writing: arguments, atomicity, temp files ---------------------------------------- */

static void test_save_errors(void) {
  int64_t s1[1] = {1};
  rc_tensor *a = f32(1, s1, 1);
  const rc_tensor *two[] = {a, a};
  const char *dup[] = {"w", "w"}, *reserved[] = {"__metadata__"}, *latin1[] = {"caf\xe9"};
  const char *path = in_dir("errors.safetensors");
  CHECK_FAILS(rc_safetensors_save(path, 2, dup, two, 0, NULL, NULL), "tensor name 'w' is given twice");
  CHECK_FAILS(rc_safetensors_save(path, 1, reserved, two, 0, NULL, NULL),
              "'__metadata__' cannot name a tensor");
  CHECK_FAILS(rc_safetensors_save(path, 1, latin1, two, 0, NULL, NULL), "is not valid UTF-8 (byte 3)");
  const char *keys[] = {"k", "k"}, *values[] = {"1", "2"};
  CHECK_FAILS(rc_safetensors_save(path, 0, NULL, NULL, 2, keys, values),
              "metadata key 'k' is given twice");
  CHECK_FAILS(rc_safetensors_save("", 0, NULL, NULL, 0, NULL, NULL), "save: expected a file name");
  CHECK(count_files("errors.safetensors") == 0);

  /* a directory that does not exist: the path and the OS's reason */
  const char *missing = in_dir("no/such/dir/x.safetensors");
  char want[400];
  snprintf(want, sizeof want, "save: '%s': cannot create the temporary file '%s.tmp-", missing, missing);
  CHECK_FAILS(rc_safetensors_save(missing, 1, dup, two, 0, NULL, NULL), want);
  CHECK_FAILS(rc_safetensors_save(missing, 1, dup, two, 0, NULL, NULL), "No such file or directory");

  /* the rename fails (the target is a directory): the temp file is removed, the target kept */
  const char *target = in_dir("target_dir");
  mkdir(target, 0755);
  CHECK_FAILS(rc_safetensors_save(target, 1, dup, two, 0, NULL, NULL), "cannot rename");
  CHECK(count_files("target_dir.tmp-") == 0);
  struct stat sb;
  CHECK(stat(target, &sb) == 0 && S_ISDIR(sb.st_mode));
  rmdir(target);
  rc_release(a);
}

static void test_overwrite_keeps_mode_and_replaces(void) {
  int64_t s1[1] = {1};
  rc_tensor *a = f32(1, s1, 1), *b = f32(1, s1, 2);
  const char *names[] = {"x"};
  const char *path = in_dir("mode.safetensors");
  CHECK_OK(rc_safetensors_save(path, 1, names, (const rc_tensor *const[]){a}, 0, NULL, NULL));
  chmod(path, 0640);
  CHECK_OK(rc_safetensors_save(path, 1, names, (const rc_tensor *const[]){b}, 0, NULL, NULL));
  struct stat sb;
  CHECK(stat(path, &sb) == 0 && (sb.st_mode & 07777) == 0640);
  rc_safetensors *st = NULL;
  CHECK_OK(rc_safetensors_load(&st, path));
  CHECK(st && rc_f32(st->tensors[0])[0] == 2.0f);
  rc_safetensors_free(st);
  rc_release(a);
  rc_release(b);
}

static void touch(const char *path) {
  FILE *f = fopen(path, "wb");
  if (f) fclose(f);
}

static void test_stale_temps_removed(void) {
  /* a pid that surely ended: a child we made and reaped */
  pid_t child = fork();
  if (child == 0) _exit(0);
  waitpid(child, NULL, 0);
  char dead[256], mine[256], init[256], other[256];
  snprintf(dead, sizeof dead, "%s.tmp-%ld-0", in_dir("stale.safetensors"), (long)child);
  snprintf(mine, sizeof mine, "%s.tmp-%ld-999999", in_dir("stale.safetensors"), (long)getpid());
  snprintf(init, sizeof init, "%s.tmp-1-0", in_dir("stale.safetensors"));
  snprintf(other, sizeof other, "%s.tmp-%ld-0", in_dir("stale2.safetensors"), (long)child);
  touch(dead);
  touch(mine);
  touch(init);
  touch(other);
  int64_t s1[1] = {1};
  rc_tensor *a = f32(1, s1, 1);
  const char *names[] = {"x"};
  CHECK_OK(rc_safetensors_save(in_dir("stale.safetensors"), 1, names,
                               (const rc_tensor *const[]){a}, 0, NULL, NULL));
  CHECK(access(dead, F_OK) != 0);   /* its process ended: removed */
  CHECK(access(mine, F_OK) == 0);   /* ours: maybe another thread's save in flight */
  CHECK(access(init, F_OK) == 0);   /* pid 1 exists */
  CHECK(access(other, F_OK) == 0);  /* another target's */
  unlink(mine);
  unlink(init);
  unlink(other);
  rc_release(a);
}

/* --- reading broken files -------------------------------------------------------------- */

/* A small valid file: metadata, an int64, a float32 matrix, an empty and a 0-d tensor. */
static size_t valid_file(unsigned char *buf, size_t cap) {
  int64_t s2[2] = {2, 3}, s0[1] = {0}, s3[1] = {3};
  rc_tensor *t[4] = {f32(2, s2, 1), f32(1, s0, 0), f32(0, NULL, 9), NULL};
  rc_empty(&t[3], RC_INT64, 1, s3);
  for (int i = 0; i < 3; i++) rc_i64(t[3])[i] = -i;
  const char *names[] = {"w", "empty", "s", "ids"};
  const char *keys[] = {"note"}, *values[] = {"small"};
  CHECK_OK(rc_safetensors_save(in_dir("valid.safetensors"), 4, names,
                               (const rc_tensor *const *)t, 1, keys, values));
  for (int i = 0; i < 4; i++) rc_release(t[i]);
  return read_all(in_dir("valid.safetensors"), buf, cap);
}

static void test_truncated_everywhere(void) {
  unsigned char buf[1024];
  size_t n = valid_file(buf, sizeof buf);
  CHECK(n > 100 && n < sizeof buf);
  rc_safetensors *st = NULL;
  CHECK_OK(rc_safetensors_load_buffer(&st, buf, n, "valid"));
  CHECK(st && st->count == 4 && st->meta_count == 1 && !strcmp(st->meta_values[0], "small"));
  rc_safetensors_free(st);
  int refused = 0;
  for (size_t len = 0; len < n; len++) {
    /* a heap copy of exactly len bytes, so ASan sees any read past the end */
    unsigned char *copy = malloc(len ? len : 1);
    memcpy(copy, buf, len);
    st = NULL;
    rc_status s = rc_safetensors_load_buffer(&st, copy, len, "cut");
    if (s != RC_OK && st == NULL && !strncmp(rc_last_error(), "load: 'cut': ", 13)) refused++;
    else fprintf(stderr, "truncated at %zu: not refused (%s)\n", len, rc_last_error());
    free(copy);
  }
  CHECK(refused == (int)n);
  /* the same through files, a few lengths */
  size_t cuts[] = {0, 7, 8, 20, n - 1};
  for (size_t k = 0; k < sizeof cuts / sizeof cuts[0]; k++) {
    FILE *f = fopen(in_dir("cut.safetensors"), "wb");
    fwrite(buf, 1, cuts[k], f);
    fclose(f);
    CHECK_FAILS(rc_safetensors_load(&st, in_dir("cut.safetensors")), "cut.safetensors': ");
  }
}

/* Every header byte replaced by a few others: refused or loaded, never a crash or a bad read
   (under ASan); what loads is self-consistent. */
static void test_corrupted_bytes(void) {
  unsigned char buf[1024];
  size_t n = valid_file(buf, sizeof buf);
  size_t header_end = 8 + (size_t)buf[0] + ((size_t)buf[1] << 8);
  const unsigned char subst[] = {'0', '9', '"', '{', '}', '[', ',', ' ', ':', 'e', '-', 0xff, 0x00};
  int loaded = 0;
  for (size_t pos = 0; pos < header_end; pos++)
    for (size_t k = 0; k < sizeof subst; k++) {
      if (buf[pos] == subst[k]) continue;
      unsigned char *copy = malloc(n);
      memcpy(copy, buf, n);
      copy[pos] = subst[k];
      rc_safetensors *st = NULL;
      if (rc_safetensors_load_buffer(&st, copy, n, "flip") == RC_OK) {
        loaded++;
        int64_t bytes = 0;
        for (int i = 0; i < st->count; i++)
          bytes += rc_numel(st->tensors[i]) * (int64_t)rc_dtype_size(st->tensors[i]->dtype);
        CHECK(bytes == (int64_t)(n - header_end));
      }
      rc_safetensors_free(st);
      free(copy);
    }
  CHECK(loaded > 0); /* e.g. a changed metadata value or padding byte still loads */
}

/* Hand-made headers, each with the message it must give. */
static void test_bad_headers(void) {
  static const struct {
    const char *header;
    size_t data_len;
    const char *message;
  } cases[] = {
    {"[1,2]", 0, "header must be a JSON object, got a list"},
    {"{\"a\":", 0, "header is not valid JSON (error near byte"},
    {"{} x", 0, "header has text after its JSON object (byte 3)"},
    {"{\"a\":5}", 0, "tensor 'a' must be an object, got a number"},
    {"{\"a\":{\"shape\":[],\"data_offsets\":[0,4]}}", 4, "tensor 'a' has no dtype"},
    {"{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, "tensor 'a' has no shape"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[]}}", 4, "tensor 'a' has no data_offsets"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4],\"x\":1}}", 4,
     "tensor 'a' has a field 'x' (expected dtype, shape and data_offsets)"},
    {"{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}}", 4,
     "tensor 'a' has 'dtype' twice"},
    {"{\"a\":{\"dtype\":4,\"shape\":[],\"data_offsets\":[0,4]}}", 4,
     "tensor 'a': dtype must be a string, got a number"},
    {"{\"a\":{\"dtype\":\"F16\",\"shape\":[],\"data_offsets\":[0,2]}}", 2,
     "tensor 'a' has dtype 'F16', which recur does not read (it reads F32 and I64)"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":3,\"data_offsets\":[0,12]}}", 12,
     "tensor 'a': shape must be a list of sizes, got a number"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2,-1],\"data_offsets\":[0,0]}}", 0,
     "tensor 'a': size 2 of the shape must be a whole number >= 0, got a negative, fractional or huge number"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,0]}}", 0,
     "tensor 'a': size 1 of the shape must be a whole number >= 0, got a negative, fractional or huge number"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,8]}}", 8,
     "tensor 'a': size 1 of the shape must be a whole number >= 0, got a string"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4,
     "tensor 'a' has 9 dims, more than the 8 recur supports"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296],\"data_offsets\":[0,4]}}",
     4, "tensor 'a' has shape (4294967296,4294967296,4294967296), too large to exist"},
    {"{\"a\":{\"dtype\":\"I64\",\"shape\":[4611686018427387904],\"data_offsets\":[0,0]}}", 0,
     "tensor 'a': size 1 of the shape must be a whole number >= 0, got a negative, fractional or huge number"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4,
     "tensor 'a': data_offsets must be two whole numbers [begin, end]"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,0]}}", 4,
     "tensor 'a': data_offsets [4, 0] end before they begin"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}}", 20,
     "tensor 'a': shape (2,3) of F32 needs 24 bytes but data_offsets [0, 20] hold 20"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4,
     "tensor 'a': data_offsets [0, 8] run past the end of the data (4 bytes)"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
     "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12,
     "tensors 'a' [0, 8] and 'b' [4, 12] overlap"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
     "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 12,
     "4 bytes between tensor 'a' (ends at 4) and tensor 'b' (begins at 8) belong to no tensor"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8,
     "the first 4 bytes of the data belong to no tensor (tensor 'a' begins at 4)"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 6,
     "2 bytes after the last tensor 'a' (ends at 4 of 6) belong to no tensor"},
    {"{}", 3, "the header lists no tensors but 3 bytes of data follow it"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
     "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8,
     "tensor 'a' appears twice in the header"},
    {"{\"__metadata__\":{\"k\":1}}", 0, "__metadata__ value of 'k' must be a string, got a number"},
    {"{\"__metadata__\":[]}", 0, "__metadata__ must be an object of strings, got a list"},
    {"{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", 0, "__metadata__ has the key 'k' twice"},
    {"{\"__metadata__\":{},\"__metadata__\":{}}", 0, "header has __metadata__ twice"},
    {"{\"a\\u0000b\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}}", 4,
     "header has a \\u0000 escape (byte 3)"},
    {"{\"a\tb\":{}}", 0, "header has a control byte (byte 3)"}, /* a tab inside a string */
    {"{\"a\x01\":{}}", 0, "header has a control byte (byte 3)"},
    {"{\"caf\xe9\":{}}", 0, "header is not valid UTF-8 (byte 5)"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    unsigned char file[512], zeros[64] = {0};
    size_t n = raw_file(file, strlen(cases[i].header), cases[i].header, zeros, cases[i].data_len);
    rc_safetensors *st = NULL;
    char want[400];
    snprintf(want, sizeof want, "load: 'hand': %s", cases[i].message);
    rc_status s = rc_safetensors_load_buffer(&st, file, n, "hand");
    check_count++;
    if (s == RC_OK || st != NULL || strncmp(rc_last_error(), want, strlen(want))) {
      check_failures++;
      fprintf(stderr, "case %zu: expected \"%s\", got %s \"%s\"\n", i, want,
              s == RC_OK ? "success" : "failure", s == RC_OK ? "" : rc_last_error());
    }
    rc_safetensors_free(st);
  }
}

static void test_bad_lengths_and_files(void) {
  unsigned char file[64];
  rc_safetensors *st = NULL;
  raw_file(file, 1000, "{}", NULL, 0);
  CHECK_FAILS(rc_safetensors_load_buffer(&st, file, 10, "f"),
              "load: 'f': header length 1000 runs past the end of the file (2 bytes follow the length; truncated?)");
  raw_file(file, (uint64_t)1 << 40, "{}", NULL, 0);
  CHECK_FAILS(rc_safetensors_load_buffer(&st, file, 10, "f"),
              "load: 'f': header length 1099511627776 is over the limit of 100000000 bytes");
  raw_file(file, UINT64_MAX, "{}", NULL, 0);
  CHECK_FAILS(rc_safetensors_load_buffer(&st, file, 10, "f"), "is over the limit");
  CHECK_FAILS(rc_safetensors_load_buffer(&st, file, 5, "f"),
              "load: 'f': file has 5 bytes, fewer than the 8 of the header length (truncated?)");
  raw_file(file, 0, "", NULL, 0);
  CHECK_FAILS(rc_safetensors_load_buffer(&st, file, 8, "f"),
              "load: 'f': header length 0 is too short for a JSON object");
  char want[300];
  snprintf(want, sizeof want, "load: '%s': cannot open: No such file or directory",
           in_dir("missing.safetensors"));
  CHECK_FAILS(rc_safetensors_load(&st, in_dir("missing.safetensors")), want);
  snprintf(want, sizeof want, "load: '%s': is not a regular file", dir);
  CHECK_FAILS(rc_safetensors_load(&st, dir), want);
  CHECK(st == NULL);
}

static void test_text_checks(void) {
  size_t bad = 0;
  CHECK(rc_utf8_valid("plain \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 15, &bad));
  CHECK(!rc_utf8_valid("ab\xc0\xaf", 4, &bad) && bad == 2);       /* overlong '/' */
  CHECK(!rc_utf8_valid("\xed\xa0\x80", 3, &bad) && bad == 0);     /* a surrogate */
  CHECK(!rc_utf8_valid("x\xe2\x82", 3, &bad) && bad == 1);        /* cut short */
  CHECK(!rc_utf8_valid("\xf4\x90\x80\x80", 4, &bad) && bad == 0); /* past U+10FFFF */
  size_t at;
  CHECK(rc_json_text_problem("{\"a\\\\u0000\":1}", 14, &at) == NULL); /* an escaped backslash */
  const char *p = rc_json_text_problem("{\"a\\u0000\":1}", 13, &at);
  CHECK(p && !strcmp(p, "has a \\u0000 escape") && at == 3);
}

int main(void) {
  CHECK_OK(rc_init());
  snprintf(dir, sizeof dir, "/tmp/recur-st-XXXXXX");
  if (!mkdtemp(dir)) return 1;
  test_exact_bytes();
  test_int64_first_and_metadata_sorted();
  test_round_trips();
  test_save_errors();
  test_overwrite_keeps_mode_and_replaces();
  test_stale_temps_removed();
  test_truncated_everywhere();
  test_corrupted_bytes();
  test_bad_headers();
  test_bad_lengths_and_files();
  test_text_checks();
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
  return check_summary("safetensors");
}
