/* train.h: the one training loop of the project. Every network (ch1's VAEs, the toy eps network, ch2's
 * U-Net, ch3's NCSN) is trained by train_run; the model only says how to compute one batch's loss and
 * gradients. The loop owns the rest: Adam (and an EMA of the weights), the warm-up + cosine learning
 * rate, the progress bar, the NaN guard, Ctrl-C and, when given a checkpoint path, the moving-average
 * loss log and periodic atomic checkpoints that survive any kill.
 *
 *   static float my_batch(void *model, long step, Rng *rng, Arena *arena, float *terms) {
 *       ...draw a batch with rng, forward on a tape from arena, nn_params_zero_grad, ag_backward...
 *       return loss;                                   // gradients are in the Params' grad block
 *   }
 *   Trainer tr;
 *   train_init(&tr, &model.params, &(TrainConfig){ .label = "train eps_theta", .steps = 4000,
 *              .lr_max = 2e-3f, .lr_min = 1e-5f, .warmup = 100, .quiet = quiet });
 *   int rc = train_run(&tr, my_batch, &model, &rng, &arena);   // 0, 1, 2 or TRAIN_INTERRUPTED
 *   train_free(&tr);
 *
 * One step: loss = batch(); if it is not finite, stop. Otherwise keep a copy of the weights, set
 * lr = optim_lr_warmup_cosine(step), take Adam's step (and the EMA's), and if any weight is now NaN
 * or inf, put the copy back and stop (a ReLU network can turn NaN weights into a finite loss, so the
 * loss alone is not enough). Either way the error names the step and the weights stay the last good
 * ones; nothing non-finite is ever saved (every block is checked before each save).
 *
 * Checkpoint (TrainConfig.ckpt, safetensors): blocks "model.*", "ema.*" (with an EMA), "adam_m.*",
 * "adam_v.*", and metadata "step", "rng" (the generator's state) and "loss_avg" (the moving averages),
 * plus the caller's own keys, so a resumed run is bit for bit the uninterrupted one. The loss log
 * NAME_loss.dat beside NAME.safetensors has lines "step avg [term avgs]" every log_every steps; on
 * --resume it is cut back to the checkpoint's step. Temporaries NAME.tmp.PID left by a killed save
 * are removed at the next start and save. Without resume, an existing checkpoint is not replaced
 * unless overwrite is set (train_run returns 2 with a one-line message).
 *
 * Ctrl-C: train_run catches SIGINT while it runs. The step under way finishes, the checkpoint (if
 * any) is saved, and train_run returns TRAIN_INTERRUPTED; cli_run then stops the program with that
 * exit code. Outside train_run, SIGINT keeps its default action (the program stops at once).
 *
 * Test hook: the environment variable TRAIN_FAULT=loss:N (or weights:N) makes step N's loss (or one
 * weight after step N's update) NaN, so tests can check the guard in every program.
 *
 * Ownership: the Trainer owns Adam's moments, the EMA and a copy of the weights; the Params and the
 * model are the caller's. Returns: 0 done, 1 failure (a message said why: NaN, unreadable or unwritable
 * checkpoint), 2 refused (checkpoint exists), TRAIN_INTERRUPTED after Ctrl-C.
 */
#ifndef TRAIN_H
#define TRAIN_H

#include "cli.h"
#include "nn.h"
#include "optim.h"
#include "rng.h"
#include "tensor.h"

enum { TRAIN_MAX_TERMS = 4, TRAIN_INTERRUPTED = CLI_INTERRUPTED, TRAIN_BUDGET_PROBE = 50 };   /* 130 = 128 + SIGINT */

/* Loss of one batch at update `step` (0-based); gradients into the Params' grad block. terms (TRAIN_MAX_TERMS - 1)
 * may get the parts of the loss that the log shows beside it (recon, KL). Temporaries from arena (popped after). */
typedef float (*TrainBatchFn)(void *model, long step, Rng *rng, Arena *arena, float *terms);
struct Trainer;
/* Called every eval_every updates and after the last one (when there were at least eval_every), with the wall seconds of training so far (evaluations
 * excluded): a model's own progress measure (chapter 2's image score log). Its time is not counted in budget_s. */
typedef void (*TrainEvalFn)(void *model, const struct Trainer *tr, double train_seconds);

typedef struct {
    const char *label;      /* progress bar: "train U-Net" */
    long   steps;           /* train until this many updates (a resumed run starts at its checkpoint's) */
    float  lr_max, lr_min;  /* linear warm-up to lr_max, then cosine to lr_min; lr_max = lr_min: constant */
    long   warmup;          /* warm-up updates, cut to steps - 1 so that every steps >= 1 runs */
    int    lr_ahead;        /* 1: the schedule is read at step + 1 (the toy model's and NCSN's choice, kept) */
    float  ema_decay;       /* 0: no EMA of the weights */
    int    ema_warmup;      /* 1: the EMA's decay ramps up (optim.h) */
    int    n_terms;         /* loss parts reported in terms (0 .. TRAIN_MAX_TERMS - 1) */
    float *curve;           /* (steps) the loss of every update, or NULL */
    int    quiet;           /* no progress bar */
    /* checkpointing: off when ckpt is NULL */
    const char *ckpt;       /* "checkpoints/ch2_fmnist.safetensors" */
    const char *meta;       /* the caller's metadata pairs, e.g. "\"T\": \"250\"", or NULL */
    long   ckpt_every;      /* updates between checkpoints (and a last one at the end) */
    long   log_every;       /* updates between loss-log lines */
    int    log_decimals;    /* digits after the point in the log */
    int    resume;          /* continue from ckpt (it must exist) */
    int    overwrite;       /* start afresh even if ckpt exists */
    /* a wall-clock budget: > 0 sets `steps` after TRAIN_BUDGET_PROBE updates from the rate measured so far, so that
     * training ends near budget_s seconds (evaluations excluded), then becomes 0; the checkpoint's "step" says how
     * many updates were done and, once known, "total" how many the run is to do (a resumed run can continue to it).
     * The plan is redone every TRAIN_BUDGET_PROBE updates from the mean rate since the start (a first probe can be
     * 30% off either way: page faults, a busy neighbour), so the learning-rate schedule ends at the budget; and the
     * budget is a hard stop: a run never trains longer ("total" then keeps the last plan). */
    double budget_s;
    TrainEvalFn eval;       /* or NULL */
    long   eval_every;
} TrainConfig;

typedef struct Trainer {
    TrainConfig c;
    Params *params;
    Adam    adam;
    Ema     ema;                      /* when c.ema_decay > 0 */
    ThreadPick pick_update;           /* one thread or all for the Adam update (cli.h) */
    long    step;                     /* updates done */
    double  avg[TRAIN_MAX_TERMS];     /* moving averages (decay 0.99) of the loss and its terms */
    float  *last_good;                /* (numel) the weights before the update under way */
    int     has_rng;                  /* train_load found the generator's state ... */
    Rng     rng;                      /* ... which is this */
    Rng    *rng_live;                 /* the generator train_run draws from (saved with each checkpoint) */
} Trainer;

/* Adam (beta 0.9, 0.999, eps 1e-8) and, if asked, the EMA over p's weights as they are now. */
void train_init(Trainer *tr, Params *p, const TrainConfig *c);
void train_free(Trainer *tr);
/* Train from tr->step to c.steps; loads c.ckpt first when c.resume. See the header comment for the codes. */
int  train_run(Trainer *tr, TrainBatchFn batch, void *model, Rng *rng, Arena *arena) MUST_USE;

/* Checkpoints: read every block, the step (validated: digits only, at most 100000000), the moving averages
 * and the generator's state (tr->rng, has_rng) from path. 0, or 1 after a one-line message. */
int  train_load(Trainer *tr, const char *path) MUST_USE;
/* Write them atomically; refused (1) if any value is NaN or inf. */
int  train_save(Trainer *tr, const char *path) MUST_USE;
/* The "step" metadata of a checkpoint already open (io_safetensors_open), validated as above. 0, or 1 after a one-line message. */
int  train_checkpoint_step(const IoSafetensors *st, long *step) MUST_USE;
/* The loss log beside a checkpoint: NAME.safetensors -> NAME_loss.dat. */
void train_log_path(const char *ckpt, char *out, size_t cap);

#endif
