/* cli.h: what every chapter program shares at run time: flags, cells, narration,
 * numeric checks and the training progress bar.
 *
 *   static const Cell CELLS[] = {
 *       { "2.3", "marginal", "forward marginal q(x_t | x_0)", cell_2_3_marginal },
 *   };
 *   int main(int argc, char **argv) {
 *       static const CliSpec spec = { "ch2", "DDPM (PDF chapter 2)", CLI_DATA | CLI_STEPS };
 *       return cli_main(argc, argv, &spec, CELLS, COUNT_OF(CELLS), NULL);   // --help, --list, --cell 2.3, or all
 *   }
 *
 * A cell is `int cell(Ctx *ctx)`: it narrates with cli_say, verifies with
 * cli_check (which counts failures), writes figures into ctx->out, and returns
 * 0, or 1 when something it needed failed (a write, a missing file). Each cell
 * gets its own Rng seeded from (--seed, cell index), so `--cell 2.3` alone gives
 * the same numbers as the full run, and a step arena (ctx->arena) that is reset
 * after the cell. cli_run returns the exit code: 0 all good, 1 a cell or a
 * check failed, 2 an unknown cell.
 *
 * Exit codes everywhere: 0 success, 1 failure, 2 bad usage, 130 Ctrl-C (CLI_INTERRUPTED). Nothing here
 * calls exit(); cli_parse prints the usage line and returns 2.
 */
#ifndef CLI_H
#define CLI_H

#include <stdint.h>
#include "base.h"
#include "rng.h"
#include "tensor.h"

/* Flags beyond the common ones (--help --seed --out --threads --quiet --list --cell)
 * that a program accepts, as a bit set in CliSpec.flags. */
enum { CLI_DATA = 1, CLI_STEPS = 2, CLI_SAMPLES = 4, CLI_TRAIN = 8, CLI_RECIPE = 16 };
enum { CLI_DONE = -1 };   /* cli_parse: --help was printed, exit 0 */
enum { CLI_INTERRUPTED = 130 };   /* exit code after Ctrl-C stopped a training loop (128 + SIGINT, as a shell reports it) */

typedef struct {
    uint64_t    seed;         /* --seed N           default 1 */
    const char *out;          /* --out DIR          default "figures" */
    int         threads;      /* --threads N        default 0 = all cores */
    int         quiet;        /* --quiet            no progress bars */
    int         list;         /* --list             print the cells and exit */
    const char *cell;         /* --cell ID|NAME     default NULL = all cells */
    const char *data;         /* --data NAME        default NULL = the cell's choice */
    long        steps;        /* --steps N          training steps, default -1 = the cell's */
    long        samples;      /* --samples N        samples drawn, default -1 = the cell's */
    int         train;        /* --train            train this program's model and save its checkpoint (also --train-images) */
    int         resume;       /* --resume           continue training from the checkpoint */
    int         overwrite;    /* --overwrite        start training afresh over an existing checkpoint */
    const char *ckpt;         /* --ckpt PATH        checkpoint to read/write, default the program's */
    const char *recipe;       /* --recipe K=V,...   training recipe changes (with CLI_RECIPE; the program parses them) */
    long        minutes;      /* --minutes M        a wall-clock training budget, default -1 = by steps */
} Opts;

typedef struct {
    const char *prog;       /* "ch2" */
    const char *summary;    /* one line: what the program shows */
    unsigned    flags;      /* CLI_DATA | CLI_STEPS | ... */
    const char *const *data_names; /* accepted --data values, NULL-terminated (with CLI_DATA) */
    const char *train_help; /* with CLI_TRAIN: what --train trains, "the Fashion-MNIST VAE (6-13 min)" */
} CliSpec;

/* A program's first step (cli_main takes it): unless OMP_WAIT_POLICY or GOMP_SPINCOUNT is set, re-execute the
 * program with GOMP_SPINCOUNT set so that idle OpenMP threads spin about CLI_OMP_SPIN_US microseconds, then sleep
 * (see cli.c); argv must be main's. Kept out of cli_parse so that tests and fuzzers can parse flags without
 * re-executing themselves. cli_spin_rounds: libgomp's spin rounds that last `us` microseconds on this CPU. */
enum { CLI_OMP_SPIN_US = 20 };
long cli_spin_rounds(double us);
void cli_omp_wait(char **argv);
/* Threads for a job that runs many times (a training step, a network evaluation), chosen by timing it. On a
 * shared machine a 2-thread job waits at each barrier for the thread that lost its core, and can run slower than
 * on one thread (the toy training step beside a busy loop: 8% slower). So each call runs on one thread or on all,
 * whichever has the smaller moving average of seconds per unit of work; now and then two calls run on the other
 * count (a probe), so a machine that gets idle again is noticed (one that gets busy at once: the running count's
 * own average rises). Probes are not free: beside a busy loop a 2-thread toy step is slow, and probing every 64
 * calls made the 2D cell 3-4% slower than on one thread; every 256, 1-2%. So the first probe comes 16 calls after
 * both counts are timed, and each next one twice as far, up to every CLI_PICK_PROBE calls. The first call after a
 * change of count is not timed: it pays for waking or re-creating the thread team, and after 60 calls on one
 * thread a first 2-thread U-Net pass ran as slowly as a 1-thread one. A call counts as at most twice the average:
 * a single preempted toy step (ms instead of 0.5 ms) had flipped the pick to one thread for hundreds of steps. A
 * probe faster than its count's average replaces it: slowness can be an accident (a preempted or cold call), speed
 * cannot. One slow first 2-thread toy step (2.95 us a row against 1.45 as a rule) had kept a third of 600-step
 * runs on one thread throughout, each probe moving the average by a quarter of the way only (Xeon, session 13).
 * Only for jobs whose result does not depend on the thread count. Zero-initialise; one ThreadPick per job.
 *
 *   int threads = cli_threads_begin(&pick);   // sets OpenMP's thread count for the job's loops, returns it
 *   ...the job...
 *   cli_threads_end(&pick, seconds / units);  // records the time, puts the thread count back */
enum { CLI_PICK_FIRST_GAP = 16, CLI_PICK_PROBE = 256 };
typedef struct {
    double avg[2];   /* moving average of seconds per unit: [0] one thread, [1] all; 0 until measured */
    long   calls;
    long   probe_at; /* the call that begins the next probe (two calls on the other count) */
    long   gap;      /* calls from the last probe to the next: CLI_PICK_FIRST_GAP, doubling to CLI_PICK_PROBE */
    int    last;     /* which of the two the running call uses, -1: no choice (one thread, or nested) */
    int    changed;  /* the running call uses another count than the one before (or is the first): not timed */
    int    probing;  /* the running call is a probe */
    int    saved;    /* OpenMP's thread count before the call */
} ThreadPick;
int  cli_threads_begin(ThreadPick *p);
void cli_threads_end(ThreadPick *p, double seconds);
/* Parse argv into opts. Returns 0, CLI_DONE after --help, or 2 after printing an error and the usage. */
int  cli_parse(Opts *opts, int argc, char **argv, const CliSpec *spec) MUST_USE;
void cli_usage(FILE *f, const CliSpec *spec);

typedef struct {
    const Opts *opts;
    const char *out;        /* output directory (exists once the cell runs) */
    Rng         rng;        /* seeded from (--seed, cell index) */
    Arena      *arena;      /* scratch for the cell; reset after it */
    int         failures;   /* checks that failed in this cell */
    int         cell_index;
} Ctx;

typedef struct {
    const char *id;         /* section number, "2.3" */
    const char *name;       /* short name, "marginal" */
    const char *title;      /* what the cell shows */
    int (*run)(Ctx *ctx);
} Cell;

/* Run the cells that opts select (all, or --cell by id or name), or list them. Returns the exit code. */
int  cli_run(const Cell *cells, int n, const Opts *opts);
/* A chapter program's whole main: cli_omp_wait, cli_parse, then train(opts) on --train (CLI_TRAIN; NULL
 * without), else cli_run. Returns the exit code (0 after --help, 2 on bad usage). */
int  cli_main(int argc, char **argv, const CliSpec *spec, const Cell *cells, int n, int (*train)(const Opts *opts));
/* Find a cell by id ("2.3") or short name ("marginal"); -1 if none. */
int  cli_find_cell(const Cell *cells, int n, const char *key);

/* Cell memory: `bytes` from the cell's arena (uninitialised, 32-byte aligned), all released when the cell ends,
 * so a cell frees nothing. The arena reserves 1 GiB of address space (only touched pages cost memory); a cell
 * that asks for more stops with the bytes it asked for and the bytes left. */
void *cli_alloc(Ctx *ctx, size_t bytes);

/* Narration: one indented line on stdout, printf-style. */
void cli_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A numeric claim: prints got, want, |got - want| and tol; counts a failure when |got - want| >= tol or NaN. Returns 1 if it held. */
int  cli_check(Ctx *ctx, const char *what, double got, double want, double tol);
/* A claim that got <= bound. */
int  cli_check_le(Ctx *ctx, const char *what, double got, double bound);
/* Announce a figure that was written (or only its data, without gnuplot). */
void cli_figure(const char *dir, const char *name);

/* Training progress on stderr: step, loss, steps/s, ETA; silent with --quiet. */
typedef struct {
    const char *label;
    long   total;
    long   first;           /* step of the first update (a resumed run starts late): rates count from it */
    double t_start, t_last;
    int    quiet, tty;
} Progress;

Progress cli_progress_start(const char *label, long total, int quiet);
void     cli_progress_update(Progress *p, long step, double loss);
void     cli_progress_end(Progress *p, long step, double loss);
double   cli_seconds(void);   /* monotonic wall clock */

/* Ctrl-C: after cli_catch_sigint(), cli_interrupted() turns 1 on SIGINT so a training loop can save and stop
 * (train_run does so while it runs); cli_release_sigint() gives SIGINT back its default action (stop at once). */
void cli_catch_sigint(void);
void cli_release_sigint(void);
int  cli_interrupted(void);

#endif
