/* core/alloc.h — 64-byte-aligned blocks for tensor storage, with a small cache of freed
   large blocks: training loops free and re-make the same shapes every step. */
#ifndef RC_ALLOC_H
#define RC_ALLOC_H

#include <stddef.h>

void *rc_block_alloc(size_t bytes);   /* NULL when out of memory */
void rc_block_free(void *p, size_t bytes);
/* Give every cached block back to the system. */
void rc_alloc_trim(void);
/* Bytes the cache holds now, and the most it holds: min(2 GiB, RAM / 8, the cgroup memory
   limit / 8), or 0 when this build has no cache (AddressSanitizer builds, so that reuse hides
   no use-after-free). When full, the blocks freed longest ago go back to the system first. */
size_t rc_alloc_cached_bytes(void);
size_t rc_alloc_cache_limit(void);

#endif
