/* vmath.c: vectorised e^x and sigma(x) (see vmath.h). Each step below is written three times: for 16
 * floats (AVX-512), for 8 (AVX2) and for one (plain C); the three do the same operations in the same
 * order, so a value gets the same bits whichever path (or tail) computes it. */
#include <math.h>
#include <stdint.h>
#include <string.h>
#include "vmath.h"
#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#endif

static const float X_LO = -104.0f, X_HI = 89.0f;                    /* e^x is 0 / +inf in float beyond */
static const float LOG2E = 1.44269504088896341f;
static const float LN2_HI = 0.693359375f, LN2_LO = -2.12194440e-4f; /* ln 2 = HI + LO, HI exact in 9 bits */
static const float ROUND = 12582912.0f;                             /* 1.5 2^23: adding it rounds to an integer */
/* e^r ~ 1 + r + r^2 (P0 + r P1 + ... + r^5 P5) on |r| <= ln 2 / 2 (Cephes expf) */
static const float P5 = 1.9875691500e-4f, P4 = 1.3981999507e-3f, P3 = 8.3334519073e-3f,
                   P2 = 4.1665795894e-2f, P1 = 1.6666665459e-1f, P0 = 5.0000001201e-1f;

/* 2^k for an integer k in [-126, 127], from the exponent bits. */
static float pow2i(int32_t k) {
    uint32_t bits = (uint32_t)(k + 127) << 23;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

float vmath_expf(float x) {
    if (x != x) return x;                                  /* NaN */
    x = x < X_LO ? X_LO : x > X_HI ? X_HI : x;
    float k = fmaf(x, LOG2E, ROUND) - ROUND;               /* round(x / ln 2), ties to even */
    float r = fmaf(k, -LN2_HI, x);
    r = fmaf(k, -LN2_LO, r);
    float p = fmaf(P5, r, P4);
    p = fmaf(p, r, P3);
    p = fmaf(p, r, P2);
    p = fmaf(p, r, P1);
    p = fmaf(p, r, P0);
    p = fmaf(p, r * r, r + 1.0f);
    int32_t ki = (int32_t)k, k1 = ki >> 1;                 /* 2^k = 2^k1 2^(k - k1), both normal */
    return p * pow2i(k1) * pow2i(ki - k1);
}

#if defined(__AVX512F__)
static __m512 exp16(__m512 x) {
    __m512 xc = _mm512_min_ps(_mm512_set1_ps(X_HI), _mm512_max_ps(_mm512_set1_ps(X_LO), x));   /* NaN -> X_HI */
    __m512 k = _mm512_sub_ps(_mm512_fmadd_ps(xc, _mm512_set1_ps(LOG2E), _mm512_set1_ps(ROUND)), _mm512_set1_ps(ROUND));
    __m512 r = _mm512_fmadd_ps(k, _mm512_set1_ps(-LN2_HI), xc);
    r = _mm512_fmadd_ps(k, _mm512_set1_ps(-LN2_LO), r);
    __m512 p = _mm512_fmadd_ps(_mm512_set1_ps(P5), r, _mm512_set1_ps(P4));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(P3));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(P2));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(P1));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(P0));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    __m512i ki = _mm512_cvttps_epi32(k), k1 = _mm512_srai_epi32(ki, 1), bias = _mm512_set1_epi32(127);
    __m512 s1 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(k1, bias), 23));
    __m512 s2 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(_mm512_sub_epi32(ki, k1), bias), 23));
    __m512 y = _mm512_mul_ps(_mm512_mul_ps(p, s1), s2);
    __mmask16 nan = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
    return _mm512_mask_mov_ps(y, nan, x);
}
#elif defined(__AVX2__) && defined(__FMA__)
static __m256 exp8(__m256 x) {
    __m256 xc = _mm256_min_ps(_mm256_set1_ps(X_HI), _mm256_max_ps(_mm256_set1_ps(X_LO), x));
    __m256 k = _mm256_sub_ps(_mm256_fmadd_ps(xc, _mm256_set1_ps(LOG2E), _mm256_set1_ps(ROUND)), _mm256_set1_ps(ROUND));
    __m256 r = _mm256_fmadd_ps(k, _mm256_set1_ps(-LN2_HI), xc);
    r = _mm256_fmadd_ps(k, _mm256_set1_ps(-LN2_LO), r);
    __m256 p = _mm256_fmadd_ps(_mm256_set1_ps(P5), r, _mm256_set1_ps(P4));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(P3));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(P2));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(P1));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(P0));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i ki = _mm256_cvttps_epi32(k), k1 = _mm256_srai_epi32(ki, 1), bias = _mm256_set1_epi32(127);
    __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(k1, bias), 23));
    __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(_mm256_sub_epi32(ki, k1), bias), 23));
    __m256 y = _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
    return _mm256_blendv_ps(y, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));   /* NaN stays NaN */
}
#endif

void vmath_exp(float *y, const float *x, size_t n) {
    size_t i = 0;
#if defined(__AVX512F__)
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, exp16(_mm512_loadu_ps(x + i)));
#elif defined(__AVX2__) && defined(__FMA__)
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, exp8(_mm256_loadu_ps(x + i)));
#endif
    for (; i < n; i++) y[i] = vmath_expf(x[i]);
}

/* s = sigma(x) = 1 / (1 + e^-x): e^-x vectorised, then one division per value (exact rounding); with y, also
 * y = x s (SiLU) while x and s are still in registers (a second pass over them was 2% of a toy training step). */
void vmath_silu(float *y, float *s, const float *x, size_t n) {
    size_t i = 0;
#if defined(__AVX512F__)
    const __m512 one = _mm512_set1_ps(1.0f);
    for (; i + 16 <= n; i += 16) {
        __m512 xi = _mm512_loadu_ps(x + i);
        __m512 si = _mm512_div_ps(one, _mm512_add_ps(one, exp16(_mm512_sub_ps(_mm512_setzero_ps(), xi))));
        _mm512_storeu_ps(s + i, si);
        if (y) _mm512_storeu_ps(y + i, _mm512_mul_ps(xi, si));
    }
#elif defined(__AVX2__) && defined(__FMA__)
    const __m256 one = _mm256_set1_ps(1.0f);
    for (; i + 8 <= n; i += 8) {
        __m256 xi = _mm256_loadu_ps(x + i);
        __m256 si = _mm256_div_ps(one, _mm256_add_ps(one, exp8(_mm256_sub_ps(_mm256_setzero_ps(), xi))));
        _mm256_storeu_ps(s + i, si);
        if (y) _mm256_storeu_ps(y + i, _mm256_mul_ps(xi, si));
    }
#endif
    for (; i < n; i++) {
        float xi = x[i], si = 1.0f / (1.0f + vmath_expf(0.0f - xi));
        s[i] = si;
        if (y) y[i] = xi * si;
    }
}

void vmath_sigmoid(float *y, const float *x, size_t n) { vmath_silu(NULL, y, x, n); }
