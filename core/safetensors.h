/* core/safetensors.h — named tensors to and from safetensors files (the format PyTorch's
   ecosystem shares), written atomically and read without trusting a byte of the file. */
#ifndef RC_SAFETENSORS_H
#define RC_SAFETENSORS_H

#include <stdbool.h>
#include <stddef.h>
#include "tensor.h"

/* The layout (https://github.com/huggingface/safetensors):
     8 bytes      N, the header length, unsigned little-endian
     N bytes      JSON: {"__metadata__": {"k": "v", ...},
                         "name": {"dtype": "F32" | "I64", "shape": [2, 3],
                                  "data_offsets": [begin, end]}, ...}
                  padded with spaces to a multiple of 8 bytes
     the rest     raw little-endian data; offsets count from the end of the header, the
                  tensors cover it exactly, in order, with no gap and no overlap.
   recur writes int64 tensors first, then float32 ones (each group sorted by name), so every
   tensor starts aligned to its element size, as the reference writer does. */

/* Header lengths above this are refused (the reference reader's limit). */
#define RC_SAFETENSORS_MAX_HEADER 100000000

/* What a load gives: names and tensors in the order of the file's header, and the
   __metadata__ pairs (none when the file has no __metadata__). Free with
   rc_safetensors_free, which releases the tensors the caller did not retain. */
typedef struct {
  int count;
  char **names;
  rc_tensor **tensors;  /* contiguous, new storage: nothing aliases the file */
  int meta_count;
  char **meta_keys;
  char **meta_values;
} rc_safetensors;

/* Write count tensors under names, and meta_count string pairs as __metadata__, to path.
   Atomic: the data goes to "<path>.tmp-<pid>-<n>" in the same directory, is flushed and
   fsync'ed, then renamed over path, and the directory is fsync'ed; on any error the temp
   file is removed and an existing file at path is left as it was. A process killed while
   saving leaves its temp file behind; the next successful save to the same path removes
   the temp files of processes that no longer exist. Non-contiguous tensors are written in
   row-major order. Names must be unique, valid UTF-8 and not "__metadata__". */
rc_status rc_safetensors_save(const char *path, int count, const char *const *names,
                              const rc_tensor *const *tensors, int meta_count,
                              const char *const *meta_keys, const char *const *meta_values);

/* Read a safetensors file. Every size is checked before it is used; a file that is
   truncated, oversized, not JSON, or whose entries disagree with the data is refused with
   a message naming the file and the problem, and nothing is allocated. */
rc_status rc_safetensors_load(rc_safetensors **out, const char *path);

/* The same from bytes in memory; `label` names them in messages (as a path would). */
rc_status rc_safetensors_load_buffer(rc_safetensors **out, const void *data, size_t size,
                                     const char *label);

void rc_safetensors_free(rc_safetensors *st); /* NULL is fine */

/* True when s[0..n) is valid UTF-8 (no overlong forms, no surrogates); otherwise false
   with *bad set to the offset of the first bad byte (bad may be NULL). JSON holds text only,
   so names, metadata and JSON strings are checked with this before they are written. */
bool rc_utf8_valid(const char *s, size_t n, size_t *bad);

/* Why the JSON text s[0..n) is refused before parsing, or NULL when it is not: it must be
   UTF-8, hold no control byte but whitespace (JSON allows none elsewhere), and no \u0000
   escape (C strings end there, so a name could hide a suffix). *at: the offending byte. */
const char *rc_json_text_problem(const char *s, size_t n, size_t *at);

#endif
