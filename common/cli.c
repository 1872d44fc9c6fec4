#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include "cli.h"
#include "io.h"

/* ---- flags ------------------------------------------------------------- */

void cli_usage(FILE *f, const CliSpec *spec) {
    fprintf(f, "usage: ./%s [options]\n%s\n\noptions:\n", spec->prog, spec->summary);
    fprintf(f, "  --list              list the cells (sections) and exit\n");
    fprintf(f, "  --cell ID|NAME      run one cell, by section number (2.3) or short name\n");
    fprintf(f, "  --seed N            random seed, integer >= 0 (default 1)\n");
    fprintf(f, "  --out DIR           where figures go (default figures)\n");
    fprintf(f, "  --threads N         OpenMP threads, 0 = all cores (default 0)\n");
    fprintf(f, "  --quiet             no progress bars\n");
    if (spec->flags & CLI_DATA) {
        fprintf(f, "  --data NAME         2D data set:");
        for (const char *const *d = spec->data_names; d && *d; d++) fprintf(f, " %s", *d);
        fprintf(f, " (default: each cell's)\n");
    }
    if (spec->flags & CLI_STEPS)
        fprintf(f, "  --steps N           training steps, integer >= 1 (default: each cell's)\n");
    if (spec->flags & CLI_SAMPLES)
        fprintf(f, "  --samples N         samples to draw, integer >= 1 (default: each cell's)\n");
    if (spec->flags & CLI_TRAIN) {
        fprintf(f, "  --train             train %s and save its checkpoint (--train-images: the same)\n",
                spec->train_help ? spec->train_help : "this program's model");
        fprintf(f, "  --resume            with --train: continue from the checkpoint (the same as an uninterrupted run)\n");
        fprintf(f, "  --overwrite         with --train: start afresh even if the checkpoint exists (else refused)\n");
        fprintf(f, "  --ckpt PATH         checkpoint to read and write (default checkpoints/%s_*.safetensors)\n", spec->prog);
    }
    if (spec->flags & CLI_RECIPE) {
        fprintf(f, "  --recipe K=V,...    with --train: change the recipe, e.g. width=32,schedule=cosine,target=v (README lists the keys)\n");
        fprintf(f, "  --minutes M         with --train: train for about M minutes of wall clock instead of a number of steps\n");
    }
    fprintf(f, "  --help              this text\n");
}

/* A whole decimal integer in [lo, hi], nothing else. */
static int parse_long(const char *flag, const char *s, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || errno == ERANGE || v < lo || v > hi) {
        fprintf(stderr, "error: %s '%s': expected an integer in [%ld, %ld]\n", flag, s, lo, hi);
        return 2;
    }
    *out = v;
    return 0;
}

static int known_data(const CliSpec *spec, const char *name) {
    for (const char *const *d = spec->data_names; d && *d; d++)
        if (strcmp(*d, name) == 0) return 1;
    return 0;
}

/* 1 if flag is an option of this program that takes a value. */
static int takes_value(const CliSpec *spec, const char *flag) {
    static const char *const common[] = { "--seed", "--threads", "--out", "--cell" };
    for (int i = 0; i < 4; i++) if (!strcmp(flag, common[i])) return 1;
    return ((spec->flags & CLI_DATA) && !strcmp(flag, "--data")) || ((spec->flags & CLI_STEPS) && !strcmp(flag, "--steps")) ||
           ((spec->flags & CLI_SAMPLES) && !strcmp(flag, "--samples")) || ((spec->flags & CLI_TRAIN) && !strcmp(flag, "--ckpt")) ||
           ((spec->flags & CLI_RECIPE) && (!strcmp(flag, "--recipe") || !strcmp(flag, "--minutes")));
}

static int parse_one(Opts *o, const CliSpec *spec, const char *flag, const char *val) {
    long v;
    if (!strcmp(flag, "--seed"))    { if (parse_long(flag, val, 0, LONG_MAX, &v)) return 2; o->seed = (uint64_t)v; return 0; }
    if (!strcmp(flag, "--threads")) { if (parse_long(flag, val, 0, 256, &v)) return 2; o->threads = (int)v; return 0; }
    if (!strcmp(flag, "--out"))     { o->out = val; return 0; }
    if (!strcmp(flag, "--cell"))    { o->cell = val; return 0; }
    if ((spec->flags & CLI_DATA) && !strcmp(flag, "--data")) {
        if (!known_data(spec, val)) { fprintf(stderr, "error: --data '%s': unknown data set (see --help)\n", val); return 2; }
        o->data = val;
        return 0;
    }
    if ((spec->flags & CLI_STEPS) && !strcmp(flag, "--steps"))     return parse_long(flag, val, 1, 100000000, &o->steps);
    if ((spec->flags & CLI_SAMPLES) && !strcmp(flag, "--samples")) return parse_long(flag, val, 1, 10000000, &o->samples);
    if ((spec->flags & CLI_TRAIN) && !strcmp(flag, "--ckpt"))      { o->ckpt = val; return 0; }
    if ((spec->flags & CLI_RECIPE) && !strcmp(flag, "--recipe"))   { o->recipe = val; return 0; }
    if ((spec->flags & CLI_RECIPE) && !strcmp(flag, "--minutes"))  return parse_long(flag, val, 1, 10000, &o->minutes);
    fprintf(stderr, "error: unknown option '%s' (see ./%s --help)\n", flag, spec->prog);
    return 2;
}

/* OpenMP threads that wait for work spin briefly, then sleep, unless the user chose a policy. libgomp's own
 * default spins 300000 rounds (milliseconds) before sleeping: on a shared machine a spinning thread takes the core
 * its partner needs, and each parallel loop then waits for the slower thread (issue 13: ch3 ran 90 s beside a
 * compile, 32 s alone; 100 U-Net samples beside a 2-thread program took 8 min spinning, 2.5 min passive).
 * Sleeping at once (OMP_WAIT_POLICY=passive) costs a wake-up of 15 us or more per parallel loop instead, a
 * quarter of a 256^3 GEMM. A short spin bridges the gaps between back-to-back loops. How long a spin round
 * lasts depends on the CPU (one `pause` instruction each): 300 rounds were about 10 us on the Zen 4 of sessions
 * 7-11, where they were right (GEMM at 256 211 GFLOP/s against 152 passive; beside a busy loop the image cell
 * as passive, while 3000 rounds lost 13% there), but 4 us on the Xeon of session 12, too short: GEMM at 256 ran
 * 150-200 GFLOP/s against 290 with 1500 rounds (20 us), the U-Net 760-870 images/s against 925-940. So the
 * spin is set in time, CLI_OMP_SPIN_US, and counted in rounds timed here (about 0.3 ms, once per program).
 * libgomp reads the variable once, when it is loaded, so the program re-executes itself with it set; if that
 * fails it runs as it is. */
long cli_spin_rounds(double us) {
    enum { ROUNDS = 5000 };
    double per_round = 1e30;
    for (int rep = 0; rep < 4; rep++) {   /* the fastest of 4: a preempted batch only looks slower */
        double t0 = cli_seconds();
        for (int i = 0; i < ROUNDS; i++) {
#if defined(__x86_64__) || defined(__i386__)
            __builtin_ia32_pause();   /* what libgomp's spin round does (cpu_relax) */
#else
            __asm__ __volatile__("" ::: "memory");
#endif
        }
        double t = (cli_seconds() - t0) / ROUNDS;
        if (t < per_round) per_round = t;
    }
    long n = per_round > 0 ? (long)(us * 1e-6 / per_round) : 300;
    return n < 100 ? 100 : n > 100000 ? 100000 : n;
}

void cli_omp_wait(char **argv) {
#ifdef _OPENMP
    if (getenv("OMP_WAIT_POLICY") || getenv("GOMP_SPINCOUNT")) return;
    char rounds[32];
    snprintf(rounds, sizeof rounds, "%ld", cli_spin_rounds(CLI_OMP_SPIN_US));
    if (setenv("GOMP_SPINCOUNT", rounds, 1) != 0) return;
    execv("/proc/self/exe", argv);
#else
    (void)argv;
#endif
}

int cli_threads_begin(ThreadPick *p) {
    int max = 1;
#ifdef _OPENMP
    max = omp_in_parallel() ? 1 : omp_get_max_threads();
#endif
    p->saved = max;
    if (max <= 1) { p->last = -1; return 1; }   /* nothing to choose, nothing recorded */
    int k;
    p->probing = 0;
    if (p->avg[1] == 0) k = 1;                  /* all threads until timed, then one thread until timed */
    else if (p->avg[0] == 0) k = 0;
    else {
        int fast = p->avg[0] < p->avg[1] ? 0 : 1;
        if (p->gap == 0) { p->gap = CLI_PICK_FIRST_GAP; p->probe_at = p->calls + p->gap; }
        if (p->calls >= p->probe_at + 2) {      /* the last probe is over: the next one twice as far, at most */
            p->gap = 2 * p->gap < CLI_PICK_PROBE ? 2 * p->gap : CLI_PICK_PROBE;
            p->probe_at += p->gap;
        }
        p->probing = p->calls >= p->probe_at;   /* the probe: two calls on the other count */
        k = p->probing ? 1 - fast : fast;
    }
    p->changed = p->calls == 0 || k != p->last;
    p->calls++;
    p->last = k;
#ifdef _OPENMP
    omp_set_num_threads(k ? max : 1);
#endif
    return k ? max : 1;
}

void cli_threads_end(ThreadPick *p, double seconds) {
    if (p->last < 0) return;
#ifdef _OPENMP
    omp_set_num_threads(p->saved);
#endif
    if (p->changed) return;
    double *a = &p->avg[p->last];
    if (p->probing && seconds < *a) { *a = seconds; return; }   /* a faster probe: the count can run this fast */
    if (*a > 0 && seconds > 2 * *a) seconds = 2 * *a;   /* one preempted call moves the average by 25% at most */
    *a = *a == 0 ? seconds : 0.75 * *a + 0.25 * seconds;
}

int cli_parse(Opts *o, int argc, char **argv, const CliSpec *spec) {
    memset(o, 0, sizeof *o);
    o->seed = 1;
    o->out = "figures";
    o->steps = -1;
    o->samples = -1;
    o->minutes = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { cli_usage(stdout, spec); return CLI_DONE; }
        if (!strcmp(a, "--quiet")) { o->quiet = 1; continue; }
        if (!strcmp(a, "--list"))  { o->list = 1; continue; }
        if ((spec->flags & CLI_TRAIN) && (!strcmp(a, "--train") || !strcmp(a, "--train-images"))) { o->train = 1; continue; }
        if ((spec->flags & CLI_TRAIN) && !strcmp(a, "--resume"))    { o->resume = 1; continue; }
        if ((spec->flags & CLI_TRAIN) && !strcmp(a, "--overwrite")) { o->overwrite = 1; continue; }
        /* every other option takes a value: --flag VALUE or --flag=VALUE */
        char flag[64];
        const char *val = NULL, *eq = strchr(a, '=');
        if (strncmp(a, "--", 2) != 0 || (eq ? (size_t)(eq - a) : strlen(a)) >= sizeof flag) {
            fprintf(stderr, "error: unexpected argument '%s' (see ./%s --help)\n", a, spec->prog);
            return 2;
        }
        if (eq) { memcpy(flag, a, (size_t)(eq - a)); flag[eq - a] = '\0'; val = eq + 1; }
        else    { strcpy(flag, a); val = i + 1 < argc ? argv[++i] : NULL; }
        if (!takes_value(spec, flag)) { fprintf(stderr, "error: unknown option '%s' (see ./%s --help)\n", flag, spec->prog); return 2; }
        if (!val || !val[0]) { fprintf(stderr, "error: %s needs a value, got '%s' (see ./%s --help)\n", flag, val ? val : "", spec->prog); return 2; }
        if (parse_one(o, spec, flag, val)) return 2;
    }
#ifdef _OPENMP
    if (o->threads > 0) omp_set_num_threads(o->threads);
#endif
    return 0;
}

/* ---- cells ------------------------------------------------------------- */

int cli_find_cell(const Cell *cells, int n, const char *key) {
    for (int i = 0; i < n; i++)
        if (!strcmp(cells[i].id, key) || !strcmp(cells[i].name, key)) return i;
    return -1;
}

void *cli_alloc(Ctx *ctx, size_t bytes) { return arena_push_no_zero(ctx->arena, bytes); }

static int run_cell(const Cell *c, int index, const Opts *opts, Arena *arena) {
    Ctx ctx = {0};
    ctx.opts = opts;
    ctx.out = opts->out;
    ctx.rng = rng_stream(opts->seed, (uint64_t)index + 1);   /* the same stream alone or in the full run */
    ctx.arena = arena;
    ctx.cell_index = index;
    printf("\n== %s  %s ==\n", c->id, c->title);
    fflush(stdout);
    double t0 = cli_seconds();
    int rc = c->run(&ctx);
    arena_pop_to(arena, 0);
    printf("   (%.1f s%s)\n", cli_seconds() - t0, ctx.failures ? ", CHECKS FAILED" : "");
    return rc ? rc : (ctx.failures ? 1 : 0);
}

int cli_run(const Cell *cells, int n, const Opts *opts) {
    if (opts->list) {
        for (int i = 0; i < n; i++) printf("%-6s %-14s %s\n", cells[i].id, cells[i].name, cells[i].title);
        return 0;
    }
    int only = -1;
    if (opts->cell) {
        only = cli_find_cell(cells, n, opts->cell);
        if (only < 0) { fprintf(stderr, "error: --cell '%s': no such cell (see --list)\n", opts->cell); return 2; }
    }
    if (io_mkdir_p(opts->out)) return 1;
    Arena arena;
    arena_init(&arena, (size_t)1 << 30);  /* 1 GiB of address space; only touched pages are used */
    int rc = 0;
    for (int i = 0; i < n; i++) {
        if (only >= 0 && i != only) continue;
        int r = run_cell(&cells[i], i, opts, &arena);
        if (r > rc) rc = r;
        if (cli_interrupted()) { rc = CLI_INTERRUPTED; break; }   /* Ctrl-C during a training loop: it stopped, so do we */
    }
    arena_free(&arena);
    if (rc) fprintf(stderr, "%s (exit %d)\n", rc == CLI_INTERRUPTED ? "interrupted" : "some cells failed", rc);
    return rc;
}

int cli_main(int argc, char **argv, const CliSpec *spec, const Cell *cells, int n, int (*train)(const Opts *opts)) {
    cli_omp_wait(argv);   /* idle OpenMP threads spin briefly, then sleep: fair on a shared machine */
    Opts opts;
    int rc = cli_parse(&opts, argc, argv, spec);
    if (rc) return rc == CLI_DONE ? 0 : rc;
    if (!opts.train) return cli_run(cells, n, &opts);
    CHECK(train != NULL, "%s: CLI_TRAIN without a train function for cli_main", spec->prog);
    return train(&opts);
}

/* ---- narration and checks ---------------------------------------------- */

void cli_say(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    printf("   ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
}

int cli_check(Ctx *ctx, const char *what, double got, double want, double tol) {
    double diff = got - want;
    if (diff < 0) diff = -diff;
    int ok = diff < tol;   /* NaN compares false: a NaN never passes */
    printf("   check %-44s got %-12.6g want %-12.6g |diff| %.2e < %.1e  %s\n",
           what, got, want, diff, tol, ok ? "ok" : "FAILED");
    if (!ok) ctx->failures++;
    return ok;
}

int cli_check_le(Ctx *ctx, const char *what, double got, double bound) {
    int ok = got <= bound;
    printf("   check %-44s got %-12.6g <= %-12.6g  %s\n", what, got, bound, ok ? "ok" : "FAILED");
    if (!ok) ctx->failures++;
    return ok;
}

void cli_figure(const char *dir, const char *name) {
    printf("   figure %s/%s.png\n", dir, name);
}

/* ---- progress ---------------------------------------------------------- */

double cli_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

Progress cli_progress_start(const char *label, long total, int quiet) {
    Progress p = {0};
    p.label = label;
    p.total = total;
    p.first = -1;
    p.quiet = quiet;
    p.tty = isatty(2);
    p.t_start = p.t_last = cli_seconds();
    return p;
}

static void progress_print(Progress *p, long step, double loss, const char *end) {
    double el = cli_seconds() - p->t_start;
    double rate = el > 0 ? (step - p->first) / el : 0.0;
    double eta = rate > 0 ? (p->total - step) / rate : 0.0;
    fprintf(stderr, "%s   %s step %ld/%ld  loss %.5f  %.0f steps/s  ETA %.0f s   %s",
            p->tty ? "\r" : "", p->label, step, p->total, loss, rate, eta, end);
}

void cli_progress_update(Progress *p, long step, double loss) {
    if (p->first < 0) p->first = step - 1;
    if (p->quiet) return;
    double now = cli_seconds();
    double every = p->tty ? 0.2 : 10.0;   /* redraw a terminal often; a log file rarely */
    if (now - p->t_last < every) return;
    p->t_last = now;
    progress_print(p, step, loss, p->tty ? "" : "\n");
}

void cli_progress_end(Progress *p, long step, double loss) {
    if (p->first < 0) p->first = step;
    if (p->quiet) return;
    progress_print(p, step, loss, "\n");
}

/* ---- Ctrl-C ------------------------------------------------------------ */

static volatile sig_atomic_t interrupted = 0;
static void on_sigint(int sig) { (void)sig; interrupted = 1; }

void cli_catch_sigint(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigaction(SIGINT, &sa, NULL);
}

void cli_release_sigint(void) { signal(SIGINT, SIG_DFL); }

int cli_interrupted(void) { return interrupted; }
