/* train.c: the one training loop (see train.h): Adam + EMA, schedule, NaN guard, Ctrl-C, loss log, checkpoints. */
#include <dirent.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cli.h"
#include "io.h"
#include "train.h"

enum { TRAIN_MAX_STEP = 100000000 };   /* the largest --steps */

void train_init(Trainer *tr, Params *p, const TrainConfig *c) {
    CHECK(c->steps >= 1 && c->n_terms >= 0 && c->n_terms < TRAIN_MAX_TERMS, "steps = %ld, n_terms = %d", c->steps, c->n_terms);
    CHECK(!c->ckpt || (c->ckpt_every >= 1 && c->log_every >= 1), "ckpt_every = %ld, log_every = %ld", c->ckpt_every, c->log_every);
    memset(tr, 0, sizeof *tr);
    tr->c = *c;
    tr->params = p;
    size_t n = nn_params_count(p);
    optim_adam_init(&tr->adam, n, c->lr_max, 0.9f, 0.999f, 1e-8f, 0.0f);
    if (c->ema_decay > 0) optim_ema_init(&tr->ema, p->data, n, c->ema_decay);
    tr->ema.warmup = c->ema_warmup;
    tr->last_good = malloc(sizeof(float) * n);
    CHECK(tr->last_good != NULL, "cannot allocate a copy of %zu weights", n);
}

void train_free(Trainer *tr) {
    if (tr->c.ema_decay > 0) optim_ema_free(&tr->ema);
    optim_adam_free(&tr->adam);
    free(tr->last_good);
    memset(tr, 0, sizeof *tr);
}

void train_log_path(const char *ckpt, char *out, size_t cap) { io_sibling_path(ckpt, "_loss.dat", out, cap); }

/* ---- checkpoints --------------------------------------------------------------------------- */

/* The blocks laid out like the weights: model, [ema], adam_m, adam_v. Returns their number. */
static int blocks(Trainer *tr, float **block, const char **prefix) {
    int k = 0;
    block[k] = tr->params->data; prefix[k++] = "model";
    if (tr->c.ema_decay > 0) { block[k] = tr->ema.shadow; prefix[k++] = "ema"; }
    block[k] = tr->adam.m; prefix[k++] = "adam_m";
    block[k] = tr->adam.v; prefix[k++] = "adam_v";
    return k;
}

/* The update's passes over all weights run on OpenMP's threads when the block is long, like Adam's (optim.c): a
 * serial pass between two parallel ones outlasted the threads' spin, and waking them cost the toy step 7-9%. */
enum { UPDATE_PARALLEL_MIN = 1 << 14 };

/* Index of the first NaN or inf of x (n), or -1. */
static long first_nonfinite(const float *x, size_t n) {
    int any = 0;   /* one pass without an early exit (it vectorises), then the index only if there is one */
    #pragma omp parallel for schedule(static) reduction(|:any) if (n >= UPDATE_PARALLEL_MIN)
    for (size_t i = 0; i < n; i++) any |= !(fabsf(x[i]) <= FLT_MAX);
    if (!any) return -1;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return (long)i;
    return -1;
}

/* dst = src, n floats. */
static void copy_weights(float *dst, const float *src, size_t n) {
    enum { CHUNK = 1 << 13 };
    long chunks = (long)((n + CHUNK - 1) / CHUNK);
    #pragma omp parallel for schedule(static) if (n >= UPDATE_PARALLEL_MIN)
    for (long c = 0; c < chunks; c++) {
        size_t lo = (size_t)c * CHUNK;
        memcpy(dst + lo, src + lo, sizeof(float) * (n - lo < CHUNK ? n - lo : CHUNK));
    }
}

/* A file's string as it may be printed: at most 24 characters, control characters as '?'. */
static void printable(const char *s, char *out, size_t cap) {
    size_t i = 0;
    for (; s[i] && i + 1 < cap && i < 24; i++) out[i] = (s[i] >= 32 && s[i] < 127) ? s[i] : '?';
    out[i] = '\0';
}

int train_checkpoint_step(const IoSafetensors *st, long *step) {
    char buf[64], shown[32];
    if (io_safetensors_meta(st, "step", buf, sizeof buf)) {
        fprintf(stderr, "error: %s has no \"step\" in its metadata; hint: it is not one of our training checkpoints\n", st->path);
        return 1;
    }
    size_t n = strlen(buf);
    int ok = n >= 1 && n <= 9;   /* 9 digits hold TRAIN_MAX_STEP; no sign, no space, no exponent */
    for (size_t i = 0; ok && i < n; i++) ok = buf[i] >= '0' && buf[i] <= '9';
    if (ok) *step = atol(buf);
    if (!ok || *step > TRAIN_MAX_STEP) {
        printable(buf, shown, sizeof shown);
        fprintf(stderr, "error: %s: checkpoint step '%s' is not a whole number in [0, %d]; hint: the file is damaged, retrain it\n",
                st->path, shown, TRAIN_MAX_STEP);
        return 1;
    }
    return 0;
}

/* The generator's state as metadata: its four words, the spare normal's bits and has_spare. */
static void rng_format(const Rng *r, char *out, size_t cap) {
    unsigned long long spare;
    memcpy(&spare, &r->spare, sizeof spare);
    snprintf(out, cap, "%016llx %016llx %016llx %016llx %016llx %d", (unsigned long long)r->s[0], (unsigned long long)r->s[1],
             (unsigned long long)r->s[2], (unsigned long long)r->s[3], spare, r->has_spare);
}

static int rng_parse(const char *s, Rng *r) {
    unsigned long long w[5];
    int has, used = 0;
    if (sscanf(s, "%16llx %16llx %16llx %16llx %16llx %d%n", &w[0], &w[1], &w[2], &w[3], &w[4], &has, &used) != 6 ||
        s[used] != '\0' || (has != 0 && has != 1) || (w[0] | w[1] | w[2] | w[3]) == 0)
        return 1;
    for (int i = 0; i < 4; i++) r->s[i] = w[i];
    memcpy(&r->spare, &w[4], sizeof r->spare);
    r->has_spare = has;
    return 0;
}

/* The weights, the step, the generator and the loss averages, from one read of the file. */
static int read_checkpoint(Trainer *tr, const IoSafetensors *st) {
    float *block[4];
    const char *prefix[4];
    int k = blocks(tr, block, prefix);
    if (nn_params_read(tr->params, st, block, prefix, k)) return 1;
    if (train_checkpoint_step(st, &tr->step)) return 1;
    tr->adam.t = tr->step;
    tr->ema.t = tr->step;
    char buf[256];
    tr->has_rng = io_safetensors_meta(st, "rng", buf, sizeof buf) == 0;   /* absent in older checkpoints */
    if (tr->has_rng && rng_parse(buf, &tr->rng)) {
        fprintf(stderr, "error: %s: the generator state in its metadata is malformed; hint: the file is damaged\n", st->path);
        return 1;
    }
    memset(tr->avg, 0, sizeof tr->avg);
    if (io_safetensors_meta(st, "loss_avg", buf, sizeof buf) == 0) {
        char *p = buf, *end;
        for (int j = 0; j < TRAIN_MAX_TERMS && *p; j++, p = end) {
            tr->avg[j] = strtod(p, &end);
            if (end == p || !isfinite(tr->avg[j])) { fprintf(stderr, "error: %s: malformed loss_avg in its metadata\n", st->path); return 1; }
        }
    }
    return 0;
}

int train_load(Trainer *tr, const char *path) {
    IoSafetensors st;
    if (io_safetensors_open(&st, path)) return 1;
    int rc = read_checkpoint(tr, &st);
    io_safetensors_close(&st);
    return rc;
}

/* Temporaries NAME.tmp.PID of a save whose process no longer exists (it was killed mid-write): removed. */
static void remove_stale_tmps(const char *path) {
    char dir[1024], full[2048];
    const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
    size_t nd = slash ? (size_t)(slash - path) : 0, nb = strlen(base);
    if (nd >= sizeof dir) return;
    memcpy(dir, slash ? path : ".", slash ? nd : 1);
    dir[slash ? (nd ? nd : 1) : 1] = '\0';   /* "/x" lives in "/" */
    DIR *d = opendir(dir);
    if (!d) return;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        const char *name = e->d_name, *pid_s = name + nb + 5;
        if (strncmp(name, base, nb) != 0 || strncmp(name + nb, ".tmp.", 5) != 0 || !*pid_s || strspn(pid_s, "0123456789") != strlen(pid_s)) continue;
        long pid = atol(pid_s);
        if (pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;   /* ours, or its writer lives */
        snprintf(full, sizeof full, "%s/%s", dir, name);
        if (unlink(full) == 0) fprintf(stderr, "note: removed %s, left by a save that was killed\n", full);
    }
    closedir(d);
}

int train_save(Trainer *tr, const char *path) {
    float *block[4];
    const char *prefix[4];
    int k = blocks(tr, block, prefix);
    for (int b = 0; b < k; b++) {
        long bad = first_nonfinite(block[b], tr->params->numel);
        if (bad >= 0) {
            fprintf(stderr, "error: %s value %ld is %g at step %ld; not saved, %s keeps its last good state\n",
                    prefix[b], bad, block[b][bad], tr->step, path);
            return 1;
        }
    }
    remove_stale_tmps(path);
    char rng[128], meta[1024], total[48] = "";
    rng_format(tr->rng_live ? tr->rng_live : &tr->rng, rng, sizeof rng);
    if (tr->c.budget_s <= 0) snprintf(total, sizeof total, ", \"total\": \"%ld\"", tr->c.steps);   /* unknown before a budget's probe */
    snprintf(meta, sizeof meta, "{\"step\": \"%ld\"%s, \"rng\": \"%s\", \"loss_avg\": \"%.17g %.17g %.17g %.17g\"%s%s}", tr->step, total,
             rng, tr->avg[0], tr->avg[1], tr->avg[2], tr->avg[3], tr->c.meta ? ", " : "", tr->c.meta ? tr->c.meta : "");
    return nn_params_save(tr->params, path, block, prefix, k, meta);
}

/* ---- the loss log ---------------------------------------------------------------------------- */

/* Cut the log back to its whole lines of steps <= step: lines written after the checkpoint (and a line torn
 * by a kill) would otherwise repeat or go backwards once the resumed run appends. */
static int log_cut(const char *path, long step) {
    FILE *f = fopen(path, "r+");
    if (!f) return 0;   /* no log yet */
    char line[512];
    long keep = 0, s;
    while (fgets(line, sizeof line, f)) {
        size_t len = strlen(line);
        if (line[len - 1] != '\n' || sscanf(line, "%ld", &s) != 1 || s > step) break;
        keep = ftell(f);
    }
    int rc = ftruncate(fileno(f), (off_t)keep);
    if (rc) fprintf(stderr, "error: cannot cut %s back to step %ld: %s\n", path, step, strerror(errno));
    fclose(f);
    return rc ? 1 : 0;
}

static void log_line(FILE *log, const Trainer *tr) {
    fprintf(log, "%ld", tr->step);
    for (int j = 0; j <= tr->c.n_terms; j++) fprintf(log, " %.*f", tr->c.log_decimals, tr->avg[j]);
    fprintf(log, "\n");
    fflush(log);   /* a kill loses at most the line being written; log_cut drops it */
}

/* Before training with a checkpoint: resume from it (state, generator, log cut back), or refuse to replace it. */
static int ckpt_begin(Trainer *tr, Rng *rng, FILE **log) {
    const TrainConfig *c = &tr->c;
    char log_path[1024];
    train_log_path(c->ckpt, log_path, sizeof log_path);
    struct stat st;
    if (stat(c->ckpt, &st) == 0 && !S_ISREG(st.st_mode)) {   /* a directory or FIFO: refuse before any training */
        fprintf(stderr, "error: %s is %s, not a checkpoint file; hint: name a regular file for --ckpt\n", c->ckpt,
                S_ISDIR(st.st_mode) ? "a directory" : "a FIFO, socket or device");
        return 2;
    }
    remove_stale_tmps(c->ckpt);
    if (c->resume) {
        if (train_load(tr, c->ckpt)) return 1;
        if (tr->has_rng) *rng = tr->rng;
        else fprintf(stderr, "warning: %s holds no generator state (an older checkpoint); the random stream restarts\n", c->ckpt);
        if (log_cut(log_path, tr->step)) return 1;
        printf("resuming %s from step %ld\n", c->ckpt, tr->step);
    } else if (!c->overwrite && access(c->ckpt, F_OK) == 0) {
        fprintf(stderr, "error: %s exists; pass --resume to continue its training or --overwrite to start again\n", c->ckpt);
        return 2;
    }
    if (io_mkdir_for(c->ckpt)) return 1;
    *log = fopen(log_path, c->resume ? "a" : "w");
    if (!*log) fprintf(stderr, "warning: cannot write %s; training goes on without a loss log\n", log_path);
    return 0;
}

/* ---- the loop ------------------------------------------------------------------------------------ */

/* TRAIN_FAULT=loss:N or weights:N (tests only): the loss of step N, or a weight after its update, becomes NaN. */
typedef struct { int loss, weights; long step; } Fault;

static Fault fault_from_env(void) {
    Fault f = { 0, 0, -1 };
    const char *s = getenv("TRAIN_FAULT");
    if (s && !strncmp(s, "loss:", 5))    { f.loss = 1;    f.step = atol(s + 5); }
    if (s && !strncmp(s, "weights:", 8)) { f.weights = 1; f.step = atol(s + 8); }
    return f;
}

/* The moving averages of the loss and its parts (decay 0.99, started at the first value). */
static void average(Trainer *tr, float loss, const float *terms) {
    for (int j = 0; j <= tr->c.n_terms; j++) {
        double now = j == 0 ? loss : terms[j - 1];
        tr->avg[j] = tr->avg[j] == 0 ? now : 0.99 * tr->avg[j] + 0.01 * now;
    }
}

/* One update (named step tr->step + 1 in messages). 0, or 1 after saying where the loss or a weight stopped
 * being finite; the weights are then those before the update. */
static int train_step(Trainer *tr, TrainBatchFn batch, void *model, Rng *rng, Arena *arena, Fault f) {
    const TrainConfig *c = &tr->c;
    size_t n = tr->params->numel;
    long step = tr->step + 1;
    float terms[TRAIN_MAX_TERMS - 1] = { 0 };
    size_t mark = arena_pos(arena);
    float loss = batch(model, tr->step, rng, arena, terms);
    arena_pop_to(arena, mark);
    if (f.loss && f.step == step) loss = NAN;
    if (!isfinite(loss)) {
        fprintf(stderr, "\nerror: %s: loss is %g at step %ld; stopping with the weights of step %ld\n", c->label, loss, step, step - 1);
        return 1;
    }
    long warmup = c->warmup < c->steps - 1 ? c->warmup : c->steps - 1;   /* so that any steps >= 1 runs */
    tr->adam.lr = optim_lr_warmup_cosine(tr->step + c->lr_ahead, warmup, c->steps, c->lr_max, c->lr_min);
    cli_threads_begin(&tr->pick_update);   /* the update's threads follow the machine like the batch's */
    double t0 = cli_seconds();
    copy_weights(tr->last_good, tr->params->data, n);
    optim_adam_step(&tr->adam, tr->params->data, tr->params->grad);
    if (f.weights && f.step == step) tr->params->data[n / 2] = NAN;
    long bad = first_nonfinite(tr->params->data, n);
    cli_threads_end(&tr->pick_update, cli_seconds() - t0);
    if (bad >= 0) {   /* a finite loss does not prove finite weights: ReLU maps NaN to 0 */
        fprintf(stderr, "\nerror: %s: weight %ld is %g after step %ld; stopping with the weights of step %ld\n",
                c->label, bad, tr->params->data[bad], step, step - 1);
        memcpy(tr->params->data, tr->last_good, sizeof(float) * n);
        return 1;
    }
    if (c->ema_decay > 0) optim_ema_update(&tr->ema, tr->params->data);
    average(tr, loss, terms);
    if (c->curve) c->curve[tr->step] = loss;
    tr->step++;
    return 0;
}

static int train_loop(Trainer *tr, TrainBatchFn batch, void *model, Rng *rng, Arena *arena, FILE *log) {
    TrainConfig *c = &tr->c;
    Fault f = fault_from_env();
    Progress bar = cli_progress_start(c->label, c->steps, c->quiet);
    long first = tr->step;
    double budget = c->budget_s;   /* the plan is a forecast: re-planned as the rate is measured, and a hard stop */
    double trained = 0, mark = cli_seconds();   /* wall seconds of training, evaluations excluded */
    while (tr->step < c->steps) {
        if (cli_interrupted()) { cli_progress_end(&bar, tr->step, tr->avg[0]); return TRAIN_INTERRUPTED; }
        if (train_step(tr, batch, model, rng, arena, f)) return 1;
        long done = tr->step - first;
        if (budget > 0 && (done % TRAIN_BUDGET_PROBE == 0 || tr->step == c->steps)) {   /* the mean rate so far sets the steps left */
            double spent = trained + cli_seconds() - mark, left = budget - spent;
            c->steps = tr->step + (left > 0 ? (long)(left / spent * done) : 0);
            c->budget_s = 0;   /* from here on the run is one of c->steps updates (saved as "total") */
            bar.total = c->steps;
        }
        int out_of_time = budget > 0 && tr->step < c->steps && trained + cli_seconds() - mark >= budget;
        cli_progress_update(&bar, tr->step, tr->avg[0]);
        if (log && tr->step % c->log_every == 0) log_line(log, tr);
        if (c->ckpt && tr->step % c->ckpt_every == 0 && tr->step < c->steps && !out_of_time && train_save(tr, c->ckpt)) return 1;
        /* every eval_every updates, and after the last one of a run that long (a 2-step test run is not scored) */
        int last = tr->step == c->steps || out_of_time;
        if (c->eval && (tr->step % c->eval_every == 0 || (last && tr->step >= c->eval_every))) {
            trained += cli_seconds() - mark;
            c->eval(model, tr, trained);
            mark = cli_seconds();
        }
        if (out_of_time) {
            cli_progress_end(&bar, tr->step, tr->avg[0]);
            printf("%s: the %.0f s budget ran out at step %ld of the %ld planned (the learning rate is at %.2g of its peak)\n",
                   c->label, budget, tr->step, c->steps, tr->adam.lr / c->lr_max);
            return 0;
        }
    }
    cli_progress_end(&bar, tr->step, tr->avg[0]);
    return 0;
}

int train_run(Trainer *tr, TrainBatchFn batch, void *model, Rng *rng, Arena *arena) {
    const TrainConfig *c = &tr->c;
    FILE *log = NULL;
    tr->rng_live = rng;
    int rc = c->ckpt ? ckpt_begin(tr, rng, &log) : 0;
    if (rc) { tr->rng_live = NULL; return rc; }
    double t0 = cli_seconds();
    cli_catch_sigint();
    rc = train_loop(tr, batch, model, rng, arena, log);
    if (c->ckpt && rc != 1) {   /* done or interrupted: save where we are (a NaN leaves the last good file) */
        if (train_save(tr, c->ckpt)) rc = 1;
        else printf("%s at step %ld after %.0f s\n", c->ckpt, tr->step, cli_seconds() - t0);
    }
    if (rc == TRAIN_INTERRUPTED)
        fprintf(stderr, "%s: interrupted at step %ld%s\n", c->label, tr->step, c->ckpt ? "; --resume continues" : "");
    cli_release_sigint();
    if (log) fclose(log);
    tr->rng_live = NULL;
    return rc;
}
