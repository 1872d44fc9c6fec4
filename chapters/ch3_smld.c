/* ch3_smld.c: PDF chapter 3, score-matching Langevin dynamics (SMLD).
 *
 *   make ch3 && ./ch3 --list          the cells, one per section
 *   ./ch3                             the whole chapter (about 30 s on 2 cores)
 *   ./ch3 --cell annealed --steps 6000
 *
 * Sections: 3.1 Langevin dynamics (a sampler from the score alone; step size; without noise it is
 * gradient ascent) · 3.2 Stein's score function · 3.3 score-matching techniques (explicit, implicit,
 * denoising; Tweedie) · 3.4 training and inference: noise-conditional scores and annealed Langevin,
 * in 2D and on Fashion-MNIST with chapter 2's network read as a score.
 * Figures (figures/): ch3_langevin_1d, ch3_langevin_gmm, ch3_grad_ascent_gmm, ch3_langevin_stepsize,
 * ch3_score_field, ch3_dsm_pairs, ch3_learned_vs_true_score, ch3_ncsn_scores, ch3_annealed_langevin,
 * ch3_mode_weights, ch3_annealed_swissroll, ch3_fmnist_annealed.
 * Uses: cli, plot, data (exact mixture scores), rng, nn/autograd/optim (the noise-conditional network),
 * unet + schedule (chapter 2's Fashion-MNIST network), image.
 *
 * Shapes: n points, D data dimension (1 or 2; 784 for images), J bumps of the RBF score model,
 * L noise levels.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "ch3_smld.h"
#include "ch2_ddpm.h"
#include "cli.h"
#include "fid.h"
#include "fmnist.h"
#include "image.h"
#include "nn.h"
#include "train.h"
#include "plot.h"
#include "schedule.h"
#include "unet.h"

/* The 1D and 2D mixtures of 3.1: modes close enough that Langevin crosses between them in a few
 * thousand steps, so its histograms can be seen converging to p (weights unequal on purpose). */
static Gmm gmm_close_1d(void) {
    static const double w[2] = { 0.3, 0.7 }, mu[2] = { -1.5, 1.5 }, sd[2] = { 0.6, 0.6 };
    return data_gmm_1d(2, w, mu, sd);
}
static Gmm gmm_2d(void) {
    static const double w[3] = { 0.5, 0.3, 0.2 }, mu[6] = { -1.0, -0.6, 1.0, -0.6, 0.0, 1.0 }, sd[3] = { 0.45, 0.45, 0.45 };
    return data_gmm_2d(3, w, mu, sd);
}

/* Fraction of the points (n, D) whose nearest mixture mean is component k, for every k. */
static void mode_fractions(const Gmm *g, const float *x, int n, double *frac) {
    for (int k = 0; k < g->K; k++) frac[k] = 0;
    for (int i = 0; i < n; i++) {
        int best = 0;
        double best_d2 = INFINITY;
        for (int k = 0; k < g->K; k++) {
            double d2 = 0;
            for (int d = 0; d < g->D; d++) d2 += (x[i * g->D + d] - g->mu[k][d]) * (x[i * g->D + d] - g->mu[k][d]);
            if (d2 < best_d2) { best_d2 = d2; best = k; }
        }
        frac[best] += 1.0 / n;
    }
}

/* Largest |frac_k - w_k| over the components: how wrong the mode weights are. */
static double weight_error(const Gmm *g, const float *x, int n) {
    double frac[GMM_MAX], err = 0;
    mode_fractions(g, x, n, frac);
    for (int k = 0; k < g->K; k++) err = fmax(err, fabs(frac[k] - g->w[k]));
    return err;
}

/* ---- 3.1  Langevin dynamics ------------------------------------------------ */

void ch3_score(const Denoiser *den, DenLevel l, const float *x, int n, float *s, Arena *arena) {
    size_t nd = (size_t)n * den->D, mark = arena_pos(arena);
    double *xd = arena_push_no_zero(arena, sizeof(double) * nd), *sd = arena_push_no_zero(arena, sizeof(double) * nd);
    for (size_t j = 0; j < nd; j++) xd[j] = x[j];
    den_score(den, l, xd, n, sd, arena);
    for (size_t j = 0; j < nd; j++) s[j] = (float)sd[j];
    arena_pop_to(arena, mark);
}

void ch3_langevin_step(const Denoiser *den, DenLevel l, float *x, int n, double tau, int noise, Rng *rng, Arena *arena) {
    size_t nd = (size_t)n * den->D, mark = arena_pos(arena);
    float *s = arena_push_no_zero(arena, sizeof(float) * nd);
    ch3_score(den, l, x, n, s, arena);
    double sd = noise ? sqrt(2.0 * tau) : 0.0;
    for (size_t k = 0; k < nd; k++)
        x[k] += (float)(tau * s[k] + (noise ? sd * rng_normal(rng) : 0.0));   /* §3.1 x + tau s(x) + sqrt(2 tau) z */
    arena_pop_to(arena, mark);
}

/* §3.1 for p = N(mu, s2) the chain is x' - mu = (1 - tau/s2)(x - mu) + sqrt(2 tau) z, an AR(1) with
 * stationary variance v = 2 tau / (1 - (1 - tau/s2)^2) = s2 / (1 - tau / (2 s2)): biased by O(tau). */
double ch3_langevin_stationary_var(double s2, double tau) {
    return s2 / (1.0 - tau / (2.0 * s2));
}

static int cmp_float(const void *a, const void *b) {
    float u = *(const float *)a, v = *(const float *)b;
    return (u > v) - (u < v);
}

/* CDF of a 1D mixture: sum_k w_k Phi((x - mu_k) / sd_k). */
static double gmm_cdf_1d(const Gmm *g, double x) {
    double F = 0;
    for (int k = 0; k < g->K; k++) F += g->w[k] * 0.5 * erfc(-(x - g->mu[k][0]) / sqrt(2.0 * g->cov[k][0][0]));
    return F;
}

double ch3_ks_1d(const Gmm *g, const float *x, int n) {
    float *y = malloc(sizeof(float) * n);
    memcpy(y, x, sizeof(float) * n);
    qsort(y, n, sizeof(float), cmp_float);
    double ks = 0;
    for (int i = 0; i < n; i++) {
        double F = gmm_cdf_1d(g, y[i]);
        ks = fmax(ks, fmax(fabs((i + 1.0) / n - F), fabs((double)i / n - F)));
    }
    free(y);
    return ks;
}

static int cell_3_1_langevin_1d(Ctx *ctx) {
    enum { N = 4000, STEPS = 5000, BINS = 60, NSNAP = 5 };
    static const int snap[NSNAP] = { 0, 10, 100, 1000, 5000 };
    const double tau = 0.02, lo = -6, hi = 5;
    Gmm g = gmm_close_1d();
    Denoiser den = den_gmm(&g);   /* its score at level sigma = 0 is p's own */
    cli_say("Langevin dynamics x_{k+1} = x_k + tau grad log p(x_k) + sqrt(2 tau) z_k needs only the score.");
    cli_say("Target p = 0.3 N(-1.5, 0.6^2) + 0.7 N(1.5, 0.6^2); all %d particles start at x = -5; tau = %.2f.", N, tau);
    float *x = cli_alloc(ctx, sizeof(float) * N);
    for (int i = 0; i < N; i++) x[i] = -5.0f;
    Plot p;
    if (plot_open(&p, ctx->out, "ch3_langevin_1d")) return 1;
    double dens[BINS], ks = 1;
    for (int k = 0, j = 0; k <= STEPS; k++) {
        if (j < NSNAP && k == snap[j]) {
            ks = ch3_ks_1d(&g, x, N);
            data_histogram(x, N, lo, hi, BINS, dens);
            char c[96];
            snprintf(c, sizeof c, "k = %d: x, histogram of the particles, p(x)", k);
            plot_block(&p, c);
            for (int b = 0; b < BINS; b++) {
                double xb = lo + (b + 0.5) * (hi - lo) / BINS;
                fprintf(plot_dat(&p), "%.4f %.5f %.5f\n", xb, dens[b], exp(data_gmm_logpdf(&g, &xb)));
            }
            cli_say("  k = %4d   KS distance to p = %.3f", k, ks);
            j++;
        }
        if (k < STEPS) ch3_langevin_step(&den, den_level_ve(0.0), x, N, tau, 1, &ctx->rng, ctx->arena);
    }
    /* Tolerance: the KS statistic of N exact draws is ~ 0.87 / sqrt(N) at its median; the O(tau) bias of the
     * discrete chain adds ~ tau / (4 s^2) = 0.014 to the variance ratio. 3 / sqrt(N) covers both. */
    cli_check_le(ctx, "KS distance after 5000 steps", ks, 3.0 / sqrt(N));
    plot_size(&p, 1100, 380);
    plot_cmd(&p, "set multiplot layout 1,%d title 'Langevin with the exact score: particles (bars) converge to p (line)'", NSNAP);
    plot_cmd(&p, "array K[%d] = [0, 10, 100, 1000, 5000]", NSNAP);
    plot_cmd(&p, "set xrange [%g:%g]; set yrange [0:0.8]; set style fill solid 0.7 noborder; unset key; set xlabel 'x'", lo, hi);
    for (int j = 0; j < NSNAP; j++) {
        plot_cmd(&p, "set title sprintf('k = %%d', K[%d])", j + 1);
        plot_cmd(&p, "plot dat index %d using 1:2 with boxes lc rgb '#9ecae1', '' index %d using 1:3 with lines lw 2 lc rgb '#d7301f'", j, j);
    }
    plot_cmd(&p, "unset multiplot");
    return plot_close(&p);
}

/* Log-density heat map of a 2D mixture on [-r, r]^2 as one plot block (x y log p). */
static void block_logpdf(Plot *p, const Gmm *g, double r, int res) {
    plot_block(p, "x y log p(x, y) (heat map)");
    for (int i = 0; i <= res; i++) {
        for (int j = 0; j <= res; j++) {
            double xy[2] = { -r + 2 * r * i / res, -r + 2 * r * j / res };
            fprintf(plot_dat(p), "%.4f %.4f %.4f\n", xy[0], xy[1], fmax(data_gmm_logpdf(g, xy), -12.0));
        }
        fprintf(plot_dat(p), "\n");
    }
}


/* Particles from a uniform box run `steps` Langevin steps (noise 1) or gradient-ascent steps (noise 0) on the
 * 2D mixture; snapshots at k = 0, 10, 100, steps and five single trajectories, as one figure. */
static int langevin_2d_figure(Ctx *ctx, const char *name, int noise, float *x_final) {
    enum { N = 2000, STEPS = 1000, NSNAP = 4, PATHS = 5, PATH_STEPS = 150 };
    static const int snap[NSNAP] = { 0, 10, 100, STEPS };
    const double tau = 0.01, r = 2.5;
    Gmm g = gmm_2d();
    Denoiser den = den_gmm(&g);   /* its score at level sigma = 0 is p's own */
    float *x = cli_alloc(ctx, sizeof(float) * 2 * N);
    float *path = cli_alloc(ctx, sizeof(float) * 2 * PATHS * (PATH_STEPS + 1));
    for (int i = 0; i < 2 * N; i++) x[i] = (float)(-r + 2 * r * rng_uniform(&ctx->rng));
    Plot p;
    if (plot_open(&p, ctx->out, name)) return 1;
    block_logpdf(&p, &g, r, 100);
    for (int k = 0, j = 0; k <= STEPS; k++) {
        if (k <= PATH_STEPS) memcpy(path + (size_t)2 * PATHS * k, x, sizeof(float) * 2 * PATHS);
        if (j < NSNAP && k == snap[j]) {
            char c[64];
            snprintf(c, sizeof c, "k = %d: particles", k);
            plot_points(&p, c, x, N);
            j++;
        }
        if (k < STEPS) ch3_langevin_step(&den, den_level_ve(0.0), x, N, tau, noise, &ctx->rng, ctx->arena);
    }
    for (int q = 0; q < PATHS; q++) {
        plot_block(&p, "one trajectory x_0 .. x_K");
        for (int k = 0; k <= PATH_STEPS; k++) fprintf(plot_dat(&p), "%.4f %.4f\n", path[(size_t)2 * PATHS * k + 2 * q], path[(size_t)2 * PATHS * k + 2 * q + 1]);
    }
    if (x_final) memcpy(x_final, x, sizeof(float) * 2 * N);
    plot_size(&p, 1400, 400);
    plot_cmd(&p, "set multiplot layout 1,%d title '%s (tau = %.2f, %d particles from a uniform box) over log p'", NSNAP,
             noise ? "Langevin dynamics with the exact score" : "Without the noise: gradient ascent on log p", tau, N);
    plot_cmd(&p, "array K[%d] = [0, 10, 100, %d]", NSNAP, STEPS);
    plot_cmd(&p, "set size ratio -1; set xrange [-%g:%g]; set yrange [-%g:%g]; unset key; unset colorbox", r, r, r, r);
    plot_cmd(&p, "set palette defined (0 'white', 1 '#c6dbef', 2 '#6baed6', 3 '#08519c'); set cbrange [-8:1]");
    for (int j = 0; j < NSNAP; j++) {
        plot_cmd(&p, "set title sprintf('k = %%d%s', K[%d])", j == NSNAP - 1 ? ", and 5 paths over k = 0..150" : "", j + 1);
        plot_cmd(&p, "plot dat index 0 using 1:2:3 with image, '' index %d using 1:2 with points pt 7 ps 0.2 lc rgb '#d7301f'%s",
                 j + 1, j == NSNAP - 1 ? ", \\" : "");
        if (j == NSNAP - 1) plot_cmd(&p, "     for [q=0:%d] dat index %d+q using 1:2 with lines lw 1.2 lc q+1", PATHS - 1, NSNAP + 1);
    }
    plot_cmd(&p, "unset multiplot");
    return plot_close(&p);
}

static int cell_3_1_langevin_2d(Ctx *ctx) {
    enum { N = 2000 };
    Gmm g = gmm_2d();
    cli_say("The same in 2D: p = 0.5/0.3/0.2 mixture of N(mu_k, 0.45^2 I); particles start uniform on [-2.5, 2.5]^2.");
    float *x = cli_alloc(ctx, sizeof(float) * 2 * N);
    if (langevin_2d_figure(ctx, "ch3_langevin_gmm", 1, x)) return 1;
    double frac[GMM_MAX];
    mode_fractions(&g, x, N, frac);
    cli_say("fraction of particles nearest each mode after 1000 steps: %.3f %.3f %.3f (p: 0.5 0.3 0.2)", frac[0], frac[1], frac[2]);
    /* Tolerance: nearest-mean assignment of exact draws misassigns the overlap (~4% here) and the binomial
     * noise is sqrt(0.25 / N) = 0.011; 0.05 allows both. */
    cli_check_le(ctx, "largest mode-weight error", weight_error(&g, x, N), 0.05);
    return 0;
}

static int cell_3_1_ascent(Ctx *ctx) {
    enum { N = 2000 };
    Gmm g = gmm_2d();
    cli_say("Drop the sqrt(2 tau) z term and the update is gradient ascent on log p: every particle");
    cli_say("climbs to the nearest mode and stops. The noise is what turns an optimiser into a sampler.");
    float *x = cli_alloc(ctx, sizeof(float) * 2 * N);
    if (langevin_2d_figure(ctx, "ch3_grad_ascent_gmm", 0, x)) return 1;
    /* the spread around the modes: gradient ascent collapses it (to ~0), Langevin keeps the 0.45 of p */
    double spread = 0;
    for (int i = 0; i < N; i++) {
        double xy[2] = { x[2 * i], x[2 * i + 1] }, sc[2];
        data_gmm_score(&g, xy, sc);
        spread += sqrt(sc[0] * sc[0] + sc[1] * sc[1]) / N;
    }
    cli_say("mean |grad log p| at the final points: %.2e (0 at a mode; exact draws give about 2.8)", spread);
    cli_check_le(ctx, "gradient ascent ends at stationary points: mean |score|", spread, 0.05);
    return 0;
}

/* The sampling noise of the KS distance at n points: mean and sd of ch3_ks_1d over `reps` sets of n exact draws. */
static DataStat ks_null(Ctx *ctx, const Gmm *g, int n, int reps) {
    float *y = cli_alloc(ctx, sizeof(float) * n);
    DataStat st = { 0 };
    for (int r = 0; r < reps; r++) {
        data_gmm_sample(g, &ctx->rng, y, n);
        data_stat_add(&st, ch3_ks_1d(g, y, n));
    }
    return st;
}

/* §3.1 the step size: too small mixes slowly, too large is biased. Two measurements per tau: the stationary
 * variance for a Gaussian target against its exact AR(1) value, and the KS distance to the 1D mixture after
 * a fixed budget of steps and after a long run. */
static int cell_3_1_stepsize(Ctx *ctx) {
    enum { N = 2000, NTAU = 8, SHORT = 100, LONG = 3000 };
    static const double taus[NTAU] = { 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.4 };
    Gmm g = gmm_close_1d();
    const double s2 = 1.0;
    static const double one = 1.0, zero = 0.0, sd1 = 1.0;
    Gmm gauss = data_gmm_1d(1, &one, &zero, &sd1);
    Denoiser den = den_gmm(&g), den_gauss = den_gmm(&gauss);   /* scores at level sigma = 0: p's own */
    cli_say("Step size tau: the discrete chain's stationary law is p only as tau -> 0. For p = N(0, 1) the chain");
    cli_say("is an AR(1) with stationary variance 1 / (1 - tau / 2), exactly; for the mixture we measure KS");
    cli_say("after %d steps (mixing) and after %d steps (bias), %d particles from x = -5.", SHORT, LONG, N);
    cli_say("The Gaussian chain starts in N(0, 1), runs 4/tau steps to forget it and averages x^2 over 20/tau more");
    cli_say("(ten correlation times 2/tau at every tau, so each variance has the same standard error).");
    float *x = cli_alloc(ctx, sizeof(float) * N);
    DataStat null = ks_null(ctx, &g, N, 100);
    Plot p;
    if (plot_open(&p, ctx->out, "ch3_langevin_stepsize")) return 1;
    plot_block(&p, "tau, Gaussian: measured var, exact AR(1) var, s.e. of the measured var; mixture: KS after SHORT steps, KS after LONG steps");
    cli_say("     tau    var (chain)  +- s.e.   var (AR(1) formula)   KS @%d   KS @%d", SHORT, LONG);
    int ok = 1;
    for (int j = 0; j < NTAU; j++) {
        double tau = taus[j];
        for (int i = 0; i < N; i++) x[i] = (float)rng_normal(&ctx->rng);
        int burn = (int)(4.0 / tau), avg = (int)(20.0 / tau);
        double m2 = 0;
        for (int k = 0; k < burn + avg; k++) {
            ch3_langevin_step(&den_gauss, den_level_ve(0.0), x, N, tau, 1, &ctx->rng, ctx->arena);
            if (k >= burn) for (int i = 0; i < N; i++) m2 += (double)x[i] * x[i] / ((double)N * avg);
        }
        double v_exact = ch3_langevin_stationary_var(s2, tau);
        /* s.e.: avg steps of N particles, x^2 correlated over ~2/tau steps (the AR(1) coefficient of x^2 is
         * (1 - tau)^2): effective samples n_eff = N avg tau / 2 = 10 N; a variance's s.e. is v sqrt(2 / n_eff).
         * Tol: 5 of them. */
        double n_eff = N * fmax(1.0, avg * tau / 2), se = v_exact * sqrt(2.0 / n_eff);
        ok &= fabs(m2 - v_exact) < 5 * se;
        double ks_short = 0, ks_long = 0;
        for (int i = 0; i < N; i++) x[i] = -5.0f;
        for (int k = 1; k <= LONG; k++) {
            ch3_langevin_step(&den, den_level_ve(0.0), x, N, tau, 1, &ctx->rng, ctx->arena);
            if (k == SHORT) ks_short = ch3_ks_1d(&g, x, N);
        }
        ks_long = ch3_ks_1d(&g, x, N);
        fprintf(plot_dat(&p), "%g %.5f %.5f %.5f %.4f %.4f\n", tau, m2, v_exact, se, ks_short, ks_long);
        cli_say("  %6.3f   %10.4f  +- %.4f  %10.4f          %.3f     %.3f", tau, m2, se, v_exact, ks_short, ks_long);
    }
    cli_check(ctx, "Gaussian target: chain variance within 5 s.e. of 1/(1 - tau/2) at every tau", ok, 1, 0.5);
    cli_say("Below tau ~ 0.05 the bias ~tau/2 is smaller than 2 s.e. (%.3f): the measurement cannot resolve it there;", 2 * sqrt(2.0 / (10.0 * N)));
    cli_say("it only shows that nothing else is wrong. KS of %d exact draws: %.4f +- %.4f (100 sets): the error bars.",
            N, data_stat_mean(&null), data_stat_sd(&null));
    plot_size(&p, 1200, 500);
    plot_cmd(&p, "set multiplot layout 1,2 title 'Langevin step size: bias of the stationary law vs speed of mixing'");
    plot_cmd(&p, "set logscale x; set xrange [0.0015:0.55]; set xlabel 'step size tau'; set key outside below");
    plot_cmd(&p, "set title 'p = N(0,1): stationary variance of the chain (± 1 s.e.)'; set ylabel 'variance'");
    plot_cmd(&p, "plot dat using 1:2:4 with yerrorbars pt 7 ps 1 lw 1.5 title 'measured (20/tau steps averaged)', '' using 1:3 with lines lw 2 title '1/(1 - tau/2) (AR(1))', 1 with lines dt 2 lc 'black' title 'Var p = 1'");
    plot_cmd(&p, "set title 'p = 1D mixture: KS distance to p (error bars: sd of the KS of %d exact draws)'; set ylabel 'KS distance'; set logscale y", N);
    plot_cmd(&p, "ksm = %g; kss = %g", data_stat_mean(&null), data_stat_sd(&null));
    plot_cmd(&p, "plot '+' using 1:(ksm-kss):(ksm+kss) with filledcurves lc rgb '#dddddd' title 'KS of %d exact draws, mean ± sd', \\", N);
    plot_cmd(&p, "     dat using 1:5:(kss) with yerrorlines lw 2 pt 7 title 'after %d steps (too small tau: not mixed)', \\", SHORT);
    plot_cmd(&p, "     '' using 1:6:(kss) with yerrorlines lw 2 pt 5 title 'after %d steps (tau < 0.01: still not mixed; large tau: biased)'", LONG);
    plot_cmd(&p, "unset multiplot");
    return plot_close(&p);
}

/* ---- 3.2  Stein's score function ------------------------------------------- */

void ch3_gauss_score(int D, const double *x, const double *mu, double s2, double *s) {
    for (int d = 0; d < D; d++) s[d] = -(x[d] - mu[d]) / s2;   /* §3.2 grad log N(x; mu, s2 I) = -(x - mu) / s2 */
}

/* Score arrows on a res x res grid over [-r, r]^2 as one block (x y dx dy), each scaled to length len. */
static void block_arrows(Plot *p, const Denoiser *den, DenLevel l, double r, int res, double len, Arena *arena) {
    plot_block(p, "x y dx dy: the score direction, arrows of equal length");
    for (int i = 0; i < res; i++)
        for (int j = 0; j < res; j++) {
            float xy[2] = { (float)(-r + 2 * r * (i + 0.5) / res), (float)(-r + 2 * r * (j + 0.5) / res) }, s[2] = { 0, 0 };
            ch3_score(den, l, xy, 1, s, arena);
            double norm = sqrt((double)s[0] * s[0] + (double)s[1] * s[1]) + 1e-12;
            fprintf(plot_dat(p), "%.4f %.4f %.4f %.4f\n", xy[0], xy[1], len * s[0] / norm, len * s[1] / norm);
        }
}

static int cell_3_2_score(Ctx *ctx) {
    Gmm g = gmm_2d();
    static const double one = 1.0, mu0[2] = { 0.5, -0.3 }, sd = 0.8;
    Gmm gauss = data_gmm_2d(1, &one, mu0, &sd);
    cli_say("Stein's score s(x) = grad_x log p(x) points uphill in density. For N(mu, s^2 I) it is -(x - mu)/s^2;");
    cli_say("for a mixture it is the responsibility-weighted sum of the components' scores. Both are checked");
    cli_say("against central differences of log p (h = 1e-5) at 200 random points:");
    double worst_g = 0, worst_m = 0;
    for (int k = 0; k < 200; k++) {
        double x[2] = { 3 * rng_normal(&ctx->rng), 3 * rng_normal(&ctx->rng) }, s[2], sm[2], h = 1e-5;
        ch3_gauss_score(2, x, mu0, sd * sd, s);
        data_gmm_score(&g, x, sm);
        for (int d = 0; d < 2; d++) {
            double xp[2] = { x[0], x[1] }, xm[2] = { x[0], x[1] };
            xp[d] += h;
            xm[d] -= h;
            double fd_g = (data_gmm_logpdf(&gauss, xp) - data_gmm_logpdf(&gauss, xm)) / (2 * h);
            double fd_m = (data_gmm_logpdf(&g, xp) - data_gmm_logpdf(&g, xm)) / (2 * h);
            worst_g = fmax(worst_g, fabs(fd_g - s[d]) / (1 + fabs(s[d])));
            worst_m = fmax(worst_m, fabs(fd_m - sm[d]) / (1 + fabs(sm[d])));
        }
    }
    /* Tol: central differences err by h^2 |f'''| / 6 ~ 1e-10 (x scale 1) plus rounding eps |log p| / h ~ 1e-10. */
    cli_check(ctx, "Gaussian score -(x - mu)/s^2 vs finite differences (rel.)", worst_g, 0, 1e-6);
    cli_check(ctx, "mixture score vs finite differences (rel.)", worst_m, 0, 1e-6);
    Plot p;
    if (plot_open(&p, ctx->out, "ch3_score_field")) return 1;
    const double r = 2.5;
    block_logpdf(&p, &gauss, r, 100);
    Denoiser den_gauss = den_gmm(&gauss), den = den_gmm(&g);
    block_arrows(&p, &den_gauss, den_level_ve(0.0), r, 20, 0.18, ctx->arena);
    block_logpdf(&p, &g, r, 100);
    block_arrows(&p, &den, den_level_ve(0.0), r, 20, 0.18, ctx->arena);
    plot_size(&p, 1100, 520);
    plot_cmd(&p, "set multiplot layout 1,2 title 'The score grad log p(x) (arrows, normalised) over log p(x) (colour)'");
    plot_cmd(&p, "set size ratio -1; set xrange [-%g:%g]; set yrange [-%g:%g]; unset key", r, r, r, r);
    plot_cmd(&p, "set palette defined (0 'white', 1 '#c6dbef', 2 '#6baed6', 3 '#08519c'); set cbrange [-8:1]; set cblabel 'log p'");
    plot_cmd(&p, "set title 'Gaussian N(mu, 0.8^2 I): -(x - mu)/s^2, straight to the mean'");
    plot_cmd(&p, "plot dat index 0 using 1:2:3 with image, '' index 1 using 1:2:3:4 with vectors head size 0.06,20 filled lc rgb '#d7301f'");
    plot_cmd(&p, "set title 'Mixture (weights 0.5/0.3/0.2): arrows split between the modes'");
    plot_cmd(&p, "plot dat index 2 using 1:2:3 with image, '' index 3 using 1:2:3:4 with vectors head size 0.06,20 filled lc rgb '#d7301f'");
    plot_cmd(&p, "unset multiplot");
    return plot_close(&p);
}

/* ---- 3.3  Score-matching techniques ------------------------------------------- */

void ch3_affine_score(const void *model, const double *x, double *s, double *div) {
    const Ch3Affine *m = model;
    for (int d = 0; d < 2; d++) s[d] = m->A[d][0] * x[0] + m->A[d][1] * x[1] + m->b[d];
    if (div) *div = m->A[0][0] + m->A[1][1];
}

void ch3_rbf_init(Ch3Rbf *m, int g, double r) {
    CHECK(g >= 2 && g * g <= CH3_RBF_MAX, "RBF grid %d x %d: at most %d bumps", g, g, CH3_RBF_MAX);
    memset(m, 0, sizeof *m);
    m->J = g * g;
    m->h = 2 * r / (g - 1);
    for (int i = 0; i < g; i++)
        for (int j = 0; j < g; j++) {
            m->c[i * g + j][0] = -r + m->h * i;
            m->c[i * g + j][1] = -r + m->h * j;
        }
}

/* psi_j(x) = exp(-|x - c_j|^2 / (2 h^2)) and its gradient d_d psi_j = -(x_d - c_jd) / h^2 psi_j. */
static void rbf_features(const Ch3Rbf *m, const double *x, double *psi, double dpsi[2][CH3_RBF_MAX]) {
    for (int j = 0; j < m->J; j++) {
        double dx = x[0] - m->c[j][0], dy = x[1] - m->c[j][1];
        psi[j] = exp(-(dx * dx + dy * dy) / (2 * m->h * m->h));
        if (dpsi) {
            dpsi[0][j] = -dx / (m->h * m->h) * psi[j];
            dpsi[1][j] = -dy / (m->h * m->h) * psi[j];
        }
    }
}

void ch3_rbf_score(const void *model, const double *x, double *s, double *div) {
    const Ch3Rbf *m = model;
    double psi[CH3_RBF_MAX], dpsi[2][CH3_RBF_MAX];
    rbf_features(m, x, psi, div ? dpsi : NULL);
    s[0] = s[1] = 0;
    if (div) *div = 0;
    for (int j = 0; j < m->J; j++)
        for (int d = 0; d < 2; d++) {
            s[d] += m->W[d][j] * psi[j];
            if (div) *div += m->W[d][j] * dpsi[d][j];
        }
}

/* Solve (G) w = b in place for a symmetric positive definite J x J matrix G (Cholesky). Returns 1 if singular. */
static int cholesky_solve(double *G, int J, double *b) {
    for (int i = 0; i < J; i++) {
        for (int j = 0; j <= i; j++) {
            double sum = G[i * J + j];
            for (int k = 0; k < j; k++) sum -= G[i * J + k] * G[j * J + k];
            if (i == j) {
                if (sum <= 0) return 1;
                G[i * J + i] = sqrt(sum);
            } else {
                G[i * J + j] = sum / G[j * J + j];
            }
        }
    }
    for (int i = 0; i < J; i++) {                       /* L y = b */
        for (int k = 0; k < i; k++) b[i] -= G[i * J + k] * b[k];
        b[i] /= G[i * J + i];
    }
    for (int i = J - 1; i >= 0; i--) {                  /* L^T w = y */
        for (int k = i + 1; k < J; k++) b[i] -= G[k * J + i] * b[k];
        b[i] /= G[i * J + i];
    }
    return 0;
}

int ch3_rbf_fit(Ch3Rbf *m, int kind, const Gmm *g, const float *x, int n, double sigma, double ridge, Rng *rng) {
    int J = m->J;
    double *G = calloc((size_t)J * J, sizeof(double)), *b = calloc((size_t)2 * J, sizeof(double));
    double psi[CH3_RBF_MAX], dpsi[2][CH3_RBF_MAX];
    for (int i = 0; i < n; i++) {
        double xi[2] = { x[2 * i], x[2 * i + 1] }, target[2] = { 0, 0 };
        if (kind == CH3_DSM) {
            double z[2] = { rng_normal(rng), rng_normal(rng) };
            for (int d = 0; d < 2; d++) {
                xi[d] += sigma * z[d];                     /* §3.3 DSM: x = x' + sigma z, target -z / sigma */
                target[d] = -z[d] / sigma;
            }
        }
        if (kind == CH3_ESM) data_gmm_score(g, xi, target);   /* §3.3 ESM: target grad log p(x) */
        rbf_features(m, xi, psi, kind == CH3_ISM ? dpsi : NULL);
        for (int j = 0; j < J; j++) {
            for (int k = 0; k <= j; k++) G[j * J + k] += psi[j] * psi[k] / n;
            for (int d = 0; d < 2; d++)   /* §3.3 ISM: E[1/2 |Psi W|^2 + W . grad psi] is minimised at G W_d = -E[d_d psi] */
                b[d * J + j] += (kind == CH3_ISM ? -dpsi[d][j] : psi[j] * target[d]) / n;
        }
    }
    for (int j = 0; j < J; j++) {
        G[j * J + j] += ridge;
        for (int k = 0; k < j; k++) G[k * J + j] = G[j * J + k];
    }
    double *L = malloc(sizeof(double) * J * J);
    int rc = 0;
    for (int d = 0; d < 2 && !rc; d++) {
        memcpy(L, G, sizeof(double) * J * J);
        rc = cholesky_solve(L, J, b + d * J);
        for (int j = 0; j < J; j++) m->W[d][j] = b[d * J + j];
    }
    free(L);
    free(G);
    free(b);
    return rc;
}

double ch3_esm_term(Ch3Model *f, const void *model, const Gmm *g, const double *x) {
    double s[2], s_true[2], e = 0;
    f(model, x, s, NULL);
    data_gmm_score(g, x, s_true);
    for (int d = 0; d < g->D; d++) e += 0.5 * (s[d] - s_true[d]) * (s[d] - s_true[d]);   /* §3.3 1/2 |s_theta - grad log p|^2 */
    return e;
}

double ch3_ism_term(Ch3Model *f, const void *model, int D, const double *x) {
    double s[2], div, e = 0;
    f(model, x, s, &div);
    for (int d = 0; d < D; d++) e += 0.5 * s[d] * s[d];
    return e + div;                                                                        /* §3.3 1/2 |s_theta|^2 + tr grad s_theta */
}

double ch3_dsm_term(Ch3Model *f, const void *model, int D, const double *x0, const double *z, double sigma) {
    double x[2] = { 0, 0 }, s[2], e = 0;
    for (int d = 0; d < D; d++) x[d] = x0[d] + sigma * z[d];
    f(model, x, s, NULL);
    for (int d = 0; d < D; d++) e += 0.5 * (s[d] + z[d] / sigma) * (s[d] + z[d] / sigma);   /* §3.3 1/2 |s(x0 + sigma z) + z/sigma|^2 */
    return e;
}

double ch3_dsm_esm_constant(const Gmm *g, double sigma, int n, Rng *rng) {
    Gmm gs = data_gmm_noised(g, 1.0, sigma * sigma);
    float x[2];
    double sum = 0;
    for (int i = 0; i < n; i++) {
        double xi[2], s[2];
        data_gmm_sample(&gs, rng, x, 1);
        for (int d = 0; d < g->D; d++) xi[d] = x[d];
        data_gmm_score(&gs, xi, s);
        for (int d = 0; d < g->D; d++) sum += 0.5 * s[d] * s[d] / n;
    }
    return g->D / (2 * sigma * sigma) - sum;   /* §3.3 C = E 1/2 |z/sigma|^2 - E 1/2 |grad log p_sigma|^2 */
}

void ch3_tweedie(const Gmm *g, double sigma, const double *x, double *x0_hat) {
    Gmm gs = data_gmm_noised(g, 1.0, sigma * sigma);
    double s[2];
    data_gmm_score(&gs, x, s);
    for (int d = 0; d < g->D; d++) x0_hat[d] = x[d] + sigma * sigma * s[d];   /* §3.3 E[x0 | x] = x + sigma^2 grad log p_sigma(x) */
}

/* The exact score of a mixture as a score-matching model (no divergence: used by ESM and DSM only). */
static void gmm_model(const void *model, const double *x, double *s, double *div) {
    data_gmm_score(model, x, s);
    if (div) *div = NAN;
}

/* The RBF model as a score (its own level, whatever l says), for drawing. */
static void rbf_field(const void *model, DenLevel l, const double *x, int n, double *s, Arena *arena) {
    (void)l; (void)arena;
    for (int i = 0; i < n; i++) ch3_rbf_score(model, x + 2 * i, s + 2 * i, NULL);
}

static int cell_3_3_pairs(Ctx *ctx) {
    enum { N = 60 };
    const double sigma = 0.35;
    Gmm g = gmm_2d();
    cli_say("Denoising score matching (Vincent): perturb each clean x' to x = x' + sigma z and regress s_theta(x)");
    cli_say("on -z / sigma = -(x - x') / sigma^2: the score of q(x | x') points from x back to the clean point.");
    float x0[2 * N];
    data_gmm_sample(&g, &ctx->rng, x0, N);
    Plot p;
    if (plot_open(&p, ctx->out, "ch3_dsm_pairs")) return 1;
    block_logpdf(&p, &g, 2.5, 100);
    plot_block(&p, "x' (clean), x = x' + sigma z, arrow sigma^2 (-z/sigma) = x' - x, Tweedie E[x'|x] - x");
    for (int i = 0; i < N; i++) {
        double z[2] = { rng_normal(&ctx->rng), rng_normal(&ctx->rng) }, x[2], m[2];
        for (int d = 0; d < 2; d++) x[d] = x0[2 * i + d] + sigma * z[d];
        ch3_tweedie(&g, sigma, x, m);
        fprintf(plot_dat(&p), "%.4f %.4f %.4f %.4f %.4f %.4f %.4f %.4f\n", x0[2 * i], x0[2 * i + 1], x[0], x[1],
                -sigma * z[0], -sigma * z[1], m[0] - x[0], m[1] - x[1]);
    }
    plot_size(&p, 700, 650);
    plot_cmd(&p, "set title \"DSM pairs, σ = %.2f: clean x' (black), noisy x = x' + σ z (red), DSM's target direction -z/σ (grey)\\nand Tweedie's E[x' | x] - x = σ^2 ∇ log p_{σ}(x) (blue)\"", sigma);
    plot_cmd(&p, "set size ratio -1; set xrange [-2.5:2.5]; set yrange [-2.5:2.5]; unset colorbox; set key bottom right");
    plot_cmd(&p, "set palette defined (0 'white', 1 '#f0f0f0', 2 '#bdbdbd'); set cbrange [-8:1]");
    plot_cmd(&p, "plot dat index 0 using 1:2:3 with image notitle, \\");
    plot_cmd(&p, "     '' index 1 using 3:4:5:6 with vectors head size 0.05,20 lc rgb '#969696' title \"x -> x'\", \\");
    plot_cmd(&p, "     '' index 1 using 3:4:7:8 with vectors head size 0.05,20 filled lw 2 lc rgb '#2171b5' title \"x -> E[x'|x]\", \\");
    plot_cmd(&p, "     '' index 1 using 1:2 with points pt 7 ps 0.8 lc rgb 'black' title \"clean x'\", \\");
    plot_cmd(&p, "     '' index 1 using 3:4 with points pt 7 ps 0.8 lc rgb '#d7301f' title 'noisy x'");
    return plot_close(&p);
}

/* Mean and standard error of n values. */
static void mean_se(const double *v, int n, double *mean, double *se) {
    double var;
    data_moments_d(v, n, 1, mean, &var);
    *se = sqrt(fmax(var, 0) / n);
}

static int cell_3_3_matching(Ctx *ctx) {
    enum { N = 40000, NMODEL = 5 };
    const double sigma = 0.3, ridge = 1e-6;
    Gmm g = gmm_2d(), gs = data_gmm_noised(&g, 1.0, sigma * sigma);
    cli_say("Three objectives for s_theta, the same minimiser (model: s_W(x) = sum_j W_j psi_j(x), 10 x 10 Gaussian bumps):");
    cli_say("  explicit  J_ESM = E 1/2 |s_W(x) - grad log p(x)|^2          (needs the true score)");
    cli_say("  implicit  J_ISM = E [1/2 |s_W(x)|^2 + tr grad_x s_W(x)]      (Hyvarinen: only samples)");
    cli_say("  denoising J_DSM = E 1/2 |s_W(x' + sigma z) + z / sigma|^2    (Vincent: only samples)");
    cli_say("All are quadratic in W: each minimiser is one linear solve. Here p = p_sigma, the mixture blurred by sigma = %.1f.", sigma);
    float *clean = cli_alloc(ctx, sizeof(float) * 2 * N), *noisy = cli_alloc(ctx, sizeof(float) * 2 * N);
    double *z = cli_alloc(ctx, sizeof(double) * 2 * N);
    data_gmm_sample(&g, &ctx->rng, clean, N);
    for (int i = 0; i < 2 * N; i++) {
        z[i] = rng_normal(&ctx->rng);
        noisy[i] = (float)(clean[i] + sigma * z[i]);
    }
    static Ch3Rbf fit[3];
    static const char *const kind_name[3] = { "ESM", "ISM", "DSM" };
    for (int k = 0; k < 3; k++) {
        ch3_rbf_init(&fit[k], 10, 2.5);
        /* ESM and ISM see samples of p_sigma; DSM sees the clean points and adds its own noise */
        if (ch3_rbf_fit(&fit[k], k, &gs, k == CH3_DSM ? clean : noisy, N, sigma, ridge, &ctx->rng)) {
            fprintf(stderr, "ch3: the %s normal equations are singular\n", kind_name[k]);
            return 1;
        }
    }
    /* how far each fit is from the true score of p_sigma, weighted by p_sigma (fresh draws) */
    enum { NE = 4000 };
    double err[3] = { 0, 0, 0 }, norm = 0, *dsm_sq = cli_alloc(ctx, sizeof(double) * NE);
    for (int i = 0; i < NE; i++) {
        float xf[2];
        data_gmm_sample(&gs, &ctx->rng, xf, 1);
        double x[2] = { xf[0], xf[1] }, st[2];
        data_gmm_score(&gs, x, st);
        norm += st[0] * st[0] + st[1] * st[1];
        for (int k = 0; k < 3; k++) err[k] += 2 * ch3_esm_term(ch3_rbf_score, &fit[k], &gs, x);
        dsm_sq[i] = 2 * ch3_esm_term(ch3_rbf_score, &fit[CH3_DSM], &gs, x);
    }
    for (int k = 0; k < 3; k++) cli_say("  %s fit: relative error E|s_W - s|^2 / E|s|^2 = %.4f", kind_name[k], err[k] / norm);
    double fisher, fisher_se;   /* E_{p_sigma} |s_W - s|^2 of the DSM fit: the Fisher divergence the figure maps */
    mean_se(dsm_sq, NE, &fisher, &fisher_se);
    cli_check_le(ctx, "ISM fit as good as ESM (rel. error, <= ESM + 0.02)", err[CH3_ISM] / norm, err[CH3_ESM] / norm + 0.02);
    cli_check_le(ctx, "DSM fit as good as ESM (rel. error, <= ESM + 0.02)", err[CH3_DSM] / norm, err[CH3_ESM] / norm + 0.02);

    /* The theorem: J_DSM(theta) - J_ESM(theta) is the same constant for every theta. Evaluated on the same
     * pairs (x' clean, x = x' + sigma z, so x ~ p_sigma), per point, for five unrelated models. */
    cli_say("J_DSM - J_ESM for five unrelated models (same %d pairs); the theorem says: one constant C.", N);
    Ch3Affine shrink = { { { -1, 0 }, { 0, -1 } }, { 0, 0 } }, shear = { { { -3, 1 }, { 0.5, -0.2 } }, { 1, -2 } };
    static const Ch3Rbf zero_rbf;   /* s = 0 */
    Ch3Model *f[NMODEL] = { ch3_rbf_score, ch3_affine_score, ch3_affine_score, ch3_rbf_score, gmm_model };
    const void *mdl[NMODEL] = { &zero_rbf, &shrink, &shear, &fit[CH3_DSM], &gs };
    static const char *const name[NMODEL] = { "s = 0", "s = -x", "s = A x + b (sheared)", "DSM fit", "true score of p_sigma" };
    double C = ch3_dsm_esm_constant(&g, sigma, 400000, &ctx->rng);
    double *dv = cli_alloc(ctx, sizeof(double) * N), *iv = cli_alloc(ctx, sizeof(double) * N);
    int dsm_ok = 1, ism_ok = 1;
    double ism_c = NAN;
    for (int m = 0; m < NMODEL; m++) {
        double jd = 0, je = 0, ji = 0;
        for (int i = 0; i < N; i++) {
            double xc[2] = { clean[2 * i], clean[2 * i + 1] }, xn[2] = { noisy[2 * i], noisy[2 * i + 1] };
            double d = ch3_dsm_term(f[m], mdl[m], 2, xc, z + 2 * i, sigma), e = ch3_esm_term(f[m], mdl[m], &gs, xn);
            jd += d / N;
            je += e / N;
            dv[i] = d - e;
            if (m < NMODEL - 1) {
                iv[i] = ch3_ism_term(f[m], mdl[m], 2, xn) - e;
                ji += ch3_ism_term(f[m], mdl[m], 2, xn) / N;
            }
        }
        double md, sd_, mi = NAN, si = NAN;
        mean_se(dv, N, &md, &sd_);
        dsm_ok &= fabs(md - C) < 5 * sd_ + 0.002;
        if (m < NMODEL - 1) {
            mean_se(iv, N, &mi, &si);
            if (m == 0) ism_c = mi;
            ism_ok &= fabs(mi - ism_c) < 5 * si * 1.5 + 0.002;
            cli_say("  %-22s J_ESM %8.3f  J_DSM %8.3f  J_ISM %8.3f  DSM-ESM %7.3f +- %.3f  ISM-ESM %7.3f +- %.3f",
                    name[m], je, jd, ji, md, sd_, mi, si);
        } else {
            cli_say("  %-22s J_ESM %8.3f  J_DSM %8.3f  (ISM needs div s)   DSM-ESM %7.3f +- %.3f", name[m], je, jd, md, sd_);
        }
    }
    cli_say("C = D/(2 sigma^2) - E 1/2 |grad log p_sigma|^2 = %.3f (Monte Carlo, 4e5 draws)", C);
    /* Tol: 5 standard errors of the per-point differences, plus 0.002 for the Monte Carlo error of C itself */
    cli_check(ctx, "DSM - ESM equals C for every model (5 s.e.)", dsm_ok, 1, 0.5);
    cli_check(ctx, "ISM - ESM is one constant -E 1/2 |grad log p|^2 for every model (7.5 s.e.)", ism_ok, 1, 0.5);

    /* Tweedie: the optimal denoising score gives the posterior mean; exact, and through the DSM fit */
    double worst = 0, fit_err = 0, wsum = 0;
    for (int i = 0; i < 2000; i++) {
        double x[2] = { noisy[2 * i], noisy[2 * i + 1] }, tw[2], pm[2], sf[2];
        ch3_tweedie(&g, sigma, x, tw);
        data_gmm_denoise(&g, 1.0, sigma * sigma, x, pm);
        ch3_rbf_score(&fit[CH3_DSM], x, sf, NULL);
        for (int d = 0; d < 2; d++) {
            worst = fmax(worst, fabs(tw[d] - pm[d]));
            fit_err += (x[d] + sigma * sigma * sf[d] - pm[d]) * (x[d] + sigma * sigma * sf[d] - pm[d]);
        }
        wsum += 1;
    }
    cli_say("Tweedie: x + sigma^2 grad log p_sigma(x) against the closed-form posterior mean E[x' | x] (Wiener filters):");
    cli_check(ctx, "max |Tweedie - E[x'|x]|", worst, 0, 1e-12);
    cli_say("with the DSM-fitted score instead: rms error of the denoiser %.4f (sigma = %.2f)", sqrt(fit_err / wsum), sigma);

    /* Figure: the DSM-learned field beside the true one; the learned field fades where there is no data */
    Plot p;
    int rc = plot_open(&p, ctx->out, "ch3_learned_vs_true_score");
    if (!rc) {
        const double r = 2.5;
        block_logpdf(&p, &gs, r, 100);
        Denoiser den_true = den_gmm(&gs), den_fit = den_score_fn(rbf_field, &fit[CH3_DSM], 2);
        block_arrows(&p, &den_true, den_level_ve(0.0), r, 18, 0.2, ctx->arena);
        block_arrows(&p, &den_fit, den_level_ve(0.0), r, 18, 0.2, ctx->arena);
        /* §3.3 Fisher-divergence density p_sigma(x) |s_W(x) - s(x)|^2: its integral is E_{p_sigma} |s_W - s|^2 */
        plot_block(&p, "x y p_sigma(x) |s_W(x) - s(x)|^2 (Fisher-divergence density of the DSM fit)");
        const int res = 80;
        const double cell = (2 * r / res) * (2 * r / res);
        double integral = 0, top = 0;
        for (int i = 0; i <= res; i++) {
            for (int j = 0; j <= res; j++) {
                double x[2] = { -r + 2 * r * i / res, -r + 2 * r * j / res }, st[2], sw[2];
                data_gmm_score(&gs, x, st);
                ch3_rbf_score(&fit[CH3_DSM], x, sw, NULL);
                double dens = exp(data_gmm_logpdf(&gs, x)) * ((sw[0] - st[0]) * (sw[0] - st[0]) + (sw[1] - st[1]) * (sw[1] - st[1]));
                double w = (i == 0 || i == res ? 0.5 : 1) * (j == 0 || j == res ? 0.5 : 1);   /* trapezoid rule */
                integral += w * cell * dens;
                top = fmax(top, dens);
                fprintf(plot_dat(&p), "%.4f %.4f %.6f\n", x[0], x[1], dens);
            }
            fprintf(plot_dat(&p), "\n");
        }
        cli_say("Figure, right panel: the density p_sigma(x) |s_W - s|^2 of the DSM fit's Fisher divergence. Its integral");
        cli_say("over the plotted box (trapezoid, %d^2 cells) is %.4f; E_{p_sigma} |s_W - s|^2 from %d draws is %.4f +- %.4f.",
                res, integral, NE, fisher, fisher_se);
        /* Tol: 5 standard errors of the Monte Carlo mean; the grid's quadrature error and the mass outside the box are far smaller */
        cli_check(ctx, "integral of the plotted density = E|s_W - s|^2 (5 s.e.)", integral, fisher, 5 * fisher_se);
        plot_points(&p, "300 draws of p_sigma", noisy, 300);
        plot_size(&p, 1500, 500);
        plot_cmd(&p, "set multiplot layout 1,3 title 'Denoising score matching (sigma = %.1f, %d points): learned vs true score of p_{σ}'", sigma, N);
        plot_cmd(&p, "set size ratio -1; set xrange [-%g:%g]; set yrange [-%g:%g]; unset key", r, r, r, r);
        plot_cmd(&p, "set palette defined (0 'white', 1 '#c6dbef', 2 '#6baed6', 3 '#08519c'); set cbrange [-8:1]; unset colorbox");
        plot_cmd(&p, "set title 'true score of p_{σ}'");
        plot_cmd(&p, "plot dat index 0 using 1:2:3 with image, '' index 1 using 1:2:3:4 with vectors head size 0.06,20 filled lc rgb 'black'");
        plot_cmd(&p, "set title 'learned s_W (DSM)'");
        plot_cmd(&p, "plot dat index 0 using 1:2:3 with image, '' index 2 using 1:2:3:4 with vectors head size 0.06,20 filled lc rgb '#d7301f'");
        plot_cmd(&p, "set title 'p_{σ}(x) |s_W - s|^2 (integral %.3f; E|s_W - s|^2 = %.3f ± %.3f), 300 draws of p_{σ}' font ',10'; set colorbox; set cbrange [0:%g]", integral, fisher, fisher_se, top);
        plot_cmd(&p, "set palette defined (0 'white', 1 '#fdae6b', 2 '#d94801', 3 '#7f2704')");
        plot_cmd(&p, "plot dat index 3 using 1:2:3 with image, '' index 4 using 1:2 with points pt 7 ps 0.3 lc rgb 'black'");
        plot_cmd(&p, "unset multiplot");
        rc = plot_close(&p);
    }
    return rc;
}

/* ---- 3.4  Training and inference: noise levels and annealed Langevin ------------ */

/* Song and Ermon's counter-example, scaled: two modes 14 standard deviations apart, weights 0.2 and 0.8.
 * Between the modes p is ~e^-20: a score learned from samples is noise there, and Langevin never crosses. */
static Gmm gmm_two_modes(void) {
    static const double w[2] = { 0.2, 0.8 }, mu[4] = { -2.0, -2.0, 2.0, 2.0 }, sd[2] = { 0.4, 0.4 };
    return data_gmm_2d(2, w, mu, sd);
}

void ch3_sigmas(double sigma_max, double sigma_min, int L, double *sigma) {
    for (int i = 0; i < L; i++) sigma[i] = sigma_max * pow(sigma_min / sigma_max, (double)i / (L - 1));   /* §3.4 geometric */
}

DenLevel ch3_level(const Schedule *vp, double sigma) {
    if (!vp) return den_level_ve(sigma);
    int best = 1;   /* the VP step whose noise std sqrt(1 - abar_t) is nearest to sigma */
    for (int t = 1; t <= vp->T; t++)
        if (fabs(sqrt(1 - vp->alpha_bar[t]) - sigma) < fabs(sqrt(1 - vp->alpha_bar[best]) - sigma)) best = t;
    return den_level_vp(vp, best);
}

void ch3_annealed_langevin(const Denoiser *den, const Schedule *vp, const double *sigma, int L, int steps, double c,
                           float *x, int n, Rng *rng, Arena *arena) {
    for (int i = 0; i < L; i++) {
        DenLevel l = ch3_level(vp, sigma[i]);
        double tau = c * sigma[i] * sigma[i];   /* §3.4 tau_i proportional to sigma_i^2 (NCSN) */
        for (int k = 0; k < steps; k++) ch3_langevin_step(den, l, x, n, tau, 1, rng, arena);
    }
}

/* The noise-conditional score network s_theta(x, sigma) of NCSN: an MLP on
 * [u, sin/cos(2^k pi u) for k < NCSN_FOURIER, sinusoidal embedding of log sigma], u = x / sqrt(v + sigma^2)
 * (v the data variance: u has unit scale at every level), whose output o is read as sigma s_theta(x, sigma).
 * The Fourier features are there for thin data (the swiss roll), as in common/toymodel.c: a plain MLP on raw
 * coordinates learns only the smooth part of the score ("spectral bias"). */
enum { NCSN_TEMB = 16, NCSN_HIDDEN = 128, NCSN_FOURIER = 5, NCSN_IN = 2 * (1 + 2 * NCSN_FOURIER) + NCSN_TEMB };
typedef struct {
    Params params;
    Mlp    mlp;
    double sigma_min, sigma_max, data_var;
    Arena *arena;          /* scratch for the forward passes of ncsn_noise_field */
} Ncsn;

static void ncsn_init(Ncsn *m, double sigma_min, double sigma_max, double data_var, Arena *arena, Rng *rng) {
    memset(m, 0, sizeof *m);
    m->sigma_min = sigma_min;
    m->sigma_max = sigma_max;
    m->data_var = data_var;
    m->arena = arena;
    const int widths[5] = { NCSN_IN, NCSN_HIDDEN, NCSN_HIDDEN, NCSN_HIDDEN, 2 };
    nn_params_init(&m->params);
    nn_mlp_declare(&m->params, &m->mlp, "score", 5, widths, NN_SILU);
    nn_params_alloc(&m->params, rng);
}

/* o = sigma s_theta(x, sigma) on the tape, for n points x (n, 2) at noise levels sigma (n). */
static AgNode *ncsn_forward(Ncsn *m, AgTape *tape, const float *x, const float *sigma, int n) {
    enum { W = NCSN_IN };
    Tensor in = tensor_new(tape->arena, 2, (int[]){ n, W });
    float *t = arena_push_no_zero(tape->arena, sizeof(float) * n), *emb = arena_push_no_zero(tape->arena, sizeof(float) * n * NCSN_TEMB);
    for (int i = 0; i < n; i++) t[i] = (float)(1000 * log(sigma[i] / m->sigma_min) / log(m->sigma_max / m->sigma_min));
    nn_time_embedding(emb, t, n, NCSN_TEMB, 1000.0f);
    for (int i = 0; i < n; i++) {
        double c_in = 1 / sqrt(m->data_var + (double)sigma[i] * sigma[i]);
        float *row = in.data + (size_t)i * W;
        int j = 0;
        for (int d = 0; d < 2; d++) row[j++] = (float)(c_in * x[2 * i + d]);
        for (int k = 0; k < NCSN_FOURIER; k++)
            for (int d = 0; d < 2; d++) {
                double u = PI * (double)(1 << k) * c_in * x[2 * i + d];
                row[j++] = (float)sin(u);
                row[j++] = (float)cos(u);
            }
        memcpy(row + j, emb + i * NCSN_TEMB, sizeof(float) * NCSN_TEMB);
    }
    return nn_mlp_forward(tape, &m->params, &m->mlp, ag_input(tape, in));
}

/* s_theta(x, sigma) = o / sigma at the VE level l (sigma = l.b), as a DenScoreFn. */
static void ncsn_score(const void *model, DenLevel l, const double *x, int n, double *s, Arena *arena) {
    Ncsn *m = (Ncsn *)model;
    double sigma = l.b;
    size_t mark = arena_pos(arena);
    AgTape tape = ag_tape_no_grad(arena, 64);
    float *sg = arena_push_no_zero(arena, sizeof(float) * n), *xf = arena_push_no_zero(arena, sizeof(float) * 2 * n);
    for (int i = 0; i < n; i++) sg[i] = (float)sigma;
    for (int k = 0; k < 2 * n; k++) xf[k] = (float)x[k];
    const float *o = ncsn_forward(m, &tape, xf, sg, n)->val.data;
    for (int k = 0; k < 2 * n; k++) s[k] = o[k] / sigma;
    arena_pop_to(arena, mark);
}

/* §3.4 NCSN's loss: sum_i lambda(sigma_i) E 1/2 |s_theta(x' + sigma_i z, sigma_i) + z / sigma_i|^2 with
 * lambda = sigma^2, i.e. E 1/2 |o + z|^2 (every level weighs the same); a level drawn per point. One batch;
 * the loop (Adam, schedule, NaN guard) is train.h's. */
typedef struct { Ncsn *m; const double *sigma; int L; const float *data; int n_data, batch; } NcsnBatch;

static float ncsn_batch(void *model, long step, Rng *rng, Arena *arena, float *terms) {
    (void)step; (void)terms;
    NcsnBatch *b = model;
    int batch = b->batch;
    AgTape tape = ag_tape(arena, 64);
    float *xn = arena_push_no_zero(arena, sizeof(float) * 2 * batch), *sg = arena_push_no_zero(arena, sizeof(float) * batch);
    Tensor minus_z = tensor_new(arena, 2, (int[]){ batch, 2 });
    for (int i = 0; i < batch; i++) {
        const float *x0 = b->data + 2 * rng_int(rng, b->n_data);
        sg[i] = (float)b->sigma[rng_int(rng, b->L)];
        for (int d = 0; d < 2; d++) {
            double z = rng_normal(rng);
            xn[2 * i + d] = (float)(x0[d] + sg[i] * z);
            minus_z.data[2 * i + d] = (float)-z;
        }
    }
    AgNode *loss = ag_mse(&tape, ncsn_forward(b->m, &tape, xn, sg, batch), ag_input(&tape, minus_z));
    nn_params_zero_grad(&b->m->params);
    ag_backward(&tape, loss);
    return loss->val.data[0];
}

/* Adam with warm-up and cosine decay; 0, or nonzero if the loss or a weight turned NaN (the step is printed,
 * the last good weights kept) or after Ctrl-C. */
static int ncsn_train(Ncsn *m, const double *sigma, int L, const float *data, int n_data, int steps, int batch,
                      int quiet, Rng *rng) {
    NcsnBatch b = { m, sigma, L, data, n_data, batch };
    Trainer tr;
    train_init(&tr, &m->params, &(TrainConfig){ .label = "train s_theta(x, sigma) by DSM", .steps = steps, .lr_max = 2e-3f,
                                                .lr_min = 1e-5f, .warmup = 100, .lr_ahead = 1, .quiet = quiet });
    int rc = train_run(&tr, ncsn_batch, &b, rng, m->arena);
    train_free(&tr);
    return rc;
}

/* Arrows of v = sigma s(x, sigma) of a noise-conditional field at one sigma on a res x res grid, centred on the grid
 * points: unit directions drawn with length 0.8 of the grid spacing (so no two arrows touch), and |v| in column 5,
 * which the figure turns into the arrow's colour. */
static void block_field_at(Plot *p, const Denoiser *den, double sigma, double r, int res, Arena *arena) {
    const double len = 0.8 * 2 * r / res;
    plot_block(p, "x y dx dy |v|: direction of v = sigma s(x, sigma) (unit, times 0.8 spacing), its length |v|");
    for (int i = 0; i < res; i++)
        for (int j = 0; j < res; j++) {
            float xy[2] = { (float)(-r + 2 * r * (i + 0.5) / res), (float)(-r + 2 * r * (j + 0.5) / res) }, s[2] = { 0, 0 };
            ch3_score(den, den_level_ve(sigma), xy, 1, s, arena);
            double v0 = sigma * s[0], v1 = sigma * s[1], mag = hypot(v0, v1) + 1e-12;
            fprintf(plot_dat(p), "%.4f %.4f %.4f %.4f %.5g\n", xy[0] - len * v0 / mag / 2, xy[1] - len * v1 / mag / 2,
                    len * v0 / mag, len * v1 / mag, mag);
        }
}

/* E_{p_sigma} |s_theta - s|^2 / E_{p_sigma} |s|^2 over n fresh draws of p_sigma. */
static double field_rel_error(const Denoiser *den, const Gmm *g, double sigma, int n, Rng *rng, Arena *arena) {
    Gmm gs = data_gmm_noised(g, 1.0, sigma * sigma);
    Denoiser exact = den_gmm(g);
    size_t mark = arena_pos(arena);
    float *x = arena_push_no_zero(arena, sizeof(float) * 2 * n), *s = arena_push_no_zero(arena, sizeof(float) * 2 * n);
    float *st = arena_push_no_zero(arena, sizeof(float) * 2 * n);
    data_gmm_sample(&gs, rng, x, n);
    ch3_score(den, den_level_ve(sigma), x, n, s, arena);
    ch3_score(&exact, den_level_ve(sigma), x, n, st, arena);
    double e = 0, norm = 0;
    for (int k = 0; k < 2 * n; k++) {
        e += ((double)s[k] - st[k]) * ((double)s[k] - st[k]);
        norm += (double)st[k] * st[k];
    }
    arena_pop_to(arena, mark);
    return e / norm;
}

static int cell_3_4_annealed(Ctx *ctx) {
    enum { L = 10, N = 1000, N_DATA = 20000, PLAIN = 500, PER_LEVEL = 100 };
    const double sigma_max = 6.0, sigma_min = 0.05, c = 0.1, r = 4.0;
    long steps = ctx->opts->steps > 0 ? ctx->opts->steps : 3000;
    Gmm g = gmm_two_modes();
    double sigma[L];
    ch3_sigmas(sigma_max, sigma_min, L, sigma);
    cli_say("p = 0.2 N((-2,-2), 0.4^2 I) + 0.8 N((2,2), 0.4^2 I). Between the modes p ~ e^-20: samples never land");
    cli_say("there, so a score learned from samples is wrong there, and Langevin cannot cross it anyway.");
    cli_say("NCSN: one network s_theta(x, sigma) for L = %d levels sigma = %.1f ... %.2f (geometric), trained by", L, sigma_max, sigma_min);
    cli_say("denoising score matching with weight sigma^2 (an MLP 3 x %d on [x scaled, embedding of log sigma]), %ld steps.", NCSN_HIDDEN, steps);
    float *data = cli_alloc(ctx, sizeof(float) * 2 * N_DATA);
    data_gmm_sample(&g, &ctx->rng, data, N_DATA);
    Ncsn m;
    ncsn_init(&m, sigma_min, sigma_max, data_gmm_var(&g, 0), ctx->arena, &ctx->rng);
    if (ncsn_train(&m, sigma, L, data, N_DATA, (int)steps, 128, ctx->opts->quiet, &ctx->rng)) {
        nn_params_free(&m.params);
        return 1;
    }
    Denoiser learned_den = den_score_fn(ncsn_score, &m, 2), exact = den_gmm(&g);
    cli_say("learned vs exact score, E_{p_sigma} |s_theta - s|^2 / E |s|^2:");
    static const int show[3] = { 0, 5, L - 1 };
    for (int k = 0; k < 3; k++)
        cli_say("  sigma = %5.2f   %.4f", sigma[show[k]], field_rel_error(&learned_den, &g, sigma[show[k]], 4000, &ctx->rng, ctx->arena));
    /* Tol: a 50k-parameter MLP after a few thousand steps matches the score to a few percent where p lives. */
    cli_check_le(ctx, "relative score error at sigma_max", field_rel_error(&learned_den, &g, sigma[0], 4000, &ctx->rng, ctx->arena), 0.05);

    Plot p;
    if (plot_open(&p, ctx->out, "ch3_ncsn_scores")) { nn_params_free(&m.params); return 1; }
    for (int k = 0; k < 3; k++) {
        Gmm gs = data_gmm_noised(&g, 1.0, sigma[show[k]] * sigma[show[k]]);
        block_logpdf(&p, &gs, r, 90);
        block_field_at(&p, &exact, sigma[show[k]], r, 16, ctx->arena);
        block_field_at(&p, &learned_den, sigma[show[k]], r, 16, ctx->arena);
    }
    plot_size(&p, 1400, 960);
    plot_cmd(&p, "set multiplot layout 2,3 title \"Noise-conditional score σ s(x, σ) over log p_{σ} (grey): exact (top) and learned (bottom)\\n"
                 "arrows: unit direction; colour: |σ s| from yellow (≤ 0.03) through orange (0.3) to dark red (≥ 3), log scale\"");
    plot_cmd(&p, "u(m) = (m < 0.03 ? 0 : m > 3 ? 1 : (log10(m) + 1.5) / 2)   # |v| -> [0, 1] on the log scale");
    plot_cmd(&p, "ramp(u, a, b) = int(a + u * (b - a) + 0.5)");
    plot_cmd(&p, "col(m) = u(m) < 0.5 ? 65536 * ramp(2 * u(m), 254, 240) + 256 * ramp(2 * u(m), 217, 101) + ramp(2 * u(m), 118, 72) : \\");
    plot_cmd(&p, "                      65536 * ramp(2 * u(m) - 1, 240, 103) + 256 * ramp(2 * u(m) - 1, 101, 0) + ramp(2 * u(m) - 1, 72, 13)");
    plot_cmd(&p, "set size ratio -1; set xrange [-%g:%g]; set yrange [-%g:%g]; unset key; unset colorbox", r, r, r, r);
    plot_cmd(&p, "set xtics 2; set ytics 2; set palette defined (0 'white', 1 '#f0f0f0', 2 '#bdbdbd', 3 '#737373'); set cbrange [-12:1]");
    for (int row = 0; row < 2; row++)
        for (int k = 0; k < 3; k++) {
            plot_cmd(&p, "set title '%s, sigma = %.2f'", row ? "learned σ s_θ(x, σ)" : "exact σ ∇ log p_σ", sigma[show[k]]);
            plot_cmd(&p, "plot dat index %d using 1:2:3 with image, '' index %d using 1:2:3:4:(col($5)) with vectors head size 0.09,25 filled lw 1.5 lc rgb variable",
                     3 * k, 3 * k + 1 + row);
        }
    plot_cmd(&p, "unset multiplot");
    if (plot_close(&p)) { nn_params_free(&m.params); return 1; }

    /* Four samplers from the same uniform start: plain Langevin (one score, the smallest sigma) and annealed
     * Langevin, each with the exact and with the learned score. */
    float *x = cli_alloc(ctx, sizeof(float) * 2 * N), *x0 = cli_alloc(ctx, sizeof(float) * 2 * N);
    float *plain = cli_alloc(ctx, sizeof(float) * 2 * N), *snap = cli_alloc(ctx, sizeof(float) * 2 * N * 4);
    for (int i = 0; i < 2 * N; i++) x0[i] = (float)(-r + 2 * r * rng_uniform(&ctx->rng));
    double err[4];
    static const char *const label[4] = { "plain Langevin, exact score", "plain Langevin, learned score", "annealed, exact score", "annealed, learned score" };
    for (int k = 0; k < 4; k++) {
        int learned = k % 2, annealed = k / 2;
        const Denoiser *den = learned ? &learned_den : &exact;
        memcpy(x, x0, sizeof(float) * 2 * N);
        if (!annealed) {
            for (int it = 0; it < PLAIN; it++) ch3_langevin_step(den, den_level_ve(sigma_min), x, N, 0.01, 1, &ctx->rng, ctx->arena);
            if (learned) memcpy(plain, x, sizeof(float) * 2 * N);
        } else {
            for (int i = 0; i < L; i++) {   /* level by level, to keep snapshots for the figure */
                ch3_annealed_langevin(den, NULL, sigma + i, 1, PER_LEVEL, c, x, N, &ctx->rng, ctx->arena);
                if (learned && (i == 0 || i == 3 || i == 6 || i == L - 1))
                    memcpy(snap + 2 * N * (i == 0 ? 0 : i == 3 ? 1 : i == 6 ? 2 : 3), x, sizeof(float) * 2 * N);
            }
        }
        double frac[GMM_MAX];
        mode_fractions(&g, x, N, frac);
        err[k] = weight_error(&g, x, N);
        cli_say("  %-30s weights %.3f / %.3f (p: 0.2 / 0.8)  error %.3f", label[k], frac[0], frac[1], err[k]);
    }
    /* Tol: the binomial s.e. of a fraction of N = 1000 is 0.013; 0.05 is 4 s.e. The plain chains split the uniform
     * start by basin (about half and half): an error near 0.3, far above the tolerance. */
    cli_check_le(ctx, "annealed Langevin, exact score: mode-weight error", err[2], 0.05);
    cli_check_le(ctx, "annealed Langevin, learned score: mode-weight error", err[3], 0.05);
    cli_check_le(ctx, "plain Langevin misses the weights: 0.15 <= its error (exact score)", 0.15, err[0]);

    int rc = plot_open(&p, ctx->out, "ch3_annealed_langevin");
    if (!rc) {
        static const int lev[4] = { 0, 3, 6, L - 1 };
        for (int k = 0; k < 4; k++) {
            Gmm gs = data_gmm_noised(&g, 1.0, sigma[lev[k]] * sigma[lev[k]]);
            block_logpdf(&p, &gs, r, 90);
            plot_points(&p, "particles after this level", snap + 2 * N * k, N);
        }
        plot_size(&p, 1600, 440);
        plot_cmd(&p, "set multiplot layout 1,4 title 'Annealed Langevin with the learned s_{θ}(x, σ): particles after level i over log p_{σ_i}'");
        plot_cmd(&p, "set size ratio -1; set xrange [-%g:%g]; set yrange [-%g:%g]; unset key; unset colorbox", r, r, r, r);
        plot_cmd(&p, "set palette defined (0 'white', 1 '#c6dbef', 2 '#6baed6', 3 '#08519c'); set cbrange [-12:1]");
        for (int k = 0; k < 4; k++) {
            plot_cmd(&p, "set title 'level %d, sigma = %.2f'", lev[k] + 1, sigma[lev[k]]);
            plot_cmd(&p, "plot dat index %d using 1:2:3 with image, '' index %d using 1:2 with points pt 7 ps 0.2 lc rgb '#d7301f'", 2 * k, 2 * k + 1);
        }
        plot_cmd(&p, "unset multiplot");
        rc = plot_close(&p);
    }
    if (!rc) rc = plot_open(&p, ctx->out, "ch3_mode_weights");
    if (!rc) {
        block_logpdf(&p, &g, r, 90);
        plot_points(&p, "plain Langevin, learned score", plain, N);
        plot_points(&p, "annealed Langevin, learned score", x, N);
        double fp[GMM_MAX], fa[GMM_MAX];
        mode_fractions(&g, plain, N, fp);
        mode_fractions(&g, x, N, fa);
        plot_size(&p, 1100, 540);
        plot_cmd(&p, "set multiplot layout 1,2 title 'Mode weights, p = 0.2 (lower left) / 0.8 (upper right); same start, same learned network'");
        plot_cmd(&p, "set size ratio -1; set xrange [-%g:%g]; set yrange [-%g:%g]; unset key; unset colorbox", r, r, r, r);
        plot_cmd(&p, "set palette defined (0 'white', 1 '#c6dbef', 2 '#6baed6', 3 '#08519c'); set cbrange [-12:1]");
        plot_cmd(&p, "set title 'plain Langevin at σ_{min}: %.2f / %.2f'", fp[0], fp[1]);
        plot_cmd(&p, "plot dat index 0 using 1:2:3 with image, '' index 1 using 1:2 with points pt 7 ps 0.25 lc rgb '#d7301f'");
        plot_cmd(&p, "set title 'annealed Langevin, %d levels: %.2f / %.2f'", L, fa[0], fa[1]);
        plot_cmd(&p, "plot dat index 0 using 1:2:3 with image, '' index 2 using 1:2 with points pt 7 ps 0.25 lc rgb '#d7301f'");
        plot_cmd(&p, "unset multiplot");
        rc = plot_close(&p);
    }
    nn_params_free(&m.params);
    return rc;
}

/* The same NCSN on data with no closed-form score: the swiss roll, a thin curve. Quality is the mean distance
 * from a sample to the nearest data point, against the same distance for fresh draws of the data (the floor). */
static int cell_3_4_swissroll(Ctx *ctx) {
    enum { L = 10, N = 2000, N_DATA = 20000, PER_LEVEL = 100, PLAIN = 1000 };
    const double sigma_max = 1.0, sigma_min = 0.01, c = 0.1, r = 1.4;
    long steps = ctx->opts->steps > 0 ? ctx->opts->steps : 4000;
    double sigma[L];
    ch3_sigmas(sigma_max, sigma_min, L, sigma);
    float *data = cli_alloc(ctx, sizeof(float) * 2 * N_DATA), *fresh = cli_alloc(ctx, sizeof(float) * 2 * N);
    if (data_toy_sample("swissroll", &ctx->rng, data, N_DATA) || data_toy_sample("swissroll", &ctx->rng, fresh, N)) {
        return 1;
    }
    cli_say("The swiss roll has no closed-form score: everything here is learned. NCSN with L = %d levels", L);
    cli_say("sigma = %.1f ... %.2f, %ld steps of DSM; then annealed Langevin (%d steps per level, tau = %.1f sigma^2)", sigma_max, sigma_min, steps, PER_LEVEL, c);
    cli_say("and, from the same start, plain Langevin with the learned score at sigma_min (%d steps).", PLAIN);
    double mean, var_x, var_y;   /* the mean variance of the coordinates: the data scale the network's input is divided by */
    data_moments(data, N_DATA, 2, &mean, &var_x);
    data_moments(data + 1, N_DATA, 2, &mean, &var_y);
    Ncsn m;
    ncsn_init(&m, sigma_min, sigma_max, 0.5 * var_x + 0.5 * var_y, ctx->arena, &ctx->rng);
    if (ncsn_train(&m, sigma, L, data, N_DATA, (int)steps, 128, ctx->opts->quiet, &ctx->rng)) {
        nn_params_free(&m.params);
        return 1;
    }
    float *x = cli_alloc(ctx, sizeof(float) * 2 * N), *plain = cli_alloc(ctx, sizeof(float) * 2 * N);
    for (int i = 0; i < 2 * N; i++) x[i] = plain[i] = (float)(-r + 2 * r * rng_uniform(&ctx->rng));
    Denoiser learned = den_score_fn(ncsn_score, &m, 2);
    ch3_annealed_langevin(&learned, NULL, sigma, L, PER_LEVEL, c, x, N, &ctx->rng, ctx->arena);
    const double tau_plain = sigma_min * sigma_min;   /* 10x annealing's last step, so plain Langevin gets to move */
    for (int k = 0; k < PLAIN; k++) ch3_langevin_step(&learned, den_level_ve(sigma_min), plain, N, tau_plain, 1, &ctx->rng, ctx->arena);
    double d_floor = data_mean_nn_distance(fresh, N, data, N_DATA, 2);
    double d_annealed = data_mean_nn_distance(x, N, data, N_DATA, 2), d_plain = data_mean_nn_distance(plain, N, data, N_DATA, 2);
    cli_say("mean distance to the nearest data point: annealed %.4f, plain %.4f, fresh data draws %.4f (the floor)", d_annealed, d_plain, d_floor);
    /* Near the roll is not enough: the points must also spread along it as the data do. Sliced W1 sees that. */
    double w_annealed = data_sliced_wasserstein(x, data, N, 2, 64, &ctx->rng), w_plain = data_sliced_wasserstein(plain, data, N, 2, 64, &ctx->rng);
    double w_floor = data_sliced_wasserstein(fresh, data, N, 2, 64, &ctx->rng);
    cli_say("sliced W1 to the data: annealed %.4f, plain %.4f, fresh data draws %.4f (the floor)", w_annealed, w_plain, w_floor);
    /* Tol: 3 x the floor of two exact samples of this size. Plain Langevin's clumps put it above (not asserted:
     * how far depends on the start). */
    cli_check_le(ctx, "annealed samples spread along the roll as the data: sliced W1 <= 3 x floor", w_annealed, 3 * w_floor);
    /* Tol: a sample that reached the roll still carries the last level's noise, sigma_min sqrt(2/pi) ~ 0.8 sigma_min
     * away from it on average; 3 sigma_min allows for that and the network's error. The floor of exact draws is ~0:
     * the roll has no thickness. */
    cli_check_le(ctx, "annealed samples lie on the roll: distance <= 3 sigma_min", d_annealed, 3 * sigma_min);
    Plot p;
    int rc = plot_open(&p, ctx->out, "ch3_annealed_swissroll");
    if (!rc) {
        plot_points(&p, "data", data, N);
        plot_points(&p, "annealed Langevin", x, N);
        plot_points(&p, "plain Langevin at sigma_min", plain, N);
        plot_size(&p, 1500, 520);
        plot_cmd(&p, "set multiplot layout 1,3 title 'NCSN on the swiss roll: one learned s_{θ}(x, σ), two samplers from the same uniform start'");
        plot_cmd(&p, "set size ratio -1; set xrange [-%g:%g]; set yrange [-%g:%g]; unset key", r, r, r, r);
        plot_cmd(&p, "set title 'data (%d of %d training points)'", N, N_DATA);
        plot_cmd(&p, "plot dat index 0 using 1:2 with points pt 7 ps 0.25 lc rgb '#636363'");
        plot_cmd(&p, "set title 'annealed Langevin, %d levels: distance to the roll %.3f, sliced W1 %.3f'", L, d_annealed, w_annealed);
        plot_cmd(&p, "plot dat index 1 using 1:2 with points pt 7 ps 0.25 lc rgb '#d7301f'");
        plot_cmd(&p, "set title 'plain Langevin at σ_{min}: %.3f, sliced W1 %.3f (floor %.3f)'", d_plain, w_plain, w_floor);
        plot_cmd(&p, "plot dat index 2 using 1:2 with points pt 7 ps 0.25 lc rgb '#2171b5'");
        plot_cmd(&p, "unset multiplot");
        rc = plot_close(&p);
    }
    nn_params_free(&m.params);
    return rc;
}

/* ---- 3.4 (images)  Chapter 2's network is a noise-conditional score ---------------- */

static int cell_3_4_images(Ctx *ctx) {
    enum { IMG = 784, L = 80, PER_LEVEL = 2 };
    /* The last level is 0.4, not the network's first step (0.0064): there a Tweedie step x0 = x + sigma^2 score
     * removes the rest of the noise. Annealing down to 0.0064 scored 109 at N = 100 (floor 34), stopping at 0.1 60,
     * at 0.4 35, at 1.2 58: an x0-network's score (x0_hat - x) / sigma^2 carries its error at low noise (where it
     * must copy its input) divided by sigma^2, and each late Langevin step (tau = c sigma^2) moves x by c times that
     * error again, thinning the garments (background 0.65 against the data's 0.54); one Tweedie step applies it once. */
    const double SIGMA_MAX = 50, SIGMA_MIN = 0.4;
    int N = ctx->opts->samples > 0 ? (int)ctx->opts->samples : 16;   /* --samples: images drawn and scored */
    const double c = 0.2;
    UnetModel net;
    int rc;
    /* the plain-loss network: the min-SNR one of CH2_UNET_CKPT scores 32.8 here against 12.4 (tutorial.md 2.8) */
    if (!unet_model_load_for_cell(&net, CH2_UNET_PLAIN_CKPT, &rc)) return rc;
    Schedule sched;   /* the network's own schedule: a VE level sigma is the VP step with (1 - abar)/abar = sigma^2,
                       * the input scaled by sqrt(abar) (den_unet, through the nearest step) */
    sched_init(&sched, net.sched, net.T);
    Denoiser den = den_unet(&net, &sched, 0);
    cli_say("Chapter 2's U-Net (it predicts %s) is a denoiser, hence a score: -eps_hat / sigma (§3.3, Tweedie). DDPM and", unet_target_names[net.target]);
    cli_say("SMLD share one network (here the one trained with the plain loss: annealed Langevin leans on the noisiest");
    cli_say("levels, which min-SNR weights train least). Annealed Langevin with it, on SMLD's VE levels x = x0 + sigma eps:");
    cli_say("L = %d levels sigma geometric from %.0f to %.1f, %d Langevin steps each with", L, SIGMA_MAX, SIGMA_MIN, PER_LEVEL);
    cli_say("tau = %.1f sigma^2, from x ~ N(0, %.0f^2 I), then one Tweedie step x0 = x + sigma^2 score (§3.3) to remove", c, SIGMA_MAX);
    cli_say("the last noise (Song and Ermon's final denoising step). %d images, %d network evaluations each.", N, L * PER_LEVEL + 1);
    double sigma[L];
    ch3_sigmas(SIGMA_MAX, SIGMA_MIN, L, sigma);
    float *x = cli_alloc(ctx, sizeof(float) * N * IMG), *s = cli_alloc(ctx, sizeof(float) * N * IMG);
    rng_normal_fill(&ctx->rng, x, (long)N * IMG);
    for (long k = 0; k < (long)N * IMG; k++) x[k] *= (float)SIGMA_MAX;
    double t0 = cli_seconds();
    ch3_annealed_langevin(&den, NULL, sigma, L, PER_LEVEL, c, x, N, &ctx->rng, ctx->arena);
    ch3_score(&den, ch3_level(NULL, sigma[L - 1]), x, N, s, ctx->arena);
    for (long k = 0; k < (long)N * IMG; k++) x[k] += (float)(sigma[L - 1] * sigma[L - 1] * s[k]);   /* §3.3 Tweedie at the last level */
    cli_say("sampled in %.1f s", cli_seconds() - t0);
    /* Clothing sits on a black background: about half of a Fashion-MNIST image's pixels are below 0.1; noise
     * has ~5% there. Per-image background fractions spread by ~0.15, so 16 images average within ~0.04 of the
     * data's; tol 0.1 adds room for the sampler's bias (smaller steps, c = 0.2-0.5, leave brighter, larger
     * garments: 0.26-0.38 background with the same number of calls). */
    double bg_data = fmnist_test_background_fraction(1000);
    if (bg_data >= 0)
        cli_check(ctx, "fraction of background pixels (< 0.1), samples vs 1000 test images", fmnist_background_fraction(x, N, -1.0f, 1.0f), bg_data, 0.1);
    FidScore score;
    fid_report("annealed Langevin samples", x, N, -1.0f, 1.0f, &score);
    rc = image_samples_write(ctx->out, "ch3_fmnist_annealed", x, N, image_grid_cols(N), N <= 100 ? 3 : 1, -1.0f, 1.0f);
    if (!rc) cli_figure(ctx->out, "ch3_fmnist_annealed");
    sched_free(&sched);
    unet_model_free(&net);
    return rc;
}

/* ---- the chapter, cell by cell ----------------------------------------- */

static const Cell CELLS[] = {
    { "3.1",  "langevin",  "Langevin dynamics with the exact score: 1D histograms converge to p",  cell_3_1_langevin_1d },
    { "3.1b", "langevin2d","Langevin in 2D: particles and trajectories over the density",          cell_3_1_langevin_2d },
    { "3.1c", "ascent",    "without the noise: gradient ascent collapses onto the modes",          cell_3_1_ascent },
    { "3.1d", "stepsize",  "the step size: bias of the stationary law vs speed of mixing",         cell_3_1_stepsize },
    { "3.2",  "score",     "Stein's score function: Gaussian and mixture fields",                  cell_3_2_score },
    { "3.3",  "pairs",     "denoising score matching: clean/noisy pairs and Tweedie",              cell_3_3_pairs },
    { "3.3b", "matching",  "explicit, implicit and denoising score matching; DSM = ESM + C",        cell_3_3_matching },
    { "3.4",  "annealed",  "noise-conditional scores (NCSN) and annealed Langevin: mode weights",  cell_3_4_annealed },
    { "3.4b", "swissroll", "NCSN and annealed Langevin on the swiss roll (no exact score)",         cell_3_4_swissroll },
    { "3.4i", "images",    "annealed Langevin on Fashion-MNIST with chapter 2's network as score", cell_3_4_images },
};

/* The cell table, for tests/test_tutorial.c: every `./ch3 --cell X` that tutorial.md names must be in it. */
const Cell *ch3_cells(int *n) {
    *n = (int)COUNT_OF(CELLS);
    return CELLS;
}

#ifndef CHAPTER_NO_MAIN
int main(int argc, char **argv) {
    static const CliSpec spec = { "ch3", "Score-matching Langevin dynamics (PDF chapter 3)", CLI_STEPS | CLI_SAMPLES, NULL, NULL };
    return cli_main(argc, argv, &spec, CELLS, COUNT_OF(CELLS), NULL);
}
#endif
