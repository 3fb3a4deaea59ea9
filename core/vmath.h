/* core/vmath.h — float math that gcc vectorizes: plain multiply-adds and integer-mask selects
   instead of libm calls (glibc's expf only vectorizes under -ffast-math). */
#ifndef RC_VMATH_H
#define RC_VMATH_H

#include <stdint.h>
#include <string.h>

static inline uint32_t rc_f2u(float x) {
  uint32_t u;
  memcpy(&u, &x, sizeof u);
  return u;
}

static inline float rc_u2f(uint32_t u) {
  float x;
  memcpy(&x, &u, sizeof x);
  return x;
}

/* exp(x) = 2^n e^r with n = round(x / ln 2): Cephes' polynomial for e^r on [-ln2/2, ln2/2],
   within 2 ulp, for x in [-87.3, 88.3] (2^n a normal float; outside that, garbage: the callers
   mask or clamp). Plain arithmetic, so loops over it vectorize. */
static inline float rc_exp_in_range(float x) {
  const float magic = 12582912.0f;              /* 1.5 * 2^23: adding it rounds to an integer */
  float t = x * 1.44269504088896341f + magic;
  float n = t - magic;                          /* round(x / ln 2) */
  float r = x - n * 0.693359375f - n * -2.12194440e-4f;
  float q = 1.9875691500e-4f;
  q = q * r + 1.3981999507e-3f;
  q = q * r + 8.3334519073e-3f;
  q = q * r + 4.1665795894e-2f;
  q = q * r + 1.6666665459e-1f;
  q = q * r + 5.0000001201e-1f;
  float y = q * r * r + r + 1.0f;
  uint32_t scale = (rc_f2u(t) - rc_f2u(magic) + 127u) << 23;   /* 2^n: n sits in t's low bits */
  return y * rc_u2f(scale);
}

/* expf without a library call, so loops over it vectorize (libm's expf does not without
   -ffast-math). Results below 2^-126 flush to 0 and x above 88.376 gives inf (a little early):
   every caller passes x - max <= 0, or has an inf in the same sum already. */
static inline float rc_vexp(float x) {
  uint32_t ux = rc_f2u(x), ax = ux & 0x7fffffffu;
  uint32_t neg = 0u - (ux >> 31);                                  /* all ones when x < 0 */
  uint32_t under = neg & (0u - (uint32_t)(ax > 0x42aeac50u));      /* x < -87.33654 */
  uint32_t over = ~neg & (0u - (uint32_t)(ax > 0x42b0c0a5u));      /* x > 88.3762 */
  uint32_t nan = 0u - (uint32_t)(ax > 0x7f800000u);
  uint32_t uy = rc_f2u(rc_exp_in_range(x));
  uy &= ~under;                                           /* out of range: garbage -> 0 */
  uy = (uy & ~over) | (over & 0x7f800000u);               /* -> inf */
  uy = (uy & ~nan) | (ux & nan);                          /* NaN stays NaN */
  return rc_u2f(uy);
}

#endif
