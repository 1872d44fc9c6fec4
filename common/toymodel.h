/* toymodel.h: the noise-prediction network eps_theta(x_t, t) for 1D/2D toy data, and its training
 * with DDPM's loss (§2.8). Chapter 2 trains it; DDIM, chapter 3 (as a score) and chapter 4 reuse it.
 *
 *   Schedule s;  sched_init(&s, SCHED_LINEAR, 200);
 *   ToyModel m;  toy_init(&m, 2, &rng);
 *   if (toy_train(&m, &s, data, n, 4000, 256, &rng, &arena, quiet, NULL)) ...;   // nonzero: NaN, or Ctrl-C
 *   toy_predict(&m, x, n, t, eps_hat, &arena);               // eps_hat (n, D) at step t (an eps model)
 *   score = -eps_hat / sqrt(1 - alpha_bar[t])                // §3: the same network is a score
 *   toy_free(&m);
 *
 * The network: an MLP (3 hidden layers of 128, SiLU) on the row [x_t, sin/cos(2^k pi x_t) for k < 5,
 * sinusoidal embedding of t (16)]. The Fourier features of x_t are there because a plain MLP on raw
 * coordinates learns thin structures (the swiss roll's arms) very slowly ("spectral bias").
 * Ownership: toy_init allocates the parameter block and the time embedding table, toy_free releases them.
 * Temporaries come from the arena passed in and are popped before returning. Shapes: n points, D = 1 or 2.
 * Threads: a training step splits its batch into TOY_CHUNKS chunks, one tape and one thread each (toy_mse_grad);
 * both it and toy_predict run on one thread or all, whichever their own timings favour, with the same bytes.
 */
#ifndef TOYMODEL_H
#define TOYMODEL_H

#include "autograd.h"
#include "cli.h"
#include "nn.h"
#include "rng.h"
#include "schedule.h"
#include "tensor.h"

enum { TOY_FOURIER = 5, TOY_TEMB = 16, TOY_HIDDEN = 128, TOY_CHUNKS = 2, TOY_TEMB_TABLE = 1000 };

/* What the network regresses: the noise eps (DDPM's form, §2.8, the default after toy_init) or the clean x0
 * (the PDF's own training algorithm, §2.7). Set m.target before toy_train. */
typedef enum { TOY_TARGET_EPS = 0, TOY_TARGET_X0 = 1 } ToyTarget;

typedef struct {
    Params    params;
    Mlp       mlp;
    int       D;           /* data dimension, 1 or 2 */
    ToyTarget target;      /* TOY_TARGET_EPS unless set */
    ThreadPick pick_train, pick_predict;   /* one thread or all for toy_mse_grad, toy_predict (cli.h) */
    float    *temb_table;  /* the time embedding of the integer times 0..TOY_TEMB_TABLE, row by row */
} ToyModel;

void  toy_init(ToyModel *m, int D, Rng *rng);
void  toy_free(ToyModel *m);
/* The network itself on a tape: out (n, D) for x (n, D) and one time input per row (n). The time input is
 * what the embedding sees: a step 1..T for an eps network; 1000 t, t in [0, 1], for a flow velocity network
 * (TOY_FLOW_TIME: the same range as the steps of a T = 1000 schedule). What the output means is the caller's. */
#define TOY_FLOW_TIME 1000.0
AgNode *toy_forward(ToyModel *m, AgTape *tape, const float *x, const float *time, int n);
/* The output out (n, D) (may be NULL) and its exact Jacobian jac (n, D, D), jac[i][k][d] = d out_k / d x_d at
 * row i: D backward passes through the input row, then the chain rule through the Fourier features by hand.
 * No finite differences. The weights' grads are left zeroed. */
void  toy_jacobian(ToyModel *m, const float *x, int n, const float *time, float *out, float *jac, Arena *arena);
/* The Fourier features of one point x (D): f[2 (k D + d)] = sin(2^k pi x_d), f[2 (k D + d) + 1] = cos(2^k pi x_d)
 * for k < TOY_FOURIER (2 D TOY_FOURIER floats), within one float ulp of libm's sin and cos of the same angle. */
void  toy_fourier(float *f, const float *x, int D);
/* The network's output (n, D) for a batch x (n, D) at one step t, whatever it was trained on: eps_hat =
 * eps_theta(x, t) or x0_hat (m->target). On one thread or all, whichever has been faster (m->pick_predict): the
 * bytes do not depend on it. */
void  toy_predict(ToyModel *m, const float *x, int n, int t, float *out, Arena *arena);
/* The regression loss mean ||out - target||^2 over n rows (out = the network at x (n, D), time (n)) and its
 * gradients, left in m->params.grad (overwritten). Computed in TOY_CHUNKS chunks of rows, summed in a fixed order:
 * the same numbers on any thread count. Runs on one thread or on up to TOY_CHUNKS, whichever has been faster
 * (m->pick_train). Both training losses (DDPM's, flow matching's) use it. */
float toy_mse_grad(ToyModel *m, const float *x, const float *time, const float *target, int n, Arena *arena);
/* §2.8 Adam on ||eps_theta(sqrt(abar_t) x0 + sqrt(1 - abar_t) eps, t) - eps||^2 (or, with m->target = TOY_TARGET_X0,
 * §2.7 ||x0_theta(x_t, t) - x0||^2) for `steps` batches of x0 drawn from data (n, D). loss_curve (steps) may be NULL.
 * The loop is train.h's: returns 0, 1 if the loss or a weight turned NaN/inf (the step is printed, the weights are
 * those of the last good step) or TRAIN_INTERRUPTED after Ctrl-C. A progress bar on stderr unless quiet. */
int   toy_train(ToyModel *m, const Schedule *s, const float *data, int n, int steps, int batch,
                Rng *rng, Arena *arena, int quiet, float *loss_curve);

#endif
