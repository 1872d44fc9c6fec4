/* ch2_ddpm.c: PDF chapter 2, denoising diffusion probabilistic models (DDPM), on 1D and 2D data and on
 * Fashion-MNIST images.
 *
 *   make ch2 && ./ch2 --list          the cells, one per section
 *   ./ch2                             the whole chapter (about 30 s)
 *   ./ch2 --cell 2.8 --data swissroll --steps 8000
 *
 * Sections: 2.1 building blocks (the chain) · 2.2 the magical scalars · 2.3 q(x_t | x_0) ·
 * 2.4 the ELBO and its weights · 2.5 rewriting the consistency term (Bayes) · 2.6 the posterior
 * q(x_{t-1} | x_t, x_0) · 2.7 inference with the ideal denoiser, and the PDF's own training algorithm
 * (predict x0, cell 2.7t) against DDPM's · 2.8 training on the noise vector and ancestral sampling ·
 * 2.9 InDI, in 2D and on Fashion-MNIST (cell 2.9i); on images: 2.3i the forward process and its per-frequency SNR,
 * 2.8i sampling the shipped U-Net (./ch2 --train-images trains it).
 * Figures (figures/): ch2_forward_trajectories, ch2_magic_scalars, ch2_forward_marginals, ch2_forward_strip,
 * ch2_fmnist_snr, ch2_elbo_weights, ch2_posterior, ch2_oracle_samples_gmm, ch2_x0_vs_eps_<data>, ch2_train_loss,
 * ch2_samples_<data>, ch2_reverse_2d_<data>, ch2_fmnist_samples, ch2_fmnist_reverse, ch2_fmnist_train_loss,
 * ch2_indi_2d, ch2_indi_strip.
 * Uses: cli, plot, data, denoiser (every sampler takes one), schedule, rng, tensor, toymodel (the 2D eps_theta
 * network and its training), unet + autograd + optim (the image network and its training), fmnist, image, io.
 *
 * Shapes: N batch, D data dimension (1 or 2), T number of diffusion steps.
 */
#include <math.h>
#include <string.h>
#include <unistd.h>
#include "ch2_ddpm.h"
#include "cli.h"
#include "data.h"
#include "fid.h"
#include "fmnist.h"
#include "image.h"
#include "io.h"
#include "plot.h"
#include "schedule.h"
#include "toymodel.h"
#include "train.h"
#include "unet.h"
#include "unet_train.h"

/* ---- 2.1  Building blocks: the forward chain --------------------------- */

/* §2.1 one transition of q(x_t | x_{t-1}): x_t = sqrt(alpha_t) x_{t-1} + sqrt(1 - alpha_t) eps */
static double forward_step(double x_prev, double alpha, double eps) {
    return sqrt(alpha) * x_prev + sqrt(1.0 - alpha) * eps;
}

static int cell_2_1_chain(Ctx *ctx) {
    enum { PATHS = 20, NX = 160, NT = 100 };
    Gmm g = data_gmm_tutorial_1d();
    Schedule s;
    sched_init(&s, SCHED_LINEAR, 1000);
    cli_say("The forward chain x0 -> x1 -> ... -> xT, one transition q(x_t | x_{t-1}) =");
    cli_say("N(sqrt(alpha_t) x_{t-1}, (1 - alpha_t) I) at a time (linear beta 1e-4..0.02, T = 1000).");
    cli_say("x0 ~ 0.3 N(-2, 0.3^2) + 0.7 N(2, 0.3^2); the background is the exact density of x_t.");
    Plot p;
    if (plot_open(&p, ctx->out, "ch2_forward_trajectories")) { sched_free(&s); return 1; }
    plot_block(&p, "t x p_t(x): exact marginal density (heat map)");
    for (int it = 0; it <= NT; it++) {
        int t = it * s.T / NT;
        Gmm gt = data_gmm_noised(&g, sqrt(s.alpha_bar[t]), 1.0 - s.alpha_bar[t]);
        for (int ix = 0; ix <= NX; ix++) {
            double x = -4.0 + 8.0 * ix / NX;
            fprintf(plot_dat(&p), "%d %.4f %.5g\n", t, x, exp(data_gmm_logpdf(&gt, &x)));
        }
        fprintf(plot_dat(&p), "\n");
    }
    float x0[PATHS];
    data_gmm_sample(&g, &ctx->rng, x0, PATHS);
    for (int k = 0; k < PATHS; k++) {
        plot_block(&p, "t x: one sample path of the chain");
        double x = x0[k];
        for (int t = 0; t <= s.T; t++) {
            if (t > 0) x = forward_step(x, s.alpha[t], rng_normal(&ctx->rng));
            if (t % 5 == 0) fprintf(plot_dat(&p), "%d %.4f\n", t, x);
        }
    }
    plot_size(&p, 900, 450);
    plot_cmd(&p, "set title 'Forward process: paths of x_t over the exact density q(x_t)'");
    plot_cmd(&p, "set xlabel 't'; set ylabel 'x_t'; set yrange [-4:4]; set xrange [0:%d]", s.T);
    plot_cmd(&p, "set palette defined (0 'white', 1 '#9ecae1', 2 '#3182bd', 3 '#08306b'); set cblabel 'q(x_t)'");
    plot_cmd(&p, "plot dat index 0 using 1:2:3 with image notitle, \\");
    plot_cmd(&p, "     for [k=1:%d] dat index k using 1:2 with lines lc rgb '#d7301f' lw 1 notitle", PATHS);
    sched_free(&s);
    return plot_close(&p);
}

/* ---- 2.2  The magical scalars sqrt(alpha_t) and 1 - alpha_t ------------ */

/* After t steps of x_t = a x_{t-1} + b eps, x_t = a^t x0 + sqrt(S_t) eps with
 * S_t = b^2 (1 - a^{2t}) / (1 - a^2) (or t b^2 when a = 1): the law is the mixture noised by (a^t, S_t). */
static Gmm affine_chain_law(const Gmm *g0, double a, double b, int t) {
    double at = pow(a, t);
    double S = fabs(a - 1.0) < 1e-15 ? t * b * b : b * b * (1.0 - at * at) / (1.0 - a * a);
    return data_gmm_noised(g0, at, S);
}

static int cell_2_2_scalars(Ctx *ctx) {
    enum { N = 100000, BINS = 100, NSNAP = 6 };
    static const int snap[NSNAP] = { 0, 5, 10, 20, 50, 100 };
    const double alpha = 0.97;
    /* three schemes: the right one, no sqrt(alpha) (variance grows), alpha instead of sqrt(alpha) (collapses) */
    const double a[3] = { sqrt(alpha), 1.0, alpha }, b[3] = { sqrt(1 - alpha), sqrt(1 - alpha), 1 - alpha };
    const char *label[3] = { "x_t = sqrt(a) x_{t-1} + sqrt(1-a) eps", "x_t = x_{t-1} + sqrt(1-a) eps",
                             "x_t = a x_{t-1} + (1-a) eps" };
    Gmm g = data_gmm_tutorial_1d();
    cli_say("Why sqrt(alpha_t) and sqrt(1 - alpha_t)? With them Var(x_t) = alpha Var(x_{t-1}) + 1 - alpha,");
    cli_say("so the variance goes to 1 whatever x0 was: |Var(x_t) - 1| = alpha^t |Var(x0) - 1|. Without them");
    cli_say("it grows without bound or collapses. alpha = %.2f, %d particles, t up to 100.", alpha, N);
    float *x = cli_alloc(ctx, sizeof(float) * N);
    double dens[BINS];
    Plot p;
    if (plot_open(&p, ctx->out, "ch2_magic_scalars")) return 1;
    for (int sch = 0; sch < 3; sch++) {
        data_gmm_sample(&g, &ctx->rng, x, N);
        int t = 0;
        for (int k = 0; k < NSNAP; k++) {
            for (; t < snap[k]; t++)
                for (int i = 0; i < N; i++) x[i] = (float)(a[sch] * x[i] + b[sch] * rng_normal(&ctx->rng));
            Gmm gt = affine_chain_law(&g, a[sch], b[sch], t);
            double lo = -8, hi = 8;
            data_histogram(x, N, lo, hi, BINS, dens);
            char c[96];
            snprintf(c, sizeof c, "scheme %d, t = %d: x, histogram, exact density", sch, t);
            plot_block(&p, c);
            for (int bi = 0; bi < BINS; bi++) {
                double xc = lo + (bi + 0.5) * (hi - lo) / BINS;
                fprintf(plot_dat(&p), "%.4f %.5g %.5g\n", xc, dens[bi], exp(data_gmm_logpdf(&gt, &xc)));
            }
            if (t == 100) {
                double m, v;
                data_moments(x, N, 1, &m, &v);
                double vt = data_gmm_var(&gt, 0);
                char what[96];
                snprintf(what, sizeof what, "Var(x_100), %s", label[sch]);
                cli_check(ctx, what, v, vt, 5 * vt * sqrt(2.0 / N));   /* 5 s.e. of a sample variance */
            }
        }
    }
    /* the recursion of the right scheme, from Var(x0) = data variance */
    double v0 = data_gmm_var(&g, 0), v = v0;
    for (int t = 1; t <= 100; t++) v = alpha * v + (1 - alpha);
    cli_check(ctx, "|Var(x_100) - 1| = alpha^100 |Var(x0) - 1|", fabs(v - 1), pow(alpha, 100) * fabs(v0 - 1), 1e-12);
    plot_size(&p, 1500, 450);
    plot_cmd(&p, "set multiplot layout 1,3 title 'The magical scalars: histograms of x_t (points) and exact densities (lines), t = 0,5,10,20,50,100'");
    plot_cmd(&p, "set xlabel 'x'; set ylabel 'density'; set key top left font ',8'");
    plot_cmd(&p, "array T[6] = [0, 5, 10, 20, 50, 100]");
    for (int sch = 0; sch < 3; sch++) {
        plot_cmd(&p, "set title '%s'", label[sch]);
        plot_cmd(&p, "set xrange [%s]; set yrange [0:%s]", sch == 1 ? "-8:8" : "-4:4", sch == 2 ? "*" : "1.0");
        plot_cmd(&p, "plot for [k=0:5] dat index %d+k using 1:2 with points pt 7 ps 0.3 lc k+1 notitle, \\", 6 * sch);
        plot_cmd(&p, "     for [k=0:5] dat index %d+k using 1:3 with lines lw 2 lc k+1 title sprintf('t = %%d', T[k+1])", 6 * sch);
    }
    plot_cmd(&p, "unset multiplot");
    return plot_close(&p);
}

/* ---- 2.3  The distribution q(x_t | x_0) -------------------------------- */

double ch2_q_sample(double x0, double alpha_bar, double eps) {
    return sqrt(alpha_bar) * x0 + sqrt(1.0 - alpha_bar) * eps;   /* §2.3 x_t = sqrt(abar) x0 + sqrt(1-abar) eps */
}

static int cell_2_3_marginal(Ctx *ctx) {
    enum { N = 50000, BINS = 80, NSNAP = 6 };
    static const int snap[NSNAP] = { 0, 50, 100, 200, 400, 1000 };
    Gmm g = data_gmm_tutorial_1d();
    Schedule s;
    sched_init(&s, SCHED_LINEAR, 1000);
    cli_say("Iterating the transition t times equals one jump: q(x_t | x0) = N(sqrt(abar_t) x0, (1 - abar_t) I).");
    cli_say("Check from a fixed x0 = 1.5 (t steps of the chain vs the closed form), then for the mixture:");
    float *x = cli_alloc(ctx, sizeof(float) * N);
    for (int i = 0; i < N; i++) x[i] = 1.5f;
    for (int t = 1; t <= 100; t++)
        for (int i = 0; i < N; i++) x[i] = (float)forward_step(x[i], s.alpha[t], rng_normal(&ctx->rng));
    double m, v, ab = s.alpha_bar[100];
    data_moments(x, N, 1, &m, &v);
    cli_check(ctx, "mean of x_100 | x0 = 1.5: sqrt(abar) x0", m, ch2_q_sample(1.5, ab, 0.0), 5 * sqrt((1 - ab) / N));
    cli_check(ctx, "var of x_100 | x0 = 1.5: 1 - abar", v, 1 - ab, 5 * (1 - ab) * sqrt(2.0 / N));
    Plot p;
    if (plot_open(&p, ctx->out, "ch2_forward_marginals")) { sched_free(&s); return 1; }
    data_gmm_sample(&g, &ctx->rng, x, N);
    int t = 0;
    double dens[BINS], lo = -4, hi = 4;
    for (int k = 0; k < NSNAP; k++) {
        for (; t < snap[k]; t++)
            for (int i = 0; i < N; i++) x[i] = (float)forward_step(x[i], s.alpha[t + 1], rng_normal(&ctx->rng));
        Gmm gt = data_gmm_noised(&g, sqrt(s.alpha_bar[t]), 1 - s.alpha_bar[t]);
        data_histogram(x, N, lo, hi, BINS, dens);
        char c[64];
        snprintf(c, sizeof c, "t = %d: x, histogram of the chain, exact mixture density", t);
        plot_block(&p, c);
        for (int b = 0; b < BINS; b++) {
            double xc = lo + (b + 0.5) * (hi - lo) / BINS;
            fprintf(plot_dat(&p), "%.4f %.5g %.5g\n", xc, dens[b], exp(data_gmm_logpdf(&gt, &xc)));
        }
    }
    data_moments(x, N, 1, &m, &v);
    Gmm gT = data_gmm_noised(&g, sqrt(s.alpha_bar[s.T]), 1 - s.alpha_bar[s.T]);
    cli_check(ctx, "var of x_T for the mixture (exact: noised mixture)", v, data_gmm_var(&gT, 0),
              5 * data_gmm_var(&gT, 0) * sqrt(2.0 / N));
    plot_size(&p, 1200, 600);
    plot_cmd(&p, "set multiplot layout 2,3 title 'q(x_t): histogram of the iterated chain (bars) vs the closed-form noised mixture (line)'");
    plot_cmd(&p, "array T[6] = [0, 50, 100, 200, 400, 1000]");
    plot_cmd(&p, "set xrange [-4:4]; set yrange [0:1.0]; set style fill solid 0.8 noborder; unset key");
    for (int k = 0; k < NSNAP; k++) {
        plot_cmd(&p, "set title sprintf('t = %%d', T[%d])", k + 1);
        plot_cmd(&p, "plot dat index %d using 1:2 with boxes lc rgb '#9ecae1', '' index %d using 1:3 with lines lw 2 lc rgb '#d7301f'", k, k);
    }
    plot_cmd(&p, "unset multiplot");
    sched_free(&s);
    return plot_close(&p);
}

/* ---- 2.4  The ELBO of the chain ---------------------------------------- */

double ch2_kl_gauss(double m1, double v1, double m2, double v2) {
    /* §2.4 KL(N(m1, v1) || N(m2, v2)) = 1/2 (log(v2/v1) + (v1 + (m1 - m2)^2) / v2 - 1) */
    return 0.5 * (log(v2 / v1) + (v1 + (m1 - m2) * (m1 - m2)) / v2 - 1.0);
}

double ch2_kl_weight_x0(const Schedule *s, int t) {   /* §2.4 w_t = (1-alpha_t)^2 abar_{t-1} / (2 sigma_q^2 (1-abar_t)^2) */
    double one_m_ab = 1.0 - s->alpha_bar[t];
    return (1 - s->alpha[t]) * (1 - s->alpha[t]) * s->alpha_bar[t - 1] /
           (2.0 * sched_posterior_var(s, t) * one_m_ab * one_m_ab);
}

double ch2_kl_weight_eps(const Schedule *s, int t) {
    /* §2.8 weight (1 - alpha_t)^2 / (2 sigma_q^2 (1 - abar_t) alpha_t) on ||eps_hat - eps||^2 */
    return (1 - s->alpha[t]) * (1 - s->alpha[t]) / (2.0 * sched_posterior_var(s, t) * (1 - s->alpha_bar[t]) * s->alpha[t]);
}

static int cell_2_4_elbo(Ctx *ctx) {
    Schedule s;
    sched_init(&s, SCHED_LINEAR, 1000);
    cli_say("ELBO = E[log p(x0|x1)] - KL(q(x_T|x0) || p(x_T)) - sum_t E[KL(q(x_{t-1}|x_t,x0) || p(x_{t-1}|x_t))].");
    double x0 = 1.5, ab = s.alpha_bar[s.T];
    cli_say("Prior matching for x0 = %.1f: KL(N(sqrt(abar_T) x0, 1 - abar_T) || N(0,1)) = %.3g nats: no parameters, ~0.",
            x0, ch2_kl_gauss(sqrt(ab) * x0, 1 - ab, 0, 1));
    cli_say("Each denoising-matching term is a weighted squared error; checked against the generic Gaussian KL:");
    Rng *r = &ctx->rng;
    double worst = 0, worst_eps = 0;
    for (int k = 0; k < 200; k++) {
        int t = 2 + rng_int(r, s.T - 1);
        double xs = rng_normal(r), xt = ch2_q_sample(xs, s.alpha_bar[t], rng_normal(r)), x0_hat = xs + 0.3 * rng_normal(r);
        double mu_q, mu_th, var = ch2_posterior(&s, t, xt, xs, &mu_q);
        ch2_posterior(&s, t, xt, x0_hat, &mu_th);
        double kl = ch2_kl_gauss(mu_q, var, mu_th, var);
        /* The generic formula computes (v + d^2)/v - 1 with d = mu_q - mu_theta, losing about log10(v/d^2)
         * digits when d^2 << v (large t): divide the relative error by that condition number 1 + v/d^2. */
        double cond = 1.0 + var / ((mu_q - mu_th) * (mu_q - mu_th));
        double rel = fabs(ch2_kl_weight_x0(&s, t) * (x0_hat - xs) * (x0_hat - xs) - kl) / kl / cond;
        if (rel > worst) worst = rel;
        /* the same KL through the noise: eps = (x_t - sqrt(abar) x0)/sqrt(1 - abar) */
        DenLevel l = den_level_vp(&s, t);
        double eps = den_eps_from_x0(l, xt, xs), eps_hat = den_eps_from_x0(l, xt, x0_hat);
        double rel2 = fabs(ch2_kl_weight_eps(&s, t) * (eps_hat - eps) * (eps_hat - eps) - kl) / kl / cond;
        if (rel2 > worst_eps) worst_eps = rel2;
    }
    /* tol: ~10 roundings on each side, each <= 1.1e-16 relative, after dividing out the cancellation: 1e-13 */
    cli_check(ctx, "max rel. error / condition, KL = w_t ||x0_hat - x0||^2", worst, 0, 1e-13);
    cli_check(ctx, "max rel. error / condition, KL = w'_t ||eps_hat - eps||^2", worst_eps, 0, 1e-13);
    Plot p;
    if (plot_open(&p, ctx->out, "ch2_elbo_weights")) { sched_free(&s); return 1; }
    plot_block(&p, "t, weight on ||x0_hat - x0||^2, weight on ||eps_hat - eps||^2, SNR abar/(1-abar)");
    for (int t = 2; t <= s.T; t++)
        fprintf(plot_dat(&p), "%d %.6g %.6g %.6g\n", t, ch2_kl_weight_x0(&s, t), ch2_kl_weight_eps(&s, t),
                s.alpha_bar[t] / (1 - s.alpha_bar[t]));
    plot_size(&p, 800, 450);
    plot_cmd(&p, "set title 'Weights of the ELBO terms (linear schedule, T = 1000)'");
    plot_cmd(&p, "set logscale y; set format y '10^{%%L}'; set xlabel 't'; set ylabel 'weight'; set key top right");
    plot_cmd(&p, "plot dat using 1:2 with lines lw 2 title 'on ||x0hat - x0||^2 (x0 form)', \\");
    plot_cmd(&p, "     dat using 1:3 with lines lw 2 title 'on ||epshat - eps||^2 (noise form)', \\");
    plot_cmd(&p, "     dat using 1:4 with lines dt 2 lw 1 title 'SNR(t) = abar/(1 - abar)'");
    cli_say("DDPM's 'simple' loss drops these weights: every t counts equally in ||eps_hat - eps||^2.");
    sched_free(&s);
    return plot_close(&p);
}

/* ---- 2.5  Rewriting the consistency term ------------------------------- */

static double log_normal(double x, double m, double v) { return -0.5 * ((x - m) * (x - m) / v + log(2 * PI * v)); }

static int cell_2_5_bayes(Ctx *ctx) {
    Schedule s;
    sched_init(&s, SCHED_LINEAR, 1000);
    cli_say("The consistency term is rewritten with Bayes' rule, conditioning on x0:");
    cli_say("q(x_{t-1} | x_t, x0) = q(x_t | x_{t-1}) q(x_{t-1} | x0) / q(x_t | x0).");
    cli_say("Completing the square makes the right side a Gaussian in x_{t-1}; check pointwise on a grid:");
    double worst = 0;
    static const int ts[4] = { 2, 10, 300, 1000 };
    for (int k = 0; k < 4; k++) {
        int t = ts[k];
        double x0 = 0.7, xt = -0.4, mu_q, var = ch2_posterior(&s, t, xt, x0, &mu_q);
        for (int i = 0; i <= 200; i++) {
            double xp = mu_q + sqrt(var) * (-6.0 + 12.0 * i / 200);
            double lhs = log_normal(xt, sqrt(s.alpha[t]) * xp, 1 - s.alpha[t])
                       + log_normal(xp, sqrt(s.alpha_bar[t - 1]) * x0, 1 - s.alpha_bar[t - 1])
                       - log_normal(xt, sqrt(s.alpha_bar[t]) * x0, 1 - s.alpha_bar[t]);
            double d = fabs(lhs - log_normal(xp, mu_q, var));
            if (d > worst) worst = d;
        }
    }
    /* tol: the log densities are O(100) near t = 2 where sigma_q is tiny; double rounding ~ 1e-13 of that */
    cli_check(ctx, "max |Bayes - log N(mu_q, sigma_q^2)| over grids", worst, 0, 1e-9);
    sched_free(&s);
    return 0;
}

/* ---- 2.6  The posterior q(x_{t-1} | x_t, x_0) -------------------------- */

double ch2_posterior(const Schedule *s, int t, double xt, double x0, double *mu_q) {
    /* §2.6 mu_q = [sqrt(alpha_t)(1 - abar_{t-1}) x_t + sqrt(abar_{t-1})(1 - alpha_t) x0] / (1 - abar_t) */
    *mu_q = (sqrt(s->alpha[t]) * (1 - s->alpha_bar[t - 1]) * xt + sqrt(s->alpha_bar[t - 1]) * (1 - s->alpha[t]) * x0)
            / (1 - s->alpha_bar[t]);
    return sched_posterior_var(s, t);
}

static int cell_2_6_posterior(Ctx *ctx) {
    enum { N = 4000000, BINS = 60 };
    Schedule s;
    sched_init(&s, SCHED_LINEAR, 1000);
    const int t = 100;
    const double x0 = 1.0, xt_lo = 0.49, xt_hi = 0.51;
    cli_say("Simulate x_{t-1} ~ q(x_{t-1} | x0), x_t ~ q(x_t | x_{t-1}) for x0 = %.1f, t = %d; keep the pairs", x0, t);
    cli_say("with x_t in [%.2f, %.2f]: the kept x_{t-1} follow q(x_{t-1} | x_t, x0) of §2.6.", xt_lo, xt_hi);
    float *kept = cli_alloc(ctx, sizeof(float) * N), *kept_xt = cli_alloc(ctx, sizeof(float) * N);
    int n = 0;
    for (int i = 0; i < N; i++) {
        double xp = ch2_q_sample(x0, s.alpha_bar[t - 1], rng_normal(&ctx->rng));
        double xt = forward_step(xp, s.alpha[t], rng_normal(&ctx->rng));
        if (xt >= xt_lo && xt < xt_hi) { kept_xt[n] = (float)xt; kept[n++] = (float)xp; }
    }
    /* mu_q is linear in x_t with slope c: over the kept pairs E[x_{t-1}] = mu_q(mean of kept x_t) and
     * Var[x_{t-1}] = sigma_q^2 + c^2 Var(kept x_t), exactly, whatever the density of x_t inside the bin. */
    double m, v, mt, vt, mu_q, var = ch2_posterior(&s, t, 0.0, x0, &mu_q);
    double c = sqrt(s.alpha[t]) * (1 - s.alpha_bar[t - 1]) / (1 - s.alpha_bar[t]);
    data_moments(kept, n, 1, &m, &v);
    data_moments(kept_xt, n, 1, &mt, &vt);
    ch2_posterior(&s, t, mt, x0, &mu_q);
    double v_want = var + c * c * vt;
    cli_say("%d pairs kept", n);
    cli_check(ctx, "mean of x_{t-1} | x_t in bin vs mu_q(mean x_t)", m, mu_q, 5 * sqrt(v_want / n));
    cli_check(ctx, "var of x_{t-1} | x_t in bin vs sigma_q^2 + c^2 Var x_t", v, v_want, 5 * v_want * sqrt(2.0 / n));
    Plot p;
    if (plot_open(&p, ctx->out, "ch2_posterior")) { sched_free(&s); return 1; }
    double dens[BINS], lo = mu_q - 5 * sqrt(v_want), hi = mu_q + 5 * sqrt(v_want);
    data_histogram(kept, n, lo, hi, BINS, dens);
    plot_block(&p, "x_{t-1}, histogram of kept samples, N(mu_q, sigma_q^2)");
    for (int b = 0; b < BINS; b++) {
        double xc = lo + (b + 0.5) * (hi - lo) / BINS;
        fprintf(plot_dat(&p), "%.5f %.5g %.5g\n", xc, dens[b], exp(log_normal(xc, mu_q, v_want)));
    }
    plot_size(&p, 800, 450);
    plot_cmd(&p, "set title 'q(x_{t-1} | x_t, x_0) by simulation (bars) and the closed form (line), t = %d, x_0 = %.1f, x_t = %.1f'", t, x0, 0.5 * (xt_lo + xt_hi));
    plot_cmd(&p, "set xlabel 'x_{t-1}'; set ylabel 'density'; set style fill solid 0.4 noborder");
    plot_cmd(&p, "plot dat using 1:2 with boxes lc rgb '#6baed6' title 'simulated, x_t in bin', '' using 1:3 with lines lw 2 lc rgb '#d7301f' title 'N(mu_q, sigma_q^2)'");
    sched_free(&s);
    return plot_close(&p);
}

/* ---- 2.7  Training and inference: sampling with the ideal denoiser ------ */

/* §2.7 one ancestral step: x_{t-1} = mu_q(x_t, x0_hat) + sigma_q(t) z (z = 0 at t = 1). */
static void ancestral_step(const Schedule *s, int t, float *x, const double *x0_hat, int D, Rng *rng) {
    double sd = sqrt(sched_posterior_var(s, t));
    for (int d = 0; d < D; d++) {
        double mu;
        ch2_posterior(s, t, x[d], x0_hat[d], &mu);
        x[d] = (float)(mu + (t > 1 ? sd * rng_normal(rng) : 0.0));
    }
}

/* §2.7 ancestral sampling of n samples (n, D) from x_T ~ N(0, I): x0_hat(x_t) from any denoiser (the ideal
 * one of §2.7, a network through eps_hat as in §2.8, the U-Net on images), at the VP levels of s. */
void ch2_sample(const Denoiser *den, const Schedule *s, float *x, int n, Rng *rng, Arena *arena,
                const int *snap_t, int n_snap, float *traj) {
    int D = den->D;
    size_t nd = (size_t)n * D, mark = arena_pos(arena);
    double *x0_hat = arena_push_no_zero(arena, sizeof(double) * nd);
    rng_normal_fill(rng, x, (long)nd);
    for (int t = s->T, k = 0; t >= 1; t--) {
        for (; k < n_snap && snap_t[k] == t; k++) memcpy(traj + (size_t)k * nd, x, sizeof(float) * nd);
        den_predict_f(den, den_level_vp(s, t), x, n, x0_hat, NULL, arena);
        ancestral_step(s, t, x, x0_hat, (int)nd, rng);
    }
    for (int k = 0; k < n_snap; k++)
        if (snap_t[k] == 0) memcpy(traj + (size_t)k * nd, x, sizeof(float) * nd);
    arena_pop_to(arena, mark);
}

/* Scatter of samples (index 0) against true draws (index 1); the samples' .dat names the data set. */
static int plot_samples(Ctx *ctx, const char *name, const char *title, const float *samples, const float *truth, int n) {
    Plot p;
    if (plot_open(&p, ctx->out, name)) return 1;
    plot_points(&p, "x y: samples of the sampler", samples, n);
    plot_points(&p, "x y: independent draws from the data law", truth, n);
    plot_size(&p, 1000, 500);
    plot_cmd(&p, "set multiplot layout 1,2 title '%s'", title);
    plot_cmd(&p, "set size ratio -1; set xrange [-1.6:1.6]; set yrange [-1.6:1.6]; unset key");
    plot_cmd(&p, "set title 'data (true draws)'; plot dat index 1 using 1:2 with points pt 7 ps 0.25 lc rgb '#636363'");
    plot_cmd(&p, "set title 'samples'; plot dat index 0 using 1:2 with points pt 7 ps 0.25 lc rgb '#d7301f'");
    plot_cmd(&p, "unset multiplot");
    return plot_close(&p);
}

/* Sliced W1 of samples to the data law, and the noise floor: the same distance between two sets of true draws. */
static void quality(Ctx *ctx, const char *data, const float *samples, float *truth, int n, double *sw, double *floor_sw) {
    float *truth2 = cli_alloc(ctx, sizeof(float) * 2 * n);
    CHECK(data_toy_sample(data, &ctx->rng, truth, n) == 0, "data set %s", data);
    CHECK(data_toy_sample(data, &ctx->rng, truth2, n) == 0, "data set %s", data);
    *sw = data_sliced_wasserstein(samples, truth, n, 2, 200, &ctx->rng);
    *floor_sw = data_sliced_wasserstein(truth2, truth, n, 2, 200, &ctx->rng);
}

static int cell_2_7_oracle(Ctx *ctx) {
    int n = ctx->opts->samples > 0 ? (int)ctx->opts->samples : 2000;
    Gmm g = data_gmm_named("gmm");
    Schedule s;
    sched_init(&s, SCHED_LINEAR, 200);
    cli_say("Inference (§2.7): x_T ~ N(0, I), then x_{t-1} = mu_q(x_t, x0_hat(x_t)) + sigma_q(t) z.");
    cli_say("First with the ideal denoiser x0_hat = E[x0 | x_t], exact for a mixture: no network, so any");
    cli_say("error left is the sampler's. %d samples, T = %d.", n, s.T);
    float *x = cli_alloc(ctx, sizeof(float) * 2 * n), *truth = cli_alloc(ctx, sizeof(float) * 2 * n);
    Denoiser den = den_gmm(&g);
    ch2_sample(&den, &s, x, n, &ctx->rng, ctx->arena, NULL, 0, NULL);
    double sw, floor_sw;
    quality(ctx, "gmm", x, truth, n, &sw, &floor_sw);
    cli_say("sliced W1(samples, data) = %.4f; noise floor W1(data, data') = %.4f", sw, floor_sw);
    /* Both are distances between n-point samples of (nearly) the same law: the sampler's can exceed the
     * floor only by sampling fluctuation; twice the floor is a 5-sigma-safe margin at n = 2000. */
    cli_check_le(ctx, "sliced W1 of the oracle sampler <= 2 x floor", sw, 2 * floor_sw);
    int rc = plot_samples(ctx, "ch2_oracle_samples_gmm", "Ancestral sampling with the ideal denoiser E[x_0 | x_t] (gmm)", x, truth, n);
    sched_free(&s);
    return rc;
}

/* ---- 2.7  The PDF's training algorithm: predict x0 --------------------------- */

/* Per-step losses of a model at step t on a fresh batch (x0 from data, eps): both units from the same outputs.
 * §2.8 the output o is eps_hat (eps model) or x0_hat (x0 model); the other follows from x_t = sqrt(abar) x0 + sqrt(1 - abar) eps.
 * Returns mean ||x0_hat - x0||^2 in *l_x0 and mean ||eps_hat - eps||^2 in *l_eps, accumulated in double. */
static void step_losses(ToyModel *m, const Schedule *s, int t, const float *x0, const float *eps, int n, float *xt,
                        float *out, Arena *arena, double *l_x0, double *l_eps) {
    double a = sqrt(s->alpha_bar[t]), b = sqrt(1 - s->alpha_bar[t]), sx = 0, se = 0;
    for (int k = 0; k < 2 * n; k++) xt[k] = (float)(a * x0[k] + b * eps[k]);
    toy_predict(m, xt, n, t, out, arena);
    for (int k = 0; k < 2 * n; k++) {
        double xtk = a * x0[k] + b * eps[k];   /* x_t in double: the network saw it rounded to float */
        double x0_hat = m->target == TOY_TARGET_X0 ? out[k] : (xtk - b * out[k]) / a;
        double eps_hat = m->target == TOY_TARGET_X0 ? (xtk - a * out[k]) / b : out[k];
        sx += (x0_hat - x0[k]) * (x0_hat - x0[k]);
        se += (eps_hat - eps[k]) * (eps_hat - eps[k]);
    }
    *l_x0 = sx / n;
    *l_eps = se / n;
}

/* Quality of R fresh sample sets (n each, new x_T, new reference draws): q[0], q[1] the mean and sd of the sliced W1
 * to the data law; q[2], q[3] those of the mean distance from a sample to the nearest of the ntrain training points
 * (sliced W1 cannot tell a blob from a spiral, 2.8). With m NULL the "samples" are true draws: the floors. */
static void quality_draws(Ctx *ctx, ToyModel *m, const Schedule *s, const char *data, const float *train, int ntrain,
                          int n, int R, double *q) {
    float *x = cli_alloc(ctx, sizeof(float) * 2 * n), *ref = cli_alloc(ctx, sizeof(float) * 2 * n);
    DataStat w1 = { 0 }, nn = { 0 };
    for (int r = 0; r < R; r++) {
        Denoiser den = m ? den_toy(m, s) : (Denoiser){ 0 };
        if (m) ch2_sample(&den, s, x, n, &ctx->rng, ctx->arena, NULL, 0, NULL);
        else CHECK(data_toy_sample(data, &ctx->rng, x, n) == 0, "data set %s", data);
        CHECK(data_toy_sample(data, &ctx->rng, ref, n) == 0, "data set %s", data);
        data_stat_add(&w1, data_sliced_wasserstein(x, ref, n, 2, 200, &ctx->rng));
        data_stat_add(&nn, data_mean_nn_distance(x, n, train, ntrain, 2));
    }
    q[0] = data_stat_mean(&w1);
    q[1] = data_stat_sd(&w1);
    q[2] = data_stat_mean(&nn);
    q[3] = data_stat_sd(&nn);
}

/* Train an eps model (m[0]) and an x0 model (m[1]) from the same initial weights and the same batches: only the
 * regression target differs. Returns 1 (after freeing both) if a training broke. ctx->rng continues after m[0]'s. */
static int train_pair(Ctx *ctx, const Schedule *s, const char *data, const float *train, int ndata, int steps, ToyModel *m) {
    Rng start = ctx->rng;
    for (int k = 0; k < 2; k++) {
        Rng r = start;
        toy_init(&m[k], 2, &r);
        m[k].target = k ? TOY_TARGET_X0 : TOY_TARGET_EPS;
        double t0 = cli_seconds();
        if (toy_train(&m[k], s, train, ndata, steps, 256, &r, ctx->arena, ctx->opts->quiet, NULL)) {
            toy_free(&m[0]);
            if (k) toy_free(&m[1]);
            return 1;
        }
        cli_say("trained the %s model on %s: %d steps of batch 256 in %.1f s", k ? "x0" : "eps", data, steps, cli_seconds() - t0);
        if (k == 0) ctx->rng = r;
    }
    return 0;
}

/* Per-step losses of both models at the steps ts (nt), each step on one fresh batch shared by the two: loss[k] =
 * (eps model L_x0, L_eps, x0 model L_x0, L_eps). Returns max |L_x0 - SNR^-1 L_eps| / L_x0, the §2.8 identity. */
static double loss_table(Ctx *ctx, ToyModel *m, const Schedule *s, const char *data, const int *ts, int nt, double (*loss)[4]) {
    enum { NB = 4000 };
    float *x0 = cli_alloc(ctx, sizeof(float) * 2 * NB), *eps = cli_alloc(ctx, sizeof(float) * 2 * NB);
    float *xt = cli_alloc(ctx, sizeof(float) * 2 * NB), *out = cli_alloc(ctx, sizeof(float) * 2 * NB);
    double worst = 0;
    for (int k = 0; k < nt; k++) {
        CHECK(data_toy_sample(data, &ctx->rng, x0, NB) == 0, "data set %s", data);
        rng_normal_fill(&ctx->rng, eps, 2L * NB);
        for (int mdl = 0; mdl < 2; mdl++) {
            double *l = loss[k] + 2 * mdl, snr_inv = (1 - s->alpha_bar[ts[k]]) / s->alpha_bar[ts[k]];
            step_losses(&m[mdl], s, ts[k], x0, eps, NB, xt, out, ctx->arena, &l[0], &l[1]);
            worst = fmax(worst, fabs(l[0] - snr_inv * l[1]) / l[0]);
        }
    }
    return worst;
}

static int plot_x0_vs_eps(Ctx *ctx, const Schedule *s, const double (*loss)[4], const int *ts, int nt,
                          const float *samples, int n, const double (*q)[4], const char *data) {
    Plot p;
    char name[64];
    snprintf(name, sizeof name, "ch2_x0_vs_eps_%s", data);
    if (plot_open(&p, ctx->out, name)) return 1;
    plot_block(&p, "t, SNR^-1 = (1-abar)/abar, eps model: ||x0_hat-x0||^2 ||eps_hat-eps||^2, x0 model: the same two");
    for (int k = 0; k < nt; k++)
        fprintf(plot_dat(&p), "%d %.6g %.6g %.6g %.6g %.6g\n", ts[k], (1 - s->alpha_bar[ts[k]]) / s->alpha_bar[ts[k]],
                loss[k][0], loss[k][1], loss[k][2], loss[k][3]);
    for (int mdl = 0; mdl < 2; mdl++)
        plot_points(&p, mdl ? "x y: samples of the x0 model" : "x y: samples of the eps model", samples + (size_t)mdl * 2 * n, n);
    plot_size(&p, 1200, 1000);
    plot_cmd(&p, "set multiplot layout 2,2 title 'The PDF''s algorithm (predict x_0) vs DDPM''s (predict ε), same network, data, seed and steps (%s)'", data);
    plot_cmd(&p, "set logscale y; set format y '10^{%%L}'; set xlabel 't'; set key bottom left font ',9'");
    plot_cmd(&p, "set title 'per-step error in noise units ||ε̂ - ε||^2'");
    plot_cmd(&p, "plot dat index 0 using 1:4 with linespoints pt 7 ps 0.5 lw 2 title 'ε model', '' index 0 using 1:6 with linespoints pt 5 ps 0.5 lw 2 title 'x_0 model'");
    plot_cmd(&p, "set title 'the same outputs in data units ||x̂_0 - x_0||^2 = SNR^{-1} ||ε̂ - ε||^2'; set key top left");
    plot_cmd(&p, "plot dat index 0 using 1:3 with linespoints pt 7 ps 0.5 lw 2 title 'ε model', '' index 0 using 1:5 with linespoints pt 5 ps 0.5 lw 2 title 'x_0 model', \\");
    plot_cmd(&p, "     '' index 0 using 1:2 with lines dt 2 lc rgb 'black' title 'SNR^{-1} = (1 - ᾱ_t)/ᾱ_t'");
    plot_cmd(&p, "unset logscale y; set format y '%%g'; set size ratio -1; set xrange [-1.6:1.6]; set yrange [-1.6:1.6]; unset key; unset xlabel");
    plot_cmd(&p, "set title sprintf('ε model: sliced W1 %%.3f ± %%.3f (floor %%.3f), to data %%.3f (floor %%.3f)', %g, %g, %g, %g, %g)",
             q[0][0], q[0][1], q[2][0], q[0][2], q[2][2]);
    plot_cmd(&p, "plot dat index 1 using 1:2 with points pt 7 ps 0.25 lc rgb '#2171b5'");
    plot_cmd(&p, "set title sprintf('x_0 model: sliced W1 %%.3f ± %%.3f (floor %%.3f), to data %%.3f (floor %%.3f)', %g, %g, %g, %g, %g)",
             q[1][0], q[1][1], q[2][0], q[1][2], q[2][2]);
    plot_cmd(&p, "plot dat index 2 using 1:2 with points pt 7 ps 0.25 lc rgb '#d7301f'");
    plot_cmd(&p, "unset multiplot");
    return plot_close(&p);
}

static int cell_2_7t_x0(Ctx *ctx) {
    enum { NDATA = 20000, NT = 24, R = 8, NFLOOR = 50 };
    static const int ts[NT] = { 1, 2, 3, 5, 7, 10, 15, 20, 30, 40, 50, 60, 80, 100, 120, 140, 160, 170, 180, 185, 190, 194, 197, 200 };
    const char *data = ctx->opts->data ? ctx->opts->data : "gmm";   /* the swiss roll: --data swissroll --steps 4000 */
    int steps = ctx->opts->steps > 0 ? (int)ctx->opts->steps : 1500;
    int n = ctx->opts->samples > 0 ? (int)ctx->opts->samples : 1000;
    Schedule s;
    sched_init(&s, SCHED_COSINE, 200);
    cli_say("The PDF's training algorithm regresses x0: step on ||x0_theta(sqrt(abar) x0 + sqrt(1 - abar) eps, t) - x0||^2.");
    cli_say("DDPM regresses eps. At the same x_t, x0_hat - x0 = -sqrt(1 - abar)/sqrt(abar) (eps_hat - eps), so");
    cli_say("||x0_hat - x0||^2 = (1 - abar_t)/abar_t ||eps_hat - eps||^2: one objective, reweighted per step by SNR(t)^-1.");
    /* §2.8 the ELBO's own weights carry the same factor: w'_t = w_t (1 - abar_t) / abar_t */
    double worst_w = 0;
    for (int t = 2; t <= s.T; t++)
        worst_w = fmax(worst_w, fabs(ch2_kl_weight_eps(&s, t) - ch2_kl_weight_x0(&s, t) * (1 - s.alpha_bar[t]) / s.alpha_bar[t]) / ch2_kl_weight_eps(&s, t));
    cli_check(ctx, "ELBO weights: max_t |w'_t - w_t (1 - abar)/abar| / w'_t", worst_w, 0, 1e-12);   /* ~10 roundings */
    float *train = cli_alloc(ctx, sizeof(float) * 2 * NDATA);
    CHECK(data_toy_sample(data, &ctx->rng, train, NDATA) == 0, "data set %s", data);
    ToyModel m[2];
    if (train_pair(ctx, &s, data, train, NDATA, steps, m)) { sched_free(&s); return 1; }
    double loss[NT][4], worst_id = loss_table(ctx, m, &s, data, ts, NT, loss);
    /* float outputs, converted and summed in double: the identity is exact up to ~1e-13 relative, except that the
     * conversions cancel (x_t - sqrt(abar) x0_hat where abar -> 1, x_t - sqrt(1 - abar) eps_hat where abar -> 0, by
     * up to 1/sqrt(1 - abar_1) ~ 60 or 1/sqrt(abar_T) ~ 4e3 here): 1e-11 is that condition number times ~30 roundings */
    cli_check(ctx, "on both networks' outputs, max_t |L_x0 - SNR^-1 L_eps| / L_x0", worst_id, 0, 1e-11);
    cli_say("per-step losses, t: eps model (L_x0, L_eps) | x0 model (L_x0, L_eps)");
    for (int k = 0; k < NT; k += 4)
        cli_say("  t = %3d: %.4g %.4g | %.4g %.4g", ts[k], loss[k][0], loss[k][1], loss[k][2], loss[k][3]);
    cli_say("The x0 loss weights the noise error by SNR^-1: tiny at small t, so the x0 model is trained little there");
    cli_say("(its noise error at small t is the larger one) and much at large t, where the eps model's is larger.");
    /* samples: quality averaged over R draws, floors from NFLOOR pairs of true draws */
    double q[3][4], t_q = cli_seconds();   /* eps model, x0 model, true draws: W1 mean, sd, support distance mean, sd */
    float *samples = cli_alloc(ctx, sizeof(float) * 2 * 2 * n);
    for (int mdl = 0; mdl < 2; mdl++) {
        quality_draws(ctx, &m[mdl], &s, data, train, NDATA, n, R, q[mdl]);
        Denoiser den = den_toy(&m[mdl], &s);
        ch2_sample(&den, &s, samples + (size_t)mdl * 2 * n, n, &ctx->rng, ctx->arena, NULL, 0, NULL);
    }
    quality_draws(ctx, NULL, &s, data, train, NDATA, n, NFLOOR, q[2]);
    cli_say("mean +- sd over %d draws of %d samples (%.1f s); floors from %d sets of true draws:", R, n, cli_seconds() - t_q, NFLOOR);
    static const char *const who[3] = { "eps model  ", "x0 model   ", "true draws " };
    for (int k = 0; k < 3; k++)
        cli_say("  %s sliced W1 %.4f +- %.4f, distance to the nearest training point %.4f +- %.4f", who[k], q[k][0], q[k][1], q[k][2], q[k][3]);
    /* the eps model must pass 2.8's two claims; the x0 model is measured, not judged */
    cli_check_le(ctx, "eps model: mean sliced W1 <= 3 x floor", q[0][0], 3 * q[2][0]);
    cli_check_le(ctx, "eps model: mean distance to the data's support <= 0.05", q[0][2], 0.05);
    cli_say("x0 model - eps model: sliced W1 %+.4f +- %.4f, support distance %+.4f +- %.4f (standard errors)",
            q[1][0] - q[0][0], sqrt((q[0][1] * q[0][1] + q[1][1] * q[1][1]) / R),
            q[1][2] - q[0][2], sqrt((q[0][3] * q[0][3] + q[1][3] * q[1][3]) / R));
    cli_say("The x0 model's error in noise units at t = 1 is %.1fx the eps model's: the last, low-noise steps, which", loss[0][3] / loss[0][1]);
    cli_say("draw the fine structure, are the ones its loss barely trains (figure ch2_x0_vs_eps_%s).", data);
    int rc = plot_x0_vs_eps(ctx, &s, (const double (*)[4])loss, ts, NT, samples, n, (const double (*)[4])q, data);
    toy_free(&m[0]);
    toy_free(&m[1]);
    sched_free(&s);
    return rc;
}

/* ---- 2.8  Derivation based on the noise vector: training eps_theta ----- */

/* Snapshots of the reverse process at t = T, 3T/4, T/2, T/4, 0, as five scatter panels. */
static int plot_reverse(Ctx *ctx, const char *data, const float *traj, int n, int T) {
    Plot p;
    char name[64];
    snprintf(name, sizeof name, "ch2_reverse_2d_%s", data);
    if (plot_open(&p, ctx->out, name)) return 1;
    for (int k = 0; k < 5; k++) {
        char c[48];
        snprintf(c, sizeof c, "x y at t = %d", T - k * T / 4);
        plot_points(&p, c, traj + (size_t)k * n * 2, n);
    }
    plot_size(&p, 1500, 330);
    plot_cmd(&p, "set multiplot layout 1,5 title 'Reverse process (ancestral sampling with the trained ε_θ, %s, T = %d)'", data, T);
    plot_cmd(&p, "set size ratio -1; set xrange [-2.5:2.5]; set yrange [-2.5:2.5]; unset key; set xtics 1 font ',9'; set ytics 1 font ',9'");
    for (int k = 0; k < 5; k++) {
        plot_cmd(&p, "set title 't = %d'", T - k * T / 4);
        plot_cmd(&p, "plot dat index %d using 1:2 with points pt 7 ps 0.2 lc rgb '#08519c'", k);
    }
    plot_cmd(&p, "unset multiplot");
    return plot_close(&p);
}

static int plot_losses(Ctx *ctx, float *const *curves, const char *const *names, int n_curves, int steps) {
    Plot p;
    if (plot_open(&p, ctx->out, "ch2_train_loss")) return 1;
    for (int c = 0; c < n_curves; c++) {
        plot_block(&p, names[c]);
        double avg = curves[c][0];
        for (int i = 0; i < steps; i++) {
            avg = 0.98 * avg + 0.02 * curves[c][i];   /* exponential moving average: the raw loss is noisy */
            if (i % 10 == 0) fprintf(plot_dat(&p), "%d %.5f %.5f\n", i + 1, curves[c][i], avg);
        }
    }
    plot_size(&p, 800, 450);
    plot_cmd(&p, "set title 'Training loss ||ε_θ(x_t, t) - ε||^2 (moving average)'");
    plot_cmd(&p, "set xlabel 'step'; set ylabel 'loss'; set logscale y");
    plot_cmd(&p, "array NAMES[%d]", n_curves);
    for (int c = 0; c < n_curves; c++) plot_cmd(&p, "NAMES[%d] = '%s'", c + 1, names[c]);
    plot_cmd(&p, "plot for [k=0:%d] dat index k using 1:3 with lines lw 2 title NAMES[k+1]", n_curves - 1);
    return plot_close(&p);
}

/* Train on one data set, sample, measure, draw. Writes the loss curve into curve (steps). */
static int train_and_sample(Ctx *ctx, const char *data, int steps, int n, float *curve) {
    Schedule s;
    sched_init(&s, SCHED_COSINE, 200);
    enum { NDATA = 20000 };
    float *train = cli_alloc(ctx, sizeof(float) * 2 * NDATA), *x = cli_alloc(ctx, sizeof(float) * 2 * n);
    float *truth = cli_alloc(ctx, sizeof(float) * 2 * n), *traj = cli_alloc(ctx, sizeof(float) * 5 * 2 * n);
    CHECK(data_toy_sample(data, &ctx->rng, train, NDATA) == 0, "data set %s", data);
    ToyModel m;
    toy_init(&m, 2, &ctx->rng);
    double t0 = cli_seconds();
    int rc = toy_train(&m, &s, train, NDATA, steps, 256, &ctx->rng, ctx->arena, ctx->opts->quiet, curve);
    if (rc) { toy_free(&m); sched_free(&s); return rc; }   /* NaN or Ctrl-C */
    double secs = cli_seconds() - t0;
    cli_say("%-10s %d steps of batch 256 in %.1f s (%.0f steps/s), final loss %.4f", data, steps, secs, steps / secs, curve[steps - 1]);
    const int snap[5] = { s.T, 3 * s.T / 4, s.T / 2, s.T / 4, 0 };
    Denoiser den = den_toy(&m, &s);
    ch2_sample(&den, &s, x, n, &ctx->rng, ctx->arena, snap, 5, traj);
    double sw, floor_sw;
    quality(ctx, data, x, truth, n, &sw, &floor_sw);
    double support = data_mean_nn_distance(x, n, train, NDATA, 2);
    cli_say("%-10s sliced W1(samples, data) = %.4f, noise floor %.4f (n = %d)", data, sw, floor_sw, n);
    cli_say("%-10s mean distance from a sample to the nearest training point: %.4f", data, support);
    /* A trained model is not exact: it may sit above the floor, but far below N(0, I)'s distance (~0.3). */
    cli_check_le(ctx, "sliced W1 of the trained sampler <= 3 x floor", sw, 3 * floor_sw);
    /* Sliced W1 cannot tell a blob from a spiral; distance to the support can. 0.05 is an eighth of the
     * gap between the swiss roll's arms (0.4): samples that close trace the arms. A blob sits at ~0.1. */
    cli_check_le(ctx, "mean distance to the data's support <= 0.05", support, 0.05);
    char name[64], title[128];
    snprintf(name, sizeof name, "ch2_samples_%s", data);
    snprintf(title, sizeof title, "DDPM samples (eps-prediction MLP, T = %d) vs data: %s", s.T, data);
    rc |= plot_samples(ctx, name, title, x, truth, n);
    rc |= plot_reverse(ctx, data, traj, n, s.T);
    toy_free(&m);
    sched_free(&s);
    return rc;
}

static int cell_2_8_eps(Ctx *ctx) {
    static const char *const both[2] = { "gmm", "swissroll" };
    const char *const *sets = ctx->opts->data ? &ctx->opts->data : both;
    int n_sets = ctx->opts->data ? 1 : 2;
    int steps = ctx->opts->steps > 0 ? (int)ctx->opts->steps : 4000;
    int n = ctx->opts->samples > 0 ? (int)ctx->opts->samples : 2000;
    cli_say("x0 = (x_t - sqrt(1 - abar) eps)/sqrt(abar), so predicting eps is predicting x0 (§2.8):");
    cli_say("mu_theta = (x_t - (1 - alpha_t)/sqrt(1 - abar_t) eps_theta(x_t, t)) / sqrt(alpha_t).");
    cli_say("Train eps_theta (common/toymodel.c: MLP on [x_t, Fourier features, embedding of t]) on");
    cli_say("||eps_theta - eps||^2 with Adam, then sample from x_T ~ N(0, I).");
    float *curves[2];
    int rc = 0;
    for (int k = 0; k < n_sets && !rc; k++) {   /* a failed training (NaN, Ctrl-C) stops the cell */
        curves[k] = cli_alloc(ctx, sizeof(float) * steps);
        rc = train_and_sample(ctx, sets[k], steps, n, curves[k]);
    }
    if (!rc) rc = plot_losses(ctx, curves, sets, n_sets, steps);
    return rc;
}

double ch2_mu_from_eps(const Schedule *s, int t, double xt, double eps) {
    /* §2.8 mu_q = (x_t - (1 - alpha_t) / sqrt(1 - abar_t) eps) / sqrt(alpha_t) */
    return (xt - (1 - s->alpha[t]) / sqrt(1 - s->alpha_bar[t]) * eps) / sqrt(s->alpha[t]);
}

/* ---- 2.9  Inversion by direct denoising (InDI) ------------------------- */

double ch2_indi_step(double xt, double F, double t, double delta) {
    return (delta / t) * F + (1 - delta / t) * xt;   /* §2.9 x_{t-delta} = (delta/t) F(x_t, t) + (1 - delta/t) x_t */
}

static int cell_2_9_indi(Ctx *ctx) {
    enum { N = 2000, STEPS = 100 };
    const double noise = 0.5;
    Gmm g = data_gmm_named("gmm");
    cli_say("InDI: a clean x and a degraded y = x + %.1f n are joined by x_t = (1 - t) x + t y = x + t %.1f n;", noise, noise);
    cli_say("F(x_t, t) = E[x | x_t] (exact here: the mixture's posterior mean at noise t*%.1f) and", noise);
    cli_say("x_{t-d} = (d/t) F + (1 - d/t) x_t walks from y (t = 1) to a restored x (t = 0) in %d steps.", STEPS);
    float *x = cli_alloc(ctx, sizeof(float) * 2 * N), *truth = cli_alloc(ctx, sizeof(float) * 2 * N), *snaps = cli_alloc(ctx, sizeof(float) * 5 * 2 * N);
    Denoiser den = den_gmm(&g);
    double *F = arena_push(ctx->arena, sizeof(double) * 2 * N);
    data_gmm_sample(&g, &ctx->rng, x, N);
    for (int i = 0; i < 2 * N; i++) x[i] += (float)(noise * rng_normal(&ctx->rng));
    double delta = 1.0 / STEPS;
    for (int k = 0, snap = 0; k <= STEPS; k++) {
        double t = 1.0 - k * delta;
        if (k % (STEPS / 4) == 0) memcpy(snaps + (size_t)(snap++) * 2 * N, x, sizeof(float) * 2 * N);
        if (k == STEPS / 2) {   /* mid-way the particles must follow the law of x + 0.5 * noise * n */
            Gmm gt = data_gmm_noised(&g, 1.0, (t * noise) * (t * noise));
            double m, v;
            data_moments(x, N, 2, &m, &v);
            cli_check(ctx, "Var of x_{1/2} (dim 0) vs the interpolation law", v, data_gmm_var(&gt, 0),
                      5 * data_gmm_var(&gt, 0) * sqrt(3.0 / N) + 0.02);   /* 5 s.e. + O(delta) Euler bias */
        }
        if (k == STEPS) break;
        den_predict_f(&den, den_level(1.0, t * noise), x, N, F, NULL, ctx->arena);   /* F = E[x | x_t] */
        for (int i = 0; i < 2 * N; i++) x[i] = (float)ch2_indi_step(x[i], F[i], t, delta);
    }
    double sw, floor_sw;
    quality(ctx, "gmm", x, truth, N, &sw, &floor_sw);
    cli_say("restored: sliced W1 to the clean law %.4f (floor %.4f)", sw, floor_sw);
    cli_check_le(ctx, "sliced W1 after InDI <= 3 x floor (Euler steps add O(delta) bias)", sw, 3 * floor_sw);
    Plot p;
    int rc = plot_open(&p, ctx->out, "ch2_indi_2d");
    if (!rc) {
        for (int k = 0; k < 5; k++) {
            char c[32];
            snprintf(c, sizeof c, "x y at t = %.2f", 1.0 - 0.25 * k);
            plot_points(&p, c, snaps + (size_t)k * 2 * N, N);
        }
        plot_size(&p, 1500, 330);
        plot_cmd(&p, "set multiplot layout 1,5 title 'InDI with the exact conditional mean: from y = x + 0.5 n (t = 1) to x (t = 0)'");
        plot_cmd(&p, "set size ratio -1; set xrange [-2:2]; set yrange [-2:2]; unset key; set xtics 1 font ',9'; set ytics 1 font ',9'");
        for (int k = 0; k < 5; k++) {
            plot_cmd(&p, "set title 't = %.2f'", 1.0 - 0.25 * k);
            plot_cmd(&p, "plot dat index %d using 1:2 with points pt 7 ps 0.2 lc rgb '#238b45'", k);
        }
        plot_cmd(&p, "unset multiplot");
        rc = plot_close(&p);
    }
    return rc;
}

/* ---- 2.8 (images)  The same chain on Fashion-MNIST, with a U-Net ----------- */

/* Images live in [-1, 1] (x = 2 pixel - 1), the range the N(0, I) prior is matched to. Checkpoint:
 * checkpoints/ch2_fmnist.safetensors holds the U-Net ("model.*"), its EMA ("ema.*", used for sampling)
 * and Adam's moments ("adam_m.*", "adam_v.*"), so that training resumes where it stopped; its metadata
 * holds the recipe (unet_train.h: width, attention, T, schedule, prediction target, ...). */
enum { IMG = 28 * 28 };
static const char *const IMG_CKPT = CH2_UNET_CKPT;

/* ./ch2 --train [--recipe K=V,...] [--steps N | --minutes M] [--resume | --overwrite]: trains the U-Net with
 * chapter 2's recipe (unet_recipe_default) changed by --recipe (train.h: checkpoint every 250 steps and on
 * Ctrl-C; a NaN stops training and leaves the last good checkpoint in place). */
static int train_images(const Opts *opts) {
    UnetRecipe r = unet_recipe_default(UNET_EPS);
    if (unet_recipe_parse(&r, opts->recipe)) return 2;
    return unet_train(&r, opts, opts->ckpt ? opts->ckpt : IMG_CKPT);
}

/* Radially averaged power spectrum of 28 x 28 images (orthonormal 2D DFT, computed separably), in
 * NBAND bands of the frequency radius |k| in [0, 14 sqrt 2]: power[b] = mean |X(k)|^2 over images and k in band b. */
enum { NBAND = 6 };
static void power_spectrum(const float *imgs, int n, double *power) {
    static double cs[28][28], sn[28][28];
    for (int a = 0; a < 28; a++)
        for (int b = 0; b < 28; b++) { cs[a][b] = cos(2 * PI * a * b / 28) / sqrt(28.0); sn[a][b] = -sin(2 * PI * a * b / 28) / sqrt(28.0); }
    double count[NBAND] = {0};
    for (int b = 0; b < NBAND; b++) power[b] = 0;
    for (int i = 0; i < n; i++) {
        double re[28][28], im[28][28], re2, im2;
        const float *x = imgs + (size_t)i * IMG;
        for (int r = 0; r < 28; r++)                   /* DFT along rows */
            for (int k = 0; k < 28; k++) {
                re[r][k] = im[r][k] = 0;
                for (int c = 0; c < 28; c++) { re[r][k] += x[r * 28 + c] * cs[k][c]; im[r][k] += x[r * 28 + c] * sn[k][c]; }
            }
        for (int k = 0; k < 28; k++)                   /* then along columns, binned by radius */
            for (int l = 0; l < 28; l++) {
                re2 = im2 = 0;
                for (int r = 0; r < 28; r++) {
                    re2 += re[r][k] * cs[l][r] - im[r][k] * sn[l][r];
                    im2 += re[r][k] * sn[l][r] + im[r][k] * cs[l][r];
                }
                int fk = k <= 14 ? k : 28 - k, fl = l <= 14 ? l : 28 - l;
                int band = (int)(sqrt((double)(fk * fk + fl * fl)) / (14 * sqrt(2.0)) * NBAND);
                if (band >= NBAND) band = NBAND - 1;
                power[band] += re2 * re2 + im2 * im2;
                count[band] += 1;
            }
    }
    for (int b = 0; b < NBAND; b++) power[b] /= count[b];
}

/* n frame times 0 = t_0 < ... < t_{n-1} = T at which the signal amplitude sqrt(abar_t) has fallen to 1, 1 - 1/(n-1),
 * ..., 0: evenly spaced in what is left of the image, so that a strip shows the change instead of n - 2 frames of
 * pure noise (with the linear schedule sqrt(abar) is below 0.1 for the last half of the steps). */
static void visible_times(const Schedule *s, int n, int *t) {
    t[0] = 0;
    for (int j = 1; j < n; j++) {
        double a = 1.0 - (double)j / (n - 1);
        int k = t[j - 1] + 1;
        while (k < s->T && sqrt(s->alpha_bar[k]) > a) k++;
        t[j] = j == n - 1 ? s->T : k;
    }
}

/* Labels "t = ..." under the frames of a strip (n frames), into buf (n, 16). */
static void time_labels(const int *t, int n, char (*buf)[16], const char **labels) {
    for (int j = 0; j < n; j++) {
        snprintf(buf[j], 16, "t = %d", t[j]);
        labels[j] = buf[j];
    }
}

static int cell_2_3i_images(Ctx *ctx) {
    enum { NSPEC = 1000, NSTRIP = 9 };
    Fmnist fm;
    if (fmnist_load(&fm, NULL, 0, NSPEC)) { cli_say("skipped: Fashion-MNIST not available"); return 0; }
    UnetRecipe r = unet_recipe_default(UNET_EPS);   /* the schedule chapter 2's U-Net is trained on */
    const int IMG_T = r.T;
    Schedule s;
    sched_init(&s, r.sched, IMG_T);
    cli_say("x_t = sqrt(abar) x0 + sqrt(1 - abar) eps on an image (pixels scaled to [-1, 1]), %s schedule, T = %d:",
            r.sched == SCHED_COSINE ? "cosine" : "linear", IMG_T);
    float *x = cli_alloc(ctx, sizeof(float) * NSPEC * IMG), *strip = cli_alloc(ctx, sizeof(float) * NSTRIP * IMG);
    for (long k = 0; k < (long)NSPEC * IMG; k++) x[k] = 2.0f * fm.images[k] - 1.0f;
    int ts[NSTRIP];
    visible_times(&s, NSTRIP, ts);
    for (int j = 0; j < NSTRIP; j++)
        for (int k = 0; k < IMG; k++) strip[j * IMG + k] = (float)ch2_q_sample(x[k], s.alpha_bar[ts[j]], rng_normal(&ctx->rng));
    char tl[NSTRIP][16];
    const char *labels[NSTRIP];
    time_labels(ts, NSTRIP, tl, labels);
    char title[160];
    snprintf(title, sizeof title, "q(x_t | x_0) on one image, T = %d: frames where sqrt(ᾱ_t) = 1, 7/8, ..., 1/8, then t = T", IMG_T);
    PlotGridStyle st = { .title = title, .col_labels = labels, .lo = -1, .hi = 1, .scale = 3, .pad = 2, .width = 1000, .height = 230 };
    int rc = plot_image_grid(ctx->out, "ch2_forward_strip", strip, NSTRIP, 28, 28, NSTRIP, &st);
    /* The SNR of each frequency band: signal power abar P(f) against noise power (1 - abar), white eps. */
    double power[NBAND], noise[NBAND];
    power_spectrum(x, NSPEC, power);
    rng_normal_fill(&ctx->rng, x, (long)NSPEC * IMG);
    power_spectrum(x, NSPEC, noise);
    for (int b = 0; b < NBAND; b++) {
        char what[64];
        snprintf(what, sizeof what, "white noise power in band %d (exact 1)", b);
        /* each band averages >= 12 x 1000 coefficients whose power is chi^2_2/2-like with variance 1: 5 s.e. */
        cli_check(ctx, what, noise[b], 1.0, 5.0 / sqrt(12.0 * NSPEC));
    }
    Plot p;
    rc |= plot_open(&p, ctx->out, "ch2_fmnist_snr");
    if (!rc) {
        plot_block(&p, "t, SNR of each frequency band (low to high): abar_t P(f) / (1 - abar_t)");
        for (int t = 1; t <= IMG_T; t++) {
            fprintf(plot_dat(&p), "%d", t);
            for (int b = 0; b < NBAND; b++) fprintf(plot_dat(&p), " %.5g", s.alpha_bar[t] * power[b] / (1 - s.alpha_bar[t]));
            fprintf(plot_dat(&p), "\n");
        }
        plot_size(&p, 800, 450);
        plot_cmd(&p, "set title 'Per-frequency SNR of the forward process on Fashion-MNIST (measured spectrum)'");
        plot_cmd(&p, "set logscale y; set format y '10^{%%L}'; set xlabel 't'; set ylabel 'SNR'; set key top right title 'band 1 = lowest |k|'");
        plot_cmd(&p, "plot for [b=0:%d] dat using 1:(column(b+2)) with lines lw 2 title sprintf('frequency band %%d of %d', b+1), \\", NBAND - 1, NBAND);
        plot_cmd(&p, "     1 with lines dt 2 lc rgb 'black' title 'SNR = 1'");
        rc = plot_close(&p);
    }
    cli_say("High frequencies carry little power, so their SNR falls below 1 first: noise erases detail");
    cli_say("before shape. Band powers, low to high: %.3g %.3g %.3g %.3g %.3g %.3g", power[0], power[1], power[2], power[3], power[4], power[5]);
    cli_check_le(ctx, "highest band power <= lowest band power", power[NBAND - 1], power[0]);
    sched_free(&s);
    fmnist_free(&fm);
    return rc;
}

/* The U-Net's training curve, from the log that ./ch2 --train keeps beside its checkpoint. */
static int plot_image_loss(Ctx *ctx, const char *ckpt) {
    char log_path[600];
    train_log_path(ckpt, log_path, sizeof log_path);
    FILE *f = fopen(log_path, "r");
    if (!f) { cli_say("no training log %s: no loss curve", log_path); return 0; }
    Plot p;
    if (plot_open(&p, ctx->out, "ch2_fmnist_train_loss")) { fclose(f); return 1; }
    plot_block(&p, "step, moving average of the training loss (U-Net, Fashion-MNIST)");
    long step;
    double loss;
    int rows = 0;
    for (; fscanf(f, "%ld %lf", &step, &loss) == 2; rows++) fprintf(plot_dat(&p), "%ld %.5f\n", step, loss);
    fclose(f);
    if (rows < 2) {
        cli_say("training log %s has %d entries: no loss curve", log_path, rows);
        plot_abort(&p);
        return 0;
    }
    plot_size(&p, 800, 450);
    plot_cmd(&p, "set title 'U-Net training on Fashion-MNIST: ||net(x_t, t) - target||^2 (moving average)'");
    char batch[16];   /* the recipe's batch, from the checkpoint's metadata (digits only: it goes into a gnuplot command) */
    if (io_safetensors_metadata(ckpt, "batch", batch, sizeof batch) || !batch[0] || strspn(batch, "0123456789") != strlen(batch))
        snprintf(batch, sizeof batch, "?");
    plot_cmd(&p, "set xlabel 'step (batch %s)'; set ylabel 'loss'; set logscale y; unset key", batch);
    plot_cmd(&p, "plot dat using 1:2 with lines lw 2");
    return plot_close(&p);
}

/* One score log (unet_train.h) as a data block: step, training minutes, Frechet score, floors, max-softmax.
 * Returns the rows written; *last_fid and *last_floor receive the last entry's score and real-data floor. */
static int score_log_block(Plot *p, const char *path, double *last_fid, double *last_floor) {
    FILE *f = fopen(path, "r");
    plot_block(p, "step, training minutes, Frechet score, real-data floor, noise floor, mean max-softmax (N samples each)");
    if (!f) return 0;
    long step;
    double sec, fid, floor_real, floor_noise, soft;
    int rows = 0;
    for (; fscanf(f, "%ld %lf %lf %lf %lf %lf", &step, &sec, &fid, &floor_real, &floor_noise, &soft) == 6; rows++) {
        fprintf(plot_dat(p), "%ld %.3f %.3f %.3f %.3f %.4f\n", step, sec / 60, fid, floor_real, floor_noise, soft);
        *last_fid = fid, *last_floor = floor_real;
    }
    fclose(f);
    return rows;
}

/* The score logs that ./ch2 --train --recipe score_every=K keeps (unet_train.h): the Frechet score of UNET_SCORE_N
 * samples against training time, with the real-data floor at the same N, for the shipped network and, beside it,
 * the plain-loss one (CH2_UNET_PLAIN_CKPT, when its log is there). */
static int plot_image_score(Ctx *ctx, const char *ckpt) {
    char path[600], plain[600];
    io_sibling_path(ckpt, "_score.dat", path, sizeof path);
    io_sibling_path(CH2_UNET_PLAIN_CKPT, "_score.dat", plain, sizeof plain);
    if (access(path, R_OK) != 0) return 0;
    Plot p;
    if (plot_open(&p, ctx->out, "ch2_fmnist_train_score")) return 1;
    double last_fid = 0, last_floor = 1, plain_fid = 0, plain_floor = 1;
    int rows = score_log_block(&p, path, &last_fid, &last_floor);
    int plain_rows = strcmp(path, plain) ? score_log_block(&p, plain, &plain_fid, &plain_floor) : 0;
    if (rows < 2) { plot_abort(&p); return 0; }
    cli_say("score log %s: %d entries, the last %.1f = %.1fx its floor (N = %d, %d deterministic steps)", path, rows,
            last_fid, last_fid / last_floor, UNET_SCORE_N, UNET_SCORE_STEPS);
    if (plain_rows >= 2) cli_say("score log %s: %d entries, the last %.1f = %.1fx its floor", plain, plain_rows, plain_fid, plain_fid / plain_floor);
    plot_size(&p, 800, 450);
    plot_cmd(&p, "set title 'Sample quality during training (N = %d, %d DDIM steps, EMA weights)'", UNET_SCORE_N, UNET_SCORE_STEPS);
    plot_cmd(&p, "set xlabel 'training time (minutes, 2 cores)'; set ylabel 'Fréchet score (lower is better)'; set logscale y");
    plot_cmd(&p, "set key top right");
    plot_cmd(&p, "plot dat index 0 using 2:3 with linespoints lw 2 pt 7 title 'samples (%s)', \\",
             plain_rows >= 2 ? "min-SNR weights, shipped" : "shipped");
    if (plain_rows >= 2) plot_cmd(&p, "     dat index 1 using 2:3 with linespoints lw 2 pt 6 title 'samples (plain loss, ch2\\_fmnist\\_plain)', \\");
    plot_cmd(&p, "     dat index 0 using 2:4 with lines dt 2 lw 2 lc rgb 'black' title 'floor: real training images'");
    return plot_close(&p);
}

static int cell_2_8i_images(Ctx *ctx) {
    enum { NS = 6, NSNAP = 9 };
    int N = ctx->opts->samples > 0 ? (int)ctx->opts->samples : 25;   /* --samples: images drawn and scored */
    if (N < NS) N = NS;
    const char *path = ctx->opts->ckpt ? ctx->opts->ckpt : IMG_CKPT;
    if (!ctx->opts->ckpt && access(path, F_OK) != 0) {   /* no checkpoint at the default place: not an error */
        cli_say("skipped: no image checkpoint at %s; train one with ./ch2 --train", path);
        return 0;
    }
    UnetModel m;   /* the EMA weights, which sampling uses */
    if (unet_model_load(&m, path)) {   /* present but unreadable, or asked for by --ckpt: a failure */
        cli_say("failed: the image checkpoint %s cannot be used (see the error above)", path);
        return 1;
    }
    Schedule s;
    sched_init(&s, m.sched, m.T);
    cli_say("U-Net (%zu parameters, %ld training steps, predicts %s, %s schedule) -> ancestral sampling, T = %d, %d images.",
            nn_params_count(&m.params), m.step, unet_target_names[m.target], m.sched == SCHED_COSINE ? "cosine" : "linear", m.T, N);
    int snap[NSNAP], up[NSNAP];
    visible_times(&s, NSNAP, up);
    for (int k = 0; k < NSNAP; k++) snap[k] = up[NSNAP - 1 - k];   /* descending: the sampler meets them in this order */
    float *x = cli_alloc(ctx, sizeof(float) * N * IMG), *strips = cli_alloc(ctx, sizeof(float) * NSNAP * N * IMG);
    double t0 = cli_seconds();
    Denoiser den = den_unet(&m, &s, 1);   /* x0_hat kept inside the pixels' range [-1, 1] */
    ch2_sample(&den, &s, x, N, &ctx->rng, ctx->arena, snap, NSNAP, strips);
    cli_say("sampled in %.1f s", cli_seconds() - t0);
    double mean = 0;
    for (int k = 0; k < N * IMG; k++) mean += x[k];
    cli_say("mean pixel of the samples %.3f (data: %.3f)", mean / (N * IMG) * 0.5 + 0.5, 0.286);
    FidScore score;
    fid_report("DDPM ancestral samples", x, N, -1.0f, 1.0f, &score);
    int rc = image_samples_write(ctx->out, "ch2_fmnist_samples", x, N, image_grid_cols(N), N <= 100 ? 3 : 1, -1.0f, 1.0f);
    if (!isfinite(mean)) { cli_say("failed: the samples hold NaN or inf (broken weights in %s?)", path); rc = 1; }
    /* reverse strips: row = one sample, columns = t from T to 0 */
    float *rows = cli_alloc(ctx, sizeof(float) * NS * NSNAP * IMG);
    for (int i = 0; i < NS; i++)
        for (int k = 0; k < NSNAP; k++) memcpy(rows + ((size_t)i * NSNAP + k) * IMG, strips + ((size_t)k * N + i) * IMG, sizeof(float) * IMG);
    char tl[NSNAP][16];
    const char *labels[NSNAP];
    time_labels(snap, NSNAP, tl, labels);
    char rtitle[120];
    snprintf(rtitle, sizeof rtitle, "Reverse process with the U-Net (T = %d): each row one sample, x_t at the times below", m.T);
    PlotGridStyle st = { .title = rtitle,
                         .col_labels = labels, .lo = -1, .hi = 1, .scale = 3, .pad = 2, .width = 1000, .height = 700 };
    rc |= plot_image_grid(ctx->out, "ch2_fmnist_reverse", rows, NS * NSNAP, 28, 28, NSNAP, &st);
    if (!rc) cli_say("figures %s/ch2_fmnist_samples.png (+ .idx-ubyte: ./score scores it again), %s/ch2_fmnist_reverse.png", ctx->out, ctx->out);
    rc |= plot_image_loss(ctx, path);
    rc |= plot_image_score(ctx, path);
    sched_free(&s);
    unet_model_free(&m);
    return rc;
}

/* ---- 2.9 (images)  InDI on Fashion-MNIST with the exact denoiser of a finite set ---- */

double ch2_indi_gauss_gain(double v, double s, int K) {
    /* §2.9 x ~ N(0, v), y = x + s n: x_t = x + t s n and F(x_t, t) = E[x | x_t] = v / (v + t^2 s^2) x_t (linear, exact).
     * K InDI steps of delta = 1/K from x_1 = y map y to P_K y; run them on y = 1. */
    double x = 1.0, delta = 1.0 / K;
    for (int k = 0; k < K; k++) {
        double t = 1.0 - k * delta;
        x = ch2_indi_step(x, v / (v + t * t * s * s) * x, t, delta);
    }
    return x;
}

enum { INDI_SET = 1000, INDI_TEST = 24, INDI_SHOW = 6, INDI_K = 40, INDI_COLS = 7 };

/* The image strip as one gnuplot canvas: rows of 28 x 28 frames with a 2-pixel gap, column titles on top. */
static int plot_indi_strip(Ctx *ctx, const float *frames, int rows, const char *const *titles) {
    enum { P = 30 };
    Plot p;
    if (plot_open(&p, ctx->out, "ch2_indi_strip")) return 1;
    plot_block(&p, "the canvas as a matrix: pixel values in [-1, 1] (NaN = gap); rows of frames, 7 columns");
    for (int Y = rows * P - 1; Y >= 0; Y--) {   /* matrix rows bottom to top, so image row 0 ends up on top */
        for (int X = 0; X < INDI_COLS * P; X++) {
            int r = Y / P, c = X / P, py = Y % P, px = X % P;
            if (py >= 28 || px >= 28) { fprintf(plot_dat(&p), "NaN "); continue; }
            fprintf(plot_dat(&p), "%.3f ", frames[((size_t)r * INDI_COLS + c) * 784 + py * 28 + px]);
        }
        fprintf(plot_dat(&p), "\n");
    }
    plot_size(&p, 1100, 170 * rows / 2 + 150);
    plot_cmd(&p, "set title 'InDI on Fashion-MNIST: y = x + 2n, x_{t-δ} = (δ/t) F(x_t, t) + (1 - δ/t) x_t, F = ideal denoiser of %d training images' font ',11'", INDI_SET);
    plot_cmd(&p, "set palette gray; set cbrange [-1:1]; unset colorbox; unset border; unset tics; set size ratio -1");
    plot_cmd(&p, "set xrange [-0.5:%d]; set yrange [-0.5:%d]", INDI_COLS * P - 2, rows * P + 6);
    for (int c = 0; c < INDI_COLS; c++)
        plot_cmd(&p, "set label %d '%s' at %d, %d center font ',10'", c + 1, titles[c], c * P + 14, rows * P + 3);
    plot_cmd(&p, "plot dat matrix with image notitle");
    return plot_close(&p);
}

/* RMS distance between two images (784 pixels). */
static double rms(const float *a, const float *b) {
    double s = 0;
    for (int k = 0; k < IMG; k++) s += (double)(a[k] - b[k]) * (a[k] - b[k]);
    return sqrt(s / IMG);
}

/* The case with a closed form first: Gaussian x ~ N(0, 0.5), y = x + n, the walk's variance error and its order. */
static void indi_gauss_check(Ctx *ctx) {
    const double v = 0.5, s_g = 1.0, P = sqrt(v / (v + s_g * s_g));
    cli_say("First the case with a closed form: x ~ N(0, %.1f), y = x + %.0f n. Then F(x_t, t) = v/(v + t^2 s^2) x_t is", v, s_g);
    cli_say("exact and K InDI steps map y to P_K y; the exact flow gives P = sqrt(v/(v + s^2)), i.e. x_0 ~ N(0, v) again.");
    for (int K = 40; K <= 640; K *= 4) {
        double PK = ch2_indi_gauss_gain(v, s_g, K);
        cli_say("  K = %3d: Var(x_0)/v - 1 = %+.5f (first order in delta = 1/K)", K, PK * PK / (P * P) - 1);
    }
    double e1 = ch2_indi_gauss_gain(v, s_g, 160) / P - 1, e2 = ch2_indi_gauss_gain(v, s_g, 320) / P - 1;
    cli_check(ctx, "Gaussian InDI: error ratio K = 160 vs 320 (first order: 2)", e1 / e2, 2.0, 0.05);   /* O(delta) of 2 */
}

static int cell_2_9i_indi_images(Ctx *ctx) {
    const double sn = 2.0;
    Fmnist tr, te;
    indi_gauss_check(ctx);
    if (fmnist_load(&tr, NULL, 1, INDI_SET)) { cli_say("skipped: Fashion-MNIST not available"); return 0; }
    if (fmnist_load(&te, NULL, 0, INDI_TEST)) { fmnist_free(&tr); cli_say("skipped: Fashion-MNIST test set not available"); return 0; }
    cli_say("Images: the data set is %d training images (pixels in [-1, 1]); x uniform on it has an exact", INDI_SET);
    cli_say("ideal denoiser E[x | x + sigma n] (softmax-weighted mean, data_points_denoise). A test image x, not");
    cli_say("in the set, is degraded to y = x + %.0f n and walked back along x_t = (1 - t) x + t y in %d steps.", sn, INDI_K);
    float *set = cli_alloc(ctx, sizeof(float) * INDI_SET * IMG), *frames = cli_alloc(ctx, sizeof(float) * INDI_TEST * INDI_COLS * IMG);
    for (long k = 0; k < (long)INDI_SET * IMG; k++) set[k] = 2 * tr.images[k] - 1;
    double t0 = cli_seconds(), mse_y = 0, mse_one = 0, mse_indi = 0, worst_mem = 0;
    int same_class = 0;
    for (int i = 0; i < INDI_TEST; i++) {
        float *fr = frames + (size_t)i * INDI_COLS * IMG, x[IMG];   /* columns: x, y, t = .75, .5, .25, 0, F(y, 1) */
        double xd[IMG], F[IMG];
        for (int k = 0; k < IMG; k++) {
            fr[k] = 2 * te.images[(size_t)i * IMG + k] - 1;
            x[k] = fr[IMG + k] = (float)(fr[k] + sn * rng_normal(&ctx->rng));
            xd[k] = x[k];
        }
        data_points_denoise(set, INDI_SET, IMG, 1.0, sn * sn, xd, F);   /* one step: the posterior mean given y */
        for (int k = 0; k < IMG; k++) fr[6 * IMG + k] = (float)F[k];
        double delta = 1.0 / INDI_K;
        for (int k = 0; k < INDI_K; k++) {
            double t = 1.0 - k * delta;
            for (int j = 0; j < IMG; j++) xd[j] = x[j];
            data_points_denoise(set, INDI_SET, IMG, 1.0, (t * sn) * (t * sn), xd, F);   /* x_t = x + t sn n */
            for (int j = 0; j < IMG; j++) x[j] = (float)ch2_indi_step(x[j], F[j], t, delta);
            if ((k + 1) % (INDI_K / 4) == 0) memcpy(fr + (size_t)(2 + (k + 1) / (INDI_K / 4) - 1) * IMG, x, sizeof(float) * IMG);
        }
        int nearest = 0;
        double dmin = INFINITY;
        for (int j = 0; j < INDI_SET; j++) {
            double d = rms(x, set + (size_t)j * IMG);
            if (d < dmin) { dmin = d; nearest = j; }
        }
        worst_mem = fmax(worst_mem, dmin);
        same_class += tr.labels[nearest] == te.labels[i];
        mse_y += pow(rms(fr + IMG, fr), 2) / INDI_TEST;
        mse_one += pow(rms(fr + 6 * IMG, fr), 2) / INDI_TEST;
        mse_indi += pow(rms(x, fr), 2) / INDI_TEST;
    }
    cli_say("%d test images restored in %.1f s", INDI_TEST, cli_seconds() - t0);
    /* the last step has t = delta: F is a softmax at temperature (delta sn)^2 = 6e-4 over distances ~ 10, one-hot */
    cli_check_le(ctx, "the end point is a training image: max RMS distance to the nearest", worst_mem, 1e-3);
    cli_say("mean squared error per pixel against the clean x: y %.3f, one step F(y, 1) %.3f, InDI %.3f", mse_y, mse_one, mse_indi);
    cli_say("InDI ends exactly on a training image (the ideal denoiser of a finite set can only return its members:");
    cli_say("memorisation), of the test image's class for %d of %d (chance 1 in 10). With 1000 images the posterior", same_class, INDI_TEST);
    cli_say("at t = 1 already sits on a few of them, so the one-step mean F(y, 1) hedges between those few (lower");
    cli_say("squared error, slightly blurred where they disagree) while the small steps commit to one.");
    cli_check_le(ctx, "InDI's end point is closer to x than y is (MSE)", mse_indi, mse_y);
    static const char *const titles[INDI_COLS] = { "clean x", "y (t = 1)", "t = 0.75", "t = 0.5", "t = 0.25", "t = 0", "F(y, 1)" };
    int rc = plot_indi_strip(ctx, frames, INDI_SHOW, titles);
    fmnist_free(&tr);
    fmnist_free(&te);
    return rc;
}

/* ---- the chapter, cell by cell ----------------------------------------- */

static const Cell CELLS[] = {
    { "2.1", "chain",     "building blocks: the forward chain q(x_t | x_{t-1})",          cell_2_1_chain },
    { "2.2", "scalars",   "the magical scalars sqrt(alpha_t) and 1 - alpha_t",             cell_2_2_scalars },
    { "2.3", "marginal",  "the distribution q(x_t | x_0)",                                 cell_2_3_marginal },
    { "2.3i","noising",   "q(x_t | x_0) on an image, and the per-frequency SNR",           cell_2_3i_images },
    { "2.4", "elbo",      "the ELBO of the chain and its per-step weights",                cell_2_4_elbo },
    { "2.5", "bayes",     "rewriting the consistency term with Bayes' rule",               cell_2_5_bayes },
    { "2.6", "posterior", "the posterior q(x_{t-1} | x_t, x_0)",                           cell_2_6_posterior },
    { "2.7", "oracle",    "inference with the ideal denoiser E[x_0 | x_t]",                cell_2_7_oracle },
    { "2.8", "eps",       "training on the noise vector, ancestral sampling (2D)",         cell_2_8_eps },
    { "2.8i","images",    "sampling Fashion-MNIST with the trained U-Net",                 cell_2_8i_images },
    { "2.9", "indi",      "inversion by direct denoising (InDI), exact conditional mean",  cell_2_9_indi },
    /* appended, not inserted in PDF order: each cell's random stream is seeded by its index in this table */
    { "2.9i","indi-images", "InDI on Fashion-MNIST with the exact finite-set denoiser; Gaussian closed form", cell_2_9i_indi_images },
    { "2.7t","x0",        "the PDF's training algorithm: predict x0; same objective as eps up to SNR(t)", cell_2_7t_x0 },
};

/* The cell table, for tests/test_tutorial.c: every `./ch2 --cell X` that tutorial.md names must be in it. */
const Cell *ch2_cells(int *n) {
    *n = (int)COUNT_OF(CELLS);
    return CELLS;
}

#ifndef CHAPTER_NO_MAIN
int main(int argc, char **argv) {
    static const CliSpec spec = { "ch2", "Denoising diffusion probabilistic models (PDF chapter 2)",
                                  CLI_DATA | CLI_STEPS | CLI_SAMPLES | CLI_TRAIN | CLI_RECIPE, DATA_TOY_NAMES,
                                  "the Fashion-MNIST U-Net (20 minutes of wall clock by default; --steps or --minutes)" };
    return cli_main(argc, argv, &spec, CELLS, COUNT_OF(CELLS), train_images);
}
#endif
