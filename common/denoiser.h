/* denoiser.h: the tutorial's central object. A denoiser, a noise predictor and a score are one thing seen
 * three ways (§2.8, §3.3 Tweedie); every sampler in the project takes a `const Denoiser *` and a noise level.
 *
 *   Gmm g = data_gmm_named("gmm");
 *   Denoiser den = den_gmm(&g);                         exact E[x0 | x_t] of a mixture (or den_points,
 *                                                       den_toy, den_unet: switching is one argument)
 *   DenLevel l = den_level_vp(&sched, t);               x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps
 *   den_predict(&den, l, x, n, x0_hat, eps_hat, &arena); both views at once (either may be NULL)
 *   den_score(&den, l, x, n, score, &arena);            grad log p_t(x) = -eps_hat / b
 *
 * The noise level. Every forward process in the tutorial puts x = a x0 + b eps, eps ~ N(0, I):
 *   DDPM, VP (§2.3):  a = sqrt(abar_t), b = sqrt(1 - abar_t)
 *   SMLD, VE (§3.4):  a = 1,            b = sigma
 *   flow (§flow):     a = 1 - t,        b = t
 * Any level is a flow level after dividing by a + b: x / (a + b) = (1 - t) x0 + t eps with t = b / (a + b)
 * (den_flow_time). So a VP step abar sits at t = sqrt(1 - abar) / (sqrt(abar) + sqrt(1 - abar)), and a flow
 * time t is the VP level abar = (1 - t)^2 / ((1 - t)^2 + t^2) (den_flow_abar) with x_vp = x / sqrt((1-t)^2 + t^2).
 * Dividing by a gives x / a = x0 + (b / a) eps, so the pairs differ only by a scale: a denoiser that knows
 * E[x0 | x] for one of them knows it for all. The exact denoisers take (a, b) as they are. A network trained
 * on a VP schedule `sched` is fed x / sqrt(a^2 + b^2) (the VP-scaled input) at its own time input `t`:
 * den_level_vp sets t to the step, den_level(a, b) leaves t < 0 and the network uses the step of its
 * schedule whose alpha_bar is nearest to a^2 / (a^2 + b^2). eps and x0 do not change under the scaling.
 *
 * The three (four) views of one prediction, for x = a x0 + b eps, written once below:
 *   x0_hat  = (x - b eps_hat) / a                  §2.8
 *   eps_hat = (x - a x0_hat) / b                   §2.8
 *   score   = -eps_hat / b = (a x0_hat - x) / b^2  §3.3 Tweedie
 *   v_hat   = eps_hat - x0_hat                     §flow velocity d x_t / dt on the path a = 1 - t, b = t
 *
 * Ownership: a Denoiser only points at what it uses (the mixture, the points, the network); the caller owns
 * them and keeps them alive. Temporaries come from the arena passed in and are popped before returning.
 * Inputs and outputs are double (n, D): a float state converts to double and back without loss, and the
 * exact denoisers work in double. Programmer errors (a level with b <= 0, D > 2 for the exact ones) CHECK.
 */
#ifndef DENOISER_H
#define DENOISER_H

#include "data.h"
#include "schedule.h"
#include "tensor.h"
#include "toymodel.h"
#include "unet.h"

/* ---- the noise level ---- */
typedef struct {
    double a, b;   /* x = a x0 + b eps */
    double s2;     /* b^2, kept as the equations write it (1 - abar_t, sigma^2): the exact denoisers use it */
    double t;      /* the network's time input (a step of its schedule), or < 0: nearest step by alpha_bar */
} DenLevel;

/* §2.3 VP step t of schedule s: a = sqrt(alpha_bar[t]), s2 = 1 - alpha_bar[t], b = sqrt(s2), t = t. */
DenLevel den_level_vp(const Schedule *s, int t);
/* §3.4 VE noise level sigma: a = 1, b = sigma. */
DenLevel den_level_ve(double sigma);
/* §flow time t in (0, 1]: a = 1 - t, b = t. */
DenLevel den_level_flow(double t);
/* Any (a, b), s2 = b^2, no network time. */
DenLevel den_level(double a, double b);
/* Any (a, s2), b = sqrt(s2): for a process that gives the variance (§4.2 SDE marginals), kept exact. */
DenLevel den_level_s2(double a, double s2);
/* §flow the rectified-flow time of a level, t = b / (a + b): x / (a + b) = (1 - t) x0 + t eps. */
double   den_flow_time(DenLevel l);
/* §flow the VP alpha_bar of flow time t: abar = (1 - t)^2 / ((1 - t)^2 + t^2) (x_vp = x_flow / sqrt((1-t)^2 + t^2)). */
double   den_flow_abar(double t);

/* ---- the conversions, scalar, written once ---- */
static inline double den_x0_from_eps(DenLevel l, double x, double eps)  { return (x - l.b * eps) / l.a; }   /* §2.8 */
static inline double den_eps_from_x0(DenLevel l, double x, double x0)   { return (x - l.a * x0) / l.b; }   /* §2.8 */
static inline double den_score_from_eps(DenLevel l, double eps)         { return -eps * (1.0 / l.b); }    /* §3.3 */
static inline double den_eps_from_score(DenLevel l, double score)       { return -l.b * score; }           /* §3.3 */
static inline double den_velocity_from(double x0, double eps)           { return eps - x0; }               /* §flow */

/* ---- the denoiser ---- */
typedef enum {
    DEN_GMM,      /* exact E[x0 | x] of a Gaussian mixture (data_gmm_denoise) */
    DEN_POINTS,   /* exact E[x0 | x] when x0 is uniform on a finite set: a softmax-weighted mean */
    DEN_TOY,      /* a trained 2D network (toymodel.h: eps, or x0 when its target is x0) on the VP schedule `sched` */
    DEN_UNET,     /* a trained Fashion-MNIST U-Net (unet.h): eps, x0 or v on the VP schedule `sched`, or a velocity (flow) */
    DEN_TOY_FLOW, /* a trained 2D velocity network v_theta(x, t) (toymodel.h, time input TOY_FLOW_TIME t) on the
                     flow path: a level is mapped to its flow time, x0_hat = x_f - t v, eps_hat = x_f + (1 - t) v */
    DEN_SCORE_FN  /* any model that gives the score itself (chapter 3's noise-conditional network) */
} DenKind;

/* A score model: score (n, D) = grad log p_l(x) at level l for x (n, D); temporaries from the arena. */
typedef void DenScoreFn(const void *model, DenLevel l, const double *x, int n, double *score, Arena *arena);

typedef struct {
    DenKind         kind;
    int             D;       /* numbers per sample: 1 or 2 for points, 784 for images */
    const Gmm      *gmm;     /* DEN_GMM */
    const float    *pts;     /* DEN_POINTS: (n_pts, D) */
    int             n_pts;
    ToyModel       *toy;     /* DEN_TOY */
    UnetModel      *unet;    /* DEN_UNET */
    const Schedule *sched;   /* DEN_TOY, DEN_UNET: the schedule the network was trained on */
    DenScoreFn     *score_fn;   /* DEN_SCORE_FN, with its model */
    const void     *model;
    int             clip;    /* 1: keep x0_hat inside [-1, 1] (pixels) and re-derive eps_hat from it */
} Denoiser;

Denoiser den_gmm(const Gmm *g);
Denoiser den_points(const float *pts, int n_pts, int D);
Denoiser den_toy(ToyModel *m, const Schedule *sched);
Denoiser den_unet(UnetModel *m, const Schedule *sched, int clip);
Denoiser den_toy_flow(ToyModel *m);
Denoiser den_score_fn(DenScoreFn *fn, const void *model, int D);

/* x0_hat and eps_hat (n, D) for x (n, D) at level l; either output may be NULL. */
void den_predict(const Denoiser *den, DenLevel l, const double *x, int n, double *x0_hat, double *eps_hat, Arena *arena);
/* The same for a float state x (n, D), the samplers' usual one (converted to double without loss). */
void den_predict_f(const Denoiser *den, DenLevel l, const float *x, int n, double *x0_hat, double *eps_hat, Arena *arena);
/* §3.3 score (n, D) = grad log p_l(x) = -eps_hat / b. The mixture's is its closed-form gradient (the same
 * number up to rounding, and defined at b = 0 too: the clean law's score); a DEN_SCORE_FN model's is its own. */
void den_score(const Denoiser *den, DenLevel l, const double *x, int n, double *score, Arena *arena);
/* §flow velocity (n, D) = eps_hat - x0_hat; meaningful on the flow path (l from den_level_flow). */
void den_velocity(const Denoiser *den, DenLevel l, const double *x, int n, double *v, Arena *arena);

/* §flow the velocity v (n, D) and its divergence div (n) = tr(dv/dx), exactly (no finite differences), at level l,
 * for D <= 2: closed form for DEN_GMM (div v = D/b - (1 + a/b)(a/b^2) tr Cov[x0 | x], data_gmm_posterior_cov),
 * D backward passes through the network for DEN_TOY and DEN_TOY_FLOW (toy_jacobian). v may be NULL.
 * DEN_TOY_FLOW also takes the path's ends, a = 0 or b = 0 (the network is defined there). */
void den_velocity_div(const Denoiser *den, DenLevel l, const double *x, int n, double *v, double *div, Arena *arena);

/* ---- the deterministic sampler, written once ---- */

/* A ladder of K + 1 noise levels, l[0] the noisiest and l[K] clean (a = 1, b = 0): the VP steps ts[0] > ... >
 * ts[K] = 0 of s (step 0 is the clean level), the uniform ones t_k = round(T (K - k) / K), or the flow times
 * t_k = (K - k) / K. */
void den_ladder_vp(const Schedule *s, const int *ts, int K, DenLevel *l);
void den_ladder_vp_uniform(const Schedule *s, int K, DenLevel *l);
void den_ladder_flow(int K, DenLevel *l);
/* §3.4 SMLD's ladder on any VP network: K levels sigma_k = sigma_max (sigma_min / sigma_max)^(k / (K - 1)),
 * geometric, each the VE level x0 + sigma eps scaled to a^2 + b^2 = 1 (a = 1 / sqrt(1 + sigma^2), b = sigma a;
 * the network takes its nearest step), then l[K] clean. */
void den_ladder_sigma(double sigma_max, double sigma_min, int K, DenLevel *l);
/* §d.4 K deterministic steps down the ladder l from x (n, D) at level l[0], in place. Rows go to the denoiser
 * at most DEN_CHUNK numbers at a time (bounds a network's activations; every denoiser treats rows alone).
 *   order 1, DDIM eta = 0 (on the flow path the same update is the Euler step of the ODE):
 *            x_s = a_s x0_hat + b_s eps_hat
 *   order 2, DPM-Solver++(2M) (Lu et al. 2022): x0_hat extrapolated linearly in lambda = log(a / b) over the
 *            step, from this level's x0_hat and the previous one's x0_prev:
 *            x_s = a_s x0_hat + b_s eps_hat + a_s (1 - e^-h) (x0_hat - x0_prev) / (2 r),
 *            h = lambda_s - lambda_t, r = h_prev / h. The first step (no x0_prev) and the last (b_s = 0,
 *            h infinite) are order 1. Still one network evaluation per step. */
enum { DEN_CHUNK = 100 * 784 };
void den_sample_ode(const Denoiser *den, const DenLevel *l, int K, int order, double *x, int n, Arena *arena);
/* The same for a float state x (n, D) (held in double between steps, converted back at the end). */
void den_sample_ode_f(const Denoiser *den, const DenLevel *l, int K, int order, float *x, int n, Arena *arena);

/* §4.5 predictor-corrector down the ladder l from x (n, D) at l[0], in place: each step is den_sample_ode's step
 * of order `order` to l[k + 1] (the predictor), then, where that level is noisy (b > 0), M Langevin steps at it
 * (the corrector, §3.1), with the score of §3.3 and a step proportional to the level's variance (as NCSN's tau_i):
 *     x <- x + tau score + sqrt(2 tau) z,   score = -eps_hat / b,   tau = c b^2,   z ~ N(0, I).
 * The last step, to the clean level, is Tweedie's x0_hat (§3.3). K + M (K - 1) network evaluations. M = 0 is
 * den_sample_ode itself (it calls this with M = 0; no random numbers drawn, rng may be NULL). Order 2 extrapolates
 * from the previous level's x0_hat, taken before that level's corrector. On a VP-scaled level, c b^2 is SMLD's
 * c sigma^2 mapped through x_vp = a x_ve; c = 0.2 is Song et al.'s signal-to-noise ratio r = sqrt(c / 2) = 0.32. */
void den_sample_pc(const Denoiser *den, const DenLevel *l, int K, int order, int M, double c, double *x, int n, Rng *rng, Arena *arena);
void den_sample_pc_f(const Denoiser *den, const DenLevel *l, int K, int order, int M, double c, float *x, int n, Rng *rng, Arena *arena);

#endif
