/* ch4_sde.c: PDF chapter 4, stochastic differential equations, on 1D and 2D Gaussian mixtures.
 *
 *   make ch4 && ./ch4 --list          the cells, one per section
 *   ./ch4                             the whole chapter (about 45 s on 2 busy cores, 26 s of CPU)
 *   ./ch4 --cell solvers --steps 6000 train the 2D model of the solvers cell longer
 *
 * Sections: 4.1 motivating examples (gradient descent -> ODE, Langevin -> SDE, Brownian paths) ·
 * 4.2 forward and reverse SDE (Anderson) · 4.3 the SDE of DDPM (variance preserving) · 4.4 the SDE of
 * SMLD (variance exploding) · 4.5 numerical methods (Euler-Maruyama, predictor-corrector, probability-flow
 * ODE with Euler, Heun and classical RK4; convergence orders 1, 2, 4; quality versus steps) · 4.5t trajectories of the reverse SDE
 * and of the probability-flow ODE from the same noise · 4.5i predictor-corrector on Fashion-MNIST with chapter 2's U-Net.
 * Figures (figures/): ch4_gd_vs_ode, ch4_brownian_paths, ch4_forward_reverse_1d, ch4_forward_reverse_hist,
 * ch4_ddpm_vs_vp, ch4_vp_vs_ve, ch4_convergence_orders, ch4_solver_quality, ch4_solver_samples,
 * ch4_sde_vs_pfode, ch4_fmnist_pc.
 * Uses: cli, plot, data (exact noised mixtures), denoiser (the score: exact mixture or trained network, one
 * argument; den_sample_pc), schedule, rng, tensor, toymodel, unet_train, fid and fmnist (the image cell).
 *
 * Shapes: n particles, D data dimension (1 or 2); particles are double arrays (n, D).
 * Time: continuous t in [0, 1]; the VP SDE has beta(t) linear 0.1..20, the VE SDE sigma(t) = 0.01 (1000)^t.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "ch2_ddpm.h"
#include "ch4_sde.h"
#include "cli.h"
#include "data.h"
#include "fid.h"
#include "fmnist.h"
#include "image.h"
#include "plot.h"
#include "schedule.h"
#include "toymodel.h"
#include "unet_train.h"

/* n draws (n, D) of the law of a x0 + sqrt(s2) eps, x0 ~ g: exactly p_t (a = 1, s2 = 0: draws of g itself, in double). */
static void sample_noised(const Gmm *g, double a, double s2, double *x, int n, Rng *rng) {
    Gmm gt = data_gmm_noised(g, a, s2);
    for (int i = 0; i < n; i++) {   /* one draw at a time: data_gmm_sample draws point by point, so the same stream */
        float xi[2];
        data_gmm_sample(&gt, rng, xi, 1);
        for (int d = 0; d < g->D; d++) x[(size_t)i * g->D + d] = xi[d];
    }
}

/* n draws (n, D) of the mixture g with exactly round(w_k n) points in component k: a reference sample without the
 * multinomial noise of the counts per mode, which dominates sliced W1 between two small samples of a mixture. */
static void sample_stratified(const Gmm *g, float *x, int n, Rng *rng) {
    int start = 0;
    for (int k = 0; k < g->K; k++) {
        int nk = k == g->K - 1 ? n - start : (int)lround(g->w[k] * n);
        Gmm one = *g;
        one.K = 1;
        one.w[0] = 1.0;
        memcpy(one.mu[0], g->mu[k], sizeof one.mu[0]);
        memcpy(one.cov[0], g->cov[k], sizeof one.cov[0]);
        data_gmm_sample(&one, rng, x + (size_t)start * g->D, nk);
        start += nk;
    }
}

/* The 1D mixture that is coordinate d of a 2D isotropic mixture (for heat maps of a 2D process). */
static Gmm marginal_1d(const Gmm *g, int d) {
    double w[GMM_MAX], mu[GMM_MAX], sd[GMM_MAX];
    for (int k = 0; k < g->K; k++) { w[k] = g->w[k]; mu[k] = g->mu[k][d]; sd[k] = sqrt(g->cov[k][d][d]); }
    return data_gmm_1d(g->K, w, mu, sd);
}

static double gmm_pdf_1d(const Gmm *g, double x) { return exp(data_gmm_logpdf(g, &x)); }

/* ---- the two SDEs of the chapter ---------------------------------------- */

Ch4Sde ch4_vp(void) { return (Ch4Sde){ CH4_VP, 0.1, 20.0, 0.0, 0.0 }; }
Ch4Sde ch4_ve(void) { return (Ch4Sde){ CH4_VE, 0.0, 0.0, 0.01, 10.0 }; }

double ch4_vp_beta(const Ch4Sde *sde, double t) {
    return sde->beta_min + t * (sde->beta_max - sde->beta_min);   /* §4.3 beta(t), linear */
}

double ch4_vp_B(const Ch4Sde *sde, double t) {
    return sde->beta_min * t + 0.5 * (sde->beta_max - sde->beta_min) * t * t;   /* §4.3 B(t) = int_0^t beta */
}

double ch4_ve_sigma(const Ch4Sde *sde, double t) {
    return sde->sigma_min * pow(sde->sigma_max / sde->sigma_min, t);   /* §4.4 geometric noise levels */
}

double ch4_sde_drift(const Ch4Sde *sde, double t) {
    return sde->kind == CH4_VP ? -0.5 * ch4_vp_beta(sde, t) : 0.0;   /* §4.3 f = -beta x / 2;  §4.4 f = 0 */
}

double ch4_sde_g2(const Ch4Sde *sde, double t) {
    if (sde->kind == CH4_VP) return ch4_vp_beta(sde, t);              /* §4.3 g^2 = beta(t) */
    double s = ch4_ve_sigma(sde, t);
    return 2.0 * s * s * log(sde->sigma_max / sde->sigma_min);       /* §4.4 g^2 = d sigma^2 / dt */
}

void ch4_sde_marginal(const Ch4Sde *sde, double t, double *a, double *s2) {
    if (sde->kind == CH4_VP) {   /* §4.3 mean x0 exp(-B/2), variance 1 - exp(-B) */
        double B = ch4_vp_B(sde, t);
        *a = exp(-0.5 * B);
        *s2 = -expm1(-B);        /* 1 - exp(-B) without cancellation at small t */
    } else {                     /* §4.4 mean x0, variance sigma(t)^2 - sigma(0)^2 */
        double s = ch4_ve_sigma(sde, t);
        *a = 1.0;
        *s2 = s * s - sde->sigma_min * sde->sigma_min;
    }
}

/* ---- the score of p_t: exact for a mixture, or a trained eps network ----- */

void ch4_sched_vp(Schedule *s, const Ch4Sde *sde, int T) {
    sched_init_linear(s, T, 1e-4, 0.02);   /* allocates; the values are replaced below */
    for (int i = 1; i <= T; i++) {
        /* alpha_bar[i] = exp(-B(i/T)), so alpha[i] = exp(-(B(i/T) - B((i-1)/T))): the VP SDE sampled at t = i/T */
        s->alpha_bar[i] = exp(-ch4_vp_B(sde, (double)i / T));
        s->alpha[i] = exp(-(ch4_vp_B(sde, (double)i / T) - ch4_vp_B(sde, (double)(i - 1) / T)));
        s->beta[i] = 1.0 - s->alpha[i];
    }
}

DenLevel ch4_level(const Ch4Sde *sde, const Denoiser *den, double t) {
    if (den->sched) {   /* a network: the nearest discrete step of its schedule, alpha_bar[i] = exp(-B(i/T)) */
        int T = den->sched->T, step = (int)lround(t * T);
        return den_level_vp(den->sched, step < 1 ? 1 : step > T ? T : step);
    }
    double a, s2;   /* §4.2 exact: p_t = law of a(t) x0 + sqrt(s2(t)) eps, again a mixture */
    ch4_sde_marginal(sde, t, &a, &s2);
    return den_level_s2(a, s2);
}

/* The reverse-time solvers' state: the score's denoiser and SDE, scratch, and the evaluations made. */
typedef struct {
    const Denoiser *den;
    const Ch4Sde   *sde;
    Arena          *arena;
    long            nfe;
} Rev;

/* §4.2 s = grad log p_t(x) = -eps_hat / sqrt(1 - abar) (denoiser.h), one batch evaluation. */
static void rev_score(Rev *sc, const double *x, int n, double t, double *score) {
    sc->nfe++;
    den_score(sc->den, ch4_level(sc->sde, sc->den, t), x, n, score, sc->arena);
}

/* ---- solvers: forward Euler-Maruyama, and the reverse-time integrators ---- */

const char *const CH4_SOLVER_NAMES[5] = { "Euler-Maruyama", "predictor-corrector", "PF-ODE Euler", "PF-ODE Heun", "PF-ODE RK4" };

int ch4_solver_nfe(Ch4Solver solver) { return solver == CH4_ODE_RK4 ? 4 : solver == CH4_PC || solver == CH4_ODE_HEUN ? 2 : 1; }

void ch4_forward_em(const Ch4Sde *sde, double *x, int n, int D, double t0, double t1, int steps, Rng *rng, double *traj) {
    double h = (t1 - t0) / steps;
    size_t nd = (size_t)n * D;
    if (traj) memcpy(traj, x, sizeof(double) * nd);
    for (int k = 0; k < steps; k++) {
        double t = t0 + k * h, c = ch4_sde_drift(sde, t), g = sqrt(ch4_sde_g2(sde, t));
        for (size_t i = 0; i < nd; i++)
            x[i] += c * x[i] * h + g * sqrt(h) * rng_normal(rng);   /* §4.2 x_{t+h} = x_t + f h + g sqrt(h) z */
        if (traj) memcpy(traj + (size_t)(k + 1) * nd, x, sizeof(double) * nd);
    }
}

/* §4.2 v = f(x, t) - lambda g(t)^2 s(x, t): lambda = 1 is the reverse SDE's drift, lambda = 1/2 the PF-ODE's. */
static void reverse_velocity(Rev *sc, const double *x, int n, int D, double t, double lambda, double *s, double *v) {
    rev_score(sc, x, n, t, s);
    double c = ch4_sde_drift(sc->sde, t), g2 = ch4_sde_g2(sc->sde, t);
    for (size_t i = 0; i < (size_t)n * D; i++) v[i] = c * x[i] - lambda * g2 * s[i];
}

/* §4.2 one Euler-Maruyama step of the reverse SDE dx = [f - g^2 s] dt + g dw_bar, from t to t - h. */
static void em_step(Rev *sc, double *x, int n, int D, double t, double h, Rng *rng, double *s, double *v) {
    reverse_velocity(sc, x, n, D, t, 1.0, s, v);
    double g = sqrt(ch4_sde_g2(sc->sde, t));
    for (size_t i = 0; i < (size_t)n * D; i++) x[i] += -v[i] * h + g * sqrt(h) * rng_normal(rng);
}

/* §4.5 Langevin corrector at fixed t: x += tau s + sqrt(2 tau) z. Step from Song et al.'s signal-to-noise rule
 * tau = 2 (r |z| / |s|)^2, norms averaged over the batch, r = 0.16: the move stays a fixed fraction of the noise. */
static void langevin_corrector(Rev *sc, double *x, int n, int D, double t, Rng *rng, double *s, double *z) {
    const double r = 0.16;
    rev_score(sc, x, n, t, s);
    size_t nd = (size_t)n * D;
    double zz = 0, ss = 0;
    for (size_t i = 0; i < nd; i++) { z[i] = rng_normal(rng); zz += z[i] * z[i]; ss += s[i] * s[i]; }
    double tau = 2.0 * r * r * zz / ss;
    for (size_t i = 0; i < nd; i++) x[i] += tau * s[i] + sqrt(2.0 * tau) * z[i];
}

/* §4.5 Euler on the probability-flow ODE dx = [f - g^2 s / 2] dt, from t to t - h. */
static void ode_euler_step(Rev *sc, double *x, int n, int D, double t, double h, double *s, double *v) {
    reverse_velocity(sc, x, n, D, t, 0.5, s, v);
    for (size_t i = 0; i < (size_t)n * D; i++) x[i] -= v[i] * h;
}

/* §4.5 Heun (explicit trapezoid) on the probability-flow ODE: Euler predictor, then the average of both slopes. */
static void ode_heun_step(Rev *sc, double *x, int n, int D, double t, double h, double *s, double *v, double *x2, double *v2) {
    size_t nd = (size_t)n * D;
    reverse_velocity(sc, x, n, D, t, 0.5, s, v);
    for (size_t i = 0; i < nd; i++) x2[i] = x[i] - v[i] * h;
    reverse_velocity(sc, x2, n, D, t - h, 0.5, s, v2);
    for (size_t i = 0; i < nd; i++) x[i] -= 0.5 * (v[i] + v2[i]) * h;
}

/* §4.5 classical Runge-Kutta on the probability-flow ODE, from t to t - h: four slopes k1..k4 (in v, v2, v3, v4),
 * x -= h (k1 + 2 k2 + 2 k3 + k4) / 6 with k1 = v(x, t), k2 = v(x - h k1/2, t - h/2), k3 = v(x - h k2/2, t - h/2),
 * k4 = v(x - h k3, t - h). */
static void ode_rk4_step(Rev *sc, double *x, int n, int D, double t, double h, double *s, double *v, double *x2,
                         double *v2, double *v3, double *v4) {
    size_t nd = (size_t)n * D;
    reverse_velocity(sc, x, n, D, t, 0.5, s, v);
    for (size_t i = 0; i < nd; i++) x2[i] = x[i] - 0.5 * h * v[i];
    reverse_velocity(sc, x2, n, D, t - 0.5 * h, 0.5, s, v2);
    for (size_t i = 0; i < nd; i++) x2[i] = x[i] - 0.5 * h * v2[i];
    reverse_velocity(sc, x2, n, D, t - 0.5 * h, 0.5, s, v3);
    for (size_t i = 0; i < nd; i++) x2[i] = x[i] - h * v3[i];
    reverse_velocity(sc, x2, n, D, t - h, 0.5, s, v4);
    for (size_t i = 0; i < nd; i++) x[i] -= h * (v[i] + 2 * v2[i] + 2 * v3[i] + v4[i]) / 6;
}

long ch4_reverse(const Denoiser *den, const Ch4Sde *sde, Ch4Solver solver, double *x, int n, double t_start, double t_end,
                 int steps, Rng *rng, Arena *arena, double *traj) {
    Rev rev = { den, sde, arena, 0 }, *sc = &rev;
    int D = den->D;
    size_t nd = (size_t)n * D, mark = arena_pos(arena);   /* scratch once per solve, given back on return */
    double *s = arena_push_no_zero(arena, sizeof(double) * nd * 6), *v = s + nd, *x2 = v + nd, *v2 = x2 + nd, *v3 = v2 + nd, *v4 = v3 + nd;
    double h = (t_start - t_end) / steps;
    if (traj) memcpy(traj, x, sizeof(double) * nd);
    for (int k = 0; k < steps; k++) {
        double t = t_start - k * h;
        if (solver == CH4_EM) em_step(sc, x, n, D, t, h, rng, s, v);
        else if (solver == CH4_PC) {
            em_step(sc, x, n, D, t, h, rng, s, v);                  /* predictor: the reverse-SDE step */
            langevin_corrector(sc, x, n, D, t - h, rng, s, v);      /* corrector: Langevin at the new time */
        } else if (solver == CH4_ODE_EULER) ode_euler_step(sc, x, n, D, t, h, s, v);
        else if (solver == CH4_ODE_HEUN) ode_heun_step(sc, x, n, D, t, h, s, v, x2, v2);
        else ode_rk4_step(sc, x, n, D, t, h, s, v, x2, v2, v3, v4);
        if (traj) memcpy(traj + (size_t)(k + 1) * nd, x, sizeof(double) * nd);
    }
    arena_pop_to(arena, mark);
    return rev.nfe;
}

/* ---- 4.1  Motivating examples ------------------------------------------- */

/* The quadratic f(x) = 1/2 (A1 x^2 + A2 y^2) of this section; its ODE solution is x(t) = exp(-A t) x0. */
enum { GD_A1 = 1, GD_A2 = 5 };

double ch4_gd_error(double a1, double a2, const double *x0, double tau, double T) {
    int n = (int)lround(T / tau);
    double x = x0[0], y = x0[1];
    for (int i = 0; i < n; i++) {
        x -= tau * a1 * x;   /* §4.1 x_i = x_{i-1} - tau grad f(x_{i-1}) */
        y -= tau * a2 * y;
    }
    double ex = x0[0] * exp(-a1 * T), ey = x0[1] * exp(-a2 * T);   /* §4.1 dx/dt = -grad f(x) */
    return hypot(x - ex, y - ey);
}

/* Left panel of ch4_gd_vs_ode: level sets of f, the ODE path, gradient-descent iterates at two step sizes. */
static void gd_blocks(Plot *p, const double *x0, const double *taus, int n_tau) {
    plot_block(p, "x y: level sets f = 0.05, 0.2, 0.5, 1, 2, 3.5");
    static const double lv[6] = { 0.05, 0.2, 0.5, 1.0, 2.0, 3.5 };
    for (int l = 0; l < 6; l++) {
        for (int k = 0; k <= 100; k++) {
            double th = 2 * PI * k / 100;
            fprintf(plot_dat(p), "%.5f %.5f\n", sqrt(2 * lv[l] / GD_A1) * cos(th), sqrt(2 * lv[l] / GD_A2) * sin(th));
        }
        fprintf(plot_dat(p), "\n");
    }
    plot_block(p, "x y: the gradient flow x(t) = exp(-A t) x0, t in [0, 3]");
    for (int k = 0; k <= 300; k++)
        fprintf(plot_dat(p), "%.5f %.5f\n", x0[0] * exp(-GD_A1 * k * 0.01), x0[1] * exp(-GD_A2 * k * 0.01));
    for (int j = 0; j < n_tau; j++) {
        plot_block(p, "x y: gradient-descent iterates");
        double x = x0[0], y = x0[1];
        for (int i = 0; i <= (int)lround(3.0 / taus[j]); i++) {
            fprintf(plot_dat(p), "%.5f %.5f\n", x, y);
            x -= taus[j] * GD_A1 * x;
            y -= taus[j] * GD_A2 * y;
        }
    }
}

/* §4.1 Langevin x_i = x_{i-1} - tau grad f + sqrt(2 tau) z on the same f: the Euler-Maruyama step of
 * dx = -grad f dt + sqrt(2) dw, whose stationary law is p(x) ~ exp(-f(x)). Writes 3 paths (blocks) and
 * leaves the end points of n chains in end (n, 2). */
static void langevin_run(Plot *p, const double *x0, double tau, int steps, double *end, int n, Rng *rng) {
    for (int i = 0; i < n; i++) {
        double x = x0[0], y = x0[1];
        if (i < 3) plot_block(p, "x y: one Langevin path");
        for (int k = 0; k < steps; k++) {
            if (i < 3 && k < 400) fprintf(plot_dat(p), "%.5f %.5f\n", x, y);
            x += -tau * GD_A1 * x + sqrt(2 * tau) * rng_normal(rng);
            y += -tau * GD_A2 * y + sqrt(2 * tau) * rng_normal(rng);
        }
        end[2 * i] = x;
        end[2 * i + 1] = y;
    }
}

static int gd_figure(Ctx *ctx) {
    enum { N = 5000, STEPS = 2000 };
    const double x0[2] = { 2.0, 1.0 }, taus[2] = { 0.05, 0.35 }, tau_l = 0.01;
    Plot p;
    if (plot_open(&p, ctx->out, "ch4_gd_vs_ode")) return 1;
    gd_blocks(&p, x0, taus, 2);
    double *end = cli_alloc(ctx, sizeof(double) * 2 * N);
    langevin_run(&p, x0, tau_l, STEPS, end, N, &ctx->rng);
    plot_block(&p, "x y: end points of Langevin chains (every 5th)");
    for (int i = 0; i < N; i += 5) fprintf(plot_dat(&p), "%.5f %.5f\n", end[2 * i], end[2 * i + 1]);
    /* The discrete chain is an AR(1) in each coordinate: stationary Var = 1 / (a (1 - tau a / 2)), exactly. */
    for (int d = 0; d < 2; d++) {
        double m, v, a = d == 0 ? GD_A1 : GD_A2, want = 1.0 / (a * (1 - tau_l * a / 2));
        data_moments_d(end + d, N, 2, &m, &v);
        cli_check(ctx, d == 0 ? "Langevin Var x vs 1/(a1 (1 - tau a1/2))" : "Langevin Var y vs 1/(a2 (1 - tau a2/2))",
                  v, want, 5 * want * sqrt(2.0 / N));   /* 5 s.e. of a sample variance; (1 - tau a)^(2 STEPS) < 1e-8 */
    }
    plot_size(&p, 1200, 520);
    plot_cmd(&p, "set multiplot layout 1,2 title 'Gradient descent is Euler on dx/dt = -grad f; Langevin is Euler-Maruyama on dx = -grad f dt + sqrt(2) dw'");
    plot_cmd(&p, "set size ratio -1; set xrange [-2.6:2.6]; set yrange [-1.6:1.6]; set xlabel 'x'; set ylabel 'y'");
    plot_cmd(&p, "set key bottom right font ',9' opaque");
    plot_cmd(&p, "set title 'f(x) = (x^2 + 5 y^2)/2: iterates vs the ODE path'");
    plot_cmd(&p, "plot dat index 0 with lines lc rgb '#bdbdbd' notitle, \\");
    plot_cmd(&p, "     dat index 1 with lines lw 3 lc rgb '#000000' title 'ODE x(t)', \\");
    plot_cmd(&p, "     dat index 2 with linespoints pt 7 ps 0.6 lc rgb '#3182bd' title 'GD, tau = %.2f', \\", taus[0]);
    plot_cmd(&p, "     dat index 3 with linespoints pt 7 ps 0.8 lc rgb '#d7301f' title 'GD, tau = %.2f (zig-zag)'", taus[1]);
    plot_cmd(&p, "set title 'Langevin, tau = %.2f: 3 paths and %d chain ends, law exp(-f)/Z'", tau_l, N / 5);
    plot_cmd(&p, "plot dat index 0 with lines lc rgb '#bdbdbd' notitle, \\");
    plot_cmd(&p, "     dat index 7 with points pt 7 ps 0.3 lc rgb '#9ecae1' title 'chain ends', \\");
    plot_cmd(&p, "     for [k=4:6] dat index k with lines lw 1 lc k-2 title (k == 4 ? 'paths' : '')");
    plot_cmd(&p, "unset multiplot");
    return plot_close(&p);
}

/* §4.1 the random walk x_i = x_{i-1} + sigma z with sigma^2 = 1/steps: Brownian motion w_t on [0, 1] as steps grows.
 * Left panel: 20 paths and +-2 sqrt(t). Right: the VP SDE's paths from x0 = 2 with mean +- 2 sd. */
static int brownian_figure(Ctx *ctx) {
    enum { PATHS = 20000, STEPS = 1000, SHOW = 20 };
    Plot p;
    if (plot_open(&p, ctx->out, "ch4_brownian_paths")) return 1;
    double *w_half = cli_alloc(ctx, sizeof(double) * PATHS), *w_one = cli_alloc(ctx, sizeof(double) * PATHS);
    double sigma = sqrt(1.0 / STEPS);
    for (int i = 0; i < PATHS; i++) {
        double w = 0;
        if (i < SHOW) { plot_block(&p, "t w_t: one Brownian path"); fprintf(plot_dat(&p), "0 0\n"); }
        for (int k = 1; k <= STEPS; k++) {
            w += sigma * rng_normal(&ctx->rng);   /* §4.1 x_i = x_{i-1} + sigma z */
            if (i < SHOW && k % 2 == 0) fprintf(plot_dat(&p), "%.4f %.5f\n", (double)k / STEPS, w);
            if (k == STEPS / 2) w_half[i] = w;
        }
        w_one[i] = w;
    }
    double m, v, cov = 0;
    data_moments_d(w_one, PATHS, 1, &m, &v);
    for (int i = 0; i < PATHS; i++) cov += w_half[i] * w_one[i] / PATHS;
    cli_check(ctx, "Var w_1 = 1", v, 1.0, 5 * sqrt(2.0 / PATHS));               /* 5 s.e. of a sample variance */
    cli_check(ctx, "Cov(w_0.5, w_1) = min(0.5, 1)", cov, 0.5, 5 * sqrt(0.75 / PATHS));   /* Var(w_s w_t) = 3s^2 + s(t-s) - s^2 */
    Ch4Sde vp = ch4_vp();
    double x[SHOW], traj[(STEPS + 1) * SHOW];
    for (int i = 0; i < SHOW; i++) x[i] = 2.0;
    ch4_forward_em(&vp, x, SHOW, 1, 0.0, 1.0, STEPS, &ctx->rng, traj);
    for (int i = 0; i < SHOW; i++) {
        plot_block(&p, "t x_t: one VP-SDE path from x0 = 2");
        for (int k = 0; k <= STEPS; k += 2) fprintf(plot_dat(&p), "%.4f %.5f\n", (double)k / STEPS, traj[k * SHOW + i]);
    }
    plot_block(&p, "t, VP mean 2 a(t), VP sd sqrt(s2(t)), Brownian sd sqrt(t)");
    for (int k = 0; k <= 200; k++) {
        double t = k / 200.0, a, s2;
        ch4_sde_marginal(&vp, t, &a, &s2);
        fprintf(plot_dat(&p), "%.4f %.5f %.5f %.5f\n", t, 2 * a, sqrt(s2), sqrt(t));
    }
    plot_size(&p, 1200, 450);
    plot_cmd(&p, "set multiplot layout 1,2 title 'Simple forward SDEs: sample paths and their closed-form envelopes'");
    plot_cmd(&p, "set xlabel 't'; set key top left font ',9'");
    plot_cmd(&p, "set title 'Random walk x_i = x_{i-1} + z/sqrt(1000) -> Brownian motion'; set ylabel 'w_t'");
    plot_cmd(&p, "plot for [k=0:%d] dat index k with lines lw 1 notitle, \\", SHOW - 1);
    plot_cmd(&p, "     dat index %d using 1:(2*$4) with lines lw 3 dt 2 lc rgb 'black' title '+-2 sqrt(t)', '' index %d using 1:(-2*$4) with lines lw 3 dt 2 lc rgb 'black' notitle", 2 * SHOW, 2 * SHOW);
    plot_cmd(&p, "set title 'VP SDE dx = -beta x/2 dt + sqrt(beta) dw from x_0 = 2'; set ylabel 'x_t'; set yrange [-3.5:3.5]");
    plot_cmd(&p, "plot for [k=%d:%d] dat index k with lines lw 1 notitle, \\", SHOW, 2 * SHOW - 1);
    plot_cmd(&p, "     dat index %d using 1:($2+2*$3) with lines lw 3 dt 2 lc rgb 'black' title 'mean +- 2 sd', '' index %d using 1:($2-2*$3) with lines lw 3 dt 2 lc rgb 'black' notitle", 2 * SHOW, 2 * SHOW);
    plot_cmd(&p, "unset multiplot");
    return plot_close(&p);
}

static int cell_4_1_motivating(Ctx *ctx) {
    const double x0[2] = { 2.0, 1.0 };
    cli_say("Gradient descent x_i = x_{i-1} - tau grad f(x_{i-1}) is Euler's method on the ODE dx/dt = -grad f(x):");
    cli_say("after T/tau steps the iterate is within O(tau) of x(T). f = (x^2 + 5 y^2)/2, x0 = (2, 1), T = 1:");
    double e[5];
    static const double taus[5] = { 0.04, 0.02, 0.01, 0.005, 0.0025 };
    for (int k = 0; k < 5; k++) {
        e[k] = ch4_gd_error(GD_A1, GD_A2, x0, taus[k], 1.0);
        cli_say("  tau = %-7g |x_{T/tau} - x(T)| = %.3e%s", taus[k], e[k], k ? "" : "");
    }
    /* error = C tau (1 + O(a2 tau)): the observed order from the two smallest tau is 1 within a2 tau = 0.025; tol 0.1 */
    cli_check(ctx, "observed order of gradient descent -> ODE", log2(e[3] / e[4]), 1.0, 0.1);
    cli_say("Adding sqrt(2 tau) z to each step gives Langevin: Euler-Maruyama on dx = -grad f dt + sqrt(2) dw.");
    int rc = gd_figure(ctx);
    cli_say("The simplest forward diffusion x_i = x_{i-1} + sigma z is a random walk; with sigma^2 = dt it is");
    cli_say("Brownian motion: Var w_t = t, Cov(w_s, w_t) = min(s, t). 20000 paths of 1000 steps:");
    rc |= brownian_figure(ctx);
    return rc;
}

/* ---- 4.2  Forward and backward iterations in SDE ------------------------ */

/* The exact law Euler-Maruyama gives a linear SDE dx = c(t) x dt + g(t) dw: from mean m and variance v,
 * m' = (1 + c h) m, v' = (1 + c h)^2 v + g^2 h per step. Comparing it with the closed form gives the
 * discretisation bias of the moments, which a Monte Carlo check must add to its standard errors. */
static void em_moments(const Ch4Sde *sde, double t0, double t1, int steps, double *m, double *v) {
    double h = (t1 - t0) / steps;
    for (int k = 0; k < steps; k++) {
        double t = t0 + k * h, c = 1.0 + ch4_sde_drift(sde, t) * h;
        *m = c * *m;
        *v = c * c * *v + ch4_sde_g2(sde, t) * h;
    }
}

/* Particles x (n, 1) against the mixture law gt: mean and variance within 5 standard errors plus a known bias of
 * each (0 if none), as the checks named what_m and what_v. */
static void check_moments(Ctx *ctx, const char *what_m, const char *what_v, const double *x, int n, const Gmm *gt,
                          double m_bias, double v_bias) {
    double m, v, m_want = data_gmm_mean(gt, 0), v_want = data_gmm_var(gt, 0);
    data_moments_d(x, n, 1, &m, &v);
    cli_check(ctx, what_m, m, m_want, 5 * sqrt(v_want / n) + m_bias);
    cli_check(ctx, what_v, v, v_want, 5 * v_want * sqrt(2.0 / n) + v_bias);
}

/* Forward (or reverse) particles at t1 against the closed-form mixture p_t1; forward ones from `steps` Euler-Maruyama
 * steps are allowed their exact bias of the moments (em_moments), reverse ones (steps = 0) none. */
static void check_marginal(Ctx *ctx, const char *dir, const Ch4Sde *sde, const Gmm *g, const double *x, int n, double t1, int steps) {
    double a, s2, m_em = data_gmm_mean(g, 0), v_em = data_gmm_var(g, 0);
    ch4_sde_marginal(sde, t1, &a, &s2);
    Gmm gt = data_gmm_noised(g, a, s2);
    em_moments(sde, 0.0, t1, steps, &m_em, &v_em);
    char wm[96], wv[96];
    snprintf(wm, sizeof wm, "%s mean at t = %.2g vs closed form", dir, t1);
    snprintf(wv, sizeof wv, "%s var at t = %.2g vs closed form", dir, t1);
    check_moments(ctx, wm, wv, x, n, &gt, steps ? fabs(m_em - data_gmm_mean(&gt, 0)) : 0, steps ? fabs(v_em - data_gmm_var(&gt, 0)) : 0);
}

/* Heat map block of p_t(x) for t in [0, 1] (NT + 1 columns) and x in [lo, hi]: the exact noised mixture.
 * With normalise, each column is divided by its maximum, so the shape is visible at every t. */
static void density_block(Plot *p, const Ch4Sde *sde, const Gmm *g, double lo, double hi, int normalise) {
    enum { NT = 100, NX = 200 };
    plot_block(p, "t x p_t(x): exact marginal density (heat map)");
    for (int it = 0; it <= NT; it++) {
        double t = (double)it / NT, a, s2, col[NX + 1], peak = 0;
        ch4_sde_marginal(sde, t, &a, &s2);
        Gmm gt = data_gmm_noised(g, a, s2);
        for (int ix = 0; ix <= NX; ix++) {
            double x = lo + (hi - lo) * ix / NX;
            col[ix] = exp(data_gmm_logpdf(&gt, &x));
            if (col[ix] > peak) peak = col[ix];
        }
        for (int ix = 0; ix <= NX; ix++)
            fprintf(plot_dat(p), "%.4f %.4f %.5g\n", t, lo + (hi - lo) * ix / NX, normalise ? col[ix] / peak : col[ix]);
        fprintf(plot_dat(p), "\n");
    }
}

/* Path blocks: one block per particle of traj (steps + 1, n, 1) between times t0 and t1, every `every` steps. */
static void path_blocks(Plot *p, const double *traj, int n, int steps, double t0, double t1, int every, const char *what) {
    for (int i = 0; i < n; i++) {
        plot_block(p, what);
        for (int k = 0; k <= steps; k += every)
            fprintf(plot_dat(p), "%.4f %.5f\n", t0 + (t1 - t0) * k / steps, traj[(size_t)k * n + i]);
    }
}

/* ch4_forward_reverse_1d: 30 forward and 30 reverse Euler-Maruyama paths over the exact density p_t. */
static int forward_reverse_paths(Ctx *ctx, const Ch4Sde *sde, const Gmm *g, double t_end) {
    enum { PATHS = 30, STEPS = 1000 };
    double *x = cli_alloc(ctx, sizeof(double) * PATHS), *traj = cli_alloc(ctx, sizeof(double) * (STEPS + 1) * PATHS);
    Plot p;
    if (plot_open(&p, ctx->out, "ch4_forward_reverse_1d")) return 1;
    density_block(&p, sde, g, -4, 4, 0);
    sample_noised(g, 1.0, 0.0, x, PATHS, &ctx->rng);   /* x0 from the data, sorted by nothing: the modes' weights show */
    ch4_forward_em(sde, x, PATHS, 1, 0.0, 1.0, STEPS, &ctx->rng, traj);
    path_blocks(&p, traj, PATHS, STEPS, 0.0, 1.0, 4, "t x: forward Euler-Maruyama path");
    double a, s2;
    ch4_sde_marginal(sde, 1.0, &a, &s2);
    sample_noised(g, a, s2, x, PATHS, &ctx->rng);
    Denoiser den = den_gmm(g);
    ch4_reverse(&den, sde, CH4_EM, x, PATHS, 1.0, t_end, STEPS, &ctx->rng, ctx->arena, traj);
    path_blocks(&p, traj, PATHS, STEPS, 1.0, t_end, 4, "t x: reverse-SDE path (exact score)");
    plot_size(&p, 1300, 480);
    plot_cmd(&p, "set multiplot layout 1,2 title 'VP SDE on a 1D mixture: the exact density p_t(x) and Euler-Maruyama paths (1000 steps)'");
    plot_cmd(&p, "set yrange [-4:4]; set ylabel 'x'; set cbrange [0:1]; unset colorbox");
    plot_cmd(&p, "set palette defined (0 'white', 1 '#9ecae1', 2 '#3182bd', 3 '#08306b')");
    plot_cmd(&p, "set title 'forward: dx = -beta x/2 dt + sqrt(beta) dw, data -> noise'; set xlabel 't'; set xrange [0:1]");
    plot_cmd(&p, "plot dat index 0 using 1:2:3 with image notitle, for [k=1:%d] dat index k with lines lw 1 lc rgb '#d7301f' notitle", PATHS);
    plot_cmd(&p, "set title 'reverse: dx = [f - beta s(x,t)] dt + sqrt(beta) dw (time reversed), noise -> data'; set xlabel 't (running backwards)'; set xrange [1:0]");
    plot_cmd(&p, "plot dat index 0 using 1:2:3 with image notitle, for [k=%d:%d] dat index k with lines lw 1 lc rgb '#fd8d3c' notitle", PATHS + 1, 2 * PATHS);
    plot_cmd(&p, "unset multiplot");
    return plot_close(&p);
}

static int cell_4_2_reverse(Ctx *ctx) {
    enum { N = 20000, SEG = 250, BINS = 80, NSNAP = 5 };
    const double t_snap[NSNAP] = { 0.0, 0.25, 0.5, 0.75, 1.0 }, t_end = 1e-3, lo = -4, hi = 4;
    Ch4Sde sde = ch4_vp();
    Gmm g = data_gmm_tutorial_1d();
    cli_say("Forward SDE dx = f(x,t) dt + g(t) dw; Anderson's reverse-time SDE dx = [f - g^2 grad log p_t(x)] dt");
    cli_say("+ g dw_bar has the same marginals p_t run backwards. VP SDE (beta 0.1..20), x0 ~ 0.3 N(-2, 0.3^2) +");
    cli_say("0.7 N(2, 0.3^2): p_t is that mixture noised, so the score is exact. %d particles, 1000 EM steps each way.", N);
    double *x = cli_alloc(ctx, sizeof(double) * N), (*hist)[NSNAP][BINS] = cli_alloc(ctx, sizeof(double) * 2 * NSNAP * BINS);
    sample_noised(&g, 1.0, 0.0, x, N, &ctx->rng);   /* x0 ~ the data */
    data_histogram_d(x, N, lo, hi, BINS, hist[0][0]);
    for (int k = 1; k < NSNAP; k++) {
        ch4_forward_em(&sde, x, N, 1, t_snap[k - 1], t_snap[k], SEG, &ctx->rng, NULL);
        data_histogram_d(x, N, lo, hi, BINS, hist[0][k]);
        if (k == 2 || k == 4) check_marginal(ctx, "forward", &sde, &g, x, N, t_snap[k], k * SEG);
    }
    double a, s2;
    ch4_sde_marginal(&sde, 1.0, &a, &s2);
    sample_noised(&g, a, s2, x, N, &ctx->rng);   /* the reverse starts from exact draws of p_1 */
    data_histogram_d(x, N, lo, hi, BINS, hist[1][NSNAP - 1]);
    Denoiser den = den_gmm(&g);
    for (int k = NSNAP - 1; k > 0; k--) {
        double t1 = k == 1 ? t_end : t_snap[k - 1];
        ch4_reverse(&den, &sde, CH4_EM, x, N, t_snap[k], t1, SEG, &ctx->rng, ctx->arena, NULL);
        data_histogram_d(x, N, lo, hi, BINS, hist[1][k - 1]);
        /* 5 standard errors; the O(h) weak bias of 1000 EM steps is far smaller (see the solvers cell's table) */
        if (k == 1 || k == 3) check_marginal(ctx, "reverse", &sde, &g, x, N, t1, 0);
    }
    cli_say("The reverse SDE, fed the exact score, carries N(0,1)-like noise back to the two modes with their weights.");
    int rc = forward_reverse_paths(ctx, &sde, &g, t_end);
    Plot p;
    if (plot_open(&p, ctx->out, "ch4_forward_reverse_hist")) rc = 1;
    else {
        for (int dir = 0; dir < 2; dir++)
            for (int k = 0; k < NSNAP; k++) {
                plot_block(&p, dir ? "x, histogram of the reverse SDE, exact p_t" : "x, histogram of the forward SDE, exact p_t");
                ch4_sde_marginal(&sde, k == 0 && dir ? t_end : t_snap[k], &a, &s2);
                Gmm gt = data_gmm_noised(&g, a, s2);
                for (int b = 0; b < BINS; b++) {
                    double xc = lo + (b + 0.5) * (hi - lo) / BINS;
                    fprintf(plot_dat(&p), "%.4f %.5g %.5g\n", xc, hist[dir][k][b], gmm_pdf_1d(&gt, xc));
                }
            }
        plot_size(&p, 1500, 600);
        plot_cmd(&p, "set multiplot layout 2,5 title 'Histograms (bars) of the forward SDE (top, t increasing) and the reverse SDE (bottom, t decreasing) vs the exact p_t (line)'");
        plot_cmd(&p, "set xrange [-4:4]; set yrange [0:1.0]; set style fill solid 0.8 noborder; unset key");
        plot_cmd(&p, "array T[5] = [0, 0.25, 0.5, 0.75, 1]");
        for (int k = 0; k < NSNAP; k++)
            plot_cmd(&p, "set title sprintf('forward, t = %%g', T[%d]); plot dat index %d using 1:2 with boxes lc rgb '#9ecae1', '' index %d using 1:3 with lines lw 2 lc rgb '#d7301f'", k + 1, k, k);
        for (int k = NSNAP - 1; k >= 0; k--)
            plot_cmd(&p, "set title sprintf('reverse, t = %%g', T[%d]); plot dat index %d using 1:2 with boxes lc rgb '#fdd0a2', '' index %d using 1:3 with lines lw 2 lc rgb '#08519c'", k + 1, NSNAP + k, NSNAP + k);
        plot_cmd(&p, "unset multiplot");
        rc |= plot_close(&p);
    }
    return rc;
}

/* ---- 4.3  SDE for DDPM: variance preserving ----------------------------- */

double ch4_ddpm_alpha_bar(const Ch4Sde *sde, int N, int k) {
    double ab = 1.0;
    for (int i = 1; i <= k; i++) ab *= 1.0 - ch4_vp_beta(sde, (double)i / N) / N;   /* §4.3 beta_i = beta(i/N) / N */
    return ab;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double ch4_ddpm_em_gap(const Ch4Sde *sde, const Gmm *g, int N, int n, Rng *rng) {
    double a, s2, gap = 0;
    double *xd = malloc(sizeof(double) * 2 * n), *xe = xd + n;
    ch4_sde_marginal(sde, 1.0, &a, &s2);
    sample_noised(g, a, s2, xd, n, rng);
    memcpy(xe, xd, sizeof(double) * n);
    for (int i = N; i >= 1; i--) {
        double t = (double)i / N, beta_i = ch4_vp_beta(sde, t) / N;
        ch4_sde_marginal(sde, t, &a, &s2);
        Gmm gt = data_gmm_noised(g, a, s2);
        for (int j = 0; j < n; j++) {
            double sd, se, z = rng_normal(rng);   /* both chains get the same z */
            data_gmm_score(&gt, &xd[j], &sd);
            data_gmm_score(&gt, &xe[j], &se);
            xd[j] = (xd[j] + beta_i * sd) / sqrt(1.0 - beta_i) + sqrt(beta_i) * z;   /* §4.3 DDPM step, eps_hat = -sqrt(1-abar) s */
            xe[j] = xe[j] + 0.5 * beta_i * xe[j] + beta_i * se + sqrt(beta_i) * z;    /* §4.3 EM on the reverse VP SDE */
        }
    }
    /* the median, not the mean: the rare path that sits on the ridge between the modes can end in the other mode
     * under either chain, and one such jump (size 4) outweighs thousands of typical differences */
    for (int j = 0; j < n; j++) xd[j] = fabs(xd[j] - xe[j]);
    qsort(xd, n, sizeof(double), cmp_double);
    gap = 0.5 * (xd[(n - 1) / 2] + xd[n / 2]);
    free(xd);
    return gap;
}

double ch4_fit_order(const int *steps, const double *err, int n) {
    double sx = 0, sy = 0, sxx = 0, sxy = 0;   /* least squares of log err against log steps */
    for (int k = 0; k < n; k++) {
        double lx = log((double)steps[k]), ly = log(err[k]);
        sx += lx; sy += ly; sxx += lx * lx; sxy += lx * ly;
    }
    return -((n * sxy - sx * sy) / (n * sxx - sx * sx));   /* h = T / steps: slope in h is minus the slope in steps */
}

static int cell_4_3_vp(Ctx *ctx) {
    enum { NL = 5, GAP_N = 2000, NP = 20000, NCHAIN = 1000 };
    static const int Ns[NL] = { 50, 100, 200, 400, 800 };
    Ch4Sde sde = ch4_vp();
    Gmm g = data_gmm_tutorial_1d();
    cli_say("DDPM's chain x_i = sqrt(1 - beta_i) x_{i-1} + sqrt(beta_i) z with beta_i = beta(i/N)/N: since");
    cli_say("sqrt(1 - beta_i) = 1 - beta_i/2 + O(1/N^2), x_i - x_{i-1} = -beta(t) x/2 dt + sqrt(beta(t) dt) z, the");
    cli_say("Euler-Maruyama step of the VP SDE dx = -beta(t) x/2 dt + sqrt(beta(t)) dw. Its marginal: mean");
    cli_say("x0 exp(-B(t)/2), variance 1 - exp(-B(t)), B(t) = int_0^t beta = 0.1 t + 9.95 t^2.");
    double rel[NL], gap[NL], want = exp(-ch4_vp_B(&sde, 0.5));
    for (int k = 0; k < NL; k++) {
        rel[k] = fabs(ch4_ddpm_alpha_bar(&sde, Ns[k], Ns[k] / 2) / want - 1.0);
        gap[k] = ch4_ddpm_em_gap(&sde, &g, Ns[k], GAP_N, &ctx->rng);
        cli_say("  N = %-4d  |prod(1 - beta_i) / exp(-B(0.5)) - 1| = %.3e   median |x_DDPM - x_EM| at t = 0: %.3e",
                Ns[k], rel[k], gap[k]);
    }
    /* prod(1 - beta_i) is exp of a right Riemann sum of -beta, error O(1/N) with an O(1/N^2) next term: at N >= 400
     * that term moves the observed order by ~ (beta_max - beta_min)/(2N) < 0.03; tol 0.1. */
    cli_check(ctx, "order of prod(1 - beta_i) -> exp(-B)", log2(rel[NL - 2] / rel[NL - 1]), 1.0, 0.1);
    /* The two reverse steps differ by O(beta_i^2) = O(1/N^2) per step, O(1/N) over N steps. Each gap is a median over
     * 2000 paths (relative s.e. ~ 1.25 / sqrt(2000) ~ 3%), which moves a 5-level slope by ~0.03; tol 0.2 leaves room
     * for the 1/N^2 terms, which are not small at N = 50 (beta_i up to 0.4). */
    double order_gap = ch4_fit_order(Ns, gap, NL);
    cli_check(ctx, "order of |DDPM step - EM step| -> 0", order_gap, 1.0, 0.2);
    /* particles of the discrete chain against the SDE's closed form: 5 s.e. plus the chain's exact O(1/N) offset */
    double *x = cli_alloc(ctx, sizeof(double) * NP), a, s2;
    sample_noised(&g, 1.0, 0.0, x, NP, &ctx->rng);   /* x0 ~ the data */
    for (int i = 1; i <= NCHAIN / 4; i++) {   /* DDPM's chain up to t = 1/4 */
        double beta_i = ch4_vp_beta(&sde, (double)i / NCHAIN) / NCHAIN;
        for (int j = 0; j < NP; j++) x[j] = sqrt(1 - beta_i) * x[j] + sqrt(beta_i) * rng_normal(&ctx->rng);   /* §4.3 */
    }
    double ab = ch4_ddpm_alpha_bar(&sde, NCHAIN, NCHAIN / 4);
    Gmm g_chain = data_gmm_noised(&g, sqrt(ab), 1 - ab);
    ch4_sde_marginal(&sde, 0.25, &a, &s2);
    Gmm g_sde = data_gmm_noised(&g, a, s2);
    check_moments(ctx, "DDPM chain (N = 1000) mean at t = 1/4 vs VP SDE", "DDPM chain (N = 1000) var at t = 1/4 vs VP SDE", x, NP,
                  &g_sde, fabs(data_gmm_mean(&g_chain, 0) - data_gmm_mean(&g_sde, 0)), fabs(data_gmm_var(&g_chain, 0) - data_gmm_var(&g_sde, 0)));
    Plot p;
    if (plot_open(&p, ctx->out, "ch4_ddpm_vs_vp")) return 1;
    plot_block(&p, "N, |prod(1-beta_i)/exp(-B(0.5)) - 1|, median |x_DDPM - x_EM| at t = 0");
    for (int k = 0; k < NL; k++) fprintf(plot_dat(&p), "%d %.6g %.6g\n", Ns[k], rel[k], gap[k]);
    plot_size(&p, 800, 500);
    plot_cmd(&p, "set title 'DDPM -> VP SDE: discrete chain and Euler-Maruyama agree as N grows'");
    plot_cmd(&p, "set logscale xy; set xlabel 'number of steps N'; set ylabel 'difference'; set key bottom left; set grid");
    plot_cmd(&p, "set xrange [40:1000]");
    plot_cmd(&p, "plot dat using 1:2 with linespoints pt 7 lw 2 title 'alpha-bar: |prod(1 - beta_i) / exp(-B(1/2)) - 1|', \\");
    plot_cmd(&p, "     dat using 1:3 with linespoints pt 5 lw 2 title 'reverse: median |x_{DDPM} - x_{EM}| at t = 0 (same noise)', \\");
    plot_cmd(&p, "     %g / x with lines dt 2 lc rgb 'black' title 'slope -1 (order 1)'", gap[0] * Ns[0] * 1.5);
    return plot_close(&p);
}

/* ---- 4.4  SDE for SMLD: variance exploding ------------------------------ */

/* One panel's data of ch4_vp_vs_ve: the column-normalised density, 10 Euler-Maruyama paths, mean +- 2 sd. */
static void vp_ve_blocks(Plot *p, const Ch4Sde *sde, const Gmm *g, double lo, double hi, Rng *rng) {
    enum { PATHS = 10, STEPS = 500 };
    density_block(p, sde, g, lo, hi, 1);
    double x[PATHS], traj[(STEPS + 1) * PATHS];
    for (int i = 0; i < PATHS; i++) x[i] = i % 3 ? 2.0 : -2.0;   /* start in the modes, 7 : 3 */
    ch4_forward_em(sde, x, PATHS, 1, 0.0, 1.0, STEPS, rng, traj);
    path_blocks(p, traj, PATHS, STEPS, 0.0, 1.0, 2, "t x: forward Euler-Maruyama path");
    plot_block(p, "t, mean of p_t, sd of p_t (closed form)");
    for (int k = 0; k <= 200; k++) {
        double t = k / 200.0, a, s2;
        ch4_sde_marginal(sde, t, &a, &s2);
        Gmm gt = data_gmm_noised(g, a, s2);
        fprintf(plot_dat(p), "%.4f %.5f %.5f\n", t, data_gmm_mean(&gt, 0), sqrt(data_gmm_var(&gt, 0)));
    }
}

static int vp_ve_figure(Ctx *ctx, const Gmm *g) {
    Ch4Sde vp = ch4_vp(), ve = ch4_ve();
    Plot p;
    if (plot_open(&p, ctx->out, "ch4_vp_vs_ve")) return 1;
    vp_ve_blocks(&p, &vp, g, -4, 4, &ctx->rng);     /* blocks 0 .. 11 */
    vp_ve_blocks(&p, &ve, g, -25, 25, &ctx->rng);   /* blocks 12 .. 23 */
    plot_size(&p, 1300, 500);
    plot_cmd(&p, "set multiplot layout 1,2 title 'VP (DDPM) vs VE (SMLD) on the same 1D mixture: p_t(x) / max_x p_t (colour), paths, mean +- 2 sd (dashed)'");
    plot_cmd(&p, "set palette defined (0 'white', 1 '#9ecae1', 2 '#3182bd', 3 '#08306b'); set cbrange [0:1]; unset colorbox");
    plot_cmd(&p, "set xlabel 't'; set xrange [0:1]; set ylabel 'x'; set key top left font ',9' opaque");
    for (int k = 0; k < 2; k++) {
        int b = 12 * k;
        if (k == 0) plot_cmd(&p, "set title 'VP: dx = -beta x/2 dt + sqrt(beta) dw (mean shrinks, var -> 1)'; set yrange [-4:5.5]");
        else plot_cmd(&p, "set title 'VE: dx = sqrt(d sigma^2/dt) dw (mean stays, var explodes to sigma_{max}^2 = 100)'; set yrange [-25:25]");
        plot_cmd(&p, "plot dat index %d using 1:2:3 with image notitle, for [k=%d:%d] dat index k with lines lw 1 lc rgb '#d7301f' notitle, \\", b, b + 1, b + 10);
        plot_cmd(&p, "     dat index %d using 1:($2+2*$3) with lines lw 3 dt 2 lc rgb 'black' title 'mean +- 2 sd', '' index %d using 1:($2-2*$3) with lines lw 3 dt 2 lc rgb 'black' notitle, \\", b + 11, b + 11);
        plot_cmd(&p, "     dat index %d using 1:2 with lines lw 2 lc rgb '#31a354' title 'mean'", b + 11);
    }
    plot_cmd(&p, "unset multiplot");
    return plot_close(&p);
}

static int cell_4_4_ve(Ctx *ctx) {
    enum { NP = 20000, LEVELS = 100 };
    Ch4Sde ve = ch4_ve();
    Gmm g = data_gmm_tutorial_1d();
    cli_say("SMLD adds noise of growing level: x_i = x_{i-1} + sqrt(sigma_i^2 - sigma_{i-1}^2) z. With sigma_i = sigma(i/N)");
    cli_say("the increment has variance d[sigma^2](t) dt: the VE SDE dx = sqrt(d[sigma^2]/dt) dw. sigma(t) = 0.01 (1000)^t,");
    cli_say("so g^2 = 2 sigma^2 log(1000). Marginal: x0 + N(0, sigma(t)^2 - sigma(0)^2), mean never shrinks.");
    /* the discrete SMLD chain is a sum of independent Gaussians: exact in law for any number of levels */
    double *x = cli_alloc(ctx, sizeof(double) * NP);
    sample_noised(&g, 1.0, 0.0, x, NP, &ctx->rng);   /* x0 ~ the data */
    for (int i = 1; i <= LEVELS; i++) {
        double s1 = ch4_ve_sigma(&ve, (double)i / LEVELS), s0 = ch4_ve_sigma(&ve, (double)(i - 1) / LEVELS);
        for (int j = 0; j < NP; j++) x[j] += sqrt(s1 * s1 - s0 * s0) * rng_normal(&ctx->rng);   /* §4.4 SMLD step */
    }
    double a, s2;
    ch4_sde_marginal(&ve, 1.0, &a, &s2);
    Gmm g1 = data_gmm_noised(&g, a, s2);
    check_moments(ctx, "SMLD chain (100 levels) mean at t = 1", "SMLD chain var at t = 1: Var x0 + 100 - 1e-4", x, NP, &g1, 0, 0);
    /* Euler-Maruyama adds g(t_k)^2 h per step, a left Riemann sum of d[sigma^2]/dt: relative error ~ c h / 2 with
     * c = 2 log(1000) = 13.8; the observed order at N = 1000 vs 2000 is 1 within c h ~ 0.014. tol 0.1. */
    double err[2];
    for (int k = 0; k < 2; k++) {
        int N = 1000 << k;
        double sum = 0;
        for (int i = 0; i < N; i++) sum += ch4_sde_g2(&ve, (double)i / N) / N;
        err[k] = fabs(sum / s2 - 1.0);
        cli_say("  EM with N = %d steps: variance added %.4f vs sigma(1)^2 - sigma(0)^2 = %.4f (rel. error %.2e)", N, sum, s2, err[k]);
    }
    cli_check(ctx, "order of EM's variance on the VE SDE", log2(err[0] / err[1]), 1.0, 0.1);
    cli_say("The chapter's comparison of the two SDEs (x_t | x0 = a x0 + sqrt(s2) eps):");
    cli_say("  SDE        drift f(x,t)     g(t)^2              mean a(t)           variance s2(t)");
    cli_say("  VP (DDPM)  -beta(t) x / 2   beta(t)             exp(-B(t)/2) x0     1 - exp(-B(t))");
    cli_say("  VE (SMLD)  0                d[sigma(t)^2]/dt    x0                  sigma(t)^2 - sigma(0)^2");
    return vp_ve_figure(ctx, &g);
}

/* ---- 4.5  Numerical methods -------------------------------------------- */

double ch4_ou_mean(double x0, double theta, double t) { return x0 * exp(-theta * t); }   /* §4.5 OU mean */

double ch4_ou_var(double theta, double s, double t) {
    return s * s * -expm1(-2.0 * theta * t) / (2.0 * theta);   /* §4.5 OU variance s^2 (1 - e^{-2 theta t}) / (2 theta) */
}

/* The exact OU solution on a fine grid of step h, driven by the same Brownian increments dw: over one step
 * x' = e^{-theta h} x + s I with I = int e^{-theta (h - u)} dw_u, and (dw, I) jointly Gaussian with
 * Var dw = h, Var I = (1 - e^{-2 theta h}) / (2 theta), Cov = (1 - e^{-theta h}) / theta. Writes dw (M). */
static double ou_exact_path(double theta, double s, double x0, double h, int M, double *dw, Rng *rng) {
    double c = -expm1(-theta * h) / theta, vI = -expm1(-2 * theta * h) / (2 * theta), x = x0;
    double rest = vI - c * c / h > 0 ? sqrt(vI - c * c / h) : 0.0;   /* >= 0 in exact arithmetic, O(h^3) */
    for (int k = 0; k < M; k++) {
        dw[k] = sqrt(h) * rng_normal(rng);
        double I = c / h * dw[k] + rest * rng_normal(rng);
        x = exp(-theta * h) * x + s * I;   /* §4.5 exact OU transition */
    }
    return x;
}

void ch4_em_strong_errors(int gbm, double theta_or_mu, double s, double x0, double T, const int *steps, int n_levels,
                          int paths, Rng *rng, double *err, double *se) {
    int M = steps[n_levels - 1];
    double h = T / M, *dw = malloc(sizeof(double) * M), *s2 = calloc((size_t)n_levels, sizeof(double));
    for (int l = 0; l < n_levels; l++) err[l] = 0;
    for (int p = 0; p < paths; p++) {
        double exact;
        if (gbm) {   /* x_T = x0 exp((mu - s^2/2) T + s W_T) */
            double W = 0;
            for (int k = 0; k < M; k++) { dw[k] = sqrt(h) * rng_normal(rng); W += dw[k]; }
            exact = x0 * exp((theta_or_mu - 0.5 * s * s) * T + s * W);
        } else exact = ou_exact_path(theta_or_mu, s, x0, h, M, dw, rng);
        for (int l = 0; l < n_levels; l++) {
            int r = M / steps[l];
            double H = T / steps[l], x = x0;
            for (int k = 0; k < steps[l]; k++) {
                double dW = 0;
                for (int j = 0; j < r; j++) dW += dw[k * r + j];   /* the coarse increment is the sum of fine ones */
                if (gbm) x += theta_or_mu * x * H + s * x * dW;     /* §4.5 Euler-Maruyama x += f h + g dW */
                else x += -theta_or_mu * x * H + s * dW;
            }
            err[l] += fabs(x - exact);
            s2[l] += (x - exact) * (x - exact);
        }
    }
    for (int l = 0; l < n_levels; l++) {
        err[l] /= paths;
        se[l] = sqrt((s2[l] / paths - err[l] * err[l]) / paths);
    }
    free(dw);
    free(s2);
}

double ch4_em_weak_error_ou(double theta, double s, double x0, double T, int steps) {
    double H = T / steps, m = x0, v = 0;
    for (int k = 0; k < steps; k++) {
        m = (1 - theta * H) * m;                               /* E of x += -theta x H + s dW */
        v = (1 - theta * H) * (1 - theta * H) * v + s * s * H;  /* Var of the same step */
    }
    double me = ch4_ou_mean(x0, theta, T), ve = ch4_ou_var(theta, s, T);
    return fabs(m * m + v - (me * me + ve));
}

/* Probability-flow ODE errors on the 2D mixture with the exact score: median over n starting points (exact draws
 * of p_1) of |x_N - x_ref| at t_end, x_ref from RK4 with 4096 steps. err_euler, err_heun, err_rk4 (nl). */
static void pfode_errors(const Gmm *g, const int *steps, int nl, int n, double t_end, Rng *rng, double *err_euler, double *err_heun,
                         double *err_rk4, Arena *arena) {
    Ch4Sde sde = ch4_vp();
    Denoiser den = den_gmm(g);
    size_t mark = arena_pos(arena);
    double a, s2, *x1 = arena_push_no_zero(arena, sizeof(double) * 2 * n), *ref = arena_push_no_zero(arena, sizeof(double) * 2 * n);
    double *x = arena_push_no_zero(arena, sizeof(double) * 2 * n);
    ch4_sde_marginal(&sde, 1.0, &a, &s2);
    sample_noised(g, a, s2, x1, n, rng);
    memcpy(ref, x1, sizeof(double) * 2 * n);
    ch4_reverse(&den, &sde, CH4_ODE_RK4, ref, n, 1.0, t_end, 4096, rng, arena, NULL);
    static const Ch4Solver solver[3] = { CH4_ODE_EULER, CH4_ODE_HEUN, CH4_ODE_RK4 };
    double *err[3] = { err_euler, err_heun, err_rk4 };
    for (int l = 0; l < nl; l++)
        for (int s = 0; s < 3; s++) {
            memcpy(x, x1, sizeof(double) * 2 * n);
            ch4_reverse(&den, &sde, solver[s], x, n, 1.0, t_end, steps[l], rng, arena, NULL);
            for (int i = 0; i < n; i++) x[i] = hypot(x[2 * i] - ref[2 * i], x[2 * i + 1] - ref[2 * i + 1]);
            qsort(x, n, sizeof(double), cmp_double);   /* median: robust to the few paths on a ridge between modes */
            err[s][l] = 0.5 * (x[(n - 1) / 2] + x[n / 2]);
        }
    arena_pop_to(arena, mark);
}

/* Strong and weak orders of Euler-Maruyama (OU, GBM) and the PF-ODE's Euler and Heun: ch4_convergence_orders. */
static int convergence_orders(Ctx *ctx, const Gmm *g) {
    enum { NL = 7, PATHS = 4000, NO = 7, FIT = 4 };
    static const int st[NL] = { 4, 8, 16, 32, 64, 128, 256 }, so[NO] = { 16, 32, 64, 128, 256, 512, 1024 };
    const double theta = 2.0, s = 1.0, mu = 0.5, sg = 1.0, x0 = 1.0;
    double ou[NL], ou_se[NL], gbm[NL], gbm_se[NL], weak[NL], eu[NO], he[NO], rk[NO];
    ch4_em_strong_errors(0, theta, s, x0, 1.0, st, NL, PATHS, &ctx->rng, ou, ou_se);
    ch4_em_strong_errors(1, mu, sg, x0, 1.0, st, NL, PATHS, &ctx->rng, gbm, gbm_se);
    for (int l = 0; l < NL; l++) weak[l] = ch4_em_weak_error_ou(theta, s, x0, 1.0, st[l]);
    pfode_errors(g, so, NO, 500, 1e-3, &ctx->rng, eu, he, rk, ctx->arena);
    cli_say("  steps  EM strong OU      EM strong GBM     EM weak OU    |  steps  PF-ODE Euler  PF-ODE Heun  PF-ODE RK4");
    for (int l = 0; l < NL; l++)
        cli_say("  %5d  %.2e+-%.0e  %.2e+-%.0e  %.2e    |  %5d  %.2e      %.2e     %.2e", st[l], ou[l], ou_se[l], gbm[l], gbm_se[l], weak[l],
                so[l], eu[l], he[l], rk[l]);
    /* Orders fitted on the 4 finest levels. Monte Carlo: each strong error has relative s.e. < 2%, which moves the
     * fitted slope by < 0.02. Pre-asymptotic terms: the next term of each expansion is O(h^(1/2)) relative for
     * strong errors; at h <= 1/32 that is within 0.1. Weak and ODE errors are deterministic given the start; their
     * next terms are O(h) relative (beta_max h <= 0.16 at 128 steps for the ODE), tol 0.15 and 0.2. */
    cli_say("Orders (slope of log error vs log h, 4 finest levels). OU has additive noise, where Euler-Maruyama");
    cli_say("equals Milstein and its strong order is 1; the textbook 1/2 shows on multiplicative noise (GBM).");
    cli_check(ctx, "EM strong order, GBM (multiplicative noise)", ch4_fit_order(st + NL - FIT, gbm + NL - FIT, FIT), 0.5, 0.1);
    cli_check(ctx, "EM strong order, OU (additive noise)", ch4_fit_order(st + NL - FIT, ou + NL - FIT, FIT), 1.0, 0.1);
    cli_check(ctx, "EM weak order, OU, E x^2 (exact)", ch4_fit_order(st + NL - FIT, weak + NL - FIT, FIT), 1.0, 0.1);
    cli_check(ctx, "PF-ODE Euler order", ch4_fit_order(so + NO - FIT, eu + NO - FIT, FIT), 1.0, 0.15);
    cli_check(ctx, "PF-ODE Heun order", ch4_fit_order(so + NO - FIT, he + NO - FIT, FIT), 2.0, 0.2);
    /* RK4: errors 1e-7 .. 2e-11 on the 4 finest levels, still 100x above the reference's own error (RK4 at 4096
     * steps, ~1e-13); next term O(h) relative as for the others, tol 0.2. */
    cli_check(ctx, "PF-ODE RK4 order", ch4_fit_order(so + NO - FIT, rk + NO - FIT, FIT), 4.0, 0.2);
    Plot p;
    if (plot_open(&p, ctx->out, "ch4_convergence_orders")) return 1;
    plot_block(&p, "h, EM strong OU, s.e., EM strong GBM, s.e., EM weak OU");
    for (int l = 0; l < NL; l++) fprintf(plot_dat(&p), "%.6g %.6g %.3g %.6g %.3g %.6g\n", 1.0 / st[l], ou[l], ou_se[l], gbm[l], gbm_se[l], weak[l]);
    plot_block(&p, "h, PF-ODE Euler, Heun, RK4 median errors");
    for (int l = 0; l < NO; l++) fprintf(plot_dat(&p), "%.6g %.6g %.6g %.6g\n", 1.0 / so[l], eu[l], he[l], rk[l]);
    plot_size(&p, 1300, 520);
    plot_cmd(&p, "set multiplot layout 1,2 title 'Convergence orders: error vs step size h (log-log), with reference slopes'");
    plot_cmd(&p, "set logscale xy; set xlabel 'step size h'; set ylabel 'error'; set key top left font ',9'; set grid; set format y '10^{%%L}'");
    plot_cmd(&p, "set title 'Euler-Maruyama: OU dx = -2x dt + dw, GBM dx = x/2 dt + x dw'; set xrange [0.003:0.3]");
    plot_cmd(&p, "plot dat index 0 using 1:2:3 with yerrorlines pt 7 lw 2 title 'strong E|x_N - x(1)|, OU', \\");
    plot_cmd(&p, "     dat index 0 using 1:4:5 with yerrorlines pt 5 lw 2 title 'strong, GBM', \\");
    plot_cmd(&p, "     dat index 0 using 1:6 with linespoints pt 9 lw 2 title 'weak |E x_N^2 - E x(1)^2|, OU', \\");
    plot_cmd(&p, "     %g * sqrt(x) with lines dt 2 lc rgb 'black' title 'slope 1/2', %g * x with lines dt 3 lc rgb 'black' title 'slope 1'",
             1.3 * gbm[NL - 1] / sqrt(1.0 / st[NL - 1]), 0.6 * ou[NL - 1] * st[NL - 1]);
    plot_cmd(&p, "set xrange [0.0007:0.08]");
    plot_cmd(&p, "set title 'Probability-flow ODE, 2D mixture, exact score (median |x_N - x_{ref}|, ref = 4096 RK4 steps)'");
    plot_cmd(&p, "plot dat index 1 using 1:2 with linespoints pt 7 lw 2 title 'Euler', dat index 1 using 1:3 with linespoints pt 5 lw 2 title 'Heun', \\");
    plot_cmd(&p, "     dat index 1 using 1:4 with linespoints pt 9 lw 2 title 'RK4', \\");
    plot_cmd(&p, "     %g * x with lines dt 3 lc rgb 'black' title 'slope 1', %g * x**2 with lines dt 2 lc rgb 'black' title 'slope 2', \\",
             0.6 * eu[NO - 1] * so[NO - 1], 0.6 * he[NO - 1] * so[NO - 1] * so[NO - 1]);
    plot_cmd(&p, "     %g * x**4 with lines dt 4 lc rgb 'black' title 'slope 4'", 0.6 * rk[0] * pow(so[0], 4));
    plot_cmd(&p, "unset multiplot");
    return plot_close(&p);
}

/* Sliced W1 of each solver's samples to `truth` for each step count, added to sw (4, n_steps). x1 (n, 2) are the
 * shared starting draws of p_1. Keeps the samples of step count keep_steps in keep (4, n, 2) if not NULL.
 * Returns the score evaluations made. */
static long quality_sweep(const Denoiser *den, const Ch4Sde *sde, const double *x1, int n, const int *steps, int n_steps,
                          double t_end, const float *truth, Rng *rng, Arena *arena, DataStat *sw, int keep_steps, double *keep) {
    size_t mark = arena_pos(arena);
    double *x = arena_push_no_zero(arena, sizeof(double) * 2 * n);
    float *xf = arena_push_no_zero(arena, sizeof(float) * 2 * n);   /* float copy for data.h's distances */
    long nfe = 0;
    for (int s = 0; s < 4; s++)
        for (int k = 0; k < n_steps; k++) {
            memcpy(x, x1, sizeof(double) * 2 * n);
            nfe += ch4_reverse(den, sde, (Ch4Solver)s, x, n, 1.0, t_end, steps[k], rng, arena, NULL);
            for (int i = 0; i < 2 * n; i++) xf[i] = (float)x[i];
            Rng proj = rng_seed(2024);   /* the same 200 directions for every solver and step count */
            data_stat_add(&sw[s * n_steps + k], data_sliced_wasserstein(xf, truth, n, 2, 200, &proj));
            if (keep && steps[k] == keep_steps) memcpy(keep + (size_t)s * 2 * n, x, sizeof(double) * 2 * n);
        }
    arena_pop_to(arena, mark);
    return nfe;
}

static void quality_table(const char *label, const int *steps, int n_steps, const DataStat *sw, int reps) {
    cli_say("%s: sliced W1 to the data (lower is better), mean over %d (x_1, reference) pairs; NFE = steps x (1, 2, 1, 2)", label, reps);
    cli_say("  steps   EM        PC        ODE Euler ODE Heun  (s.e. of each about %.4f)", data_stat_se(&sw[n_steps - 1]));
    for (int k = 0; k < n_steps; k++)
        cli_say("  %5d   %.4f    %.4f    %.4f    %.4f", steps[k], data_stat_mean(&sw[k]), data_stat_mean(&sw[n_steps + k]),
                data_stat_mean(&sw[2 * n_steps + k]), data_stat_mean(&sw[3 * n_steps + k]));
}

/* The trained eps network on the VP SDE's discrete schedule (T = 1000, alpha_bar[i] = exp(-B(i/1000))). */
static int train_model(Ctx *ctx, ToyModel *m, Schedule *s, const Ch4Sde *sde, const Gmm *g) {
    enum { NDATA = 20000 };
    int steps = ctx->opts->steps > 0 ? (int)ctx->opts->steps : 2000;
    ch4_sched_vp(s, sde, 1000);
    float *data = cli_alloc(ctx, sizeof(float) * 2 * NDATA);
    data_gmm_sample(g, &ctx->rng, data, NDATA);
    toy_init(m, 2, &ctx->rng);
    double t0 = cli_seconds();
    int rc = toy_train(m, s, data, NDATA, steps, 256, &ctx->rng, ctx->arena, ctx->opts->quiet, NULL);
    cli_say("trained eps_theta (common/toymodel.c) for %d steps of batch 256 in %.1f s on the schedule", steps, cli_seconds() - t0);
    cli_say("alpha_bar[i] = exp(-B(i/1000)), i = 1..1000: continuous t maps to the nearest step i = round(1000 t), and");
    cli_say("score(x, t) = -eps_theta(x, i) / sqrt(1 - alpha_bar[i]).");
    return rc;
}

static int quality_figure(Ctx *ctx, const int *se, int ne, const DataStat *sw_exact, const int *sm, int nm,
                          const DataStat *sw_model, const DataStat *floor, const int *n, const int *reps) {
    static const double nudge[4] = { 0.94, 0.98, 1.02, 1.06 };   /* side by side, so error bars do not overlap */
    Plot p;
    if (plot_open(&p, ctx->out, "ch4_solver_quality")) return 1;
    for (int k = 0; k < 2; k++)
        for (int s = 0; s < 4; s++) {
            int nk = k ? nm : ne;
            const int *st = k ? sm : se;
            const DataStat *sw = k ? sw_model : sw_exact;
            plot_block(&p, k ? "trained model: steps, NFE (nudged), mean sliced W1, s.e." : "exact score: steps, NFE (nudged), mean sliced W1, s.e.");
            for (int j = 0; j < nk; j++)
                fprintf(plot_dat(&p), "%d %.3f %.5f %.5f\n", st[j], st[j] * ch4_solver_nfe((Ch4Solver)s) * nudge[s],
                        data_stat_mean(&sw[s * nk + j]), data_stat_se(&sw[s * nk + j]));
        }
    plot_size(&p, 1300, 520);
    plot_cmd(&p, "set multiplot layout 1,2 title 'Sample quality vs number of score evaluations (VP SDE, 2D mixture): mean ± s.e. over (x_1, reference) pairs'");
    plot_cmd(&p, "set logscale xy; set xlabel 'score evaluations (NFE)'; set ylabel 'sliced W1 to the data'; set grid; set key top right font ',9'");
    plot_cmd(&p, "array NM[4] = ['Euler-Maruyama', 'predictor-corrector', 'PF-ODE Euler', 'PF-ODE Heun']");
    plot_cmd(&p, "set yrange [0.005:1]; set xrange [8:1200]");
    for (int k = 0; k < 2; k++) {
        plot_cmd(&p, "set title '%s, n = %d, %d pairs'", k ? "trained eps-network (toymodel), nearest discrete step" : "exact mixture score", n[k], reps[k]);
        plot_cmd(&p, "fl = %g; fsd = %g", data_stat_mean(&floor[k]), data_stat_sd(&floor[k]));
        plot_cmd(&p, "plot '+' using 1:(fl-fsd):(fl+fsd) with filledcurves lc rgb '#dddddd' title 'noise floor ± sd of one pair (%d pairs)', \\", floor[k].n);
        plot_cmd(&p, "     fl with lines dt 2 lc rgb 'black' notitle, \\");
        plot_cmd(&p, "     for [s=0:3] dat index s+%d using 2:3:4 with yerrorlines pt 7 ps 0.7 lw 2 title NM[s+1]", 4 * k);
    }
    plot_cmd(&p, "unset multiplot");
    return plot_close(&p);
}

/* Samples of the four solvers at one small step count, next to the data: ch4_solver_samples (+ .dat). */
static int samples_figure(Ctx *ctx, const double *keep, int n, const float *truth, int steps) {
    Plot p;
    if (plot_open(&p, ctx->out, "ch4_solver_samples")) return 1;
    for (int s = 0; s < 4; s++) {
        plot_block(&p, CH4_SOLVER_NAMES[s]);
        for (int i = 0; i < n; i++) fprintf(plot_dat(&p), "%.5f %.5f\n", keep[(size_t)s * 2 * n + 2 * i], keep[(size_t)s * 2 * n + 2 * i + 1]);
    }
    plot_points(&p, "data: exact draws of p_{t_end}", truth, n);
    plot_size(&p, 1500, 330);
    plot_cmd(&p, "set multiplot layout 1,5 title 'Samples with the exact score after %d steps of each solver (VP SDE, t: 1 -> 0.001)'", steps);
    plot_cmd(&p, "set size ratio -1; set xrange [-1.6:1.6]; set yrange [-1.6:1.6]; unset key; set xtics 1 font ',9'; set ytics 1 font ',9'");
    plot_cmd(&p, "array NM[5] = ['Euler-Maruyama', 'predictor-corrector', 'PF-ODE Euler', 'PF-ODE Heun', 'data']");
    for (int s = 0; s < 5; s++)
        plot_cmd(&p, "set title NM[%d]; plot dat index %d using 1:2 with points pt 7 ps 0.2 lc rgb '%s'", s + 1, s, s == 4 ? "#636363" : "#d7301f");
    plot_cmd(&p, "unset multiplot");
    return plot_close(&p);
}

/* The noise floor of sliced W1 at sample size n over FLOOR_PAIRS pairs (n iid draws of g, n stratified draws of g):
 * a perfect sampler's distance to the stratified reference is distributed like this. One pair scatters by ~25%,
 * so the mean needs many. */
enum { FLOOR_PAIRS = 100 };
static DataStat floor_stats(Ctx *ctx, const Gmm *g, int n) {
    float *a = cli_alloc(ctx, sizeof(float) * 2 * n), *b = cli_alloc(ctx, sizeof(float) * 2 * n);
    Rng *rng = &ctx->rng;
    DataStat st = { 0 };
    for (int r = 0; r < FLOOR_PAIRS; r++) {
        data_gmm_sample(g, rng, a, n);
        sample_stratified(g, b, n, rng);
        Rng proj = rng_seed(2024);
        data_stat_add(&st, data_sliced_wasserstein(a, b, n, 2, 200, &proj));
    }
    return st;
}

/* `reps` quality sweeps at sample size n, each from fresh exact draws of p_1 against a fresh stratified sample of
 * p_{t_end}: sw (4, n_steps) accumulates. Keeps the first sweep's samples at keep_steps and its reference (in the
 * cell's arena, like the scratch). Returns the score evaluations made. */
static long sweep_at(const Denoiser *den, const Gmm *g, int n, const int *steps, int n_steps, int reps, Rng *rng, Arena *arena,
                     DataStat *sw,
                     int keep_steps, double *keep, float **truth_out) {
    Ch4Sde sde = ch4_vp();
    const double t_end = 1e-3;
    double a_end, s2_end, a1, s21, *x1 = arena_push_no_zero(arena, sizeof(double) * 2 * n);
    float *truth = arena_push_no_zero(arena, sizeof(float) * 2 * n);
    ch4_sde_marginal(&sde, t_end, &a_end, &s2_end);
    ch4_sde_marginal(&sde, 1.0, &a1, &s21);
    Gmm g_end = data_gmm_noised(g, a_end, s2_end);
    memset(sw, 0, sizeof(DataStat) * 4 * (size_t)n_steps);
    long nfe = 0;
    for (int r = 0; r < reps; r++) {
        sample_stratified(&g_end, truth, n, rng);
        sample_noised(g, a1, s21, x1, n, rng);
        nfe += quality_sweep(den, &sde, x1, n, steps, n_steps, t_end, truth, rng, arena, sw, keep_steps, r == 0 ? keep : NULL);
        if (r == 0 && truth_out) { *truth_out = truth; truth = arena_push_no_zero(arena, sizeof(float) * 2 * n); }
    }
    return nfe;
}

/* Sample quality versus steps, exact score and trained model: ch4_solver_quality, ch4_solver_samples. Each point
 * is a mean over fresh (x_1, reference) pairs: the probability-flow ODE maps one x_1 to one output set, so a
 * single draw repeats one value of the scatter at every step count. */
enum { QUALITY_REPS_EXACT = 10, QUALITY_REPS_MODEL = 6 };
static int solver_quality(Ctx *ctx, const Gmm *g) {
    enum { NE = 6, NM = 4, KEEP = 20 };
    static const int se[NE] = { 10, 20, 50, 100, 200, 500 }, sm[NM] = { 10, 20, 50, 100 };
    int n = ctx->opts->samples > 0 ? (int)ctx->opts->samples : 4000, nm = (n + 7) / 8;   /* the network costs ~100x the exact score; rounded up, >= 1 */
    Ch4Sde sde = ch4_vp();
    DataStat sw_exact[4 * NE], sw_model[4 * NM], fl[2];
    double *keep = cli_alloc(ctx, sizeof(double) * 4 * 2 * n);
    float *truth = NULL;
    Denoiser exact = den_gmm(g);
    sweep_at(&exact, g, n, se, NE, QUALITY_REPS_EXACT, &ctx->rng, ctx->arena, sw_exact, KEEP, keep, &truth);
    fl[0] = floor_stats(ctx, g, n);
    quality_table("exact score", se, NE, sw_exact, QUALITY_REPS_EXACT);
    cli_say("noise floor (sliced W1, %d exact draws vs the stratified reference, %d pairs): %.4f, sd of one pair %.4f",
            n, FLOOR_PAIRS, data_stat_mean(&fl[0]), data_stat_sd(&fl[0]));
    /* A sampler exact in law is distributed like the floor, so their means agree within 5 standard errors of the
     * difference; discretisation error at 500 steps is well inside. */
    for (int s = 0; s < 4; s++) {
        char what[96];
        const DataStat *w = &sw_exact[s * NE + NE - 1];
        double se_diff = sqrt(data_stat_se(w) * data_stat_se(w) + data_stat_se(&fl[0]) * data_stat_se(&fl[0]));
        snprintf(what, sizeof what, "%s, %d steps, exact: mean W1 = floor (5 s.e.)", CH4_SOLVER_NAMES[s], se[NE - 1]);
        cli_check(ctx, what, data_stat_mean(w), data_stat_mean(&fl[0]), 5 * se_diff);
    }
    cli_check_le(ctx, "EM, 10 steps, exact: mean W1 > floor + 4 sd (too few steps)", -data_stat_mean(&sw_exact[0]),
                 -(data_stat_mean(&fl[0]) + 4 * data_stat_sd(&fl[0])));
    int rc = samples_figure(ctx, keep, n, truth, KEEP);
    ToyModel m;
    Schedule s;
    if (train_model(ctx, &m, &s, &sde, g)) {   /* NaN (named, last good weights kept) or Ctrl-C: stop here */
        toy_free(&m); sched_free(&s);
        return 1;
    }
    Denoiser net = den_toy(&m, &s);
    double t0 = cli_seconds();
    long nfe = sweep_at(&net, g, nm, sm, NM, QUALITY_REPS_MODEL, &ctx->rng, ctx->arena, sw_model, 0, NULL, NULL);
    fl[1] = floor_stats(ctx, g, nm);
    cli_say("(%ld network evaluations of %d points in %.1f s)", nfe, nm, cli_seconds() - t0);
    quality_table("trained model", sm, NM, sw_model, QUALITY_REPS_MODEL);
    cli_say("noise floor at %d points: %.4f, sd of one pair %.4f", nm, data_stat_mean(&fl[1]), data_stat_sd(&fl[1]));
    /* A trained model is not exact; bound it well below N(0, I)'s distance from this law (~0.35), as ch2 does. */
    cli_check_le(ctx, "PF-ODE Heun, 100 steps, trained: mean W1 <= 3 x floor", data_stat_mean(&sw_model[3 * NM + NM - 1]), 3 * data_stat_mean(&fl[1]));
    const int ns[2] = { n, nm }, reps[2] = { QUALITY_REPS_EXACT, QUALITY_REPS_MODEL };
    rc |= quality_figure(ctx, se, NE, sw_exact, sm, NM, sw_model, fl, ns, reps);
    toy_free(&m);
    sched_free(&s);
    return rc;
}

static int cell_4_5_solvers(Ctx *ctx) {
    Gmm g = data_gmm_named("gmm");
    cli_say("Euler-Maruyama x_{k+1} = x_k + f h + g sqrt(h) z: strong error E|x_N - x(T)| (same Brownian path) and");
    cli_say("weak error |E phi(x_N) - E phi(x(T))|, measured where the solution is known in closed form:");
    cli_say("Ornstein-Uhlenbeck dx = -theta x dt + s dw, mean x0 e^{-theta t}, variance s^2 (1 - e^{-2 theta t}) / (2 theta).");
    int rc = convergence_orders(ctx, &g);
    cli_say("Sampling the 2D mixture from t = 1 to 0.001 with four solvers: Euler-Maruyama on the reverse SDE;");
    cli_say("predictor-corrector (that step + one Langevin step at the new t, step by Song et al.'s SNR rule r = 0.16);");
    cli_say("Euler and Heun on the probability-flow ODE dx = [f - g^2 s / 2] dt.");
    rc |= solver_quality(ctx, &g);
    return rc;
}

/* ---- 4.5t  Trajectories: reverse SDE vs probability-flow ODE ------------- */

/* §4.2 the probability-flow ODE has the marginals p_t of the SDE: Heun from n exact draws of p_1, moments of both
 * coordinates at t = 0.5, 0.25, t_end against the closed form, 5 standard errors (200 Heun steps: the ODE's own
 * error, ~1e-4 by the orders above, is far below). */
static void check_pfode_marginals(Ctx *ctx, const Ch4Sde *sde, const Gmm *g, double t_end) {
    enum { N = 20000 };
    static const double ts[4] = { 1.0, 0.5, 0.25, 0.0 };
    static const int seg[3] = { 100, 50, 50 };
    double a, s2, m, v, *x = cli_alloc(ctx, sizeof(double) * 2 * N);
    ch4_sde_marginal(sde, 1.0, &a, &s2);
    sample_noised(g, a, s2, x, N, &ctx->rng);
    Denoiser den = den_gmm(g);
    for (int k = 0; k < 3; k++) {
        double t1 = k == 2 ? t_end : ts[k + 1];
        ch4_reverse(&den, sde, CH4_ODE_HEUN, x, N, ts[k], t1, seg[k], &ctx->rng, ctx->arena, NULL);
        ch4_sde_marginal(sde, t1, &a, &s2);
        Gmm gt = data_gmm_noised(g, a, s2);
        for (int d = 0; d < 2; d++) {
            char what[96];
            double vt = data_gmm_var(&gt, d);
            data_moments_d(x + d, N, 2, &m, &v);
            snprintf(what, sizeof what, "PF-ODE mean x%d at t = %.3g vs p_t", d + 1, t1);
            cli_check(ctx, what, m, data_gmm_mean(&gt, d), 5 * sqrt(vt / N));
            snprintf(what, sizeof what, "PF-ODE var x%d at t = %.3g vs p_t", d + 1, t1);
            cli_check(ctx, what, v, vt, 5 * vt * sqrt(3.0 / N));   /* kurtosis of a mixture < 3 + 1: sqrt(3/N) per var */
        }
    }
}

static int cell_4_5t_trajectories(Ctx *ctx) {
    enum { P = 12, STEPS = 500 };
    const double t_end = 1e-3;
    Ch4Sde sde = ch4_vp();
    Gmm g = data_gmm_named("gmm");
    cli_say("The same %d starting points x_1 ~ p_1 carried to t = 0 by the reverse SDE (Euler-Maruyama) and by the", P);
    cli_say("probability-flow ODE dx = [f - g^2 s / 2] dt (Heun), %d steps, exact score of the 2D mixture. The SDE's", STEPS);
    cli_say("paths jitter and can end in any mode; the ODE's are smooth and deterministic: x_1 fixes where they end.");
    check_pfode_marginals(ctx, &sde, &g, t_end);
    double a, s2, x1[2 * P], x[2 * P], *tr_sde = cli_alloc(ctx, sizeof(double) * (STEPS + 1) * 2 * P), *tr_ode = cli_alloc(ctx, sizeof(double) * (STEPS + 1) * 2 * P);
    ch4_sde_marginal(&sde, 1.0, &a, &s2);
    sample_noised(&g, a, s2, x1, P, &ctx->rng);
    Denoiser den = den_gmm(&g);
    memcpy(x, x1, sizeof x);
    ch4_reverse(&den, &sde, CH4_EM, x, P, 1.0, t_end, STEPS, &ctx->rng, ctx->arena, tr_sde);
    memcpy(x, x1, sizeof x);
    ch4_reverse(&den, &sde, CH4_ODE_HEUN, x, P, 1.0, t_end, STEPS, &ctx->rng, ctx->arena, tr_ode);
    Plot p;
    if (plot_open(&p, ctx->out, "ch4_sde_vs_pfode")) return 1;
    Gmm g1 = marginal_1d(&g, 0);
    density_block(&p, &sde, &g1, -2, 2, 0);                             /* block 0: p_t of the first coordinate */
    for (int k = 0; k < 2; k++)                                         /* blocks 1..2P: t, x1, x2 of each path */
        for (int i = 0; i < P; i++) {
            const double *tr = k ? tr_ode : tr_sde;
            plot_block(&p, k ? "t x1 x2: PF-ODE path" : "t x1 x2: reverse-SDE path");
            for (int s = 0; s <= STEPS; s += 2)
                fprintf(plot_dat(&p), "%.4f %.5f %.5f\n", 1.0 - (1.0 - t_end) * s / STEPS, tr[(size_t)s * 2 * P + 2 * i], tr[(size_t)s * 2 * P + 2 * i + 1]);
        }
    float pts[2 * 1500];
    data_gmm_sample(&g, &ctx->rng, pts, 1500);
    plot_points(&p, "x y: 1500 data points", pts, 1500);
    plot_size(&p, 1650, 520);
    plot_cmd(&p, "set multiplot layout 1,3 title 'Same starting noise, exact score: reverse SDE (stochastic) vs probability-flow ODE (deterministic)'");
    plot_cmd(&p, "set palette defined (0 'white', 1 '#9ecae1', 2 '#3182bd', 3 '#08306b'); unset colorbox");
    plot_cmd(&p, "set xlabel 't (running backwards)'; set ylabel 'x_1 (first coordinate)'; set xrange [1:0]; set yrange [-2:2]");
    plot_cmd(&p, "set title 'reverse SDE over p_t(x_1)'; plot dat index 0 using 1:2:3 with image notitle, for [k=1:%d] dat index k using 1:2 with lines lw 1.5 lc rgb '#d7301f' notitle", P);
    plot_cmd(&p, "set title 'PF-ODE over p_t(x_1)'; plot dat index 0 using 1:2:3 with image notitle, for [k=%d:%d] dat index k using 1:2 with lines lw 1.5 lc rgb '#08519c' notitle", P + 1, 2 * P);
    plot_cmd(&p, "set title 'in the plane: all ODE paths, 3 SDE paths'; set size ratio -1; set xrange [-2.2:2.2]; set yrange [-2.2:2.2]; set xlabel 'x_1'; set ylabel 'x_2'; set key bottom right font ',9' opaque");
    plot_cmd(&p, "plot for [k=1:3] dat index k using 2:3 with lines lw 0.6 lc rgb '#fc9272' title (k == 1 ? 'reverse SDE (3 paths)' : ''), \\");
    plot_cmd(&p, "     dat index %d with points pt 7 ps 0.2 lc rgb '#969696' title 'data', \\", 2 * P + 1);
    plot_cmd(&p, "     for [k=%d:%d] dat index k using 2:3 with lines lw 2 lc rgb '#08519c' title (k == %d ? 'PF-ODE' : ''), \\", P + 1, 2 * P, P + 1);
    plot_cmd(&p, "     for [k=1:%d] dat index k every ::0::0 using 2:3 with points pt 7 ps 1 lc rgb 'black' title (k == 1 ? 'x_1 (start)' : '')", P);
    plot_cmd(&p, "unset multiplot");
    return plot_close(&p);
}

/* ---- 4.5i  Predictor-corrector on Fashion-MNIST with chapter 2's network ---------------- */

static int cell_4_5i_images(Ctx *ctx) {
    enum { IMG = 784, L = UNET_PC_LEVELS };
    int N = ctx->opts->samples > 0 ? (int)ctx->opts->samples : 16;   /* --samples: images drawn and scored */
    UnetModel net;
    int rc;
    if (!unet_model_load_for_cell(&net, CH2_UNET_CKPT, &rc)) return rc;
    Schedule sched;
    sched_init(&sched, net.sched, net.T);
    Denoiser den = den_unet(&net, &sched, 1);
    DenLevel l[L + 1];
    den_ladder_sigma(UNET_PC_SIGMA_MAX, UNET_PC_SIGMA_MIN, L, l);
    const char *predictor = UNET_PC_ORDER == 2 ? "DPM-Solver++(2M)" : "DDIM";
    cli_say("Chapter 2's U-Net as the score of §4.5's samplers, on SMLD's %d levels sigma = %.0f ... %.1f (geometric,", L, UNET_PC_SIGMA_MAX, UNET_PC_SIGMA_MIN);
    cli_say("scaled to VP), then Tweedie's x0_hat. From the same noise, %d images each:", N);
    cli_say("  predictor only: the %s step level to level (the probability-flow ODE), %d evaluations;", predictor, L);
    cli_say("  predictor-corrector: the same step, then %d Langevin steps x += tau score + sqrt(2 tau) z at the new level,", UNET_PC_M);
    cli_say("  tau = %.1f b^2 (Song et al.'s SNR r = %.2f), %d evaluations.", UNET_PC_C, sqrt(UNET_PC_C / 2), L + UNET_PC_M * (L - 1));
    float *x = cli_alloc(ctx, sizeof(float) * N * IMG), *x_ode = cli_alloc(ctx, sizeof(float) * N * IMG);
    rng_normal_fill(&ctx->rng, x, (long)N * IMG);   /* x ~ N(0, I): the first level's a = 1/80 leaves the data invisible */
    memcpy(x_ode, x, sizeof(float) * N * IMG);
    double t0 = cli_seconds();
    den_sample_ode_f(&den, l, L, UNET_PC_ORDER, x_ode, N, ctx->arena);
    double t1 = cli_seconds();
    den_sample_pc_f(&den, l, L, UNET_PC_ORDER, UNET_PC_M, UNET_PC_C, x, N, &ctx->rng, ctx->arena);
    cli_say("sampled in %.1f s (predictor only) and %.1f s (predictor-corrector)", t1 - t0, cli_seconds() - t1);
    /* Clothing sits on a black background (about half the pixels below 0.1); noise has ~5% there. As in ch3 3.4i,
     * 16 images average within ~0.04 of the data's share, and 0.1 leaves room for the sampler's bias. */
    double bg_data = fmnist_test_background_fraction(1000);
    if (bg_data >= 0)
        cli_check(ctx, "fraction of background pixels (< 0.1), PC samples vs 1000 test images", fmnist_background_fraction(x, N, -1.0f, 1.0f), bg_data, 0.1);
    FidScore score;
    fid_report("predictor only (probability-flow ODE)", x_ode, N, -1.0f, 1.0f, &score);
    fid_report("predictor-corrector", x, N, -1.0f, 1.0f, &score);
    rc = image_samples_write(ctx->out, "ch4_fmnist_pc", x, N, image_grid_cols(N), N <= 100 ? 3 : 1, -1.0f, 1.0f);
    if (!rc) cli_figure(ctx->out, "ch4_fmnist_pc");
    sched_free(&sched);
    unet_model_free(&net);
    return rc;
}

/* ---- the chapter, cell by cell ----------------------------------------- */

static const Cell CELLS[] = {
    { "4.1", "motivating", "motivating examples: gradient descent -> ODE, Langevin -> SDE, Brownian paths", cell_4_1_motivating },
    { "4.2", "reverse",    "forward and reverse SDE: Anderson's reverse-time SDE with the exact score",      cell_4_2_reverse },
    { "4.3", "vp",         "the SDE of DDPM: variance preserving, and the discrete chain's limit",          cell_4_3_vp },
    { "4.4", "ve",         "the SDE of SMLD: variance exploding, and the VP / VE comparison",                cell_4_4_ve },
    { "4.5", "solvers",    "numerical methods: EM, predictor-corrector, PF-ODE; orders; quality vs steps",  cell_4_5_solvers },
    { "4.5t","trajectories","the same noise through the reverse SDE and the probability-flow ODE",          cell_4_5t_trajectories },
    { "4.5i","images",     "predictor-corrector on Fashion-MNIST with chapter 2's network as the score",   cell_4_5i_images },
};

/* The cell table, for tests/test_tutorial.c: every `./ch4 --cell X` that tutorial.md names must be in it. */
const Cell *ch4_cells(int *n) {
    *n = (int)COUNT_OF(CELLS);
    return CELLS;
}

#ifndef CHAPTER_NO_MAIN
int main(int argc, char **argv) {
    static const CliSpec spec = { "ch4", "Stochastic differential equations (PDF chapter 4)", CLI_STEPS | CLI_SAMPLES, NULL, NULL };
    return cli_main(argc, argv, &spec, CELLS, COUNT_OF(CELLS), NULL);
}
#endif
