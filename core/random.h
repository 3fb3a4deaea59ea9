/* core/random.h — the seeded counter-based generator (Philox 4x32-10) and random tensors.
   Element i of a draw uses counter (offset + i/4): the same numbers for any thread count. */
#ifndef RC_RANDOM_H
#define RC_RANDOM_H

#include <stdint.h>
#include "tensor.h"

typedef struct {
  uint64_t seed;
  uint64_t offset;   /* Philox blocks consumed so far */
} rc_rng_state;

void rc_manual_seed(uint64_t seed);
rc_rng_state rc_rng_get_state(void);
void rc_rng_set_state(rc_rng_state state);
/* Reserve `blocks` Philox blocks (4 uint32 each) for one draw; returns the first counter. */
uint64_t rc_rng_reserve(uint64_t blocks);
/* The full-width block function: 4-word counter, 2-word key (the known-answer tests use it). */
void rc_philox4x32_10(const uint32_t counter[4], const uint32_t key[2], uint32_t out[4]);
/* The 4 uint32 of block `counter` under `seed`. */
void rc_philox(uint64_t seed, uint64_t counter, uint32_t out[4]);

/* Fill t in place (any view; values written in row-major order). */
rc_status rc_uniform_(rc_tensor *t, double lo, double hi);      /* [lo, hi) */
rc_status rc_normal_(rc_tensor *t, double mean, double std);
rc_status rc_randint_(rc_tensor *t, int64_t lo, int64_t hi);    /* [lo, hi) */
rc_status rc_bernoulli_(rc_tensor *t, double p);                /* 1 with probability p */
/* out[i] = 1 with probability probs[i]. */
rc_status rc_bernoulli(rc_tensor **out, const rc_tensor *probs);
/* probs (N) or (B,N), non-negative weights (need not sum to 1); out int64 (k) or (B,k)
   of 0-based category ids. */
rc_status rc_multinomial(rc_tensor **out, const rc_tensor *probs, int64_t num_samples,
                         bool replacement);

#endif
