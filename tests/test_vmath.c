/* Tests of common/vmath: the vectorised e^x and sigma(x) against libm over the whole float range, and the
 * SiLU pass against sigma times x. */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "vmath.h"

static float float_of_bits(uint32_t b) { float f; memcpy(&f, &b, sizeof f); return f; }

/* Distance in units in the last place between two finite floats of the same sign (0 if equal). */
static double ulp_distance(float a, float b) {
    int32_t ia, ib;
    memcpy(&ia, &a, sizeof ia);
    memcpy(&ib, &b, sizeof ib);
    return fabs((double)ia - (double)ib);
}

/* Every 977th float from -104 to 89 (about 2.3e6 inputs, both signs, every binade, the subnormal-result and
 * overflow edges), through vmath_exp in blocks (the vector path) and vmath_expf (the scalar path): against
 * libm's expf (correctly rounded to within 1 ulp itself), at most 2 ulp where libm's result is a normal
 * float, at most 1 unit of 2^-149 where it is subnormal or 0, and inf exactly where libm overflows. The two
 * paths must agree to the bit. Measured over every 7th float: max 1 ulp and 1 unit of 2^-149 (AVX-512, AVX2
 * and plain C builds). */
START_TEST(test_exp_matches_libm) {
    enum { BLOCK = 4099 };   /* odd: the vector loop leaves a scalar tail in every block */
    float *x = malloc(sizeof(float) * BLOCK), *y = malloc(sizeof(float) * BLOCK);
    double max_ulp = 0, max_sub = 0;
    long n = 0;
    for (int sign = 0; sign < 2; sign++) {
        uint32_t hi = sign ? 0xC2D00000u : 0x42B20000u;   /* bits of -104 and of 89 */
        uint32_t b = sign ? 0x80000000u : 0u;
        while (b <= hi) {
            int m = 0;
            for (; m < BLOCK && b <= hi; m++, b += 977) x[m] = float_of_bits(b);
            vmath_exp(y, x, (size_t)m);
            for (int i = 0; i < m; i++, n++) {
                float ref = expf(x[i]), s = vmath_expf(x[i]);
                ck_assert_msg(memcmp(&s, &y[i], sizeof s) == 0, "exp(%a): vector %a, scalar %a", x[i], y[i], s);
                if (isinf(ref)) { ck_assert_msg(isinf(y[i]), "exp(%a) = %a, libm inf", x[i], y[i]); continue; }
                if (ref < FLT_MIN) { double d = fabs((double)y[i] - ref) / 0x1p-149; if (d > max_sub) max_sub = d; continue; }
                double d = ulp_distance(y[i], ref);
                if (d > max_ulp) max_ulp = d;
                ck_assert_msg(d <= 2, "exp(%a) = %a, libm %a: %.0f ulp", x[i], y[i], ref, d);
            }
        }
    }
    ck_assert_double_le(max_sub, 1.0);
    ck_assert_int_gt(n, 2000000);
    free(x); free(y);
}
END_TEST

/* The edges: 0 -> 1 exactly, NaN -> NaN, -inf -> 0, +inf -> inf, and sigma's limits and symmetry. */
START_TEST(test_exp_special_values) {
    float x[19] = { 0.0f, -0.0f, NAN, -INFINITY, INFINITY, 88.72f, 88.73f, -103.97f, -104.5f, 1.0f,
                    -1.0f, 50.0f, -50.0f, 0.5f, 1e-8f, -1e-8f, 20.0f, -20.0f, 3.0f }, y[19], s[19];
    vmath_exp(y, x, 19);
    ck_assert(y[0] == 1.0f && y[1] == 1.0f);
    ck_assert(isnan(y[2]));
    ck_assert(y[3] == 0.0f && isinf(y[4]) && y[4] > 0);
    ck_assert(isfinite(y[5]) && isinf(y[6]));
    ck_assert(y[7] > 0.0f && y[8] == 0.0f);
    vmath_sigmoid(s, x, 19);
    ck_assert(s[0] == 0.5f && isnan(s[2]) && s[3] == 0.0f && s[4] == 1.0f);
    for (int i = 9; i < 19; i++)   /* |sigma(x) - libm's| <= 3 ulp of 1, and sigma(x) + sigma(-x) = 1 */
        ck_assert_double_eq_tol(s[i], 1.0 / (1.0 + exp(-(double)x[i])), 3.6e-7);
    ck_assert_double_eq_tol(s[9] + s[10], 1.0, 2.4e-7);
    ck_assert_double_eq_tol(s[16] + s[17], 1.0, 2.4e-7);
}
END_TEST

/* vmath_silu: s exactly vmath_sigmoid's, y = x s to the bit, in place too (y = x), on 1001 values (vector loop and
 * scalar tail) from -30 to 30. */
START_TEST(test_silu_matches_sigmoid_times_x) {
    enum { N = 1001 };
    float x[N], s_ref[N], s[N], y[N];
    for (int i = 0; i < N; i++) x[i] = -30.0f + 0.06f * i + 0.001f * (i % 7);
    vmath_sigmoid(s_ref, x, N);
    vmath_silu(y, s, x, N);
    for (int i = 0; i < N; i++) {
        float want = x[i] * s_ref[i];
        ck_assert(memcmp(&s[i], &s_ref[i], sizeof(float)) == 0);
        ck_assert(memcmp(&y[i], &want, sizeof(float)) == 0);
    }
    memcpy(y, x, sizeof y);
    vmath_silu(y, s, y, N);   /* in place */
    for (int i = 0; i < N; i++) { float want = x[i] * s_ref[i]; ck_assert(memcmp(&y[i], &want, sizeof(float)) == 0); }
}
END_TEST

Suite *suite_vmath(void) {
    Suite *s = suite_create("vmath");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_exp_matches_libm);
    tcase_add_test(tc, test_exp_special_values);
    tcase_add_test(tc, test_silu_matches_sigmoid_times_x);
    suite_add_tcase(s, tc);
    return s;
}
