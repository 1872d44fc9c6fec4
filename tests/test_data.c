/* Tests of common/data: the exact mixture formulas every sampler is tested against. */
#include <check.h>
#include <math.h>
#include <string.h>
#include "data.h"

static Gmm full_cov_gmm(void) {   /* a 2D mixture with a correlated component: exercises the 2x2 algebra */
    Gmm g = data_gmm_named("gmm");
    g.cov[1][0][1] = g.cov[1][1][0] = 0.01;
    return g;
}

/* §3.2 score = grad log p. Central differences, h = 1e-5: truncation O(h^2 |p'''|) ~ 1e-9, rounding
 * eps |log p| / h ~ 1e-10; tol 1e-6 relative to max(1, |score|). */
START_TEST(test_gmm_score_is_grad_logpdf) {
    double w[2] = {0.3, 0.7}, mu[2] = {-2, 2}, sd[2] = {0.3, 0.5};
    Gmm g = _i == 0 ? full_cov_gmm() : data_gmm_1d(2, w, mu, sd);   /* loop: a 2D and a 1D mixture */
    Rng r = rng_seed(1);
    for (int n = 0; n < 50; n++) {
        double x[2] = { 1.5 * rng_normal(&r), 1.5 * rng_normal(&r) }, s[2], h = 1e-5;
        data_gmm_score(&g, x, s);
        for (int d = 0; d < g.D; d++) {
            double xp[2] = { x[0], x[1] }, xm[2] = { x[0], x[1] };
            xp[d] += h; xm[d] -= h;
            double fd = (data_gmm_logpdf(&g, xp) - data_gmm_logpdf(&g, xm)) / (2 * h);
            ck_assert_double_eq_tol(s[d], fd, 1e-6 * fmax(1.0, fabs(fd)));
        }
    }
}
END_TEST

/* Sampling matches the stated moments. Tol: 5 standard errors sqrt(var/N) for the mean. */
START_TEST(test_gmm_sample_moments) {
    enum { N = 200000 };
    Gmm g = full_cov_gmm();
    static float x[2 * N];
    Rng r = rng_seed(2);
    data_gmm_sample(&g, &r, x, N);
    for (int d = 0; d < 2; d++) {
        double s = 0, s2 = 0;
        for (int i = 0; i < N; i++) { s += x[2 * i + d]; s2 += (double)x[2 * i + d] * x[2 * i + d]; }
        double m = s / N, v = s2 / N - m * m, var = data_gmm_var(&g, d);
        ck_assert_double_eq_tol(m, data_gmm_mean(&g, d), 5 * sqrt(var / N));
        ck_assert_double_eq_tol(v, var, 5 * var * sqrt(3.0 / N));   /* kurtosis of a mixture < 3x a Gaussian's here */
    }
}
END_TEST

/* §2.3 noised law: samples of a x0 + sqrt(s2) eps have the moments of data_gmm_noised. Tol 5 s.e. */
START_TEST(test_gmm_noised_moments) {
    enum { N = 200000 };
    Gmm g = full_cov_gmm();
    double a = sqrt(0.3), s2 = 0.7;
    Gmm h = data_gmm_noised(&g, a, s2);
    static float x[2 * N];
    Rng r = rng_seed(3);
    data_gmm_sample(&g, &r, x, N);
    double s = 0, sq = 0;
    for (int i = 0; i < N; i++) { double xt = a * x[2 * i] + sqrt(s2) * rng_normal(&r); s += xt; sq += xt * xt; }
    double m = s / N, v = sq / N - m * m;
    ck_assert_double_eq_tol(m, data_gmm_mean(&h, 0), 5 * sqrt(data_gmm_var(&h, 0) / N));
    ck_assert_double_eq_tol(v, data_gmm_var(&h, 0), 5 * data_gmm_var(&h, 0) * sqrt(3.0 / N));
}
END_TEST

/* Tweedie (§3.3): E[x0 | x_t = x] = (x + s2 grad log p_t(x)) / a. The denoiser is computed by Wiener filters
 * and the score by responsibilities, two independent routes; they agree to rounding (tol 1e-9). */
START_TEST(test_gmm_denoise_equals_tweedie) {
    Gmm g = full_cov_gmm();
    double a = sqrt(0.6), s2 = 0.4;
    Gmm h = data_gmm_noised(&g, a, s2);
    Rng r = rng_seed(4);
    for (int n = 0; n < 100; n++) {
        double x[2] = { rng_normal(&r), rng_normal(&r) }, m[2], s[2];
        data_gmm_denoise(&g, a, s2, x, m);
        data_gmm_score(&h, x, s);
        for (int d = 0; d < 2; d++) ck_assert_double_eq_tol(m[d], (x[d] + s2 * s[d]) / a, 1e-9);
    }
}
END_TEST

/* §2.7 the ideal denoiser of a point set is the posterior mean when x0 is uniform on the points: compare with
 * data_gmm_denoise on the mixture of (almost) Dirac components at those points (sd 1e-4). Tol 1e-6. */
START_TEST(test_points_denoise_is_dirac_mixture_mean) {
    float pts[8] = { -1, 0,  1, 0.5f,  0.2f, 1,  0, -1 };
    double w[4] = {0.25, 0.25, 0.25, 0.25}, mu[8], sd[4] = {1e-4, 1e-4, 1e-4, 1e-4};
    for (int i = 0; i < 8; i++) mu[i] = pts[i];
    Gmm g = data_gmm_2d(4, w, mu, sd);
    double x[2] = { 0.3, -0.2 }, a = 0.8, s2 = 0.5, m1[2], m2[2];
    data_points_denoise(pts, 4, 2, a, s2, x, m1);
    data_gmm_denoise(&g, a, s2, x, m2);
    ck_assert_double_eq_tol(m1[0], m2[0], 1e-6);
    ck_assert_double_eq_tol(m1[1], m2[1], 1e-6);
}
END_TEST

START_TEST(test_toys_in_range) {
    enum { N = 5000 };
    static float x[2 * N];
    Rng r = rng_seed(5);
    for (const char *const *name = DATA_TOY_NAMES; *name; name++) {
        ck_assert_int_eq(data_toy_sample(*name, &r, x, N), 0);
        for (int i = 0; i < 2 * N; i++) ck_assert(isfinite(x[i]) && fabsf(x[i]) < 2.0f);
    }
    /* swiss roll radius |x| = t/(5 pi) with t in [pi/2, 5.5 pi]: between 0.1 and 1.1 */
    ck_assert_int_eq(data_toy_sample("swissroll", &r, x, N), 0);
    for (int i = 0; i < N; i++) {
        double rad = hypot(x[2 * i], x[2 * i + 1]);
        ck_assert(rad > 0.1 - 1e-6 && rad < 1.1 + 1e-6);
    }
    ck_assert_int_ne(data_toy_sample("nonsense", &r, x, 1), 0);
}
END_TEST

/* Sliced W1 is 0 between identical sets; for a translation by d it is E|<u, d>| over unit directions u,
 * which in 2D is 2|d|/pi. Tol: 5 sd of the Monte Carlo over directions (sd <= |d|/sqrt(P)). */
START_TEST(test_sliced_wasserstein_shift) {
    enum { N = 1000, P = 2000 };
    static float a[2 * N], b[2 * N];
    Rng r = rng_seed(6);
    ck_assert_int_eq(data_toy_sample("moons", &r, a, N), 0);
    for (int i = 0; i < N; i++) { b[2 * i] = a[2 * i] + 0.3f; b[2 * i + 1] = a[2 * i + 1]; }
    ck_assert_double_eq_tol(data_sliced_wasserstein(a, a, N, 2, 10, &r), 0.0, 1e-12);
    ck_assert_double_eq_tol(data_sliced_wasserstein(a, b, N, 2, P, &r), 2 * 0.3 / PI, 5 * 0.3 / sqrt(P));
}
END_TEST

/* The histogram is a density: on exact draws of a 1D mixture it integrates to the fraction inside [lo, hi)
 * and matches the density within 5 binomial standard errors per bin. */
START_TEST(test_histogram_is_a_density) {
    enum { N = 200000, BINS = 40 };
    static const double w[2] = { 0.4, 0.6 }, mu[2] = { -1, 1.5 }, sd[2] = { 0.5, 0.7 };
    Gmm g = data_gmm_1d(2, w, mu, sd);
    Rng rng = rng_seed(5);
    static float x[N];
    data_gmm_sample(&g, &rng, x, N);
    double dens[BINS], lo = -3, hi = 4, width = (hi - lo) / BINS, mass = 0;
    data_histogram(x, N, lo, hi, BINS, dens);
    for (int b = 0; b < BINS; b++) {
        double xb = lo + (b + 0.5) * width, p = exp(data_gmm_logpdf(&g, &xb)) * width;
        mass += dens[b] * width;
        /* bin probability p; count ~ Binomial(N, p); the mid-point rule adds width^2 |p''| / 24 */
        ck_assert_double_eq_tol(dens[b] * width, p, 5 * sqrt(p * (1 - p) / N) + 2e-3 * width);
    }
    ck_assert_double_le(mass, 1.0 + 1e-12);
    ck_assert_double_ge(mass, 0.99);
}
END_TEST

/* DataStat on values with known moments: 1..10 has mean 5.5 and sample sd sqrt(55/6) = 3.0277 (n - 1 in the
 * denominator); s.e. = sd / sqrt(10). A constant has sd 0 (not a tiny negative under the square root); one value
 * has no sd. Tol: rounding of sums of ten small integers, 1e-12. */
START_TEST(test_stat_mean_sd_se) {
    DataStat st = { 0 };
    for (int i = 1; i <= 10; i++) data_stat_add(&st, i);
    ck_assert_double_eq_tol(data_stat_mean(&st), 5.5, 1e-12);
    ck_assert_double_eq_tol(data_stat_sd(&st), sqrt(55.0 / 6.0), 1e-12);
    ck_assert_double_eq_tol(data_stat_se(&st), sqrt(55.0 / 6.0) / sqrt(10.0), 1e-12);
    DataStat c = { 0 };
    for (int i = 0; i < 7; i++) data_stat_add(&c, 0.1);
    ck_assert_double_eq_tol(data_stat_sd(&c), 0.0, 1e-12);
    DataStat one = { 0 };
    data_stat_add(&one, 2.0);
    ck_assert(isnan(data_stat_sd(&one)));
}
END_TEST

/* The shared sample helpers: moments of 1..4 every other value (stride 2) are mean 2.5, variance 1.25, exactly
 * in binary; the float and double moments and histograms agree on the same numbers; the tutorial's 1D mixture has
 * mean 0.3 (-2) + 0.7 (2) = 0.8; the fixed-direction sliced W1 repeats itself and is 0 between a set and itself. */
START_TEST(test_shared_sample_helpers) {
    static const double xd[8] = { 1, -9, 2, -9, 3, -9, 4, -9 };
    float xf[8];
    for (int i = 0; i < 8; i++) xf[i] = (float)xd[i];
    double m, v, mf, vf;
    data_moments_d(xd, 4, 2, &m, &v);
    data_moments(xf, 4, 2, &mf, &vf);
    ck_assert(m == 2.5 && v == 1.25 && mf == m && vf == v);
    double hd[5], hf[5];
    data_histogram_d(xd, 8, -10, 5, 5, hd);
    data_histogram(xf, 8, -10, 5, 5, hf);
    for (int b = 0; b < 5; b++) ck_assert(hd[b] == hf[b]);
    Gmm g = data_gmm_tutorial_1d();
    ck_assert_int_eq(g.D, 1);
    ck_assert_double_eq_tol(data_gmm_mean(&g, 0), 0.8, 1e-15);
    Rng rng = rng_seed(3);
    float a[400], b[400];
    data_gmm_sample(&g, &rng, a, 400);   /* read as 200 points in 2D */
    data_gmm_sample(&g, &rng, b, 400);
    double w1 = data_sliced_w1_fixed(a, b, 200);
    ck_assert(w1 > 0 && w1 == data_sliced_w1_fixed(a, b, 200));
    ck_assert(data_sliced_w1_fixed(a, a, 200) == 0.0);
}
END_TEST

Suite *suite_data(void) {
    Suite *s = suite_create("data");
    TCase *tc = tcase_create("mixtures");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_gmm_score_is_grad_logpdf, 0, 2);
    tcase_add_test(tc, test_gmm_sample_moments);
    tcase_add_test(tc, test_gmm_noised_moments);
    tcase_add_test(tc, test_gmm_denoise_equals_tweedie);
    tcase_add_test(tc, test_points_denoise_is_dirac_mixture_mean);
    tcase_add_test(tc, test_toys_in_range);
    tcase_add_test(tc, test_sliced_wasserstein_shift);
    tcase_add_test(tc, test_histogram_is_a_density);
    tcase_add_test(tc, test_stat_mean_sd_se);
    tcase_add_test(tc, test_shared_sample_helpers);
    suite_add_tcase(s, tc);
    return s;
}
