/* Tests of chapters/ch5_fokker_planck.c against the closed forms of PDF chapter 5 (TUTORIAL.md checks 25-30). */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include "base.h"
#include "ch5_fokker_planck.h"

/* §5.1 Var(x_t) = 2 D t and Cov(x_s, x_t) = 2 D min(s, t) for x = sqrt(2D) w, at three pairs (s, t).
 * Tol: 5 standard errors: 2Dt sqrt(2/N) for a variance of a Gaussian, sqrt((v_s v_t + c^2)/N) for a covariance. */
START_TEST(test_brownian_variance_and_covariance_5_1) {
    enum { N = 20000, K = 100 };
    static const int ks[3] = { 10, 25, 50 }, kt[3] = { 100, 50, 75 };
    const double D = 0.7, dt = 0.01;
    double *x = malloc(sizeof(double) * N * (K + 1));
    Rng rng = rng_seed(51);
    ch5_brownian_paths(&rng, N, K, dt, D, x);
    double ss = 0, tt = 0, st = 0;
    for (int i = 0; i < N; i++) {
        const double *xi = x + (size_t)i * (K + 1);
        ss += xi[ks[_i]] * xi[ks[_i]]; tt += xi[kt[_i]] * xi[kt[_i]]; st += xi[ks[_i]] * xi[kt[_i]];
    }
    double vs = 2 * D * ks[_i] * dt, vt = 2 * D * kt[_i] * dt, c = 2 * D * fmin(ks[_i], kt[_i]) * dt;
    ck_assert_double_eq_tol(ss / N, vs, 5 * vs * sqrt(2.0 / N));
    ck_assert_double_eq_tol(tt / N, vt, 5 * vt * sqrt(2.0 / N));
    ck_assert_double_eq_tol(st / N, c, 5 * sqrt((vs * vt + c * c) / N));
    free(x);
}
END_TEST

/* §5.1 increments are independent N(0, 2 D dt): lag-1 correlation 0 (s.e. 1/sqrt(n)), mean 0, kurtosis 3
 * (s.e. sqrt(96/n) for the fourth moment over the squared variance of a Gaussian). Tol: 5 s.e. */
START_TEST(test_brownian_increments_independent_gaussian_5_1) {
    enum { N = 2000, K = 100 };
    const double D = 0.5, dt = 0.02, v = 2 * D * dt;
    double *x = malloc(sizeof(double) * N * (K + 1));
    Rng rng = rng_seed(52);
    ch5_brownian_paths(&rng, N, K, dt, D, x);
    double s1 = 0, s2 = 0, s4 = 0, c = 0;
    long n = 0;
    for (int i = 0; i < N; i++)
        for (int k = 0; k + 1 < K; k++) {
            const double *xi = x + (size_t)i * (K + 1);
            double a = xi[k + 1] - xi[k], b = xi[k + 2] - xi[k + 1];
            s1 += a; s2 += a * a; s4 += a * a * a * a; c += a * b; n++;
        }
    ck_assert_double_eq_tol(s1 / n, 0.0, 5 * sqrt(v / n));
    ck_assert_double_eq_tol(s2 / n, v, 5 * v * sqrt(2.0 / n));
    ck_assert_double_eq_tol(c / s2, 0.0, 5 / sqrt((double)n));
    ck_assert_double_eq_tol(s4 / n / (v * v), 3.0, 5 * sqrt(96.0 / n));
    free(x);
}
END_TEST

/* §5.2 the master equation of the lattice walk converges to the heat kernel N(0, 2Dt) with error O(dx^2)
 * (local CLT; the jump's excess kurtosis 1/(2r) - 3 = -1 at r = 1/4 sets the dx^2 term). Observed order
 * between dx = 0.05 and 0.025: 2 up to the O(dx^2) relative next term (< 1%), tol 0.05. Total probability
 * stays 1: each step moves probability between sites, ~n roundings of 1e-16 per step, tol 1e-12. */
START_TEST(test_master_equation_converges_to_heat_kernel_5_2) {
    double m1, m2;
    double e1 = ch5_master_heat_error(0.05, 0.25, 0.5, 1.0, &m1);
    double e2 = ch5_master_heat_error(0.025, 0.25, 0.5, 1.0, &m2);
    ck_assert_double_eq_tol(log(e1 / e2) / log(2.0), 2.0, 0.05);
    ck_assert_double_eq_tol(m1, 1.0, 1e-12);
    ck_assert_double_eq_tol(m2, 1.0, 1e-12);
    ck_assert_double_lt(e2, 1e-4);   /* and it is small: 0.4 x dx^2 / 16, the constant read off the kurtosis term */
}
END_TEST

/* §5.3 Kramers-Moyal coefficients of OU (theta = 1, D = 1) from an exactly sampled series: in every bin with
 * enough starts, M1, M2, M4 equal the exact conditional moments of d ~ N(m, v), m = (e^{-dt} - 1) xbar,
 * v = 1 - e^{-2dt}. Tol 5 s.e. (m = 0 variances v, 2v^2, 96v^4 of d, d^2, d^4; m^2/v < 0.01 in [-1, 1]). */
START_TEST(test_kramers_moyal_ou_coefficients_5_3) {
    enum { BINS = 8 };
    const long N = 1000000;
    const double dt = 0.01;
    double *x = malloc(sizeof(double) * N), xbar[BINS], M[4 * BINS];
    long count[BINS];
    Rng rng = rng_seed(53);
    ch5_ou_series(&rng, 1.0, 1.0, dt, 0.0, x, N);
    ch5_km_moments(x, N, dt, -1.0, 1.0, BINS, xbar, M, count);
    double v = 1 - exp(-2 * dt);
    for (int b = 0; b < BINS; b++) {
        double c = (double)count[b], m = (exp(-dt) - 1) * xbar[b];
        ck_assert(c > 10000);
        ck_assert_double_eq_tol(M[b], m / dt, 5 * sqrt(v / c) / dt);
        ck_assert_double_eq_tol(M[BINS + b], (m * m + v) / dt, 5 * sqrt(2 * v * v / c) / dt);
        ck_assert_double_eq_tol(M[3 * BINS + b], (m * m * m * m + 6 * m * m * v + 3 * v * v) / dt, 5 * sqrt(96 * v * v * v * v / c) / dt);
    }
    /* the Kramers-Moyal limits: M1 -> -x, M2 -> 2 within the O(dt) bias plus 5 s.e. */
    ck_assert_double_eq_tol(M[BINS + 4], 2.0, 2 * dt + 5 * sqrt(2.0 / count[4] / dt));
    free(x);
}
END_TEST

/* §5.3 higher coefficients vanish like dt: E[d^4]/dt = 3 v^2 / dt + O(m^2) with v = 1 - e^{-2dt} ~ 2 dt, so the
 * ratio of M4 at lags 2dt and dt is 2 up to O(dt) (and 5 s.e. of each, ~1% here). Tol 0.1. */
START_TEST(test_kramers_moyal_m4_vanishes_like_dt_5_3) {
    enum { BINS = 1 };
    const long N = 1000000;
    double *x = malloc(sizeof(double) * N), *y = malloc(sizeof(double) * N / 2), xbar, M1[4], M2[4];
    long c1, c2;
    Rng rng = rng_seed(54);
    ch5_ou_series(&rng, 1.0, 1.0, 0.005, 0.0, x, N);
    for (long j = 0; j < N / 2; j++) y[j] = x[2 * j];
    ch5_km_moments(x, N, 0.005, -1.0, 1.0, BINS, &xbar, M1, &c1);
    ch5_km_moments(y, N / 2, 0.01, -1.0, 1.0, BINS, &xbar, M2, &c2);
    ck_assert_double_eq_tol(M2[3] / M1[3], 2.0, 0.1);
    free(x);
    free(y);
}
END_TEST

/* §5.4 the grid solver conserves mass to round-off (the columns of I - dt A sum to exactly 1; tol 10 roundings
 * per step) and keeps p >= 0 exactly, even from a one-cell start under a drift with cell Peclet number 5. */
START_TEST(test_fp_mass_conservation_and_positivity_5_4) {
    const int n = 240, steps = 400;
    const double lo = -6, h = 0.05;
    const Ch5Sde dw = { ch5_langevin_mu, ch5_unit_D, NULL };
    double *p = calloc(n, sizeof(double)), mass = 0, pmin = 1;
    p[(int)((2.5 - lo) / h)] = 1.0 / h;
    ch5_fp_solve(p, n, lo, h, &dw, 0.0, 2.0, steps);
    for (int i = 0; i < n; i++) { mass += p[i] * h; pmin = fmin(pmin, p[i]); }
    ck_assert_double_eq_tol(mass, 1.0, 10 * 1.1e-16 * steps);
    ck_assert_double_ge(pmin, 0.0);
    /* the discrete operator itself moves mass only between cells: sum of dp/dt is 0 to round-off */
    double *r = malloc(sizeof(double) * n), s = 0, sa = 0;
    ch5_fp_rhs(p, r, n, lo, h, &dw, 0.0);
    for (int i = 0; i < n; i++) { s += r[i]; sa += fabs(r[i]); }
    ck_assert_double_eq_tol(s, 0.0, 1e-14 * sa);
    free(p);
    free(r);
}
END_TEST

/* §5.4 Scharfetter-Gummel weights: B(z) - B(-z) = -z (so the flux has drift mu exactly), B(0) = 1, B > 0. */
START_TEST(test_bernoulli_identities_5_4) {
    static const double z[6] = { 1e-12, 1e-6, 0.3, 2.0, 30.0, 700.0 };
    for (int k = 0; k < 6; k++) {
        ck_assert_double_eq_tol(ch5_bernoulli(z[k]) - ch5_bernoulli(-z[k]), -z[k], 1e-14 * fmax(1.0, z[k]));
        ck_assert_double_gt(ch5_bernoulli(z[k]), 0.0);
    }
    ck_assert_double_eq_tol(ch5_bernoulli(0.0), 1.0, 1e-16);
}
END_TEST

/* §5.4 OU: the grid solution against the closed form N(2e^{-t}, 0.25e^{-2t} + 1 - e^{-2t}), with the scheme's
 * order: central fluxes (O(h^2)) and backward Euler with dt = h^2/4 (O(dt) = O(h^2)) give order 2; the next
 * term is O(h^2) relative, under 2% for h <= 0.1, tol 0.1. The error itself is small: below 1e-3 at h = 0.05. */
START_TEST(test_fp_ou_closed_form_and_order_5_4) {
    double e1 = ch5_ou_grid_error(0.1, 1.0), e2 = ch5_ou_grid_error(0.05, 1.0);
    ck_assert_double_eq_tol(log(e1 / e2) / log(2.0), 2.0, 0.1);
    ck_assert_double_lt(e2, 1e-3);
    double m, v;
    ch5_ou_marginal(2.0, 0.25, 1.0, 1.0, 50.0, &m, &v);   /* t -> inf: the stationary law N(0, D/theta) */
    ck_assert_double_eq_tol(m, 0.0, 1e-20);
    ck_assert_double_eq_tol(v, 1.0, 1e-15);
}
END_TEST

/* §5.4 Langevin stationary law: p = e^{-U}/Z makes the Fokker-Planck right side vanish; the discrete operator
 * applied to it leaves an O(h^2) residual (second-order fluxes). Order between h = 0.04 and 0.02: 2, tol 0.15
 * (the O(h^2) relative next term). */
START_TEST(test_stationary_residual_vanishes_order_2_5_4) {
    double r1 = ch5_stationary_residual(0.04), r2 = ch5_stationary_residual(0.02);
    ck_assert_double_eq_tol(log(r1 / r2) / log(2.0), 2.0, 0.15);
    ck_assert_double_lt(r2, r1);
}
END_TEST

/* §5.4 long-run particles of dx = -U'(x) dt + sqrt(2) dw follow e^{-U}/Z: at t = 10 from x = 1, E[x^2] (tol 5 s.e.
 * from the sample, plus Euler-Maruyama's O(dt) bias < 0.01) and the right-well mass 1/2 (tol 5 s.e. of a
 * proportion plus the unrelaxed part e^{-0.45 * 10} / 2 < 0.006). */
START_TEST(test_langevin_long_run_matches_exp_minus_U_5_4) {
    enum { N = 4000 };
    double x[N], ex2 = 0, Z = 0, s2 = 0, s4 = 0;
    int right = 0;
    Rng rng = rng_seed(55);
    for (int i = 0; i < N; i++) x[i] = 1.0;
    ch5_langevin_particles(&rng, x, N, 2e-3, 5000);
    for (int i = -3000; i < 3000; i++) {   /* E[x^2] under e^{-U}/Z by the midpoint rule, h = 1e-3 (error ~1e-7) */
        double xc = (i + 0.5) * 1e-3, w = exp(-ch5_U(xc));
        Z += w; ex2 += xc * xc * w;
    }
    ex2 /= Z;
    for (int i = 0; i < N; i++) { s2 += x[i] * x[i]; s4 += x[i] * x[i] * x[i] * x[i]; right += x[i] > 0; }
    s2 /= N; s4 /= N;
    ck_assert_double_eq_tol(s2, ex2, 5 * sqrt((s4 - s2 * s2) / N) + 0.01);
    ck_assert_double_eq_tol((double)right / N, 0.5, 5 * sqrt(0.25 / N) + 0.006);
}
END_TEST

/* §5.5 the VP SDE's Fokker-Planck equation and the continuity equation of the probability-flow ODE (velocity
 * -beta/2 (x + exact score)) give the same p_t: both grid solutions converge to the exact noised mixture, the
 * first at order 2 (central fluxes, dt = h^2/2), the second at order 1 (upwind). Tol 0.15 on each order. */
START_TEST(test_pf_ode_continuity_matches_fokker_planck_5_5) {
    static const double w[2] = { 0.3, 0.7 }, mu[2] = { -2.0, 2.0 }, sd[2] = { 0.3, 0.3 };
    Gmm g = data_gmm_1d(2, w, mu, sd);
    double f1, o1, f2, o2;
    ch5_vp_grid_errors(&g, 0.08, 0.3, &f1, &o1);
    ch5_vp_grid_errors(&g, 0.04, 0.3, &f2, &o2);
    ck_assert_double_eq_tol(log(f1 / f2) / log(2.0), 2.0, 0.15);
    ck_assert_double_eq_tol(log(o1 / o2) / log(2.0), 1.0, 0.15);
}
END_TEST

/* §5.5 a(t) = exp(-1/2 int_0^t beta): d log a / dt = -beta(t)/2, by central differences (error O(eps^2) = 1e-10
 * times |d^3 log a / dt^3| = 0, since log a is quadratic: only rounding, ~1e-16 / 1e-5 relative). */
START_TEST(test_vp_signal_factor_5_5) {
    const double e = 1e-5;
    for (int k = 1; k < 10; k++) {
        double t = 0.1 * k, d = (log(ch5_vp_a(t + e)) - log(ch5_vp_a(t - e))) / (2 * e);
        ck_assert_double_eq_tol(d, -0.5 * ch5_vp_beta(t), 1e-8);
    }
    ck_assert_double_eq_tol(ch5_vp_a(0.0), 1.0, 1e-16);
}
END_TEST

Suite *suite_ch5(void) {
    Suite *s = suite_create("ch5");
    TCase *tb = tcase_create("brownian_master_km");
    tcase_set_timeout(tb, 60);
    tcase_add_loop_test(tb, test_brownian_variance_and_covariance_5_1, 0, 3);
    tcase_add_test(tb, test_brownian_increments_independent_gaussian_5_1);
    tcase_add_test(tb, test_master_equation_converges_to_heat_kernel_5_2);
    tcase_add_test(tb, test_kramers_moyal_ou_coefficients_5_3);
    tcase_add_test(tb, test_kramers_moyal_m4_vanishes_like_dt_5_3);
    suite_add_tcase(s, tb);
    TCase *tf = tcase_create("fokker_planck");
    tcase_set_timeout(tf, 60);
    tcase_add_test(tf, test_fp_mass_conservation_and_positivity_5_4);
    tcase_add_test(tf, test_bernoulli_identities_5_4);
    tcase_add_test(tf, test_fp_ou_closed_form_and_order_5_4);
    tcase_add_test(tf, test_stationary_residual_vanishes_order_2_5_4);
    tcase_add_test(tf, test_langevin_long_run_matches_exp_minus_U_5_4);
    tcase_add_test(tf, test_pf_ode_continuity_matches_fokker_planck_5_5);
    tcase_add_test(tf, test_vp_signal_factor_5_5);
    suite_add_tcase(s, tf);
    return s;
}
