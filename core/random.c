/* core/random.c — STUB: to be written. */
#include "ops.h"
#include "random.h"

void rc_manual_seed(uint64_t seed) {
  (void)0;
}

rc_rng_state rc_rng_get_state(void) {
  rc_rng_state s = {0, 0};
  return s;
}

void rc_rng_set_state(rc_rng_state state) {
  (void)0;
}

uint64_t rc_rng_reserve(uint64_t blocks) {
  return 0;
}

void rc_philox(uint64_t seed, uint64_t counter, uint32_t out[4]) {
  (void)0;
}

rc_status rc_uniform_(rc_tensor *t, double lo, double hi) {
  return rc_fail(RC_ERR_STATE, "uniform_: not implemented yet");
}

rc_status rc_normal_(rc_tensor *t, double mean, double std) {
  return rc_fail(RC_ERR_STATE, "normal_: not implemented yet");
}

rc_status rc_randint_(rc_tensor *t, int64_t lo, int64_t hi) {
  return rc_fail(RC_ERR_STATE, "randint_: not implemented yet");
}

rc_status rc_bernoulli_(rc_tensor *t, double p) {
  return rc_fail(RC_ERR_STATE, "bernoulli_: not implemented yet");
}

rc_status rc_bernoulli(rc_tensor **out, const rc_tensor *probs) {
  return rc_fail(RC_ERR_STATE, "bernoulli: not implemented yet");
}

rc_status rc_multinomial(rc_tensor **out, const rc_tensor *probs, int64_t num_samples, bool replacement) {
  return rc_fail(RC_ERR_STATE, "multinomial: not implemented yet");
}
