/* denoiser.c: one denoiser, four implementations behind it (see denoiser.h). */
#include <math.h>
#include <string.h>
#include "autograd.h"
#include "denoiser.h"

/* ---- noise levels ---------------------------------------------------------- */

DenLevel den_level_vp(const Schedule *s, int t) {
    CHECK(t >= 1 && t <= s->T, "t = %d outside 1..%d", t, s->T);
    double ab = s->alpha_bar[t];
    return (DenLevel){ .a = sqrt(ab), .b = sqrt(1.0 - ab), .s2 = 1.0 - ab, .t = t };   /* §2.3 */
}

DenLevel den_level_ve(double sigma) {
    return (DenLevel){ .a = 1.0, .b = sigma, .s2 = sigma * sigma, .t = -1 };           /* §3.4 */
}

DenLevel den_level_flow(double t) {
    return (DenLevel){ .a = 1.0 - t, .b = t, .s2 = t * t, .t = -1 };                   /* §flow */
}

DenLevel den_level(double a, double b) {
    return (DenLevel){ .a = a, .b = b, .s2 = b * b, .t = -1 };
}

DenLevel den_level_s2(double a, double s2) {
    return (DenLevel){ .a = a, .b = sqrt(s2), .s2 = s2, .t = -1 };
}

double den_flow_time(DenLevel l) { return l.b / (l.a + l.b); }                      /* §flow t = b / (a + b) */

double den_flow_abar(double t) {
    return (1.0 - t) * (1.0 - t) / ((1.0 - t) * (1.0 - t) + t * t);                  /* §flow */
}

/* ---- constructors ---------------------------------------------------------- */

Denoiser den_gmm(const Gmm *g) { return (Denoiser){ .kind = DEN_GMM, .D = g->D, .gmm = g }; }

Denoiser den_points(const float *pts, int n_pts, int D) {
    return (Denoiser){ .kind = DEN_POINTS, .D = D, .pts = pts, .n_pts = n_pts };
}

Denoiser den_toy(ToyModel *m, const Schedule *sched) {
    return (Denoiser){ .kind = DEN_TOY, .D = m->D, .toy = m, .sched = sched };
}

Denoiser den_unet(UnetModel *m, const Schedule *sched, int clip) {
    return (Denoiser){ .kind = DEN_UNET, .D = 784, .unet = m, .sched = sched, .clip = clip };
}

Denoiser den_toy_flow(ToyModel *m) { return (Denoiser){ .kind = DEN_TOY_FLOW, .D = m->D, .toy = m }; }

Denoiser den_score_fn(DenScoreFn *fn, const void *model, int D) {
    return (Denoiser){ .kind = DEN_SCORE_FN, .D = D, .score_fn = fn, .model = model };
}

/* ---- the networks: eps_hat at the step of their schedule nearest to the level ---- */

/* The step t of s whose alpha_bar is nearest to abar = a^2 / (a^2 + b^2) (alpha_bar decreases in t). */
static int nearest_step(const Schedule *s, double abar) {
    int best = 1;
    for (int t = 2; t <= s->T; t++)
        if (fabs(s->alpha_bar[t] - abar) < fabs(s->alpha_bar[best] - abar)) best = t;
    return best;
}

/* eps_hat (n, D) of a VP network. The input is x / sqrt(a^2 + b^2), the VP-scaled x (eps and x0 do not change
 * under the scaling); for a level made by den_level_vp, a^2 + b^2 = 1 up to rounding and x goes in as it is.
 * A network that predicts x0 or v has its output converted (§2.8): eps = (x - a x0) / b; for v (on the scaled
 * path a' = a / c, b' = b / c, a'^2 + b'^2 = 1) eps = b' x' + a' v. */
static void network_eps(const Denoiser *den, DenLevel l, const double *x, int n, double *eps_hat, Arena *arena) {
    size_t nd = (size_t)n * den->D, mark = arena_pos(arena);
    double c = l.t >= 0 ? 1.0 : sqrt(l.a * l.a + l.s2);
    int t = l.t >= 0 ? (int)l.t : nearest_step(den->sched, l.a * l.a / (c * c));
    float *xin = arena_push_no_zero(arena, sizeof(float) * nd), *e = arena_push_no_zero(arena, sizeof(float) * nd);
    for (size_t j = 0; j < nd; j++) xin[j] = (float)(c == 1.0 ? x[j] : x[j] / c);
    if (den->kind == DEN_TOY) toy_predict(den->toy, xin, n, t, e, arena);
    else unet_model_predict(den->unet, xin, n, (float)t, e, arena);
    int x0_model = den->kind == DEN_TOY ? den->toy->target == TOY_TARGET_X0 : den->unet->target == UNET_X0;
    int v_model = den->kind == DEN_UNET && den->unet->target == UNET_V;
    double a1 = l.a / c, b1 = l.b / c;
    for (size_t j = 0; j < nd; j++)
        eps_hat[j] = x0_model ? den_eps_from_x0(l, x[j], e[j]) : v_model ? b1 * (x[j] / c) + a1 * e[j] : e[j];
    arena_pop_to(arena, mark);
}

/* §flow a velocity network at the flow time of l: x_f = x / (a + b), t = b / (a + b), v = v_theta(x_f, t), and
 * x0_hat = x_f - t v, eps_hat = x_f + (1 - t) v (so that x_f = (1 - t) x0_hat + t eps_hat and eps_hat - x0_hat = v).
 * The toy network's time input is TOY_FLOW_TIME t, the U-Net's T t. */
static void network_flow(const Denoiser *den, DenLevel l, const double *x, int n, double *x0_hat, double *eps_hat, Arena *arena) {
    int D = den->D;
    size_t nd = (size_t)n * D, mark = arena_pos(arena);
    double c = l.a + l.b, t = den_flow_time(l);
    float *xin = arena_push_no_zero(arena, sizeof(float) * nd), *v = arena_push_no_zero(arena, sizeof(float) * nd);
    for (size_t j = 0; j < nd; j++) xin[j] = (float)(x[j] / c);
    if (den->kind == DEN_UNET) {
        unet_model_predict(den->unet, xin, n, (float)(den->unet->T * t), v, arena);
    } else {
        float *tt = arena_push_no_zero(arena, sizeof(float) * (size_t)n);
        for (int i = 0; i < n; i++) tt[i] = (float)(TOY_FLOW_TIME * t);
        AgTape tape = ag_tape_no_grad(arena, 64);
        memcpy(v, toy_forward(den->toy, &tape, xin, tt, n)->val.data, sizeof(float) * nd);
    }
    for (size_t j = 0; j < nd; j++) {
        x0_hat[j] = x[j] / c - t * v[j];            /* §flow x0 = x_t - t v */
        eps_hat[j] = x[j] / c + (1.0 - t) * v[j];   /* §flow eps = x_t + (1 - t) v */
    }
    arena_pop_to(arena, mark);
}

/* ---- the three views ------------------------------------------------------- */

void den_predict(const Denoiser *den, DenLevel l, const double *x, int n, double *x0_hat, double *eps_hat, Arena *arena) {
    /* the ends of the path: a velocity network takes a = 0 and b = 0; the exact denoisers a = 0 (x0_hat = E[x0]),
     * the mixture also b = 0 (x0_hat = x / a, eps_hat = -b score = 0) */
    int flow_net = den->kind == DEN_TOY_FLOW || (den->kind == DEN_UNET && den->unet->target == UNET_FLOW), ends = flow_net || den->kind == DEN_GMM || den->kind == DEN_POINTS;
    CHECK(ends ? l.a >= 0 && l.a + l.b > 0 && (l.b > 0 || (l.b == 0 && den->kind != DEN_POINTS)) : l.b > 0 && l.a > 0,
          "level a = %g, b = %g: both must be > 0", l.a, l.b);
    int D = den->D;
    size_t nd = (size_t)n * D, mark = arena_pos(arena);
    double *x0 = x0_hat ? x0_hat : arena_push_no_zero(arena, sizeof(double) * nd);
    double *eps = eps_hat ? eps_hat : arena_push_no_zero(arena, sizeof(double) * nd);
    if (flow_net) {
        network_flow(den, l, x, n, x0, eps, arena);
        for (size_t j = 0; den->clip && l.b > 0 && j < nd; j++) {   /* pixels live in [-1, 1]: clamp, re-derive eps */
            x0[j] = x0[j] < -1 ? -1 : x0[j] > 1 ? 1 : x0[j];
            eps[j] = den_eps_from_x0(l, x[j], x0[j]);
        }
    } else if (den->kind == DEN_TOY || den->kind == DEN_UNET || den->kind == DEN_SCORE_FN) {
        if (den->kind == DEN_SCORE_FN) {
            den->score_fn(den->model, l, x, n, eps, arena);
            for (size_t j = 0; j < nd; j++) eps[j] = den_eps_from_score(l, eps[j]);   /* §3.3 eps_hat = -b score */
        } else network_eps(den, l, x, n, eps, arena);
        for (size_t j = 0; j < nd; j++) {
            x0[j] = den_x0_from_eps(l, x[j], eps[j]);          /* §2.8 x0_hat = (x - b eps_hat) / a */
            if (den->clip) {                                    /* pixels live in [-1, 1]: clamp, re-derive eps */
                x0[j] = x0[j] < -1 ? -1 : x0[j] > 1 ? 1 : x0[j];
                eps[j] = den_eps_from_x0(l, x[j], x0[j]);
            }
        }
    } else {
        CHECK(den->kind == DEN_POINTS || D <= 2, "the exact mixture denoiser is for D <= 2 (D = %d)", D);
        #pragma omp parallel for schedule(static) if (n >= 64)   /* one point: no thread team */
        for (int i = 0; i < n; i++) {
            const double *xi = x + (size_t)i * D;
            if (l.b == 0) {                                     /* the clean end of a smooth density */
                for (int d = 0; d < D; d++) { x0[(size_t)i * D + d] = xi[d] / l.a; eps[(size_t)i * D + d] = 0.0; }
                continue;
            }
            if (den->kind == DEN_GMM) data_gmm_denoise(den->gmm, l.a, l.s2, xi, x0 + (size_t)i * D);
            else data_points_denoise(den->pts, den->n_pts, D, l.a, l.s2, xi, x0 + (size_t)i * D);
            for (int d = 0; d < D; d++)                         /* §2.8 eps_hat = (x - a x0_hat) / b */
                eps[(size_t)i * D + d] = den_eps_from_x0(l, xi[d], x0[(size_t)i * D + d]);
        }
    }
    arena_pop_to(arena, mark);
}

void den_predict_f(const Denoiser *den, DenLevel l, const float *x, int n, double *x0_hat, double *eps_hat, Arena *arena) {
    size_t nd = (size_t)n * den->D, mark = arena_pos(arena);
    double *xd = arena_push_no_zero(arena, sizeof(double) * nd);
    for (size_t j = 0; j < nd; j++) xd[j] = x[j];
    den_predict(den, l, xd, n, x0_hat, eps_hat, arena);
    arena_pop_to(arena, mark);
}

void den_score(const Denoiser *den, DenLevel l, const double *x, int n, double *score, Arena *arena) {
    if (den->kind == DEN_SCORE_FN) { den->score_fn(den->model, l, x, n, score, arena); return; }
    if (den->kind == DEN_GMM) {   /* p_l is the mixture noised by (a, s2): its gradient in closed form */
        CHECK(den->D <= 2, "the exact mixture score is for D <= 2 (D = %d)", den->D);
        Gmm gl = data_gmm_noised(den->gmm, l.a, l.s2);
        for (int i = 0; i < n; i++) data_gmm_score(&gl, x + (size_t)i * den->D, score + (size_t)i * den->D);
        return;
    }
    den_predict(den, l, x, n, NULL, score, arena);
    for (size_t j = 0; j < (size_t)n * den->D; j++) score[j] = den_score_from_eps(l, score[j]);   /* §3.3 */
}

void den_velocity(const Denoiser *den, DenLevel l, const double *x, int n, double *v, Arena *arena) {
    size_t nd = (size_t)n * den->D, mark = arena_pos(arena);
    double *x0 = arena_push_no_zero(arena, sizeof(double) * nd);
    den_predict(den, l, x, n, x0, v, arena);
    for (size_t j = 0; j < nd; j++) v[j] = den_velocity_from(x0[j], v[j]);   /* §flow v = eps_hat - x0_hat */
    arena_pop_to(arena, mark);
}

/* §flow div v for the mixture: v = x / b - (1 + a/b) x0_hat and d x0_hat / dx = (a / b^2) Cov[x0 | x], so
 * div v = D / b - (1 + a/b) (a / b^2) tr Cov[x0 | x]. */
static double gmm_velocity_div(const Gmm *g, DenLevel l, const double *x) {
    double cov[2][2];
    if (l.b == 0) return -g->D / l.a;   /* v = -x / a at the clean end */
    data_gmm_posterior_cov(g, l.a, l.s2, x, cov);
    return g->D / l.b - (1.0 + l.a / l.b) * (l.a / l.s2) * (cov[0][0] + cov[1][1]);
}

/* §flow div v through a network's exact Jacobian J at the input it is fed:
 *   velocity network, input x / c (c = a + b):       v = J-map of x / c,        div v = tr J / c
 *   eps network, input x / c (c = sqrt(a^2 + b^2)):  v = (1 + b/a) eps_hat - x / a, div v = (1 + b/a) tr J / c - D / a */
static void network_velocity_div(const Denoiser *den, DenLevel l, const double *x, int n, double *div, Arena *arena) {
    int D = den->D;
    size_t nd = (size_t)n * D, mark = arena_pos(arena);
    int flow_net = den->kind == DEN_TOY_FLOW;
    double c = flow_net ? l.a + l.b : (l.t >= 0 ? 1.0 : sqrt(l.a * l.a + l.s2));
    float tin = flow_net ? (float)(TOY_FLOW_TIME * den_flow_time(l))
                         : (float)(l.t >= 0 ? (int)l.t : nearest_step(den->sched, l.a * l.a / (c * c)));
    float *xin = arena_push_no_zero(arena, sizeof(float) * nd), *tt = arena_push_no_zero(arena, sizeof(float) * (size_t)n);
    float *jac = arena_push_no_zero(arena, sizeof(float) * nd * D);
    for (size_t j = 0; j < nd; j++) xin[j] = (float)(x[j] / c);
    for (int i = 0; i < n; i++) tt[i] = tin;
    toy_jacobian(den->toy, xin, n, tt, NULL, jac, arena);
    for (int i = 0; i < n; i++) {
        double tr = 0;
        for (int d = 0; d < D; d++) tr += jac[((size_t)i * D + d) * D + d];
        div[i] = flow_net ? tr / c : (1.0 + l.b / l.a) * tr / c - D / l.a;
    }
    arena_pop_to(arena, mark);
}

void den_velocity_div(const Denoiser *den, DenLevel l, const double *x, int n, double *v, double *div, Arena *arena) {
    CHECK(den->kind == DEN_GMM || den->kind == DEN_TOY || den->kind == DEN_TOY_FLOW,
          "den_velocity_div: exact divergence only for the mixture and the 2D networks (kind %d)", den->kind);
    if (v) den_velocity(den, l, x, n, v, arena);
    if (den->kind != DEN_GMM) { network_velocity_div(den, l, x, n, div, arena); return; }
    #pragma omp parallel for schedule(static)
    for (int i = 0; i < n; i++) div[i] = gmm_velocity_div(den->gmm, l, x + (size_t)i * den->D);
}

/* ---- the deterministic sampler ------------------------------------------------- */

void den_ladder_vp(const Schedule *s, const int *ts, int K, DenLevel *l) {
    for (int k = 0; k <= K; k++) l[k] = ts[k] > 0 ? den_level_vp(s, ts[k]) : den_level(1.0, 0.0);
}

void den_ladder_vp_uniform(const Schedule *s, int K, DenLevel *l) {
    for (int k = 0; k <= K; k++) {
        int t = (int)lround((double)s->T * (K - k) / K);
        l[k] = t > 0 ? den_level_vp(s, t) : den_level(1.0, 0.0);
    }
}

void den_ladder_flow(int K, DenLevel *l) {
    for (int k = 0; k <= K; k++) l[k] = den_level_flow((double)(K - k) / K);
}

void den_ladder_sigma(double sigma_max, double sigma_min, int K, DenLevel *l) {
    for (int k = 0; k < K; k++) {
        double sigma = K == 1 ? sigma_min : sigma_max * pow(sigma_min / sigma_max, (double)k / (K - 1));   /* §3.4 geometric */
        double a = 1 / sqrt(1 + sigma * sigma);   /* the VE level x0 + sigma eps, scaled to VP: a^2 + b^2 = 1 */
        l[k] = den_level(a, sigma * a);
    }
    l[K] = den_level(1.0, 0.0);
}

/* den_predict on rows of at most DEN_CHUNK numbers at a time (x0_hat or eps_hat may be NULL). */
static void predict_chunked(const Denoiser *den, DenLevel l, const double *x, int n, double *x0, double *eps, Arena *arena) {
    int D = den->D, rows = DEN_CHUNK / D > 0 ? DEN_CHUNK / D : 1;
    for (int i0 = 0; i0 < n; i0 += rows) {
        size_t o = (size_t)i0 * D;
        den_predict(den, l, x + o, n - i0 < rows ? n - i0 : rows, x0 ? x0 + o : NULL, eps ? eps + o : NULL, arena);
    }
}

void den_sample_ode(const Denoiser *den, const DenLevel *l, int K, int order, double *x, int n, Arena *arena) {
    den_sample_pc(den, l, K, order, 0, 0, x, n, NULL, arena);
}

void den_sample_pc(const Denoiser *den, const DenLevel *l, int K, int order, int M, double c, double *x, int n, Rng *rng, Arena *arena) {
    CHECK(order == 1 || order == 2, "order %d: 1 (DDIM) or 2 (DPM-Solver++(2M))", order);
    CHECK(M == 0 || rng != NULL, "a corrector (M = %d) needs random numbers", M);
    size_t nd = (size_t)n * den->D, mark = arena_pos(arena);
    double *x0 = arena_push_no_zero(arena, sizeof(double) * nd), *eps = arena_push_no_zero(arena, sizeof(double) * nd);
    double *x0_prev = order == 2 ? arena_push_no_zero(arena, sizeof(double) * nd) : NULL;
    double h_prev = 0;
    for (int k = 0; k < K; k++) {
        DenLevel now = l[k], next = l[k + 1];
        /* the predictor: one ODE step from l[k] to l[k + 1] */
        predict_chunked(den, now, x, n, x0, eps, arena);
        /* §d.4 lambda = log(a / b); e^-h = (a_t b_s) / (b_t a_s) */
        double h = log(next.a / next.b) - log(now.a / now.b), w = 0;
        if (order == 2 && k > 0 && next.b > 0 && now.a > 0 && l[k - 1].a > 0) w = next.a * -expm1(-h) * h / (2 * h_prev);
        for (size_t j = 0; j < nd; j++) {
            x[j] = next.a * x0[j] + next.b * eps[j];                           /* x_s = a_s x0_hat + b_s eps_hat */
            if (w != 0) x[j] += w * (x0[j] - x0_prev[j]);                      /* + a_s (1 - e^-h)(x0_hat - x0_prev) / (2r) */
        }
        if (order == 2) { double *swap = x0_prev; x0_prev = x0; x0 = swap; }
        h_prev = h;
        /* the corrector: M Langevin steps at l[k + 1] (none at the clean level) */
        double tau = c * next.s2;
        for (int m = 0; m < M && next.b > 0; m++) {
            predict_chunked(den, next, x, n, NULL, eps, arena);
            for (size_t j = 0; j < nd; j++)
                x[j] += tau * den_score_from_eps(next, eps[j]) + sqrt(2 * tau) * rng_normal(rng);   /* §3.1 x += tau score + sqrt(2 tau) z */
        }
    }
    arena_pop_to(arena, mark);
}

void den_sample_ode_f(const Denoiser *den, const DenLevel *l, int K, int order, float *x, int n, Arena *arena) {
    den_sample_pc_f(den, l, K, order, 0, 0, x, n, NULL, arena);
}

/* The float state is held in double while the sampler runs. */
void den_sample_pc_f(const Denoiser *den, const DenLevel *l, int K, int order, int M, double c, float *x, int n, Rng *rng, Arena *arena) {
    size_t nd = (size_t)n * den->D, mark = arena_pos(arena);
    double *xd = arena_push_no_zero(arena, sizeof(double) * nd);
    for (size_t j = 0; j < nd; j++) xd[j] = x[j];
    den_sample_pc(den, l, K, order, M, c, xd, n, rng, arena);
    for (size_t j = 0; j < nd; j++) x[j] = (float)xd[j];
    arena_pop_to(arena, mark);
}
