/* Tests of chapters/flow.c: the mixture's velocity against the continuity equation of its density flow, the
 * loss identity CFM - FM = C on unrelated models, log p(x) through the ODE against the closed form (and its
 * order), InDI's step as the flow's Euler step, and the ODE sampler recovering the mixture. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "ch2_ddpm.h"
#include "flow.h"

/* §flow d p_t / dt + div(p_t v) = 0 for the exact velocity, p_t the closed-form law of (1 - t) x0 + t eps.
 * Central differences, h = 1e-4: relative truncation ~ h^2 / (scale 0.1)^2 = 1e-6; tol 1e-5 relative. */
START_TEST(test_velocity_solves_continuity_equation) {
    Gmm g = data_gmm_named("gmm");
    Denoiser den = den_gmm(&g);
    Arena arena;
    arena_init(&arena, 1 << 20);
    Rng rng = rng_seed(3);
    double h = 1e-4;
    for (int i = 0; i < 30; i++) {
        double t = 0.1 + 0.8 * rng_uniform(&rng), x[2] = { rng_normal(&rng), rng_normal(&rng) };
        Gmm gp = data_gmm_noised(&g, 1 - (t + h), (t + h) * (t + h)), gm = data_gmm_noised(&g, 1 - (t - h), (t - h) * (t - h));
        Gmm gt = data_gmm_noised(&g, 1 - t, t * t);
        double dpdt = (exp(data_gmm_logpdf(&gp, x)) - exp(data_gmm_logpdf(&gm, x))) / (2 * h), div = 0;
        for (int d = 0; d < 2; d++) {
            double xp[2] = { x[0], x[1] }, xm[2] = { x[0], x[1] }, vp[2], vm[2];
            xp[d] += h; xm[d] -= h;
            den_velocity(&den, den_level_flow(t), xp, 1, vp, &arena);
            den_velocity(&den, den_level_flow(t), xm, 1, vm, &arena);
            div += (exp(data_gmm_logpdf(&gt, xp)) * vp[d] - exp(data_gmm_logpdf(&gt, xm)) * vm[d]) / (2 * h);
        }
        ck_assert_double_le(fabs(dpdt + div), 1e-5 * (fabs(dpdt) + fabs(div)) + 1e-12);
    }
    arena_free(&arena);
}
END_TEST

/* §flow CFM(model) - FM(model) is the same constant C = E||(eps - x0) - v||^2 for every model: the exact velocity,
 * a wrong law's velocity, two untrained networks. Same triples for all; tol 5 standard errors of the paired
 * per-triple difference. */
START_TEST(test_cfm_minus_fm_is_constant) {
    enum { NT = 20, PER = 400, NM = 4 };
    int n = NT * PER;
    Gmm g = data_gmm_named("gmm");
    Denoiser exact = den_gmm(&g);
    Rng rng = rng_seed(4);
    ToyModel a, b;
    toy_init(&a, 2, &rng);
    toy_init(&b, 2, &rng);
    double w1[1] = { 1.0 }, mu1[2] = { -0.5, 0.1 }, sd1[1] = { 0.7 };
    Gmm wrong = data_gmm_2d(1, w1, mu1, sd1);
    Denoiser models[NM] = { exact, den_gmm(&wrong), den_toy_flow(&a), den_toy_flow(&b) };
    Arena arena;
    arena_init(&arena, 1 << 22);
    double *x0 = malloc(sizeof(double) * 2 * n), *eps = malloc(sizeof(double) * 2 * n), *t = malloc(sizeof(double) * n);
    double *c = malloc(sizeof(double) * n), *cfm = malloc(sizeof(double) * n), *fm = malloc(sizeof(double) * n);
    float xf[2];
    for (int i = 0; i < n; i++) {
        data_gmm_sample(&g, &rng, xf, 1);
        t[i] = (i / PER + 0.5) / NT;
        for (int d = 0; d < 2; d++) { x0[2 * i + d] = xf[d]; eps[2 * i + d] = rng_normal(&rng); }
    }
    flow_fm_losses(&exact, &exact, x0, eps, t, n, c, fm, &arena);
    for (int i = 0; i < n; i++) ck_assert_double_eq_tol(fm[i], 0.0, 1e-20);
    for (int k = 1; k < NM; k++) {
        flow_fm_losses(&models[k], &exact, x0, eps, t, n, cfm, fm, &arena);
        double s = 0, s2 = 0, mfm = 0;
        for (int i = 0; i < n; i++) { double e = cfm[i] - fm[i] - c[i]; s += e; s2 += e * e; mfm += fm[i] / n; }
        double m = s / n, se = sqrt((s2 / n - m * m) / n);
        ck_assert_double_gt(mfm, 0.05);                    /* the models really are wrong */
        ck_assert_double_eq_tol(m, 0.0, 5 * se);
    }
    free(x0); free(eps); free(t); free(c); free(cfm); free(fm);
    arena_free(&arena);
    toy_free(&a);
    toy_free(&b);
}
END_TEST

/* §flow log p(x) through the ODE with the exact velocity equals the mixture's closed-form log-density to the ODE's
 * error: RK4 with 64 steps within 1e-4 at every point (measured ~2e-6 mean), and the error shrinks ~16x from
 * 16 to 32 steps (order 4: tol a factor 10) and ~4x for Heun (order 2: factor 3). */
START_TEST(test_likelihood_ode_matches_closed_form) {
    enum { NX = 50 };
    Gmm g = data_gmm_named("gmm");
    Denoiser den = den_gmm(&g);
    Rng rng = rng_seed(6);
    Arena arena;
    arena_init(&arena, 1 << 22);
    double x[2 * NX], want[NX], lp[NX], e[2][3];
    float xf[2 * NX];
    data_gmm_sample(&g, &rng, xf, NX);
    for (int i = 0; i < NX; i++) { x[2 * i] = xf[2 * i]; x[2 * i + 1] = xf[2 * i + 1]; want[i] = data_gmm_logpdf(&g, x + 2 * i); }
    double ts[65];
    for (int k = 0; k <= 64; k++) ts[k] = k / 64.0;
    flow_logp(&den, FLOW_RK4, ts, 64, x, NX, lp, &arena);
    for (int i = 0; i < NX; i++) ck_assert_double_eq_tol(lp[i], want[i], 1e-4);
    for (int m = 0; m < 2; m++)
        for (int k = 0; k < 3; k++) {
            int K = 16 << k;
            for (int j = 0; j <= K; j++) ts[j] = (double)j / K;
            flow_logp(&den, m ? FLOW_RK4 : FLOW_HEUN, ts, K, x, NX, lp, &arena);
            e[m][k] = 0;
            for (int i = 0; i < NX; i++) e[m][k] += fabs(lp[i] - want[i]) / NX;
        }
    ck_assert_double_gt(e[0][1] / e[0][2], 3.0);
    ck_assert_double_gt(e[1][0] / e[1][1], 10.0);
    arena_free(&arena);
}
END_TEST

/* §2.9 = §flow chapter 2's InDI step is the flow's Euler step: x - d v with v = (x - F)/t. Tol 1e-14 relative to
 * |x| + |F| (v is formed through eps_hat = (x - (1 - t) F)/t: a few roundings, scaled by d/t <= 1). */
START_TEST(test_indi_is_flow_euler) {
    Gmm g = data_gmm_named("gmm");
    Denoiser den = den_gmm(&g);
    Rng rng = rng_seed(7);
    Arena arena;
    arena_init(&arena, 1 << 20);
    for (int i = 0; i < 500; i++) {
        double t = 0.01 + 0.99 * rng_uniform(&rng), d = t * rng_uniform(&rng), F[2], v[2];
        double x[2] = { 2 * rng_normal(&rng), 2 * rng_normal(&rng) };
        den_predict(&den, den_level_flow(t), x, 1, F, NULL, &arena);
        den_velocity(&den, den_level_flow(t), x, 1, v, &arena);
        for (int c = 0; c < 2; c++)
            ck_assert_double_eq_tol(ch2_indi_step(x[c], F[c], t, d), x[c] - d * v[c], 1e-14 * (fabs(x[c]) + fabs(F[c]) + 1e-3));
    }
    arena_free(&arena);
}
END_TEST

/* §flow the RK4 sampler with the exact velocity recovers the mixture: sliced W1 of 2000 samples (32 steps) within
 * the floor's mean + 5 sd over 5 pairs of true sets. */
START_TEST(test_ode_sampler_recovers_mixture) {
    enum { n = 2000 };
    Gmm g = data_gmm_named("gmm");
    Denoiser den = den_gmm(&g);
    Rng rng = rng_seed(10);
    Arena arena;
    arena_init(&arena, 1 << 22);
    double *x = malloc(sizeof(double) * 2 * n);
    float *xf = malloc(sizeof(float) * 2 * n), *a = malloc(sizeof(float) * 2 * n), *b = malloc(sizeof(float) * 2 * n);
    for (int j = 0; j < 2 * n; j++) x[j] = rng_normal(&rng);
    flow_ode(&den, FLOW_RK4, 32, 1.0, 0.0, x, n, NULL, &arena);
    for (int j = 0; j < 2 * n; j++) xf[j] = (float)x[j];
    double s = 0, s2 = 0;
    for (int r = 0; r < 5; r++) {
        data_gmm_sample(&g, &rng, a, n);
        data_gmm_sample(&g, &rng, b, n);
        double w = data_sliced_w1_fixed(a, b, n);
        s += w; s2 += w * w;
    }
    double m = s / 5, sd = sqrt((s2 - 5 * m * m) / 4);
    data_gmm_sample(&g, &rng, a, n);
    ck_assert_double_le(data_sliced_w1_fixed(xf, a, n), m + 5 * sd);
    free(x); free(xf); free(a); free(b);
    arena_free(&arena);
}
END_TEST

Suite *suite_flow(void) {
    Suite *s = suite_create("flow");
    TCase *tc = tcase_create("closed_forms");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_velocity_solves_continuity_equation);
    tcase_add_test(tc, test_cfm_minus_fm_is_constant);
    tcase_add_test(tc, test_likelihood_ode_matches_closed_form);
    tcase_add_test(tc, test_indi_is_flow_euler);
    tcase_add_test(tc, test_ode_sampler_recovers_mixture);
    suite_add_tcase(s, tc);
    return s;
}
