/* tests/core/test_alloc.c — the storage allocator's cache of freed large blocks: reuse by size,
   the byte limit, and the oldest blocks leaving first when it is full. */
#include <stdint.h>
#include "alloc.h"
#include "check.h"

static void test_a_freed_block_is_reused_for_the_same_size(void) {
  if (rc_alloc_cache_limit() == 0) return; /* no cache in this build (sanitizers) */
  rc_alloc_trim();
  void *p = rc_block_alloc(1 << 20);
  CHECK(p != NULL);
  CHECK((uintptr_t)p % 64 == 0);
  rc_block_free(p, 1 << 20);
  CHECK(rc_alloc_cached_bytes() == 1 << 20);
  void *q = rc_block_alloc(1 << 20);
  CHECK(q == p);
  CHECK(rc_alloc_cached_bytes() == 0);
  rc_block_free(q, 1 << 20);
  /* Small blocks are left to malloc. */
  void *s = rc_block_alloc(1000);
  rc_block_free(s, 1000);
  CHECK(rc_alloc_cached_bytes() == 1 << 20);
  rc_alloc_trim();
  CHECK(rc_alloc_cached_bytes() == 0);
}

/* Three blocks worth 1.2x the limit: freeing the third sends the first (the oldest) back, so
   the two most recent stay, and the cache never holds more than its limit. The blocks are
   never written, so they cost address space, not memory. */
static void test_the_oldest_blocks_leave_first_when_full(void) {
  size_t limit = rc_alloc_cache_limit();
  if (limit == 0) return; /* no cache in this build (sanitizers) */
  rc_alloc_trim();
  size_t unit = (limit / 10) & ~(size_t)4095;
  size_t a_size = 5 * unit, b_size = 4 * unit, c_size = 3 * unit;
  void *a = rc_block_alloc(a_size), *b = rc_block_alloc(b_size), *c = rc_block_alloc(c_size);
  CHECK(a && b && c);
  rc_block_free(a, a_size);
  rc_block_free(b, b_size);
  CHECK(rc_alloc_cached_bytes() == a_size + b_size);
  rc_block_free(c, c_size);
  CHECK(rc_alloc_cached_bytes() == b_size + c_size);
  CHECK(rc_alloc_cached_bytes() <= limit);
  void *b2 = rc_block_alloc(b_size);
  CHECK(b2 == b);
  CHECK(rc_alloc_cached_bytes() == c_size);
  rc_block_free(b2, b_size);
  /* A block bigger than the whole cache is not kept (and evicts nothing). */
  size_t huge = limit + 4096;
  void *h = rc_block_alloc(huge);
  if (h) {
    rc_block_free(h, huge);
    CHECK(rc_alloc_cached_bytes() == b_size + c_size);
  }
  rc_alloc_trim();
}

int main(void) {
  test_a_freed_block_is_reused_for_the_same_size();
  test_the_oldest_blocks_leave_first_when_full();
  return check_summary("alloc");
}
