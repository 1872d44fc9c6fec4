/* optim.h: the optimisers and weight averages that train our networks: Adam/AdamW,
 * an exponential moving average (EMA) of the weights, gradient-norm clipping and a
 * warmup + cosine learning-rate schedule.
 *
 *   Adam adam;  optim_adam_init(&adam, nn_params_count(&p), 1e-3f, 0.9f, 0.999f, 1e-8f, 0.0f);
 *   Ema  ema;   optim_ema_init(&ema, p.data, p.numel, 0.999f);
 *   for (int step = 0; step < steps; step++) {
 *       ...forward, nn_params_zero_grad, ag_backward...
 *       optim_clip_grad_norm(p.grad, p.numel, 1.0f);
 *       adam.lr = optim_lr_warmup_cosine(step, 100, steps, 1e-3f, 1e-5f);
 *       optim_adam_step(&adam, p.data, p.grad);
 *       optim_ema_update(&ema, p.data);
 *   }
 *   optim_ema_free(&ema);  optim_adam_free(&adam);
 *
 * Ownership: Adam owns its moments m and v (one contiguous block each, n floats)
 * and Ema its shadow copy; both are plain fields, together with the step count t,
 * so a checkpoint can save and restore them. The parameters and gradients are
 * the caller's (typically Params.data and Params.grad of nn.h). Nothing here
 * allocates after _init. Errors: bad hyper-parameters are CHECKs.
 */
#ifndef OPTIM_H
#define OPTIM_H

#include <stddef.h>

typedef struct {
    size_t n;                      /* number of parameters */
    float  lr, beta1, beta2, eps;  /* step size, moment decays, denominator floor */
    float  weight_decay;           /* decoupled (AdamW); 0 gives plain Adam */
    float *m;                      /* (n,) first moment, EMA of g */
    float *v;                      /* (n,) second moment, EMA of g^2 */
    long   t;                      /* steps taken so far (for bias correction) */
} Adam;

typedef struct {
    size_t n;
    float  decay;                  /* shadow = decay * shadow + (1 - decay) * params */
    float *shadow;                 /* (n,) the averaged weights */
    long   t;                      /* updates taken so far */
    int    warmup;                 /* 1: the decay ramps up, min(decay, (1 + t) / (10 + t)) (set after init) */
} Ema;

/* ---- Adam / AdamW ---------------------------------------------------------- */

/* Zeroed moments for n parameters; weight_decay > 0 makes it AdamW (Loshchilov and Hutter 2019). */
void  optim_adam_init(Adam *a, size_t n, float lr, float beta1, float beta2, float eps, float weight_decay);
/* t += 1; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
 * p -= lr (m/(1-b1^t)) / (sqrt(v/(1-b2^t)) + eps) + lr wd p. */
void  optim_adam_step(Adam *a, float *params, const float *grad);
void  optim_adam_free(Adam *a);

/* ---- EMA of the weights ------------------------------------------------------ */

/* shadow = copy of params. */
void  optim_ema_init(Ema *e, const float *params, size_t n, float decay);
/* shadow = decay shadow + (1 - decay) params. */
void  optim_ema_update(Ema *e, const float *params);
void  optim_ema_free(Ema *e);

/* ---- gradients and schedules ----------------------------------------------------- */

/* ||g||_2, accumulated in double. */
float optim_grad_norm(const float *grad, size_t n);
/* If ||g|| > max_norm, g *= max_norm / ||g||. Returns ||g|| before clipping. */
float optim_clip_grad_norm(float *grad, size_t n, float max_norm);
/* lr_max (step+1)/warmup during warmup (so step warmup-1 reaches lr_max), then lr_min + (lr_max - lr_min)(1 + cos(pi s))/2,
 * s = (step - warmup)/(total - warmup) clamped to [0, 1]. step counts from 0. */
float optim_lr_warmup_cosine(long step, long warmup, long total, float lr_max, float lr_min);

#endif
