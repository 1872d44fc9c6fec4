/* ch5_fokker_planck.c: PDF chapter 5, Langevin and Fokker-Planck equations: from particles (SDEs) to
 * densities (PDEs), and back to the forward process of diffusion models.
 *
 *   make ch5 && ./ch5 --list          the cells, one per section
 *   ./ch5                             the whole chapter (about 10 s)
 *   ./ch5 --cell fp                   one cell, by number (5.4) or short name
 *
 * Sections: 5.1 Brownian motion · 5.2 the master equation of a random walk (-> heat equation) ·
 * 5.3 the Kramers-Moyal expansion (drift and diffusion from increments) · 5.4 the Fokker-Planck equation
 * solved on a grid (OU closed form, convergence order) · 5.4b Langevin dynamics and its stationary law
 * exp(-U) · 5.5 back to diffusion models: the VP SDE's density and the probability-flow ODE.
 * Figures (figures/): ch5_brownian, ch5_master_convergence, ch5_kramers_moyal, ch5_fp_vs_particles,
 * ch5_langevin_stationary, ch5_fp_heatmap, ch5_fp_animation (.png filmstrip + .gif), ch5_vp_fp.
 * Uses: cli, plot, data (the 1D mixture and its exact noised law and score), rng.
 *
 * The grid solver (§5.4): finite volumes, Scharfetter-Gummel fluxes at the cell faces, backward Euler in
 * time (one tridiagonal solve per step). Mass is conserved to round-off and the density never turns
 * negative, whatever the time step or the drift.
 */
#include <math.h>
#include <string.h>
#include "ch5_fokker_planck.h"
#include "cli.h"
#include "data.h"
#include "plot.h"

/* N(x; m, v), the Gaussian density. */
static double normal_pdf(double x, double m, double v) { return exp(-0.5 * (x - m) * (x - m) / v) / sqrt(2 * PI * v); }

/* Density histogram of x (n values, stride apart) on [lo, hi) with `bins` bins; values outside are dropped. */
static void histogram(const double *x, int n, double lo, double hi, int bins, double *dens) {
    double width = (hi - lo) / bins;
    for (int b = 0; b < bins; b++) dens[b] = 0.0;
    for (int i = 0; i < n; i++) {
        int b = (int)floor((x[i] - lo) / width);
        if (b >= 0 && b < bins) dens[b] += 1.0 / (n * width);
    }
}

/* Sample mean and variance of n doubles. */
static void moments(const double *x, int n, double *mean, double *var) {
    double s = 0, s2 = 0;
    for (int i = 0; i < n; i++) { s += x[i]; s2 += x[i] * x[i]; }
    *mean = s / n;
    *var = s2 / n - *mean * *mean;
}

/* Observed order of convergence between two step sizes h1 > h2 with errors e1, e2. */
static double observed_order(double e1, double e2, double h1, double h2) { return log(e1 / e2) / log(h1 / h2); }

/* ---- 5.1  Brownian motion ---------------------------------------------- */

void ch5_brownian_paths(Rng *rng, int n_paths, int n_steps, double dt, double D, double *x) {
    double s = sqrt(2.0 * D * dt);   /* §5.1 x_{k+1} = x_k + sqrt(2 D dt) z: independent N(0, 2 D dt) increments */
    for (int i = 0; i < n_paths; i++) {
        double *xi = x + (size_t)i * (n_steps + 1);
        xi[0] = 0.0;
        for (int k = 0; k < n_steps; k++) xi[k + 1] = xi[k] + s * rng_normal(rng);
    }
}

/* The checks of §5.1 on the paths x (N, K + 1): Var(x_t) = 2 D t, Cov(x_s, x_t) = 2 D min(s, t), increments
 * uncorrelated with kurtosis 3. Tolerances: 5 standard errors of each estimator. */
static void brownian_checks(Ctx *ctx, const double *x, int N, int K, double dt, double D) {
    int ks = K / 4, kt = K;   /* s = 1/4, t = 1 */
    double cs = 0, ct = 0, cst = 0, d12 = 0, d1 = 0, d2 = 0, m4 = 0;
    for (int i = 0; i < N; i++) {
        const double *xi = x + (size_t)i * (K + 1);
        cs += xi[ks] * xi[ks]; ct += xi[kt] * xi[kt]; cst += xi[ks] * xi[kt];
        double a = xi[K / 2] - xi[K / 2 - 1], b = xi[K / 2 + 1] - xi[K / 2];   /* two successive increments */
        d12 += a * b; d1 += a * a; d2 += b * b; m4 += a * a * a * a;
    }
    double vs = 2 * D * ks * dt, vt = 2 * D * kt * dt, vinc = 2 * D * dt;
    cli_check(ctx, "Var(x_s), s = 1/4: 2 D s", cs / N, vs, 5 * vs * sqrt(2.0 / N));
    cli_check(ctx, "Var(x_t), t = 1: 2 D t", ct / N, vt, 5 * vt * sqrt(2.0 / N));
    /* Var of the product x_s x_t for jointly Gaussian zero-mean: vs vt + cov^2 */
    cli_check(ctx, "Cov(x_s, x_t) = 2 D min(s, t)", cst / N, vs, 5 * sqrt((vs * vt + vs * vs) / N));
    cli_check(ctx, "corr of successive increments", d12 / sqrt(d1 * d2), 0.0, 5 / sqrt((double)N));
    cli_check(ctx, "kurtosis of an increment (Gaussian: 3)", m4 / N / (vinc * vinc), 3.0, 5 * sqrt(96.0 / N));
}

static int cell_5_1_brownian(Ctx *ctx) {
    enum { N = 10000, K = 200, SHOW = 30, BINS = 50 };
    const double D = 0.5, dt = 1.0 / K;
    cli_say("Brownian motion: x_t = sqrt(2 D) w_t, built from independent increments N(0, 2 D dt).");
    cli_say("Einstein: the cloud spreads with Var(x_t) = 2 D t. D = %.1f (so x = w), %d paths of %d steps.", D, N, K);
    double *x = malloc(sizeof(double) * N * (K + 1)), *col = malloc(sizeof(double) * N), dens[BINS];
    ch5_brownian_paths(&ctx->rng, N, K, dt, D, x);
    brownian_checks(ctx, x, N, K, dt, D);
    Plot p;
    if (plot_open(&p, ctx->out, "ch5_brownian")) { free(x); free(col); return 1; }
    for (int i = 0; i < SHOW; i++) {
        plot_block(&p, "t x: one path");
        for (int k = 0; k <= K; k++) fprintf(plot_dat(&p), "%.4f %.5f\n", k * dt, x[(size_t)i * (K + 1) + k]);
    }
    plot_block(&p, "t, sample variance of x_t, 2 D t");
    for (int k = 0; k <= K; k += 5) {
        double m, v;
        for (int i = 0; i < N; i++) col[i] = x[(size_t)i * (K + 1) + k];
        moments(col, N, &m, &v);
        fprintf(plot_dat(&p), "%.4f %.5f %.5f\n", k * dt, v, 2 * D * k * dt);
    }
    static const int snap[3] = { K / 10, K / 2, K };
    for (int s = 0; s < 3; s++) {
        for (int i = 0; i < N; i++) col[i] = x[(size_t)i * (K + 1) + snap[s]];
        histogram(col, N, -4, 4, BINS, dens);
        plot_block(&p, "x, histogram of x_t, N(0, 2 D t)");
        for (int b = 0; b < BINS; b++) {
            double xc = -4 + (b + 0.5) * 8.0 / BINS;
            fprintf(plot_dat(&p), "%.4f %.5f %.5f\n", xc, dens[b], normal_pdf(xc, 0, 2 * D * snap[s] * dt));
        }
    }
    plot_size(&p, 1500, 450);
    plot_cmd(&p, "set multiplot layout 1,3 title 'Brownian motion x_t = sqrt(2D) w_t, D = %.1f'", D);
    plot_cmd(&p, "set title '%d paths and the envelope +-2 sqrt(2 D t)'; set xlabel 't'; set ylabel 'x_t'", SHOW);
    plot_cmd(&p, "plot for [k=0:%d] dat index k using 1:2 with lines lw 1 lc k+1 notitle, \\", SHOW - 1);
    plot_cmd(&p, "     [0:1] 2*sqrt(2*%g*x) with lines lw 3 lc rgb 'black' title '+-2 sqrt(2Dt)', -2*sqrt(2*%g*x) with lines lw 3 lc rgb 'black' notitle", D, D);
    plot_cmd(&p, "set title 'variance grows linearly (%d paths)'; set ylabel 'Var(x_t)'; set key top left", N);
    plot_cmd(&p, "plot dat index %d using 1:2 with points pt 7 ps 0.6 title 'sample variance', '' index %d using 1:3 with lines lw 2 title '2 D t'", SHOW, SHOW);
    plot_cmd(&p, "set title 'histograms of x_t vs N(0, 2Dt)'; set xlabel 'x'; set ylabel 'density'; set key top right; set style fill solid 0.4 noborder");
    plot_cmd(&p, "array T[3] = [%g, %g, %g]", snap[0] * dt, snap[1] * dt, snap[2] * dt);
    plot_cmd(&p, "plot for [s=1:3] dat index %d+s using 1:2 with boxes lc s fs transparent solid 0.35 notitle, \\", SHOW);
    plot_cmd(&p, "     for [s=1:3] dat index %d+s using 1:3 with lines lw 2 lc s title sprintf('t = %%.1f', T[s])", SHOW);
    plot_cmd(&p, "unset multiplot");
    free(x);
    free(col);
    return plot_close(&p);
}

/* ---- 5.2  The master equation of a random walk -------------------------- */

void ch5_master_step(const double *p, double *p_next, int n, double r) {
    for (int i = 0; i < n; i++) {
        /* §5.2 p_i(t + tau) = sum_d p_{i-d}(t) phi(d), phi = {r at -dx, 1 - 2r at 0, r at +dx}; refused jumps stay */
        double stay = 1.0 - 2.0 * r + (i == 0 ? r : 0.0) + (i == n - 1 ? r : 0.0);
        p_next[i] = stay * p[i] + (i > 0 ? r * p[i - 1] : 0.0) + (i < n - 1 ? r * p[i + 1] : 0.0);
    }
}

/* The walk of ch5_master_heat_error: sites x_i = (i - M) dx, i = 0..2M; returns the probability vector (malloc'd)
 * after t / tau steps from p = delta at 0, and its number of sites in *n. */
static double *master_run(double dx, double r, double D, double t, int *n) {
    double tau = r * dx * dx / D;   /* jump variance 2 r dx^2 per tau = 2 D tau: the heat equation's D */
    long steps = lround(t / tau);
    CHECK(fabs(steps * tau - t) < 1e-9 * t, "t = %g is not a whole number of steps tau = %g", t, tau);
    int M = (int)ceil(10.0 * sqrt(2 * D * t) / dx) + 1;   /* 10 standard deviations: the walls never matter */
    *n = 2 * M + 1;
    double *p = calloc((size_t)2 * *n, sizeof(double)), *q = p + *n;
    p[M] = 1.0;
    for (long k = 0; k < steps; k++) {
        ch5_master_step(p, q, *n, r);
        memcpy(p, q, sizeof(double) * *n);
    }
    return p;
}

double ch5_master_heat_error(double dx, double r, double D, double t, double *mass) {
    int n;
    double *p = master_run(dx, r, D, t, &n), err = 0, sum = 0;
    for (int i = 0; i < n; i++) {
        double x = (i - n / 2) * dx;
        /* §5.2 as tau, dx -> 0 with dx^2 / tau fixed: dp/dt = D d2p/dx2, whose solution from a delta is N(0, 2 D t) */
        err = fmax(err, fabs(p[i] / dx - normal_pdf(x, 0, 2 * D * t)));
        sum += p[i];
    }
    if (mass) *mass = sum;
    free(p);
    return err;
}

static int cell_5_2_master(Ctx *ctx) {
    enum { NH = 5, WALKERS = 20000 };
    const double D = 0.5, t = 1.0, dxs[NH] = { 0.2, 0.1, 0.05, 0.025, 0.0125 };
    cli_say("A walker on the lattice dx Z jumps +-dx with probability r each per time tau: the probability vector");
    cli_say("obeys the master equation p_i(t+tau) = (1-2r) p_i + r (p_{i-1} + p_{i+1}). With r = D tau / dx^2 fixed");
    cli_say("and dx -> 0 it becomes the heat equation dp/dt = D d2p/dx2 (D = %.1f), solved by N(0, 2 D t) at t = %.0f.", D, t);
    double err[2][NH], mass;
    for (int k = 0; k < NH; k++) {
        err[0][k] = ch5_master_heat_error(dxs[k], 0.25, D, t, &mass);
        err[1][k] = ch5_master_heat_error(dxs[k], 1.0 / 6.0, D, t, NULL);
        cli_say("dx = %-6g  max |p_i/dx - heat kernel|: r = 1/4 %.3e   r = 1/6 %.3e", dxs[k], err[0][k], err[1][k]);
    }
    cli_check(ctx, "total probability after the walk (dx = 0.0125)", mass, 1.0, 1e-12);
    /* The local central limit theorem: the error is (excess kurtosis of a jump) x O(dx^2) + O(dx^4). The jump
     * law has excess kurtosis 1/(2r) - 3: -1 at r = 1/4 (order 2), 0 at r = 1/6 (order 4). Tol: the O(dx^2)
     * relative correction to the ratio at dx = 0.05 -> 0.025, well under 0.1. */
    double o2 = observed_order(err[0][NH - 2], err[0][NH - 1], dxs[NH - 2], dxs[NH - 1]);
    double o4 = observed_order(err[1][NH - 3], err[1][NH - 2], dxs[NH - 3], dxs[NH - 2]);
    cli_check(ctx, "observed order, r = 1/4 (dx 0.025 -> 0.0125)", o2, 2.0, 0.1);
    cli_check(ctx, "observed order, r = 1/6 (dx 0.05 -> 0.025)", o4, 4.0, 0.3);
    /* the walkers themselves, dx = 0.2: their spread must be 2 D t exactly (n steps of variance 2 r dx^2) */
    int n;
    double dx = 0.2, r = 0.25, *p = master_run(dx, r, D, t, &n), *w = malloc(sizeof(double) * WALKERS);
    long steps = lround(t * D / (r * dx * dx));
    for (int i = 0; i < WALKERS; i++) {
        long pos = 0;
        for (long k = 0; k < steps; k++) {
            double u = rng_uniform(&ctx->rng);
            pos += u < r ? -1 : u < 2 * r ? 1 : 0;
        }
        w[i] = pos * dx;
    }
    double m, v;
    moments(w, WALKERS, &m, &v);
    cli_check(ctx, "variance of 20000 walkers: 2 D t (5 s.e.)", v, 2 * D * t, 5 * 2 * D * t * sqrt(2.0 / WALKERS));
    Plot pl;
    if (plot_open(&pl, ctx->out, "ch5_master_convergence")) { free(p); free(w); return 1; }
    plot_block(&pl, "x_i, p_i / dx (master equation, dx = 0.2), walkers' histogram / dx, heat kernel");
    double *cnt = calloc((size_t)n, sizeof(double));
    for (int i = 0; i < WALKERS; i++) {
        long j = lround(w[i] / dx) + n / 2;
        if (j >= 0 && j < n) cnt[j] += 1.0;
    }
    for (int i = 0; i < n; i++) {
        double x = (i - n / 2) * dx;
        if (fabs(x) <= 4) fprintf(plot_dat(&pl), "%.4f %.6f %.6f %.6f\n", x, p[i] / dx, cnt[i] / WALKERS / dx, normal_pdf(x, 0, 2 * D * t));
    }
    plot_block(&pl, "dx, max error r = 1/4, max error r = 1/6");
    for (int k = 0; k < NH; k++) fprintf(plot_dat(&pl), "%g %.6e %.6e\n", dxs[k], err[0][k], err[1][k]);
    plot_size(&pl, 1200, 480);
    plot_cmd(&pl, "set multiplot layout 1,2 title 'Master equation of a lattice random walk -> heat equation (D = %.1f, t = %.0f)'", D, t);
    plot_cmd(&pl, "set title 'dx = 0.2, r = 1/4'; set xlabel 'x'; set ylabel 'density'; set key top right");
    plot_cmd(&pl, "plot dat index 0 using 1:3 with impulses lw 6 lc rgb '#9ecae1' title '%d walkers', \\", WALKERS);
    plot_cmd(&pl, "     '' index 0 using 1:2 with points pt 7 ps 1.2 lc rgb '#d7301f' title 'master equation p_i/dx', \\");
    plot_cmd(&pl, "     '' index 0 using 1:4 with lines lw 2 lc rgb 'black' title 'heat kernel N(0, 2Dt)'");
    plot_cmd(&pl, "set title 'max error vs dx'; set logscale xy; set xlabel 'dx'; set ylabel 'max_i |p_i/dx - N(x_i; 0, 2Dt)|'; set key bottom right");
    plot_cmd(&pl, "set format y '10^{%%L}'; set xrange [0.01:0.25]");
    plot_cmd(&pl, "plot dat index 1 using 1:2 with linespoints pt 7 lw 2 title 'r = 1/4 (kurtosis -1)', \\");
    plot_cmd(&pl, "     '' index 1 using 1:3 with linespoints pt 5 lw 2 title 'r = 1/6 (kurtosis 0)', \\");
    plot_cmd(&pl, "     %g*(x/0.2)**2 with lines dt 2 lc rgb 'gray40' title 'slope 2', %g*(x/0.2)**4 with lines dt 3 lc rgb 'gray40' title 'slope 4'",
             err[0][0], err[1][0]);
    plot_cmd(&pl, "unset multiplot");
    free(cnt); free(p); free(w);
    return plot_close(&pl);
}

/* ---- 5.3  The Kramers-Moyal expansion ----------------------------------- */

void ch5_km_moments(const double *x, long n, double dt, double lo, double hi, int bins,
                    double *xbar, double *M, long *count) {
    double width = (hi - lo) / bins;
    memset(xbar, 0, sizeof(double) * bins);
    memset(M, 0, sizeof(double) * 4 * bins);
    memset(count, 0, sizeof(long) * bins);
    for (long j = 0; j + 1 < n; j++) {
        int b = (int)floor((x[j] - lo) / width);
        if (b < 0 || b >= bins) continue;
        double d = x[j + 1] - x[j], dk = 1.0;
        count[b]++;
        xbar[b] += x[j];
        for (int k = 0; k < 4; k++) { dk *= d; M[k * bins + b] += dk; }
    }
    for (int b = 0; b < bins; b++) {
        if (!count[b]) continue;
        xbar[b] /= count[b];
        for (int k = 0; k < 4; k++) M[k * bins + b] /= count[b] * dt;   /* §5.3 M_n(x) = E[(x_{t+dt} - x_t)^n | x_t = x] / dt */
    }
}

void ch5_ou_series(Rng *rng, double theta, double D, double dt, double x0, double *x, long n) {
    /* §5.4 exact OU transition: x_{t+dt} = e^{-theta dt} x_t + sqrt(D / theta (1 - e^{-2 theta dt})) z */
    double a = exp(-theta * dt), s = sqrt(D / theta * (1 - a * a));
    x[0] = x0;
    for (long j = 0; j + 1 < n; j++) x[j + 1] = a * x[j] + s * rng_normal(rng);
}

/* The OU checks of §5.3: in one bin, the estimated M1, M2, M4 against the exact conditional moments of the
 * increment d ~ N(m, v), m = (e^{-theta dt} - 1) xbar, v = D/theta (1 - e^{-2 theta dt}):
 * E d = m, E d^2 = m^2 + v, E d^4 = m^4 + 6 m^2 v + 3 v^2. Tol 5 s.e., with the m = 0 variances
 * v, 2 v^2, 96 v^4 of d, d^2, d^4 (here m^2 / v < 0.01, so they hold to 1%). */
static void km_ou_checks(Ctx *ctx, Rng *rng) {
    enum { BINS = 20 };
    const long N = 2000000;
    const double theta = 1, D = 1, dt = 0.01;
    double *x = malloc(sizeof(double) * N), xbar[BINS], M[4 * BINS];
    long count[BINS];
    ch5_ou_series(rng, theta, D, dt, 0.0, x, N);
    ch5_km_moments(x, N, dt, -2.5, 2.5, BINS, xbar, M, count);
    int b = 12;   /* x in [0.5, 0.75) */
    double c = (double)count[b], m = (exp(-theta * dt) - 1) * xbar[b], v = D / theta * (1 - exp(-2 * theta * dt));
    cli_say("OU dx = -x dt + sqrt(2) dw sampled exactly, dt = %g, %ld steps; bin x in [0.5, 0.75) holds %ld starts:", dt, N, count[b]);
    cli_check(ctx, "M1 = E[dx | x]/dt, exact (e^{-dt} - 1) xbar / dt", M[b], m / dt, 5 * sqrt(v / c) / dt);
    cli_check(ctx, "M2 = E[dx^2 | x]/dt, exact (m^2 + v)/dt", M[BINS + b], (m * m + v) / dt, 5 * sqrt(2 * v * v / c) / dt);
    cli_check(ctx, "M4 = E[dx^4 | x]/dt, exact (m^4 + 6m^2 v + 3v^2)/dt", M[3 * BINS + b],
              (m * m * m * m + 6 * m * m * v + 3 * v * v) / dt, 5 * sqrt(96 * v * v * v * v / c) / dt);
    cli_say("as dt -> 0: M1 -> -theta x = %.4f (here %.4f), M2 -> 2D = 2 (here %.4f), M4 -> 0 like 3 (2D)^2 dt = %.3f",
            -theta * xbar[b], M[b], M[BINS + b], 12 * dt);
    free(x);
}

/* §5.4 Langevin drift in the double well U(x) = 2 (x^2 - 1)^2: mu = -U'(x) = -8 x (x^2 - 1); D = 1. */
double ch5_U(double x) { return 2.0 * (x * x - 1) * (x * x - 1); }
double ch5_langevin_mu(double x, double t, const void *par) { (void)t; (void)par; return -8.0 * x * (x * x - 1); }
double ch5_unit_D(double t, const void *par) { (void)t; (void)par; return 1.0; }

void ch5_langevin_particles(Rng *rng, double *x, int n, double dt, int steps) {
    double s = sqrt(2.0 * dt);   /* §5.4 Euler-Maruyama: x += -U'(x) dt + sqrt(2 dt) z */
    for (int i = 0; i < n; i++)
        for (int k = 0; k < steps; k++) x[i] += ch5_langevin_mu(x[i], 0, NULL) * dt + s * rng_normal(rng);
}

static int cell_5_3_kramers(Ctx *ctx) {
    enum { BINS = 16, NL = 5 };
    const long N = 4000000;
    const double dt = 1e-3, lo = -1.6, hi = 1.6;
    static const int lag[NL] = { 1, 2, 4, 8, 16 };
    cli_say("Kramers-Moyal: dp/dt = sum_n (-1)^n/n! d^n/dx^n [M_n(x) p], M_n(x) = lim E[(dx)^n | x] / dt.");
    cli_say("Estimate M_n from the increments of one long path; for a diffusion M1 = drift, M2 = sigma^2 and");
    cli_say("M_n = O(dt) for n >= 3, so the expansion stops at n = 2: the Fokker-Planck equation.");
    km_ou_checks(ctx, &ctx->rng);
    cli_say("Double well dx = -U'(x) dt + sqrt(2) dw, U = 2 (x^2 - 1)^2: Euler-Maruyama path, dt = %g, %ld steps.", dt, N);
    double *x = malloc(sizeof(double) * N), *sub = malloc(sizeof(double) * N);
    x[0] = 1.0;
    for (long j = 0; j + 1 < N; j++) x[j + 1] = x[j] + ch5_langevin_mu(x[j], 0, NULL) * dt + sqrt(2 * dt) * rng_normal(&ctx->rng);
    double xbar[NL][BINS], M[NL][4 * BINS], m3[NL], m4[NL];
    long count[BINS];
    for (int l = 0; l < NL; l++) {
        long n = N / lag[l], tot = 0;
        for (long j = 0; j < n; j++) sub[j] = x[j * lag[l]];
        ch5_km_moments(sub, n, dt * lag[l], lo, hi, BINS, xbar[l], M[l], count);
        m3[l] = m4[l] = 0;
        for (int b = 0; b < BINS; b++) { m3[l] += fabs(M[l][2 * BINS + b]) * count[b]; m4[l] += M[l][3 * BINS + b] * count[b]; tot += count[b]; }
        m3[l] /= tot; m4[l] /= tot;
        cli_say("lag %5.3f: mean over x of |M3| = %.4f, M4 = %.4f (3 (2D)^2 dt = %.4f)", dt * lag[l], m3[l], m4[l], 12 * dt * lag[l]);
    }
    /* M4 = 12 dt (1 + E[mu^2] dt + ...), E[mu^2] ~ 14 here: the slope between dt and 2 dt is 1 + O(0.03). */
    cli_check(ctx, "slope of log M4 vs log dt (-> 1: M4 vanishes like dt)", observed_order(m4[1], m4[0], 2.0, 1.0), 1.0, 0.1);
    Plot p;
    if (plot_open(&p, ctx->out, "ch5_kramers_moyal")) { free(x); free(sub); return 1; }
    for (int l = 0; l < NL; l += 2) {
        plot_block(&p, "xbar, M1, M2 (one lag)");
        for (int b = 0; b < BINS; b++) fprintf(plot_dat(&p), "%.4f %.5f %.5f\n", xbar[l][b], M[l][b], M[l][BINS + b]);
    }
    plot_block(&p, "lag dt, mean |M3|, mean M4");
    for (int l = 0; l < NL; l++) fprintf(plot_dat(&p), "%g %.6g %.6g\n", dt * lag[l], m3[l], m4[l]);
    plot_size(&p, 1500, 450);
    plot_cmd(&p, "set multiplot layout 1,3 title 'Kramers-Moyal coefficients from increments of a Langevin path in U = 2(x^2-1)^2'");
    plot_cmd(&p, "set xlabel 'x'; set key top right; set xrange [-1.6:1.6]");
    plot_cmd(&p, "set title 'M_1(x) = E[dx | x]/dt vs the drift -U''(x)'; set ylabel 'M_1'");
    plot_cmd(&p, "plot for [l=0:2] dat index l using 1:2 with points pt 7 ps 0.9 title sprintf('lag %%g', %g*4**l), \\", dt);
    plot_cmd(&p, "     -8*x*(x*x-1) with lines lw 2 lc rgb 'black' title '-U''(x)'");
    plot_cmd(&p, "set title 'M_2(x) = E[dx^2 | x]/dt vs sigma^2 = 2'; set ylabel 'M_2'; set yrange [1.5:3]; set key top center");
    plot_cmd(&p, "plot for [l=0:2] dat index l using 1:3 with linespoints pt 7 ps 0.9 title sprintf('lag %%g', %g*4**l), \\", dt);
    plot_cmd(&p, "     2 with lines lw 2 lc rgb 'black' title 'sigma^2 = 2'");
    plot_cmd(&p, "set title 'higher coefficients vanish like dt'; set logscale xy; set xrange [*:*]; set yrange [*:*]");
    plot_cmd(&p, "set xlabel 'lag dt'; set ylabel 'mean over x'; set key top left; set format y '10^{%%L}'");
    plot_cmd(&p, "plot dat index 3 using 1:3 with linespoints pt 7 lw 2 title 'M_4', '' index 3 using 1:2 with linespoints pt 5 lw 2 title '|M_3|', \\");
    plot_cmd(&p, "     12*x with lines dt 2 lc rgb 'black' title '3 sigma^4 dt (slope 1)'");
    plot_cmd(&p, "unset multiplot");
    free(x);
    free(sub);
    return plot_close(&p);
}

/* ---- 5.4  The Fokker-Planck equation on a grid -------------------------- */

double ch5_bernoulli(double z) {
    if (fabs(z) < 1e-8) return 1.0 - 0.5 * z;   /* z / (e^z - 1) = 1 - z/2 + z^2/12: the series, no 0/0 */
    return z / expm1(z);                         /* expm1: exact for small z; B(z) -> 0 for z -> +inf */
}

/* §5.4 Scharfetter-Gummel flux through the face between cells j and j+1: F = a_j p_j - b_j p_{j+1} with
 * a_j = D/h B(-mu h / D), b_j = D/h B(mu h / D). For small mu h / D it is the central flux
 * mu (p_j + p_{j+1})/2 - D (p_{j+1} - p_j)/h; for large drift it is upwind; a, b >= 0 always, which is what
 * keeps the density non-negative. With D = 0 it is the upwind flux of pure transport. */
static void fp_faces(int n, double lo, double h, const Ch5Sde *sde, double t, double *a, double *b) {
    double D = sde->D(t, sde->par);
    for (int j = 0; j < n - 1; j++) {
        double mu = sde->mu(lo + (j + 1) * h, t, sde->par);
        if (D > 0) {
            double pe = mu * h / D;   /* cell Peclet number */
            a[j] = D / h * ch5_bernoulli(-pe);
            b[j] = D / h * ch5_bernoulli(pe);
        } else {
            a[j] = fmax(mu, 0.0);
            b[j] = fmax(-mu, 0.0);
        }
    }
}

void ch5_fp_rhs(const double *p, double *dpdt, int n, double lo, double h, const Ch5Sde *sde, double t) {
    double *a = malloc(sizeof(double) * 2 * n), *b = a + n;
    fp_faces(n, lo, h, sde, t, a, b);
    for (int i = 0; i < n; i++) {
        /* §5.4 dp/dt = -d/dx [mu p - D dp/dx]: flux out of the right face minus flux in at the left; walls carry none */
        double right = i < n - 1 ? a[i] * p[i] - b[i] * p[i + 1] : 0.0;
        double left = i > 0 ? a[i - 1] * p[i - 1] - b[i - 1] * p[i] : 0.0;
        dpdt[i] = -(right - left) / h;
    }
    free(a);
}

/* Solve the tridiagonal system low[i] x[i-1] + diag[i] x[i] + up[i] x[i+1] = rhs[i] (Thomas; x holds rhs on entry).
 * For our matrices low, up <= 0 and the columns sum to 1, so every quantity below is a sum of non-negative
 * terms: no pivoting needed, and the solution of a non-negative right side is non-negative in floating point. */
static void thomas(const double *low, const double *diag, const double *up, double *x, int n, double *cp) {
    double den = diag[0];
    cp[0] = up[0] / den;
    x[0] /= den;
    for (int i = 1; i < n; i++) {
        den = diag[i] - low[i] * cp[i - 1];
        cp[i] = up[i] / den;
        x[i] = (x[i] - low[i] * x[i - 1]) / den;
    }
    for (int i = n - 2; i >= 0; i--) x[i] -= cp[i] * x[i + 1];
}

void ch5_fp_solve(double *p, int n, double lo, double h, const Ch5Sde *sde, double t0, double t1, int steps) {
    double *w = malloc(sizeof(double) * 6 * n);
    double *a = w, *b = w + n, *low = w + 2 * n, *diag = w + 3 * n, *up = w + 4 * n, *cp = w + 5 * n;
    double dt = (t1 - t0) / steps;
    for (int k = 1; k <= steps; k++) {
        /* backward Euler (I - dt A(t_k)) p_k = p_{k-1}: column sums of the matrix are exactly 1 (mass) */
        fp_faces(n, lo, h, sde, t0 + k * dt, a, b);
        for (int i = 0; i < n; i++) {
            low[i] = i > 0 ? -dt * a[i - 1] / h : 0.0;
            up[i] = i < n - 1 ? -dt * b[i] / h : 0.0;
            diag[i] = 1.0 + dt * ((i < n - 1 ? a[i] : 0.0) + (i > 0 ? b[i - 1] : 0.0)) / h;
        }
        thomas(low, diag, up, p, n, cp);
    }
    free(w);
}

void ch5_gauss_cells(double *p, int n, double lo, double h, double m, double v) {
    double s = sqrt(2 * v);
    for (int i = 0; i < n; i++) {
        double l = (lo + i * h - m) / s, r = (lo + (i + 1) * h - m) / s;
        /* (Phi(r) - Phi(l)) / h, written with erfc on the far side so tails keep their digits */
        p[i] = (r <= 0 ? 0.5 * (erfc(-r) - erfc(-l)) : 0.5 * (erfc(l) - erfc(r))) / h;
    }
}

void ch5_ou_marginal(double m0, double v0, double theta, double D, double t, double *m, double *v) {
    double e = exp(-theta * t);
    *m = m0 * e;                                     /* §5.4 OU: E x_t = e^{-theta t} m0 */
    *v = v0 * e * e + D / theta * (1 - e * e);      /* §5.4 OU: Var x_t = e^{-2 theta t} v0 + s^2/(2 theta) (1 - e^{-2 theta t}) */
}

typedef struct { double theta, D; } OuPar;
static double ou_mu(double x, double t, const void *par) { (void)t; return -((const OuPar *)par)->theta * x; }
static double ou_D(double t, const void *par) { (void)t; return ((const OuPar *)par)->D; }

/* Grid mass sum p_i h, minimum p_i, mean and variance (midpoint rule) of a grid density. */
static void grid_stats(const double *p, int n, double lo, double h, double *mass, double *pmin, double *mean, double *var) {
    double s0 = 0, s1 = 0, s2 = 0, mn = p[0];
    for (int i = 0; i < n; i++) {
        double x = lo + (i + 0.5) * h;
        s0 += p[i] * h; s1 += x * p[i] * h; s2 += x * x * p[i] * h;
        mn = fmin(mn, p[i]);
    }
    *mass = s0; *pmin = mn; *mean = s1 / s0; *var = s2 / s0 - *mean * *mean;
}

double ch5_ou_grid_error(double h, double t) {
    const OuPar par = { 1.0, 1.0 };
    const Ch5Sde sde = { ou_mu, ou_D, &par };
    int n = (int)lround(12.0 / h);
    double lo = -6.0, m, v, err = 0;
    double *p = malloc(sizeof(double) * 2 * n), *q = p + n;
    ch5_gauss_cells(p, n, lo, h, 2.0, 0.25);
    ch5_fp_solve(p, n, lo, h, &sde, 0.0, t, (int)lround(4 * t / (h * h)));   /* dt = h^2/4: O(dt) = O(h^2) */
    ch5_ou_marginal(2.0, 0.25, 1.0, 1.0, t, &m, &v);
    ch5_gauss_cells(q, n, lo, h, m, v);
    for (int i = 0; i < n; i++) err += fabs(p[i] - q[i]) * h;
    free(p);
    return err;
}

/* Mass and positivity of a grid density, checked: mass to the round-off of `steps` solves (each conserves
 * sum p exactly in exact arithmetic; in floating point each adds at most ~10 roundings of 1.1e-16 to the
 * total), and min p >= 0 exactly (every operation of the solve adds non-negative terms). */
static void check_mass_positive(Ctx *ctx, const char *what, const double *p, int n, double lo, double h, double mass0, long steps) {
    double mass, pmin, m, v;
    grid_stats(p, n, lo, h, &mass, &pmin, &m, &v);
    char s1[96], s2[96];
    snprintf(s1, sizeof s1, "mass sum p h, %s", what);
    snprintf(s2, sizeof s2, "-min p_i <= 0, %s", what);
    cli_check(ctx, s1, mass, mass0, 10 * 1.1e-16 * (double)steps + 1e-15);
    cli_check_le(ctx, s2, -pmin, 0.0);
}

static int cell_5_4_fp(Ctx *ctx) {
    enum { NH = 4, NS = 5, N = 10000, BINS = 60 };
    const double hs[NH] = { 0.2, 0.1, 0.05, 0.025 }, ts[NS] = { 0, 0.1, 0.3, 1, 3 }, h = 0.05, lo = -6;
    const int n = 240;
    cli_say("Fokker-Planck for dx = mu dt + sqrt(2D) dw: dp/dt = -d/dx [mu p] + D d2p/dx2 (sigma^2 = 2D).");
    cli_say("Finite volumes: Scharfetter-Gummel fluxes at the faces, backward Euler, one tridiagonal solve per step.");
    cli_say("Test case: OU dx = -x dt + sqrt(2) dw from p_0 = N(2, 0.5^2): p_t = N(2 e^{-t}, 0.25 e^{-2t} + 1 - e^{-2t}).");
    double err[NH];
    for (int k = 0; k < NH; k++) {
        err[k] = ch5_ou_grid_error(hs[k], 1.0);
        cli_say("h = %-6g (dt = h^2/4)  L1 error at t = 1: %.3e%s", hs[k], err[k], k ? "" : "");
        if (k) cli_say("              observed order %.3f", observed_order(err[k - 1], err[k], hs[k - 1], hs[k]));
    }
    /* central fluxes + O(dt) = O(h^2) time error: order 2, up to the O(h^2) relative next term (~1% here) */
    cli_check(ctx, "observed order of the OU error (h 0.05 -> 0.025)", observed_order(err[2], err[3], hs[2], hs[3]), 2.0, 0.1);
    /* the grid at h = 0.05 against particles (Euler-Maruyama, dt = 1e-3) at several times */
    const OuPar par = { 1.0, 1.0 };
    const Ch5Sde sde = { ou_mu, ou_D, &par };
    double *p = malloc(sizeof(double) * n * NS), *x = malloc(sizeof(double) * N), hist[NS][BINS];
    ch5_gauss_cells(p, n, lo, h, 2.0, 0.25);
    for (int i = 0; i < N; i++) x[i] = 2.0 + 0.5 * rng_normal(&ctx->rng);
    long steps_total = 0;
    for (int s = 0; s < NS; s++) {
        if (s) {
            memcpy(p + s * n, p + (s - 1) * n, sizeof(double) * n);
            int steps = (int)lround((ts[s] - ts[s - 1]) * 400);   /* dt = 2.5e-3 */
            ch5_fp_solve(p + s * n, n, lo, h, &sde, ts[s - 1], ts[s], steps);
            steps_total += steps;
            int k = (int)lround((ts[s] - ts[s - 1]) / 1e-3);
            for (int i = 0; i < N; i++)
                for (int j = 0; j < k; j++) x[i] += -x[i] * 1e-3 + sqrt(2e-3) * rng_normal(&ctx->rng);   /* §5.4 Euler-Maruyama */
        }
        histogram(x, N, -2, 5, BINS, hist[s]);
        if (ts[s] == 1.0) {
            double mass, pmin, gm, gv, pm, pv;
            grid_stats(p + s * n, n, lo, h, &mass, &pmin, &gm, &gv);
            moments(x, N, &pm, &pv);
            cli_check(ctx, "particle mean vs grid mean at t = 1 (5 s.e.)", pm, gm, 5 * sqrt(gv / N));
            cli_check(ctx, "particle var vs grid var at t = 1 (5 s.e.)", pv, gv, 5 * gv * sqrt(2.0 / N));
        }
    }
    check_mass_positive(ctx, "OU run to t = 3", p + (NS - 1) * n, n, lo, h, 1.0, steps_total);
    /* a hard case: all the mass in one cell at x = 2.5 of the double well, where |mu| h / D = 5 > 2 (a
     * central-difference scheme goes negative there), with a coarse dt = 0.01 */
    const Ch5Sde dw = { ch5_langevin_mu, ch5_unit_D, NULL };
    double *q = calloc(n, sizeof(double));
    q[(int)((2.5 - lo) / h)] = 1.0 / h;
    ch5_fp_solve(q, n, lo, h, &dw, 0.0, 1.0, 100);
    check_mass_positive(ctx, "delta start, double well, Peclet 5", q, n, lo, h, 1.0, 100);
    free(q);
    Plot pl;
    if (plot_open(&pl, ctx->out, "ch5_fp_vs_particles")) { free(p); free(x); return 1; }
    for (int s = 0; s < NS; s++) {
        double m, v;
        ch5_ou_marginal(2.0, 0.25, 1.0, 1.0, ts[s], &m, &v);
        plot_block(&pl, "x, grid p (h = 0.05), particle histogram (same x), closed form");
        for (int b = 0; b < BINS; b++) {
            double xc = -2 + (b + 0.5) * 7.0 / BINS;
            int i = (int)floor((xc - lo) / h);
            fprintf(plot_dat(&pl), "%.4f %.6f %.6f %.6f\n", xc, p[s * n + i], hist[s][b], normal_pdf(xc, m, v));
        }
    }
    plot_block(&pl, "h, L1 error at t = 1");
    for (int k = 0; k < NH; k++) fprintf(plot_dat(&pl), "%g %.6e\n", hs[k], err[k]);
    plot_size(&pl, 1300, 500);
    plot_cmd(&pl, "set multiplot layout 1,2 title 'Fokker-Planck on a grid vs particles: OU dx = -x dt + sqrt(2) dw, p_0 = N(2, 0.5^2)'");
    plot_cmd(&pl, "array T[%d] = [%g, %g, %g, %g, %g]", NS, ts[0], ts[1], ts[2], ts[3], ts[4]);
    plot_cmd(&pl, "set title 'grid (lines), %d particles (bars), closed form (dashed)'; set xlabel 'x'; set ylabel 'p(x, t)'", N);
    plot_cmd(&pl, "set key top right; set style fill transparent solid 0.3 noborder; set xrange [-2:5]");
    plot_cmd(&pl, "array C[5] = ['#7570b3', '#1b9e77', '#d95f02', '#e7298a', '#386cb0']");
    plot_cmd(&pl, "plot for [s=0:%d] dat index s using 1:3 with boxes lc rgb C[s+1] notitle, \\", NS - 1);
    plot_cmd(&pl, "     for [s=0:%d] dat index s using 1:2 with lines lw 2 lc rgb C[s+1] title sprintf('t = %%g', T[s+1]), \\", NS - 1);
    plot_cmd(&pl, "     for [s=0:%d] dat index s using 1:4 with lines dt 2 lw 1 lc rgb 'black' notitle", NS - 1);
    plot_cmd(&pl, "set title 'L1 error at t = 1 vs cell width (dt = h^2/4)'; set logscale xy; set xrange [0.02:0.25]; set xtics (0.025, 0.05, 0.1, 0.2)");
    plot_cmd(&pl, "set xlabel 'h'; set ylabel 'sum |p_i - exact| h'; set format y '10^{%%L}'; set key bottom right");
    plot_cmd(&pl, "plot dat index %d using 1:2 with linespoints pt 7 lw 2 title 'grid vs closed form', \\", NS);
    plot_cmd(&pl, "     %g*(x/0.2)**2 with lines dt 2 lc rgb 'gray40' title 'slope 2'", err[0]);
    plot_cmd(&pl, "unset multiplot");
    free(p);
    free(x);
    return plot_close(&pl);
}

/* ---- the chapter, cell by cell ----------------------------------------- */

static const Cell CELLS[] = {
    { "5.1",  "brownian",   "Brownian motion: paths, variance 2Dt, independent Gaussian increments", cell_5_1_brownian },
    { "5.2",  "master",     "the master equation of a lattice random walk -> the heat equation",   cell_5_2_master },
    { "5.3",  "kramers",    "the Kramers-Moyal expansion: drift and diffusion from increments",     cell_5_3_kramers },
    { "5.4",  "fp",         "the Fokker-Planck equation on a grid: OU closed form, particles",      cell_5_4_fp },
};

#ifndef CHAPTER_NO_MAIN
int main(int argc, char **argv) {
    static const CliSpec spec = { "ch5", "Langevin and Fokker-Planck equations (PDF chapter 5)", 0, NULL };
    Opts opts;
    int rc = cli_parse(&opts, argc, argv, &spec);
    if (rc) return rc == CLI_DONE ? 0 : rc;
    return cli_run(CELLS, COUNT_OF(CELLS), &opts);
}
#endif
