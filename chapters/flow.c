/* flow.c: denoising as integration. Flow matching, rectified flow and exact likelihoods, a program beside
 * DDIM: the straight path x_t = (1 - t) x0 + t eps between data and noise, its velocity (the exact one of a
 * Gaussian mixture, and a network trained by conditional flow matching), sampling by ODE integration, reflow,
 * InDI as an Euler step of the same ODE, and log p(x) through the ODE (Lipman et al. 2023, "Flow Matching for
 * Generative Modeling"; Liu et al. 2023, "Flow Straight and Fast"; Albergo and Vanden-Eijnden 2023; Delbracio
 * and Milanfar 2023, InDI; Chen et al. 2018 and Song et al. 2021 for the likelihood).
 *
 *   make flow && ./flow --list        the cells
 *   ./flow                            everything (trains three small networks)
 *   ./flow --cell ode --samples 4000  one cell, more samples
 *   ./flow --train --overwrite        retrain the Fashion-MNIST velocity U-Net of f.7 (20 minutes; the shipped one: --recipe batch=64)
 *
 * Cells: f.1 the interpolant and its velocity · f.2 conditional flow matching · f.3 sampling by ODE integration
 * against DDIM · f.4 rectified flow (reflow) · f.5 InDI and DDIM are Euler steps of the flow · f.6 exact likelihood
 * · f.7 images: chapter 2's U-Net trained by flow matching (./flow --train), few-step samples, bits per dimension.
 * Figures (figures/): flow_velocity_field, flow_fm_samples, flow_nfe, flow_reflow, flow_likelihood_order, flow_fmnist_steps.
 * Uses: denoiser (every velocity: exact mixture, velocity network, DDPM eps network), toymodel (the 2D MLP, here
 * also as a velocity network), data (data_sliced_w1_fixed: the fixed projections every program uses), schedule,
 * optim, plot, cli; chapter 2's InDI step and ELBO weights.
 *
 * Shapes: n points, D = 2 coordinates, K steps, T diffusion steps. Notation: x_t = (1 - t) x0 + t eps, t in [0, 1],
 * t = 0 data, t = 1 noise; v(x, t) = E[eps - x0 | x_t = x] = eps_hat - x0_hat; a VP level abar corresponds to
 * flow time t = sqrt(1 - abar) / (sqrt(abar) + sqrt(1 - abar)).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "autograd.h"
#include "ch2_ddpm.h"
#include "cli.h"
#include "data.h"
#include "denoiser.h"
#include "fid.h"
#include "fmnist.h"
#include "flow.h"
#include "plot.h"
#include "schedule.h"
#include "toymodel.h"
#include "train.h"
#include "unet_train.h"

/* ---- f.1  The interpolant and its velocity --------------------------------- */

double flow_interpolant(double x0, double eps, double t) { return (1.0 - t) * x0 + t * eps; }   /* §flow */

/* §flow v(x, t) at one flow time for all n points. */
static void velocity(const Denoiser *den, double t, const double *x, int n, double *v, Arena *arena) {
    den_velocity(den, den_level_flow(t), x, n, v, arena);
}

/* §flow the same velocity through the score of the noised mixture (an independent closed form):
 * v = eps_hat - x0_hat with eps_hat = -t score, x0_hat = (x + t^2 score)/(1 - t), so v = -(x + t score)/(1 - t). */
static void velocity_from_score(const Gmm *g, double t, const double *x, double *v) {
    Gmm gt = data_gmm_noised(g, 1.0 - t, t * t);
    double s[2];
    data_gmm_score(&gt, x, s);
    for (int d = 0; d < 2; d++) v[d] = -(x[d] + t * s[d]) / (1.0 - t);
}

/* The residual of the continuity equation d p_t / dt + div(p_t v) = 0 at (x, t), by central differences of the
 * closed-form density p_t (step h in t and x), relative to |d p_t / dt| + |div(p v)|. */
static double continuity_residual(const Gmm *g, const Denoiser *exact, const double *x, double t, double h, Arena *arena) {
    Gmm gp = data_gmm_noised(g, 1.0 - (t + h), (t + h) * (t + h)), gm = data_gmm_noised(g, 1.0 - (t - h), (t - h) * (t - h));
    double dpdt = (exp(data_gmm_logpdf(&gp, x)) - exp(data_gmm_logpdf(&gm, x))) / (2 * h);
    Gmm gt = data_gmm_noised(g, 1.0 - t, t * t);
    double div = 0;
    for (int d = 0; d < 2; d++) {
        double xp[2] = { x[0], x[1] }, xm[2] = { x[0], x[1] }, vp[2], vm[2];
        xp[d] += h;
        xm[d] -= h;
        velocity(exact, t, xp, 1, vp, arena);
        velocity(exact, t, xm, 1, vm, arena);
        div += (exp(data_gmm_logpdf(&gt, xp)) * vp[d] - exp(data_gmm_logpdf(&gt, xm)) * vm[d]) / (2 * h);
    }
    return fabs(dpdt + div) / (fabs(dpdt) + fabs(div) + 1e-300);
}

static int plot_velocity_field(Ctx *ctx, const Gmm *g, const Denoiser *exact) {
    enum { G = 17, NPTS = 1500, NT = 3 };
    static const double ts[NT] = { 0.9, 0.5, 0.15 };
    Plot p;
    if (plot_open(&p, ctx->out, "flow_velocity_field")) return 1;
    float *x0 = cli_alloc(ctx, sizeof(float) * 2 * NPTS), *xt = cli_alloc(ctx, sizeof(float) * 2 * NPTS);
    data_gmm_sample(g, &ctx->rng, x0, NPTS);
    for (int k = 0; k < NT; k++) {
        for (int j = 0; j < 2 * NPTS; j++) xt[j] = (float)flow_interpolant(x0[j], rng_normal(&ctx->rng), ts[k]);
        plot_points(&p, "x y: draws of x_t", xt, NPTS);
        plot_block(&p, "x y -0.1 v: the generating direction (t decreasing), 0.1 of the velocity");
        for (int i = 0; i < G; i++)
            for (int j = 0; j < G; j++) {
                double x[2] = { -2.0 + 4.0 * i / (G - 1), -2.0 + 4.0 * j / (G - 1) }, v[2];
                velocity(exact, ts[k], x, 1, v, ctx->arena);
                fprintf(plot_dat(&p), "%.4f %.4f %.5f %.5f\n", x[0], x[1], -0.1 * v[0], -0.1 * v[1]);
            }
    }
    plot_size(&p, 1500, 520);
    plot_cmd(&p, "set multiplot layout 1,3 title 'The exact velocity of the mixture, v = E[eps - x0 | x_t], drawn as -0.1 v (the way samples move as t decreases)'");
    plot_cmd(&p, "set size ratio -1; set xrange [-2.1:2.1]; set yrange [-2.1:2.1]; unset key");
    for (int k = 0; k < NT; k++) {
        plot_cmd(&p, "set title 't = %.2f: x_t = %.2f x0 + %.2f eps'", ts[k], 1 - ts[k], ts[k]);
        plot_cmd(&p, "plot dat index %d using 1:2 with points pt 7 ps 0.2 lc rgb '#bdbdbd', dat index %d using 1:2:3:4 with vectors head filled size 0.04,20 lc rgb '#2171b5'", 2 * k, 2 * k + 1);
    }
    plot_cmd(&p, "unset multiplot");
    return plot_close(&p);
}

static int cell_f_1_interpolant(Ctx *ctx) {
    enum { NX = 200 };
    Gmm g = data_gmm_named("gmm");
    Denoiser exact = den_gmm(&g);
    cli_say("The path: x_t = (1 - t) x0 + t eps, t = 0 data, t = 1 noise. Along one pair it is a straight line with");
    cli_say("velocity d x_t / dt = eps - x0. The marginal velocity is its conditional mean, v(x, t) = E[eps - x0 | x_t = x]");
    cli_say("= eps_hat - x0_hat: the denoiser's two views at the flow level a = 1 - t, b = t (den_velocity).");
    double worst_view = 0, worst_score = 0, worst_div = 0;
    for (int i = 0; i < NX; i++) {
        double t = 0.02 + 0.96 * rng_uniform(&ctx->rng), x[2] = { 2.5 * rng_normal(&ctx->rng), 2.5 * rng_normal(&ctx->rng) };
        DenLevel l = den_level_flow(t);
        double x0[2], eps[2], v[2], vs[2], div;
        den_predict(&exact, l, x, 1, x0, eps, ctx->arena);
        den_velocity_div(&exact, l, x, 1, v, &div, ctx->arena);
        velocity_from_score(&g, t, x, vs);
        for (int d = 0; d < 2; d++) {
            /* three expressions of one velocity: eps_hat - x0_hat, (x - x0_hat)/t, (eps_hat - x)/(1 - t) */
            worst_view = fmax(worst_view, fmax(fabs(v[d] - (x[d] - x0[d]) / t), fabs(v[d] - (eps[d] - x[d]) / (1 - t))));
            worst_score = fmax(worst_score, fabs(v[d] - vs[d]) / (1 + fabs(vs[d])));
        }
        /* the closed-form divergence against central differences of v (h = 1e-5: error ~ h^2 |v'''| + 1e-16/h) */
        double fd = 0, h = 1e-5;
        for (int d = 0; d < 2; d++) {
            double xp[2] = { x[0], x[1] }, xm[2] = { x[0], x[1] }, vp[2], vm[2];
            xp[d] += h; xm[d] -= h;
            velocity(&exact, t, xp, 1, vp, ctx->arena);
            velocity(&exact, t, xm, 1, vm, ctx->arena);
            fd += (vp[d] - vm[d]) / (2 * h);
        }
        worst_div = fmax(worst_div, fabs(div - fd) / (1 + fabs(fd)));
    }
    /* tol: a few roundings of O(1/t) quantities, t >= 0.02: 1e-12 */
    cli_check(ctx, "max |eps_hat - x0_hat - (x - x0_hat)/t|, |... - (eps_hat - x)/(1-t)|", worst_view, 0, 1e-12);
    /* tol: the score route divides by 1 - t >= 0.02 and by the noised covariances: 1e-10 relative */
    cli_check(ctx, "max rel |v - (-(x + t score)/(1 - t))| (score of the noised mixture)", worst_score, 0, 1e-10);
    /* tol: central difference with h = 1e-5 on |v| <= ~100: truncation ~1e-8, rounding 1e-16 * 100 / 1e-5 = 1e-9 */
    cli_check(ctx, "max rel |div v closed form - central differences|", worst_div, 0, 1e-6);

    cli_say("It is the velocity of the density flow: d p_t / dt + div(p_t v) = 0 (continuity equation), with p_t the");
    cli_say("closed-form law of x_t (the mixture with means (1-t) mu_k and covariances (1-t)^2 C_k + t^2 I).");
    double worst_ce = 0;
    for (int i = 0; i < 40; i++) {
        double t = 0.1 + 0.8 * rng_uniform(&ctx->rng), x[2];
        float x0f[2];
        data_gmm_sample(&g, &ctx->rng, x0f, 1);
        for (int d = 0; d < 2; d++) x[d] = flow_interpolant(x0f[d], rng_normal(&ctx->rng), t);
        worst_ce = fmax(worst_ce, continuity_residual(&g, &exact, x, t, 1e-4, ctx->arena));
    }
    /* tol: central differences with h = 1e-4 have relative truncation error ~h^2 / (scale 0.1)^2 = 1e-6 */
    cli_check_le(ctx, "max relative residual of the continuity equation (40 points, h = 1e-4)", worst_ce, 1e-5);

    cli_say("Rectified-flow time and the VP schedule: every level x = a x0 + b eps is a flow level after dividing by");
    cli_say("a + b, at t = b/(a + b); conversely flow time t is the VP level abar = (1-t)^2/((1-t)^2 + t^2) after");
    cli_say("x_vp = x_flow / sqrt((1-t)^2 + t^2). Same marginals, same denoiser, checked on a T = 1000 linear schedule:");
    Schedule s;
    sched_init(&s, SCHED_LINEAR, 1000);
    double worst_map = 0, worst_law = 0, worst_pred = 0;
    for (int step = 1; step <= s.T; step += 37) {
        DenLevel vp = den_level_vp(&s, step);
        double t = den_flow_time(vp), c = sqrt((1 - t) * (1 - t) + t * t);
        worst_map = fmax(worst_map, fabs(den_flow_abar(t) - s.alpha_bar[step]));
        Gmm lv = data_gmm_noised(&g, sqrt(s.alpha_bar[step]), 1 - s.alpha_bar[step]);
        Gmm lf = data_gmm_noised(&g, (1 - t) / c, t * t / (c * c));   /* law of x_flow / c */
        for (int k = 0; k < g.K; k++)
            for (int i = 0; i < 2; i++) {
                worst_law = fmax(worst_law, fabs(lv.mu[k][i] - lf.mu[k][i]));
                for (int j = 0; j < 2; j++) worst_law = fmax(worst_law, fabs(lv.cov[k][i][j] - lf.cov[k][i][j]));
            }
        double x[2] = { rng_normal(&ctx->rng), rng_normal(&ctx->rng) }, xf[2] = { x[0] / (vp.a + vp.b), x[1] / (vp.a + vp.b) };
        double x0a[2], ea[2], x0b[2], eb[2];
        den_predict(&exact, vp, x, 1, x0a, ea, ctx->arena);
        den_predict(&exact, den_level_flow(t), xf, 1, x0b, eb, ctx->arena);
        for (int d = 0; d < 2; d++) worst_pred = fmax(worst_pred, fmax(fabs(x0a[d] - x0b[d]), fabs(ea[d] - eb[d])));
    }
    cli_check(ctx, "max |den_flow_abar(den_flow_time(VP step)) - abar|", worst_map, 0, 1e-14);
    cli_check(ctx, "max |VP law - law of x_flow / sqrt((1-t)^2 + t^2)| (means, covariances)", worst_law, 0, 1e-14);
    /* tol: at step 1000, a = 0.006 divides: 1e-10 */
    cli_check(ctx, "max |x0_hat, eps_hat at the VP level - at the flow level (x / (a + b))|", worst_pred, 0, 1e-10);
    sched_free(&s);
    return plot_velocity_field(ctx, &g, &exact);
}

/* ---- f.2  Conditional flow matching ------------------------------------------ */

void flow_fm_losses(const Denoiser *den, const Denoiser *exact, const double *x0, const double *eps, const double *t,
                    int n, double *cfm, double *fm, Arena *arena) {
    size_t mark = arena_pos(arena);
    double *xt = arena_push_no_zero(arena, sizeof(double) * 2 * n), *vm = arena_push_no_zero(arena, sizeof(double) * 2 * n);
    double *ve = arena_push_no_zero(arena, sizeof(double) * 2 * n);
    for (int i = 0; i < 2 * n; i++) xt[i] = flow_interpolant(x0[i], eps[i], t[i / 2]);
    for (int i = 0, j; i < n; i = j) {   /* one batch per run of points that share their t */
        for (j = i + 1; j < n && t[j] == t[i]; j++) {}
        velocity(den, t[i], xt + 2 * i, j - i, vm + 2 * i, arena);
        velocity(exact, t[i], xt + 2 * i, j - i, ve + 2 * i, arena);
    }
    for (int i = 0; i < n; i++) {
        cfm[i] = fm[i] = 0;
        for (int d = 0; d < 2; d++) {
            double u = eps[2 * i + d] - x0[2 * i + d];                                     /* §flow conditional target */
            cfm[i] += (vm[2 * i + d] - u) * (vm[2 * i + d] - u);
            fm[i] += (vm[2 * i + d] - ve[2 * i + d]) * (vm[2 * i + d] - ve[2 * i + d]);   /* §flow marginal target v* */
        }
    }
    arena_pop_to(arena, mark);
}

/* §flow one batch of conditional flow matching: x0 from the data, eps paired (reflow) or fresh, t = u^2, u ~ U(0, 1),
 * loss = mean ||v_theta((1 - t) x0 + t eps, t) - (eps - x0)||^2. Gradients land in m->params.grad. */
static float fm_batch(ToyModel *m, const float *x0s, const float *epss, int n, int batch, Rng *rng, Arena *arena) {
    float *xt = arena_push(arena, sizeof(float) * 2 * batch), *tt = arena_push(arena, sizeof(float) * batch);
    float *target = arena_push(arena, sizeof(float) * 2 * batch);
    for (int i = 0; i < batch; i++) {
        int k = rng_int(rng, n);
        double u = rng_uniform(rng), t = u * u;   /* density ~ 1/sqrt(t): thin structures are decided at small t */
        tt[i] = (float)(TOY_FLOW_TIME * t);
        for (int d = 0; d < 2; d++) {
            double x0 = x0s[2 * k + d], eps = epss ? epss[2 * k + d] : rng_normal(rng);
            xt[2 * i + d] = (float)flow_interpolant(x0, eps, t);
            target[2 * i + d] = (float)(eps - x0);
        }
    }
    return toy_mse_grad(m, xt, tt, target, batch, arena);
}

typedef struct { ToyModel *m; const float *x0, *eps; int n, batch; } FmBatch;

static float fm_train_batch(void *model, long step, Rng *rng, Arena *arena, float *terms) {
    (void)step; (void)terms;
    FmBatch *b = model;
    return fm_batch(b->m, b->x0, b->eps, b->n, b->batch, rng, arena);
}

/* Adam with the toy model's schedule (warm-up 100, cut to steps - 1; cosine 2e-3 -> 1e-5): train.h's loop, with
 * its NaN guard (loss and weights) and Ctrl-C. */
int flow_train(ToyModel *m, const float *x0, const float *eps, int n, int steps, int batch, Rng *rng,
               Arena *arena, int quiet, float *loss_curve) {
    FmBatch b = { m, x0, eps, n, batch };
    Trainer tr;
    train_init(&tr, &m->params, &(TrainConfig){ .label = "train v_theta", .steps = steps, .lr_max = 2e-3f, .lr_min = 1e-5f,
                                                .warmup = 100, .lr_ahead = 1, .curve = loss_curve, .quiet = quiet });
    int rc = train_run(&tr, fm_train_batch, &b, rng, arena);
    train_free(&tr);
    return rc;
}

/* The networks the cells share, trained once per run from their own rng streams (so `--cell ode` alone and the
 * full run use the same weights): a velocity network on the mixture, and DDPM's eps network (T = 1000, linear)
 * on the same data with the same architecture, steps and batch. */
enum { NDATA = 20000, BATCH = 256 };
static ToyModel shared_flow, shared_ddpm;
static float *shared_flow_curve;   /* the velocity network's training loss per step */
static int shared_flow_ready, shared_ddpm_ready;
static Schedule shared_sched;

static int train_steps(const Ctx *ctx) { return ctx->opts->steps > 0 ? (int)ctx->opts->steps : 2000; }
static int n_samples(const Ctx *ctx, int dflt) { return ctx->opts->samples > 0 ? (int)ctx->opts->samples : dflt; }

static ToyModel *trained_flow(Ctx *ctx) {
    if (shared_flow_ready) return &shared_flow;
    Rng rng = rng_stream(ctx->opts->seed, 100);
    Gmm g = data_gmm_named("gmm");
    float *data = cli_alloc(ctx, sizeof(float) * 2 * NDATA);
    data_gmm_sample(&g, &rng, data, NDATA);
    toy_init(&shared_flow, 2, &rng);
    double t0 = cli_seconds();
    shared_flow_curve = malloc(sizeof(float) * train_steps(ctx));
    int rc = flow_train(&shared_flow, data, NULL, NDATA, train_steps(ctx), BATCH, &rng, ctx->arena, ctx->opts->quiet, shared_flow_curve);
    if (rc) { toy_free(&shared_flow); free(shared_flow_curve); return NULL; }
    cli_say("trained the velocity network on the mixture: %d steps of conditional flow matching in %.1f s", train_steps(ctx), cli_seconds() - t0);
    shared_flow_ready = 1;
    return &shared_flow;
}

static ToyModel *trained_ddpm(Ctx *ctx) {
    if (shared_ddpm_ready) return &shared_ddpm;
    Rng rng = rng_stream(ctx->opts->seed, 101);
    Gmm g = data_gmm_named("gmm");
    float *data = cli_alloc(ctx, sizeof(float) * 2 * NDATA);
    data_gmm_sample(&g, &rng, data, NDATA);
    sched_init(&shared_sched, SCHED_LINEAR, 1000);
    toy_init(&shared_ddpm, 2, &rng);
    double t0 = cli_seconds();
    int rc = toy_train(&shared_ddpm, &shared_sched, data, NDATA, train_steps(ctx), BATCH, &rng, ctx->arena, ctx->opts->quiet, NULL);
    if (rc) { toy_free(&shared_ddpm); sched_free(&shared_sched); return NULL; }
    cli_say("trained DDPM's eps network on the same mixture (T = 1000, linear): %d steps in %.1f s", train_steps(ctx), cli_seconds() - t0);
    shared_ddpm_ready = 1;
    return &shared_ddpm;
}

static void shared_free(void) {
    if (shared_flow_ready) { toy_free(&shared_flow); free(shared_flow_curve); }
    if (shared_ddpm_ready) { toy_free(&shared_ddpm); sched_free(&shared_sched); }
    shared_flow_ready = shared_ddpm_ready = 0;
}

static void to_float(const double *x, float *y, size_t n) { for (size_t j = 0; j < n; j++) y[j] = (float)x[j]; }

/* n samples of a flow: x(1) ~ N(0, I), K steps of method m down to t = 0; out (n, 2) floats. */
static void flow_samples(const Denoiser *den, FlowMethod m, int K, Rng *rng, float *out, int n, Arena *arena) {
    double *x = malloc(sizeof(double) * 2 * n);
    for (int j = 0; j < 2 * n; j++) x[j] = rng_normal(rng);
    flow_ode(den, m, K, 1.0, 0.0, x, n, NULL, arena);
    to_float(x, out, 2 * (size_t)n);
    free(x);
}

/* The loss identity on one model: mean over a t grid of (CFM - FM) against the model-free constant C = E||u - v*||^2,
 * paired per triple; *sd_diff receives the standard error of mean((CFM - FM) - C). Prints both losses. */
static double loss_gap(const Denoiser *den, const Denoiser *exact, const double *x0, const double *eps, const double *t,
                       int n, const double *c_i, double *cfm_mean, double *fm_mean, double *sd_diff, Arena *arena) {
    double *cfm = malloc(sizeof(double) * n), *fm = malloc(sizeof(double) * n);
    flow_fm_losses(den, exact, x0, eps, t, n, cfm, fm, arena);
    double s = 0, s2 = 0, sc = 0, sf = 0;
    for (int i = 0; i < n; i++) {
        double e = (cfm[i] - fm[i]) - c_i[i];
        s += e; s2 += e * e; sc += cfm[i]; sf += fm[i];
    }
    *cfm_mean = sc / n;
    *fm_mean = sf / n;
    *sd_diff = sqrt(fmax(0.0, s2 / n - (s / n) * (s / n)) / n);
    free(cfm); free(fm);
    return s / n;
}

static int plot_fm(Ctx *ctx, const float *roll, const float *roll_s, const float *mix, const float *mix_s, int n,
                   const float *curve_roll, const float *curve_mix, int steps) {
    Plot p;
    if (plot_open(&p, ctx->out, "flow_fm_samples")) return 1;
    plot_points(&p, "x y: swiss roll data", roll, n);
    plot_points(&p, "x y: flow samples (RK4, 16 steps = 64 evaluations)", roll_s, n);
    plot_points(&p, "x y: mixture data", mix, n);
    plot_points(&p, "x y: flow samples (RK4, 16 steps)", mix_s, n);
    plot_block(&p, "step, CFM loss (mean of 50 steps): swiss roll, mixture");
    for (int k = 0; k + 50 <= steps; k += 50) {
        double a = 0, b = 0;
        for (int j = k; j < k + 50; j++) { a += curve_roll[j] / 50; b += curve_mix[j] / 50; }
        fprintf(plot_dat(&p), "%d %.5f %.5f\n", k + 50, a, b);
    }
    plot_size(&p, 1500, 500);
    plot_cmd(&p, "set multiplot layout 1,3 title 'Conditional flow matching: samples by integrating the learned velocity from t = 1 to 0'");
    plot_cmd(&p, "set size ratio -1; set key bottom right font ',9'");
    plot_cmd(&p, "set title 'swiss roll'; set xrange [-1.2:1.2]; set yrange [-1.2:1.2]");
    plot_cmd(&p, "plot dat index 0 using 1:2 with points pt 7 ps 0.2 lc rgb '#bdbdbd' title 'data', dat index 1 using 1:2 with points pt 7 ps 0.25 lc rgb '#d7301f' title 'flow samples'");
    plot_cmd(&p, "set title 'mixture'; set xrange [-1.8:1.8]; set yrange [-1.8:1.8]");
    plot_cmd(&p, "plot dat index 2 using 1:2 with points pt 7 ps 0.2 lc rgb '#bdbdbd' title 'data', dat index 3 using 1:2 with points pt 7 ps 0.25 lc rgb '#2171b5' title 'flow samples'");
    plot_cmd(&p, "set size noratio; set title 'training loss per coordinate (conditional FM; its floor is C/2 > 0)'; set autoscale; set xlabel 'step'; set key top right");
    plot_cmd(&p, "plot dat index 4 using 1:2 with lines lw 2 lc rgb '#d7301f' title 'swiss roll', dat index 4 using 1:3 with lines lw 2 lc rgb '#2171b5' title 'mixture'");
    plot_cmd(&p, "unset multiplot");
    return plot_close(&p);
}

static int cell_f_2_fm(Ctx *ctx) {
    enum { NT = 40, PER_T = 500, NM = 4, NS = 2000 };
    const int n = NT * PER_T;
    Gmm g = data_gmm_named("gmm");
    Denoiser exact = den_gmm(&g);
    cli_say("Flow matching regresses a network on the velocity: L_FM = E ||v_theta(x_t, t) - v(x_t, t)||^2 needs the");
    cli_say("unknown v; the conditional loss L_CFM = E ||v_theta(x_t, t) - (eps - x0)||^2 needs only pairs (x0, eps).");
    cli_say("They differ by C = E ||(eps - x0) - v(x_t, t)||^2 = E tr Cov[eps - x0 | x_t], whatever the model: the");
    cli_say("twin of chapter 3's DSM = ESM + C. Measured with the mixture's exact v on %d triples (x0, eps, t),", n);
    cli_say("t on a grid of %d levels, the same triples for every model:", NT);
    ToyModel *net = trained_flow(ctx);
    if (!net) return 1;
    ToyModel fresh;
    toy_init(&fresh, 2, &ctx->rng);
    double *x0 = cli_alloc(ctx, sizeof(double) * 2 * n), *eps = cli_alloc(ctx, sizeof(double) * 2 * n), *t = cli_alloc(ctx, sizeof(double) * n);
    double *c_i = cli_alloc(ctx, sizeof(double) * n);
    float *x0f = cli_alloc(ctx, sizeof(float) * 2 * n);
    data_gmm_sample(&g, &ctx->rng, x0f, n);
    for (int i = 0; i < n; i++) {
        t[i] = (i / PER_T + 0.5) / NT;
        for (int d = 0; d < 2; d++) { x0[2 * i + d] = x0f[2 * i + d]; eps[2 * i + d] = rng_normal(&ctx->rng); }
    }
    double C = 0, *junk = cli_alloc(ctx, sizeof(double) * n);
    flow_fm_losses(&exact, &exact, x0, eps, t, n, c_i, junk, ctx->arena);   /* the exact model: CFM = ||u - v*||^2 */
    for (int i = 0; i < n; i++) C += c_i[i] / n;
    cli_say("C = E ||(eps - x0) - v||^2 = %.4f", C);
    /* a model that needs no network: the exact velocity of a wrong law (one wide Gaussian), linear in x */
    double w1[1] = { 1.0 }, mu1[2] = { 0.3, -0.2 }, sd1[1] = { 1.5 };
    Gmm wide = data_gmm_2d(1, w1, mu1, sd1);
    Denoiser models[NM] = { exact, den_gmm(&wide), den_toy_flow(&fresh), den_toy_flow(net) };
    const char *names[NM] = { "the exact velocity (L_FM = 0)", "a wrong law's velocity (one wide Gaussian)",
                              "an untrained network", "the trained network" };
    cli_say("  model                                        L_CFM      L_FM    L_CFM - L_FM - C   (s.e.)");
    for (int k = 0; k < NM; k++) {
        double cm, fm, se, gap = loss_gap(&models[k], &exact, x0, eps, t, n, c_i, &cm, &fm, &se, ctx->arena);
        cli_say("  %-43s %8.4f  %8.4f  %+10.5f        (%.5f)", names[k], cm, fm, gap, se);
        char what[120];
        snprintf(what, sizeof what, "L_CFM - L_FM - C, %s (tol 5 s.e. + 1e-12)", names[k]);
        cli_check(ctx, what, gap, 0.0, 5 * se + 1e-12);
    }
    cli_say("The ranking of models by L_CFM is their ranking by L_FM: minimising one minimises the other.");

    /* the swiss roll: no exact velocity, but the same loss trains it */
    int steps = train_steps(ctx);
    Rng rng = rng_stream(ctx->opts->seed, 102);
    float *roll = cli_alloc(ctx, sizeof(float) * 2 * NDATA), *curve_roll = cli_alloc(ctx, sizeof(float) * steps), *curve_mix = shared_flow_curve;
    int rc = data_toy_sample("swissroll", &rng, roll, NDATA);
    ToyModel rnet;
    toy_init(&rnet, 2, &rng);
    double t0 = cli_seconds();
    rc = rc || flow_train(&rnet, roll, NULL, NDATA, steps, BATCH, &rng, ctx->arena, ctx->opts->quiet, curve_roll);
    cli_say("trained a velocity network on the swiss roll: %d steps in %.1f s", steps, cli_seconds() - t0);
    if (!rc) {
        int m = n_samples(ctx, NS);
        float *rs = cli_alloc(ctx, sizeof(float) * 2 * m), *ms = cli_alloc(ctx, sizeof(float) * 2 * m), *rt = cli_alloc(ctx, sizeof(float) * 2 * m);
        float *mt = cli_alloc(ctx, sizeof(float) * 2 * m), *rt2 = cli_alloc(ctx, sizeof(float) * 2 * m);
        Denoiser dr = den_toy_flow(&rnet), dm = den_toy_flow(net);
        flow_samples(&dr, FLOW_RK4, 16, &ctx->rng, rs, m, ctx->arena);
        flow_samples(&dm, FLOW_RK4, 16, &ctx->rng, ms, m, ctx->arena);
        rc |= data_toy_sample("swissroll", &ctx->rng, rt, m) | data_toy_sample("swissroll", &ctx->rng, rt2, m);
        data_gmm_sample(&g, &ctx->rng, mt, m);
        /* a Gaussian blob with the roll's mean and covariance: what a model that missed the arms would give */
        double mean[2] = { 0, 0 }, cov[3] = { 0, 0, 0 };
        for (int i = 0; i < m; i++) for (int d = 0; d < 2; d++) mean[d] += rt2[2 * i + d] / m;
        for (int i = 0; i < m; i++) {
            double u0 = rt2[2 * i] - mean[0], u1 = rt2[2 * i + 1] - mean[1];
            cov[0] += u0 * u0 / m; cov[1] += u0 * u1 / m; cov[2] += u1 * u1 / m;
        }
        double l00 = sqrt(cov[0]), l10 = cov[1] / l00, l11 = sqrt(cov[2] - l10 * l10);
        for (int i = 0; i < m; i++) {
            double z0 = rng_normal(&ctx->rng), z1 = rng_normal(&ctx->rng);
            rt2[2 * i] = (float)(mean[0] + l00 * z0);
            rt2[2 * i + 1] = (float)(mean[1] + l10 * z0 + l11 * z1);
        }
        double sw_r = data_sliced_w1_fixed(rs, rt, m), sw_b = data_sliced_w1_fixed(rt2, rt, m);
        double nn_r = data_mean_nn_distance(rs, m, rt, m, 2), nn_b = data_mean_nn_distance(rt2, m, rt, m, 2);
        cli_say("swiss roll, RK4 with 16 steps, %d samples: sliced W1 %.4f (a Gaussian blob with the roll's moments:", m, sw_r);
        cli_say("%.4f); mean distance to the nearest data point %.4f (the blob: %.4f).", sw_b, nn_r, nn_b);
        cli_check_le(ctx, "swiss roll: samples closer to the data than the blob, mean distance <= blob / 2", nn_r, nn_b / 2);
        int nl = steps < 100 ? steps : 100;
        double last = 0;   /* ag_mse averages over the D = 2 coordinates too: x 2 for ||.||^2 */
        for (int j = steps - nl; j < steps; j++) last += 2.0 * curve_mix[j] / nl;
        /* tol: the trained model's L_FM (printed above, ~0.05) plus the batch noise of 100 batches of 256 */
        cli_check(ctx, "trained network: 2 x the CFM training loss ends near C (mixture, last 100 steps)", last, C, 0.1 * C);
        rc = plot_fm(ctx, rt, rs, mt, ms, m, curve_roll, curve_mix, steps);
    }
    toy_free(&rnet); toy_free(&fresh);
    return rc;
}

/* ---- f.3  Sampling by ODE integration, beside DDIM --------------------------- */

int flow_evals_per_step(FlowMethod m) { return m == FLOW_EULER ? 1 : m == FLOW_HEUN ? 2 : 4; }

/* §flow one explicit step of d/dt (x, l) = (v(x, t), div v(x, t)) from t to t + h. The three methods have a
 * subdiagonal tableau: stage i evaluates at x + h a_i k_{i-1}, time t + c_i h, and the step adds h sum_i b_i k_i.
 *   Euler: c = (0), b = (1).  Heun: c = (0, 1), a = (., 1), b = (1/2, 1/2).
 *   RK4:   c = (0, 1/2, 1/2, 1), a = (., 1/2, 1/2, 1), b = (1/6, 1/3, 1/3, 1/6).
 * l (n) may be NULL (sampling: no divergence); otherwise l += h sum_i b_i div_i (exact divergences). */
static void ode_step(const Denoiser *den, FlowMethod m, double t, double h, double *x, double *l, int n, Arena *arena) {
    static const double C[3][4] = { { 0 }, { 0, 1 }, { 0, 0.5, 0.5, 1 } }, A[3][4] = { { 0 }, { 0, 1 }, { 0, 0.5, 0.5, 1 } };
    static const double B[3][4] = { { 1 }, { 0.5, 0.5 }, { 1.0 / 6, 1.0 / 3, 1.0 / 3, 1.0 / 6 } };
    size_t nd = (size_t)n * den->D, mark = arena_pos(arena);
    double *k = arena_push_no_zero(arena, sizeof(double) * nd), *xs = arena_push_no_zero(arena, sizeof(double) * nd);
    double *acc = arena_push(arena, sizeof(double) * nd), *div = arena_push_no_zero(arena, sizeof(double) * n);
    double *lacc = arena_push(arena, sizeof(double) * n);
    for (int i = 0; i < flow_evals_per_step(m); i++) {
        for (size_t j = 0; j < nd; j++) xs[j] = i == 0 ? x[j] : x[j] + h * A[m][i] * k[j];
        DenLevel lv = den_level_flow(t + C[m][i] * h);
        if (l) den_velocity_div(den, lv, xs, n, k, div, arena);
        else den_velocity(den, lv, xs, n, k, arena);
        for (size_t j = 0; j < nd; j++) acc[j] += B[m][i] * k[j];
        for (int j = 0; l && j < n; j++) lacc[j] += B[m][i] * div[j];
    }
    for (size_t j = 0; j < nd; j++) x[j] += h * acc[j];
    for (int j = 0; l && j < n; j++) l[j] += h * lacc[j];
    arena_pop_to(arena, mark);
}

void flow_ode(const Denoiser *den, FlowMethod m, int K, double t_from, double t_to, double *x, int n,
              double *traj, Arena *arena) {
    size_t nd = (size_t)n * den->D;
    double h = (t_to - t_from) / K;
    if (traj) memcpy(traj, x, sizeof(double) * nd);
    for (int k = 0; k < K; k++) {
        double t = t_from + k * h;
        ode_step(den, m, t, k == K - 1 ? t_to - t : h, x, NULL, n, arena);   /* the last step lands on t_to exactly */
        if (traj) memcpy(traj + (size_t)(k + 1) * nd, x, sizeof(double) * nd);
    }
}

/* A sampler at a budget of network evaluations: a flow integrator (K = nfe / evaluations per step) or DDIM (K = nfe). */
typedef struct {
    const char     *name;
    const Denoiser *den;
    int             ddim;          /* 1: DDIM on sched */
    FlowMethod      m;
    const Schedule *sched;
} Sampler;

static int sampler_steps(const Sampler *sp, int nfe) { return sp->ddim ? nfe : nfe / flow_evals_per_step(sp->m); }

static void sampler_run(const Sampler *sp, int nfe, Rng *rng, float *out, int n, Arena *arena) {
    if (!sp->ddim) { flow_samples(sp->den, sp->m, sampler_steps(sp, nfe), rng, out, n, arena); return; }
    double *x = malloc(sizeof(double) * 2 * n);
    for (int j = 0; j < 2 * n; j++) x[j] = rng_normal(rng);
    DenLevel *l = malloc(sizeof(DenLevel) * (nfe + 1));
    den_ladder_vp_uniform(sp->sched, nfe, l);
    den_sample_ode(sp->den, l, nfe, 1, x, n, arena);   /* DDIM eta = 0 */
    free(l);
    to_float(x, out, 2 * (size_t)n);
    free(x);
}

/* Sliced W1 to the mixture, averaged over R draws of n samples, each against a fresh set of n true draws;
 * *se receives the standard error of that mean. With sp == NULL: the floor, (true, true) pairs. */
static double quality(const Sampler *sp, int nfe, const Gmm *g, int n, int R, Rng *rng, double *se, Arena *arena) {
    float *a = malloc(sizeof(float) * 2 * n), *b = malloc(sizeof(float) * 2 * n);
    DataStat st = { 0 };
    for (int r = 0; r < R; r++) {
        if (sp) sampler_run(sp, nfe, rng, a, n, arena);
        else data_gmm_sample(g, rng, a, n);
        data_gmm_sample(g, rng, b, n);
        data_stat_add(&st, data_sliced_w1_fixed(a, b, n));
    }
    free(a); free(b);
    if (se) *se = R > 1 ? data_stat_se(&st) : 0.0;
    return data_stat_mean(&st);
}

enum { NSAMP = 4, NNFE = 5, NNFE_NET = 4 };   /* the networks stop at 32 evaluations (time) */
enum { NFLOOR = 50 };                          /* (true, true) pairs behind every floor */
static const int NFES[NNFE] = { 4, 8, 16, 32, 64 };

static int cell_f_3_ode(Ctx *ctx) {
    enum { R_EXACT = 10, R_NET = 3 };   /* draws per point: the exact fields are cheap, the networks are not */
    int n = n_samples(ctx, 1000);
    Gmm g = data_gmm_named("gmm");
    Denoiser exact = den_gmm(&g);
    ToyModel *fnet = trained_flow(ctx), *dnet = trained_ddpm(ctx);
    if (!fnet || !dnet) return 1;
    Denoiser fden = den_toy_flow(fnet), dden = den_toy(dnet, &shared_sched);
    const char *names[NSAMP] = { "flow Euler", "flow Heun", "flow RK4", "DDIM eta=0" };
    Sampler ex[NSAMP], tr[NSAMP];
    for (int k = 0; k < NSAMP; k++) {
        ex[k] = (Sampler){ names[k], &exact, k == 3, (FlowMethod)(k < 3 ? k : 0), &shared_sched };
        tr[k] = (Sampler){ names[k], k == 3 ? &dden : &fden, k == 3, (FlowMethod)(k < 3 ? k : 0), &shared_sched };
    }
    cli_say("Sampling integrates dx/dt = v from t = 1 (x ~ N(0, I)) to t = 0 in K uniform steps: Euler (1 evaluation");
    cli_say("per step), Heun (2), RK4 (4). Beside it DDIM (eta = 0, uniform steps of T = 1000, linear), with the exact");
    cli_say("denoiser and with DDPM's eps network trained on the same data with the same architecture, steps and batch.");
    cli_say("Sliced W1 to the mixture, mean of %d (exact) or %d (trained) draws of %d samples, each against fresh true draws:", R_EXACT, R_NET, n);
    double fse, floor_sw = quality(NULL, 0, &g, n, NFLOOR, &ctx->rng, &fse, ctx->arena);
    cli_say("floor (%d pairs of true sets): %.4f (s.e. %.4f)", NFLOOR, floor_sw, fse);
    double sw[2][NSAMP][NNFE], se[2][NSAMP][NNFE];
    cli_say("   NFE | exact: Euler    Heun     RK4      DDIM   | trained: Euler  Heun     RK4      DDIM");
    for (int q = 0; q < NNFE; q++) {
        char line[200];
        int len = snprintf(line, sizeof line, "  %4d |       ", NFES[q]);
        for (int e = 0; e < 2; e++) {
            for (int k = 0; k < NSAMP; k++) {
                if (e && q >= NNFE_NET) { sw[e][k][q] = se[e][k][q] = NAN; len += snprintf(line + len, sizeof line - len, "       -"); continue; }
                sw[e][k][q] = quality(e ? &tr[k] : &ex[k], NFES[q], &g, n, e ? R_NET : R_EXACT, &ctx->rng, &se[e][k][q], ctx->arena);
                len += snprintf(line + len, sizeof line - len, " %7.4f", sw[e][k][q]);
            }
            len += snprintf(line + len, sizeof line - len, "%s", e ? "" : "  |          ");
        }
        cli_say("%s", line);
    }
    /* with 64 evaluations the exact RK4 flow is converged: its law is the data law, one more floor draw */
    cli_check_le(ctx, "exact velocity, RK4, 64 evaluations: sliced W1 <= floor + 5 s.e. (both)", sw[0][2][NNFE - 1],
                 floor_sw + 5 * (fse + se[0][2][NNFE - 1]));
    cli_check_le(ctx, "exact velocity, 8 evaluations: RK4 closer than Euler", sw[0][2][1], sw[0][0][1]);
    cli_check_le(ctx, "trained flow, RK4, 32 evaluations: sliced W1 <= 2 x floor", sw[1][2][NNFE_NET - 1], 2 * floor_sw);
    Plot p;
    int rc = plot_open(&p, ctx->out, "flow_nfe");
    if (!rc) {
        for (int e = 0; e < 2; e++)
            for (int k = 0; k < NSAMP; k++) {
                char c[96];
                snprintf(c, sizeof c, "NFE, sliced W1, s.e.: %s, %s", names[k], e ? "trained" : "exact");
                plot_block(&p, c);
                for (int q = 0; q < (e ? NNFE_NET : NNFE); q++) fprintf(plot_dat(&p), "%d %.5f %.5f\n", NFES[q], sw[e][k][q], se[e][k][q]);
            }
        plot_size(&p, 1000, 600);
        plot_cmd(&p, "set title 'Flow ODE (Euler, Heun, RK4) and DDIM: distance to the data law against network evaluations'");
        plot_cmd(&p, "set logscale xy; set xlabel 'network evaluations'; set ylabel 'sliced W1 to the mixture (mean of %d / %d draws)'", R_EXACT, R_NET);
        plot_cmd(&p, "set key outside right; set xrange [3:80]");
        plot_cmd(&p, "plot for [k=0:3] dat index k using 1:2:3 with yerrorlines lw 2 pt 7 lc k+1 title word('Euler Heun RK4 DDIM', k+1).' (exact)', \\");
        plot_cmd(&p, "     for [k=0:3] dat index 4+k using 1:2:3 with yerrorlines lw 2 dt 2 pt 6 lc k+1 title word('Euler Heun RK4 DDIM', k+1).' (trained)', \\");
        plot_cmd(&p, "     %g with lines lc rgb 'black' dt 3 title 'floor (true vs true)'", floor_sw);
        rc = plot_close(&p);
    }
    cli_say("DDIM and flow Euler are the same kind of first-order step (f.5 shows they are the same update in");
    cli_say("rescaled coordinates); they differ in where the steps go (uniform in the VP index vs uniform in t) and in");
    cli_say("what the network learned (eps on a VP schedule vs the velocity).");
    return rc;
}

/* ---- f.4  Rectified flow (reflow) -------------------------------------------- */

double flow_straightness(const Denoiser *den, int K, const double *x1, int n, Arena *arena) {
    size_t nd = 2 * (size_t)n;
    double *x = malloc(sizeof(double) * nd), *v = malloc(sizeof(double) * nd * K), *mean = calloc(nd, sizeof(double));
    memcpy(x, x1, sizeof(double) * nd);
    for (int k = 0; k < K; k++) {   /* Euler from t = 1 down: x(1) - x(0) = (1/K) sum_k v_k */
        double *vk = v + (size_t)k * nd;
        velocity(den, 1.0 - (double)k / K, x, n, vk, arena);
        for (size_t j = 0; j < nd; j++) { x[j] -= vk[j] / K; mean[j] += vk[j] / K; }
    }
    double S = 0;   /* §flow S = mean_k ||(x(1) - x(0)) - v_k||^2 */
    for (int k = 0; k < K; k++)
        for (size_t j = 0; j < nd; j++) { double e = mean[j] - v[(size_t)k * nd + j]; S += e * e; }
    free(x); free(v); free(mean);
    return S / ((double)K * n);
}

/* Mean distance between the K-step Euler samples of a model from the noise x1 (n, 2) and its own ODE solution
 * ref (n, 2) from the same noise: how far few steps land from where the model's paths end. */
static double few_step_gap(const Denoiser *den, int K, const double *x1, const double *ref, int n, Arena *arena) {
    double *a = malloc(sizeof(double) * 2 * n), gap = 0;
    memcpy(a, x1, sizeof(double) * 2 * n);
    flow_ode(den, FLOW_EULER, K, 1.0, 0.0, a, n, NULL, arena);
    for (int i = 0; i < n; i++) gap += hypot(a[2 * i] - ref[2 * i], a[2 * i + 1] - ref[2 * i + 1]) / n;
    free(a);
    return gap;
}

static int plot_reflow(Ctx *ctx, const Denoiser *before, const Denoiser *after, const Gmm *g) {
    enum { NP = 40, KT = 32, NS = 1500 };
    double *x1 = cli_alloc(ctx, sizeof(double) * 2 * NS), *x = cli_alloc(ctx, sizeof(double) * 2 * NS), *traj = cli_alloc(ctx, sizeof(double) * 2 * NP * (KT + 1));
    float *truth = cli_alloc(ctx, sizeof(float) * 2 * NS), *one = cli_alloc(ctx, sizeof(float) * 2 * NS);
    for (int j = 0; j < 2 * NS; j++) x1[j] = rng_normal(&ctx->rng);
    data_gmm_sample(g, &ctx->rng, truth, NS);
    Plot p;
    if (plot_open(&p, ctx->out, "flow_reflow")) return 1;
    plot_points(&p, "x y: the data law (draws)", truth, NS);
    for (int m = 0; m < 2; m++) {
        memcpy(x, x1, sizeof(double) * 2 * NP);
        flow_ode(m ? after : before, FLOW_RK4, KT, 1.0, 0.0, x, NP, traj, ctx->arena);
        for (int i = 0; i < NP; i++) {
            plot_block(&p, "x y: one path, t = 1 -> 0 (RK4, 32 steps)");
            for (int k = 0; k <= KT; k++) fprintf(plot_dat(&p), "%.5f %.5f\n", traj[((size_t)k * NP + i) * 2], traj[((size_t)k * NP + i) * 2 + 1]);
        }
    }
    for (int m = 0; m < 2; m++) {
        memcpy(x, x1, sizeof(double) * 2 * NS);
        flow_ode(m ? after : before, FLOW_EULER, 1, 1.0, 0.0, x, NS, NULL, ctx->arena);
        to_float(x, one, 2 * NS);
        plot_points(&p, m ? "x y: one Euler step, 2-rectified" : "x y: one Euler step, 1-rectified", one, NS);
    }
    plot_size(&p, 1500, 520);
    plot_cmd(&p, "set multiplot layout 1,3 title 'Reflow: retraining on the model''s own (noise, sample) pairs straightens the paths'");
    plot_cmd(&p, "set size ratio -1; set xrange [-3:3]; set yrange [-3:3]; unset key");
    for (int m = 0; m < 2; m++) {
        plot_cmd(&p, "set title '%s: 40 paths from noise (circles) to data'", m ? "2-rectified (after reflow)" : "1-rectified (flow matching)");
        plot_cmd(&p, "plot dat index 0 using 1:2 with points pt 7 ps 0.2 lc rgb '#bdbdbd', for [k=%d:%d] dat index k using 1:2 with lines lw 1.5 lc k, \\", 1 + m * NP, (m + 1) * NP);
        plot_cmd(&p, "     for [k=%d:%d] dat index k every ::0::0 using 1:2 with points pt 6 ps 1 lc rgb 'black'", 1 + m * NP, (m + 1) * NP);
    }
    plot_cmd(&p, "set title 'one Euler step (1 evaluation)'; set xrange [-2:2]; set yrange [-2:2]; set key bottom right");
    plot_cmd(&p, "plot dat index 0 using 1:2 with points pt 7 ps 0.2 lc rgb '#bdbdbd' title 'data', dat index %d using 1:2 with points pt 7 ps 0.25 lc rgb '#d7301f' title '1-rectified', \\", 1 + 2 * NP);
    plot_cmd(&p, "     dat index %d using 1:2 with points pt 7 ps 0.25 lc rgb '#2171b5' title '2-rectified'", 2 + 2 * NP);
    plot_cmd(&p, "unset multiplot");
    return plot_close(&p);
}

static int cell_f_4_reflow(Ctx *ctx) {
    enum { NPAIR = 6000, KPAIR = 6, NS_ = 1000, KS = 32, R = 3, NK = 3 };
    static const int Ks[NK] = { 1, 2, 4 };
    Gmm g = data_gmm_named("gmm");
    Denoiser exact = den_gmm(&g);
    ToyModel *net = trained_flow(ctx);
    if (!net) return 1;
    Denoiser before = den_toy_flow(net);
    cli_say("Rectified flow: the flow's map eps -> x0 = ODE(eps) is a new coupling of noise and data. Retraining on these");
    cli_say("pairs (x0 = ODE(eps), eps) keeps the law and straightens the paths: pairs that cross are no longer averaged.");
    cli_say("Pairs: %d noise draws through the trained flow (RK4, %d steps).", NPAIR, KPAIR);
    double *pe = cli_alloc(ctx, sizeof(double) * 2 * NPAIR), *px = cli_alloc(ctx, sizeof(double) * 2 * NPAIR);
    float *pef = cli_alloc(ctx, sizeof(float) * 2 * NPAIR), *pxf = cli_alloc(ctx, sizeof(float) * 2 * NPAIR);
    for (int j = 0; j < 2 * NPAIR; j++) px[j] = pe[j] = rng_normal(&ctx->rng);
    flow_ode(&before, FLOW_RK4, KPAIR, 1.0, 0.0, px, NPAIR, NULL, ctx->arena);
    to_float(pe, pef, 2 * NPAIR);
    to_float(px, pxf, 2 * NPAIR);
    ToyModel rf2;
    Rng rng = rng_stream(ctx->opts->seed, 103);
    toy_init(&rf2, 2, &rng);
    memcpy(rf2.params.data, net->params.data, sizeof(float) * nn_params_count(&net->params));   /* start from the 1-rectified weights */
    int steps = train_steps(ctx) / 2 > 101 ? train_steps(ctx) / 2 : 101;   /* half the budget, past the warm-up */
    double t0 = cli_seconds();
    int rc = flow_train(&rf2, pxf, pef, NPAIR, steps, BATCH, &rng, ctx->arena, ctx->opts->quiet, NULL);
    cli_say("2-rectified network: %d steps on the pairs, from the 1-rectified weights, in %.1f s", steps, cli_seconds() - t0);
    Denoiser after = den_toy_flow(&rf2);
    double *x1 = cli_alloc(ctx, sizeof(double) * 2 * NS_);
    for (int j = 0; j < 2 * NS_; j++) x1[j] = rng_normal(&ctx->rng);
    double S_exact = flow_straightness(&exact, KS, x1, NS_, ctx->arena);
    double S_before = flow_straightness(&before, KS, x1, NS_, ctx->arena), S_after = flow_straightness(&after, KS, x1, NS_, ctx->arena);
    cli_say("Straightness S = E int ||(x(1) - x(0)) - v(x(t), t)||^2 dt (Liu et al.; 0 for straight paths), %d paths,", NS_);
    cli_say("Euler with %d steps: exact velocity %.4f, 1-rectified %.4f, 2-rectified %.4f.", KS, S_exact, S_before, S_after);
    cli_check_le(ctx, "reflow straightens: S(2-rectified) <= S(1-rectified) / 2", S_after, S_before / 2);
    Sampler sb = { "1-rectified", &before, 0, FLOW_EULER, NULL }, sa = { "2-rectified", &after, 0, FLOW_EULER, NULL };
    double fse, floor_sw = quality(NULL, 0, &g, NS_, NFLOOR, &ctx->rng, &fse, ctx->arena), q[2][NK], qse[2][NK], gap[2][NK];
    cli_say("Few Euler steps, %d samples (mean of %d draws; floor %.4f): sliced W1 to the mixture, and the mean distance", NS_, R, floor_sw);
    cli_say("to the model's own 16-step RK4 sample from the same noise:");
    cli_say("  steps   W1 before  W1 after   distance before  distance after");
    double *ref[2];
    for (int m = 0; m < 2; m++) {
        ref[m] = cli_alloc(ctx, sizeof(double) * 2 * NS_);
        memcpy(ref[m], x1, sizeof(double) * 2 * NS_);
        flow_ode(m ? &after : &before, FLOW_RK4, 16, 1.0, 0.0, ref[m], NS_, NULL, ctx->arena);
    }
    for (int k = 0; k < NK; k++) {
        q[0][k] = quality(&sb, Ks[k], &g, NS_, R, &ctx->rng, &qse[0][k], ctx->arena);
        q[1][k] = quality(&sa, Ks[k], &g, NS_, R, &ctx->rng, &qse[1][k], ctx->arena);
        gap[0][k] = few_step_gap(&before, Ks[k], x1, ref[0], NS_, ctx->arena);
        gap[1][k] = few_step_gap(&after, Ks[k], x1, ref[1], NS_, ctx->arena);
        cli_say("  %5d   %8.4f   %8.4f   %14.4f   %14.4f", Ks[k], q[0][k], q[1][k], gap[0][k], gap[1][k]);
    }
    cli_check_le(ctx, "one step: 2-rectified closer to the law than 1-rectified", q[1][0], q[0][0]);
    cli_check_le(ctx, "one step: 2-rectified lands closer to its own ODE solution (<= 1/2)", gap[1][0], gap[0][0] / 2);
    if (!rc) rc = plot_reflow(ctx, &before, &after, &g);
    toy_free(&rf2);
    return rc;
}

/* ---- f.5  InDI and DDIM are Euler steps of the flow --------------------------- */

static int cell_f_5_indi(Ctx *ctx) {
    enum { NR = 2000, N = 500, K = 100 };
    Gmm g = data_gmm_named("gmm");
    Denoiser exact = den_gmm(&g);
    cli_say("InDI (chapter 2.9) steps from t to t - d by x_{t-d} = (d/t) F + (1 - d/t) x_t with F = E[x0 | x_t]. On the");
    cli_say("flow path, v = eps_hat - x0_hat = (x_t - F)/t, so the flow's Euler step x_t - d v = x_t - (d/t)(x_t - F) is");
    cli_say("the same update: InDI is rectified flow's Euler sampler, for the pairing of its choice (here x0 with eps).");
    double worst = 0, worst_ddim = 0;
    Schedule s;
    sched_init(&s, SCHED_LINEAR, 1000);
    for (int i = 0; i < NR; i++) {
        double t = 0.01 + 0.99 * rng_uniform(&ctx->rng), d = t * rng_uniform(&ctx->rng);
        double x[2] = { 1.5 * rng_normal(&ctx->rng), 1.5 * rng_normal(&ctx->rng) }, F[2], e[2], v[2];
        den_predict(&exact, den_level_flow(t), x, 1, F, e, ctx->arena);
        velocity(&exact, t, x, 1, v, ctx->arena);
        /* two roundings' worth apart, relative to |x| + |F| (v = eps_hat - x0_hat carries its own rounding) */
        for (int c = 0; c < 2; c++)
            worst = fmax(worst, fabs(ch2_indi_step(x[c], F[c], t, d) - (x[c] - d * v[c])) / (fabs(x[c]) + fabs(F[c]) + 1e-3));
        /* DDIM (eta = 0) from VP step ts to sp, divided by a + b, is the flow Euler step from den_flow_time(ts) */
        int ts = 2 + rng_int(&ctx->rng, s.T - 1), sp = 1 + rng_int(&ctx->rng, ts - 1);
        DenLevel lt = den_level_vp(&s, ts), ls = den_level_vp(&s, sp);
        double x0h[2], eh[2], vv[2];
        den_predict(&exact, lt, x, 1, x0h, eh, ctx->arena);
        double xf_t[2] = { x[0] / (lt.a + lt.b), x[1] / (lt.a + lt.b) };
        velocity(&exact, den_flow_time(lt), xf_t, 1, vv, ctx->arena);
        for (int c = 0; c < 2; c++) {
            double ddim = (ls.a * x0h[c] + ls.b * eh[c]) / (ls.a + ls.b);
            double euler = xf_t[c] + (den_flow_time(ls) - den_flow_time(lt)) * vv[c];
            worst_ddim = fmax(worst_ddim, fabs(ddim - euler) / (1 + fabs(ddim)));
        }
    }
    /* tol: v = (x - F)/t is formed through eps_hat = (x - (1-t) F)/t, whose rounding d/t <= 1 carries over: 1e-14 */
    cli_check_le(ctx, "max |InDI step (ch2_indi_step) - flow Euler step| / (|x| + |F|), 2000 draws", worst, 1e-14);
    cli_say("DDIM (eta = 0) is the same step again: x_s = a_s x0_hat + b_s eps_hat, divided by a_s + b_s, equals");
    cli_say("x_t / (a_t + b_t) + (t_s - t_t) v at the flow times t = b / (a + b) of the two VP levels.");
    /* tol: VP levels down to a = 0.006 divide the prediction's rounding by a: 1e-12 */
    cli_check(ctx, "max rel |DDIM step / (a_s + b_s) - flow Euler step|, 2000 random (t, s, x)", worst_ddim, 0, 1e-12);
    cli_say("Whole paths: InDI with %d steps from pure noise against the flow's Euler sampler, %d points:", K, N);
    double *xi = cli_alloc(ctx, sizeof(double) * 2 * N), *xe = cli_alloc(ctx, sizeof(double) * 2 * N), *F = cli_alloc(ctx, sizeof(double) * 2 * N);
    for (int j = 0; j < 2 * N; j++) xi[j] = xe[j] = rng_normal(&ctx->rng);
    for (int k = 0; k < K; k++) {   /* InDI with chapter 2's step, F from the exact conditional mean */
        double t = 1.0 - (double)k / K;
        den_predict(&exact, den_level_flow(t), xi, N, F, NULL, ctx->arena);
        for (int j = 0; j < 2 * N; j++) xi[j] = ch2_indi_step(xi[j], F[j], t, 1.0 / K);
    }
    flow_ode(&exact, FLOW_EULER, K, 1.0, 0.0, xe, N, NULL, ctx->arena);
    double worst_path = 0;
    for (int j = 0; j < 2 * N; j++) worst_path = fmax(worst_path, fabs(xi[j] - xe[j]));
    /* tol: K steps of rounding on states |x| <= 4, a few 1e-16 each, added up without cancellation: 1e-12 */
    cli_check(ctx, "max |InDI path - flow Euler path| at t = 0", worst_path, 0, 1e-12);
    sched_free(&s);
    return 0;
}

/* ---- f.6  Exact likelihood through the ODE ------------------------------------ */

void flow_logp(const Denoiser *den, FlowMethod m, const double *ts, int K, const double *x, int n,
               double *logp, Arena *arena) {
    double *y = malloc(sizeof(double) * 2 * n), t_hi = ts[K];
    memcpy(y, x, sizeof(double) * 2 * n);
    for (int i = 0; i < n; i++) logp[i] = 0;
    for (int k = 0; k < K; k++) ode_step(den, m, ts[k], ts[k + 1] - ts[k], y, logp, n, arena);   /* logp += int div v dt */
    double c2 = (1 - t_hi) * (1 - t_hi) + t_hi * t_hi;
    for (int i = 0; i < n; i++)   /* §flow log p_lo(x) = log N(x(t_hi); 0, c^2 I) + int_lo^hi div v dt */
        logp[i] += -0.5 * (y[2 * i] * y[2 * i] + y[2 * i + 1] * y[2 * i + 1]) / c2 - log(2 * PI * c2);
    free(y);
}

/* K + 1 uniform times from t_lo to t_hi into ts. */
static void uniform_grid(double t_lo, double t_hi, int K, double *ts) {
    for (int k = 0; k <= K; k++) ts[k] = t_lo + (t_hi - t_lo) * k / K;
}

/* The flow times of K + 1 VP steps 1 = s_0 < ... < s_K = T spaced uniformly in the step index: the grid on which
 * a network trained on the schedule is integrated (uniform flow time crams its last hundreds of steps, where
 * x0_hat = (x - b eps_hat)/a amplifies the network's error by 1/a, into one step). */
static void vp_grid(const Schedule *s, int K, double *ts) {
    for (int k = 0; k <= K; k++) ts[k] = den_flow_time(den_level_vp(s, 1 + (int)lround((double)(s->T - 1) * k / K)));
}

/* Mean and standard error of x (n). */
static double mean_se(const double *x, int n, double *se) {
    DataStat st = { 0 };
    for (int i = 0; i < n; i++) data_stat_add(&st, x[i]);
    *se = data_stat_se(&st);
    return data_stat_mean(&st);
}

/* §2.4 DDPM's negative ELBO of points x0 (n, D), by Monte Carlo over x_t:
 * -ELBO = -log p(x0 | x1) + sum_{t=2}^T KL_t + KL(q(x_T | x0) || N(0, I)), KL_t = w_t ||x0_hat(x_t) - x0||^2
 * (chapter 2's weight), decoder p(x0 | x1) = N(x0_hat(x1), beta_1 I). The terms t <= T0, whose weights are large,
 * are each drawn once; the sum over t = T0+1..T is (T - T0) times the mean over J steps, one from each of J strata.
 * The n points share each drawn step t (one network pass for all n); called once per point, each draws its own. */
static void ddpm_nelbo(const Denoiser *den, const Schedule *s, const double *x0, int n, int T0, int J, Rng *rng,
                       double *nelbo, Arena *arena) {
    int D = den->D;
    size_t nd = (size_t)n * D, mark = arena_pos(arena);
    double *xt = arena_push_no_zero(arena, sizeof(double) * nd), *x0h = arena_push_no_zero(arena, sizeof(double) * nd);
    double abT = s->alpha_bar[s->T], v1 = 1 - s->alpha[1];
    for (int i = 0; i < n; i++) {
        nelbo[i] = 0;
        for (int d = 0; d < D; d++) nelbo[i] += ch2_kl_gauss(sqrt(abT) * x0[(size_t)i * D + d], 1 - abT, 0, 1);   /* prior matching */
    }
    for (int j = 1; j <= T0 + J; j++) {
        int t = j <= T0 ? j : T0 + 1 + (int)((s->T - T0) * (j - T0 - 1 + rng_uniform(rng)) / J);
        DenLevel lv = den_level_vp(s, t);
        for (size_t k = 0; k < nd; k++) xt[k] = lv.a * x0[k] + lv.b * rng_normal(rng);
        den_predict(den, lv, xt, n, x0h, NULL, arena);
        for (int i = 0; i < n; i++) {
            double e2 = 0;
            for (int d = 0; d < D; d++) { double e = x0h[(size_t)i * D + d] - x0[(size_t)i * D + d]; e2 += e * e; }
            if (t == 1) nelbo[i] += 0.5 * e2 / v1 + 0.5 * D * log(2 * PI * v1);             /* -log N(x0; x0_hat(x1), beta_1 I) */
            else nelbo[i] += (j <= T0 ? 1.0 : (double)(s->T - T0) / J) * ch2_kl_weight_x0(s, t) * e2;   /* denoising matching */
        }
    }
    arena_pop_to(arena, mark);
}

static int cell_f_6_likelihood(Ctx *ctx) {
    enum { NX = 200, NKL = 6, NM = 3, NH = 300, KN = 12, J = 20 };
    static const int Ks[NKL] = { 2, 4, 8, 16, 32, 64 };
    Gmm g = data_gmm_named("gmm");
    Denoiser exact = den_gmm(&g);
    cli_say("The flow moves density like a fluid: d/dt log p_t(x(t)) = -div v(x(t), t) along a path, so");
    cli_say("log p_0(x) = log N(x(1); 0, I) + int_0^1 div v(x(t), t) dt, one ODE for (x, log p). In 2D the divergence");
    cli_say("is exact: closed form for the mixture (through Cov[x0 | x_t]), two backward passes for a network.");
    double *x = cli_alloc(ctx, sizeof(double) * 2 * NX), *lp = cli_alloc(ctx, sizeof(double) * NX), *want = cli_alloc(ctx, sizeof(double) * NX);
    float *xf = cli_alloc(ctx, sizeof(float) * 2 * NX);
    data_gmm_sample(&g, &ctx->rng, xf, NX);
    for (int i = 0; i < NX; i++) { x[2 * i] = xf[2 * i]; x[2 * i + 1] = xf[2 * i + 1]; want[i] = data_gmm_logpdf(&g, x + 2 * i); }
    double err[NM][NKL];
    const char *mname[NM] = { "Euler", "Heun", "RK4" };
    cli_say("Exact velocity, %d points of the mixture: mean |log p_ODE(x) - log p(x)| (closed form) against steps:", NX);
    cli_say("      K      Euler         Heun          RK4");
    for (int k = 0; k < NKL; k++) {
        for (int m = 0; m < NM; m++) {
            double ts[65];
            uniform_grid(0.0, 1.0, Ks[k], ts);
            flow_logp(&exact, (FlowMethod)m, ts, Ks[k], x, NX, lp, ctx->arena);
            err[m][k] = 0;
            for (int i = 0; i < NX; i++) err[m][k] += fabs(lp[i] - want[i]) / NX;
        }
        cli_say("  %5d  %11.3e  %11.3e  %11.3e", Ks[k], err[0][k], err[1][k], err[2][k]);
    }
    /* observed order from the last doubling: log2(err(K/2)/err(K)); tol 0.3 around 1, 2, 4 (the asymptotic regime) */
    for (int m = 0; m < NM; m++) {
        char what[80];
        double order = log2(err[m][NKL - 2] / err[m][NKL - 1]);
        snprintf(what, sizeof what, "%s: observed order, K = %d -> %d", mname[m], Ks[NKL - 2], Ks[NKL - 1]);
        cli_check(ctx, what, order, m == 0 ? 1 : m == 1 ? 2 : 4, 0.3 * (m == 2 ? 2 : 1));
    }
    Plot p;
    int rc = plot_open(&p, ctx->out, "flow_likelihood_order");
    if (!rc) {
        for (int m = 0; m < NM; m++) {
            plot_block(&p, "K, mean |log p_ODE - log p| (exact mixture velocity)");
            for (int k = 0; k < NKL; k++) fprintf(plot_dat(&p), "%d %.6e\n", Ks[k], err[m][k]);
        }
        plot_size(&p, 800, 550);
        plot_cmd(&p, "set title 'log p(x) through the ODE against the closed form: error against steps'");
        plot_cmd(&p, "set logscale xy; set xlabel 'steps K'; set ylabel 'mean |log p_{ODE}(x) - log p(x)|'; set key bottom left; set format y '10^{%%L}'");
        plot_cmd(&p, "plot for [m=0:2] dat index m using 1:2 with linespoints lw 2 pt 7 title word('Euler Heun RK4', m+1), \\");
        plot_cmd(&p, "     [4:64] %g * (64.0/x) with lines dt 2 lc rgb 'black' title 'slope -1', [4:64] %g * (64.0/x)**2 with lines dt 3 lc rgb 'black' title 'slope -2', \\",
                 err[0][NKL - 1], err[1][NKL - 1]);
        plot_cmd(&p, "     [4:64] %g * (64.0/x)**4 with lines dt 4 lc rgb 'black' title 'slope -4 (lines through K = 64)'", err[2][NKL - 1]);
        rc = plot_close(&p);
    }

    cli_say("Held-out negative log-likelihood (nats per 2D point) of %d fresh draws of the mixture:", NH);
    ToyModel *fnet = trained_flow(ctx), *dnet = trained_ddpm(ctx);
    if (!fnet || !dnet) rc = 1;
    double *xh = cli_alloc(ctx, sizeof(double) * 2 * NH), *nll_true = cli_alloc(ctx, sizeof(double) * NH), *nll = cli_alloc(ctx, sizeof(double) * NH);
    float *xhf = cli_alloc(ctx, sizeof(float) * 2 * NH);
    data_gmm_sample(&g, &ctx->rng, xhf, NH);
    for (int i = 0; i < NH; i++) { xh[2 * i] = xhf[2 * i]; xh[2 * i + 1] = xhf[2 * i + 1]; nll_true[i] = -data_gmm_logpdf(&g, xh + 2 * i); }
    double se_true, m_true = mean_se(nll_true, NH, &se_true);
    cli_say("  the true density (closed form):                 %.4f (s.e. %.4f)", m_true, se_true);
    if (!rc) {
        Denoiser fden = den_toy_flow(fnet), dden = den_toy(dnet, &shared_sched);
        double d_flow[2], se, diff_se;
        for (int r = 0; r < 2; r++) {   /* RK4 at KN and 2 KN steps: their difference is the ODE error */
            double ts[2 * KN + 1];
            uniform_grid(0.0, 1.0, KN << r, ts);
            flow_logp(&fden, FLOW_RK4, ts, KN << r, xh, NH, nll, ctx->arena);
            for (int i = 0; i < NH; i++) nll[i] = -nll[i];
            d_flow[r] = mean_se(nll, NH, &se);
            for (int i = 0; i < NH; i++) nll[i] -= nll_true[i];
            mean_se(nll, NH, &diff_se);
        }
        cli_say("  flow matching network, ODE (RK4, %d / %d steps): %.4f / %.4f (s.e. %.4f)", KN, 2 * KN, d_flow[0], d_flow[1], se);
        /* cross-entropy >= entropy: the model's mean NLL cannot sit below the truth's beyond sampling noise
         * (paired: the s.e. of the per-point difference) */
        cli_check_le(ctx, "flow model: NLL >= true NLL - 5 s.e. (paired)", m_true - 5 * diff_se, d_flow[1]);
        /* DDPM's network: the probability-flow ODE between its first and last VP steps, in flow time. Data x is
         * taken as the VP state at step 1 (sigma_1 = 0.01), mapped to the flow state x / (a_1 + b_1). */
        DenLevel l1 = den_level_vp(&shared_sched, 1), lT = den_level_vp(&shared_sched, shared_sched.T);
        double t_lo = den_flow_time(l1), t_hi = den_flow_time(lT), c1 = l1.a + l1.b;
        double *xl = cli_alloc(ctx, sizeof(double) * 2 * NH), *ode = cli_alloc(ctx, sizeof(double) * NH), *gap = cli_alloc(ctx, sizeof(double) * NH), d_ddpm[3];
        for (int j = 0; j < 2 * NH; j++) xl[j] = xh[j] / c1;
        for (int r = 0; r < 3; r++) {
            double ts[4 * KN + 1];
            vp_grid(&shared_sched, KN << r, ts);
            flow_logp(&dden, FLOW_RK4, ts, KN << r, xl, NH, ode, ctx->arena);
            for (int i = 0; i < NH; i++) ode[i] = -(ode[i] - 2 * log(c1));   /* p_vp(x) = p_flow(x / c1) / c1^2 */
            d_ddpm[r] = mean_se(ode, NH, &se);
        }
        cli_say("  DDPM eps network, probability-flow ODE (RK4, %d / %d / %d steps uniform in the VP index, flow time %.4f -> %.4f):",
                KN, 2 * KN, 4 * KN, t_lo, t_hi);
        cli_say("                                                  %.4f / %.4f / %.4f (s.e. %.4f)", d_ddpm[0], d_ddpm[1], d_ddpm[2], se);
        /* the same pipeline (grid, scaling, prior) with the exact denoiser: chapter 4's exact-score probability-flow
         * ODE. It must give the mixture's density up to the ODE's error, the prior N(0, I) standing for the law at
         * step T (KL ~ abar_T = 4e-5) and the noise of step 1 (sigma_1 = 0.01 on components of sd >= 0.15: 2e-3) */
        double ts[4 * KN + 1], err_exact = 0;
        vp_grid(&shared_sched, 2 * KN, ts);
        flow_logp(&exact, FLOW_RK4, ts, 2 * KN, xl, NH, gap, ctx->arena);
        for (int i = 0; i < NH; i++) err_exact += fabs(-(gap[i] - 2 * log(c1)) - nll_true[i]) / NH;
        cli_say("  (the same ODE and grid with the exact denoiser, %d steps: mean |NLL - true NLL| = %.2e)", 2 * KN, err_exact);
        cli_check_le(ctx, "exact-score probability-flow ODE on the VP grid: mean |NLL - closed form|", err_exact, 1e-2);
        for (int i = 0; i < NH; i++)   /* one point per call: each draws its own steps t */
            ddpm_nelbo(&dden, &shared_sched, xh + 2 * i, 1, 50, J, &ctx->rng, nll + i, ctx->arena);
        double se_elbo, m_elbo = mean_se(nll, NH, &se_elbo), se_gap, se_e, se_o;
        cli_say("  DDPM eps network, -ELBO (chapter 2's bound; t <= 50 all, %d stratified beyond): %.4f (s.e. %.4f)", J, m_elbo, se_elbo);
        for (int i = 0; i < NH; i++) gap[i] = nll[i] - ode[i];
        double m_gap = mean_se(gap, NH, &se_gap);
        cli_say("-ELBO minus the ODE's NLL, point by point: %+.3f nats (s.e. %.3f). The ELBO bounds the NLL of the", m_gap, se_gap);
        cli_say("ancestral sampler's model; the probability-flow ODE with a learned eps is another model, and first-order");
        cli_say("score matching does not control its likelihood (Lu et al. 2022), so either may be the larger.");
        /* both are models of the data: their expected NLL (cross-entropy) is at least the truth's (entropy) */
        for (int i = 0; i < NH; i++) { gap[i] = nll[i] - nll_true[i]; ode[i] -= nll_true[i]; }
        mean_se(gap, NH, &se_e);
        mean_se(ode, NH, &se_o);
        cli_check_le(ctx, "DDPM: -ELBO >= true NLL - 5 s.e. (paired)", m_true - 5 * se_e, m_elbo);
        cli_check_le(ctx, "DDPM: ODE NLL >= true NLL - 5 s.e. (paired)", m_true - 5 * se_o, d_ddpm[2]);
    }
    return rc;
}

/* ---- f.7  Images: the same U-Net trained by flow matching ---------------------- */

/* ./flow --train [--recipe K=V,...] [--steps N | --minutes M] [--resume | --overwrite]: chapter 2's U-Net and
 * recipe (unet_train.h) with the flow-matching loss ||v_theta(x_t, t) - (eps - x0)||^2, x_t = (1 - t) x0 + t eps. */
static int train_images(const Opts *o) {
    UnetRecipe r = unet_recipe_default(UNET_FLOW);
    if (unet_recipe_parse(&r, o->recipe)) return 2;
    if (r.target != UNET_FLOW) { fprintf(stderr, "error: --recipe target=%s: ./flow trains the velocity (target=flow)\n", unet_target_names[r.target]); return 2; }
    return unet_train(&r, o, o->ckpt ? o->ckpt : FLOW_UNET_CKPT);
}

/* Test images dequantised as the likelihood literature does: x = 2 (k + u) / 256 - 1 for the pixel level k in 0..255 and
 * u ~ U(0, 1), so that x has a density on [-1, 1]^D; a model's bits per dimension on the 256 levels is then
 * bpd = -log p(x) / (D ln 2) + log2(128) (the map from [0, 256)^D to [-1, 1]^D shrinks volume by (2/256)^D). */
static double bits_per_dim(double nll, int D) { return nll / (D * log(2.0)) + 7.0; }

/* §flow -log p(x) of a flow U-Net for x (n, 784) by the instantaneous change of variables (as flow_logp), with the
 * divergence by Hutchinson's estimator: div v = E_z[z^T (dv/dx) z] for Rademacher z, one vector-Jacobian product per
 * evaluation, the same z along each path (Grathwohl et al. 2019). Heun, K uniform steps from t = 0 to 1. */
/* out[i] = sum_j a[i, j] b[i, j] for the n rows of (n, D) floats, accumulated in double. */
static void row_dots(const float *a, const float *b, int n, int D, double *out) {
    for (int i = 0; i < n; i++) {
        out[i] = 0;
        for (int j = 0; j < D; j++) out[i] += (double)a[(size_t)i * D + j] * b[(size_t)i * D + j];
    }
}

static void flow_unet_nll(UnetModel *m, const double *x, int n, int K, Rng *rng, double *nll, Arena *arena) {
    enum { D = 784 };
    size_t nd = (size_t)n * D, mark = arena_pos(arena);
    float *y = arena_push_no_zero(arena, sizeof(float) * nd), *ys = arena_push_no_zero(arena, sizeof(float) * nd);
    float *z = arena_push_no_zero(arena, sizeof(float) * nd), *k1 = arena_push_no_zero(arena, sizeof(float) * nd);
    float *k2 = arena_push_no_zero(arena, sizeof(float) * nd), *jtz = arena_push_no_zero(arena, sizeof(float) * nd);
    double *l = arena_push(arena, sizeof(double) * n), *d1 = arena_push_no_zero(arena, sizeof(double) * n);
    double *d2 = arena_push_no_zero(arena, sizeof(double) * n);
    for (size_t j = 0; j < nd; j++) { y[j] = (float)x[j]; z[j] = rng_uniform(rng) < 0.5 ? -1.0f : 1.0f; }
    double h = 1.0 / K;
    for (int k = 0; k < K; k++) {   /* Heun: k1 at (y, t), k2 at (y + h k1, t + h); l += h (div1 + div2) / 2 */
        double t = k * h;
        unet_model_vjp(m, y, n, (float)(m->T * t), z, k1, jtz, arena);
        row_dots(z, jtz, n, D, d1);                    /* Hutchinson: div v ~ z . (z^T dv/dx) */
        for (size_t j = 0; j < nd; j++) ys[j] = y[j] + (float)h * k1[j];
        unet_model_vjp(m, ys, n, (float)(m->T * (t + h)), z, k2, jtz, arena);
        row_dots(z, jtz, n, D, d2);
        for (int i = 0; i < n; i++) l[i] += 0.5 * h * (d1[i] + d2[i]);
        for (size_t j = 0; j < nd; j++) y[j] += (float)(0.5 * h) * (k1[j] + k2[j]);
    }
    row_dots(y, y, n, D, d1);                          /* |x(1)|^2 */
    for (int i = 0; i < n; i++)   /* §flow log p_0(x) = log N(x(1); 0, I) + int_0^1 div v dt */
        nll[i] = -(-0.5 * d1[i] - 0.5 * D * log(2 * PI) + l[i]);
    arena_pop_to(arena, mark);
}

static int cell_f_7_images(Ctx *ctx) {
    enum { NK = 3, NSHOW = 10, NLL_N = 32, NLL_K = 25, T0 = 10, J = 40, CHUNK = 100 };
    static const int Ks[NK] = { 10, 20, 50 };
    int N = n_samples(ctx, 50);
    if (N < NSHOW) N = NSHOW;
    const char *path = ctx->opts->ckpt ? ctx->opts->ckpt : FLOW_UNET_CKPT;
    if (!ctx->opts->ckpt && access(path, F_OK) != 0) { cli_say("skipped: no %s; train it with ./flow --train (README)", path); return 0; }
    UnetModel fm, dm;
    if (unet_model_load(&fm, path)) return 1;
    if (fm.target != UNET_FLOW) { cli_say("failed: %s predicts %s, not a velocity (train it with ./flow --train)", path, unet_target_names[fm.target]); unet_model_free(&fm); return 1; }
    int have_ddpm = access(CH2_UNET_CKPT, F_OK) == 0 && unet_model_load(&dm, CH2_UNET_CKPT) == 0;
    FidScorer sc;
    int scoring = fid_scorer_load(&sc, NULL) == 0;
    cli_say("The U-Net of chapter 2 (%zu parameters) trained with the flow-matching loss for %ld steps: x(1) ~ N(0, I),",
            nn_params_count(&fm.params), fm.step);
    cli_say("then K Euler steps of dx/dt = v_theta(x, t) down to t = 0 (each one evaluation), and Heun at K/2 steps");
    cli_say("(the same evaluations); chapter 2's DDPM U-Net with DDIM at K steps beside it. %d images from the same noise:", N);
    size_t nd = (size_t)N * 784;
    float *x1 = cli_alloc(ctx, sizeof(float) * nd), *x = cli_alloc(ctx, sizeof(float) * nd);
    float *show = cli_alloc(ctx, sizeof(float) * 2 * NK * NSHOW * 784);
    double *xd = cli_alloc(ctx, sizeof(double) * nd);
    rng_normal_fill(&ctx->rng, x1, (long)nd);
    Denoiser fden = den_unet(&fm, NULL, 1);   /* x0_hat kept in the pixels' range, as for DDIM */
    int rc = 0;
    for (int r = 0; r < NK; r++) {
        for (int method = 0; method < 3; method++) {   /* flow Euler, flow Heun, DDIM */
            if (method == 2 && !have_ddpm) continue;
            double t0 = cli_seconds();
            memcpy(x, x1, sizeof(float) * nd);
            if (method == 0) unet_sample(&fm, UNET_SAMPLE_DDIM, x, N, Ks[r], NULL, ctx->arena);
            else if (method == 1) {
                for (size_t j = 0; j < nd; j++) xd[j] = x1[j];
                for (int i0 = 0; i0 < N; i0 += CHUNK)   /* chunks bound the network's activations */
                    flow_ode(&fden, FLOW_HEUN, Ks[r] / 2, 1.0, 0.0, xd + (size_t)i0 * 784, N - i0 < CHUNK ? N - i0 : CHUNK, NULL, ctx->arena);
                for (size_t j = 0; j < nd; j++) x[j] = (float)xd[j];
            } else unet_sample(&dm, UNET_SAMPLE_DDIM, x, N, Ks[r], NULL, ctx->arena);
            double secs = cli_seconds() - t0;
            const char *name[3] = { "flow Euler", "flow Heun", "DDPM + DDIM" };
            FidScore s;
            if (scoring && fid_score(&sc, x, N, -1.0f, 1.0f, &s) == 0)
                cli_say("  NFE %2d  %-12s FID %7.2f (floor %.2f at N = %d)  max-softmax %.3f  (%.1f s)", Ks[r], name[method], s.fid,
                        s.floor_real, N, s.max_softmax, secs);
            if (method != 1) memcpy(show + ((size_t)((method == 2) * NK + r) * NSHOW) * 784, x, sizeof(float) * NSHOW * 784);
            int bad = 0;
            for (size_t j = 0; j < nd; j++) bad |= !isfinite(x[j]);
            if (bad) { cli_say("failed: %s samples hold NaN or inf", name[method]); rc = 1; }
        }
    }
    char title[200];
    snprintf(title, sizeof title, "Rows 1-3: flow matching, Euler K = 10, 20, 50; rows 4-6: chapter 2's DDPM U-Net, DDIM K = 10, 20, 50 (same x_1)");
    PlotGridStyle st = { .title = title, .lo = -1, .hi = 1, .scale = 3, .pad = 2, .width = 900, .height = 620 };
    rc |= plot_image_grid(ctx->out, "flow_fmnist_steps", show, (have_ddpm ? 2 : 1) * NK * NSHOW, 28, 28, NSHOW, &st);
    /* likelihood: bits per dimension of dequantised test images */
    Fmnist test;
    if (fmnist_load(&test, NULL, 0, NLL_N)) { cli_say("skipped the likelihood: no test images"); goto done; }
    double *xq = cli_alloc(ctx, sizeof(double) * NLL_N * 784), *nll = cli_alloc(ctx, sizeof(double) * NLL_N);
    for (size_t j = 0; j < (size_t)NLL_N * 784; j++) xq[j] = 2.0 * (lround(test.images[j] * 255.0) + rng_uniform(&ctx->rng)) / 256.0 - 1.0;
    fmnist_free(&test);
    double t0 = cli_seconds(), se;
    flow_unet_nll(&fm, xq, NLL_N, NLL_K, &ctx->rng, nll, ctx->arena);
    for (int i = 0; i < NLL_N; i++) nll[i] = bits_per_dim(nll[i], 784);
    double bpd = mean_se(nll, NLL_N, &se);
    cli_say("Likelihood of %d dequantised test images (x = 2 (k + u) / 256 - 1), in bits per dimension on 256 levels:", NLL_N);
    cli_say("  flow, ODE (Heun, %d steps) with Hutchinson's divergence (one Rademacher probe per image): %.3f +- %.3f bpd (%.0f s)",
            NLL_K, bpd, se, cli_seconds() - t0);
    rc |= !cli_check_le(ctx, "flow bits/dim is finite and below 8 (uniform over 256 levels)", isfinite(bpd) ? bpd : 99, 8.0);
    if (have_ddpm) {
        Schedule s;
        sched_init(&s, dm.sched, dm.T);
        Denoiser dden = den_unet(&dm, &s, 0);
        ddpm_nelbo(&dden, &s, xq, NLL_N, T0, J, &ctx->rng, nll, ctx->arena);
        for (int i = 0; i < NLL_N; i++) nll[i] = bits_per_dim(nll[i], 784);
        double se2, elbo = mean_se(nll, NLL_N, &se2);
        cli_say("  DDPM (chapter 2's U-Net), -ELBO (t <= %d exact, %d strata above): %.3f +- %.3f bpd, an upper bound on its own NLL", T0, J, elbo, se2);
        sched_free(&s);
    }
done:
    if (scoring) fid_scorer_free(&sc);
    if (have_ddpm) unet_model_free(&dm);
    unet_model_free(&fm);
    return rc;
}

/* ---- the program, cell by cell ----------------------------------------------- */

static const Cell CELLS[] = {
    { "f.1", "interp",     "the interpolant and its velocity; the VP map",                       cell_f_1_interpolant },
    { "f.2", "fm",         "conditional flow matching, and CFM - FM = C on several models",      cell_f_2_fm },
    { "f.3", "ode",        "sampling by ODE integration (Euler, Heun, RK4) beside DDIM",          cell_f_3_ode },
    { "f.4", "reflow",     "rectified flow: straighter paths, better few-step samples",          cell_f_4_reflow },
    { "f.5", "indi",       "InDI and DDIM are Euler steps of the flow",                          cell_f_5_indi },
    { "f.6", "likelihood", "exact log p(x) through the ODE; NLL and DDPM's ELBO",                cell_f_6_likelihood },
    { "f.7", "images",     "the U-Net trained by flow matching: samples per step count, bits/dim", cell_f_7_images },
};

/* The cell table, for tests/test_tutorial.c: every `./flow --cell X` that tutorial.md names must be in it. */
const Cell *flow_cells(int *n) {
    *n = (int)COUNT_OF(CELLS);
    return CELLS;
}

#ifndef CHAPTER_NO_MAIN
int main(int argc, char **argv) {
    static const CliSpec spec = { "flow", "flow matching, rectified flow and exact likelihoods (denoising as integration)",
                                  CLI_STEPS | CLI_SAMPLES | CLI_TRAIN | CLI_RECIPE, NULL,
                                  "the Fashion-MNIST velocity U-Net (" FLOW_UNET_CKPT ")" };
    int rc = cli_main(argc, argv, &spec, CELLS, COUNT_OF(CELLS), train_images);
    shared_free();   /* the networks the cells trained (none after --help or --train) */
    return rc;
}
#endif
