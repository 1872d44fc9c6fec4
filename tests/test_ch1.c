/* Tests of chapters/ch1_vae.c against the closed forms of PDF chapter 1 (TUTORIAL.md, numerical checks 1-4,
 * and issue 5's list: the linear-Gaussian identities, the diagonal-Gaussian KL, the reparameterised gradient,
 * the importance-weighted bound's monotonicity in K). */
#include <check.h>
#include <math.h>
#include "base.h"
#include "ch1_vae.h"
#include "tensor.h"

/* A random linear-Gaussian model z ~ N(0, I_k), x | z ~ N(W z + b, s2 I_d) and an observed x drawn from it. */
static Ch1LinGauss random_model(Rng *r, int k, int d, double *x) {
    Ch1LinGauss g = { .k = k, .d = d, .s2 = 0.2 + rng_uniform(r) };
    for (int a = 0; a < d; a++) {
        g.b[a] = rng_normal(r);
        for (int j = 0; j < k; j++) g.W[a][j] = rng_normal(r);
    }
    double z[CH1_LG_MAX];
    for (int j = 0; j < k; j++) z[j] = rng_normal(r);
    for (int a = 0; a < d; a++) {
        x[a] = g.b[a] + sqrt(g.s2) * rng_normal(r);
        for (int j = 0; j < k; j++) x[a] += g.W[a][j] * z[j];
    }
    return g;
}

/* A random q = N(m, A A^T + 0.05 I). */
static Ch1Gauss random_q(Rng *r, int k) {
    Ch1Gauss q = { .k = k };
    double A[CH1_LG_MAX][CH1_LG_MAX];
    for (int i = 0; i < k; i++) {
        q.m[i] = 1.5 * rng_normal(r);
        for (int j = 0; j < k; j++) A[i][j] = 0.7 * rng_normal(r);
    }
    for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++) {
            q.S[i][j] = i == j ? 0.05 : 0.0;
            for (int a = 0; a < k; a++) q.S[i][j] += A[i][a] * A[j][a];
        }
    return q;
}

/* §1.2 Theorem 1.1: log p(x) = ELBO(q) + KL(q || p(z|x)) for any Gaussian q, all closed form; ELBO <= log p(x) with
 * equality at the posterior; and the second form E_q log p(x|z) - KL(q || p(z)) equals the first. Every term is
 * O(10-100) and goes through ~100 roundings: 1e-10 is ~1e4 ulps of margin, far below any wrong term. Loop: 4 shapes. */
START_TEST(test_theorem_1_1_closed_form) {
    static const int shape[4][2] = { { 1, 1 }, { 2, 3 }, { 3, 5 }, { 4, 8 } };
    Rng r = rng_seed(11 + _i);
    int k = shape[_i][0], d = shape[_i][1];
    for (int trial = 0; trial < 50; trial++) {
        double x[CH1_LG_MAX];
        Ch1LinGauss g = random_model(&r, k, d, x);
        Ch1Gauss q = random_q(&r, k), post = ch1_lg_posterior(&g, x), prior = { .k = k };
        for (int j = 0; j < k; j++) prior.S[j][j] = 1;
        double lp = ch1_lg_log_evidence(&g, x), elbo = ch1_lg_elbo(&g, x, &q);
        ck_assert_double_eq_tol(elbo + ch1_kl_gauss(&q, &post), lp, 1e-10 * fmax(1, fabs(elbo)));
        ck_assert_double_le(elbo, lp);
        ck_assert_double_eq_tol(ch1_lg_elbo(&g, x, &post), lp, 1e-10 * fmax(1, fabs(lp)));
        ck_assert_double_eq_tol(ch1_kl_gauss(&post, &post), 0, 1e-12);
        ck_assert_double_eq_tol(ch1_lg_recon(&g, x, &q) - ch1_kl_gauss(&q, &prior), elbo, 1e-10 * fmax(1, fabs(elbo)));
    }
}
END_TEST

/* §1.2 by Monte Carlo: with z ~ q (1e6 draws), the means of log p(x,z) - log q(z) (first form) and of
 * log p(x|z) minus the closed-form KL(q || p(z)) (second form) match the closed-form ELBO within 4 s.e. */
START_TEST(test_elbo_monte_carlo_both_forms) {
    enum { N = 1000000 };
    Rng r = rng_seed(5);
    double x[CH1_LG_MAX];
    Ch1LinGauss g = random_model(&r, 2, 3, x);
    Ch1Gauss q = random_q(&r, 2), prior = { .k = 2, .S = { { 1, 0 }, { 0, 1 } } };
    double kl_prior = ch1_kl_gauss(&q, &prior), s1 = 0, ss1 = 0, s2 = 0, ss2 = 0;
    for (int i = 0; i < N; i++) {
        double z[2];
        ch1_gauss_sample(&q, &r, z);
        double lpz = -0.5 * (z[0] * z[0] + z[1] * z[1]) - log(2 * PI);
        double w1 = ch1_lg_log_joint(&g, x, z) - ch1_gauss_logpdf(&q, z);
        double w2 = ch1_lg_log_joint(&g, x, z) - lpz - kl_prior;   /* log p(x|z) - KL(q || p(z)) */
        s1 += w1; ss1 += w1 * w1; s2 += w2; ss2 += w2 * w2;
    }
    double m1 = s1 / N, m2 = s2 / N, se1 = sqrt((ss1 / N - m1 * m1) / N), se2 = sqrt((ss2 / N - m2 * m2) / N);
    double elbo = ch1_lg_elbo(&g, x, &q);
    ck_assert_double_eq_tol(m1, elbo, 4 * se1);
    ck_assert_double_eq_tol(m2, elbo, 4 * se2);
}
END_TEST

/* §1.4 KL(N(mu, diag s2) || N(0, I)) = 1/2 sum (s2 + mu^2 - 1 - log s2): against 1e6 draws of log q - log p
 * (5 s.e.), against the full-covariance formula (1e-12), and in 1D against a Riemann sum of q log(q/p) on
 * [mu - 12 s, mu + 12 s] with 20001 points (the integrand is smooth and Gaussian-tailed: error << 1e-9). */
START_TEST(test_kl_diag_gauss_formula) {
    enum { N = 1000000 };
    double mu[3] = { 0.3, -1.2, 2.0 }, s2[3] = { 0.5, 2.0, 0.1 };
    double kl = ch1_kl_diag_std(mu, s2, 3);
    Rng r = rng_seed(6);
    double s = 0, ss = 0;
    for (int i = 0; i < N; i++) {
        double lr = 0;
        for (int j = 0; j < 3; j++) {
            double eps = rng_normal(&r), z = mu[j] + sqrt(s2[j]) * eps;
            lr += -0.5 * (eps * eps + log(s2[j])) + 0.5 * z * z;
        }
        s += lr; ss += lr * lr;
    }
    double m = s / N, se = sqrt((ss / N - m * m) / N);
    ck_assert_double_eq_tol(m, kl, 5 * se);
    Ch1Gauss q = { .k = 3 }, p = { .k = 3 };
    for (int j = 0; j < 3; j++) { q.m[j] = mu[j]; q.S[j][j] = s2[j]; p.S[j][j] = 1; }
    ck_assert_double_eq_tol(ch1_kl_gauss(&q, &p), kl, 1e-12);
    double sd = sqrt(s2[0]), lo = mu[0] - 12 * sd, h = 24 * sd / 20000, quad = 0;
    for (int i = 0; i <= 20000; i++) {
        double z = lo + i * h, lq = -0.5 * ((z - mu[0]) * (z - mu[0]) / s2[0] + log(2 * PI * s2[0]));
        quad += exp(lq) * (lq + 0.5 * (z * z + log(2 * PI))) * h;
    }
    ck_assert_double_eq_tol(quad, ch1_kl_diag_std(mu, s2, 1), 1e-9);
}
END_TEST

/* §1.4 log N(x; xhat, s2 I) = -|x - xhat|^2/(2 s2) - d/2 log(2 pi s2), against the general Gaussian log density. */
START_TEST(test_gauss_decoder_is_scaled_squared_error) {
    Rng r = rng_seed(7);
    for (int trial = 0; trial < 100; trial++) {
        int d = 1 + rng_int(&r, CH1_LG_MAX);
        double x[CH1_LG_MAX], xhat[CH1_LG_MAX], s2 = 0.01 + rng_uniform(&r);
        Ch1Gauss g = { .k = d };
        for (int j = 0; j < d; j++) { x[j] = rng_normal(&r); xhat[j] = g.m[j] = rng_normal(&r); g.S[j][j] = s2; }
        double want = ch1_gauss_logpdf(&g, x);
        ck_assert_double_eq_tol(ch1_gauss_decoder_loglik(x, xhat, d, s2), want, 1e-12 * fmax(1, fabs(want)));
    }
}
END_TEST

/* §1.3 the reparameterised gradient of E_{N(mu, sigma^2)} f, f = sin z + z^2/2, is unbiased: the mean of 2e5
 * samples of f'(mu + sigma eps) (and of f'(z) eps for d/dsigma) is within 5 s.e. of the closed form; the
 * score-function estimator likewise. Loop: three (mu, sigma). */
START_TEST(test_reparam_gradient_matches_exact) {
    enum { N = 200000 };
    static const double ms[3][2] = { { 0.5, 1.0 }, { -1.0, 0.3 }, { 2.0, 2.0 } };
    double mu = ms[_i][0], sigma = ms[_i][1], g_mu, g_sigma;
    ch1_grad_exact(mu, sigma, &g_mu, &g_sigma);
    Rng r = rng_seed(8 + _i);
    double s[4] = { 0 }, ss[4] = { 0 };
    for (int i = 0; i < N; i++) {
        double eps = rng_normal(&r), v[4];
        ch1_grad_reparam(mu, sigma, eps, &v[0], &v[1]);
        ch1_grad_score(mu, sigma, eps, &v[2], &v[3]);
        for (int j = 0; j < 4; j++) { s[j] += v[j]; ss[j] += v[j] * v[j]; }
    }
    double want[4] = { g_mu, g_sigma, g_mu, g_sigma };
    for (int j = 0; j < 4; j++) {
        double m = s[j] / N, se = sqrt((ss[j] / N - m * m) / N);
        ck_assert_double_eq_tol(m, want[j], 5 * se);
    }
}
END_TEST

/* §1.5 the importance-weighted bound IWAE_K = E log (1/K) sum_k w_k increases with K towards log p(x) (Burda et
 * al. 2016). Exact log-weights on a linear-Gaussian model with a deliberately poor q (the prior): R = 4000
 * repeats of each K in 1, 4, 16, 64 from fresh draws. Claims, each with 5 s.e. of the compared means:
 * IWAE_1 = the closed-form ELBO; each step up in K gains (differences > -5 s.e., and K = 1 -> 4 gains > 5 s.e.);
 * IWAE_64 <= log p(x). */
START_TEST(test_iwae_monotone_in_k) {
    enum { R = 4000, NK = 4 };
    static const int Ks[NK] = { 1, 4, 16, 64 };
    Rng r = rng_seed(9);
    double x[CH1_LG_MAX];
    Ch1LinGauss g = random_model(&r, 2, 3, x);
    Ch1Gauss q = { .k = 2, .S = { { 1, 0 }, { 0, 1 } } };
    double lp = ch1_lg_log_evidence(&g, x), mean[NK], se[NK], log_w[64];
    for (int e = 0; e < NK; e++) {
        double s = 0, ss = 0;
        for (int rep = 0; rep < R; rep++) {
            for (int k = 0; k < Ks[e]; k++) {
                double z[2];
                ch1_gauss_sample(&q, &r, z);
                log_w[k] = ch1_lg_log_joint(&g, x, z) - ch1_gauss_logpdf(&q, z);
            }
            double v = ch1_iwae(log_w, Ks[e]);
            s += v; ss += v * v;
        }
        mean[e] = s / R;
        se[e] = sqrt((ss / R - mean[e] * mean[e]) / R);
    }
    ck_assert_double_eq_tol(mean[0], ch1_lg_elbo(&g, x, &q), 5 * se[0]);
    ck_assert_double_gt(mean[1] - mean[0], 5 * hypot(se[0], se[1]));
    for (int e = 1; e < NK; e++) ck_assert_double_gt(mean[e] - mean[e - 1], -5 * hypot(se[e], se[e - 1]));
    ck_assert_double_le(mean[NK - 1], lp + 5 * se[NK - 1]);
}
END_TEST

/* ch1_iwae is log-mean-exp: equal weights give that weight exactly, and it is stable at |log w| ~ 1e3. */
START_TEST(test_iwae_log_mean_exp) {
    double lw[3] = { -1000.0, -1000.0, -1000.0 };
    ck_assert_double_eq_tol(ch1_iwae(lw, 3), -1000.0, 1e-12);
    double lw2[2] = { 800.0, 800.0 + log(3.0) };   /* mean of e^800 and 3 e^800 = 2 e^800 */
    ck_assert_double_eq_tol(ch1_iwae(lw2, 2), 800.0 + log(2.0), 1e-10);
}
END_TEST

/* §1.4 the whole VAE loss through the reparameterisation z = mu + e^{logvar/2} eps: tape gradient against central
 * differences (h = 1e-2), for the 2D-data VAE (per-coordinate decoder variance) and the image VAE (sigmoid mean,
 * one learned variance). Bound on err = |g_ad - g_fd| / max(1, |g_fd|): truncation h^2/6 |L'''| <= 1e-4/6 * 30 = 5e-4,
 * float rounding of the loss 6e-8 * (sum of |terms| ~ 20) / h = 1.2e-4; tol 2e-3 keeps a factor ~3. */
START_TEST(test_vae_loss_gradient_check) {
    Arena a;
    arena_init(&a, 16 << 20);
    Rng r = rng_seed(10);
    for (int image = 0; image <= 1; image++) {
        Ch1Vae v;
        int D = image ? 6 : 3;
        ch1_vae_init(&v, D, 2, 1, (int[]){ 8 }, NN_SILU, image, &r);
        float x[4 * 6], eps[4 * 2];
        for (int i = 0; i < 4 * D; i++) x[i] = image ? (float)rng_uniform(&r) : (float)rng_normal(&r);
        rng_normal_fill(&r, eps, 8);
        double err = ch1_vae_grad_check(&v, x, eps, 4, 60, 1e-2f, &a);
        ck_assert_double_lt(err, 2e-3);
        ch1_vae_free(&v);
    }
    arena_free(&a);
}
END_TEST

/* §1.2 Example 1.1, a Gaussian mixture with the component as the latent: for any categorical q, Theorem 1.1
 * log p(x) = ELBO(q) + KL(q || p(z|x)) with the exact posterior p(z = k|x) = w_k N_k(x) / p(x); ELBO(q) <= log p(x),
 * with equality at q = posterior; the two ELBO forms agree. Random mixtures (K = 1..6, D = 1, 2, full 2x2
 * covariances), random x and q (with some q_k = 0 exactly). Every quantity is a finite sum of K <= 6 terms whose
 * size is at most |log p(x)| + a few: ~50 roundings, so 1e-13 (1 + |log p(x)|) is tight yet ~100x above rounding. */
START_TEST(test_theorem_1_1_gmm_example_1_1) {
    Rng r = rng_seed(11 + (uint64_t)_i);
    int skipped = 0;
    for (int rep = 0; rep < 200; rep++) {
        Gmm g = { .K = 1 + rng_int(&r, 6), .D = 1 + _i % 2 };
        double sw = 0;
        for (int k = 0; k < g.K; k++) {
            g.w[k] = 0.1 + rng_uniform(&r);
            sw += g.w[k];
            double a = 0.3 + rng_uniform(&r), b = 0.3 + rng_uniform(&r), c = 0.5 * rng_normal(&r);
            for (int d = 0; d < g.D; d++) g.mu[k][d] = 2 * rng_normal(&r);
            g.cov[k][0][0] = a * a;   /* (a 0; c b) (a 0; c b)^T: positive definite */
            g.cov[k][0][1] = g.cov[k][1][0] = a * c;
            g.cov[k][1][1] = c * c + b * b;
        }
        for (int k = 0; k < g.K; k++) g.w[k] /= sw;
        double x[2] = { 3 * rng_normal(&r), 3 * rng_normal(&r) }, q[GMM_MAX], post[GMM_MAX], s = 0;
        data_gmm_resp(&g, x, post);
        int underflow = 0;   /* p(z = k | x) below 1e-300 is 0 in double and KL(q || p(z|x)) = inf: draw x again */
        for (int k = 0; k < g.K; k++) underflow |= post[k] < 1e-300;
        if (underflow) { skipped++; continue; }
        for (int k = 0; k < g.K; k++) { q[k] = rng_uniform(&r) < 0.2 ? 0.0 : exp(2 * rng_normal(&r)); s += q[k]; }
        if (s == 0) { q[0] = 1; s = 1; }
        for (int k = 0; k < g.K; k++) q[k] /= s;
        double lp = data_gmm_logpdf(&g, x), tol = 1e-13 * (1 + fabs(lp)), elbo = ch1_gmm_elbo(&g, x, q);
        ck_assert_double_eq_tol(elbo + ch1_kl_categorical(q, post, g.K), lp, tol);
        ck_assert_double_eq_tol(ch1_gmm_elbo_recon_prior(&g, x, q), elbo, tol);
        ck_assert_double_eq_tol(ch1_gmm_elbo(&g, x, post), lp, tol);
        ck_assert_double_le(elbo, lp + tol);
    }
    ck_assert_int_lt(skipped, 100);   /* most x are tested */
}
END_TEST

Suite *suite_ch1(void) {
    Suite *s = suite_create("ch1");
    TCase *tc = tcase_create("closed_forms");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_theorem_1_1_closed_form, 0, 4);
    tcase_add_loop_test(tc, test_theorem_1_1_gmm_example_1_1, 0, 2);
    tcase_add_test(tc, test_elbo_monte_carlo_both_forms);
    tcase_add_test(tc, test_kl_diag_gauss_formula);
    tcase_add_test(tc, test_gauss_decoder_is_scaled_squared_error);
    tcase_add_loop_test(tc, test_reparam_gradient_matches_exact, 0, 3);
    tcase_add_test(tc, test_iwae_monotone_in_k);
    tcase_add_test(tc, test_iwae_log_mean_exp);
    tcase_add_test(tc, test_vae_loss_gradient_check);
    suite_add_tcase(s, tc);
    return s;
}
