/* ddim.c: DDIM (denoising diffusion implicit models) and fast sampling, its own program beside PDF
 * chapter 2: eta-sampling, step skipping, deterministic inversion, quality against the number of network
 * evaluations, and the optimisation view (Permenter and Yuan, "Interpreting and Improving Diffusion
 * Models from an Optimization Perspective"; the smalldiffusion library).
 *
 *   make ddim && ./ddim --list        the cells
 *   ./ddim                            everything (about 90 s on 2 idle cores)
 *   ./ddim --cell nfe --samples 4000  one cell, more samples
 *
 * Cells: d.1 the exact testbed (ideal denoisers, memorisation) · d.2 one sampler family in two notations ·
 * d.3 eta and step skipping · d.4 quality against cost · d.5 inversion (2D and Fashion-MNIST) ·
 * d.6 the optimisation view, and d.6m its identity (the denoiser is a gradient step on a soft-min distance) ·
 * d.7 Fashion-MNIST samples at 10, 20, 50 and all T steps, scored per sampler.
 * Figures (figures/): ddim_memorisation, ddim_traj_2d, ddim_eta_spacing, ddim_nfe, ddim_inversion_error,
 * ddim_fmnist_inversion, ddim_fmnist_slerp, ddim_optim_view, ddim_softmin, ddim_fmnist_steps,
 * ddim_fmnist_nfe (with --samples >= 50) and the samples ddim_fmnist_samples.{png,idx-ubyte}.
 * Uses: cli, plot, image, data, schedule, rng, tensor, toymodel (2D eps network), unet (chapter 2's
 * shipped U-Net), fmnist; chapter 2's ch2_sample / ch2_posterior for the comparisons.
 *
 * Shapes: n samples, D numbers per sample (2 for points, 784 for images), K steps, T diffusion steps.
 * Notation: x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps; the noise-level variable z = x_t / sqrt(abar_t)
 * = x0 + sigma_t eps with sigma_t = sqrt(1/abar_t - 1); a network fed z sees z / sqrt(1 + sigma^2) = x_t.
 */
#include <math.h>
#include <string.h>
#include "ch2_ddpm.h"
#include "cli.h"
#include "data.h"
#include "ddim.h"
#include "denoiser.h"
#include "fid.h"
#include "fmnist.h"
#include "image.h"
#include "plot.h"
#include "schedule.h"
#include "toymodel.h"
#include "unet.h"

/* eps_hat (n, D) of any denoiser (denoiser.h) at the VP step t of s, for the float state x_t (n, D). */
static void eps_at(const Denoiser *den, const Schedule *s, int t, const float *xt, int n, double *eps_hat, Arena *arena) {
    den_predict_f(den, den_level_vp(s, t), xt, n, NULL, eps_hat, arena);
}

/* ---- timesteps ------------------------------------------------------------ */

void ddim_timesteps(int T, int K, int quadratic, int *ts) {
    CHECK(K >= 1 && K <= T, "K = %d outside 1..%d", K, T);
    for (int k = 0; k <= K; k++) {
        double u = (double)(K - k) / K;
        int raw = (int)lround(T * (quadratic ? u * u : u));
        ts[k] = raw > K - k ? raw : K - k;        /* leave room for the remaining K - k distinct steps */
    }
    for (int k = 1; k <= K; k++)
        if (ts[k] >= ts[k - 1]) ts[k] = ts[k - 1] - 1;   /* strictly decreasing */
}

/* ---- d.2  One step of each sampler, in double ------------------------------ */

double ddim_noise_scale(const Schedule *s, int t, int s_prev, double eta) {
    double ab_t = s->alpha_bar[t], ab_s = s->alpha_bar[s_prev];
    /* §d.2 c = eta sqrt((1 - abar_s)/(1 - abar_t)) sqrt(1 - abar_t/abar_s) */
    return eta * sqrt((1.0 - ab_s) / (1.0 - ab_t)) * sqrt(1.0 - ab_t / ab_s);
}

double ddim_step(const Schedule *s, int t, int s_prev, double eta, double xt, double eps_hat, double w) {
    double ab_s = s->alpha_bar[s_prev];
    double c = ddim_noise_scale(s, t, s_prev, eta);
    double x0_hat = den_x0_from_eps(den_level_vp(s, t), xt, eps_hat);   /* §2.8 */
    double dir = 1.0 - ab_s - c * c;                                   /* >= 0 for eta <= 1; rounding at s = 0 */
    /* §d.2 x_s = sqrt(abar_s) x0_hat + sqrt(1 - abar_s - c^2) eps_hat + c w */
    return sqrt(ab_s) * x0_hat + sqrt(dir > 0 ? dir : 0.0) * eps_hat + c * w;
}

double ddim_ddpm_step(const Schedule *s, int t, int s_prev, double xt, double eps_hat, double w) {
    double ab_t = s->alpha_bar[t], ab_s = s->alpha_bar[s_prev], alpha_ts = ab_t / ab_s;
    double x0_hat = den_x0_from_eps(den_level_vp(s, t), xt, eps_hat);   /* §2.8 */
    /* §2.6 on the re-spaced chain: mu_q = [sqrt(alpha_ts)(1 - abar_s) x_t + sqrt(abar_s)(1 - alpha_ts) x0] / (1 - abar_t) */
    double mu = (sqrt(alpha_ts) * (1.0 - ab_s) * xt + sqrt(ab_s) * (1.0 - alpha_ts) * x0_hat) / (1.0 - ab_t);
    return mu + (s_prev > 0 ? sqrt(1.0 - alpha_ts) * w : 0.0);       /* sigma^2 = beta_ts, not sigma_q^2 */
}

/* smalldiffusion's sigma_p = (sigma_next / sigma^mu)^(1/(1-mu)): the noise level the deterministic part
 * lands on; the rest of sigma_next^2 is made up with fresh noise. mu = 0: sigma_next; mu = 1/2: sigma_next^2/sigma. */
static double family_sigma_p(double sigma, double sigma_next, double mu) {
    return mu == 0.0 ? sigma_next : pow(sigma_next / pow(sigma, mu), 1.0 / (1.0 - mu));
}

double ddim_family_step(double sigma, double sigma_next, double mu, double z, double eps_av, double w) {
    double sigma_p = family_sigma_p(sigma, sigma_next, mu);
    double fresh = sigma_next * sigma_next - sigma_p * sigma_p;
    /* §d.2 z' = z - (sigma - sigma_p) eps_av + sqrt(sigma_next^2 - sigma_p^2) w */
    return z - (sigma - sigma_p) * eps_av + sqrt(fresh > 0 ? fresh : 0.0) * w;
}

/* ---- samplers over a sub-sequence ------------------------------------------ */

static void snapshot(float *traj, int k, const float *x, size_t nd) {
    if (traj) memcpy(traj + (size_t)k * nd, x, sizeof(float) * nd);
}

void ddim_sample(const Denoiser *den, const Schedule *s, const int *ts, int K, double eta,
                 float *x, int n, Rng *rng, Arena *arena, float *traj) {
    size_t nd = (size_t)n * den->D, mark = arena_pos(arena);
    double *eps = arena_push_no_zero(arena, sizeof(double) * nd), *xd = arena_push_no_zero(arena, sizeof(double) * nd);
    for (size_t j = 0; j < nd; j++) xd[j] = x[j];   /* the state is kept in double; the network sees floats */
    snapshot(traj, 0, x, nd);
    for (int k = 0; k < K; k++) {
        int t = ts[k], sp = ts[k + 1];
        eps_at(den, s, t, x, n, eps, arena);
        int noisy = ddim_noise_scale(s, t, sp, eta) > 0;
        for (size_t j = 0; j < nd; j++) {
            xd[j] = ddim_step(s, t, sp, eta, xd[j], eps[j], noisy ? rng_normal(rng) : 0.0);
            x[j] = (float)xd[j];
        }
        snapshot(traj, k + 1, x, nd);
    }
    arena_pop_to(arena, mark);
}

void ddim_ddpm_sample(const Denoiser *den, const Schedule *s, const int *ts, int K,
                      float *x, int n, Rng *rng, Arena *arena, float *traj) {
    size_t nd = (size_t)n * den->D, mark = arena_pos(arena);
    double *eps = arena_push_no_zero(arena, sizeof(double) * nd), *xd = arena_push_no_zero(arena, sizeof(double) * nd);
    for (size_t j = 0; j < nd; j++) xd[j] = x[j];
    snapshot(traj, 0, x, nd);
    for (int k = 0; k < K; k++) {
        int t = ts[k], sp = ts[k + 1];
        eps_at(den, s, t, x, n, eps, arena);
        for (size_t j = 0; j < nd; j++) {
            xd[j] = ddim_ddpm_step(s, t, sp, xd[j], eps[j], sp > 0 ? rng_normal(rng) : 0.0);
            x[j] = (float)xd[j];
        }
        snapshot(traj, k + 1, x, nd);
    }
    arena_pop_to(arena, mark);
}

void ddim_family_sample(const Denoiser *den, const Schedule *s, const int *ts, int K, double gamma, double mu,
                        float *x, int n, Rng *rng, Arena *arena, float *traj) {
    size_t nd = (size_t)n * den->D, mark = arena_pos(arena);
    double *z = arena_push_no_zero(arena, sizeof(double) * nd);
    double *eps = arena_push_no_zero(arena, sizeof(double) * nd), *eps_prev = arena_push_no_zero(arena, sizeof(double) * nd);
    double sigma0 = sched_sigma(s, ts[0]);
    for (size_t j = 0; j < nd; j++) z[j] = x[j] * sqrt(1.0 + sigma0 * sigma0);   /* z = x_t / sqrt(abar_t) */
    snapshot(traj, 0, x, nd);
    for (int k = 0; k < K; k++) {
        double sigma = sched_sigma(s, ts[k]), sigma_next = sched_sigma(s, ts[k + 1]);
        eps_at(den, s, ts[k], x, n, eps, arena);          /* x holds z / sqrt(1 + sigma^2): the network's input */
        double sigma_p = family_sigma_p(sigma, sigma_next, mu);
        int noisy = sigma_next * sigma_next - sigma_p * sigma_p > 0;
        for (size_t j = 0; j < nd; j++) {
            /* gamma mixes the current and the previous prediction: eps_av = gamma eps + (1 - gamma) eps_prev */
            double eps_av = k > 0 ? gamma * eps[j] + (1.0 - gamma) * eps_prev[j] : eps[j];
            z[j] = ddim_family_step(sigma, sigma_next, mu, z[j], eps_av, noisy ? rng_normal(rng) : 0.0);
            x[j] = (float)(z[j] / sqrt(1.0 + sigma_next * sigma_next));
        }
        double *swap = eps_prev; eps_prev = eps; eps = swap;
        snapshot(traj, k + 1, x, nd);
    }
    arena_pop_to(arena, mark);
}

void ddim_invert(const Denoiser *den, const Schedule *s, const int *ts, int K, float *x, int n, Arena *arena) {
    size_t nd = (size_t)n * den->D, mark = arena_pos(arena);
    double *z = arena_push_no_zero(arena, sizeof(double) * nd), *eps = arena_push_no_zero(arena, sizeof(double) * nd);
    CHECK(ts[K] == 0, "inversion starts from clean data, ts[K] = %d", ts[K]);
    for (size_t j = 0; j < nd; j++) z[j] = x[j];    /* sigma = 0: z = x0 */
    for (int k = K; k > 0; k--) {
        double sigma = sched_sigma(s, ts[k]), sigma_up = sched_sigma(s, ts[k - 1]);
        int t_eval = ts[k] > 0 ? ts[k] : ts[k - 1];   /* eps_hat where we stand; at t = 0 there is none: use t' */
        double sigma_eval = sched_sigma(s, t_eval);
        for (size_t j = 0; j < nd; j++) x[j] = (float)(z[j] / sqrt(1.0 + sigma_eval * sigma_eval));
        eps_at(den, s, t_eval, x, n, eps, arena);
        /* §d.5 eta = 0 read upward: z' = z + (sigma' - sigma) eps_hat(z, sigma), an explicit Euler step of
         * dz/dsigma = eps_hat, where sampling took the step from the other end */
        for (size_t j = 0; j < nd; j++) z[j] += (sigma_up - sigma) * eps[j];
    }
    double sigma_T = sched_sigma(s, ts[0]);
    for (size_t j = 0; j < nd; j++) x[j] = (float)(z[j] / sqrt(1.0 + sigma_T * sigma_T));
    arena_pop_to(arena, mark);
}

/* ---- helpers shared by the cells ------------------------------------------- */

/* The 2D model every cell shares: trained once per run on 20000 draws of the "gmm" mixture, T = 1000 (linear
 * schedule), from its own rng stream, so `--cell nfe` alone and the full run use the same network. */
static ToyModel shared_toy;
static int shared_toy_ready;

static ToyModel *trained_2d(Ctx *ctx, const Schedule *s) {
    enum { NDATA = 20000 };
    if (shared_toy_ready) return &shared_toy;
    int steps = ctx->opts->steps > 0 ? (int)ctx->opts->steps : 3000;
    Rng rng = rng_stream(ctx->opts->seed, 100);
    Gmm g = data_gmm_named("gmm");
    float *data = cli_alloc(ctx, sizeof(float) * 2 * NDATA);
    data_gmm_sample(&g, &rng, data, NDATA);
    toy_init(&shared_toy, 2, &rng);
    double t0 = cli_seconds();
    int rc = toy_train(&shared_toy, s, data, NDATA, steps, 256, &rng, ctx->arena, ctx->opts->quiet, NULL);
    if (rc) { toy_free(&shared_toy); return NULL; }
    cli_say("trained the 2D eps network (as chapter 2's cell 2.8, T = %d linear): %d steps in %.1f s", s->T, steps, cli_seconds() - t0);
    shared_toy_ready = 1;
    return &shared_toy;
}

static void shared_free(void) {
    if (shared_toy_ready) toy_free(&shared_toy);
    shared_toy_ready = 0;
}

static int n_samples(const Ctx *ctx, int dflt) { return ctx->opts->samples > 0 ? (int)ctx->opts->samples : dflt; }

/* Fraction of the n points x (n, 2) within r of one of the m reference points. */
static double frac_within(const float *x, int n, const float *ref, int m, double r) {
    int hits = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < m; j++)
            if (hypot(x[2 * i] - ref[2 * j], x[2 * i + 1] - ref[2 * j + 1]) < r) { hits++; break; }
    return (double)hits / n;
}

/* The noise floor at n samples: sliced W1 between two independent sets of n true draws, over FLOOR_PAIRS
 * pairs. One pair alone scatters by ~35% (and five pairs by ~15%), so the floor is the mean of 100 pairs and
 * its spread is the sd of one pair: a sampler whose law is right lands, per draw, within that scatter. */
enum { FLOOR_PAIRS = 100 };
static DataStat noise_floor(Ctx *ctx, const Gmm *g, int n) {
    float *a = cli_alloc(ctx, sizeof(float) * 2 * n), *b = cli_alloc(ctx, sizeof(float) * 2 * n);
    DataStat st = { 0 };
    for (int r = 0; r < FLOOR_PAIRS; r++) {
        data_gmm_sample(g, &ctx->rng, a, n);
        data_gmm_sample(g, &ctx->rng, b, n);
        data_stat_add(&st, data_sliced_w1_fixed(a, b, n));
    }
    return st;
}


/* ---- d.1  The exact testbed: ideal denoisers, and memorisation --------------- */

static int cell_d_1_testbed(Ctx *ctx) {
    enum { NMC = 100000, NP = 40, NROLL = 5000, STEPS = 1500, K = 100 };
    int n = n_samples(ctx, 1000);
    Gmm g = data_gmm_named("gmm");
    Schedule s;
    sched_init(&s, SCHED_LINEAR, 1000);
    cli_say("For a Gaussian mixture the ideal denoiser E[x0 | x_t] is closed form (responsibility-weighted");
    cli_say("Wiener filters, data_gmm_denoise); every sampler below runs on it before it runs on a network,");
    cli_say("so discretisation error is seen apart from learning error. It is the conditional mean because its");
    cli_say("residual x0 - D(x_t) is orthogonal to every function of x_t; Monte Carlo, %d pairs, t = 300:", NMC);
    Denoiser exact = den_gmm(&g);
    double ab = s.alpha_bar[300], sum[3] = {0}, sum2[3] = {0};
    for (int i = 0; i < NMC; i++) {
        float x0[2], xt[2];
        data_gmm_sample(&g, &ctx->rng, x0, 1);
        for (int d = 0; d < 2; d++) xt[d] = (float)(sqrt(ab) * x0[d] + sqrt(1 - ab) * rng_normal(&ctx->rng));
        double e[2];
        eps_at(&exact, &s, 300, xt, 1, e, ctx->arena);
        double r = x0[0] - den_x0_from_eps(den_level_vp(&s, 300), xt[0], e[0]);   /* residual of the first coordinate */
        double gv[3] = { 1.0, xt[0], tanh(3.0 * xt[1]) };
        for (int k = 0; k < 3; k++) { sum[k] += r * gv[k]; sum2[k] += r * r * gv[k] * gv[k]; }
    }
    const char *what[3] = { "E[(x0 - D(x_t)) * 1]", "E[(x0 - D(x_t)) * x_t,1]", "E[(x0 - D(x_t)) * tanh(3 x_t,2)]" };
    for (int k = 0; k < 3; k++) {   /* tol: 5 standard errors of the sample mean */
        double m = sum[k] / NMC, sd = sqrt(sum2[k] / NMC - m * m);
        cli_check(ctx, what[k], m, 0.0, 5 * sd / sqrt(NMC));
    }

    cli_say("For a finite training set the ideal denoiser is a softmax-weighted mean of the points");
    cli_say("(data_points_denoise): a perfect model of %d draws of the mixture can only give those points back.", NP);
    float *pts = cli_alloc(ctx, sizeof(float) * 2 * NP), *law = cli_alloc(ctx, sizeof(float) * 2 * NROLL);
    float *xe = cli_alloc(ctx, sizeof(float) * 2 * n), *xn = cli_alloc(ctx, sizeof(float) * 2 * n);
    data_gmm_sample(&g, &ctx->rng, pts, NP);
    data_gmm_sample(&g, &ctx->rng, law, NROLL);
    ToyModel net;
    toy_init(&net, 2, &ctx->rng);
    int rc = toy_train(&net, &s, pts, NP, STEPS, 256, &ctx->rng, ctx->arena, ctx->opts->quiet, NULL);
    if (rc) { toy_free(&net); sched_free(&s); return rc; }   /* NaN or Ctrl-C */
    Denoiser memo = den_points(pts, NP, 2);
    Denoiser trained = den_toy(&net, &s);
    int ts[K + 1];
    ddim_timesteps(s.T, K, 1, ts);   /* quadratic: the last steps are at sigma ~ 0.01 */
    rng_normal_fill(&ctx->rng, xe, 2 * n);
    memcpy(xn, xe, sizeof(float) * 2 * n);
    ddim_sample(&memo, &s, ts, K, 0.0, xe, n, &ctx->rng, ctx->arena, NULL);
    ddim_sample(&trained, &s, ts, K, 0.0, xn, n, &ctx->rng, ctx->arena, NULL);
    double d_e = data_mean_nn_distance(xe, n, pts, NP, 2), d_n = data_mean_nn_distance(xn, n, pts, NP, 2);
    double f_e = frac_within(xe, n, pts, NP, 0.01), f_n = frac_within(xn, n, pts, NP, 0.01);
    cli_say("DDIM (eta = 0, %d quadratic steps), %d samples from the same x_T:", K, n);
    cli_say("  ideal denoiser of the set: mean distance to the nearest training point %.4f, %.0f%% within 0.01", d_e, 100 * f_e);
    cli_say("  eps network (%d steps on the %d points): %.4f, %.0f%% within 0.01; sliced W1 to the law %.4f (ideal: %.4f)", STEPS, NP, d_n, 100 * f_n,
            data_sliced_w1_fixed(xn, law, n), data_sliced_w1_fixed(xe, law, n));
    /* The last step returns D(x) at sigma(ts[K-1]) = sigma(1) ~ 0.01: a softmax over points within ~sigma of x,
     * so a memorised sample sits within sigma of a training point unless two points are closer than that. */
    cli_check_le(ctx, "ideal denoiser: mean distance to the training set <= sigma_1", d_e, sched_sigma(&s, ts[K - 1]));
    cli_say("The network has not memorised: a smooth function trained briefly cannot be the spiky softmax,");
    cli_say("so its samples spread around and between the points. That blur is what generalises; the exact");
    cli_say("minimiser of the training loss would only copy the training set.");
    Plot p;
    if (!rc && !(rc = plot_open(&p, ctx->out, "ddim_memorisation"))) {
        plot_points(&p, "x y: the training points", pts, NP);
        plot_points(&p, "x y: DDIM with the ideal denoiser of the training points", xe, n);
        plot_points(&p, "x y: DDIM with the trained network", xn, n);
        plot_points(&p, "x y: the mixture (many draws)", law, 2000);
        plot_size(&p, 1500, 520);
        plot_cmd(&p, "set multiplot layout 1,3 title 'Memorisation: the ideal denoiser of %d points only reproduces them (DDIM, %d steps)'", NP, K);
        plot_cmd(&p, "set size ratio -1; set xrange [-1.3:1.3]; set yrange [-1.3:1.3]; set key bottom right font ',9'");
        plot_cmd(&p, "set title 'training set (%d points) and the law'", NP);
        plot_cmd(&p, "plot dat index 3 using 1:2 with points pt 7 ps 0.2 lc rgb '#bdbdbd' title 'data law (draws)', dat index 0 using 1:2 with points pt 6 ps 1.2 lw 2 lc rgb 'black' title 'training points'");
        plot_cmd(&p, "set title 'ideal denoiser (softmax mean): %.0f%% of samples within 0.01 of a point'", 100 * f_e);
        plot_cmd(&p, "plot dat index 0 using 1:2 with points pt 6 ps 1.2 lw 2 lc rgb 'black' title 'training points', dat index 1 using 1:2 with points pt 7 ps 0.4 lc rgb '#d7301f' title 'samples'");
        plot_cmd(&p, "set title 'trained network: %.0f%% within 0.01'", 100 * f_n);
        plot_cmd(&p, "plot dat index 0 using 1:2 with points pt 6 ps 1.2 lw 2 lc rgb 'black' title 'training points', dat index 2 using 1:2 with points pt 7 ps 0.4 lc rgb '#2171b5' title 'samples'");
        plot_cmd(&p, "unset multiplot");
        rc = plot_close(&p);
    }
    toy_free(&net);
    sched_free(&s);
    return rc;
}

/* ---- d.2  One sampler family, two notations ----------------------------------- */

/* Largest difference between the family step (sigma form, mapped back by sqrt(abar_s)) and the dedicated steps,
 * over random (t, s, x_t, eps_hat, w): mu = 0 against DDIM eta = 0, mu = 1/2 against eta = 1, and eta = 1 between
 * adjacent steps against chapter 2's mu_q + sigma_q w. */
static double family_vs_dedicated(const Schedule *s, Rng *rng) {
    double worst = 0;
    for (int i = 0; i < 2000; i++) {
        int t = 2 + rng_int(rng, s->T - 1), sp = rng_int(rng, t);
        double xt = 2 * rng_normal(rng), e = rng_normal(rng), w = rng_normal(rng);
        double sig = sched_sigma(s, t), sig_s = sched_sigma(s, sp), z = xt / sqrt(s->alpha_bar[t]), mu;
        double d0 = sqrt(s->alpha_bar[sp]) * ddim_family_step(sig, sig_s, 0.0, z, e, w) - ddim_step(s, t, sp, 0.0, xt, e, w);
        double d1 = sqrt(s->alpha_bar[sp]) * ddim_family_step(sig, sig_s, 0.5, z, e, w) - ddim_step(s, t, sp, 1.0, xt, e, w);
        double var = ch2_posterior(s, t, xt, den_x0_from_eps(den_level_vp(s, t), xt, e), &mu);
        double d2 = ddim_step(s, t, t - 1, 1.0, xt, e, w) - (mu + sqrt(var) * w);
        worst = fmax(worst, fmax(fabs(d0), fmax(fabs(d1), fabs(d2))));
    }
    return worst;
}

static double max_abs_diff(const float *a, const float *b, size_t n) {
    double worst = 0;
    for (size_t j = 0; j < n; j++) worst = fmax(worst, fabs((double)a[j] - b[j]));
    return worst;
}

static int cell_d_2_family(Ctx *ctx) {
    enum { NP = 14, NCMP = 500, KF = 10 };
    Gmm g = data_gmm_named("gmm");
    Denoiser exact = den_gmm(&g);
    Schedule s;
    sched_init(&s, SCHED_LINEAR, 1000);
    cli_say("DDIM (alpha_bar form): x_s = sqrt(abar_s) x0_hat + sqrt(1 - abar_s - c^2) eps_hat + c w,");
    cli_say("c = eta sqrt((1-abar_s)/(1-abar_t)) sqrt(1 - abar_t/abar_s), for any s < t of a sub-sequence.");
    cli_say("Noise-level form: z = x_t/sqrt(abar_t) = x0 + sigma_t eps, sigma_t = sqrt(1/abar_t - 1), and the");
    cli_say("network sees z/sqrt(1 + sigma^2). One update covers the family (smalldiffusion):");
    cli_say("z' = z - (sigma - sigma_p) eps_av + sqrt(sigma'^2 - sigma_p^2) w, sigma_p = (sigma'/sigma^mu)^(1/(1-mu)),");
    cli_say("eps_av = gamma eps + (1-gamma) eps_prev. mu = 0: DDIM eta = 0, an Euler step of dz/dsigma = eps_hat;");
    cli_say("mu = 1/2: DDIM eta = 1 = DDPM; gamma = 2: the accelerated sampler.");
    /* tol: values O(1) computed through 1/sqrt(abar_T) ~ 160 and a few sqrt: ~1e-13; 1e-10 leaves room */
    cli_check(ctx, "max |family step - dedicated step| (2000 draws)", family_vs_dedicated(&s, &ctx->rng), 0.0, 1e-10);

    cli_say("Whole paths, from the same x_T and the same noise stream (%d points, exact denoiser):", NCMP);
    float *xa = cli_alloc(ctx, sizeof(float) * 2 * NCMP), *xb = cli_alloc(ctx, sizeof(float) * 2 * NCMP);
    int *ts = cli_alloc(ctx, sizeof(int) * (s.T + 1));
    ddim_timesteps(s.T, s.T, 0, ts);
    Rng ra = rng_stream(ctx->opts->seed, 200), rb = rng_stream(ctx->opts->seed, 200);
    Denoiser oracle = den_gmm(&g);
    ch2_sample(&oracle, &s, xa, NCMP, &ra, ctx->arena, NULL, 0, NULL);
    rng_normal_fill(&rb, xb, 2 * NCMP);
    ddim_sample(&exact, &s, ts, s.T, 1.0, xb, NCMP, &rb, ctx->arena, NULL);
    /* tol: each path rounds x to float at each of the 1000 steps, in different expressions (2^-24 relative);
     * the reverse map contracts on average, so the differences stay near that rounding: 1e-4 */
    cli_check(ctx, "max |ch2_sample - DDIM eta=1|, T = 1000 steps", max_abs_diff(xa, xb, 2 * NCMP), 0.0, 1e-4);
    ra = rng_stream(ctx->opts->seed, 201);
    rb = rng_stream(ctx->opts->seed, 201);
    rng_normal_fill(&ra, xa, 2 * NCMP);
    memcpy(xb, xa, sizeof(float) * 2 * NCMP);
    ddim_family_sample(&exact, &s, ts, s.T, 1.0, 0.0, xa, NCMP, &ra, ctx->arena, NULL);
    ddim_sample(&exact, &s, ts, s.T, 0.0, xb, NCMP, &rb, ctx->arena, NULL);
    cli_check(ctx, "max |family(gamma=1, mu=0) - DDIM eta=0|", max_abs_diff(xa, xb, 2 * NCMP), 0.0, 1e-4);

    /* the figure: paths from the same x_T, DDPM-like (eta = 1), deterministic (eta = 0), and 10 skipping steps */
    size_t nd = 2 * NP;
    float *x = cli_alloc(ctx, sizeof(float) * nd), *x_T = cli_alloc(ctx, sizeof(float) * nd), *truth = cli_alloc(ctx, sizeof(float) * 4000);
    float *traj = cli_alloc(ctx, sizeof(float) * (size_t)(s.T + 1) * nd), *trajf = cli_alloc(ctx, sizeof(float) * (KF + 1) * nd);
    rng_normal_fill(&ctx->rng, x_T, (long)nd);
    data_gmm_sample(&g, &ctx->rng, truth, 2000);
    Plot p;
    int rc = plot_open(&p, ctx->out, "ddim_traj_2d");
    if (!rc) {
        plot_points(&p, "x y: the data law (draws)", truth, 2000);
        float *end0 = cli_alloc(ctx, sizeof(float) * nd);
        for (int m = 0; m < 3; m++) {
            memcpy(x, x_T, sizeof(float) * nd);
            int K = m < 2 ? s.T : KF;
            ddim_timesteps(s.T, K, 0, ts);
            ddim_sample(&exact, &s, ts, K, m == 0 ? 1.0 : 0.0, x, NP, &ctx->rng, ctx->arena, m < 2 ? traj : trajf);
            if (m == 1) memcpy(end0, x, sizeof(float) * nd);
            if (m == 2) {
                double dsum = 0;
                for (int i = 0; i < NP; i++) dsum += hypot(x[2 * i] - end0[2 * i], x[2 * i + 1] - end0[2 * i + 1]) / NP;
                cli_say("eta = 0 with %d steps ends %.3f (mean, path by path) from the 1000-step endpoints: the same map, coarser", KF, dsum);
            }
            for (int i = 0; i < NP; i++) {
                plot_block(&p, "x y: one path");
                const float *tr = m < 2 ? traj : trajf;
                for (int k = 0; k <= K; k += (m < 2 ? 5 : 1))
                    fprintf(plot_dat(&p), "%.5f %.5f\n", tr[(size_t)k * nd + 2 * i], tr[(size_t)k * nd + 2 * i + 1]);
            }
        }
        plot_size(&p, 1500, 520);
        plot_cmd(&p, "set multiplot layout 1,3 title 'Reverse paths from the same x_T with the exact denoiser (gmm): DDPM vs DDIM'");
        plot_cmd(&p, "set size ratio -1; set xrange [-2.6:2.6]; set yrange [-2.6:2.6]; unset key");
        const char *titles[3] = { "eta = 1 (DDPM ancestral), 1000 steps", "eta = 0 (DDIM, deterministic), 1000 steps", "eta = 0, 10 steps (points = steps)" };
        for (int m = 0; m < 3; m++) {
            plot_cmd(&p, "set title '%s'", titles[m]);
            plot_cmd(&p, "plot dat index 0 using 1:2 with points pt 7 ps 0.2 lc rgb '#bdbdbd', \\");
            plot_cmd(&p, "     for [k=%d:%d] dat index k using 1:2 with %s lw 1.5 lc k, \\", 1 + m * NP, (m + 1) * NP, m == 2 ? "linespoints pt 7 ps 0.6" : "lines");
            plot_cmd(&p, "     for [k=%d:%d] dat index k every ::0::0 using 1:2 with points pt 6 ps 1 lc rgb 'black'", 1 + m * NP, (m + 1) * NP);
        }
        plot_cmd(&p, "unset multiplot");
        rc = plot_close(&p);
    }
    cli_say("Open circles are the shared starting points x_T. eta = 1 wanders; eta = 0 follows smooth curves");
    cli_say("(the probability-flow ODE), so skipping steps changes little: the map x_T -> x_0 is fixed.");
    sched_free(&s);
    return rc;
}

/* ---- d.3  eta and step skipping -------------------------------------------- */

/* Sliced W1 to truth (n, 2) of DDIM with eta over K steps (uniform or quadratic), from the noise in x_T (n, 2). */
static double ddim_quality(const Denoiser *den, const Schedule *s, int K, int quadratic, double eta,
                           const float *x_T, const float *truth, int n, Ctx *ctx) {
    size_t mark = arena_pos(ctx->arena);   /* called in loops: give the scratch back */
    int *ts = cli_alloc(ctx, sizeof(int) * (K + 1));
    float *x = cli_alloc(ctx, sizeof(float) * 2 * n);
    memcpy(x, x_T, sizeof(float) * 2 * n);
    ddim_timesteps(s->T, K, quadratic, ts);
    ddim_sample(den, s, ts, K, eta, x, n, &ctx->rng, ctx->arena, NULL);
    double sw = data_sliced_w1_fixed(x, truth, n);
    arena_pop_to(ctx->arena, mark);
    return sw;
}

/* The floor and a sampler's mean distance over `reps` draws agree within 5 standard errors of their difference
 * when the sampler's law is the data law (both are means of the same kind of draw). */
static double floor_tolerance(const DataStat *sampler, const DataStat *floor) {
    double a = data_stat_se(sampler), b = data_stat_se(floor);
    return 5 * sqrt(a * a + b * b);
}

/* A deterministic sampler maps one x_T to one output set, so a curve drawn from one x_T repeats one draw of
 * the scatter at every K: each point of the quality curves below is a mean over `reps` fresh (x_T, reference)
 * pairs, drawn with its standard error. */
enum { ETA_REPS = 6 };
static int cell_d_3_eta(Ctx *ctx) {
    enum { NK = 6, NE = 3 };
    static const int Ks[NK] = { 5, 10, 20, 50, 100, 200 };
    static const double etas[NE] = { 0.0, 0.5, 1.0 };
    int n = n_samples(ctx, 2000);
    Gmm g = data_gmm_named("gmm");
    Denoiser exact = den_gmm(&g);
    Schedule s;
    sched_init(&s, SCHED_LINEAR, 1000);
    float *x_T = cli_alloc(ctx, sizeof(float) * 2 * n), *truth = cli_alloc(ctx, sizeof(float) * 2 * n);
    DataStat floor = noise_floor(ctx, &g, n), sw[NK][NE][2];
    memset(sw, 0, sizeof sw);
    for (int r = 0; r < ETA_REPS; r++) {
        rng_normal_fill(&ctx->rng, x_T, 2L * n);
        data_gmm_sample(&g, &ctx->rng, truth, n);
        for (int k = 0; k < NK; k++)
            for (int e = 0; e < NE; e++)
                for (int q = 0; q < 2; q++)
                    data_stat_add(&sw[k][e][q], ddim_quality(&exact, &s, Ks[k], q, etas[e], x_T, truth, n, ctx));
    }
    cli_say("Sliced W1 to the mixture (%d samples, exact denoiser, T = 1000), K steps on a uniform or a", n);
    cli_say("quadratic sub-sequence (t_k ~ T (k/K)^2: more steps at low noise); each entry the mean over %d", ETA_REPS);
    cli_say("(x_T, reference) pairs. Noise floor %.4f (sd of one pair %.4f, %d pairs).",
            data_stat_mean(&floor), data_stat_sd(&floor), FLOOR_PAIRS);
    cli_say("    K   eta=0 unif  eta=0 quad  eta=.5 unif eta=.5 quad eta=1 unif  eta=1 quad");
    for (int k = 0; k < NK; k++) {
        char line[160];
        int len = snprintf(line, sizeof line, "  %4d", Ks[k]);
        for (int e = 0; e < NE; e++)
            for (int q = 0; q < 2; q++) len += snprintf(line + len, sizeof line - len, "  %10.4f", data_stat_mean(&sw[k][e][q]));
        cli_say("%s", line);
    }
    cli_say("(standard error of each entry about %.4f)", data_stat_se(&sw[NK - 1][0][0]));
    Plot p;
    int rc = plot_open(&p, ctx->out, "ddim_eta_spacing");
    if (!rc) {
        for (int e = 0; e < NE; e++)
            for (int q = 0; q < 2; q++) {
                char c[96];
                snprintf(c, sizeof c, "K, mean sliced W1, its s.e. (%d pairs): eta = %.1f, %s spacing", ETA_REPS, etas[e], q ? "quadratic" : "uniform");
                plot_block(&p, c);
                for (int k = 0; k < NK; k++)   /* the quadratic curve is nudged right by 4% so the error bars do not overlap */
                    fprintf(plot_dat(&p), "%.3f %.5f %.5f\n", Ks[k] * (q ? 1.04 : 1.0), data_stat_mean(&sw[k][e][q]), data_stat_se(&sw[k][e][q]));
            }
        plot_size(&p, 800, 500);
        plot_cmd(&p, "set title 'DDIM with the exact denoiser: distance to the data law against steps (mean of %d draws)'", ETA_REPS);
        plot_cmd(&p, "set logscale xy; set xlabel 'steps K (network evaluations)'; set ylabel 'sliced W1 to the data law'");
        plot_cmd(&p, "set key top right; set xrange [4:250]");
        plot_cmd(&p, "fl = %g; fsd = %g", data_stat_mean(&floor), data_stat_sd(&floor));
        plot_cmd(&p, "plot '+' using 1:(fl-fsd):(fl+fsd) with filledcurves lc rgb '#dddddd' title 'noise floor ± sd of one pair (%d pairs)', \\", FLOOR_PAIRS);
        plot_cmd(&p, "     fl with lines lc rgb 'black' dt 3 notitle, \\");
        plot_cmd(&p, "     for [e=0:2] dat index 2*e using 1:2:3 with yerrorlines lw 2 pt 7 lc e+1 title sprintf('eta = %%.1f, uniform', e*0.5), \\");
        plot_cmd(&p, "     for [e=0:2] dat index 2*e+1 using 1:2:3 with yerrorlines lw 2 dt 2 pt 6 lc e+1 title sprintf('eta = %%.1f, quadratic', e*0.5)");
        rc = plot_close(&p);
    }
    cli_say("Few steps favour eta = 0: fresh noise must be removed again by later steps, and with few steps");
    cli_say("there are none left. With many steps every eta reaches the floor.");
    /* at K = 200 the sampler's law is (nearly) the data law: its mean distance is the floor's */
    cli_check(ctx, "eta = 0, K = 200: mean sliced W1 = floor (5 s.e.)", data_stat_mean(&sw[NK - 1][0][0]), data_stat_mean(&floor),
              floor_tolerance(&sw[NK - 1][0][0], &floor));
    cli_check(ctx, "eta = 1, K = 200: mean sliced W1 = floor (5 s.e.)", data_stat_mean(&sw[NK - 1][2][0]), data_stat_mean(&floor),
              floor_tolerance(&sw[NK - 1][2][0], &floor));
    cli_check_le(ctx, "K = 10 uniform: eta = 0 closer than eta = 1", data_stat_mean(&sw[1][0][0]), data_stat_mean(&sw[1][2][0]));
    sched_free(&s);
    return rc;
}

/* ---- d.4  Quality against cost: samplers per network evaluation --------------- */

enum { SAMPLER_DDPM, SAMPLER_ETA1, SAMPLER_ETA0, SAMPLER_ACCEL, SAMPLER_2M, NSAMPLER };
static const char *const SAMPLER_NAMES[NSAMPLER] = {
    "DDPM ancestral (sigma^2 = beta)", "DDIM eta = 1 (= chapter 2)", "DDIM eta = 0", "accelerated (gamma = 2)", "DPM-Solver++(2M)" };

/* §d.4 DPM-Solver++(2M) on the steps ts: DDIM eta = 0 plus its second-order correction (den_sample_ode, denoiser.h). */
static void dpm2m_sample(const Denoiser *den, const Schedule *s, const int *ts, int K, float *x, int n, Arena *arena) {
    size_t mark = arena_pos(arena);
    DenLevel *l = arena_push_no_zero(arena, sizeof(DenLevel) * (K + 1));
    den_ladder_vp(s, ts, K, l);
    den_sample_ode_f(den, l, K, 2, x, n, arena);
    arena_pop_to(arena, mark);
}

static void run_sampler(int which, const Denoiser *den, const Schedule *s, const int *ts, int K,
                        float *x, int n, Rng *rng, Arena *arena) {
    if (which == SAMPLER_DDPM) ddim_ddpm_sample(den, s, ts, K, x, n, rng, arena, NULL);
    else if (which == SAMPLER_ETA1) ddim_sample(den, s, ts, K, 1.0, x, n, rng, arena, NULL);
    else if (which == SAMPLER_ETA0) ddim_sample(den, s, ts, K, 0.0, x, n, rng, arena, NULL);
    else if (which == SAMPLER_ACCEL) ddim_family_sample(den, s, ts, K, 2.0, 0.0, x, n, rng, arena, NULL);
    else dpm2m_sample(den, s, ts, K, x, n, arena);   /* draws no random numbers: the others' stay as they were */
}

/* The sweep: sliced W1 of each sampler at each K (uniform steps), over `reps` fresh (x_T, reference) pairs; all
 * samplers and all K share each pair's x_T. Accumulates sw[k][sampler]. */
static void nfe_sweep(Ctx *ctx, const Denoiser *den, const Schedule *s, const Gmm *g, const int *Ks, int nk, int n,
                      int reps, DataStat sw[][NSAMPLER]) {
    float *x_T = cli_alloc(ctx, sizeof(float) * 2 * n), *x = cli_alloc(ctx, sizeof(float) * 2 * n), *truth = cli_alloc(ctx, sizeof(float) * 2 * n);
    int *ts = cli_alloc(ctx, sizeof(int) * (s->T + 1));
    memset(sw, 0, sizeof(DataStat) * NSAMPLER * (size_t)nk);
    for (int r = 0; r < reps; r++) {
        rng_normal_fill(&ctx->rng, x_T, 2L * n);
        data_gmm_sample(g, &ctx->rng, truth, n);
        for (int k = 0; k < nk; k++) {
            ddim_timesteps(s->T, Ks[k], 0, ts);
            for (int m = 0; m < NSAMPLER; m++) {
                memcpy(x, x_T, sizeof(float) * 2 * n);
                run_sampler(m, den, s, ts, Ks[k], x, n, &ctx->rng, ctx->arena);
                data_stat_add(&sw[k][m], data_sliced_w1_fixed(x, truth, n));
            }
        }
    }
    cli_say("  steps  DDPM(beta)      DDIM eta=1      DDIM eta=0      gamma=2         DPM++(2M)       (mean +- s.e. over %d pairs)", reps);
    for (int k = 0; k < nk; k++) {
        char line[160];
        int len = snprintf(line, sizeof line, "  %5d", Ks[k]);
        for (int m = 0; m < NSAMPLER; m++)
            len += snprintf(line + len, sizeof line - len, "  %.4f+-%.4f", data_stat_mean(&sw[k][m]), data_stat_se(&sw[k][m]));
        cli_say("%s", line);
    }
}

static void nfe_blocks(Plot *p, const char *label, const int *Ks, int nk, DataStat sw[][NSAMPLER]) {
    static const double nudge[NSAMPLER] = { 0.92, 0.96, 1.0, 1.04, 1.08 };   /* side by side, so error bars do not overlap */
    for (int m = 0; m < NSAMPLER; m++) {
        char c[160];
        snprintf(c, sizeof c, "%s: network evaluations (nudged), mean sliced W1 and its s.e., of %s", label, SAMPLER_NAMES[m]);
        plot_block(p, c);
        for (int k = 0; k < nk; k++)
            fprintf(plot_dat(p), "%.3f %.5f %.5f\n", Ks[k] * nudge[m], data_stat_mean(&sw[k][m]), data_stat_se(&sw[k][m]));
    }
}

/* Pairs per point: the exact denoiser costs little, the network ~3 ms per evaluation of 1000 points. */
enum { NFE_REPS_EXACT = 8, NFE_REPS_NET = 4 };
static int cell_d_4_nfe(Ctx *ctx) {
    enum { NKE = 8, NKN = 6 };
    static const int Ke[NKE] = { 5, 10, 20, 50, 100, 200, 500, 1000 }, Kn[NKN] = { 5, 10, 20, 50, 100, 200 };
    int n = n_samples(ctx, 2000), nn = (n + 1) / 2;   /* rounded up: --samples 1 still gives one network sample */
    Gmm g = data_gmm_named("gmm");
    Schedule s;
    sched_init(&s, SCHED_LINEAR, 1000);
    cli_say("Cost is network evaluations (one per step, for every sampler here). Four samplers, all from the");
    cli_say("same x_T: DDPM with Ho et al.'s other variance sigma^2 = beta (the DDIM paper's sigma-hat; with");
    cli_say("sigma_q^2 DDPM is exactly DDIM eta = 1, checked in d.2), DDIM eta = 1, eta = 0, and the");
    cli_say("accelerated sampler (gamma = 2: eps_av = 2 eps - eps_prev, a momentum / gradient estimate).");
    cli_say("A deterministic sampler maps one x_T to one output set, so one x_T gives one draw of the scatter at");
    cli_say("every K: each entry is a mean over fresh (x_T, reference) pairs.");
    DataStat floor_e = noise_floor(ctx, &g, n), floor_n = noise_floor(ctx, &g, nn);
    DataStat swe[NKE][NSAMPLER], swn[NKN][NSAMPLER];
    cli_say("Exact denoiser, %d samples, %d pairs; noise floor %.4f (sd of one pair %.4f, %d pairs):", n, NFE_REPS_EXACT,
            data_stat_mean(&floor_e), data_stat_sd(&floor_e), FLOOR_PAIRS);
    Denoiser exact = den_gmm(&g);
    nfe_sweep(ctx, &exact, &s, &g, Ke, NKE, n, NFE_REPS_EXACT, swe);
    for (int m = 0; m < NSAMPLER; m++) {
        char what[128];
        snprintf(what, sizeof what, "exact, %s, 1000 steps: mean = floor (5 s.e.)", SAMPLER_NAMES[m]);
        cli_check(ctx, what, data_stat_mean(&swe[NKE - 1][m]), data_stat_mean(&floor_e), floor_tolerance(&swe[NKE - 1][m], &floor_e));
    }
    cli_check_le(ctx, "exact, 5 steps: gamma = 2 beats DDIM eta = 0", data_stat_mean(&swe[0][SAMPLER_ACCEL]), data_stat_mean(&swe[0][SAMPLER_ETA0]));
    ToyModel *toy = trained_2d(ctx, &s);
    if (!toy) { sched_free(&s); return 1; }
    Denoiser net = den_toy(toy, &s);
    cli_say("Trained eps network, %d samples, %d pairs; noise floor %.4f (sd %.4f); up to 200 steps (the 2D network", nn,
            NFE_REPS_NET, data_stat_mean(&floor_n), data_stat_sd(&floor_n));
    cli_say("costs ~3 ms per evaluation of %d points; 1000 steps x 5 samplers would double the run time):", nn);
    nfe_sweep(ctx, &net, &s, &g, Kn, NKN, nn, NFE_REPS_NET, swn);
    /* a trained model is not exact: it may sit above the floor by its learning error; 3 x floor is chapter 2's
     * bound for its trained sampler (N(0, I) is at ~0.4, an equal-weights mixture at ~0.16) */
    cli_check_le(ctx, "network, DDIM eta = 0, 200 steps: mean <= 3 x floor", data_stat_mean(&swn[NKN - 1][SAMPLER_ETA0]),
                 3 * data_stat_mean(&floor_n));
    Plot p;
    int rc = plot_open(&p, ctx->out, "ddim_nfe");
    if (!rc) {
        nfe_blocks(&p, "exact denoiser", Ke, NKE, swe);
        nfe_blocks(&p, "trained network", Kn, NKN, swn);
        plot_size(&p, 1300, 540);
        plot_cmd(&p, "set multiplot layout 1,2 title 'Quality against cost on the 2D mixture: sliced W1 to the data law, mean ± s.e. over (x_T, reference) pairs'");
        plot_cmd(&p, "set logscale xy; set xlabel 'network evaluations (steps)'; set ylabel 'sliced W1'; set xrange [4:1200]; set yrange [0.01:2]");
        plot_cmd(&p, "array NAMES[5] = ['%s', '%s', '%s', '%s', '%s']", SAMPLER_NAMES[0], SAMPLER_NAMES[1], SAMPLER_NAMES[2],
                 SAMPLER_NAMES[3], SAMPLER_NAMES[4]);
        plot_cmd(&p, "set key top right font ',9'");
        for (int panel = 0; panel < 2; panel++) {
            const DataStat *fl = panel ? &floor_n : &floor_e;
            plot_cmd(&p, "set title '%s, n = %d, %d pairs'", panel == 0 ? "exact denoiser E[x_0 | x_t]" : "trained eps network (toymodel)",
                     panel ? nn : n, panel ? NFE_REPS_NET : NFE_REPS_EXACT);
            plot_cmd(&p, "fl = %g; fsd = %g", data_stat_mean(fl), data_stat_sd(fl));
            plot_cmd(&p, "plot '+' using 1:(fl-fsd):(fl+fsd) with filledcurves lc rgb '#dddddd' title 'noise floor ± sd of one pair (%d pairs)', \\", FLOOR_PAIRS);
            plot_cmd(&p, "     fl with lines dt 3 lw 2 lc rgb 'black' notitle, \\");
            plot_cmd(&p, "     for [m=0:4] dat index %d+m using 1:2:3 with yerrorlines lw 2 pt 7 ps 0.7 lc (m < 4 ? m + 1 : 7) title NAMES[m+1]", NSAMPLER * panel);
        }
        plot_cmd(&p, "unset multiplot");
        rc = plot_close(&p);
    }
    sched_free(&s);
    return rc;
}

/* ---- d.5  Inversion: data -> noise -> data ------------------------------------ */

/* Invert x0 (n, D) with K uniform steps, then run DDIM eta = 0 back. Returns the RMS error per coordinate;
 * x_T and recon (n, D) receive the latent and the reconstruction when not NULL. */
static double round_trip(const Denoiser *den, const Schedule *s, int K, const float *x0, int n,
                         float *x_T, float *recon, Ctx *ctx) {
    size_t nd = (size_t)n * den->D, mark = arena_pos(ctx->arena);   /* called in loops: give the scratch back */
    float *x = cli_alloc(ctx, sizeof(float) * nd);
    int *ts = cli_alloc(ctx, sizeof(int) * (K + 1));
    memcpy(x, x0, sizeof(float) * nd);
    ddim_timesteps(s->T, K, 0, ts);
    ddim_invert(den, s, ts, K, x, n, ctx->arena);
    if (x_T) memcpy(x_T, x, sizeof(float) * nd);
    ddim_sample(den, s, ts, K, 0.0, x, n, &ctx->rng, ctx->arena, NULL);
    if (recon) memcpy(recon, x, sizeof(float) * nd);
    double se = 0;
    for (size_t j = 0; j < nd; j++) se += ((double)x[j] - x0[j]) * ((double)x[j] - x0[j]);
    arena_pop_to(ctx->arena, mark);
    return sqrt(se / nd);
}

/* §d.5 slerp(a, b; lambda) = sin((1 - lambda) theta)/sin(theta) a + sin(lambda theta)/sin(theta) b, cos theta = a.b/|a||b|:
 * stays on the sphere where Gaussian noise lives (|x_T| ~ sqrt(D)); the straight line cuts inside it. */
static void slerp(const float *a, const float *b, int D, double lambda, float *out) {
    double ab = 0, aa = 0, bb = 0;
    for (int j = 0; j < D; j++) { ab += (double)a[j] * b[j]; aa += (double)a[j] * a[j]; bb += (double)b[j] * b[j]; }
    double theta = acos(ab / sqrt(aa * bb));
    double wa = sin((1 - lambda) * theta) / sin(theta), wb = sin(lambda * theta) / sin(theta);
    for (int j = 0; j < D; j++) out[j] = (float)(wa * a[j] + wb * b[j]);
}

static double norm_of(const float *x, int D) {
    double s2 = 0;
    for (int j = 0; j < D; j++) s2 += (double)x[j] * x[j];
    return sqrt(s2);
}

enum { IMG = 784, NINV = 8, NKI = 3, NLERP = 9 };
static const int KI[NKI] = { 10, 20, 50 };

/* Fashion-MNIST: round trips at K = 10, 20, 50 (figure rows: image, latent, reconstructions), and interpolation
 * between the latents of two pairs of images (slerp, and the straight line for contrast). err receives the errors. */
static int inversion_images(Ctx *ctx, double *err) {
    UnetModel u;
    /* the plain-loss network: the min-SNR one of CH2_UNET_CKPT does not come back (0.24 at K = 50, 0.15 even at
     * K = 1000; tutorial.md 2.8): its x0_hat is fitted least at the noisiest levels, where the latent is found */
    if (unet_model_load(&u, CH2_UNET_PLAIN_CKPT)) { cli_say("skipped the images: no U-Net checkpoint"); return -1; }
    Fmnist fm;
    if (fmnist_load(&fm, NULL, 0, NINV)) { cli_say("skipped the images: Fashion-MNIST not available"); unet_model_free(&u); return -1; }
    Schedule s;
    sched_init(&s, u.sched, u.T);
    Denoiser net = den_unet(&u, &s, 0);   /* no clamp: it would break the inverse */
    float *x0 = cli_alloc(ctx, sizeof(float) * NINV * IMG), *grid = cli_alloc(ctx, sizeof(float) * (2 + NKI) * NINV * IMG);
    float *x_T = cli_alloc(ctx, sizeof(float) * NINV * IMG);
    for (int j = 0; j < NINV * IMG; j++) x0[j] = 2.0f * fm.images[j] - 1.0f;
    memcpy(grid, x0, sizeof(float) * NINV * IMG);
    cli_say("Fashion-MNIST, chapter 2's plain-loss U-Net (T = %d), %d test images: RMS error per pixel (range [-1, 1]):", u.T, NINV);
    for (int k = 0; k < NKI; k++) {
        err[k] = round_trip(&net, &s, KI[k], x0, NINV, x_T, grid + (size_t)(2 + k) * NINV * IMG, ctx);
        cli_say("  K = %3d: %.4f", KI[k], err[k]);
    }
    for (int j = 0; j < NINV * IMG; j++) grid[NINV * IMG + j] = x_T[j] / 3.0f;   /* latent (K = 50) shown over [-3, 3] */
    char path[600];
    snprintf(path, sizeof path, "%s/ddim_fmnist_inversion.png", ctx->out);
    int rc = image_grid_png(path, grid, (2 + NKI) * NINV, 1, 28, 28, NINV, -1.0f, 1.0f, 3, 2);
    if (!rc) cli_say("figure %s (rows: image, its inverted x_T (K = 50, grey = 0, range +-3), reconstructions K = 10, 20, 50)", path);
    /* interpolation: rows slerp(0,1), straight line (0,1), slerp(2,3), all decoded with DDIM eta = 0, 50 steps */
    float *lerp = cli_alloc(ctx, sizeof(float) * 3 * NLERP * IMG);
    for (int r = 0; r < 3; r++)
        for (int i = 0; i < NLERP; i++) {
            double lam = (double)i / (NLERP - 1);
            const float *a = x_T + (r == 2 ? 2 : 0) * IMG, *b = x_T + (r == 2 ? 3 : 1) * IMG;
            float *out = lerp + ((size_t)r * NLERP + i) * IMG;
            if (r == 1) for (int j = 0; j < IMG; j++) out[j] = (float)((1 - lam) * a[j] + lam * b[j]);
            else slerp(a, b, IMG, lam, out);
        }
    double n_a = norm_of(x_T, IMG), n_s = norm_of(lerp + (NLERP / 2) * IMG, IMG), n_l = norm_of(lerp + (NLERP + NLERP / 2) * IMG, IMG);
    cli_say("|x_T| of image 1: %.1f (Gaussian noise: sqrt(784) = 28); midpoint: slerp %.1f, straight line %.1f", n_a, n_s, n_l);
    int ts[51];
    ddim_timesteps(s.T, 50, 0, ts);
    ddim_sample(&net, &s, ts, 50, 0.0, lerp, 3 * NLERP, &ctx->rng, ctx->arena, NULL);
    snprintf(path, sizeof path, "%s/ddim_fmnist_slerp.png", ctx->out);
    rc |= image_grid_png(path, lerp, 3 * NLERP, 1, 28, 28, NLERP, -1.0f, 1.0f, 3, 2);
    if (!rc) cli_say("figure %s (rows: slerp between images 1 and 2, straight line between them, slerp 3 -> 4)", path);
    sched_free(&s);
    fmnist_free(&fm);
    unet_model_free(&u);
    return rc;
}

static int cell_d_5_inversion(Ctx *ctx) {
    enum { NKE = 8, NKN = 6 };
    static const int Ke[NKE] = { 5, 10, 20, 50, 100, 200, 500, 1000 }, Kn[NKN] = { 5, 10, 20, 50, 100, 200 };
    int n = n_samples(ctx, 1000), nn = (n + 1) / 2;   /* rounded up: --samples 1 still gives one */
    Gmm g = data_gmm_named("gmm");
    Schedule s;
    sched_init(&s, SCHED_LINEAR, 1000);
    cli_say("DDIM eta = 0 is a deterministic map x_T -> x_0; run upward it maps data to noise (inversion):");
    cli_say("z' = z + (sigma' - sigma) eps_hat(z, sigma), eps_hat taken where we stand (sampling takes it at the");
    cli_say("other end of the step). The round trip x0 -> x_T -> x0 is exact only as K grows: O(1/K).");
    float *x0 = cli_alloc(ctx, sizeof(float) * 2 * n);
    data_gmm_sample(&g, &ctx->rng, x0, n);
    Denoiser exact = den_gmm(&g);
    double ee[NKE], en[NKN], ei[NKI];
    cli_say("2D mixture, exact denoiser, %d points: RMS error per coordinate", n);
    for (int k = 0; k < NKE; k++) {
        ee[k] = round_trip(&exact, &s, Ke[k], x0, n, NULL, NULL, ctx);
        cli_say("  K = %4d: %.5f", Ke[k], ee[k]);
    }
    /* first order: a factor 10 in K divides the error by 10; ask for 4, for the pre-asymptotic range */
    cli_check_le(ctx, "exact: error(1000) <= error(100) / 4", ee[NKE - 1], ee[4] / 4);
    ToyModel *toy = trained_2d(ctx, &s);
    if (!toy) { sched_free(&s); return 1; }
    Denoiser net = den_toy(toy, &s);
    cli_say("2D mixture, trained network, %d points:", nn);
    for (int k = 0; k < NKN; k++) {
        en[k] = round_trip(&net, &s, Kn[k], x0, nn, NULL, NULL, ctx);
        cli_say("  K = %4d: %.5f", Kn[k], en[k]);
    }
    cli_check_le(ctx, "network: error(200) <= error(20) / 4", en[NKN - 1], en[2] / 4);
    int have_img = inversion_images(ctx, ei), rc = have_img > 0;
    if (have_img == 0) cli_check_le(ctx, "images: error(50) <= error(10) / 2", ei[2], ei[0] / 2);
    Plot p;
    if (!rc && !(rc = plot_open(&p, ctx->out, "ddim_inversion_error"))) {
        plot_block(&p, "K, RMS round-trip error: 2D mixture, exact denoiser");
        for (int k = 0; k < NKE; k++) fprintf(plot_dat(&p), "%d %.6g\n", Ke[k], ee[k]);
        plot_block(&p, "K, RMS round-trip error: 2D mixture, trained network");
        for (int k = 0; k < NKN; k++) fprintf(plot_dat(&p), "%d %.6g\n", Kn[k], en[k]);
        plot_block(&p, "K, RMS round-trip error per pixel: Fashion-MNIST, U-Net");
        for (int k = 0; have_img == 0 && k < NKI; k++) fprintf(plot_dat(&p), "%d %.6g\n", KI[k], ei[k]);
        plot_size(&p, 800, 500);
        plot_cmd(&p, "set title 'DDIM inversion: x_0 -> x_T -> x_0 round-trip error against steps'");
        plot_cmd(&p, "set logscale xy; set xlabel 'steps K (each way)'; set ylabel 'RMS error per coordinate'; set key bottom left");
        plot_cmd(&p, "plot dat index 0 using 1:2 with linespoints lw 2 pt 7 title '2D, exact denoiser', \\");
        plot_cmd(&p, "     dat index 1 using 1:2 with linespoints lw 2 pt 5 title '2D, trained network', \\");
        if (have_img == 0) plot_cmd(&p, "     dat index 2 using 1:2 with linespoints lw 2 pt 9 title 'Fashion-MNIST, U-Net', \\");
        plot_cmd(&p, "     [5:1000] %g * 100 / x with lines dt 2 lc rgb 'black' title 'slope 1/K'", ee[4]);
        rc = plot_close(&p);
    }
    sched_free(&s);
    return rc;
}

/* ---- d.6  The optimisation view: the denoiser projects, DDIM descends -------- */

/* The ideal denoiser of the points in the noise-level form: D(z, sigma) = E[x0 | x0 + sigma eps = z]. */
static void denoise_sigma(const float *pts, int n_pts, double sigma, const double *z, double *out) {
    data_points_denoise(pts, n_pts, 2, 1.0, sigma * sigma, z, out);
}

/* Modified Bessel function I_n(a) = sum_k (a/2)^{2k+n} / (k! (k+n)!), n = 0, 1, by its power series: every term is
 * positive (no cancellation) and the sum stays far below overflow for a < 700. */
static double bessel_i(int n, double a) {
    double term = n ? a / 2 : 1.0, sum = term, q = a * a / 4;
    for (int k = 1; term > 1e-17 * sum; k++) {
        term *= q / ((double)k * (k + n));
        sum += term;
    }
    return sum;
}

void ddim_circle_denoise(double sigma, const double *z, double *out) {
    double r = hypot(z[0], z[1]), a = r / (sigma * sigma);
    /* beyond a = 600 the series would overflow soon: the asymptotic ratio, whose next term 1/(8 a^3) is < 1e-9 there */
    double ratio = a > 600 ? 1 - 1 / (2 * a) - 1 / (8 * a * a) : bessel_i(1, a) / bessel_i(0, a);
    /* §d.6 circle: D(z) = (z/|z|) I1(a)/I0(a), a = |z|/sigma^2 */
    out[0] = z[0] / r * ratio;
    out[1] = z[1] / r * ratio;
}

/* DDIM (eta = 0) in the sigma variable with geometric levels sigma_0 > ... > sigma_K, from z (n, 2) drawn as
 * x0 + sigma_0 eps. The step z' = z - (sigma - sigma') eps_hat with eps_hat = (z - D(z))/sigma is
 * z' = z + (1 - sigma'/sigma) (D(z) - z): a gradient step on f(z) = dist(z, data)^2 / 2, whose gradient is
 * z - proj(z) ~ z - D(z), with step size 1 - sigma'/sigma. ratio receives mean(dist(z_k, circle) / sigma_k). */
static void descend(const float *pts, int n_pts, double *z, int n, const double *sig, int K, float *path, int n_path, double *ratio) {
    for (int k = 0; k <= K; k++) {
        double r = 0;
        for (int i = 0; i < n; i++) r += fabs(hypot(z[2 * i], z[2 * i + 1]) - 1.0) / sig[k];
        ratio[k] = r / n;
        for (int i = 0; i < n_path; i++) { path[((size_t)k * n_path + i) * 2] = (float)z[2 * i]; path[((size_t)k * n_path + i) * 2 + 1] = (float)z[2 * i + 1]; }
        if (k == K) break;
        #pragma omp parallel for schedule(static)
        for (int i = 0; i < n; i++) {
            double d[2];
            denoise_sigma(pts, n_pts, sig[k], z + 2 * i, d);
            for (int c = 0; c < 2; c++) {
                double eps_hat = (z[2 * i + c] - d[c]) / sig[k];
                z[2 * i + c] = ddim_family_step(sig[k], sig[k + 1], 0.0, z[2 * i + c], eps_hat, 0.0);
            }
        }
    }
}

static int cell_d_6_optim(Ctx *ctx) {
    enum { NP = 512, NARROW = 70, NCHK = 4000, NTRAJ = 1000, NSHOW = 16, KD = 100 };
    const double sig_small = 0.1, sig_large = 2.0, sig_from = 2.0, sig_to = 0.005;
    float pts[2 * NP];
    for (int i = 0; i < NP; i++) { pts[2 * i] = (float)cos(2 * PI * i / NP); pts[2 * i + 1] = (float)sin(2 * PI * i / NP); }
    cli_say("Data on the unit circle (%d points). In the noise-level form the ideal denoiser D(z, sigma) =", NP);
    cli_say("E[x0 | x0 + sigma eps = z]; for the circle D(z) = (z/|z|) I1(a)/I0(a), a = |z|/sigma^2.");
    cli_say("Small sigma: I1/I0 = 1 - 1/(2a) - 1/(8a^2) - ..., D is the projection z/|z| up to sigma^2/(2|z|).");
    double z[2], d[2], worst_small = 0, worst_large = 0;
    for (int i = 0; i < NCHK; i++) {
        double th = 2 * PI * rng_uniform(&ctx->rng);
        for (int pass = 0; pass < 2; pass++) {
            double sig = pass ? sig_large : sig_small;
            z[0] = cos(th) + sig * rng_normal(&ctx->rng);
            z[1] = sin(th) + sig * rng_normal(&ctx->rng);
            denoise_sigma(pts, NP, sig, z, d);
            double r = hypot(z[0], z[1]), a = r / (sig * sig);
            if (!pass) {   /* distance to the projection against 1/(2a) + 1/(8a^2), relative: next term ~ 1/(4a^2) */
                double got = hypot(d[0] - z[0] / r, d[1] - z[1] / r), want = 1 / (2 * a) + 1 / (8 * a * a);
                worst_small = fmax(worst_small, fabs(got - want) / want);
            } else {       /* large sigma: D = (a/2 - a^3/16 + ...) z/|z| = z/(2 sigma^2) + O(a^3): toward the mean 0 */
                double got = hypot(d[0] - z[0] / (2 * sig * sig), d[1] - z[1] / (2 * sig * sig));
                worst_large = fmax(worst_large, got / (a * a * a / 16));
            }
        }
    }
    /* the series' next term relative to 1/(2a) is about 1/(4a^2) <= 1e-3 for a >= 25 (|z| >= 0.25 at sigma = 0.1);
     * the finite set's error is exponentially small (spacing 0.012 << sigma) */
    cli_check_le(ctx, "sigma = 0.1: |D - proj| = 1/(2a) + 1/(8a^2), max rel. err", worst_small, 1e-2);
    cli_say("Large sigma: I1/I0 = a/2 - a^3/16 + ..., D(z) = z/(2 sigma^2) + O(a^3): a shrink toward the mean.");
    /* alternating series with decreasing terms (a < 2): the remainder is below the first omitted term */
    cli_check_le(ctx, "sigma = 2: |D - z/(2 sigma^2)| / (a^3/16), max", worst_large, 1.001);   /* 1 + rounding room */

    cli_say("DDIM as descent: z' = z + (1 - sigma'/sigma)(D(z) - z) is gradient descent on dist(z, data)^2/2,");
    cli_say("step size 1 - sigma'/sigma. %d paths, %d geometric levels sigma = %.1f -> %.3f.", NTRAJ, KD, sig_from, sig_to);
    double *zz = cli_alloc(ctx, sizeof(double) * 2 * NTRAJ), *z0 = cli_alloc(ctx, sizeof(double) * 2 * NTRAJ);
    double sig[KD + 1], sig2[KD / 2 + 1], ratio[KD + 1], ratio2[KD / 2 + 1];
    float *path = cli_alloc(ctx, sizeof(float) * (KD + 1) * NSHOW * 2), *path2 = cli_alloc(ctx, sizeof(float) * (KD / 2 + 1) * NSHOW * 2);
    for (int k = 0; k <= KD; k++) sig[k] = sig_from * pow(sig_to / sig_from, (double)k / KD);
    for (int k = 0; k <= KD / 2; k++) sig2[k] = sig[2 * k];
    for (int i = 0; i < NTRAJ; i++) {   /* start exactly in the law of x0 + sigma_0 eps */
        double th = 2 * PI * rng_uniform(&ctx->rng);
        z0[2 * i] = cos(th) + sig_from * rng_normal(&ctx->rng);
        z0[2 * i + 1] = sin(th) + sig_from * rng_normal(&ctx->rng);
    }
    memcpy(zz, z0, sizeof(double) * 2 * NTRAJ);
    descend(pts, NP, zz, NTRAJ, sig, KD, path, NSHOW, ratio);
    memcpy(zz, z0, sizeof(double) * 2 * NTRAJ);
    descend(pts, NP, zz, NTRAJ, sig2, KD / 2, path2, NSHOW, ratio2);
    int k05 = 0;
    while (sig[k05] > 0.05) k05++;
    if (k05 % 2) k05++;   /* a level both runs visit */
    cli_say("DDIM keeps the marginals x0 + sigma eps, so near the circle dist(z) = sigma |eps_normal|: mean sigma sqrt(2/pi).");
    cli_say("mean dist/sigma at sigma = %.3f: %.4f with %d steps, %.4f with %d", sig[k05], ratio[k05], KD, ratio2[k05 / 2], KD / 2);
    /* tol: 5 standard errors (|eps_n| has sd sqrt(1 - 2/pi) = 0.60) + the first-order discretisation error,
     * estimated as the change from KD/2 to KD steps, plus the curvature correction O(sigma) = 0.05 */
    double tol = 5 * 0.60 / sqrt(NTRAJ) + fabs(ratio[k05] - ratio2[k05 / 2]) + sig[k05];
    cli_check(ctx, "mean dist(z)/sigma along DDIM vs sqrt(2/pi)", ratio[k05], sqrt(2 / PI), tol);
    Plot p;
    int rc = plot_open(&p, ctx->out, "ddim_optim_view");
    if (!rc) {
        plot_block(&p, "x y: the data (circle)");
        for (int i = 0; i <= NP; i++) fprintf(plot_dat(&p), "%.5f %.5f\n", pts[2 * (i % NP)], pts[2 * (i % NP) + 1]);
        for (int pass = 0; pass < 2; pass++) {
            double sg = pass ? sig_large : sig_small;
            plot_block(&p, pass ? "x y dx dy: noisy z (sigma = 2) -> D(z)" : "x y dx dy: noisy z (sigma = 0.1) -> D(z)");
            for (int i = 0; i < NARROW; i++) {
                double th = 2 * PI * rng_uniform(&ctx->rng);
                z[0] = cos(th) + sg * rng_normal(&ctx->rng);
                z[1] = sin(th) + sg * rng_normal(&ctx->rng);
                denoise_sigma(pts, NP, sg, z, d);
                fprintf(plot_dat(&p), "%.5f %.5f %.5f %.5f\n", z[0], z[1], d[0] - z[0], d[1] - z[1]);
            }
        }
        for (int i = 0; i < NSHOW; i++) {
            plot_block(&p, "x y: one DDIM path (z, sigma form)");
            for (int k = 0; k <= KD; k++) fprintf(plot_dat(&p), "%.5f %.5f\n", path[((size_t)k * NSHOW + i) * 2], path[((size_t)k * NSHOW + i) * 2 + 1]);
        }
        plot_block(&p, "sigma, mean dist(z, circle)/sigma over the DDIM paths");
        for (int k = 0; k <= KD; k++) fprintf(plot_dat(&p), "%.6g %.6g\n", sig[k], ratio[k]);
        plot_size(&p, 1100, 1000);
        plot_cmd(&p, "set multiplot layout 2,2 title 'The optimisation view (Permenter and Yuan): denoiser ≈ projection, DDIM ≈ gradient descent'");
        plot_cmd(&p, "set size ratio -1; unset key");
        plot_cmd(&p, "set title 'σ = 0.1: noisy z → D(z) lands on the circle (projection)'; set xrange [-1.6:1.6]; set yrange [-1.6:1.6]");
        plot_cmd(&p, "plot dat index 0 using 1:2 with lines lw 2 lc rgb '#636363', dat index 1 using 1:2:3:4 with vectors head filled size 0.03,20 lc rgb '#d7301f', dat index 1 using 1:2 with points pt 7 ps 0.4 lc rgb '#d7301f'");
        plot_cmd(&p, "set title 'σ = 2: D(z) ≈ z/(2σ^2), pulled to the mean'; set xrange [-5:5]; set yrange [-5:5]");
        plot_cmd(&p, "plot dat index 0 using 1:2 with lines lw 2 lc rgb '#636363', dat index 2 using 1:2:3:4 with vectors head filled size 0.15,20 lc rgb '#2171b5', dat index 2 using 1:2 with points pt 7 ps 0.4 lc rgb '#2171b5'");
        plot_cmd(&p, "set title 'DDIM paths (z form, σ 2 → 0.005): descent onto the circle'; set xrange [-3.5:3.5]; set yrange [-3.5:3.5]");
        plot_cmd(&p, "plot dat index 0 using 1:2 with lines lw 2 lc rgb '#636363', for [k=3:%d] dat index k using 1:2 with linespoints pt 7 ps 0.3 lw 1 lc k, \\", 2 + NSHOW);
        plot_cmd(&p, "     for [k=3:%d] dat index k every ::0::0 using 1:2 with points pt 6 ps 1.2 lc rgb 'black'", 2 + NSHOW);
        plot_cmd(&p, "set size noratio; set title 'distance to the data shrinks with sigma'; set logscale x; set xrange [0.004:2.5]; set yrange [0:1.2]");
        plot_cmd(&p, "set xlabel 'sigma'; set ylabel 'mean dist(z, circle) / sigma'; set key bottom right");
        plot_cmd(&p, "plot dat index %d using 1:2 with linespoints pt 7 ps 0.4 lw 2 title 'DDIM paths (%d)', %g with lines dt 2 lc rgb 'black' title 'sqrt(2/pi): the law x_0 + sigma eps'", 3 + NSHOW, NTRAJ, sqrt(2 / PI));
        plot_cmd(&p, "unset multiplot");
        rc = plot_close(&p);
    }
    return rc;
}

/* ---- d.6  The identity behind the view: the denoiser is a gradient step on a soft-min distance ---- */

double ddim_soft_dist2(const float *pts, int n, int D, double sigma, const double *z) {
    /* §d.6 f_sigma(z) = -sigma^2 log( (1/n) sum_i exp(-|z - x_i|^2 / (2 sigma^2)) ), by log-sum-exp */
    double m = INFINITY, s = 0;
    for (int i = 0; i < n; i++) {   /* pass 1: the smallest squared distance, the log-sum-exp shift */
        double d2 = 0;
        for (int j = 0; j < D; j++) { double d = z[j] - pts[i * D + j]; d2 += d * d; }
        m = fmin(m, d2);
    }
    for (int i = 0; i < n; i++) {
        double d2 = 0;
        for (int j = 0; j < D; j++) { double d = z[j] - pts[i * D + j]; d2 += d * d; }
        s += exp(-(d2 - m) / (2 * sigma * sigma));
    }
    return m / 2 - sigma * sigma * log(s / n);
}

/* Central finite difference of f_sigma at z (2D) along both axes, step h. */
static void soft_dist2_grad_fd(const float *pts, int n, double sigma, const double *z, double h, double *g) {
    for (int c = 0; c < 2; c++) {
        double zp[2] = { z[0], z[1] }, zm[2] = { z[0], z[1] };
        zp[c] += h;
        zm[c] -= h;
        g[c] = (ddim_soft_dist2(pts, n, 2, sigma, zp) - ddim_soft_dist2(pts, n, 2, sigma, zm)) / (2 * h);
    }
}

static int cell_d_6m_softmin(Ctx *ctx) {
    enum { NP = 512, NCHK = 400, NSIG = 4, NLINE = 401 };
    static const double sigs[NSIG] = { 0.05, 0.2, 0.5, 1.0 };
    float pts[2 * NP];
    for (int i = 0; i < NP; i++) { pts[2 * i] = (float)cos(2 * PI * i / NP); pts[2 * i + 1] = (float)sin(2 * PI * i / NP); }
    cli_say("Why the denoiser 'projects': for data x_1..x_n (uniform), the noised law p_sigma = (1/n) sum_i N(x_i, sigma^2 I)");
    cli_say("and Tweedie's D_sigma(z) = z + sigma^2 grad log p_sigma(z). Write the soft-min squared distance");
    cli_say("  f_sigma(z) = -sigma^2 log( (1/n) sum_i exp(-|z - x_i|^2 / (2 sigma^2)) ) = -sigma^2 log p_sigma(z) + const,");
    cli_say("so z - D_sigma(z) = grad f_sigma(z) = sigma^2 grad_z[-log sum_i exp(-|z - x_i|^2/(2 sigma^2))]:");
    cli_say("D_sigma is one gradient step of size 1 on f_sigma, and dist^2/2 <= f_sigma <= dist^2/2 + sigma^2 log n,");
    cli_say("dist = min_i |z - x_i|: f_sigma is a smoothed Moreau envelope dist^2/2 of the data set, whose gradient");
    cli_say("step z - grad(dist^2/2) is the projection. Checked on the %d points of the unit circle:", NP);
    double worst_fd = 0, worst_abs = 0, worst_lo = INFINITY, worst_hi = -INFINITY;
    for (int k = 0; k < NSIG; k++)
        for (int i = 0; i < NCHK; i++) {
            double th = 2 * PI * rng_uniform(&ctx->rng), rad = 2.5 * rng_uniform(&ctx->rng);
            double z[2] = { rad * cos(th), rad * sin(th) }, d[2], g[2], h = 1e-4 * sigs[k];
            data_points_denoise(pts, NP, 2, 1.0, sigs[k] * sigs[k], z, d);
            soft_dist2_grad_fd(pts, NP, sigs[k], z, h, g);
            /* central differences: error h^2/6 |f'''| + rounding 2 eps |f|/h; f''' <= R^3 / sigma^4 (R = 2, the
             * data's diameter: it is the third cumulant of u.x_i under the softmax weights, over sigma^4) */
            double f = ddim_soft_dist2(pts, NP, 2, sigs[k], z), tol = h * h / 6 * 8 / pow(sigs[k], 4) + 4.4e-16 * fabs(f) / h;
            double err = hypot(g[0] - (z[0] - d[0]), g[1] - (z[1] - d[1]));
            worst_fd = fmax(worst_fd, err / tol);
            worst_abs = fmax(worst_abs, err);
            double dist = 1e300;
            for (int j = 0; j < NP; j++) dist = fmin(dist, hypot(z[0] - pts[2 * j], z[1] - pts[2 * j + 1]));
            worst_lo = fmin(worst_lo, f - dist * dist / 2);                                   /* >= 0 */
            worst_hi = fmax(worst_hi, f - dist * dist / 2 - sigs[k] * sigs[k] * log(NP));    /* <= 0 */
        }
    cli_check_le(ctx, "|finite-difference grad f_sigma - (z - D_sigma(z))| / (FD error bound), max", worst_fd, 1.0);
    cli_say("largest |finite difference - (z - D_sigma(z))| over the %d points and 4 sigmas: %.2g", NSIG * NCHK, worst_abs);
    cli_check_le(ctx, "max of dist^2/2 - f_sigma <= 0 (lower sandwich)", -worst_lo, 1e-12);
    cli_check_le(ctx, "max of f_sigma - dist^2/2 - sigma^2 log n <= 0 (upper sandwich)", worst_hi, 1e-12);
    cli_say("Small sigma: f_sigma hugs dist^2/2 and its gradient is z - proj(z) (the projection, with the kink at the");
    cli_say("centre smoothed); large sigma: f_sigma is convex with its minimum at the data's mean (D shrinks to it).");
    Plot p;
    if (plot_open(&p, ctx->out, "ddim_softmin")) return 1;
    for (int k = 0; k < NSIG; k++) {
        char c[128];
        snprintf(c, sizeof c, "sigma = %g: u, f_sigma(u, 0), dist^2/2, d/du f by finite differences, u - D_sigma(u, 0)_x", sigs[k]);
        plot_block(&p, c);
        for (int i = 0; i < NLINE; i++) {
            double z[2] = { -2.0 + 4.0 * i / (NLINE - 1), 0.0 }, d[2], g[2];
            data_points_denoise(pts, NP, 2, 1.0, sigs[k] * sigs[k], z, d);
            soft_dist2_grad_fd(pts, NP, sigs[k], z, 1e-4 * sigs[k], g);
            double dist = fabs(fabs(z[0]) - 1.0);
            fprintf(plot_dat(&p), "%.4f %.7g %.7g %.7g %.7g\n", z[0], ddim_soft_dist2(pts, NP, 2, sigs[k], z), dist * dist / 2, g[0], z[0] - d[0]);
        }
    }
    plot_size(&p, 1300, 500);
    plot_cmd(&p, "set multiplot layout 1,2 title 'The denoiser is a gradient step: z - D_σ(z) = ∇f_σ(z), f_σ = -σ^2 log mean_i exp(-|z - x_i|^2/2σ^2) (unit circle, z = (u, 0))'");
    plot_cmd(&p, "array S[%d] = [%g, %g, %g, %g]", NSIG, sigs[0], sigs[1], sigs[2], sigs[3]);
    plot_cmd(&p, "set xlabel 'u'; set xrange [-2:2]; set key top center font ',9'");
    plot_cmd(&p, "set title 'soft-min squared distance f_σ vs dist^2/2 (the Moreau envelope)'; set ylabel 'f'; set yrange [0:1.6]");
    plot_cmd(&p, "plot dat index 0 using 1:3 with lines lw 4 lc rgb 'black' title 'dist(z, data)^2 / 2', \\");
    plot_cmd(&p, "     for [k=0:%d] dat index k using 1:2 with lines lw 2 lc k+1 title sprintf('f_σ, σ = %%g', S[k+1])", NSIG - 1);
    plot_cmd(&p, "set title 'gradient: finite differences of f_σ (lines) = z - D_σ(z) (points)'; set ylabel 'x-component'; set yrange [-1.3:1.3]; set key bottom right");
    plot_cmd(&p, "plot for [k=0:%d] dat index k using 1:4 with lines lw 2 lc k+1 title sprintf('∂f_σ/∂u, σ = %%g', S[k+1]), \\", NSIG - 1);
    plot_cmd(&p, "     for [k=0:%d] dat index k every 12 using 1:5 with points pt 6 ps 0.9 lc k+1 notitle, \\", NSIG - 1);
    plot_cmd(&p, "     dat index 0 using 1:($1 - ($1 > 0 ? 1 : -1)) with lines dt 2 lw 2 lc rgb 'black' title 'z - proj(z)'");
    plot_cmd(&p, "unset multiplot");
    return plot_close(&p);
}

/* ---- d.7  Images: the same noise at 10, 20, 50 and all T steps ------------------ */

enum { NR = 4, NSHOWN = 8, NCURVE = 50 };   /* the quality curve is drawn from N = NCURVE images up */

/* The image quality-versus-evaluations table: score[r][m] = FID of sampler m at Ks[r] steps (all from the same
 * x_T), or -1 where not run (the full T only for DDIM eta = 0, whose samples fill grid). */
static void image_nfe_sweep(Ctx *ctx, const Denoiser *net, const Schedule *s, const int *Ks, const float *x_T, int n,
                            FidScorer *sc, float *grid, double score[NR][NSAMPLER], FidScore *floor_of) {
    float *x = cli_alloc(ctx, sizeof(float) * (size_t)n * IMG);
    int *ts = cli_alloc(ctx, sizeof(int) * (s->T + 1));
    cli_say("  steps  %s", "DDPM(beta)  DDIM eta=1  DDIM eta=0  gamma=2   DPM++(2M)  (FID at N; '-' not run)");
    for (int r = 0; r < NR; r++) {
        ddim_timesteps(s->T, Ks[r], 0, ts);
        for (int m = 0; m < NSAMPLER; m++) {
            score[r][m] = -1;
            if (r == NR - 1 && m != SAMPLER_ETA0) continue;   /* all T steps: eta = 0 only (the cost of 4 x T) */
            memcpy(x, x_T, sizeof(float) * (size_t)n * IMG);
            double t0 = cli_seconds();
            run_sampler(m, net, s, ts, Ks[r], x, n, &ctx->rng, ctx->arena);
            if (m == SAMPLER_ETA0) {
                memcpy(grid + (size_t)r * n * IMG, x, sizeof(float) * (size_t)n * IMG);
                cli_say("  (DDIM eta = 0, K = %d: %.1f s for %d images)", Ks[r], cli_seconds() - t0, n);
            }
            if (sc && !fid_score(sc, x, n, -1.0f, 1.0f, floor_of)) score[r][m] = floor_of->fid;
        }
        char cells[NSAMPLER][16];
        for (int m = 0; m < NSAMPLER; m++)
            snprintf(cells[m], sizeof cells[m], score[r][m] < 0 ? "-" : "%.2f", score[r][m]);
        cli_say("  %5d  %10s  %10s  %10s  %8s  %9s", Ks[r], cells[0], cells[1], cells[2], cells[3], cells[4]);
    }
}

static int plot_image_nfe(Ctx *ctx, const int *Ks, double score[NR][NSAMPLER], const FidScore *f) {
    Plot p;
    if (plot_open(&p, ctx->out, "ddim_fmnist_nfe")) return 1;
    for (int m = 0; m < NSAMPLER; m++) {
        char c[160];
        snprintf(c, sizeof c, "network evaluations, FID / real-data floor (N = %d, floor %.3f) of %s", f->n, f->floor_real, SAMPLER_NAMES[m]);
        plot_block(&p, c);
        for (int r = 0; r < NR; r++)
            if (score[r][m] >= 0) fprintf(plot_dat(&p), "%d %.4f\n", Ks[r], score[r][m] / f->floor_real);
    }
    plot_size(&p, 800, 500);
    plot_cmd(&p, "set title 'Image quality against cost: Fashion-MNIST with the U-Net (FID of %d samples / the floor of %d real images)'", f->n, f->n);
    plot_cmd(&p, "set logscale xy; set xlabel 'network evaluations (steps)'; set ylabel 'FID / real-data floor'; set key top right font ',9'");
    plot_cmd(&p, "set xrange [8:%d]; set yrange [0.8:40]", (int)(1.3 * Ks[NR - 1]));
    plot_cmd(&p, "array NAMES[5] = ['%s', '%s', '%s', '%s', '%s']", SAMPLER_NAMES[0], SAMPLER_NAMES[1], SAMPLER_NAMES[2], SAMPLER_NAMES[3],
             SAMPLER_NAMES[4]);
    plot_cmd(&p, "plot for [m=0:4] dat index m using 1:2 with linespoints lw 2 pt 7 lc (m < 4 ? m + 1 : 7) title NAMES[m+1], \\");
    plot_cmd(&p, "     1 with lines dt 3 lw 2 lc rgb 'black' title 'real-data floor', %g with lines dt 2 lc rgb 'grey' title 'uniform noise'", f->floor_noise / f->floor_real);
    return plot_close(&p);
}

static int cell_d_7_images(Ctx *ctx) {
    int n = n_samples(ctx, NSHOWN), shown = n < NSHOWN ? n : NSHOWN;   /* --samples: images per sampler and K */
    UnetModel u;
    if (unet_model_load(&u, CH2_UNET_CKPT)) { cli_say("skipped: no U-Net checkpoint"); return 0; }
    Schedule s;
    sched_init(&s, u.sched, u.T);
    int Ks[NR] = { 10, 20, 50, u.T };
    Denoiser net = den_unet(&u, &s, 1);   /* x0_hat kept inside the pixels' range [-1, 1] */
    cli_say("Chapter 2's U-Net was trained with T = %d steps, so 'all the steps' is %d here.", u.T, u.T);
    cli_say("The four samplers of d.4 from the same %d x_T at K = 10, 20, 50 (and DDIM eta = 0 at all %d), x0_hat", n, u.T);
    cli_say("kept in [-1, 1] as in chapter 2; each set scored by the FID of §2.8 (fid.h) against the 10k test images.");
    float *x_T = cli_alloc(ctx, sizeof(float) * (size_t)n * IMG), *grid = cli_alloc(ctx, sizeof(float) * NR * (size_t)n * IMG);
    rng_normal_fill(&ctx->rng, x_T, (long)n * IMG);
    FidScorer sc;
    int scored = n >= 2 && fid_scorer_load(&sc, NULL) == 0;
    if (!scored) cli_say("(no quality scores: %s)", n < 2 ? "--samples must be >= 2 for a covariance" : "see the message above");
    double score[NR][NSAMPLER];
    FidScore f = { 0 };
    image_nfe_sweep(ctx, &net, &s, Ks, x_T, n, scored ? &sc : NULL, grid, score, &f);
    if (scored) {
        cli_say("floors at N = %d: %.3f for %d real training images, %.1f for %d uniform-noise images", n, f.floor_real, n, f.floor_noise, n);
        FidScore r50;
        if (!fid_score(&sc, grid + (size_t)2 * n * IMG, n, -1.0f, 1.0f, &r50)) fid_score_print(&r50, "DDIM eta = 0, 50 steps");
    }
    double diff[NR - 1];
    for (int r = 0; r < NR - 1; r++) {
        double se = 0;
        for (size_t j = 0; j < (size_t)n * IMG; j++) { double e = grid[(size_t)r * n * IMG + j] - grid[(size_t)(NR - 1) * n * IMG + j]; se += e * e; }
        diff[r] = sqrt(se / ((double)n * IMG));
        cli_say("  RMS pixel difference to the %d-step images: K = %d: %.4f", u.T, Ks[r], diff[r]);
    }
    cli_check_le(ctx, "K = 50 closer to the full run than K = 10", diff[2], diff[0]);
    float *shown_grid = cli_alloc(ctx, sizeof(float) * NR * (size_t)shown * IMG);   /* the figure: the first 8 of each row */
    for (int r = 0; r < NR; r++) memcpy(shown_grid + (size_t)r * shown * IMG, grid + (size_t)r * n * IMG, sizeof(float) * (size_t)shown * IMG);
    char path[600];
    snprintf(path, sizeof path, "%s/ddim_fmnist_steps.png", ctx->out);
    int rc = image_grid_png(path, shown_grid, NR * shown, 1, 28, 28, shown, -1.0f, 1.0f, 3, 2);
    rc |= image_samples_write(ctx->out, "ddim_fmnist_samples", grid + (size_t)2 * n * IMG, n, image_grid_cols(n), n <= 100 ? 3 : 1, -1.0f, 1.0f);
    if (!rc) cli_say("figure %s (rows: K = 10, 20, 50, %d; columns: the same x_T); the %d images of K = 50 in ddim_fmnist_samples.{png,idx-ubyte}", path, u.T, n);
    if (scored && !rc && n >= NCURVE) rc = plot_image_nfe(ctx, Ks, score, &f);
    else if (scored) cli_say("(no ddim_fmnist_nfe figure at N = %d < %d: every score sits near its floor; --samples 100 draws it)", n, NCURVE);
    if (scored) fid_scorer_free(&sc);
    sched_free(&s);
    unet_model_free(&u);
    return rc;
}

/* ---- the program, cell by cell ----------------------------------------------- */

static const Cell CELLS[] = {
    { "d.1", "testbed",   "the exact testbed: ideal denoisers, and memorisation",           cell_d_1_testbed },
    { "d.2", "family",    "one sampler family: DDIM, DDPM and the noise-level form",        cell_d_2_family },
    { "d.3", "eta",       "eta and step skipping (uniform, quadratic) on the exact denoiser", cell_d_3_eta },
    { "d.4", "nfe",       "quality against network evaluations, four samplers",             cell_d_4_nfe },
    { "d.5", "inversion", "inversion x0 -> x_T -> x0, 2D and Fashion-MNIST; slerp",         cell_d_5_inversion },
    { "d.6", "optim",     "the optimisation view: projection and descent",                  cell_d_6_optim },
    { "d.7", "images",    "Fashion-MNIST from the same noise at 10, 20, 50 and all T steps",  cell_d_7_images },
    /* appended, not inserted after d.6: each cell's random stream is seeded by its index in this table */
    { "d.6m", "softmin",  "the denoiser is a gradient step on a soft-min distance (Moreau envelope)", cell_d_6m_softmin },
};

/* The cell table, for tests/test_tutorial.c: every `./ddim --cell X` that tutorial.md names must be in it. */
const Cell *ddim_cells(int *n) {
    *n = (int)COUNT_OF(CELLS);
    return CELLS;
}

#ifndef CHAPTER_NO_MAIN
int main(int argc, char **argv) {
    cli_omp_wait(argv);   /* idle OpenMP threads spin briefly, then sleep: fair on a shared machine */
    static const CliSpec spec = { "ddim", "DDIM: deterministic and eta sampling, step skipping, inversion, the optimisation view",
                                  CLI_STEPS | CLI_SAMPLES, NULL, NULL };
    Opts opts;
    int rc = cli_parse(&opts, argc, argv, &spec);
    if (rc) return rc == CLI_DONE ? 0 : rc;
    rc = cli_run(CELLS, COUNT_OF(CELLS), &opts);
    shared_free();
    return rc;
}
#endif
