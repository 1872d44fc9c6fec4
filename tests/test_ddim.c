/* Tests of chapters/ddim.c: the exact denoisers against Monte Carlo, the sampler family against the dedicated
 * DDIM / DDPM updates (step by step, from the same noise), eta = 1 against chapter 2's ancestral sampler, DDIM
 * with the exact denoiser recovering the data law, and the inversion round trip improving with steps. */
#include <check.h>
#include <math.h>
#include <string.h>
#include "base.h"
#include "ch2_ddpm.h"
#include "ddim.h"
#include "tensor.h"
#include "heavy.h"

/* §2.7 the ideal denoiser is E[x0 | x_t]: its residual x0 - D(x_t) is orthogonal to every function of x_t.
 * Checked for g(x_t) = 1, x_t,1, x_t,2, tanh(3 x_t,1) over N pairs (x0, x_t), for the mixture and for a finite
 * point set (x0 uniform on it). Tol: 5 standard errors of each sample mean (the std is estimated from the sample). */
static void check_orthogonal(const Denoiser *den, const Gmm *g, const float *pts, int n_pts, double ab) {
    enum { N = HEAVY(100000), NG = 4 };
    Rng rng = rng_seed(11);
    Schedule s;
    sched_init(&s, SCHED_LINEAR, 1000);
    int t = 1;
    while (s.alpha_bar[t] > ab) t++;    /* the step whose alpha_bar is nearest below ab */
    double a = sqrt(s.alpha_bar[t]), b = sqrt(1 - s.alpha_bar[t]);
    double sum[2][NG] = {{0}}, sum2[2][NG] = {{0}};
    Arena arena;
    arena_init(&arena, 1 << 20);
    for (int i = 0; i < N; i++) {
        float x0[2], xt[2];
        if (g) data_gmm_sample(g, &rng, x0, 1);
        else { int k = rng_int(&rng, n_pts); x0[0] = pts[2 * k]; x0[1] = pts[2 * k + 1]; }
        for (int d = 0; d < 2; d++) xt[d] = (float)(a * x0[d] + b * rng_normal(&rng));
        double x0_hat[2];
        den_predict_f(den, den_level_vp(&s, t), xt, 1, x0_hat, NULL, &arena);
        double gv[NG] = { 1.0, xt[0], xt[1], tanh(3.0 * xt[0]) };
        for (int d = 0; d < 2; d++) {
            double r = x0[d] - x0_hat[d];
            for (int k = 0; k < NG; k++) { sum[d][k] += r * gv[k]; sum2[d][k] += r * gv[k] * r * gv[k]; }
        }
    }
    for (int d = 0; d < 2; d++)
        for (int k = 0; k < NG; k++) {
            double m = sum[d][k] / N, sd = sqrt(sum2[d][k] / N - m * m);
            ck_assert_double_eq_tol(m, 0.0, 5 * sd / sqrt(N));
        }
    arena_free(&arena);
    sched_free(&s);
}

START_TEST(test_exact_denoisers_are_conditional_means_2_7) {
    Gmm g = data_gmm_named("gmm");
    Denoiser den = den_gmm(&g);
    check_orthogonal(&den, &g, NULL, 0, 0.3);
    enum { P = 16 };
    float pts[2 * P];
    Rng rng = rng_seed(5);
    data_gmm_sample(&g, &rng, pts, P);
    Denoiser dp = den_points(pts, P, 2);
    check_orthogonal(&dp, NULL, pts, P, 0.8);
}
END_TEST

/* §d.2 the noise-level family step equals the dedicated updates: mu = 0 is DDIM eta = 0, mu = 1/2 is DDIM eta = 1
 * (x_s = sqrt(abar_s) z_s with the same w), and eta = 1 between adjacent steps is chapter 2's ancestral step
 * mu_q + sigma_q w (§2.6). Random (t, s, x_t, eps_hat, w). Tol: 1e-12 relative, a few hundred ulps of values
 * whose sqrt and divisions amplify rounding by at most 1/sqrt(abar_T) ~ 1e2. */
START_TEST(test_family_step_equals_dedicated_steps) {
    Schedule s;
    sched_init(&s, SCHED_LINEAR, 1000);
    Rng rng = rng_seed(3);
    for (int i = 0; i < 2000; i++) {
        int t = 1 + rng_int(&rng, s.T), sp = rng_int(&rng, t);
        double xt = 2 * rng_normal(&rng), e = rng_normal(&rng), w = rng_normal(&rng);
        double sig = sched_sigma(&s, t), sig_s = sched_sigma(&s, sp), z = xt / sqrt(s.alpha_bar[t]);
        double tol = 1e-12 * (1 + fabs(xt) + fabs(e) + fabs(w)) * 100;
        ck_assert_double_eq_tol(sqrt(s.alpha_bar[sp]) * ddim_family_step(sig, sig_s, 0.0, z, e, w), ddim_step(&s, t, sp, 0.0, xt, e, w), tol);
        ck_assert_double_eq_tol(sqrt(s.alpha_bar[sp]) * ddim_family_step(sig, sig_s, 0.5, z, e, w), ddim_step(&s, t, sp, 1.0, xt, e, w), tol);
        if (t >= 2) {
            double x0_hat = (xt - sqrt(1 - s.alpha_bar[t]) * e) / sqrt(s.alpha_bar[t]), mu;
            double var = ch2_posterior(&s, t, xt, x0_hat, &mu);
            ck_assert_double_eq_tol(ddim_step(&s, t, t - 1, 1.0, xt, e, w), mu + sqrt(var) * w, tol);
        }
    }
    sched_free(&s);
}
END_TEST

/* The whole samplers, from the same x_T and the same rng stream: the family (gamma = 1, mu = 0 / 1/2) in the sigma
 * variable against ddim_sample (eta = 0 / 1) in the alpha_bar variable, K = 50 steps, exact mixture denoiser.
 * Tol 1e-4: the two keep their states in double but feed the denoiser float copies of x, which differ by a float
 * rounding (6e-8 relative); the reverse map is a contraction on average, so these do not grow past ~1e-5. */
START_TEST(test_family_sampler_matches_ddim_path) {
    enum { N = 300, K = 50 };
    Gmm g = data_gmm_named("gmm");
    Denoiser den = den_gmm(&g);
    Schedule s;
    sched_init(&s, SCHED_LINEAR, 1000);
    Arena arena;
    arena_init(&arena, 16 << 20);
    int ts[K + 1];
    ddim_timesteps(s.T, K, 0, ts);
    static float xa[2 * N], xb[2 * N];
    for (int m = 0; m < 2; m++) {
        Rng ra = rng_seed(9), rb = rng_seed(9);
        rng_normal_fill(&ra, xa, 2 * N);
        rng_normal_fill(&rb, xb, 2 * N);
        ddim_family_sample(&den, &s, ts, K, 1.0, m == 0 ? 0.0 : 0.5, xa, N, &ra, &arena, NULL);
        ddim_sample(&den, &s, ts, K, m == 0 ? 0.0 : 1.0, xb, N, &rb, &arena, NULL);
        for (int j = 0; j < 2 * N; j++) ck_assert_double_eq_tol(xa[j], xb[j], 1e-4);
    }
    arena_free(&arena);
    sched_free(&s);
}
END_TEST

/* §d.2 eta = 1 on the full sequence is chapter 2's ancestral sampler: ch2_sample and ddim_sample from the same seed
 * give the same paths (tol 1e-4 as above: both round x to float each step, in different expressions), hence the
 * same law. As a distributional check too, the samples' mean matches the mixture's within 5 standard errors. */
START_TEST(test_eta1_full_sequence_is_ch2_ancestral) {
    enum { N = 2000 };
    Gmm g = data_gmm_named("gmm");
    Denoiser den = den_gmm(&g);
    Schedule s;
    sched_init(&s, SCHED_LINEAR, 200);
    Arena arena;
    arena_init(&arena, 16 << 20);
    int ts[201];
    ddim_timesteps(s.T, s.T, 0, ts);
    static float xa[2 * N], xb[2 * N];
    Rng ra = rng_seed(21), rb = rng_seed(21);
    Denoiser oracle = den_gmm(&g);
    ch2_sample(&oracle, &s, xa, N, &ra, &arena, NULL, 0, NULL);
    rng_normal_fill(&rb, xb, 2 * N);
    ddim_sample(&den, &s, ts, s.T, 1.0, xb, N, &rb, &arena, NULL);
    double worst = 0;
    for (int j = 0; j < 2 * N; j++) worst = fmax(worst, fabs(xa[j] - xb[j]));
    ck_assert_double_lt(worst, 1e-4);
    for (int d = 0; d < 2; d++) {
        double m = 0;
        for (int i = 0; i < N; i++) m += xb[2 * i + d];
        ck_assert_double_eq_tol(m / N, data_gmm_mean(&g, d), 5 * sqrt(data_gmm_var(&g, d) / N));
    }
    arena_free(&arena);
    sched_free(&s);
}
END_TEST

/* Sample mean and variance of coordinate d of n points. */
static void moments2(const float *x, int n, int d, double *m, double *v) {
    double s1 = 0, s2 = 0;
    for (int i = 0; i < n; i++) { s1 += x[2 * i + d]; s2 += (double)x[2 * i + d] * x[2 * i + d]; }
    *m = s1 / n;
    *v = s2 / n - *m * *m;
}

/* §d.3 with the exact denoiser, deterministic DDIM transports N(0, I) to the mixture as K grows. Moments at K = 200
 * against the mixture's; tol = 5 standard errors (sqrt(v/N) for the mean, v sqrt(3/N) for a variance of a
 * non-Gaussian law with modest kurtosis) + the discretisation error, first order in 1/K, so estimated as
 * |m(100) - m(200)| and doubled for safety. And a two-step DDIM is far from the law: sliced W1 more than 3 times
 * the 200-step one. */
START_TEST(test_ddim_exact_denoiser_recovers_gmm) {
    enum { N = 5000 };
    Gmm g = data_gmm_named("gmm");
    Denoiser den = den_gmm(&g);
    Schedule s;
    sched_init(&s, SCHED_LINEAR, 1000);
    Arena arena;
    arena_init(&arena, 16 << 20);
    static float x100[2 * N], x200[2 * N], x2[2 * N], truth[2 * N];
    static int ts[201];
    Rng rng = rng_seed(31);
    rng_normal_fill(&rng, x100, 2 * N);
    memcpy(x200, x100, sizeof x100);
    memcpy(x2, x100, sizeof x100);
    ddim_timesteps(s.T, 100, 0, ts);
    ddim_sample(&den, &s, ts, 100, 0.0, x100, N, &rng, &arena, NULL);
    ddim_timesteps(s.T, 200, 0, ts);
    ddim_sample(&den, &s, ts, 200, 0.0, x200, N, &rng, &arena, NULL);
    ddim_timesteps(s.T, 2, 0, ts);
    ddim_sample(&den, &s, ts, 2, 0.0, x2, N, &rng, &arena, NULL);
    for (int d = 0; d < 2; d++) {
        double m1, v1, m2, v2, var = data_gmm_var(&g, d);
        moments2(x100, N, d, &m1, &v1);
        moments2(x200, N, d, &m2, &v2);
        ck_assert_double_eq_tol(m2, data_gmm_mean(&g, d), 5 * sqrt(var / N) + 2 * fabs(m1 - m2));
        ck_assert_double_eq_tol(v2, var, 5 * var * sqrt(3.0 / N) + 2 * fabs(v1 - v2));
    }
    data_gmm_sample(&g, &rng, truth, N);
    double sw200 = data_sliced_w1_fixed(x200, truth, N), sw2 = data_sliced_w1_fixed(x2, truth, N);
    ck_assert_double_gt(sw2, 3 * sw200);
    arena_free(&arena);
    sched_free(&s);
}
END_TEST

/* §d.5 inversion: x0 -> x_T -> x0 with the exact denoiser. The round trip's error comes from evaluating eps_hat at
 * the wrong end of each step, O(step) per step and O(1/K) overall: it must fall with K, by at least a factor 2
 * per factor 4 in K (first order predicts 4; a factor 2 leaves room for the pre-asymptotic range). */
START_TEST(test_inversion_round_trip_improves_with_steps) {
    enum { N = 400 };
    static const int Ks[3] = { 10, 40, 160 };
    Gmm g = data_gmm_named("gmm");
    Denoiser den = den_gmm(&g);
    Schedule s;
    sched_init(&s, SCHED_LINEAR, 1000);
    Arena arena;
    arena_init(&arena, 16 << 20);
    static float x0[2 * N], x[2 * N];
    static int ts[161];
    Rng rng = rng_seed(41);
    data_gmm_sample(&g, &rng, x0, N);
    double err[3];
    for (int k = 0; k < 3; k++) {
        memcpy(x, x0, sizeof x);
        ddim_timesteps(s.T, Ks[k], 0, ts);
        ddim_invert(&den, &s, ts, Ks[k], x, N, &arena);
        ddim_sample(&den, &s, ts, Ks[k], 0.0, x, N, &rng, &arena, NULL);
        err[k] = 0;
        for (int i = 0; i < N; i++) err[k] += hypot(x[2 * i] - x0[2 * i], x[2 * i + 1] - x0[2 * i + 1]) / N;
        printf("ddim inversion round trip, K = %d: mean error %.5f\n", Ks[k], err[k]);
    }
    ck_assert_double_lt(err[1], err[0] / 2);
    ck_assert_double_lt(err[2], err[1] / 2);
    arena_free(&arena);
    sched_free(&s);
}
END_TEST

/* Timesteps: T first, 0 last, strictly decreasing, for both spacings and K from 1 to T. */
START_TEST(test_timesteps_are_decreasing) {
    static int ts[1001];
    for (int q = 0; q < 2; q++)
        for (int K = 1; K <= 1000; K += (K < 20 ? 1 : 37)) {
            ddim_timesteps(1000, K, q, ts);
            ck_assert_int_eq(ts[0], 1000);
            ck_assert_int_eq(ts[K], 0);
            for (int k = 1; k <= K; k++) ck_assert_int_lt(ts[k], ts[k - 1]);
        }
    ddim_timesteps(1000, 1000, 1, ts);
    ck_assert_int_eq(ts[500], 500);   /* K = T: every step, whatever the spacing */
}
END_TEST

/* §d.6 the ideal denoiser of 512 equally spaced points on the unit circle against the closed form of the uniform
 * law on the circle, (z/|z|) I1(a)/I0(a), a = |z|/sigma^2, at sigma from 0.1 (near projection) to 2 (shrink).
 * The finite set's softmax mean is the trapezoid rule of the circle's integral, exact to exp(-(2 pi sigma / h)^2 / 2)
 * for spacing h = 2 pi / 512 (negligible); the points are floats, which moves each softmax exponent by about
 * a * 2^-24 <= 1.5e-5 at sigma = 0.1, so |D| moves by at most that times the weights' spread (~sigma): tol 1e-5. */
START_TEST(test_circle_denoiser_closed_form_d_6) {
    enum { NP = 512, NZ = 200 };
    static const double sigmas[4] = { 0.1, 0.3, 1.0, 2.0 };
    float pts[2 * NP];
    for (int i = 0; i < NP; i++) { pts[2 * i] = (float)cos(2 * PI * i / NP); pts[2 * i + 1] = (float)sin(2 * PI * i / NP); }
    Rng rng = rng_seed(6);
    double sigma = sigmas[_i], worst = 0;
    for (int k = 0; k < NZ; k++) {
        double th = 2 * PI * rng_uniform(&rng), z[2], got[2], want[2];
        z[0] = cos(th) + sigma * rng_normal(&rng);
        z[1] = sin(th) + sigma * rng_normal(&rng);
        data_points_denoise(pts, NP, 2, 1.0, sigma * sigma, z, got);
        ddim_circle_denoise(sigma, z, want);
        worst = fmax(worst, hypot(got[0] - want[0], got[1] - want[1]));
    }
    ck_assert_double_eq_tol(worst, 0.0, 1e-5);
}
END_TEST

/* §d.6 the closed form itself, at its two ends: small sigma, |D - z/|z|| = 1/(2a) + 1/(8a^2) + O(a^-3); large sigma,
 * D = z/(2 sigma^2) (1 - a^2/8 + O(a^4)). Tol: the first omitted term of each series, times 2. */
START_TEST(test_circle_denoiser_limits_d_6) {
    double z[2] = { 0.6, 0.8 }, d[2];   /* |z| = 1 */
    double sig = 0.05, a = 1 / (sig * sig);
    ddim_circle_denoise(sig, z, d);
    ck_assert_double_eq_tol(hypot(d[0] - z[0], d[1] - z[1]), 1 / (2 * a) + 1 / (8 * a * a), 2 / (8 * a * a * a));
    sig = 5.0, a = 1 / (sig * sig);
    ddim_circle_denoise(sig, z, d);
    ck_assert_double_eq_tol(hypot(d[0], d[1]), 1 / (2 * sig * sig) * (1 - a * a / 8), 2 * a * a * a * a * a / 96);
}
END_TEST

/* §d.6 the optimisation view's identity: with f_sigma(z) = -sigma^2 log((1/n) sum_i exp(-|z - x_i|^2 / (2 sigma^2))),
 * the finite-set ideal denoiser satisfies z - D_sigma(z) = grad f_sigma(z), and dist^2/2 <= f_sigma <= dist^2/2 + sigma^2
 * log n. 40 random points in [-1, 1]^2 (diameter R <= 2 sqrt 2), z anywhere in [-2, 2]^2, four sigmas. The gradient is
 * taken by central differences with h = 1e-4 sigma: error <= h^2/6 sup|f3| + 2 eps |f| / h, where f3, the third
 * derivative along a unit u, is the third cumulant of u.x_i under the softmax weights over sigma^4, at most R^3 / sigma^4. */
START_TEST(test_denoiser_is_gradient_of_soft_min) {
    enum { NP = 40 };
    static const double sigs[4] = { 0.03, 0.1, 0.5, 2.0 };
    double sigma = sigs[_i], h = 1e-4 * sigma, R = 2 * sqrt(2.0);
    Rng rng = rng_seed(31);
    float pts[2 * NP];
    for (int i = 0; i < 2 * NP; i++) pts[i] = (float)(2 * rng_uniform(&rng) - 1);
    for (int rep = 0; rep < 300; rep++) {
        double z[2] = { 4 * rng_uniform(&rng) - 2, 4 * rng_uniform(&rng) - 2 }, d[2];
        data_points_denoise(pts, NP, 2, 1.0, sigma * sigma, z, d);
        double f = ddim_soft_dist2(pts, NP, 2, sigma, z);
        double tol = h * h / 6 * R * R * R / pow(sigma, 4) + 4.4e-16 * fabs(f) / h;
        for (int c = 0; c < 2; c++) {
            double zp[2] = { z[0], z[1] }, zm[2] = { z[0], z[1] };
            zp[c] += h;
            zm[c] -= h;
            double g = (ddim_soft_dist2(pts, NP, 2, sigma, zp) - ddim_soft_dist2(pts, NP, 2, sigma, zm)) / (2 * h);
            ck_assert_double_eq_tol(g, z[c] - d[c], tol);
        }
        double dist2 = INFINITY;
        for (int i = 0; i < NP; i++) dist2 = fmin(dist2, (z[0] - pts[2 * i]) * (z[0] - pts[2 * i]) + (z[1] - pts[2 * i + 1]) * (z[1] - pts[2 * i + 1]));
        ck_assert_double_ge(f, dist2 / 2 - 1e-12);
        ck_assert_double_le(f, dist2 / 2 + sigma * sigma * log(NP) + 1e-12);
    }
}
END_TEST

Suite *suite_ddim(void) {
    Suite *s = suite_create("ddim");
    TCase *tc = tcase_create("closed_forms");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_timesteps_are_decreasing);
    tcase_add_loop_test(tc, test_denoiser_is_gradient_of_soft_min, 0, 4);
    tcase_add_test(tc, test_exact_denoisers_are_conditional_means_2_7);
    tcase_add_test(tc, test_family_step_equals_dedicated_steps);
    tcase_add_test(tc, test_family_sampler_matches_ddim_path);
    tcase_add_test(tc, test_eta1_full_sequence_is_ch2_ancestral);
    tcase_add_test(tc, test_ddim_exact_denoiser_recovers_gmm);
    tcase_add_test(tc, test_inversion_round_trip_improves_with_steps);
    tcase_add_loop_test(tc, test_circle_denoiser_closed_form_d_6, 0, 4);
    tcase_add_test(tc, test_circle_denoiser_limits_d_6);
    suite_add_tcase(s, tc);
    return s;
}
