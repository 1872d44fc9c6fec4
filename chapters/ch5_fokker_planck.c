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
    double *x = cli_alloc(ctx, sizeof(double) * N * (K + 1)), *col = cli_alloc(ctx, sizeof(double) * N), dens[BINS];
    ch5_brownian_paths(&ctx->rng, N, K, dt, D, x);
    brownian_checks(ctx, x, N, K, dt, D);
    Plot p;
    if (plot_open(&p, ctx->out, "ch5_brownian")) return 1;
    for (int i = 0; i < SHOW; i++) {
        plot_block(&p, "t x: one path");
        for (int k = 0; k <= K; k++) fprintf(plot_dat(&p), "%.4f %.5f\n", k * dt, x[(size_t)i * (K + 1) + k]);
    }
    plot_block(&p, "t, sample variance of x_t, 2 D t");
    for (int k = 0; k <= K; k += 5) {
        double m, v;
        for (int i = 0; i < N; i++) col[i] = x[(size_t)i * (K + 1) + k];
        data_moments_d(col, N, 1, &m, &v);
        fprintf(plot_dat(&p), "%.4f %.5f %.5f\n", k * dt, v, 2 * D * k * dt);
    }
    static const int snap[3] = { K / 10, K / 2, K };
    for (int s = 0; s < 3; s++) {
        for (int i = 0; i < N; i++) col[i] = x[(size_t)i * (K + 1) + snap[s]];
        data_histogram_d(col, N, -4, 4, BINS, dens);
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
    double dx = 0.2, r = 0.25, *p = master_run(dx, r, D, t, &n), *w = cli_alloc(ctx, sizeof(double) * WALKERS);
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
    data_moments_d(w, WALKERS, 1, &m, &v);
    cli_check(ctx, "variance of 20000 walkers: 2 D t (5 s.e.)", v, 2 * D * t, 5 * 2 * D * t * sqrt(2.0 / WALKERS));
    Plot pl;
    if (plot_open(&pl, ctx->out, "ch5_master_convergence")) { free(p); return 1; }
    plot_block(&pl, "x_i, p_i / dx (master equation, dx = 0.2), walkers' histogram / dx, heat kernel");
    double *cnt = arena_push(ctx->arena, sizeof(double) * n);   /* zeroed */
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
    free(p);
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
    double *x = cli_alloc(ctx, sizeof(double) * N), xbar[BINS], M[4 * BINS];
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
    double *x = cli_alloc(ctx, sizeof(double) * N), *sub = cli_alloc(ctx, sizeof(double) * N);
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
    if (plot_open(&p, ctx->out, "ch5_kramers_moyal")) return 1;
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
        cli_say("h = %-6g (dt = h^2/4)  L1 error at t = 1: %.3e", hs[k], err[k]);
        if (k) cli_say("              observed order %.3f", observed_order(err[k - 1], err[k], hs[k - 1], hs[k]));
    }
    /* central fluxes + O(dt) = O(h^2) time error: order 2, up to the O(h^2) relative next term (~1% here) */
    cli_check(ctx, "observed order of the OU error (h 0.05 -> 0.025)", observed_order(err[2], err[3], hs[2], hs[3]), 2.0, 0.1);
    /* the grid at h = 0.05 against particles (Euler-Maruyama, dt = 1e-3) at several times */
    const OuPar par = { 1.0, 1.0 };
    const Ch5Sde sde = { ou_mu, ou_D, &par };
    double *p = cli_alloc(ctx, sizeof(double) * n * NS), *x = cli_alloc(ctx, sizeof(double) * N), hist[NS][BINS];
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
        data_histogram_d(x, N, -2, 5, BINS, hist[s]);
        if (ts[s] == 1.0) {
            double mass, pmin, gm, gv, pm, pv;
            grid_stats(p + s * n, n, lo, h, &mass, &pmin, &gm, &gv);
            data_moments_d(x, N, 1, &pm, &pv);
            cli_check(ctx, "particle mean vs grid mean at t = 1 (5 s.e.)", pm, gm, 5 * sqrt(gv / N));
            cli_check(ctx, "particle var vs grid var at t = 1 (5 s.e.)", pv, gv, 5 * gv * sqrt(2.0 / N));
        }
    }
    check_mass_positive(ctx, "OU run to t = 3", p + (NS - 1) * n, n, lo, h, 1.0, steps_total);
    /* a hard case: all the mass in one cell at x = 2.5 of the double well, where |mu| h / D = 5 > 2 (a
     * central-difference scheme goes negative there), with a coarse dt = 0.01 */
    const Ch5Sde dw = { ch5_langevin_mu, ch5_unit_D, NULL };
    double *q = arena_push(ctx->arena, sizeof(double) * n);   /* zeroed */
    q[(int)((2.5 - lo) / h)] = 1.0 / h;
    ch5_fp_solve(q, n, lo, h, &dw, 0.0, 1.0, 100);
    check_mass_positive(ctx, "delta start, double well, Peclet 5", q, n, lo, h, 1.0, 100);
    Plot pl;
    if (plot_open(&pl, ctx->out, "ch5_fp_vs_particles")) return 1;
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
    return plot_close(&pl);
}

/* ---- 5.4b  Langevin dynamics and its stationary law exp(-U) ------------ */

/* The grid's own stationary state: zero flux through every face, a_j p_j = b_j p_{j+1}, normalised to mass 1.
 * For a drift -U' with D = 1 it is e^{-U} up to O(h^2): Scharfetter-Gummel gives p_{j+1}/p_j = e^{mu h}. */
static void fp_discrete_stationary(double *p, int n, double lo, double h, const Ch5Sde *sde) {
    double *a = malloc(sizeof(double) * 2 * n), *b = a + n, mass = 0;
    fp_faces(n, lo, h, sde, 0.0, a, b);
    p[0] = 1.0;
    for (int j = 0; j + 1 < n; j++) p[j + 1] = p[j] * a[j] / b[j];
    for (int i = 0; i < n; i++) mass += p[i] * h;
    for (int i = 0; i < n; i++) p[i] /= mass;
    free(a);
}

/* p_inf(x) = e^{-U(x)} / Z at the cell centres of [-3, 3], Z by the midpoint rule on the same cells. */
static void stationary_cells(double *p, int n, double lo, double h) {
    double Z = 0;
    for (int i = 0; i < n; i++) Z += (p[i] = exp(-ch5_U(lo + (i + 0.5) * h))) * h;
    for (int i = 0; i < n; i++) p[i] /= Z;
}

double ch5_stationary_residual(double h) {
    const Ch5Sde dw = { ch5_langevin_mu, ch5_unit_D, NULL };
    int n = (int)lround(6.0 / h);
    double *p = calloc((size_t)2 * n, sizeof(double)), *r = p + n, worst = 0;
    stationary_cells(p, n, -3.0, h);
    ch5_fp_rhs(p, r, n, -3.0, h, &dw, 0.0);   /* §5.4 p ~ e^{-U} makes mu p - D p' = 0: the right side vanishes */
    for (int i = 0; i < n; i++) worst = fmax(worst, fabs(r[i]));
    free(p);
    return worst;
}

/* Sum of |p - q| h over the grid. */
static double l1_dist(const double *p, const double *q, int n, double h) {
    double s = 0;
    for (int i = 0; i < n; i++) s += fabs(p[i] - q[i]) * h;
    return s;
}

/* Mass in the right well x > 0, of a grid density and of particles. */
static double grid_right(const double *p, int n, double lo, double h) {
    double s = 0;
    for (int i = 0; i < n; i++) s += lo + (i + 0.5) * h > 0 ? p[i] * h : 0.0;
    return s;
}
static double particles_right(const double *x, int n) {
    int c = 0;
    for (int i = 0; i < n; i++) c += x[i] > 0;
    return (double)c / n;
}

/* Relaxation of the grid density towards p_inf: records at t = 0 and NT geometric times 0.01..10 (heat map),
 * with the L1 distance to the grid's stationary state; checks that the late decay is one exponential. */
static int stationary_relaxation(Ctx *ctx, const double *p0, const double *pinf, int n, double lo, double h) {
    enum { NT = 120 };
    const Ch5Sde dw = { ch5_langevin_mu, ch5_unit_D, NULL };
    double *rec = cli_alloc(ctx, sizeof(double) * n * (NT + 1)), tr[NT + 1], l1[NT + 1];
    memcpy(rec, p0, sizeof(double) * n);
    tr[0] = 0; l1[0] = l1_dist(p0, pinf, n, h);
    for (int j = 1; j <= NT; j++) {
        tr[j] = 0.01 * pow(1000.0, (j - 1.0) / (NT - 1));
        memcpy(rec + j * n, rec + (j - 1) * n, sizeof(double) * n);
        int steps = (int)fmax(1, lround((tr[j] - tr[j - 1]) / 1e-3));
        ch5_fp_solve(rec + j * n, n, lo, h, &dw, tr[j - 1], tr[j], steps);
        l1[j] = l1_dist(rec + j * n, pinf, n, h);
    }
    /* After the fast in-well relaxation only the slowest mode (hopping between wells) is left: L1 = c e^{-lambda t}.
     * Fit lambda on [t1, t2] ~ [4, 8], predict t = 10. The next mode decays > 10 times faster: its share at
     * t = 4 is below e^{-30}, so the prediction holds to the time step's O(lambda^2 dt) ~ 1e-4 relative; tol 1%. */
    int j1 = 0, j2 = 0, jo = 0;
    for (int j = 1; j <= NT; j++) { if (tr[j] <= 4) j1 = j; if (tr[j] <= 8) j2 = j; if (tr[j] <= 1.0001) jo = j; }
    double lambda = -log(l1[j2] / l1[j1]) / (tr[j2] - tr[j1]), pred = l1[j2] * exp(-lambda * (tr[NT] - tr[j2]));
    cli_say("L1(p_t, p_inf): %.3f at t = 0, %.3f at t = 1, %.2e at t = 10; late decay rate lambda = %.4f", l1[0], l1[jo], l1[NT], lambda);
    cli_check(ctx, "L1(p_10, p_inf) / exponential prediction", l1[NT] / pred, 1.0, 0.01);
    Plot p;
    if (plot_open(&p, ctx->out, "ch5_fp_heatmap")) return 1;
    plot_block(&p, "t x p(x, t): the grid density (t > 0, every second cell)");
    for (int j = 1; j <= NT; j++) {
        for (int i = 0; i < n; i += 2) fprintf(plot_dat(&p), "%.5g %.3f %.5g\n", tr[j], lo + (i + 0.5) * h, rec[j * n + i]);
        fprintf(plot_dat(&p), "\n");
    }
    plot_block(&p, "t, L1 distance to the grid's stationary state");
    for (int j = 0; j <= NT; j++) fprintf(plot_dat(&p), "%.5g %.5g\n", tr[j], l1[j]);
    plot_size(&p, 1300, 500);
    plot_cmd(&p, "set multiplot layout 1,2 title 'Fokker-Planck density of Langevin dynamics in U = 2(x^2-1)^2, from p_0 = N(1.6, 0.3^2)'");
    plot_cmd(&p, "set title 'p(x, t) (log time axis)'; set logscale x; set xlabel 't'; set ylabel 'x'; set yrange [-2:2.5]; set xrange [0.01:10]");
    plot_cmd(&p, "set view map; set pm3d map; set palette defined (0 'white', 1 '#9ecae1', 2 '#3182bd', 3 '#08306b'); set cblabel 'p(x,t)'");
    plot_cmd(&p, "set cbrange [0:1.5]; splot dat index 0 using 1:2:3 with pm3d notitle");
    plot_cmd(&p, "set title 'L1 distance to the stationary law (linear t, log L1: an exponential is a straight line)' font ',10'");
    plot_cmd(&p, "unset logscale x; set logscale y; set xrange [0:10]; set yrange [*:*]");
    plot_cmd(&p, "set xlabel 't'; set ylabel '||p_t - p_{inf}||_1'; set format y '10^{%%L}'; unset colorbox");
    plot_cmd(&p, "set object 1 rect from 4, graph 0 to 8, graph 1 fc rgb '#eeeeee' fs solid noborder behind");
    plot_cmd(&p, "plot dat index 1 using 1:2 with linespoints pt 7 ps 0.4 lw 2 title 'grid (in-well stage: the drop before t ~ 0.5)', \\");
    plot_cmd(&p, "     %g*exp(-%g*(x-%g)) with lines dt 2 lw 2 lc rgb 'black' title sprintf('exp(-%%.3f t), fitted on t in [4, 8] (grey)', %g)",
             l1[j2], lambda, tr[j2], lambda);
    plot_cmd(&p, "unset multiplot");
    return plot_close(&p);
}

/* One frame as a plot block: at each of the bins histogram bins on [blo, bhi), the bin centre x, the grid density
 * of the cell holding x (grid from lo, width h), the particles' histogram and p_inf; labelled with t to `digits`. */
static void frame_block(Plot *p, double t, int digits, const double *frame, const double *hist, int bins, double blo, double bhi,
                        double lo, double h, const double *pinf) {
    char c[96];
    snprintf(c, sizeof c, "t = %.*g: x, grid p, particle histogram, p_inf", digits, t);
    plot_block(p, c);
    for (int b = 0; b < bins; b++) {
        double xc = blo + (b + 0.5) * (bhi - blo) / bins;
        int i = (int)floor((xc - lo) / h);
        fprintf(plot_dat(p), "%.4f %.5g %.5g %.5g\n", xc, frame[i], hist[b], pinf[i]);
    }
}

/* The filmstrip PNG and the animated GIF of the same frames, from one .gp (cd figures && gnuplot
 * ch5_fp_animation.gp re-renders both). Block k: x, grid p, particle histogram, p_inf at time T[k]. */
static int plot_animation(Ctx *ctx, const double *frames, const double *hist, const double *tf, int nf,
                          int n, double lo, double h, const double *pinf, int bins, double blo, double bhi, int np) {
    Plot p;
    if (plot_open(&p, ctx->out, "ch5_fp_animation")) return 1;
    for (int k = 0; k < nf; k++) frame_block(&p, tf[k], 4, frames + k * n, hist + k * bins, bins, blo, bhi, lo, h, pinf);
    plot_cmd(&p, "array T[%d]", nf);
    for (int k = 0; k < nf; k++) plot_cmd(&p, "T[%d] = %.5g", k + 1, tf[k]);
    plot_cmd(&p, "set xlabel 'x'; set ylabel 'p(x, t)'; set xrange [%g:%g]; set yrange [0:2.2]; set style fill transparent solid 0.35 noborder", blo, bhi);
    plot_cmd(&p, "frame(k) = sprintf(\"plot dat index %%d using 1:3 with boxes lc rgb '#6baed6' title '%d particles', '' index %%d using 1:2 with lines lw 3 lc rgb '#d7301f' title 'Fokker-Planck grid', '' index %%d using 1:4 with lines dt 2 lw 2 lc rgb 'black' title 'e^{-U}/Z'\", k, k, k)", np);
    plot_size(&p, 1400, 600);
    plot_cmd(&p, "set multiplot layout 2,4 title 'Langevin dynamics in U = 2(x^2-1)^2: frames of the animated GIF written beside this figure'");
    plot_cmd(&p, "set key top left font ',8'");
    plot_cmd(&p, "do for [k in '0 11 21 31 41 46 51 %d'] { set title sprintf('t = %%.3g', T[int(k)+1]); eval frame(int(k)) }", nf - 1);
    plot_cmd(&p, "unset multiplot");
    plot_cmd(&p, "# the animation: written to a temporary, renamed when complete");
    plot_cmd(&p, "set terminal gif animate delay 10 loop 0 optimize size 720,450 font 'Sans,10'");
    plot_cmd(&p, "set output 'ch5_fp_animation.gif.tmp'");
    plot_cmd(&p, "set key top left font ',10'");
    plot_cmd(&p, "do for [k=0:%d] { set title sprintf('Fokker-Planck vs particles, t = %%.3f', T[k+1]); eval frame(k) }", nf - 1);
    plot_cmd(&p, "set output");
    plot_cmd(&p, "system('mv -f ch5_fp_animation.gif.tmp ch5_fp_animation.gif')");
    return plot_close(&p);
}

/* Figure ch5_langevin_stationary: four snapshots (frames s[0..3]), the L1 distance, the right-well mass. */
static int plot_stationary(Ctx *ctx, const double *frames, const double *hist, const double *tf, const double *right_g,
                           const double *right_p, int nf, int n, double lo, double h, const double *pinf,
                           int bins, double blo, double bhi, const int *s) {
    Plot p;
    if (plot_open(&p, ctx->out, "ch5_langevin_stationary")) return 1;
    for (int k = 0; k < 4; k++) frame_block(&p, tf[s[k]], 3, frames + s[k] * n, hist + s[k] * bins, bins, blo, bhi, lo, h, pinf);
    plot_block(&p, "t, right-well mass: grid, particles");
    for (int k = 1; k < nf; k++) fprintf(plot_dat(&p), "%.5g %.5f %.5f\n", tf[k], right_g[k], right_p[k]);
    plot_size(&p, 1500, 420);
    plot_cmd(&p, "set multiplot layout 1,5 title 'Langevin dx = -U''(x) dt + sqrt(2) dw, U = 2(x^2-1)^2: Fokker-Planck grid (red), particles (bars), e^{-U}/Z (dashed)'");
    plot_cmd(&p, "set xlabel 'x'; set xrange [%g:%g]; set yrange [0:2.2]; set style fill transparent solid 0.35 noborder; unset key", blo, bhi);
    for (int k = 0; k < 4; k++) {
        plot_cmd(&p, "set title 't = %g'", tf[s[k]]);
        plot_cmd(&p, "plot dat index %d using 1:3 with boxes lc rgb '#6baed6', '' index %d using 1:2 with lines lw 3 lc rgb '#d7301f', '' index %d using 1:4 with lines dt 2 lw 2 lc rgb 'black'", k, k, k);
    }
    plot_cmd(&p, "set title 'mass in the right well x > 0'; set logscale x; set xrange [0.01:10]; set yrange [0.4:1.02]; set xlabel 't'; set key center left");
    plot_cmd(&p, "plot dat index 4 using 1:2 with lines lw 3 lc rgb '#d7301f' title 'grid', '' index 4 using 1:3 with points pt 7 ps 0.6 lc rgb '#3182bd' title 'particles', 0.5 with lines dt 2 lc rgb 'black' title 'p_{inf}: 1/2'");
    plot_cmd(&p, "unset multiplot");
    return plot_close(&p);
}

static int cell_5_4b_stationary(Ctx *ctx) {
    enum { NF = 62, N = 10000, BINS = 100 };
    const int n = 300;
    const double lo = -3, h = 0.02, blo = -2.5, bhi = 2.5;
    const Ch5Sde dw = { ch5_langevin_mu, ch5_unit_D, NULL };
    cli_say("Langevin dynamics dx = -U'(x) dt + sqrt(2) dw = grad log p dt + sqrt(2) dw with p ~ e^{-U}:");
    cli_say("p = e^{-U}/Z makes the flux -U' p - p' vanish, so it is stationary. U = 2 (x^2 - 1)^2, a double well.");
    double r1 = ch5_stationary_residual(0.04), r2 = ch5_stationary_residual(0.02);
    cli_say("max |FP operator applied to e^{-U}/Z|: %.3e (h = 0.04), %.3e (h = 0.02)", r1, r2);
    /* second-order fluxes: the residual is O(h^2), up to the O(h^2) relative next term; tol 0.15 */
    cli_check(ctx, "observed order of the stationary residual", observed_order(r1, r2, 0.04, 0.02), 2.0, 0.15);
    double *pinf = cli_alloc(ctx, sizeof(double) * n), *pex = cli_alloc(ctx, sizeof(double) * n), *p0 = cli_alloc(ctx, sizeof(double) * n);
    fp_discrete_stationary(pinf, n, lo, h, &dw);
    stationary_cells(pex, n, lo, h);
    cli_say("the grid's own stationary state vs e^{-U}/Z: L1 = %.2e (O(h^2))", l1_dist(pinf, pex, n, h));
    ch5_gauss_cells(p0, n, lo, h, 1.6, 0.09);
    int rc = stationary_relaxation(ctx, p0, pinf, n, lo, h);
    /* the frames: t = 0 and 0.01 * 10^{k/20}, k = 0..60; grid and particles side by side */
    double *frames = cli_alloc(ctx, sizeof(double) * n * NF), *hist = cli_alloc(ctx, sizeof(double) * BINS * NF), *x = cli_alloc(ctx, sizeof(double) * N);
    double tf[NF], right_g[NF], right_p[NF];
    memcpy(frames, p0, sizeof(double) * n);
    for (int i = 0; i < N; i++) x[i] = 1.6 + 0.3 * rng_normal(&ctx->rng);
    tf[0] = 0;
    long steps_total = 0;
    for (int k = 0; k < NF; k++) {
        if (k) {
            tf[k] = 0.01 * pow(10.0, (k - 1) / 20.0);
            memcpy(frames + k * n, frames + (k - 1) * n, sizeof(double) * n);
            int steps = (int)fmax(1, lround((tf[k] - tf[k - 1]) / 1e-3)), psteps = (int)fmax(1, ceil((tf[k] - tf[k - 1]) / 2e-3));
            ch5_fp_solve(frames + k * n, n, lo, h, &dw, tf[k - 1], tf[k], steps);
            ch5_langevin_particles(&ctx->rng, x, N, (tf[k] - tf[k - 1]) / psteps, psteps);
            steps_total += steps;
        }
        data_histogram_d(x, N, blo, bhi, BINS, hist + k * BINS);
        right_g[k] = grid_right(frames + k * n, n, lo, h);
        right_p[k] = particles_right(x, N);
    }
    double mass0, pmin, gm, gv;
    grid_stats(p0, n, lo, h, &mass0, &pmin, &gm, &gv);   /* N(1.6, 0.3^2) has 1.5e-6 of its mass beyond x = 3 */
    check_mass_positive(ctx, "double well to t = 10", frames + (NF - 1) * n, n, lo, h, mass0, steps_total);
    int k1 = 41;   /* t = 1: the wells are not yet balanced */
    cli_check(ctx, "right-well mass at t = 1: particles vs grid (5 s.e.)", right_p[k1], right_g[k1],
              5 * sqrt(right_g[k1] * (1 - right_g[k1]) / N));
    /* long run: E[x^2] of the particles at t = 10 against e^{-U}/Z (tol 5 s.e. of the sample mean of x^2) */
    double ex2 = 0, m, v, s4 = 0;
    for (int i = 0; i < n; i++) { double xc = lo + (i + 0.5) * h; ex2 += xc * xc * pex[i] * h; }
    for (int i = 0; i < N; i++) s4 += x[i] * x[i] * x[i] * x[i];
    data_moments_d(x, N, 1, &m, &v);
    double px2 = v + m * m;
    cli_check(ctx, "E[x^2] of particles at t = 10 vs e^{-U}/Z", px2, ex2, 5 * sqrt((s4 / N - px2 * px2) / N));
    static const int snap[4] = { 0, 21, 41, 61 };   /* t = 0, 0.1, 1, 10 */
    rc |= plot_stationary(ctx, frames, hist, tf, right_g, right_p, NF, n, lo, h, pinf, BINS, blo, bhi, snap);
    rc |= plot_animation(ctx, frames, hist, tf, NF, n, lo, h, pinf, BINS, blo, bhi, N);
    return rc;
}

/* ---- 5.5  Back to diffusion models: the VP SDE --------------------------- */

double ch5_vp_beta(double t) { return 0.1 + 19.9 * t; }   /* linear beta from 0.1 to 20 on t in [0, 1] */
double ch5_vp_a(double t) { return exp(-0.5 * (0.1 * t + 0.5 * 19.9 * t * t)); }   /* §5.5 a(t) = exp(-1/2 int_0^t beta) */

/* §5.5 VP SDE dx = -beta(t)/2 x dt + sqrt(beta(t)) dw: drift -beta x / 2, D = g^2 / 2 = beta / 2. */
static double vp_mu(double x, double t, const void *par) { (void)par; return -0.5 * ch5_vp_beta(t) * x; }
static double vp_D(double t, const void *par) { (void)par; return 0.5 * ch5_vp_beta(t); }
static double zero_D(double t, const void *par) { (void)t; (void)par; return 0.0; }

/* §5.5 probability-flow ODE velocity v = f - g^2/2 grad log p_t = -beta/2 (x + score_t(x)), with the exact score
 * of p_t = the mixture noised by (a(t), 1 - a(t)^2). */
static double pf_mu(double x, double t, const void *par) {
    double a = ch5_vp_a(t), score;
    Gmm gt = data_gmm_noised((const Gmm *)par, a, 1.0 - a * a);
    data_gmm_score(&gt, &x, &score);
    return -0.5 * ch5_vp_beta(t) * (x + score);
}

/* Cell averages of the mixture g at time t (exact: the noised mixture). */
static void vp_exact_cells(const Gmm *g, double t, double *p, int n, double lo, double h) {
    double a = ch5_vp_a(t), *tmp = malloc(sizeof(double) * n);
    for (int i = 0; i < n; i++) p[i] = 0;
    for (int k = 0; k < g->K; k++) {
        ch5_gauss_cells(tmp, n, lo, h, a * g->mu[k][0], a * a * g->cov[k][0][0] + 1 - a * a);
        for (int i = 0; i < n; i++) p[i] += g->w[k] * tmp[i];
    }
    free(tmp);
}

/* Advance the grid density from t0 to t1 with dt = h^2 / 2: the VP Fokker-Planck equation (ode = 0), or the
 * continuity equation dp/dt = -d/dx [v p] of the probability-flow ODE (ode = 1, upwind fluxes). */
static void vp_advance(const Gmm *g, int ode, double *p, int n, double lo, double h, double t0, double t1) {
    const Ch5Sde fp = { vp_mu, vp_D, g }, pf = { pf_mu, zero_D, g };
    ch5_fp_solve(p, n, lo, h, ode ? &pf : &fp, t0, t1, (int)fmax(1, lround(2 * (t1 - t0) / (h * h))));
}

void ch5_vp_grid_errors(const Gmm *g, double h, double t, double *err_fp, double *err_ode) {
    int n = (int)lround(10.0 / h);
    double lo = -5, *p = malloc(sizeof(double) * 3 * n), *q = p + n, *ex = p + 2 * n;
    vp_exact_cells(g, 0.0, p, n, lo, h);
    memcpy(q, p, sizeof(double) * n);
    vp_advance(g, 0, p, n, lo, h, 0.0, t);
    vp_advance(g, 1, q, n, lo, h, 0.0, t);
    vp_exact_cells(g, t, ex, n, lo, h);
    *err_fp = l1_dist(p, ex, n, h);
    *err_ode = l1_dist(q, ex, n, h);
    free(p);
}

static int cell_5_5_diffusion(Ctx *ctx) {
    enum { NH = 3, NS = 4, N = 10000, BINS = 80, PSTEPS = 2000 };
    const double hs[NH] = { 0.08, 0.04, 0.02 }, ts[NS] = { 0, 0.1, 0.3, 1.0 }, h = 0.02, lo = -5, te = 0.3;
    const int n = 500;
    Gmm g = data_gmm_tutorial_1d();
    cli_say("The forward process of chapter 2 in continuous time (chapter 4): the VP SDE dx = -beta/2 x dt + sqrt(beta) dw,");
    cli_say("beta linear 0.1..20 on [0, 1]. Its Fokker-Planck equation moves p_0 = 0.3 N(-2, 0.3^2) + 0.7 N(2, 0.3^2)");
    cli_say("to N(0, 1); the exact p_t is the noised mixture. The probability-flow ODE dx = -beta/2 (x + score) dt has");
    cli_say("the same p_t: its continuity equation dp/dt = -d/dx[v p] is the Fokker-Planck equation rewritten.");
    double efp[NH], eode[NH];
    for (int k = 0; k < NH; k++) {
        ch5_vp_grid_errors(&g, hs[k], te, &efp[k], &eode[k]);
        cli_say("h = %-5g L1 error at t = %.1f: Fokker-Planck %.3e   PF-ODE continuity (upwind) %.3e", hs[k], te, efp[k], eode[k]);
    }
    /* Fokker-Planck: central fluxes, dt = h^2/2: order 2; continuity equation: upwind (order 1); tol 0.15 each
     * for the O(h) relative next term at these coarse h */
    cli_check(ctx, "observed order, VP Fokker-Planck grid (h 0.04 -> 0.02)", observed_order(efp[1], efp[2], hs[1], hs[2]), 2.0, 0.15);
    cli_check(ctx, "observed order, PF-ODE continuity grid (h 0.04 -> 0.02)", observed_order(eode[1], eode[2], hs[1], hs[2]), 1.0, 0.15);
    double *p = cli_alloc(ctx, sizeof(double) * n * NS), *q = cli_alloc(ctx, sizeof(double) * n * NS), *ex = cli_alloc(ctx, sizeof(double) * n * NS);
    double *x = cli_alloc(ctx, sizeof(double) * N), hist[NS][BINS];
    float *x0 = cli_alloc(ctx, sizeof(float) * N);
    data_gmm_sample(&g, &ctx->rng, x0, N);
    for (int i = 0; i < N; i++) x[i] = x0[i];
    vp_exact_cells(&g, 0.0, p, n, lo, h);
    memcpy(q, p, sizeof(double) * n);
    double dtp = 1.0 / PSTEPS;
    for (int s = 0; s < NS; s++) {
        if (s) {
            memcpy(p + s * n, p + (s - 1) * n, sizeof(double) * n);
            memcpy(q + s * n, q + (s - 1) * n, sizeof(double) * n);
            vp_advance(&g, 0, p + s * n, n, lo, h, ts[s - 1], ts[s]);
            vp_advance(&g, 1, q + s * n, n, lo, h, ts[s - 1], ts[s]);
            for (long k = lround(ts[s - 1] / dtp); k < lround(ts[s] / dtp); k++) {
                double beta = ch5_vp_beta(k * dtp);   /* §5.5 Euler-Maruyama for the VP SDE */
                for (int i = 0; i < N; i++) x[i] += -0.5 * beta * x[i] * dtp + sqrt(beta * dtp) * rng_normal(&ctx->rng);
            }
        }
        vp_exact_cells(&g, ts[s], ex + s * n, n, lo, h);
        data_histogram_d(x, N, -4, 4, BINS, hist[s]);
        if (ts[s] == te) {
            double m, v, m4 = 0, a = ch5_vp_a(te);
            Gmm gt = data_gmm_noised(&g, a, 1 - a * a);
            data_moments_d(x, N, 1, &m, &v);
            for (int i = 0; i < N; i++) m4 += (x[i] - m) * (x[i] - m) * (x[i] - m) * (x[i] - m) / N;
            double vt = data_gmm_var(&gt, 0);
            /* tol: 5 s.e. (sqrt(v/N) for the mean, sqrt((m4 - v^2)/N) for the variance, m4 the sample 4th central
             * moment) plus Euler-Maruyama's bias, at most beta dt / 4 <= 0.2% of the variance (the OU recursion) */
            cli_check(ctx, "particle mean at t = 0.3 vs the noised mixture", m, data_gmm_mean(&gt, 0), 5 * sqrt(vt / N));
            cli_check(ctx, "particle var at t = 0.3 vs the noised mixture", v, vt, 5 * sqrt((m4 - v * v) / N) + 0.002 * vt);
        }
    }
    Plot pl;
    if (plot_open(&pl, ctx->out, "ch5_vp_fp")) return 1;
    for (int s = 0; s < NS; s++) {
        plot_block(&pl, "x, FP grid, PF-ODE grid, exact p_t, particle histogram (at the bin centres)");
        for (int b = 0; b < BINS; b++) {
            double xc = -4 + (b + 0.5) * 8.0 / BINS;
            int i = (int)floor((xc - lo) / h);
            fprintf(plot_dat(&pl), "%.4f %.5g %.5g %.5g %.5g\n", xc, p[s * n + i], q[s * n + i], ex[s * n + i], hist[s][b]);
        }
    }
    plot_size(&pl, 1500, 450);
    plot_cmd(&pl, "set multiplot layout 1,%d title 'VP SDE forward process of a 1D mixture: Fokker-Planck grid (red), PF-ODE continuity grid (green), exact (dashed), %d particles (bars)'", NS, N);
    plot_cmd(&pl, "set xlabel 'x'; set ylabel 'p_t(x)'; set xrange [-4:4]; set yrange [0:1.0]; set style fill transparent solid 0.35 noborder; set key top left font ',9'");
    for (int s = 0; s < NS; s++) {
        plot_cmd(&pl, "set title 't = %g, a(t) = %.3f'", ts[s], ch5_vp_a(ts[s]));
        plot_cmd(&pl, "plot dat index %d using 1:5 with boxes lc rgb '#6baed6' title 'particles (EM)', '' index %d using 1:2 with lines lw 3 lc rgb '#d7301f' title 'FP grid', \\", s, s);
        plot_cmd(&pl, "     '' index %d using 1:3 with lines lw 2 lc rgb '#1b9e77' title 'PF-ODE grid', '' index %d using 1:4 with lines dt 2 lw 2 lc rgb 'black' title 'exact'", s, s);
    }
    plot_cmd(&pl, "unset multiplot");
    return plot_close(&pl);
}

/* ---- the chapter, cell by cell ----------------------------------------- */

static const Cell CELLS[] = {
    { "5.1",  "brownian",   "Brownian motion: paths, variance 2Dt, independent Gaussian increments", cell_5_1_brownian },
    { "5.2",  "master",     "the master equation of a lattice random walk -> the heat equation",   cell_5_2_master },
    { "5.3",  "kramers",    "the Kramers-Moyal expansion: drift and diffusion from increments",     cell_5_3_kramers },
    { "5.4",  "fp",         "the Fokker-Planck equation on a grid: OU closed form, particles",      cell_5_4_fp },
    { "5.4b", "stationary", "Langevin dynamics in a double well -> its stationary law exp(-U)",     cell_5_4b_stationary },
    { "5.5",  "diffusion",  "back to diffusion models: the VP SDE's density and the PF-ODE",         cell_5_5_diffusion },
};

/* The cell table, for tests/test_tutorial.c: every `./ch5 --cell X` that tutorial.md names must be in it. */
const Cell *ch5_cells(int *n) {
    *n = (int)COUNT_OF(CELLS);
    return CELLS;
}

#ifndef CHAPTER_NO_MAIN
int main(int argc, char **argv) {
    static const CliSpec spec = { "ch5", "Langevin and Fokker-Planck equations (PDF chapter 5)", 0, NULL, NULL };
    return cli_main(argc, argv, &spec, CELLS, COUNT_OF(CELLS), NULL);
}
#endif
