/* simd.h: the handful of vector operations the hand-written kernels (gemm.c, conv.c) are made of, one
 * vector of VL floats at a time, for the widest instruction set the build has:
 *   AVX-512 (-march with avx512f): Vec = __m512, VL = 16;   AVX2 + FMA: Vec = __m256, VL = 8;
 *   otherwise plain C: Vec = 4 floats in a struct, VL = 4 (vec_fmadd is then a multiply and an add).
 *
 *   Vec acc = vec_zero();
 *   for (int k = 0; k < n; k++) acc = vec_fmadd(vec_set1(a[k]), vec_loadu(b + k * VL), acc);
 *   vec_storeu(c, acc);
 *
 * Internal to common/: static inline functions, nothing to link, nothing allocates or fails.
 * vec_load wants a 64-byte (AVX-512) or 32-byte (AVX2) aligned address; vec_loadu takes any. */
#ifndef SIMD_H
#define SIMD_H

#if defined(__AVX2__)
#include <immintrin.h>
#endif

#if defined(__AVX512F__)
typedef __m512 Vec;
enum { VL = 16 };
static inline Vec vec_zero(void) { return _mm512_setzero_ps(); }
static inline Vec vec_set1(float x) { return _mm512_set1_ps(x); }
static inline Vec vec_load(const float *p) { return _mm512_load_ps(p); }
static inline Vec vec_loadu(const float *p) { return _mm512_loadu_ps(p); }
static inline void vec_storeu(float *p, Vec v) { _mm512_storeu_ps(p, v); }
static inline Vec vec_fmadd(Vec a, Vec b, Vec c) { return _mm512_fmadd_ps(a, b, c); }
static inline Vec vec_mul(Vec a, Vec b) { return _mm512_mul_ps(a, b); }
#elif defined(__AVX2__) && defined(__FMA__)
typedef __m256 Vec;
enum { VL = 8 };
static inline Vec vec_zero(void) { return _mm256_setzero_ps(); }
static inline Vec vec_set1(float x) { return _mm256_set1_ps(x); }
static inline Vec vec_load(const float *p) { return _mm256_load_ps(p); }
static inline Vec vec_loadu(const float *p) { return _mm256_loadu_ps(p); }
static inline void vec_storeu(float *p, Vec v) { _mm256_storeu_ps(p, v); }
static inline Vec vec_fmadd(Vec a, Vec b, Vec c) { return _mm256_fmadd_ps(a, b, c); }
static inline Vec vec_mul(Vec a, Vec b) { return _mm256_mul_ps(a, b); }
#else
typedef struct { float v[4]; } Vec;
enum { VL = 4 };
static inline Vec vec_zero(void) { return (Vec){ { 0 } }; }
static inline Vec vec_set1(float x) { return (Vec){ { x, x, x, x } }; }
static inline Vec vec_loadu(const float *p) { return (Vec){ { p[0], p[1], p[2], p[3] } }; }
static inline Vec vec_load(const float *p) { return vec_loadu(p); }
static inline void vec_storeu(float *p, Vec a) { for (int i = 0; i < 4; i++) p[i] = a.v[i]; }
static inline Vec vec_fmadd(Vec a, Vec b, Vec c) { for (int i = 0; i < 4; i++) c.v[i] += a.v[i] * b.v[i]; return c; }
static inline Vec vec_mul(Vec a, Vec b) { for (int i = 0; i < 4; i++) a.v[i] *= b.v[i]; return a; }
#endif

#endif
