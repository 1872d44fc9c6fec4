/* Tests of common/denoiser: the views x0_hat, eps_hat, score and velocity of one prediction agree with
 * each other and with the closed forms of an exact Gaussian mixture (§2.8, §3.3, §flow). */
#include <check.h>
#include <math.h>
#include <string.h>
#include "autograd.h"
#include "denoiser.h"

enum { N = 7 };
static const double XS[N][2] = { { 0.1, -0.3 }, { 1.2, 0.4 }, { -0.8, 0.9 }, { 0, 0 }, { 2.5, -1.7 }, { -0.2, 0.05 }, { 0.6, 0.6 } };

/* §3.3 Tweedie: the score of the noised mixture, grad log p(x) for x = a x0 + b eps, equals -eps_hat / b
 * from the ideal denoiser. den_score of a mixture is the closed-form gradient (data_gmm_score of
 * data_gmm_noised(g, a, b^2)), den_predict's eps_hat comes from the Wiener filters: independent routes.
 * Tol 1e-10: both are a few dozen double operations on O(1) numbers. Levels: VP, VE and flow. */
START_TEST(test_score_is_tweedie) {
    Gmm g = data_gmm_named("gmm");
    Denoiser den = den_gmm(&g);
    Schedule s;
    sched_init(&s, SCHED_LINEAR, 200);
    DenLevel levels[] = { den_level_vp(&s, 1), den_level_vp(&s, 60), den_level_vp(&s, 200),
                          den_level_ve(0.3), den_level_ve(4.0), den_level_flow(0.05), den_level_flow(0.7) };
    Arena arena;
    arena_init(&arena, 1 << 20);
    for (int k = 0; k < COUNT_OF(levels); k++) {
        DenLevel l = levels[k];
        double score[N * 2];
        double eps[N * 2];
        den_score(&den, l, &XS[0][0], N, score, &arena);
        den_predict(&den, l, &XS[0][0], N, NULL, eps, &arena);
        Gmm gt = data_gmm_noised(&g, l.a, l.s2);
        for (int i = 0; i < N; i++) {
            double want[2];
            data_gmm_score(&gt, XS[i], want);
            for (int d = 0; d < 2; d++) {
                ck_assert(score[2 * i + d] == want[d]);   /* the closed form itself */
                ck_assert_double_eq_tol(den_score_from_eps(l, eps[2 * i + d]), want[d], 1e-10 * (1 + fabs(want[d])));
            }
        }
    }
    ck_assert_uint_eq(arena_pos(&arena), 0);   /* every temporary popped */
    arena_free(&arena);
    sched_free(&s);
}
END_TEST

/* §2.8 the two views of one prediction: x = a x0_hat + b eps_hat exactly, and the scalar conversions are
 * inverse to each other. §flow v = eps_hat - x0_hat. Tol 1e-12 (a few roundings). */
START_TEST(test_views_are_consistent) {
    Gmm g = data_gmm_named("gmm");
    Denoiser den = den_gmm(&g);
    DenLevel l = den_level_flow(0.4);
    Arena arena;
    arena_init(&arena, 1 << 20);
    double x0[N * 2], eps[N * 2], v[N * 2];
    den_predict(&den, l, &XS[0][0], N, x0, eps, &arena);
    den_velocity(&den, l, &XS[0][0], N, v, &arena);
    for (int j = 0; j < N * 2; j++) {
        double x = (&XS[0][0])[j];
        ck_assert_double_eq_tol(l.a * x0[j] + l.b * eps[j], x, 1e-12);
        ck_assert_double_eq_tol(den_x0_from_eps(l, x, den_eps_from_x0(l, x, x0[j])), x0[j], 1e-12);
        ck_assert_double_eq_tol(den_eps_from_score(l, den_score_from_eps(l, eps[j])), eps[j], 1e-12);
        ck_assert_double_eq_tol(v[j], eps[j] - x0[j], 1e-12);
    }
    arena_free(&arena);
}
END_TEST

/* The level's scale does not matter: x = a x0 + b eps and c x = (c a) x0 + (c b) eps have the same x0_hat and
 * eps_hat. This is what lets VP, VE and flow share one denoiser. The VP level at abar and the VE level at
 * sigma = sqrt((1 - abar)/abar) with x / sqrt(abar): same predictions. Tol 1e-10. */
START_TEST(test_levels_differ_by_scale) {
    Gmm g = data_gmm_named("8gaussians");
    Denoiser den = den_gmm(&g);
    Schedule s;
    sched_init(&s, SCHED_COSINE, 100);
    Arena arena;
    arena_init(&arena, 1 << 20);
    for (int t = 5; t <= 100; t += 19) {
        DenLevel vp = den_level_vp(&s, t), ve = den_level_ve(sched_sigma(&s, t));
        double z[N * 2], x0a[N * 2], x0b[N * 2], ea[N * 2], eb[N * 2];
        for (int j = 0; j < N * 2; j++) z[j] = (&XS[0][0])[j] / vp.a;
        den_predict(&den, vp, &XS[0][0], N, x0a, ea, &arena);
        den_predict(&den, ve, z, N, x0b, eb, &arena);
        for (int j = 0; j < N * 2; j++) {
            ck_assert_double_eq_tol(x0a[j], x0b[j], 1e-10);
            ck_assert_double_eq_tol(ea[j], eb[j], 1e-10);
        }
    }
    arena_free(&arena);
    sched_free(&s);
}
END_TEST

/* The finite-set denoiser is the mixture denoiser of equal-weight components with zero variance: with
 * the points of 8gaussians' centres, E[x0 | x] agrees with a mixture whose sd is tiny (1e-6). Tol 1e-8. */
START_TEST(test_points_is_degenerate_gmm) {
    Gmm g = data_gmm_named("8gaussians");
    float pts[64];
    double mu[64], w[32], sd[32];
    for (int k = 0; k < g.K; k++) {
        w[k] = 1.0 / g.K;
        sd[k] = 1e-6;
        for (int d = 0; d < 2; d++) { pts[2 * k + d] = (float)g.mu[k][d]; mu[2 * k + d] = pts[2 * k + d]; }
    }
    Gmm sharp = data_gmm_2d(g.K, w, mu, sd);
    Denoiser a = den_points(pts, g.K, 2), b = den_gmm(&sharp);
    Arena arena;
    arena_init(&arena, 1 << 20);
    double x0a[N * 2], x0b[N * 2];
    den_predict(&a, den_level_ve(0.5), &XS[0][0], N, x0a, NULL, &arena);
    den_predict(&b, den_level_ve(0.5), &XS[0][0], N, x0b, NULL, &arena);
    for (int j = 0; j < N * 2; j++) ck_assert_double_eq_tol(x0a[j], x0b[j], 1e-8);
    arena_free(&arena);
}
END_TEST

/* A network behind the denoiser: at a VP level it is the network itself (eps_hat bit for bit), and at the same
 * level scaled by c (x -> c x, a -> c a, b -> c b, no time given) it finds the same step and the same input
 * up to one rounding of x / c: eps_hat equal to 1e-5 (float network, O(1) outputs). */
START_TEST(test_network_behind_denoiser) {
    Rng rng = rng_seed(5);
    ToyModel m;
    toy_init(&m, 2, &rng);
    Schedule s;
    sched_init(&s, SCHED_LINEAR, 200);
    Denoiser den = den_toy(&m, &s);
    Arena arena;
    arena_init(&arena, 4 << 20);
    float xf[N * 2], ef[N * 2];
    double xs[N * 2], eps[N * 2];
    for (int j = 0; j < N * 2; j++) { xf[j] = (float)(&XS[0][0])[j]; xs[j] = 3.0 * xf[j]; }
    toy_predict(&m, xf, N, 37, ef, &arena);   /* an eps model: toy_init's target */
    DenLevel l = den_level_vp(&s, 37);
    double xd[N * 2];
    for (int j = 0; j < N * 2; j++) xd[j] = xf[j];
    den_predict(&den, l, xd, N, NULL, eps, &arena);
    for (int j = 0; j < N * 2; j++) ck_assert(eps[j] == ef[j]);
    den_predict(&den, den_level(3.0 * l.a, 3.0 * l.b), xs, N, NULL, eps, &arena);
    for (int j = 0; j < N * 2; j++) ck_assert_double_eq_tol(eps[j], ef[j], 1e-5);
    arena_free(&arena);
    sched_free(&s);
    toy_free(&m);
}
END_TEST

/* §flow the map between rectified-flow time and the VP schedule: t = b / (a + b) of a VP step, and back
 * abar = (1 - t)^2 / ((1 - t)^2 + t^2); the VP level and the flow level at x / (a + b) give the same x0_hat and
 * eps_hat. Tol 1e-14 for the scalar map (a few roundings), 1e-10 for predictions (a = 0.006 divides at t = T). */
START_TEST(test_flow_time_is_vp_level) {
    Gmm g = data_gmm_named("gmm");
    Denoiser den = den_gmm(&g);
    Schedule s;
    sched_init(&s, SCHED_LINEAR, 1000);
    Arena arena;
    arena_init(&arena, 1 << 20);
    for (int t = 1; t <= s.T; t += 111) {
        DenLevel vp = den_level_vp(&s, t);
        double tf = den_flow_time(vp);
        ck_assert_double_eq_tol(den_flow_abar(tf), s.alpha_bar[t], 1e-14);
        double xf[N * 2], x0a[N * 2], x0b[N * 2], ea[N * 2], eb[N * 2];
        for (int j = 0; j < N * 2; j++) xf[j] = (&XS[0][0])[j] / (vp.a + vp.b);
        den_predict(&den, vp, &XS[0][0], N, x0a, ea, &arena);
        den_predict(&den, den_level_flow(tf), xf, N, x0b, eb, &arena);
        for (int j = 0; j < N * 2; j++) {
            ck_assert_double_eq_tol(x0a[j], x0b[j], 1e-10);
            ck_assert_double_eq_tol(ea[j], eb[j], 1e-10);
        }
    }
    arena_free(&arena);
    sched_free(&s);
}
END_TEST

/* §flow the ideal denoiser's Jacobian is (a / s2) Cov[x0 | x] (data_gmm_posterior_cov), against central
 * differences of data_gmm_denoise (h = 1e-5: truncation ~1e-10, rounding ~1e-11); tol 1e-7 relative. */
START_TEST(test_posterior_cov_is_denoiser_jacobian) {
    Gmm g = data_gmm_named("gmm");
    double levels[3][2] = { { 0.9, 0.2 }, { 0.5, 0.5 }, { 0.1, 0.95 } };
    for (int k = 0; k < 3; k++)
        for (int i = 0; i < N; i++) {
            double a = levels[k][0], s2 = levels[k][1] * levels[k][1], cov[2][2], h = 1e-5;
            data_gmm_posterior_cov(&g, a, s2, XS[i], cov);
            for (int d = 0; d < 2; d++) {
                double xp[2] = { XS[i][0], XS[i][1] }, xm[2] = { XS[i][0], XS[i][1] }, mp[2], mm[2];
                xp[d] += h; xm[d] -= h;
                data_gmm_denoise(&g, a, s2, xp, mp);
                data_gmm_denoise(&g, a, s2, xm, mm);
                for (int c = 0; c < 2; c++) {
                    double fd = (mp[c] - mm[c]) / (2 * h), want = a / s2 * cov[c][d];
                    ck_assert_double_eq_tol(fd, want, 1e-7 * (1 + fabs(want)));
                }
            }
        }
}
END_TEST

/* §flow den_velocity_div: the exact divergence against central differences of den_velocity, for the mixture
 * (closed form; h = 1e-5, tol 1e-6 relative) and for a velocity network and an eps network (D backward passes).
 * The networks run in float and have Fourier features up to sin(16 pi x): h = 1e-3 balances float rounding
 * (1e-7 / h = 1e-4) against truncation (measured 1.1e-4 at h = 1e-3, 9e-4 at 3e-3: it goes as h^2); tol 1e-3.
 * Also the ends t = 0, 1 of the mixture: div = -2, +2 exactly. */
START_TEST(test_velocity_divergence) {
    Gmm g = data_gmm_named("gmm");
    Rng rng = rng_seed(8);
    Schedule s;
    sched_init(&s, SCHED_LINEAR, 1000);
    ToyModel vnet, enet;
    toy_init(&vnet, 2, &rng);
    toy_init(&enet, 2, &rng);
    Denoiser dens[3] = { den_gmm(&g), den_toy_flow(&vnet), den_toy(&enet, &s) };
    Arena arena;
    arena_init(&arena, 1 << 22);
    for (int k = 0; k < 3; k++)
        for (double t = 0.1; t < 0.95; t += 0.2)
            for (int i = 0; i < N; i++) {
                DenLevel l = den_level_flow(t);
                double div, v[2], h = k ? 1e-3 : 1e-5, fd = 0;
                den_velocity_div(&dens[k], l, XS[i], 1, v, &div, &arena);
                for (int d = 0; d < 2; d++) {
                    double xp[2] = { XS[i][0], XS[i][1] }, xm[2] = { XS[i][0], XS[i][1] }, vp[2], vm[2];
                    xp[d] += h; xm[d] -= h;
                    den_velocity(&dens[k], l, xp, 1, vp, &arena);
                    den_velocity(&dens[k], l, xm, 1, vm, &arena);
                    fd += (vp[d] - vm[d]) / (2 * h);
                }
                ck_assert_double_eq_tol(div, fd, (k ? 1e-3 : 1e-6) * (1 + fabs(fd)));
            }
    double div;
    den_velocity_div(&dens[0], den_level_flow(0.0), XS[1], 1, NULL, &div, &arena);
    ck_assert_double_eq_tol(div, -2.0, 1e-14);
    den_velocity_div(&dens[0], den_level_flow(1.0), XS[1], 1, NULL, &div, &arena);
    ck_assert_double_eq_tol(div, 2.0, 1e-14);
    ck_assert_uint_eq(arena_pos(&arena), 0);
    arena_free(&arena);
    toy_free(&vnet);
    toy_free(&enet);
    sched_free(&s);
}
END_TEST

/* §flow a velocity network behind the denoiser: eps_hat - x0_hat is the network's output and
 * (1 - t) x0_hat + t eps_hat = x, at every scale of the level (x / (a + b) is what the network sees). Tol 1e-6
 * (float network, double conversions). */
START_TEST(test_flow_network_views) {
    Rng rng = rng_seed(9);
    ToyModel m;
    toy_init(&m, 2, &rng);
    Denoiser den = den_toy_flow(&m);
    Arena arena;
    arena_init(&arena, 1 << 22);
    double t = 0.3, x0[N * 2], eps[N * 2], v[N * 2], xs[N * 2], x0b[N * 2], epsb[N * 2];
    den_predict(&den, den_level_flow(t), &XS[0][0], N, x0, eps, &arena);
    float xf[N * 2], out[N * 2], tt[N];
    for (int j = 0; j < N * 2; j++) xf[j] = (float)(&XS[0][0])[j];
    for (int i = 0; i < N; i++) tt[i] = (float)(TOY_FLOW_TIME * t);
    AgTape tape = ag_tape_no_grad(&arena, 64);
    AgNode *o = toy_forward(&m, &tape, xf, tt, N);
    memcpy(out, o->val.data, sizeof out);
    arena_pop_to(&arena, 0);
    den_velocity(&den, den_level_flow(t), &XS[0][0], N, v, &arena);
    for (int j = 0; j < N * 2; j++) {
        ck_assert_double_eq_tol(v[j], out[j], 1e-6);
        ck_assert_double_eq_tol((1 - t) * x0[j] + t * eps[j], (&XS[0][0])[j], 1e-12);
        xs[j] = 2.5 * (&XS[0][0])[j];
    }
    den_predict(&den, den_level(2.5 * (1 - t), 2.5 * t), xs, N, x0b, epsb, &arena);
    for (int j = 0; j < N * 2; j++) {
        ck_assert_double_eq_tol(x0b[j], x0[j], 1e-6);
        ck_assert_double_eq_tol(epsb[j], eps[j], 1e-6);
    }
    arena_free(&arena);
    toy_free(&m);
}
END_TEST

/* A toy model trained on x0 (§2.7, target TOY_TARGET_X0) sits behind the same denoiser: its output is x0_hat, and
 * den_predict returns it as x0_hat (through eps_hat = (x - a x0_hat)/b and back) and the matching eps_hat. Tol: the
 * round trip loses ~4 roundings of (|x| + a |x0_hat|)/a, below 1e-13 for these sizes. */
START_TEST(test_x0_model_behind_denoiser) {
    enum { NX = 5 };
    Rng rng = rng_seed(8);
    ToyModel m;
    toy_init(&m, 2, &rng);
    m.target = TOY_TARGET_X0;
    Schedule s;
    sched_init(&s, SCHED_LINEAR, 200);
    Denoiser den = den_toy(&m, &s);
    Arena arena;
    arena_init(&arena, 4 << 20);
    float xf[NX * 2], out[NX * 2];
    double xd[NX * 2], x0[NX * 2], eps[NX * 2];
    for (int j = 0; j < NX * 2; j++) { xf[j] = (float)rng_normal(&rng); xd[j] = xf[j]; }
    static const int ts[3] = { 1, 37, 200 };
    for (int k = 0; k < 3; k++) {
        toy_predict(&m, xf, NX, ts[k], out, &arena);
        DenLevel l = den_level_vp(&s, ts[k]);
        den_predict(&den, l, xd, NX, x0, eps, &arena);
        for (int j = 0; j < NX * 2; j++) {
            ck_assert_double_eq_tol(x0[j], out[j], 1e-13 * (fabs(xd[j]) + fabs(out[j])) / l.a);
            ck_assert_double_eq_tol(eps[j], (xd[j] - l.a * out[j]) / l.b, 1e-12 * (fabs(xd[j]) + fabs(out[j])) / l.b);
        }
    }
    arena_free(&arena);
    sched_free(&s);
    toy_free(&m);
}
END_TEST

/* A model that gives the score (DEN_SCORE_FN) is a denoiser like the others: for standard Gaussian data,
 * p_l = N(0, (a^2 + b^2) I) and s(x) = -x / (a^2 + b^2); through eps_hat = -b s its x0_hat must be the exact
 * E[x0 | x] of the one-component mixture N(0, I). Also: the mixture's score at b = 0 is the clean law's own,
 * and den_predict_f is den_predict on the same (float) numbers. Tol 1e-12 (a few roundings). */
static void gauss_score(const void *model, DenLevel l, const double *x, int n, double *s, Arena *arena) {
    (void)model; (void)arena;
    for (int j = 0; j < 2 * n; j++) s[j] = -x[j] / (l.a * l.a + l.s2);
}
START_TEST(test_score_models_and_float_states) {
    static const double w = 1.0, mu[2] = { 0, 0 }, sd = 1.0;
    Gmm one = data_gmm_2d(1, &w, mu, &sd), g = data_gmm_named("gmm");
    Denoiser fn = den_score_fn(gauss_score, NULL, 2), exact = den_gmm(&one), mix = den_gmm(&g);
    Arena arena;
    arena_init(&arena, 1 << 20);
    DenLevel levels[] = { den_level_ve(0.7), den_level_flow(0.3), den_level_s2(0.8, 0.36) };
    for (int k = 0; k < COUNT_OF(levels); k++) {
        double x0a[N * 2], x0b[N * 2];
        den_predict(&fn, levels[k], &XS[0][0], N, x0a, NULL, &arena);
        den_predict(&exact, levels[k], &XS[0][0], N, x0b, NULL, &arena);
        for (int j = 0; j < N * 2; j++) ck_assert_double_eq_tol(x0a[j], x0b[j], 1e-12);
    }
    double s0[N * 2], want[2];
    den_score(&mix, den_level_ve(0.0), &XS[0][0], N, s0, &arena);
    for (int i = 0; i < N; i++) {
        data_gmm_score(&g, XS[i], want);
        for (int d = 0; d < 2; d++) ck_assert(s0[2 * i + d] == want[d]);
    }
    float xf[N * 2];
    double xd[N * 2], ea[N * 2], eb[N * 2];
    for (int j = 0; j < N * 2; j++) xd[j] = xf[j] = (float)(&XS[0][0])[j];
    den_predict_f(&mix, den_level_ve(0.4), xf, N, NULL, ea, &arena);
    den_predict(&mix, den_level_ve(0.4), xd, N, NULL, eb, &arena);
    for (int j = 0; j < N * 2; j++) ck_assert(ea[j] == eb[j]);
    ck_assert_uint_eq(arena_pos(&arena), 0);
    arena_free(&arena);
}
END_TEST

/* §d.4 den_sample_ode's two orders against a fine reference run of the same ODE (order 2, the flow path in 4000
 * steps; the cosine VP schedule's 1000 steps), on the exact mixture denoiser, from 48 fixed x_T (below the
 * exact denoiser's OpenMP threshold of 64 rows: serial and fast). Measured RMS errors from K = 20 to 320: order 1
 * halves per doubling (ratio 1.91-1.99: Euler, first order); order 2 falls 60x (flow) and 328x (VP) over the 16x
 * steps (first order would give 16x), and at K = 320 it is 13x and 31x closer than order 1. Bounds: ratio per
 * doubling in [1.8, 2.2]; over 16x at least 40x; at K = 320 10x. */
START_TEST(test_sample_ode_orders) {
    enum { NX = 48, KMAX = 320 };
    Gmm g = data_gmm_named("gmm");
    Denoiser den = den_gmm(&g);
    Schedule s;
    sched_init(&s, SCHED_COSINE, 1000);
    Arena arena;
    arena_init(&arena, 1 << 24);
    static DenLevel l[4001];
    double x_T[NX * 2], ref[NX * 2], x[NX * 2];
    Rng rng = rng_seed(3);
    for (int j = 0; j < NX * 2; j++) x_T[j] = rng_normal(&rng);
    for (int vp = 0; vp < 2; vp++) {
        memcpy(ref, x_T, sizeof ref);
        if (vp) den_ladder_vp_uniform(&s, 1000, l);
        else den_ladder_flow(4000, l);
        den_sample_ode(&den, l, vp ? 1000 : 4000, 2, ref, NX, &arena);
        double err[3][KMAX + 1];
        for (int order = 1; order <= 2; order++)
            for (int K = 20; K <= KMAX; K *= 2) {
                memcpy(x, x_T, sizeof x);
                if (vp) den_ladder_vp_uniform(&s, K, l);
                else den_ladder_flow(K, l);
                den_sample_ode(&den, l, K, order, x, NX, &arena);
                double e = 0;
                for (int j = 0; j < NX * 2; j++) e += (x[j] - ref[j]) * (x[j] - ref[j]);
                err[order][K] = sqrt(e / (NX * 2));
                if (order == 1 && K > 20) {
                    double ratio = err[1][K / 2] / err[1][K];
                    ck_assert_msg(ratio > 1.8 && ratio < 2.2, "order 1, K %d -> %d: error ratio %g, not first order", K / 2, K, ratio);
                }
            }
        ck_assert_msg(err[2][20] / err[2][KMAX] > 40, "order 2 gained only %gx over 16x the steps", err[2][20] / err[2][KMAX]);
        ck_assert_msg(err[1][KMAX] / err[2][KMAX] > 10, "order 2 only %gx closer at K = %d", err[1][KMAX] / err[2][KMAX], KMAX);
    }
    ck_assert_uint_eq(arena_pos(&arena), 0);
    arena_free(&arena);
    sched_free(&s);
}
END_TEST

/* §4.5 predictor-corrector on a 1D Gaussian x0 ~ N(m, s^2), exact denoiser, den_ladder_sigma(80, 0.4, 50). The
 * sampler ends with Tweedie at sigma_min: x0_hat = m + s^2 / (s^2 + sigma^2) (x_ve - m) with x_ve ~ N(m, s^2 +
 * sigma^2), so its law is N(m, s^4 / (s^2 + sigma^2)) = N(0.5, 0.512) exactly when the level's law is right.
 * (1) M = 0 is den_sample_ode order 1, bit for bit. (2) From the right start N(0, I) the PC samples have that mean
 * and variance: 20000 draws give 5 s.e. = 0.025 and 0.026; the Langevin step's own bias (a stationary variance
 * v / (1 - tau / (2 v)), up to 10% where v ~ b^2, 2% at sigma_min) and the 50 levels' first-order error add up to
 * 0.02 each way (measured: PC 0.530, ODE 0.487), so 0.045. (3) From a wrong start N(0, 4 I), the ODE carries the
 * error to the end (measured variance 1.95) while the corrector pulls every level back (each step shrinks a
 * variance excess by (1 - tau / v)^2 ~ 0.64 at high noise): PC ends at 0.528, within the same 0.045. (4) The same
 * holds with DPM-Solver++(2M) as the predictor (the images' sampler): measured 0.552 from either start (its ODE
 * alone: 0.508 and 2.03), inside the same bounds. */
START_TEST(test_sample_pc_gaussian) {
    enum { NS = 20000, K = 50 };
    const double m = 0.5, sd = 0.8, smin = 0.4, var = pow(sd, 4) / (sd * sd + smin * smin);
    Gmm g = data_gmm_1d(1, (double[]){ 1.0 }, &m, &sd);
    Denoiser den = den_gmm(&g);
    DenLevel l[K + 1];
    den_ladder_sigma(80, smin, K, l);
    ck_assert(l[K].b == 0 && fabs(l[K - 1].b / l[K - 1].a - smin) < 1e-12 && fabs(l[0].b / l[0].a - 80) < 1e-9);
    Arena arena;
    arena_init(&arena, 1 << 24);
    static double x[NS], x2[NS], y[NS];
    Rng rng = rng_seed(5), unused = rng_seed(6);
    for (int start = 1; start <= 2; start++) {
        for (int i = 0; i < NS; i++) x[i] = y[i] = start * rng_normal(&rng);
        den_sample_ode(&den, l, K, 1, y, NS, &arena);
        if (start == 1) {   /* (1) no corrector: the ODE exactly, and no random numbers drawn */
            static double z[NS];
            memcpy(z, x, sizeof z);
            Rng before = unused;
            den_sample_pc(&den, l, K, 1, 0, 0.2, z, NS, &unused, &arena);
            ck_assert(memcmp(z, y, sizeof z) == 0 && memcmp(&before, &unused, sizeof before) == 0);
        }
        memcpy(x2, x, sizeof x2);
        den_sample_pc(&den, l, K, 1, 1, 0.2, x, NS, &rng, &arena);
        den_sample_pc(&den, l, K, 2, 1, 0.2, x2, NS, &rng, &arena);   /* (4) the 2M predictor */
        double mx, vx, my, vy, m2, v2;
        data_moments_d(x, NS, 1, &mx, &vx);
        data_moments_d(x2, NS, 1, &m2, &v2);
        data_moments_d(y, NS, 1, &my, &vy);
        ck_assert_msg(fabs(mx - m) < 0.025 && fabs(vx - var) < 0.045, "start %d: PC mean %g var %g, want %g %g", start, mx, vx, m, var);
        ck_assert_msg(fabs(m2 - m) < 0.025 && fabs(v2 - var) < 0.045, "start %d: PC (2M) mean %g var %g, want %g %g", start, m2, v2, m, var);
        if (start == 1) ck_assert_msg(fabs(vy - var) < 0.045, "ODE from the right start: var %g, want %g", vy, var);
        else ck_assert_msg(vy > 3 * var, "ODE from N(0, 4): var %g should keep the start's excess (~4 x %g)", vy, var);
    }
    ck_assert_uint_eq(arena_pos(&arena), 0);
    arena_free(&arena);
}
END_TEST

Suite *suite_denoiser(void) {
    Suite *s = suite_create("denoiser");
    TCase *tc = tcase_create("views");
    tcase_add_test(tc, test_score_is_tweedie);
    tcase_add_test(tc, test_views_are_consistent);
    tcase_add_test(tc, test_levels_differ_by_scale);
    tcase_add_test(tc, test_points_is_degenerate_gmm);
    tcase_add_test(tc, test_network_behind_denoiser);
    tcase_add_test(tc, test_x0_model_behind_denoiser);
    tcase_add_test(tc, test_flow_time_is_vp_level);
    tcase_add_test(tc, test_posterior_cov_is_denoiser_jacobian);
    tcase_add_test(tc, test_velocity_divergence);
    tcase_add_test(tc, test_flow_network_views);
    tcase_add_test(tc, test_score_models_and_float_states);
    tcase_add_test(tc, test_sample_ode_orders);
    tcase_add_test(tc, test_sample_pc_gaussian);
    suite_add_tcase(s, tc);
    return s;
}
