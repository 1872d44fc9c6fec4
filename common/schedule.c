#include <math.h>
#include <stdlib.h>
#include "base.h"
#include "schedule.h"

static void alloc_arrays(Schedule *s, SchedKind kind, int T) {
    CHECK(T >= 1, "schedule T = %d, expected >= 1", T);
    s->kind = kind;
    s->T = T;
    s->beta = calloc((size_t)T + 1, sizeof(double));
    s->alpha = calloc((size_t)T + 1, sizeof(double));
    s->alpha_bar = calloc((size_t)T + 1, sizeof(double));
    CHECK(s->beta && s->alpha && s->alpha_bar, "out of memory for a schedule of T = %d", T);
    s->alpha[0] = s->alpha_bar[0] = 1.0;
}

/* §2.2: alpha[t] = 1 - beta[t];  §2.3: alpha_bar[t] = alpha[t] * alpha_bar[t-1]. */
static void fill_from_beta(Schedule *s) {
    for (int t = 1; t <= s->T; t++) {
        s->alpha[t] = 1.0 - s->beta[t];
        s->alpha_bar[t] = s->alpha[t] * s->alpha_bar[t - 1];
    }
}

void sched_init_linear(Schedule *s, int T, double beta_1, double beta_T) {
    alloc_arrays(s, SCHED_LINEAR, T);
    for (int t = 1; t <= T; t++)
        s->beta[t] = T == 1 ? beta_1 : beta_1 + (beta_T - beta_1) * (t - 1) / (T - 1);
    fill_from_beta(s);
}

static double cosine_f(double u) {
    const double sh = 0.008;   /* Nichol and Dhariwal's offset: keeps beta[1] from being tiny */
    double c = cos(PI / 2 * (u + sh) / (1 + sh));
    return c * c;
}

void sched_init(Schedule *s, SchedKind kind, int T) {
    if (kind == SCHED_LINEAR) {
        double scale = 1000.0 / T;   /* same alpha_bar[T] for any T */
        sched_init_linear(s, T, 1e-4 * scale, fmin(0.02 * scale, 0.999));
        return;
    }
    alloc_arrays(s, SCHED_COSINE, T);
    for (int t = 1; t <= T; t++) {
        double ratio = cosine_f((double)t / T) / cosine_f((double)(t - 1) / T);
        s->beta[t] = fmin(1.0 - ratio, 0.999);   /* clipped: beta = 1 near t = T would destroy x completely */
    }
    fill_from_beta(s);
}

void sched_free(Schedule *s) {
    free(s->beta);
    free(s->alpha);
    free(s->alpha_bar);
    s->beta = s->alpha = s->alpha_bar = NULL;
}

double sched_posterior_var(const Schedule *s, int t) {
    CHECK(t >= 1 && t <= s->T, "t = %d outside 1..%d", t, s->T);
    return (1.0 - s->alpha[t]) * (1.0 - s->alpha_bar[t - 1]) / (1.0 - s->alpha_bar[t]);
}

double sched_sigma(const Schedule *s, int t) {
    CHECK(t >= 0 && t <= s->T, "t = %d outside 0..%d", t, s->T);
    return sqrt((1.0 - s->alpha_bar[t]) / s->alpha_bar[t]);
}
