/* Tests of chapters/ch4_sde.c against the closed forms of PDF chapter 4 (TUTORIAL.md numerical checks 18-24). */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "base.h"
#include "ch4_sde.h"
#include "heavy.h"

/* §4.1 gradient descent is Euler on dx/dt = -grad f: global error C tau (1 + O(a tau)), so halving tau halves it.
 * Tol 0.05 on the observed order: the next term is a2 tau = 5 * 0.0025 ~ 0.0125 relative. */
START_TEST(test_gd_is_euler_order_1_4_1) {
    const double x0[2] = { 2.0, 1.0 };
    double e1 = ch4_gd_error(1, 5, x0, 0.005, 1.0), e2 = ch4_gd_error(1, 5, x0, 0.0025, 1.0);
    ck_assert_double_eq_tol(log2(e1 / e2), 1.0, 0.05);
}
END_TEST

/* Sample mean and variance of n doubles. */
static void mv(const double *x, int n, int stride, double *m, double *v) {
    double s = 0, s2 = 0;
    for (int i = 0; i < n; i++) { s += x[i * stride]; s2 += x[i * stride] * x[i * stride]; }
    *m = s / n;
    *v = s2 / n - *m * *m;
}

/* §4.3 VP SDE marginal from x0 = 1.5: mean x0 exp(-B/2), var 1 - exp(-B), at t = 0.25, 0.5, 1. Euler-Maruyama
 * particles (1000 steps); tol 5 s.e. plus the exact EM bias of the moments (the recursion m' = (1 + c h) m,
 * v' = (1 + c h)^2 v + g^2 h, computed here independently of the chapter). */
START_TEST(test_vp_marginal_4_3) {
    enum { N = HEAVY(50000), STEPS = 1000 };
    static const double ts[3] = { 0.25, 0.5, 1.0 };
    double t1 = ts[_i], x0 = 1.5, a, s2, m, v, m_em = x0, v_em = 0, h = t1 / STEPS;
    Ch4Sde sde = ch4_vp();
    Rng rng = rng_seed(11);
    double *x = malloc(sizeof(double) * N);
    for (int i = 0; i < N; i++) x[i] = x0;
    ch4_forward_em(&sde, x, N, 1, 0.0, t1, STEPS, &rng, NULL);
    for (int k = 0; k < STEPS; k++) {
        double beta = 0.1 + 19.9 * k * h, c = 1 - 0.5 * beta * h;
        m_em *= c;
        v_em = c * c * v_em + beta * h;
    }
    ch4_sde_marginal(&sde, t1, &a, &s2);
    ck_assert_double_eq_tol(a, exp(-0.5 * (0.1 * t1 + 9.95 * t1 * t1)), 1e-14);
    mv(x, N, 1, &m, &v);
    ck_assert_double_eq_tol(m, a * x0, 5 * sqrt(s2 / N) + fabs(m_em - a * x0));
    ck_assert_double_eq_tol(v, s2, 5 * s2 * sqrt(2.0 / N) + fabs(v_em - s2));
    free(x);
}
END_TEST

/* §4.3 prod(1 - beta_i) -> exp(-B(t)) with error O(1/N): observed order at N = 1000, 2000 within 0.1 of 1
 * (the next term is O(1/N) relative, (beta_max - beta_min)/(2N) < 0.01). */
START_TEST(test_ddpm_alpha_bar_limit_4_3) {
    Ch4Sde sde = ch4_vp();
    double want = exp(-ch4_vp_B(&sde, 0.5));
    double e1 = fabs(ch4_ddpm_alpha_bar(&sde, 1000, 500) / want - 1), e2 = fabs(ch4_ddpm_alpha_bar(&sde, 2000, 1000) / want - 1);
    ck_assert_double_eq_tol(log2(e1 / e2), 1.0, 0.1);
}
END_TEST

/* §4.3 DDPM's ancestral step and Euler-Maruyama on the reverse VP SDE (same noise, exact score) differ by O(1/N):
 * median gap at N = 100..800 has log-log slope -1. Each median over 1000 paths has relative s.e. ~4%, moving the
 * slope by ~0.04; tol 0.2 also covers 1/N^2 terms. */
START_TEST(test_ddpm_step_agrees_with_em_4_3) {
    static const double w[2] = { 0.3, 0.7 }, mu[2] = { -2.0, 2.0 }, sd[2] = { 0.3, 0.3 };
    static const int Ns[4] = { 100, 200, 400, 800 };
    Gmm g = data_gmm_1d(2, w, mu, sd);
    Ch4Sde sde = ch4_vp();
    Rng rng = rng_seed(12);
    double gap[4];
    for (int k = 0; k < 4; k++) gap[k] = ch4_ddpm_em_gap(&sde, &g, Ns[k], 1000, &rng);
    ck_assert_double_eq_tol(ch4_fit_order(Ns, gap, 4), 1.0, 0.2);
}
END_TEST

/* §4.4 VE SDE from x0 = 1: mean x0, var sigma(1)^2 - sigma(0)^2 (~100). EM adds sum g(t_k)^2 h exactly in law;
 * tol 5 s.e. plus that sum's exact offset from the closed form. */
START_TEST(test_ve_marginal_4_4) {
    enum { N = HEAVY(50000), STEPS = 1000 };
    Ch4Sde sde = ch4_ve();
    Rng rng = rng_seed(13);
    double a, s2, m, v, added = 0, *x = malloc(sizeof(double) * N);
    for (int i = 0; i < N; i++) x[i] = 1.0;
    ch4_forward_em(&sde, x, N, 1, 0.0, 1.0, STEPS, &rng, NULL);
    for (int k = 0; k < STEPS; k++) added += ch4_sde_g2(&sde, (double)k / STEPS) / STEPS;
    ch4_sde_marginal(&sde, 1.0, &a, &s2);
    ck_assert_double_eq_tol(s2, 100.0 - 1e-4, 1e-10);
    mv(x, N, 1, &m, &v);
    ck_assert_double_eq_tol(m, 1.0, 5 * sqrt(s2 / N));
    ck_assert_double_eq_tol(v, s2, 5 * s2 * sqrt(2.0 / N) + fabs(added - s2));
    free(x);
}
END_TEST

/* §4.5 OU closed form: against RK4 on the moment ODEs dm/dt = -theta m, dv/dt = -2 theta v + s^2 (h = 1e-3, error
 * O(h^4) ~ 1e-12; tol 1e-10). */
START_TEST(test_ou_closed_form_moments_4_5) {
    const double theta = 2.0, s = 0.7, x0 = 1.3, h = 1e-3;
    double m = x0, v = 0;
    for (int k = 0; k < 1000; k++) {
        double k1 = -theta * m, k2 = -theta * (m + h / 2 * k1), k3 = -theta * (m + h / 2 * k2), k4 = -theta * (m + h * k3);
        m += h / 6 * (k1 + 2 * k2 + 2 * k3 + k4);
        double l1 = -2 * theta * v + s * s, l2 = -2 * theta * (v + h / 2 * l1) + s * s;
        double l3 = -2 * theta * (v + h / 2 * l2) + s * s, l4 = -2 * theta * (v + h * l3) + s * s;
        v += h / 6 * (l1 + 2 * l2 + 2 * l3 + l4);
    }
    ck_assert_double_eq_tol(ch4_ou_mean(x0, theta, 1.0), m, 1e-10);
    ck_assert_double_eq_tol(ch4_ou_var(theta, s, 1.0), v, 1e-10);
}
END_TEST

/* §4.5 Euler-Maruyama's weak order on OU is 1: the exact EM moments give |E x_N^2 - E x(1)^2|, fitted over
 * N = 32..256. Deterministic; the next term is O(theta h) = 1/16 relative at most: tol 0.1. */
START_TEST(test_em_weak_order_near_1_4_5) {
    static const int st[4] = { 32, 64, 128, 256 };
    double e[4];
    for (int k = 0; k < 4; k++) e[k] = ch4_em_weak_error_ou(2.0, 1.0, 1.0, 1.0, st[k]);
    ck_assert_double_eq_tol(ch4_fit_order(st, e, 4), 1.0, 0.1);
}
END_TEST

/* §4.5 Euler-Maruyama's strong order: 1/2 with multiplicative noise (GBM, closed form on the same path) and 1 with
 * additive noise (OU, where EM is Milstein). 2000 paths: relative s.e. of each error < 3%, slope moved < 0.03;
 * pre-asymptotic O(h^(1/2)) terms at h <= 1/32: tol 0.1. */
START_TEST(test_em_strong_order_4_5) {
    static const int st[4] = { 32, 64, 128, 256 };
    double e[4], se[4];
    Rng rng = rng_seed(14);
    ch4_em_strong_errors(1, 0.5, 1.0, 1.0, 1.0, st, 4, 2000, &rng, e, se);
    ck_assert_double_eq_tol(ch4_fit_order(st, e, 4), 0.5, 0.1);
    ch4_em_strong_errors(0, 2.0, 1.0, 1.0, 1.0, st, 4, 2000, &rng, e, se);
    ck_assert_double_eq_tol(ch4_fit_order(st, e, 4), 1.0, 0.1);
}
END_TEST

/* §4.2 Anderson's reverse SDE with the exact score, Euler-Maruyama from exact draws of p_1, recovers p_{0.001}
 * of the 1D mixture: mean and variance within 5 s.e. (the O(1/N) weak bias at 1000 steps is below 0.5% of the
 * variance, a fifth of the tolerance, per the solvers cell). */
START_TEST(test_reverse_sde_recovers_p0_4_2) {
    enum { N = HEAVY(20000) };
    static const double w[2] = { 0.3, 0.7 }, mu[2] = { -2.0, 2.0 }, sd[2] = { 0.3, 0.3 };
    Gmm g = data_gmm_1d(2, w, mu, sd);
    Ch4Sde sde = ch4_vp();
    Rng rng = rng_seed(15);
    double a, s2, m, v, *x = malloc(sizeof(double) * N);
    float *f = malloc(sizeof(float) * N);
    ch4_sde_marginal(&sde, 1.0, &a, &s2);
    Gmm g1 = data_gmm_noised(&g, a, s2);
    data_gmm_sample(&g1, &rng, f, N);
    for (int i = 0; i < N; i++) x[i] = f[i];
    Denoiser den = den_gmm(&g);
    Arena arena;
    arena_init(&arena, 4 << 20);   /* ch4_reverse's scratch: 6 N D doubles */
    ch4_reverse(&den, &sde, CH4_EM, x, N, 1.0, 1e-3, 1000, &rng, &arena, NULL);
    ch4_sde_marginal(&sde, 1e-3, &a, &s2);
    Gmm g0 = data_gmm_noised(&g, a, s2);
    double vw = data_gmm_var(&g0, 0);
    mv(x, N, 1, &m, &v);
    ck_assert_double_eq_tol(m, data_gmm_mean(&g0, 0), 5 * sqrt(vw / N));
    ck_assert_double_eq_tol(v, vw, 5 * vw * sqrt(2.0 / N));
    free(x); free(f);
    arena_free(&arena);
}
END_TEST

/* §4.5 the probability-flow ODE keeps the marginals p_t: Heun (100 steps) from exact draws of p_1 of the 2D mixture to
 * t = 0.25, both coordinates' mean and variance within 5 s.e. (variance s.e. sqrt(3/N) v: a mixture's kurtosis is < 4). */
START_TEST(test_pfode_preserves_marginals_4_5) {
    enum { N = HEAVY(20000) };
    Gmm g = data_gmm_named("gmm");
    Ch4Sde sde = ch4_vp();
    Rng rng = rng_seed(16);
    double a, s2, m, v, *x = malloc(sizeof(double) * 2 * N);
    float *f = malloc(sizeof(float) * 2 * N);
    ch4_sde_marginal(&sde, 1.0, &a, &s2);
    Gmm g1 = data_gmm_noised(&g, a, s2);
    data_gmm_sample(&g1, &rng, f, N);
    for (int i = 0; i < 2 * N; i++) x[i] = f[i];
    Denoiser den = den_gmm(&g);
    Arena arena;
    arena_init(&arena, 4 << 20);   /* ch4_reverse's scratch: 6 N D doubles */
    ck_assert_int_eq((int)ch4_reverse(&den, &sde, CH4_ODE_HEUN, x, N, 1.0, 0.25, 100, &rng, &arena, NULL), 200);
    ch4_sde_marginal(&sde, 0.25, &a, &s2);
    Gmm gt = data_gmm_noised(&g, a, s2);
    for (int d = 0; d < 2; d++) {
        double vw = data_gmm_var(&gt, d);
        mv(x + d, N, 2, &m, &v);
        ck_assert_double_eq_tol(m, data_gmm_mean(&gt, d), 5 * sqrt(vw / N));
        ck_assert_double_eq_tol(v, vw, 5 * vw * sqrt(3.0 / N));
    }
    free(x); free(f);
    arena_free(&arena);
}
END_TEST

/* §4.5 the probability-flow ODE's integrators have orders 1 (Euler), 2 (Heun), 4 (RK4): 20 exact draws of p_1 of the
 * 2D mixture carried to t = 0.25, the error against RK4 with 2048 steps, at 64/128/256 steps. The orders of the mean
 * error between 128 and 256 steps within 0.25 (next terms O(h) relative; beta h <= 0.08 here). */
START_TEST(test_pfode_integrator_orders_4_5) {
    enum { N = 20 };
    static const int steps[3] = { 64, 128, 256 };
    static const Ch4Solver solver[3] = { CH4_ODE_EULER, CH4_ODE_HEUN, CH4_ODE_RK4 };
    static const double order[3] = { 1, 2, 4 };
    Gmm g = data_gmm_named("gmm");
    Ch4Sde sde = ch4_vp();
    Rng rng = rng_seed(17);
    double a, s2, x1[2 * N], ref[2 * N], x[2 * N];
    float f[2 * N];
    ch4_sde_marginal(&sde, 1.0, &a, &s2);
    Gmm g1 = data_gmm_noised(&g, a, s2);
    data_gmm_sample(&g1, &rng, f, N);
    for (int i = 0; i < 2 * N; i++) x1[i] = ref[i] = f[i];
    Denoiser den = den_gmm(&g);
    Arena arena;
    arena_init(&arena, 1 << 20);
    ch4_reverse(&den, &sde, CH4_ODE_RK4, ref, N, 1.0, 0.25, 2048, &rng, &arena, NULL);
    ck_assert_int_eq(ch4_solver_nfe(CH4_ODE_RK4), 4);
    for (int k = 0; k < 3; k++) {
        double err[3];
        for (int l = 0; l < 3; l++) {
            memcpy(x, x1, sizeof x);
            ch4_reverse(&den, &sde, solver[k], x, N, 1.0, 0.25, steps[l], &rng, &arena, NULL);
            err[l] = 0;
            for (int i = 0; i < 2 * N; i++) err[l] += fabs(x[i] - ref[i]) / (2 * N);
        }
        ck_assert_double_eq_tol(log(err[1] / err[2]) / log(2.0), order[k], 0.25);
    }
    arena_free(&arena);
}
END_TEST

/* §4.2 the learned-score path: with the schedule of ch4_sched_vp, alpha_bar[i] = exp(-B(i/T)) exactly (1e-15). */
START_TEST(test_sched_vp_matches_sde_4_3) {
    Ch4Sde sde = ch4_vp();
    Schedule s;
    ch4_sched_vp(&s, &sde, 1000);
    for (int i = 1; i <= 1000; i += 37) {
        double a, s2;
        ch4_sde_marginal(&sde, i / 1000.0, &a, &s2);
        ck_assert_double_eq_tol(s.alpha_bar[i], a * a, 1e-15);
        ck_assert_double_eq_tol(s.alpha[i] * s.alpha_bar[i - 1], s.alpha_bar[i], 1e-15);
    }
    sched_free(&s);
}
END_TEST

Suite *suite_ch4(void) {
    Suite *s = suite_create("ch4");
    TCase *tc = tcase_create("closed_forms");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_gd_is_euler_order_1_4_1);
    tcase_add_loop_test(tc, test_vp_marginal_4_3, 0, 3);
    tcase_add_test(tc, test_ddpm_alpha_bar_limit_4_3);
    tcase_add_test(tc, test_ddpm_step_agrees_with_em_4_3);
    tcase_add_test(tc, test_ve_marginal_4_4);
    tcase_add_test(tc, test_ou_closed_form_moments_4_5);
    tcase_add_test(tc, test_em_weak_order_near_1_4_5);
    tcase_add_test(tc, test_em_strong_order_4_5);
    tcase_add_test(tc, test_reverse_sde_recovers_p0_4_2);
    tcase_add_test(tc, test_pfode_preserves_marginals_4_5);
    tcase_add_test(tc, test_pfode_integrator_orders_4_5);
    tcase_add_test(tc, test_sched_vp_matches_sde_4_3);
    suite_add_tcase(s, tc);
    return s;
}
