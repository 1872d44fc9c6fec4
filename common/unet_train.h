/* unet_train.h: training the Fashion-MNIST U-Net (unet.h) from a recipe, for every prediction target: chapter 2's
 * eps network (§2.8) and its x0 and v variants, and the flow program's velocity network (§flow).
 *
 *   UnetRecipe r = unet_recipe_default(UNET_EPS);
 *   if (unet_recipe_parse(&r, "width=32,schedule=cosine,T=1000")) return 2;   // one-line error printed
 *   int rc = unet_train(&r, opts, "checkpoints/ch2_fmnist.safetensors");     // train.h's return codes
 *
 * One batch (§2.8): x0 = 2 pixel - 1 from the training set, eps ~ N(0, I), and
 *   VP targets: t uniform in 1..T, x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps, time input t, and the
 *               regression target eps, x0 or v = sqrt(abar_t) eps - sqrt(1 - abar_t) x0;
 *   flow:       t uniform in [0, 1], x_t = (1 - t) x0 + t eps, time input T t, target eps - x0;
 * loss = mean ||net(x_t, t) - target||^2, each image's term times unet_loss_weight when snr_gamma > 0. train.h's
 * loop does the rest (Adam, warm-up + cosine learning rate, EMA, checkpoints, NaN guard, Ctrl-C). The recipe is
 * written into the checkpoint's metadata, so that unet_model_load knows the width, attention, T, schedule and target.
 *
 * Recipe keys (unet_recipe_parse; values as in the defaults):
 *   width=24 attention=1 T=1000 schedule=cosine|linear target=x0|eps|v|flow batch=32
 *   lr=1e-3 lr_min=1e-5 warmup=100 ema=0.999 ema_warmup=1 score_every=500 snr_gamma=1 snr_floor=0.1 (flow: 0 0)
 * score_every=K > 0: every K updates (and at the end) draw UNET_SCORE_N images from the EMA weights with
 * UNET_SCORE_STEPS deterministic steps and append "step seconds fid floor_real floor_noise max_softmax" to the
 * score log NAME_score.dat beside the checkpoint (the seconds are training seconds; scoring time is excluded).
 */
#ifndef UNET_TRAIN_H
#define UNET_TRAIN_H

#include "cli.h"
#include "schedule.h"
#include "unet.h"

enum { UNET_SCORE_N = 500, UNET_SCORE_STEPS = 20, UNET_TRAIN_MINUTES = 20 };

typedef struct {
    int        width, attention, T, batch;
    SchedKind  sched;
    UnetTarget target;
    float      lr, lr_min, ema;
    int        ema_warmup;
    long       warmup, score_every;
    float      snr_gamma;   /* > 0: min-SNR-gamma loss weights (unet_loss_weight); 0: the plain mean square */
    float      snr_floor;   /* in [0, 1]: the least weight a noise level gets under snr_gamma (0: Hang et al.'s own) */
} UnetRecipe;

/* The recipe chapter 2 ships, chosen by measurement (tools/recipe_study.sh, then 20-minute runs; tutorial.md 2.8):
 * for UNET_EPS it is the x0 target (the study's winner); for the others, the same recipe with that target (flow:
 * T = 1000 is the time input's scale). */
UnetRecipe unet_recipe_default(UnetTarget target);
/* Apply "key=value,key=value" (NULL or "" changes nothing). 0, or 2 after a one-line error naming the key. */
int        unet_recipe_parse(UnetRecipe *r, const char *spec) MUST_USE;
/* §2.8 the min-SNR-gamma weight (Hang et al. 2023) of one image's squared error, for x_t = a x0 + b eps:
 *   w = max(min(SNR / gamma, 1), w_floor) * k^2,  SNR = a^2 / b^2,
 * where k = |d x0_hat / d net| converts the target's error into x0's (x0: 1, eps: b / a, v and flow: b); so the
 * x0 error of every target is weighted by min(1, SNR / gamma): the levels with SNR >= gamma (sigma <= 1/sqrt(gamma))
 * count alike, and the noisier ones (the posterior mean there is blurry, the error mostly irreducible) count less,
 * but never less than w_floor (0 is Hang et al.'s weight; a floor keeps the noisiest levels, which DDIM
 * inversion and annealed Langevin lean on, trained). */
double     unet_loss_weight(UnetTarget target, double a, double b, double gamma, double w_floor);
/* The recipe as the checkpoint's metadata pairs, into buf. */
void       unet_recipe_meta(const UnetRecipe *r, char *buf, size_t cap);

/* Train on the 60k training images to o->steps, or else for o->minutes (default UNET_TRAIN_MINUTES) of wall clock,
 * with o->resume, o->overwrite, o->quiet, o->seed; checkpoint and logs at path. 0 done; 2 when --resume meets a
 * checkpoint trained with another recipe (the key named); else train_run's codes. */
int unet_train(const UnetRecipe *r, const Opts *o, const char *path) MUST_USE;

/* The samplers of unet_sample; 1 and 2 are den_sample_ode's orders. */
typedef enum { UNET_SAMPLE_DDIM = 1, UNET_SAMPLE_2M = 2, UNET_SAMPLE_PC = 3 } UnetSampler;

/* §4.5 the predictor-corrector sampler's settings for these networks (ch4 4.5i; chosen by measurement at
 * N = 1000, tutorial.md 4.5i): SMLD's geometric levels sigma_max ... sigma_min scaled to VP, then Tweedie;
 * the predictor of order UNET_PC_ORDER (den_sample_ode), then UNET_PC_M Langevin steps per level, tau = c b^2. */
#define UNET_PC_SIGMA_MAX 80.0
#define UNET_PC_SIGMA_MIN 0.4
#define UNET_PC_C         0.2
enum { UNET_PC_LEVELS = 50, UNET_PC_ORDER = 2, UNET_PC_M = 2 };

/* Sampling from x (n, 784) ~ N(0, I), in place, with about K network evaluations; x0_hat is clamped to the
 * pixels' range [-1, 1] and the state kept in double between steps.
 *   UNET_SAMPLE_DDIM, UNET_SAMPLE_2M (§2.8 / §flow / §d.4): den_sample_ode of order 1 (DDIM eta = 0; on the flow
 *     path the Euler step of the ODE) or 2 (DPM-Solver++(2M)), K steps; VP steps t_k = round(k T / K), flow
 *     times k / K. rng is not used (may be NULL).
 *   UNET_SAMPLE_PC (§4.5): den_sample_pc on den_ladder_sigma's L = (K + M) / (M + 1) levels with the UNET_PC_*
 *     settings: one predictor evaluation per level, and M = UNET_PC_M corrector evaluations at each level but the
 *     clean one (L + M (L - 1) <= K in all).
 * Returns the network evaluations it made. */
int  unet_sample(UnetModel *m, UnetSampler sampler, float *x, int n, int K, Rng *rng, Arena *arena);

#endif
