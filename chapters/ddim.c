/* ddim.c: DDIM (denoising diffusion implicit models) and fast sampling, its own program beside PDF
 * chapter 2: eta-sampling, step skipping, deterministic inversion, quality against the number of network
 * evaluations, and the optimisation view (Permenter and Yuan, "Interpreting and Improving Diffusion
 * Models from an Optimization Perspective"; the smalldiffusion library).
 *
 *   make ddim && ./ddim --list        the cells
 *   ./ddim                            everything (about 40 s on 2 cores)
 *   ./ddim --cell nfe --samples 4000  one cell, more samples
 *
 * Cells: d.1 the exact testbed (ideal denoisers, memorisation) · d.2 one sampler family in two notations ·
 * d.3 eta and step skipping · d.4 quality against cost · d.5 inversion (2D and Fashion-MNIST) ·
 * d.6 the optimisation view · d.7 Fashion-MNIST samples at 10, 20, 50 and 250 steps.
 * Figures (figures/): ddim_memorisation, ddim_traj_2d, ddim_eta_spacing, ddim_nfe, ddim_inversion_error,
 * ddim_fmnist_inversion, ddim_fmnist_slerp, ddim_optim_view, ddim_fmnist_steps.
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
#include "fmnist.h"
#include "image.h"
#include "plot.h"
#include "schedule.h"
#include "toymodel.h"
#include "unet.h"

/* ---- the denoisers, exact and trained ------------------------------------ */

void ddim_eps(const DdimDenoiser *den, const Schedule *s, int t, const float *xt, int n, double *eps_hat, Arena *arena) {
    CHECK(t >= 1 && t <= s->T, "t = %d outside 1..%d", t, s->T);
    int D = den->D;
    double ab = s->alpha_bar[t], a = sqrt(ab), b = sqrt(1.0 - ab);
    size_t nd = (size_t)n * D;
    if (den->kind == DDIM_TOY || den->kind == DDIM_UNET) {
        size_t mark = arena_pos(arena);
        float *e = arena_push_no_zero(arena, sizeof(float) * nd);
        if (den->kind == DDIM_TOY) toy_predict_eps(den->toy, xt, n, t, e, arena);
        else unet_model_eps(den->unet, xt, n, t, e, arena);
        for (size_t j = 0; j < nd; j++) eps_hat[j] = e[j];
        arena_pop_to(arena, mark);
        if (den->clip)   /* pixels live in [-1, 1]: clamp x0_hat there and re-derive the eps it implies */
            for (size_t j = 0; j < nd; j++) {
                double x0 = (xt[j] - b * eps_hat[j]) / a;   /* §2.8 x0_hat = (x_t - sqrt(1-abar) eps_hat)/sqrt(abar) */
                x0 = x0 < -1 ? -1 : x0 > 1 ? 1 : x0;
                eps_hat[j] = (xt[j] - a * x0) / b;
            }
        return;
    }
    CHECK(D <= 2, "exact denoisers are for D <= 2 (D = %d)", D);
    #pragma omp parallel for schedule(static)
    for (int i = 0; i < n; i++) {
        double x[2] = { xt[i * D], D == 2 ? xt[i * D + 1] : 0.0 }, x0[2];
        if (den->kind == DDIM_GMM) data_gmm_denoise(den->gmm, a, 1.0 - ab, x, x0);
        else data_points_denoise(den->pts, den->n_pts, D, a, 1.0 - ab, x, x0);
        for (int d = 0; d < D; d++) eps_hat[i * D + d] = (x[d] - a * x0[d]) / b;   /* §2.8 eps from x0 */
    }
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
    /* §DDIM c = eta sqrt((1 - abar_s)/(1 - abar_t)) sqrt(1 - abar_t/abar_s) */
    return eta * sqrt((1.0 - ab_s) / (1.0 - ab_t)) * sqrt(1.0 - ab_t / ab_s);
}

double ddim_step(const Schedule *s, int t, int s_prev, double eta, double xt, double eps_hat, double w) {
    double ab_t = s->alpha_bar[t], ab_s = s->alpha_bar[s_prev];
    double c = ddim_noise_scale(s, t, s_prev, eta);
    double x0_hat = (xt - sqrt(1.0 - ab_t) * eps_hat) / sqrt(ab_t);   /* §2.8 */
    double dir = 1.0 - ab_s - c * c;                                   /* >= 0 for eta <= 1; rounding at s = 0 */
    /* §DDIM x_s = sqrt(abar_s) x0_hat + sqrt(1 - abar_s - c^2) eps_hat + c w */
    return sqrt(ab_s) * x0_hat + sqrt(dir > 0 ? dir : 0.0) * eps_hat + c * w;
}

double ddim_ddpm_step(const Schedule *s, int t, int s_prev, double xt, double eps_hat, double w) {
    double ab_t = s->alpha_bar[t], ab_s = s->alpha_bar[s_prev], alpha_ts = ab_t / ab_s;
    double x0_hat = (xt - sqrt(1.0 - ab_t) * eps_hat) / sqrt(ab_t);
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
    /* §DDIM z' = z - (sigma - sigma_p) eps_av + sqrt(sigma_next^2 - sigma_p^2) w */
    return z - (sigma - sigma_p) * eps_av + sqrt(fresh > 0 ? fresh : 0.0) * w;
}

/* ---- samplers over a sub-sequence ------------------------------------------ */

static void snapshot(float *traj, int k, const float *x, size_t nd) {
    if (traj) memcpy(traj + (size_t)k * nd, x, sizeof(float) * nd);
}

void ddim_sample(const DdimDenoiser *den, const Schedule *s, const int *ts, int K, double eta,
                 float *x, int n, Rng *rng, Arena *arena, float *traj) {
    size_t nd = (size_t)n * den->D, mark = arena_pos(arena);
    double *eps = arena_push_no_zero(arena, sizeof(double) * nd), *xd = arena_push_no_zero(arena, sizeof(double) * nd);
    for (size_t j = 0; j < nd; j++) xd[j] = x[j];   /* the state is kept in double; the network sees floats */
    snapshot(traj, 0, x, nd);
    for (int k = 0; k < K; k++) {
        int t = ts[k], sp = ts[k + 1];
        ddim_eps(den, s, t, x, n, eps, arena);
        int noisy = ddim_noise_scale(s, t, sp, eta) > 0;
        for (size_t j = 0; j < nd; j++) {
            xd[j] = ddim_step(s, t, sp, eta, xd[j], eps[j], noisy ? rng_normal(rng) : 0.0);
            x[j] = (float)xd[j];
        }
        snapshot(traj, k + 1, x, nd);
    }
    arena_pop_to(arena, mark);
}

void ddim_ddpm_sample(const DdimDenoiser *den, const Schedule *s, const int *ts, int K,
                      float *x, int n, Rng *rng, Arena *arena, float *traj) {
    size_t nd = (size_t)n * den->D, mark = arena_pos(arena);
    double *eps = arena_push_no_zero(arena, sizeof(double) * nd), *xd = arena_push_no_zero(arena, sizeof(double) * nd);
    for (size_t j = 0; j < nd; j++) xd[j] = x[j];
    snapshot(traj, 0, x, nd);
    for (int k = 0; k < K; k++) {
        int t = ts[k], sp = ts[k + 1];
        ddim_eps(den, s, t, x, n, eps, arena);
        for (size_t j = 0; j < nd; j++) {
            xd[j] = ddim_ddpm_step(s, t, sp, xd[j], eps[j], sp > 0 ? rng_normal(rng) : 0.0);
            x[j] = (float)xd[j];
        }
        snapshot(traj, k + 1, x, nd);
    }
    arena_pop_to(arena, mark);
}

void ddim_family_sample(const DdimDenoiser *den, const Schedule *s, const int *ts, int K, double gamma, double mu,
                        float *x, int n, Rng *rng, Arena *arena, float *traj) {
    size_t nd = (size_t)n * den->D, mark = arena_pos(arena);
    double *z = arena_push_no_zero(arena, sizeof(double) * nd);
    double *eps = arena_push_no_zero(arena, sizeof(double) * nd), *eps_prev = arena_push_no_zero(arena, sizeof(double) * nd);
    double sigma0 = sched_sigma(s, ts[0]);
    for (size_t j = 0; j < nd; j++) z[j] = x[j] * sqrt(1.0 + sigma0 * sigma0);   /* z = x_t / sqrt(abar_t) */
    snapshot(traj, 0, x, nd);
    for (int k = 0; k < K; k++) {
        double sigma = sched_sigma(s, ts[k]), sigma_next = sched_sigma(s, ts[k + 1]);
        ddim_eps(den, s, ts[k], x, n, eps, arena);          /* x holds z / sqrt(1 + sigma^2): the network's input */
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

void ddim_invert(const DdimDenoiser *den, const Schedule *s, const int *ts, int K, float *x, int n, Arena *arena) {
    size_t nd = (size_t)n * den->D, mark = arena_pos(arena);
    double *z = arena_push_no_zero(arena, sizeof(double) * nd), *eps = arena_push_no_zero(arena, sizeof(double) * nd);
    CHECK(ts[K] == 0, "inversion starts from clean data, ts[K] = %d", ts[K]);
    for (size_t j = 0; j < nd; j++) z[j] = x[j];    /* sigma = 0: z = x0 */
    for (int k = K; k > 0; k--) {
        double sigma = sched_sigma(s, ts[k]), sigma_up = sched_sigma(s, ts[k - 1]);
        for (size_t j = 0; j < nd; j++) x[j] = (float)(z[j] / sqrt(1.0 + sigma_up * sigma_up));
        ddim_eps(den, s, ts[k - 1], x, n, eps, arena);
        /* §DDIM eta = 0 read upward: z' = z + (sigma' - sigma) eps_hat, eps_hat taken at the point we stand on */
        for (size_t j = 0; j < nd; j++) z[j] += (sigma_up - sigma) * eps[j];
    }
    double sigma_T = sched_sigma(s, ts[0]);
    for (size_t j = 0; j < nd; j++) x[j] = (float)(z[j] / sqrt(1.0 + sigma_T * sigma_T));
    arena_pop_to(arena, mark);
}

double ddim_sliced_w1(const float *a, const float *b, int n) {
    Rng proj = rng_seed(20240318);   /* the same 200 directions every time */
    return data_sliced_wasserstein(a, b, n, 2, 200, &proj);
}
