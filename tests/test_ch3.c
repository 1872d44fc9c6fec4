/* Tests of chapters/ch3_smld.c against the closed forms of PDF chapter 3 (TUTORIAL.md checks 12-17). */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include "base.h"
#include "ch3_smld.h"
#include "heavy.h"

static Gmm test_gmm(void) {
    static const double w[3] = { 0.5, 0.3, 0.2 }, mu[6] = { -1.0, -0.6, 1.0, -0.6, 0.0, 1.0 }, sd[3] = { 0.45, 0.45, 0.45 };
    return data_gmm_2d(3, w, mu, sd);
}

/* §3.2 the score of N(mu, s2 I) against central differences of log N. Tol: h^2 |f'''| / 6 + rounding ~ 1e-9. */
START_TEST(test_gauss_score_3_2) {
    Rng rng = rng_seed(1);
    const double mu[2] = { 0.3, -1.2 }, s2 = 0.7;
    for (int k = 0; k < 100; k++) {
        double x[2] = { 2 * rng_normal(&rng), 2 * rng_normal(&rng) }, s[2], h = 1e-5;
        ch3_gauss_score(2, x, mu, s2, s);
        for (int d = 0; d < 2; d++) {
            double xp = x[d] + h, xm = x[d] - h;
            double fd = (-(xp - mu[d]) * (xp - mu[d]) + (xm - mu[d]) * (xm - mu[d])) / (2 * s2) / (2 * h);
            ck_assert_double_eq_tol(s[d], fd, 1e-6);
        }
    }
}
END_TEST

/* §3.1 Langevin on p = N(mu, s2): the discrete chain is AR(1) with stationary mean mu and variance
 * s2 / (1 - tau / (2 s2)). From the exact stationary start the chain stays there; after 200 steps the
 * N = 200000 particles' moments agree within 5 standard errors (sqrt(v/N) and v sqrt(2/N)). */
START_TEST(test_langevin_stationary_gaussian_3_1) {
    enum { N = 200000, STEPS = HEAVY(200) };   /* fewer steps under sanitizers: the start is already stationary */
    static const double w = 1.0, mu = 0.7, sd = 1.3;
    const double taus[2] = { 0.05, 0.4 };
    Gmm g = data_gmm_1d(1, &w, &mu, &sd);
    Rng rng = rng_seed(2);
    double tau = taus[_i], v = ch3_langevin_stationary_var(sd * sd, tau);
    Denoiser den = den_gmm(&g);
    Arena arena;
    arena_init(&arena, 8 << 20);
    float *x = malloc(sizeof(float) * N);
    for (int i = 0; i < N; i++) x[i] = (float)(mu + sqrt(v) * rng_normal(&rng));
    for (int k = 0; k < STEPS; k++) ch3_langevin_step(&den, den_level_ve(0.0), x, N, tau, 1, &rng, &arena);
    double m = 0, m2 = 0;
    for (int i = 0; i < N; i++) { m += x[i]; m2 += (double)x[i] * x[i]; }
    m /= N;
    double var = m2 / N - m * m;
    ck_assert_double_eq_tol(m, mu, 5 * sqrt(v / N));
    ck_assert_double_eq_tol(var, v, 5 * v * sqrt(2.0 / N));
    /* and the bias is real: at tau = 0.4 the variance is 7% above s2, far outside the tolerance */
    if (tau > 0.2) ck_assert(fabs(var - sd * sd) > 10 * v * sqrt(2.0 / N));
    free(x);
    arena_free(&arena);
}
END_TEST

/* §3.1 noise = 0 is gradient ascent: from anywhere it converges to the mode of a Gaussian. */
START_TEST(test_gradient_ascent_converges_to_mode_3_1) {
    static const double w = 1.0, mu = -0.4, sd = 0.5;
    Gmm g = data_gmm_1d(1, &w, &mu, &sd);
    Rng rng = rng_seed(3);
    Denoiser den = den_gmm(&g);
    Arena arena;
    arena_init(&arena, 1 << 16);
    float x[4] = { -3, 0, 2, 5 };
    for (int k = 0; k < 400; k++) ch3_langevin_step(&den, den_level_ve(0.0), x, 4, 0.05, 0, &rng, &arena);
    arena_free(&arena);
    for (int i = 0; i < 4; i++) ck_assert_double_eq_tol(x[i], mu, 1e-5);   /* contraction (1 - 0.2)^400 */
}
END_TEST

/* §3.3 the theorem: J_DSM(theta) - J_ESM(theta) is one constant C, for very different models. Per-point
 * differences on the same pairs; tol 5 standard errors of their mean plus C's own Monte Carlo error. */
START_TEST(test_dsm_minus_esm_constant_3_3) {
    enum { N = 100000 };
    const double sigma = 0.5;
    Gmm g = test_gmm(), gs = data_gmm_noised(&g, 1.0, sigma * sigma);
    Rng rng = rng_seed(4);
    double C = ch3_dsm_esm_constant(&g, sigma, 400000, &rng);
    Ch3Affine models[3] = { { { { 0, 0 }, { 0, 0 } }, { 0, 0 } },
                            { { { -1, 0 }, { 0, -1 } }, { 0.5, 0 } },
                            { { { -4, 2 }, { 1, -0.3 } }, { 1, -2 } } };
    for (int m = 0; m < 3; m++) {
        Rng r = rng_seed(5);
        double sum = 0, sum2 = 0;
        for (int i = 0; i < N; i++) {
            float xf[2];
            data_gmm_sample(&g, &r, xf, 1);
            double x0[2] = { xf[0], xf[1] }, z[2] = { rng_normal(&r), rng_normal(&r) };
            double x[2] = { x0[0] + sigma * z[0], x0[1] + sigma * z[1] };
            double d = ch3_dsm_term(ch3_affine_score, &models[m], 2, x0, z, sigma) - ch3_esm_term(ch3_affine_score, &models[m], &gs, x);
            sum += d;
            sum2 += d * d;
        }
        double mean = sum / N, se = sqrt((sum2 / N - mean * mean) / N);
        ck_assert_double_eq_tol(mean, C, 5 * se + 0.01);
    }
}
END_TEST

/* §3.3 implicit score matching: J_ISM - J_ESM = -E 1/2 |grad log p|^2 for every model, and the ISM
 * divergence term of the RBF model agrees with finite differences of its field. */
START_TEST(test_ism_minus_esm_constant_3_3) {
    enum { N = 100000 };
    Gmm g = test_gmm();
    Rng rng = rng_seed(6);
    Ch3Rbf rbf;
    ch3_rbf_init(&rbf, 6, 2.0);
    for (int j = 0; j < rbf.J; j++) { rbf.W[0][j] = rng_normal(&rng); rbf.W[1][j] = rng_normal(&rng); }
    double x[2] = { 0.3, -0.2 }, s[2], div, h = 1e-5, fd = 0;
    ch3_rbf_score(&rbf, x, s, &div);
    for (int d = 0; d < 2; d++) {
        double xp[2] = { x[0], x[1] }, xm[2] = { x[0], x[1] }, sp[2], sm[2];
        xp[d] += h;
        xm[d] -= h;
        ch3_rbf_score(&rbf, xp, sp, NULL);
        ch3_rbf_score(&rbf, xm, sm, NULL);
        fd += (sp[d] - sm[d]) / (2 * h);
    }
    ck_assert_double_eq_tol(div, fd, 1e-6 * (1 + fabs(div)));

    Ch3Affine aff = { { { -2, 1 }, { 0.5, -1 } }, { 0.3, 0.1 } };
    double diff[2];
    for (int m = 0; m < 2; m++) {
        Rng r = rng_seed(7);
        double sum = 0;
        for (int i = 0; i < N; i++) {
            float xf[2];
            data_gmm_sample(&g, &r, xf, 1);
            double xi[2] = { xf[0], xf[1] }, st[2];
            Ch3Model *f = m == 0 ? ch3_rbf_score : ch3_affine_score;
            const void *mdl = m == 0 ? (const void *)&rbf : (const void *)&aff;
            data_gmm_score(&g, xi, st);
            /* ISM - ESM + 1/2 |s|^2 is zero in expectation: its per-point value has mean 0 */
            sum += ch3_ism_term(f, mdl, 2, xi) - ch3_esm_term(f, mdl, &g, xi) + 0.5 * (st[0] * st[0] + st[1] * st[1]);
        }
        diff[m] = sum / N;
    }
    /* Tol: the per-point values are O(10) with heavy tails from the RBF weights; 0.15 is ~5 s.e. at N = 1e5. */
    ck_assert_double_eq_tol(diff[0], 0.0, 0.15);
    ck_assert_double_eq_tol(diff[1], 0.0, 0.05);
}
END_TEST

/* §3.3 the three fits reach the same field: each one's error to the true score of p_sigma is small. */
START_TEST(test_rbf_fits_agree_3_3) {
    enum { N = 20000 };
    const double sigma = 0.3;
    Gmm g = test_gmm(), gs = data_gmm_noised(&g, 1.0, sigma * sigma);
    Rng rng = rng_seed(8);
    float *clean = malloc(sizeof(float) * 2 * N), *noisy = malloc(sizeof(float) * 2 * N);
    data_gmm_sample(&g, &rng, clean, N);
    for (int i = 0; i < 2 * N; i++) noisy[i] = (float)(clean[i] + sigma * rng_normal(&rng));
    static Ch3Rbf fit[3];
    for (int k = 0; k < 3; k++) {
        ch3_rbf_init(&fit[k], 10, 2.5);
        ck_assert_int_eq(ch3_rbf_fit(&fit[k], k, &gs, k == CH3_DSM ? clean : noisy, N, sigma, 1e-6, &rng), 0);
    }
    double err[3] = { 0 }, norm = 0;
    for (int i = 0; i < 2000; i++) {
        float xf[2];
        data_gmm_sample(&gs, &rng, xf, 1);
        double x[2] = { xf[0], xf[1] }, st[2];
        data_gmm_score(&gs, x, st);
        norm += st[0] * st[0] + st[1] * st[1];
        for (int k = 0; k < 3; k++) err[k] += 2 * ch3_esm_term(ch3_rbf_score, &fit[k], &gs, x);
    }
    /* Tol: 100 bumps represent the field to < 1% (ESM); ISM and DSM add sampling noise of a few percent. */
    ck_assert_double_le(err[CH3_ESM] / norm, 0.02);
    ck_assert_double_le(err[CH3_ISM] / norm, 0.05);
    ck_assert_double_le(err[CH3_DSM] / norm, 0.05);
    free(clean);
    free(noisy);
}
END_TEST

/* §3.3 Tweedie: x + sigma^2 grad log p_sigma(x) = E[x0 | x], the closed-form posterior mean of the mixture
 * (responsibility-weighted Wiener filters, an independent formula); and against a Monte Carlo posterior mean. */
START_TEST(test_tweedie_3_3) {
    Gmm g = test_gmm();
    Rng rng = rng_seed(9);
    const double sigma = 0.6;
    for (int k = 0; k < 200; k++) {
        double x[2] = { 1.5 * rng_normal(&rng), 1.5 * rng_normal(&rng) }, tw[2], pm[2];
        ch3_tweedie(&g, sigma, x, tw);
        data_gmm_denoise(&g, 1.0, sigma * sigma, x, pm);
        ck_assert_double_eq_tol(tw[0], pm[0], 1e-12);
        ck_assert_double_eq_tol(tw[1], pm[1], 1e-12);
    }
    /* Monte Carlo: E[x0 | x] as the likelihood-weighted mean of prior draws (self-normalised importance sampling). */
    enum { M = 400000 };
    double x[2] = { 0.4, -0.1 }, tw[2], num[2] = { 0, 0 }, den = 0, den2 = 0;
    ch3_tweedie(&g, sigma, x, tw);
    for (int i = 0; i < M; i++) {
        float xf[2];
        data_gmm_sample(&g, &rng, xf, 1);
        double w = exp(-((x[0] - xf[0]) * (x[0] - xf[0]) + (x[1] - xf[1]) * (x[1] - xf[1])) / (2 * sigma * sigma));
        num[0] += w * xf[0];
        num[1] += w * xf[1];
        den += w;
        den2 += w * w;
    }
    /* Tol: effective sample size den^2 / den2, posterior sd < 0.6: 5 sd / sqrt(ESS) */
    double tol = 5 * 0.6 / sqrt(den * den / den2);
    ck_assert_double_eq_tol(num[0] / den, tw[0], tol);
    ck_assert_double_eq_tol(num[1] / den, tw[1], tol);
}
END_TEST

/* §3.4 with the exact score the per-level NCSN loss E 1/2 |sigma s(x, sigma) + z|^2 equals sigma^2 C(sigma),
 * C the DSM-ESM constant (item 17): J_ESM = 0 for the exact score. */
START_TEST(test_ncsn_loss_at_exact_score_3_4) {
    enum { N = 200000 };
    Gmm g = test_gmm();
    Rng rng = rng_seed(10);
    const double sigma = 0.8;
    Gmm gs = data_gmm_noised(&g, 1.0, sigma * sigma);
    double sum = 0, sum2 = 0;
    for (int i = 0; i < N; i++) {
        float xf[2];
        data_gmm_sample(&g, &rng, xf, 1);
        double x0[2] = { xf[0], xf[1] }, z[2] = { rng_normal(&rng), rng_normal(&rng) }, x[2], s[2];
        for (int d = 0; d < 2; d++) x[d] = x0[d] + sigma * z[d];
        data_gmm_score(&gs, x, s);
        double l = 0.5 * ((sigma * s[0] + z[0]) * (sigma * s[0] + z[0]) + (sigma * s[1] + z[1]) * (sigma * s[1] + z[1]));
        sum += l;
        sum2 += l * l;
    }
    double mean = sum / N, se = sqrt((sum2 / N - mean * mean) / N);
    double C = ch3_dsm_esm_constant(&g, sigma, N, &rng);
    ck_assert_double_eq_tol(mean, sigma * sigma * C, 5 * se + 5 * sigma * sigma * 0.01);
}
END_TEST

/* §3.4 annealed Langevin with the exact noised scores recovers the mode weights of two far-apart modes, which
 * plain Langevin from the same start does not. Tol: 5 binomial s.e. of a fraction at N = 2000 is 0.05. */
START_TEST(test_annealed_recovers_weights_3_4) {
    enum { N = 2000, L = 10 };
    static const double w[2] = { 0.2, 0.8 }, mu[4] = { -2, -2, 2, 2 }, sd[2] = { 0.4, 0.4 };
    Gmm g = data_gmm_2d(2, w, mu, sd);
    Rng rng = rng_seed(11);
    double sigma[L];
    ch3_sigmas(6.0, 0.05, L, sigma);
    ck_assert_double_eq_tol(sigma[0], 6.0, 1e-12);
    ck_assert_double_eq_tol(sigma[L - 1], 0.05, 1e-12);
    Denoiser den = den_gmm(&g);
    Arena arena;
    arena_init(&arena, 1 << 20);
    float *x = malloc(sizeof(float) * 2 * N);
    for (int i = 0; i < 2 * N; i++) x[i] = (float)(-4 + 8 * rng_uniform(&rng));
    ch3_annealed_langevin(&den, NULL, sigma, L, 100, 0.1, x, N, &rng, &arena);
    double lower = 0;
    for (int i = 0; i < N; i++) lower += (x[2 * i] + x[2 * i + 1] < 0) / (double)N;
    ck_assert_double_eq_tol(lower, 0.2, 5 * sqrt(0.2 * 0.8 / N));
    free(x);
    arena_free(&arena);
}
END_TEST

/* KS distance: exact draws of the mixture are at ~1/sqrt(n), a shifted sample is far. */
START_TEST(test_ks_1d) {
    static const double w[2] = { 0.3, 0.7 }, mu[2] = { -1.5, 1.5 }, sd[2] = { 0.6, 0.6 };
    Gmm g = data_gmm_1d(2, w, mu, sd);
    Rng rng = rng_seed(12);
    enum { N = 10000 };
    float *x = malloc(sizeof(float) * N);
    data_gmm_sample(&g, &rng, x, N);
    ck_assert_double_le(ch3_ks_1d(&g, x, N), 1.95 / sqrt(N));   /* the 0.1% point of Kolmogorov's law */
    for (int i = 0; i < N; i++) x[i] += 0.5f;
    ck_assert_double_ge(ch3_ks_1d(&g, x, N), 0.1);
    free(x);
}
END_TEST

Suite *suite_ch3(void) {
    Suite *s = suite_create("ch3");
    TCase *tc = tcase_create("score_matching_langevin");
    tcase_add_test(tc, test_gauss_score_3_2);
    tcase_add_loop_test(tc, test_langevin_stationary_gaussian_3_1, 0, 2);
    tcase_add_test(tc, test_gradient_ascent_converges_to_mode_3_1);
    tcase_add_test(tc, test_dsm_minus_esm_constant_3_3);
    tcase_add_test(tc, test_ism_minus_esm_constant_3_3);
    tcase_add_test(tc, test_rbf_fits_agree_3_3);
    tcase_add_test(tc, test_tweedie_3_3);
    tcase_add_test(tc, test_ncsn_loss_at_exact_score_3_4);
    tcase_add_test(tc, test_annealed_recovers_weights_3_4);
    tcase_add_test(tc, test_ks_1d);
    suite_add_tcase(s, tc);
    return s;
}
