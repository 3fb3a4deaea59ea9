/* core/alloc.h — 64-byte-aligned blocks for tensor storage, with a small cache of freed
   large blocks: training loops free and re-make the same shapes every step. */
#ifndef RC_ALLOC_H
#define RC_ALLOC_H

#include <stddef.h>

void *rc_block_alloc(size_t bytes);   /* NULL when out of memory */
void rc_block_free(void *p, size_t bytes);
/* Give every cached block back to the system. */
void rc_alloc_trim(void);

#endif
