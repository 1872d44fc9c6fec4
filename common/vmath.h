/* vmath.h: the exponential and the logistic sigmoid over arrays of floats, vectorised (AVX-512 or AVX2
 * when the build has it, the same arithmetic in plain C otherwise), for the activations of the networks.
 *
 *   vmath_exp(y, x, n);        y[i] = e^x[i]
 *   vmath_sigmoid(y, x, n);    y[i] = 1 / (1 + e^-x[i])
 *   vmath_silu(y, s, x, n);    s[i] = sigma(x[i]) as vmath_sigmoid gives it, y[i] = x[i] s[i] (SiLU), one pass
 *   float e = vmath_expf(x);   one value, the same algorithm (and the same bits) as vmath_exp
 *
 * Algorithm (Cody-Waite reduction, as in Cephes' expf): k = round(x / ln 2), r = x - k ln 2 in two parts
 * (|r| <= ln 2 / 2), e^r by a degree-7 polynomial (Cephes' minimax coefficients), times 2^k built from
 * its exponent bits in two halves, so that k from -150 to 128 (subnormal results and overflow) needs
 * no special case. x is clamped to [-104, 89] first, where e^x is already 0 and +inf in float.
 * Accuracy against libm's expf (tests/test_vmath.c, over every 977th float of the whole range; every 7th measured: 1 ulp):
 * at most 2 ulp where the result is a normal float, at most 1 unit of 2^-149 where it is subnormal;
 * e^x = 0 below -103.98, +inf above 88.73, NaN for NaN, as libm. No errno, no -ffast-math.
 * y (and s) may be x (in place). Nothing allocates; nothing fails. */
#ifndef VMATH_H
#define VMATH_H

#include <stddef.h>

float vmath_expf(float x);
void  vmath_exp(float *y, const float *x, size_t n);
void  vmath_sigmoid(float *y, const float *x, size_t n);
void  vmath_silu(float *y, float *s, const float *x, size_t n);

#endif
