/* Tests of common/rng: moments and normality of the draws, reproducibility, independent streams. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include "rng.h"

/* Uniform on [0,1): mean 1/2 and variance 1/12. Tol: 5 standard errors, sd(mean) = sqrt(1/12 / N),
 * sd(var) ~ sqrt((1/80 - 1/144) / N) (fourth central moment of U(0,1) is 1/80). */
START_TEST(test_uniform_moments) {
    enum { N = 1000000 };
    Rng r = rng_seed(7);
    double s = 0, s2 = 0;
    for (int i = 0; i < N; i++) { double u = rng_uniform(&r); ck_assert(u >= 0.0 && u < 1.0); s += u; s2 += u * u; }
    double m = s / N, v = s2 / N - m * m;
    ck_assert_double_eq_tol(m, 0.5, 5 * sqrt(1.0 / 12 / N));
    ck_assert_double_eq_tol(v, 1.0 / 12, 5 * sqrt((1.0 / 80 - 1.0 / 144) / N));
}
END_TEST

/* Standard normal: mean 0, variance 1 (sd of sample var sqrt(2/N)), skewness 0 (sd sqrt(6/N)),
 * excess kurtosis 0 (sd sqrt(24/N)): the moment form of the Jarque-Bera normality statistic. Tol: 5 sd. */
START_TEST(test_normal_moments_and_normality) {
    enum { N = 1000000 };
    Rng r = rng_seed(11);
    double s1 = 0, s2 = 0, s3 = 0, s4 = 0;
    for (int i = 0; i < N; i++) { double z = rng_normal(&r); s1 += z; s2 += z * z; s3 += z * z * z; s4 += z * z * z * z; }
    double m = s1 / N, v = s2 / N - m * m;
    double skew = (s3 / N) / pow(v, 1.5), kurt = (s4 / N) / (v * v) - 3.0;
    printf("rng normal: mean %.2e var %.5f skew %.2e excess kurtosis %.2e (N = %d)\n", m, v, skew, kurt, N);
    ck_assert_double_eq_tol(m, 0.0, 5 * sqrt(1.0 / N));
    ck_assert_double_eq_tol(v, 1.0, 5 * sqrt(2.0 / N));
    ck_assert_double_eq_tol(skew, 0.0, 5 * sqrt(6.0 / N));
    ck_assert_double_eq_tol(kurt, 0.0, 5 * sqrt(24.0 / N));
}
END_TEST

/* P(Z < 1) = Phi(1) = 0.841344746: the tail shape, not only the moments. Tol: 5 sd of a proportion. */
START_TEST(test_normal_cdf_at_one) {
    enum { N = 1000000 };
    Rng r = rng_seed(3);
    int below = 0;
    for (int i = 0; i < N; i++) below += rng_normal(&r) < 1.0;
    double p = 0.841344746;
    ck_assert_double_eq_tol((double)below / N, p, 5 * sqrt(p * (1 - p) / N));
}
END_TEST

START_TEST(test_same_seed_same_stream) {
    Rng a = rng_seed(42), b = rng_seed(42), c = rng_stream(42, 1);
    int same_c = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = rng_u64(&a);
        ck_assert_uint_eq(x, rng_u64(&b));
        same_c += x == rng_u64(&c);
    }
    ck_assert_int_eq(same_c, 0);   /* 1000 equal 64-bit words by chance: probability ~1e-16 */
}
END_TEST

/* Streams are uncorrelated: sample correlation of paired normals from streams 0 and 1 is within 5/sqrt(N) of 0. */
START_TEST(test_streams_uncorrelated) {
    enum { N = 200000 };
    Rng a = rng_stream(5, 0), b = rng_stream(5, 1);
    double sab = 0;
    for (int i = 0; i < N; i++) sab += rng_normal(&a) * rng_normal(&b);
    ck_assert_double_eq_tol(sab / N, 0.0, 5 / sqrt((double)N));
}
END_TEST

START_TEST(test_int_range) {
    Rng r = rng_seed(1);
    int count[7] = {0};
    for (int i = 0; i < 70000; i++) count[rng_int(&r, 7)]++;
    for (int k = 0; k < 7; k++) ck_assert_double_eq_tol(count[k], 10000, 5 * sqrt(70000 * (1.0 / 7) * (6.0 / 7)));
}
END_TEST

Suite *suite_rng(void) {
    Suite *s = suite_create("rng");
    TCase *tc = tcase_create("draws");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_uniform_moments);
    tcase_add_test(tc, test_normal_moments_and_normality);
    tcase_add_test(tc, test_normal_cdf_at_one);
    tcase_add_test(tc, test_same_seed_same_stream);
    tcase_add_test(tc, test_streams_uncorrelated);
    tcase_add_test(tc, test_int_range);
    suite_add_tcase(s, tc);
    return s;
}
