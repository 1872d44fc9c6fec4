/* simd.h: the handful of vector operations the hand-written kernels (gemm.c, conv.c) are made of, one
 * vector of VL floats at a time, for the widest instruction set the build has:
 *   AVX-512 (-march with avx512f): Vec = __m512, VL = 16;   AVX2 + FMA: Vec = __m256, VL = 8;
 *   otherwise plain C: Vec = 4 floats in a struct, VL = 4 (vec_fmadd is then a multiply and an add).
 *
 *   Vec acc = vec_zero();
 *   for (int k = 0; k < n; k++) acc = vec_fmadd(vec_set1(a[k]), vec_loadu(b + k * VL), acc);
 *   vec_storeu(c, acc);
 *
 * Masked loads and stores touch only the lanes [lo, hi) of a VMask = vec_mask_range(lo, hi), 0 <= lo <= hi <= VL:
 * vec_mask_loadu(p, m) reads p[lo .. hi - 1] (the other lanes are 0; vec_mask_loadu_into(v, p, m): those of v),
 * vec_mask_storeu(p, m, v) writes them; the
 * other lanes' addresses are never read or written (they may lie outside the array).
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
static inline Vec vec_add(Vec a, Vec b) { return _mm512_add_ps(a, b); }
typedef __mmask16 VMask;
static inline VMask vec_mask_range(int lo, int hi) { return (VMask)(((1u << hi) - 1) & ~((1u << lo) - 1)); }
static inline Vec vec_mask_loadu(const float *p, VMask m) { return _mm512_maskz_loadu_ps(m, p); }
static inline Vec vec_mask_loadu_into(Vec v, const float *p, VMask m) { return _mm512_mask_loadu_ps(v, m, p); }
static inline void vec_mask_storeu(float *p, VMask m, Vec v) { _mm512_mask_storeu_ps(p, m, v); }
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
static inline Vec vec_add(Vec a, Vec b) { return _mm256_add_ps(a, b); }
typedef __m256i VMask;
static inline VMask vec_mask_range(int lo, int hi) {
    __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_and_si256(_mm256_cmpgt_epi32(lane, _mm256_set1_epi32(lo - 1)), _mm256_cmpgt_epi32(_mm256_set1_epi32(hi), lane));
}
static inline Vec vec_mask_loadu(const float *p, VMask m) { return _mm256_maskload_ps(p, m); }
static inline Vec vec_mask_loadu_into(Vec v, const float *p, VMask m) {
    return _mm256_blendv_ps(v, _mm256_maskload_ps(p, m), _mm256_castsi256_ps(m));
}
static inline void vec_mask_storeu(float *p, VMask m, Vec v) { _mm256_maskstore_ps(p, m, v); }
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
static inline Vec vec_add(Vec a, Vec b) { for (int i = 0; i < 4; i++) a.v[i] += b.v[i]; return a; }
typedef struct { int lo, hi; } VMask;
static inline VMask vec_mask_range(int lo, int hi) { return (VMask){ lo, hi }; }
static inline Vec vec_mask_loadu(const float *p, VMask m) {
    Vec v = vec_zero();
    for (int i = m.lo; i < m.hi; i++) v.v[i] = p[i];
    return v;
}
static inline Vec vec_mask_loadu_into(Vec v, const float *p, VMask m) {
    for (int i = m.lo; i < m.hi; i++) v.v[i] = p[i];
    return v;
}
static inline void vec_mask_storeu(float *p, VMask m, Vec v) { for (int i = m.lo; i < m.hi; i++) p[i] = v.v[i]; }
#endif

/* Eight float lanes summed in double (the exact sums of group norm and of bias gradients): D8 holds 8 doubles,
 * d8_cvt widens 8 floats, d8_mul8 is the float product of 8 pairs, widened. Each lane does what a scalar double
 * does, in the same order, so a sum over lanes i mod 8 gets the same bits as the plain C loop it replaces. */
#if defined(__AVX512F__)
typedef __m512d D8;
static inline D8 d8_zero(void) { return _mm512_setzero_pd(); }
static inline D8 d8_set1(double x) { return _mm512_set1_pd(x); }
static inline D8 d8_cvt(const float *p) { return _mm512_cvtps_pd(_mm256_loadu_ps(p)); }
static inline D8 d8_mul8(const float *u, const float *v) { return _mm512_cvtps_pd(_mm256_mul_ps(_mm256_loadu_ps(u), _mm256_loadu_ps(v))); }
static inline D8 d8_add(D8 a, D8 b) { return _mm512_add_pd(a, b); }
static inline D8 d8_sub(D8 a, D8 b) { return _mm512_sub_pd(a, b); }
static inline D8 d8_mul(D8 a, D8 b) { return _mm512_mul_pd(a, b); }
static inline void d8_store(double *p, D8 a) { _mm512_storeu_pd(p, a); }
#elif defined(__AVX2__) && defined(__FMA__)
typedef struct { __m256d lo, hi; } D8;
static inline D8 d8_zero(void) { return (D8){ _mm256_setzero_pd(), _mm256_setzero_pd() }; }
static inline D8 d8_set1(double x) { return (D8){ _mm256_set1_pd(x), _mm256_set1_pd(x) }; }
static inline D8 d8_wide(__m256 f) { return (D8){ _mm256_cvtps_pd(_mm256_castps256_ps128(f)), _mm256_cvtps_pd(_mm256_extractf128_ps(f, 1)) }; }
static inline D8 d8_cvt(const float *p) { return d8_wide(_mm256_loadu_ps(p)); }
static inline D8 d8_mul8(const float *u, const float *v) { return d8_wide(_mm256_mul_ps(_mm256_loadu_ps(u), _mm256_loadu_ps(v))); }
static inline D8 d8_add(D8 a, D8 b) { return (D8){ _mm256_add_pd(a.lo, b.lo), _mm256_add_pd(a.hi, b.hi) }; }
static inline D8 d8_sub(D8 a, D8 b) { return (D8){ _mm256_sub_pd(a.lo, b.lo), _mm256_sub_pd(a.hi, b.hi) }; }
static inline D8 d8_mul(D8 a, D8 b) { return (D8){ _mm256_mul_pd(a.lo, b.lo), _mm256_mul_pd(a.hi, b.hi) }; }
static inline void d8_store(double *p, D8 a) { _mm256_storeu_pd(p, a.lo); _mm256_storeu_pd(p + 4, a.hi); }
#else
typedef struct { double v[8]; } D8;
static inline D8 d8_zero(void) { return (D8){ { 0 } }; }
static inline D8 d8_set1(double x) { D8 r; for (int k = 0; k < 8; k++) r.v[k] = x; return r; }
static inline D8 d8_cvt(const float *p) { D8 r; for (int k = 0; k < 8; k++) r.v[k] = p[k]; return r; }
static inline D8 d8_mul8(const float *u, const float *v) { D8 r; for (int k = 0; k < 8; k++) r.v[k] = u[k] * v[k]; return r; }
static inline D8 d8_add(D8 a, D8 b) { for (int k = 0; k < 8; k++) a.v[k] += b.v[k]; return a; }
static inline D8 d8_sub(D8 a, D8 b) { for (int k = 0; k < 8; k++) a.v[k] -= b.v[k]; return a; }
static inline D8 d8_mul(D8 a, D8 b) { for (int k = 0; k < 8; k++) a.v[k] *= b.v[k]; return a; }
static inline void d8_store(double *p, D8 a) { for (int k = 0; k < 8; k++) p[k] = a.v[k]; }
#endif

#endif
