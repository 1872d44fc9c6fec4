/* Tests of common/unet_train and the recipe's way into the U-Net: parsing recipes (and refusing bad ones), the
 * recipe's metadata read back by unet_model_load, the conversions of x0-, v- and velocity-predicting networks
 * inside den_unet (each one's raw output recovered from x0_hat and eps_hat), the vector-Jacobian product behind
 * Hutchinson's divergence against central differences, the EMA warm-up formula, and train.h's wall-clock budget
 * and evaluation hook. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "denoiser.h"
#include "io.h"
#include "train.h"
#include "unet_train.h"

START_TEST(test_recipe_parse) {
    UnetRecipe r = unet_recipe_default(UNET_EPS);
    ck_assert_int_eq(r.target, UNET_X0);   /* chapter 2's choice, by measurement */
    ck_assert_int_eq(unet_recipe_parse(&r, "width=32,T=1000,schedule=cosine,target=v,lr=1e-3,lr_min=1e-5,warmup=100,ema=0.9995,ema_warmup=1,attention=1"), 0);
    ck_assert_int_eq(r.width, 32);
    ck_assert_int_eq(r.T, 1000);
    ck_assert_int_eq(r.sched, SCHED_COSINE);
    ck_assert_int_eq(r.target, UNET_V);
    ck_assert_int_eq(r.warmup, 100);
    ck_assert_int_eq(r.attention, 1);
    ck_assert_int_eq(r.ema_warmup, 1);
    ck_assert_float_eq_tol(r.ema, 0.9995f, 1e-7f);
    ck_assert_float_eq(r.snr_gamma, 1.0f);   /* chapter 2's min-SNR weights (tutorial.md 2.8: which noise levels) */
    ck_assert_float_eq_tol(r.snr_floor, 0.1f, 1e-7f);
    ck_assert_int_eq(unet_recipe_parse(&r, "snr_gamma=0,snr_floor=0"), 0);   /* the plain loss of ch2_fmnist_plain */
    ck_assert_float_eq(r.snr_gamma, 0.0f);
    ck_assert_float_eq(r.snr_floor, 0.0f);
    UnetRecipe flow = unet_recipe_default(UNET_FLOW);
    ck_assert_float_eq(flow.snr_gamma, 0.0f);   /* the flow network keeps the plain loss */
    ck_assert_int_eq(unet_recipe_parse(&r, NULL), 0);
    ck_assert_int_eq(unet_recipe_parse(&r, ""), 0);
    static const char *const bad[] = { "width=12", "width=0", "width=32.5", "T=5", "schedule=quadratic", "target=score",
                                       "lr=0", "lr=nan", "ema=1", "colour=red", "width", "width=", "=3", "lr=1e-3x",
                                       "lr=1e-4,lr_min=1e-3", "snr_gamma=-1", "snr_gamma=inf",
                                       "snr_floor=-0.1", "snr_floor=1.5" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        UnetRecipe q = unet_recipe_default(UNET_EPS);
        ck_assert_msg(unet_recipe_parse(&q, bad[i]) == 2, "accepted --recipe %s", bad[i]);
    }
}
END_TEST

/* §2.8 min-SNR-gamma: whatever the target, w |net error|^2 is max(min(1, SNR / gamma), w_floor) |x0_hat error|^2, with x0_hat
 * from the network's output by denoiser.h's conversions (written out here): x0: x0_hat = net; eps: (x - b net) / a;
 * v: a x - b net (VP, a^2 + b^2 = 1); flow: x - t net (a = 1 - t, b = t). */
START_TEST(test_loss_weight_min_snr) {
    Rng rng = rng_seed(8);
    for (int trial = 0; trial < 200; trial++) {
        double gamma = 0.5 + 10 * rng_uniform(&rng), d = rng_normal(&rng), x = rng_normal(&rng);
        double w_floor = trial % 2 ? 0.3 * rng_uniform(&rng) : 0;   /* half the trials Hang et al.'s weight, half floored */
        for (int target = 0; target < 4; target++) {
            double a, b;
            if (target == UNET_FLOW) { double t = 0.001 + 0.998 * rng_uniform(&rng); a = 1 - t, b = t; }
            else { double th = 1.5 * rng_uniform(&rng) + 0.01; a = cos(th), b = sin(th); }
            double x0_hat_of[2];   /* x0_hat for the outputs net and net + d */
            for (int k = 0; k < 2; k++) {
                double net = 0.3 + k * d;
                x0_hat_of[k] = target == UNET_X0 ? net : target == UNET_EPS ? (x - b * net) / a
                             : target == UNET_V ? a * x - b * net : x - b * net;
            }
            double err_x0 = x0_hat_of[1] - x0_hat_of[0], snr = a * a / (b * b);
            double w = snr / gamma < 1 ? snr / gamma : 1;
            if (w < w_floor) w = w_floor;
            double want = w * err_x0 * err_x0;
            double got = unet_loss_weight((UnetTarget)target, a, b, gamma, w_floor) * d * d;
            ck_assert_msg(fabs(got - want) <= 1e-12 * (1 + want), "target %d: %g against %g", target, got, want);
        }
    }
}
END_TEST

/* Write p's weights as the "ema" block of a checkpoint with the recipe's metadata. */
static void save_model(Params *p, const UnetRecipe *r, const char *path) {
    char meta[600], inner[512];
    unet_recipe_meta(r, inner, sizeof inner);
    snprintf(meta, sizeof meta, "{%s, \"step\": \"7\"}", inner);
    static const char *const prefix[1] = { "ema" };
    float *const block[1] = { p->data };
    ck_assert_int_eq(nn_params_save(p, path, block, prefix, 1, meta), 0);
}

/* A U-Net of width 8 with random weights, including a random read-out (the real one starts at zero). */
static void random_unet(Params *p, Unet *u, uint64_t seed) {
    nn_params_init(p);
    unet_declare(p, u, 8);
    Rng r = rng_seed(seed);
    nn_params_alloc(p, &r);
    int o = nn_params_find(p, "out.conv.weight");
    rng_normal_fill(&r, nn_params_data(p, o), (long)p->entry[o].numel);
    for (size_t k = 0; k < p->entry[o].numel; k++) nn_params_data(p, o)[k] *= 0.1f;
}

/* random_unet (width 8, no attention) saved with `target`'s recipe and loaded back as a model; p keeps the weights. */
static void load_random_model(UnetModel *m, Params *p, UnetTarget target, uint64_t seed) {
    Unet u;
    random_unet(p, &u, seed);
    UnetRecipe r = unet_recipe_default(target);
    r.width = 8;
    r.attention = 0;
    char path[64];
    snprintf(path, sizeof path, "/tmp/test_unet_model_%d.safetensors", (int)getpid());
    save_model(p, &r, path);
    ck_assert_int_eq(unet_model_load(m, path), 0);
    unlink(path);
}

/* For each target, the loaded model's raw output f is recovered from den_predict's two views at a VP level
 * (a^2 + b^2 = 1): eps: f = eps_hat; x0: f = x0_hat; v: f = a eps_hat - b x0_hat; and at a flow level, flow:
 * f = eps_hat - x0_hat. And x = a x0_hat + b eps_hat holds for all. */
START_TEST(test_targets_convert) {
    enum { N = 2, D = 784 };
    Params p;
    Unet u;
    random_unet(&p, &u, 11);
    Arena a;
    arena_init(&a, (size_t)256 << 20);
    float xf[N * D], raw[N * D];
    Rng rx = rng_seed(5);
    rng_normal_fill(&rx, xf, N * D);
    double x[N * D], x0[N * D], eps[N * D];
    for (int j = 0; j < N * D; j++) x[j] = xf[j];
    for (int target = 0; target < 4; target++) {
        UnetRecipe r = unet_recipe_default((UnetTarget)target);
        r.target = (UnetTarget)target;
        r.width = 8;
        r.attention = 0;
        r.sched = SCHED_COSINE;
        char path[64];
        snprintf(path, sizeof path, "/tmp/test_unet_train_%d_%d.safetensors", (int)getpid(), target);
        save_model(&p, &r, path);
        UnetModel m;
        ck_assert_int_eq(unet_model_load(&m, path), 0);
        ck_assert_int_eq(m.target, target);
        ck_assert_int_eq(m.sched, SCHED_COSINE);
        ck_assert_int_eq(m.T, r.T);
        ck_assert_int_eq(m.step, 7);
        Schedule s;
        sched_init(&s, m.sched, m.T);
        Denoiser den = den_unet(&m, &s, 0);
        int t = m.T / 3;
        DenLevel l = target == UNET_FLOW ? den_level_flow(0.4) : den_level_vp(&s, t);
        float tin = target == UNET_FLOW ? (float)(m.T * 0.4) : (float)t;
        unet_model_predict(&m, xf, N, tin, raw, &a);
        den_predict(&den, l, x, N, x0, eps, &a);
        double worst = 0, worst_mix = 0;
        for (int j = 0; j < N * D; j++) {
            double f = target == UNET_EPS ? eps[j] : target == UNET_X0 ? x0[j]
                     : target == UNET_V ? l.a * eps[j] - l.b * x0[j] : eps[j] - x0[j];
            worst = fmax(worst, fabs(f - raw[j]));
            worst_mix = fmax(worst_mix, fabs(l.a * x0[j] + l.b * eps[j] - x[j]));
        }
        /* float network output, double conversions with 1/a <= 2 and 1/b <= 4 here: 1e-5 is ~100 float ulps of O(1) */
        ck_assert_msg(worst < 1e-5, "target %s: raw output recovered to %g", unet_target_names[target], worst);
        ck_assert_msg(worst_mix < 1e-5, "target %s: x = a x0 + b eps to %g", unet_target_names[target], worst_mix);
        sched_free(&s);
        unet_model_free(&m);
        unlink(path);
    }
    arena_free(&a);
    nn_params_free(&p);
}
END_TEST

/* unet_sample is the samplers of denoiser.h on the ladders its header names: for K = 20, DDIM and 2M take 20 uniform VP
 * steps, PC takes L = (K + M) / (M + 1) of den_ladder_sigma's levels with the UNET_PC_* settings and returns
 * L + M (L - 1) evaluations. Bit for bit against the direct calls, on a small random x0-network. */
START_TEST(test_unet_sample_is_den_sample) {
    enum { N = 2, D = 784, K = 20 };
    Params p;
    UnetModel m;
    load_random_model(&m, &p, UNET_EPS, 12);   /* chapter 2's recipe: an x0-network */
    Schedule s;
    sched_init(&s, m.sched, m.T);
    Denoiser den = den_unet(&m, &s, 1);
    Arena a;
    arena_init(&a, (size_t)256 << 20);
    for (int sampler = UNET_SAMPLE_DDIM; sampler <= UNET_SAMPLE_PC; sampler++) {
        float x[N * D], y[N * D];
        Rng rx = rng_seed(5), r1 = rng_seed(9), r2 = rng_seed(9);
        rng_normal_fill(&rx, x, N * D);
        memcpy(y, x, sizeof x);
        int nfe = unet_sample(&m, (UnetSampler)sampler, x, N, K, &r1, &a);
        int L = sampler == UNET_SAMPLE_PC ? (K + UNET_PC_M) / (UNET_PC_M + 1) : K;
        DenLevel l[K + 1];
        if (sampler == UNET_SAMPLE_PC) {
            den_ladder_sigma(UNET_PC_SIGMA_MAX, UNET_PC_SIGMA_MIN, L, l);
            den_sample_pc_f(&den, l, L, UNET_PC_ORDER, UNET_PC_M, UNET_PC_C, y, N, &r2, &a);
            ck_assert_int_eq(nfe, L + UNET_PC_M * (L - 1));
            ck_assert_int_le(nfe, K);
        } else {
            den_ladder_vp_uniform(&s, K, l);
            den_sample_ode_f(&den, l, K, sampler, y, N, &a);
            ck_assert_int_eq(nfe, K);
        }
        ck_assert_msg(memcmp(x, y, sizeof x) == 0, "sampler %d differs from its den_sample call", sampler);
    }
    ck_assert_uint_eq(arena_pos(&a), 0);
    arena_free(&a);
    sched_free(&s);
    unet_model_free(&m);
    nn_params_free(&p);
}
END_TEST

/* z . (z^T J) against the central difference z . (f(x + h z) - f(x - h z)) / (2h), on one image. */
START_TEST(test_vjp_matches_differences) {
    enum { D = 784 };
    Params p;
    UnetModel m;
    load_random_model(&m, &p, UNET_FLOW, 12);
    Arena a;
    arena_init(&a, (size_t)256 << 20);
    static float x[D], z[D], out[D], jtz[D], xp[D], xm[D], fp[D], fm[D];
    Rng rng = rng_seed(8);
    rng_normal_fill(&rng, x, D);
    for (int j = 0; j < D; j++) z[j] = rng_uniform(&rng) < 0.5 ? -1.0f : 1.0f;
    unet_model_vjp(&m, x, 1, 300.0f, z, out, jtz, &a);
    unet_model_predict(&m, x, 1, 300.0f, fp, &a);
    for (int j = 0; j < D; j++) ck_assert_float_eq(out[j], fp[j]);   /* the same forward pass */
    const float h = 1e-2f;
    for (int j = 0; j < D; j++) { xp[j] = x[j] + h * z[j]; xm[j] = x[j] - h * z[j]; }
    unet_model_predict(&m, xp, 1, 300.0f, fp, &a);
    unet_model_predict(&m, xm, 1, 300.0f, fm, &a);
    double vjp = 0, fd = 0, scale = 0;
    for (int j = 0; j < D; j++) {
        vjp += (double)z[j] * jtz[j];
        fd += (double)z[j] * (fp[j] - fm[j]) / (2 * h);
        scale += fabs((double)z[j] * jtz[j]);
    }
    /* central differences: O(h^2) curvature error plus float rounding of 784 differences of O(1) outputs / 2h */
    ck_assert_msg(fabs(vjp - fd) < 1e-2 * scale + 1e-3, "z.J^T z %g vs differences %g (scale %g)", vjp, fd, scale);
    arena_free(&a);
    unet_model_free(&m);
    nn_params_free(&p);
}
END_TEST

/* min(decay, (1 + t) / (10 + t)): the first update keeps 1/10 of p_0, then the decay grows to its cap. */
START_TEST(test_ema_warmup) {
    float p0 = 1.0f, p = 0.0f;
    Ema e;
    optim_ema_init(&e, &p0, 1, 0.9f);
    e.warmup = 1;
    double want = 1.0;
    for (int t = 0; t < 30; t++) {
        optim_ema_update(&e, &p);
        double d = fmin(0.9, (1.0 + t) / (10.0 + t));
        want *= d;
        ck_assert_double_eq_tol(e.shadow[0], want, 1e-6);
    }
    optim_ema_free(&e);
}
END_TEST

/* A budget of 0.3 s: the loop sets its steps after the probe and stops there (or earlier, if the machine slowed
 * down: the budget is also a hard stop); the hook sees every multiple of 5 and the last step. The checkpoint
 * records the total the budget chose ("total"), which a bare --resume continues to. */
typedef struct { int calls; long last; int bad_order; } Seen;
static float quad_batch(void *model, long step, Rng *rng, Arena *arena, float *terms) {
    (void)step; (void)rng; (void)arena; (void)terms;
    Params *p = model;
    p->grad[0] = 2 * p->data[0];
    nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
    return p->data[0] * p->data[0];
}
static Seen seen;
static void count_eval(void *model, const Trainer *tr, double seconds) {
    (void)model;
    if (seconds < 0 || tr->step <= seen.last) seen.bad_order = 1;   /* the count below checks which steps */
    seen.last = tr->step;
    seen.calls++;
}
/* One weight trained by batch under a budget of budget_s seconds, its checkpoint in a temporary directory (removed
 * after): the steps done and planned, and the checkpoint's "step" and "total". The hook's calls are in `seen`. */
typedef struct { long step, planned, ckpt_step, ckpt_total; } BudgetRun;
static BudgetRun budget_run(double budget_s, TrainBatchFn batch) {
    Params p;
    nn_params_init(&p);
    nn_params_declare(&p, "w", 1, (int[]){ 1 }, NN_INIT_ONE);
    Rng r = rng_seed(1);
    nn_params_alloc(&p, &r);
    char dir[] = "/tmp/test_budget_XXXXXX", ckpt[64], buf[32], loss_log[80];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(ckpt, sizeof ckpt, "%s/b.safetensors", dir);
    Trainer tr;
    train_init(&tr, &p, &(TrainConfig){ .label = "budget", .steps = 100000000, .lr_max = 1e-2f, .lr_min = 1e-2f, .quiet = 1,
                                        .budget_s = budget_s, .eval = count_eval, .eval_every = 5, .ckpt = ckpt, .ckpt_every = 1000, .log_every = 1000 });
    Arena a;
    arena_init(&a, (size_t)1 << 20);
    seen = (Seen){ 0, 0, 0 };
    ck_assert_int_eq(train_run(&tr, batch, &p, &r, &a), 0);
    BudgetRun out = { tr.step, tr.c.steps, -1, -1 };
    ck_assert_int_eq(io_safetensors_metadata(ckpt, "step", buf, sizeof buf), 0);
    out.ckpt_step = atol(buf);
    ck_assert_int_eq(io_safetensors_metadata(ckpt, "total", buf, sizeof buf), 0);
    out.ckpt_total = atol(buf);
    train_log_path(ckpt, loss_log, sizeof loss_log);
    remove(loss_log);
    remove(ckpt);
    rmdir(dir);
    arena_free(&a);
    train_free(&tr);
    nn_params_free(&p);
    return out;
}

START_TEST(test_budget_and_eval_hook) {
    BudgetRun b = budget_run(0.3, quad_batch);
    ck_assert_int_ge(b.step, TRAIN_BUDGET_PROBE);       /* the probe always runs */
    ck_assert_int_lt(b.planned, 100000000);             /* and the budget replaced the step count */
    ck_assert_int_le(b.step, b.planned);
    ck_assert_int_eq(seen.bad_order, 0);
    ck_assert_int_eq(seen.last, b.step);                /* the hook ran after the last update */
    ck_assert_int_eq(seen.calls, (int)(b.step / 5 + (b.step % 5 != 0)));
    ck_assert_int_eq(b.ckpt_total, b.planned);
}
END_TEST

/* The budget's plan follows the measured rate. Slowing down: 1 ms updates during the probe plan about 1000 for a
 * 1 s budget, then each takes 10 ms; the re-plans (every 50) and the hard stop end the run near step
 * 50 + 95 = 145, not 1000. Speeding up: 10 ms during the probe plans only 100, then 1 ms; the re-plans carry the
 * run on to near 50 + 500 = 550. Either way the last step is scored and the checkpoint holds it and the plan. */
static long slow_from, slow_to;
static float changing_batch(void *model, long step, Rng *rng, Arena *arena, float *terms) {
    float loss = quad_batch(model, step, rng, arena, terms);
    if (step >= slow_from && step < slow_to) nanosleep(&(struct timespec){ 0, 9000000 }, NULL);
    return loss;
}
START_TEST(test_budget_follows_the_rate) {
    for (int faster = 0; faster <= 1; faster++) {
        slow_from = faster ? 0 : TRAIN_BUDGET_PROBE;
        slow_to = faster ? TRAIN_BUDGET_PROBE : 100000000;
        BudgetRun b = budget_run(1.0, changing_batch);
        if (faster) ck_assert_msg(b.step > 250, "sped up after the probe, yet stopped at %ld (the probe alone planned ~100)", b.step);
        else ck_assert_msg(b.step < 300, "slowed down 10x after the probe, yet ran %ld steps (the probe alone planned ~1000)", b.step);
        ck_assert_int_eq(seen.last, b.step);
        ck_assert_int_eq(seen.bad_order, 0);
        ck_assert_int_eq(b.ckpt_step, b.step);
        ck_assert_int_eq(b.ckpt_total, b.planned);
    }
}
END_TEST

/* A bare --resume reads the run's "total" from the checkpoint; a malformed one is refused (1) before any training
 * or data loading. The file is written by train_save with a budget still unspent (so it adds no "total" of its
 * own) and a "total" in the caller's metadata. */
START_TEST(test_resume_refuses_bad_total) {
    static const char *bad[] = { "abc", "-5", "0", "12x", "100000001", "" };
    char dir[] = "/tmp/test_total_XXXXXX", ckpt[64], meta[64];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(ckpt, sizeof ckpt, "%s/t.safetensors", dir);
    for (int k = 0; k < (int)(sizeof bad / sizeof bad[0]); k++) {
        Params p;
        nn_params_init(&p);
        nn_params_declare(&p, "w", 1, (int[]){ 1 }, NN_INIT_ONE);
        Rng r = rng_seed(1);
        nn_params_alloc(&p, &r);
        snprintf(meta, sizeof meta, "\"total\": \"%s\"", bad[k]);
        Trainer tr;
        train_init(&tr, &p, &(TrainConfig){ .label = "t", .steps = 10, .lr_max = 1e-2f, .lr_min = 1e-2f, .quiet = 1,
                                            .budget_s = 60, .meta = meta });
        ck_assert_int_eq(train_save(&tr, ckpt), 0);
        train_free(&tr);
        nn_params_free(&p);
        UnetRecipe rec = unet_recipe_default(UNET_X0);
        Opts o = { .resume = 1, .steps = -1, .minutes = -1, .quiet = 1, .seed = 1 };
        ck_assert_msg(unet_train(&rec, &o, ckpt) == 1, "total '%s' accepted", bad[k]);
    }
    remove(ckpt);
    rmdir(dir);
}
END_TEST

/* --resume refuses (2) a checkpoint trained with another recipe, before reading any data: one whose metadata says
 * snr_gamma=0 resumed with 1, and one that predates the key (counted as 0) resumed with chapter 2's default. */
START_TEST(test_resume_refuses_other_recipe) {
    char dir[] = "/tmp/test_recipe_XXXXXX", ckpt[64];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(ckpt, sizeof ckpt, "%s/r.safetensors", dir);
    Params p;
    Unet u;
    random_unet(&p, &u, 3);
    UnetRecipe plain = unet_recipe_default(UNET_EPS);
    ck_assert_int_eq(unet_recipe_parse(&plain, "width=8,attention=0,snr_gamma=0,snr_floor=0"), 0);
    save_model(&p, &plain, ckpt);
    Opts o = { .resume = 1, .steps = 1, .minutes = -1, .quiet = 1, .seed = 1 };
    UnetRecipe weighted = plain;
    ck_assert_int_eq(unet_recipe_parse(&weighted, "snr_gamma=1"), 0);
    ck_assert_int_eq(unet_train(&weighted, &o, ckpt), 2);
    UnetRecipe wider = plain;
    ck_assert_int_eq(unet_recipe_parse(&wider, "width=16"), 0);
    ck_assert_int_eq(unet_train(&wider, &o, ckpt), 2);
    nn_params_free(&p);
    /* a checkpoint whose metadata has no snr_gamma (written before the key existed) */
    Params q;
    nn_params_init(&q);
    nn_params_declare(&q, "w", 1, (int[]){ 1 }, NN_INIT_ONE);
    Rng r = rng_seed(1);
    nn_params_alloc(&q, &r);
    Trainer tr;
    train_init(&tr, &q, &(TrainConfig){ .label = "t", .steps = 10, .lr_max = 1e-2f, .lr_min = 1e-2f, .quiet = 1 });
    ck_assert_int_eq(train_save(&tr, ckpt), 0);
    train_free(&tr);
    nn_params_free(&q);
    UnetRecipe ch2 = unet_recipe_default(UNET_EPS);   /* snr_gamma = 1 */
    ck_assert_int_eq(unet_train(&ch2, &o, ckpt), 2);
    remove(ckpt);
    rmdir(dir);
}
END_TEST

Suite *suite_unet_train(void) {
    Suite *s = suite_create("unet_train");
    TCase *tc = tcase_create("recipe");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_recipe_parse);
    tcase_add_test(tc, test_loss_weight_min_snr);
    tcase_add_test(tc, test_targets_convert);
    tcase_add_test(tc, test_unet_sample_is_den_sample);
    tcase_add_test(tc, test_vjp_matches_differences);
    tcase_add_test(tc, test_ema_warmup);
    tcase_add_test(tc, test_budget_and_eval_hook);
    tcase_add_test(tc, test_budget_follows_the_rate);
    tcase_add_test(tc, test_resume_refuses_bad_total);
    tcase_add_test(tc, test_resume_refuses_other_recipe);
    suite_add_tcase(s, tc);
    return s;
}
