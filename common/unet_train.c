#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "denoiser.h"
#include "fid.h"
#include "fmnist.h"
#include "io.h"
#include "train.h"
#include "unet_train.h"

enum { IMG = 28 * 28 };

UnetRecipe unet_recipe_default(UnetTarget target) {
    /* chosen by tools/recipe_study.sh and 20-minute runs (tutorial.md, 2.8 on images): x0 prediction, the cosine
     * schedule, a decaying learning rate, attention at 7 x 7, an EMA that forgets its random start, batches of 32,
     * and for chapter 2's network min-SNR weights with gamma 1 and a floor of 0.1 (the predictor samplers gain a
     * third; inversion and annealed Langevin keep a plain-loss network, CH2_UNET_PLAIN_CKPT). The flow network keeps
     * the plain loss: f.7 measured it so. */
    int ch2 = target == UNET_EPS;
    return (UnetRecipe){ .width = 24, .attention = 1, .T = 1000, .batch = 32, .sched = SCHED_COSINE,
                         .target = ch2 ? UNET_X0 : target, .lr = 1e-3f, .lr_min = 1e-5f, .warmup = 100,
                         .ema = 0.999f, .ema_warmup = 1, .score_every = 500,
                         .snr_gamma = ch2 ? 1.0f : 0.0f, .snr_floor = ch2 ? 0.1f : 0.0f };
}

/* One "key=value" of a recipe: 0, or 2 after the message. */
static int recipe_set(UnetRecipe *r, const char *key, const char *val) {
    char *end;
    double v = strtod(val, &end);
    int number = *val != '\0' && *end == '\0' && isfinite(v);
    if (!strcmp(key, "schedule")) {
        if (strcmp(val, "linear") && strcmp(val, "cosine")) goto bad;
        r->sched = strcmp(val, "cosine") ? SCHED_LINEAR : SCHED_COSINE;
        return 0;
    }
    if (!strcmp(key, "target")) {
        for (int k = 0; k < 4; k++)
            if (!strcmp(val, unet_target_names[k])) { r->target = (UnetTarget)k; return 0; }
        goto bad;
    }
    if (!number) goto bad;
    if (!strcmp(key, "width") && v >= 8 && v <= 128 && (int)v == v && (int)v % UNET_GROUPS == 0) { r->width = (int)v; return 0; }
    if (!strcmp(key, "attention") && (v == 0 || v == 1)) { r->attention = (int)v; return 0; }
    if (!strcmp(key, "T") && v >= 10 && v <= 10000 && (int)v == v) { r->T = (int)v; return 0; }
    if (!strcmp(key, "batch") && v >= 1 && v <= 1024 && (int)v == v) { r->batch = (int)v; return 0; }
    if (!strcmp(key, "lr") && v > 0 && v < 1) { r->lr = (float)v; return 0; }
    if (!strcmp(key, "lr_min") && v > 0 && v < 1) { r->lr_min = (float)v; return 0; }
    if (!strcmp(key, "ema") && v >= 0 && v < 1) { r->ema = (float)v; return 0; }
    if (!strcmp(key, "ema_warmup") && (v == 0 || v == 1)) { r->ema_warmup = (int)v; return 0; }
    if (!strcmp(key, "warmup") && v >= 0 && v <= 1e6 && (long)v == v) { r->warmup = (long)v; return 0; }
    if (!strcmp(key, "score_every") && v >= 0 && v <= 1e8 && (long)v == v) { r->score_every = (long)v; return 0; }
    if (!strcmp(key, "snr_gamma") && v >= 0 && v <= 1e6) { r->snr_gamma = (float)v; return 0; }
    if (!strcmp(key, "snr_floor") && v >= 0 && v <= 1) { r->snr_floor = (float)v; return 0; }
bad:
    fprintf(stderr, "error: --recipe %.40s=%.40s: unknown key or value out of range (keys: width attention T schedule target "
                    "batch lr lr_min warmup ema ema_warmup score_every snr_gamma snr_floor)\n", key, val);
    return 2;
}

int unet_recipe_parse(UnetRecipe *r, const char *spec) {
    if (!spec) return 0;
    char buf[512];
    if (strlen(spec) >= sizeof buf) { fprintf(stderr, "error: --recipe is longer than %zu characters\n", sizeof buf - 1); return 2; }
    strcpy(buf, spec);
    for (char *save = NULL, *item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(item, '=');
        if (!eq) { fprintf(stderr, "error: --recipe '%.40s': expected key=value\n", item); return 2; }
        *eq = '\0';
        if (recipe_set(r, item, eq + 1)) return 2;
    }
    if (r->lr_min > r->lr) { fprintf(stderr, "error: --recipe: lr_min %g is above lr %g\n", r->lr_min, r->lr); return 2; }
    return 0;
}

/* The recipe as the checkpoint records it: key and value as text, in one table that the metadata writer and the
 * --resume check both read. */
enum { RECIPE_KEYS = 13 };
typedef struct { const char *key; char value[32]; } RecipeEntry;

static void recipe_entries(const UnetRecipe *r, RecipeEntry e[RECIPE_KEYS]) {
    static const char *const keys[RECIPE_KEYS] = { "width", "attention", "T", "schedule", "target", "batch", "lr",
                                                  "lr_min", "warmup", "ema", "ema_warmup", "snr_gamma", "snr_floor" };
    for (int i = 0; i < RECIPE_KEYS; i++) e[i].key = keys[i];
    snprintf(e[0].value, sizeof e[0].value, "%d", r->width);
    snprintf(e[1].value, sizeof e[1].value, "%d", r->attention);
    snprintf(e[2].value, sizeof e[2].value, "%d", r->T);
    snprintf(e[3].value, sizeof e[3].value, "%s", r->sched == SCHED_COSINE ? "cosine" : "linear");
    snprintf(e[4].value, sizeof e[4].value, "%s", unet_target_names[r->target]);
    snprintf(e[5].value, sizeof e[5].value, "%d", r->batch);
    snprintf(e[6].value, sizeof e[6].value, "%g", r->lr);
    snprintf(e[7].value, sizeof e[7].value, "%g", r->lr_min);
    snprintf(e[8].value, sizeof e[8].value, "%ld", r->warmup);
    snprintf(e[9].value, sizeof e[9].value, "%g", r->ema);
    snprintf(e[10].value, sizeof e[10].value, "%d", r->ema_warmup);
    snprintf(e[11].value, sizeof e[11].value, "%g", r->snr_gamma);
    snprintf(e[12].value, sizeof e[12].value, "%g", r->snr_floor);
}

void unet_recipe_meta(const UnetRecipe *r, char *buf, size_t cap) {
    RecipeEntry e[RECIPE_KEYS];
    recipe_entries(r, e);
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; i < RECIPE_KEYS && n < cap; i++)
        n += snprintf(buf + n, cap - n, "%s\"%s\": \"%s\"", i ? ", " : "", e[i].key, e[i].value);
}

double unet_loss_weight(UnetTarget target, double a, double b, double gamma, double w_floor) {
    double snr = a * a / (b * b);
    double k = target == UNET_X0 ? 1.0 : target == UNET_EPS ? b / a : b;
    return fmax(fmin(snr / gamma, 1.0), w_floor) * k * k;
}

/* ---- sampling (for the score log and ./score; ddim.c's d.4 cell is the explained version) ---- */

int unet_sample(UnetModel *m, UnetSampler sampler, float *x, int n, int K, Rng *rng, Arena *arena) {
    int L = sampler == UNET_SAMPLE_PC ? (K + UNET_PC_M) / (UNET_PC_M + 1) : K;   /* the ladder's steps */
    if (L < 1) L = 1;
    Schedule s;
    sched_init(&s, m->sched, m->T);
    Denoiser den = den_unet(m, &s, 1);
    size_t mark = arena_pos(arena);
    DenLevel *l = arena_push_no_zero(arena, sizeof(DenLevel) * (L + 1));
    if (sampler == UNET_SAMPLE_PC) den_ladder_sigma(UNET_PC_SIGMA_MAX, UNET_PC_SIGMA_MIN, L, l);
    else if (m->target == UNET_FLOW) den_ladder_flow(L, l);
    else den_ladder_vp_uniform(&s, L, l);
    if (sampler == UNET_SAMPLE_PC) den_sample_pc_f(&den, l, L, UNET_PC_ORDER, UNET_PC_M, UNET_PC_C, x, n, rng, arena);
    else den_sample_ode_f(&den, l, L, sampler, x, n, arena);
    arena_pop_to(arena, mark);
    sched_free(&s);
    return sampler == UNET_SAMPLE_PC ? L + UNET_PC_M * (L - 1) : L;
}

/* ---- training -------------------------------------------------------------------- */

typedef struct {
    const UnetRecipe *r;
    Params     params;
    Unet       unet;
    Schedule   sched;
    Fmnist     fm;
    float     *x0;
    /* the score log */
    FidScorer  scorer;
    int        scoring;
    UnetModel  view;        /* the EMA weights, for sampling */
    char       score_path[600];
    uint64_t   seed;
} UnetTrain;

/* §2.8 / §flow one batch: x_t from x0 and eps at a random time, loss = mean ||net(x_t, t) - target||^2. */
static float unet_batch(void *model, long step, Rng *rng, Arena *arena, float *terms) {
    (void)step; (void)terms;
    UnetTrain *u = model;
    const UnetRecipe *r = u->r;
    int B = r->batch;
    float *xt = arena_push_no_zero(arena, sizeof(float) * (size_t)B * IMG), *tt = arena_push_no_zero(arena, sizeof(float) * B);
    Tensor eps = tensor_new(arena, 4, (int[]){ B, 1, 28, 28 }), target = tensor_new(arena, 4, (int[]){ B, 1, 28, 28 });
    Tensor sqrt_w = r->snr_gamma > 0 ? tensor_new(arena, 4, (int[]){ B, 1, 28, 28 }) : (Tensor){ 0 };
    for (int i = 0; i < B; i++) {
        const float *img = u->fm.images + (size_t)rng_int(rng, u->fm.n) * IMG;
        for (int k = 0; k < IMG; k++) u->x0[(size_t)i * IMG + k] = 2.0f * img[k] - 1.0f;
    }
    rng_normal_fill(rng, eps.data, (long)B * IMG);
    for (int i = 0; i < B; i++) {
        double a, b;   /* x_t = a x0 + b eps */
        if (r->target == UNET_FLOW) {
            double t = rng_uniform(rng);
            a = 1 - t, b = t;
            tt[i] = (float)(r->T * t);
        } else {
            int t = 1 + rng_int(rng, r->T);
            a = sqrt(u->sched.alpha_bar[t]), b = sqrt(1 - u->sched.alpha_bar[t]);
            tt[i] = (float)t;
        }
        for (int k = 0; k < IMG; k++) {
            size_t j = (size_t)i * IMG + k;
            double x0 = u->x0[j], e = eps.data[j];
            xt[j] = (float)(a * x0 + b * e);
            target.data[j] = (float)(r->target == UNET_EPS ? e : r->target == UNET_X0 ? x0
                                     : r->target == UNET_V ? a * e - b * x0 : e - x0);
        }
        if (r->snr_gamma > 0) {   /* w ||net - target||^2 = ||sqrt(w) net - sqrt(w) target||^2 */
            float s = (float)sqrt(unet_loss_weight(r->target, a, b, r->snr_gamma, r->snr_floor));
            for (int k = 0; k < IMG; k++) {
                size_t j = (size_t)i * IMG + k;
                sqrt_w.data[j] = s;
                target.data[j] *= s;
            }
        }
    }
    AgTape tape = ag_tape(arena, UNET_MAX_NODES);
    AgNode *net = unet_forward(&tape, &u->params, &u->unet, xt, tt, B);
    if (r->snr_gamma > 0) net = ag_mul(&tape, net, ag_input(&tape, sqrt_w));
    AgNode *loss = ag_mse(&tape, net, ag_input(&tape, target));
    nn_params_zero_grad(&u->params);
    ag_backward(&tape, loss);
    return loss->val.data[0];
}

/* The score log: UNET_SCORE_N images from the EMA weights, their Frechet score and its floors, one line. */
static void unet_score(void *model, const Trainer *tr, double seconds) {
    UnetTrain *u = model;
    if (!u->scoring) return;
    memcpy(u->view.params.data, tr->c.ema_decay > 0 ? tr->ema.shadow : tr->params->data, sizeof(float) * u->params.numel);
    u->view.step = tr->step;
    Arena arena;
    arena_init(&arena, (size_t)1 << 30);
    float *x = arena_push_no_zero(&arena, sizeof(float) * UNET_SCORE_N * IMG);
    Rng rng = rng_stream(u->seed, 2000);   /* the same x_T every time: the curve shows the weights, not the draw */
    rng_normal_fill(&rng, x, (long)UNET_SCORE_N * IMG);
    unet_sample(&u->view, UNET_SAMPLE_DDIM, x, UNET_SCORE_N, UNET_SCORE_STEPS, NULL, &arena);   /* DDIM: the log's curves stay comparable */
    FidScore sc;
    if (fid_score(&u->scorer, x, UNET_SCORE_N, -1.0f, 1.0f, &sc) == 0) {
        FILE *f = fopen(u->score_path, "a");
        if (f) {
            fprintf(f, "%ld %.1f %.3f %.3f %.3f %.4f\n", tr->step, seconds, sc.fid, sc.floor_real, sc.floor_noise, sc.max_softmax);
            fclose(f);
        }
    }
    arena_free(&arena);
}

/* On --resume the recipe must be the checkpoint's own: a key recorded there with another value is refused (2),
 * naming both values, before any data is read (else a resumed run could switch, say, from the plain loss to
 * min-SNR weights half-way). A key the checkpoint predates counts as its value then: snr_gamma and snr_floor 0. */
static int recipe_matches_checkpoint(const UnetRecipe *r, const char *path) {
    if (access(path, F_OK) != 0) return 0;   /* nothing to resume: train.c says so */
    IoSafetensors st;
    if (io_safetensors_open(&st, path)) return 1;
    RecipeEntry e[RECIPE_KEYS];
    recipe_entries(r, e);
    char hint[512] = "";
    for (int i = 0; i < RECIPE_KEYS; i++) {
        char have[64];
        if (io_safetensors_meta(&st, e[i].key, have, sizeof have))   /* a key the checkpoint predates */
            snprintf(have, sizeof have, "%s", strncmp(e[i].key, "snr_", 4) ? e[i].value : "0");
        if (strcmp(have, e[i].value)) {
            fprintf(stderr, "error: %s was trained with %s=%s, this run's recipe has %s=%s\n", path, e[i].key, have, e[i].key, e[i].value);
            size_t n = strlen(hint);
            snprintf(hint + n, sizeof hint - n, "%s%s=%s", n ? "," : "", e[i].key, have);
        }
    }
    io_safetensors_close(&st);
    if (!hint[0]) return 0;
    fprintf(stderr, "hint: --resume --recipe %s, or --overwrite to start afresh\n", hint);
    return 2;
}

int unet_train(const UnetRecipe *r, const Opts *o, const char *path) {
    if (o->resume) {
        int rc = recipe_matches_checkpoint(r, path);
        if (rc) return rc;
    }
    long minutes = o->steps > 0 ? 0 : o->minutes > 0 ? o->minutes : UNET_TRAIN_MINUTES;   /* by steps, or by the clock */
    long n_steps = o->steps > 0 ? o->steps : 100000000;
    char total[32], *end;   /* a bare --resume continues to the total its run was given (by --steps or by its budget) */
    if (o->resume && o->steps <= 0 && o->minutes <= 0 && io_safetensors_metadata(path, "total", total, sizeof total) == 0) {
        n_steps = strtol(total, &end, 10);
        if (end == total || *end || n_steps < 1 || n_steps > 100000000) {
            fprintf(stderr, "error: %s: its \"total\" is not a whole number in [1, 100000000]; hint: --resume --steps N\n", path);
            return 1;
        }
        minutes = 0;
    }
    UnetTrain *u = calloc(1, sizeof *u);
    CHECK(u != NULL, "out of memory");
    u->r = r;
    u->seed = o->seed;
    if (fmnist_load(&u->fm, NULL, 1, 0)) { free(u); return 1; }
    Rng rng = rng_stream(o->seed, 1000);
    nn_params_init(&u->params);
    unet_declare_attention(&u->params, &u->unet, r->width, r->attention);
    nn_params_alloc(&u->params, &rng);
    sched_init(&u->sched, r->sched, r->T);
    u->x0 = malloc(sizeof(float) * (size_t)r->batch * IMG);
    CHECK(u->x0 != NULL, "out of memory");
    if (r->score_every > 0) {
        u->scoring = fid_scorer_load(&u->scorer, NULL) == 0;
        if (!u->scoring) fprintf(stderr, "warning: no classifier, so no score log (the training goes on)\n");
        io_sibling_path(path, "_score.dat", u->score_path, sizeof u->score_path);
        if (u->scoring && !o->resume) remove(u->score_path);   /* a fresh run starts a fresh log */
        u->view = (UnetModel){ .T = r->T, .sched = r->sched, .target = r->target };
        nn_params_init(&u->view.params);
        unet_declare_attention(&u->view.params, &u->view.unet, r->width, r->attention);
        Rng unused = rng_seed(1);
        nn_params_alloc(&u->view.params, &unused);   /* values overwritten by the EMA before each use */
    }
    char meta[512];
    unet_recipe_meta(r, meta, sizeof meta);
    Trainer tr;
    train_init(&tr, &u->params, &(TrainConfig){ .label = r->target == UNET_FLOW ? "train U-Net v_theta" : "train U-Net",
               .steps = n_steps, .lr_max = r->lr, .lr_min = r->lr_min, .warmup = r->warmup, .ema_decay = r->ema, .ema_warmup = r->ema_warmup,
               .quiet = o->quiet, .ckpt = path, .meta = meta, .ckpt_every = 250, .log_every = 10, .log_decimals = 5,
               .resume = o->resume, .overwrite = o->overwrite, .budget_s = 60.0 * minutes,
               .eval = r->score_every > 0 ? unet_score : NULL, .eval_every = r->score_every });
    printf("training the U-Net (%zu parameters, %s) on %d images %s, checkpoint %s\n", nn_params_count(&u->params), meta, u->fm.n,
           minutes > 0 ? "for the time budget" : "to its step count", path);
    Arena arena;
    arena_init(&arena, (size_t)1 << 30);
    int rc = train_run(&tr, unet_batch, u, &rng, &arena);
    arena_free(&arena);
    train_free(&tr);
    if (r->score_every > 0) nn_params_free(&u->view.params);
    if (u->scoring) fid_scorer_free(&u->scorer);
    free(u->x0);
    sched_free(&u->sched);
    nn_params_free(&u->params);
    fmnist_free(&u->fm);
    free(u);
    return rc;
}
