/* optim.c: Adam/AdamW, EMA, gradient clipping, warmup + cosine schedule. */
#include <math.h>
#include <string.h>
#include "base.h"
#include "optim.h"

/* ---- Adam / AdamW ---------------------------------------------------------- */

void optim_adam_init(Adam *a, size_t n, float lr, float beta1, float beta2, float eps, float weight_decay) {
    CHECK(n > 0, "optim_adam_init: n = 0");
    CHECK(lr >= 0.0f && eps > 0.0f && weight_decay >= 0.0f, "lr = %g, eps = %g, weight_decay = %g", lr, eps, weight_decay);
    CHECK(beta1 >= 0.0f && beta1 < 1.0f && beta2 >= 0.0f && beta2 < 1.0f, "beta1 = %g, beta2 = %g, expected in [0, 1)", beta1, beta2);
    memset(a, 0, sizeof *a);
    a->n = n;
    a->lr = lr; a->beta1 = beta1; a->beta2 = beta2; a->eps = eps; a->weight_decay = weight_decay;
    a->m = calloc(n, sizeof(float));
    a->v = calloc(n, sizeof(float));
    CHECK(a->m && a->v, "cannot allocate Adam moments for %zu parameters", n);
}

/* Adam (Kingma and Ba 2015) with bias correction: the moments start at 0, so after t steps their
 * expectation is (1 - beta^t) times the true one; dividing by (1 - beta^t) removes that bias.
 * AdamW's decay p -= lr wd p is applied to the weights directly, not added to g, so it is not
 * rescaled by 1/sqrt(v) (that is what "decoupled" means; PyTorch's AdamW does the same). */
/* Built with -fno-math-errno (Makefile): sqrtf of a negative would set errno (v >= 0 here), and that call kept
 * the loop scalar. Each element is independent, so the vector sqrt and division give the same bits, and so does
 * splitting a long block over OpenMP's threads: its three divisions and a square root per weight made Adam 8% of
 * a two-thread toy step while the other thread waited (Xeon, session 13). */
enum { ADAM_PARALLEL_MIN = 1 << 14 };
void optim_adam_step(Adam *a, float *params, const float *grad) {
    a->t++;
    float bc1 = 1.0f - (float)pow(a->beta1, (double)a->t);
    float bc2 = 1.0f - (float)pow(a->beta2, (double)a->t);
    float b1 = a->beta1, b2 = a->beta2, lr = a->lr, eps = a->eps, wd = a->weight_decay;
    float *restrict m = a->m, *restrict v = a->v;
    size_t n = a->n;
    #pragma omp parallel for schedule(static) if (n >= ADAM_PARALLEL_MIN)
    for (size_t i = 0; i < n; i++) {
        float g = grad[i];
        m[i] = b1 * m[i] + (1.0f - b1) * g;
        v[i] = b2 * v[i] + (1.0f - b2) * g * g;
        float mhat = m[i] / bc1, vhat = v[i] / bc2;
        params[i] -= lr * (mhat / (sqrtf(vhat) + eps) + wd * params[i]);
    }
}

void optim_adam_free(Adam *a) {
    free(a->m);
    free(a->v);
    memset(a, 0, sizeof *a);
}

/* ---- EMA of the weights ------------------------------------------------------ */

void optim_ema_init(Ema *e, const float *params, size_t n, float decay) {
    CHECK(n > 0, "optim_ema_init: n = 0");
    CHECK(decay >= 0.0f && decay < 1.0f, "EMA decay = %g, expected in [0, 1)", decay);
    e->n = n;
    e->decay = decay;
    e->t = 0;
    e->warmup = 0;
    e->shadow = malloc(sizeof(float) * n);
    CHECK(e->shadow != NULL, "cannot allocate an EMA of %zu parameters", n);
    memcpy(e->shadow, params, sizeof(float) * n);
}

/* After k updates with weights p_1..p_k: shadow_k = d^k p_0 + (1 - d) sum_j d^(k-j) p_j. With warmup, d at update t is
 * min(decay, (1 + t) / (10 + t)): early on the average forgets the random initial weights within a few dozen updates
 * (a long run is unchanged; a short one, say 1000 updates at decay 0.999, would otherwise still be 37% p_0). */
void optim_ema_update(Ema *e, const float *params) {
    float d = e->decay;
    if (e->warmup && (1.0f + e->t) / (10.0f + e->t) < d) d = (1.0f + e->t) / (10.0f + e->t);
    for (size_t i = 0; i < e->n; i++) e->shadow[i] = d * e->shadow[i] + (1.0f - d) * params[i];
    e->t++;
}

void optim_ema_free(Ema *e) {
    free(e->shadow);
    memset(e, 0, sizeof *e);
}

/* ---- gradients and schedules ----------------------------------------------------- */

float optim_grad_norm(const float *grad, size_t n) {
    double s = 0.0;   /* double: a sum of 1e5 squares in float would lose ~1e-3 relative */
    for (size_t i = 0; i < n; i++) s += (double)grad[i] * grad[i];
    return (float)sqrt(s);
}

float optim_clip_grad_norm(float *grad, size_t n, float max_norm) {
    CHECK(max_norm > 0.0f, "max_norm = %g, expected > 0", max_norm);
    float norm = optim_grad_norm(grad, n);
    if (norm > max_norm) {
        float s = max_norm / norm;
        for (size_t i = 0; i < n; i++) grad[i] *= s;
    }
    return norm;
}

float optim_lr_warmup_cosine(long step, long warmup, long total, float lr_max, float lr_min) {
    CHECK(warmup >= 0 && total > warmup, "warmup = %ld, total = %ld, expected 0 <= warmup < total", warmup, total);
    if (step < warmup) return lr_max * (float)(step + 1) / (float)warmup;
    double s = (double)(step - warmup) / (double)(total - warmup);
    if (s > 1.0) s = 1.0;
    return lr_min + (lr_max - lr_min) * (float)(0.5 * (1.0 + cos(PI * s)));
}
