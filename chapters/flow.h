/* flow.h: the functions of chapters/flow.c that tests/test_flow.c checks: the interpolant, ODE integration of
 * the velocity of any Denoiser (Euler, Heun, RK4), the conditional and marginal flow-matching losses, the
 * straightness of a flow, and log p(x) by the instantaneous change of variables. Tags are TUTORIAL.md's "Flow"
 * section (§flow).
 *
 * Conventions: the path x_t = (1 - t) x0 + t eps runs from data (t = 0) to noise (t = 1), dx_t/dt = v(x_t, t)
 * with v = E[eps - x0 | x_t] = eps_hat - x0_hat (den_velocity at den_level_flow(t)). Sampling integrates from
 * t = 1 to t = 0 in K uniform steps. States are double (n, D). Temporaries come from the arena and are popped.
 */
#ifndef FLOW_H
#define FLOW_H

#include "cli.h"
#include "denoiser.h"
#include "rng.h"
#include "tensor.h"
#include "toymodel.h"

#define FLOW_UNET_CKPT "checkpoints/flow_fmnist.safetensors"   /* ./flow --train writes it; cell f.7 reads it */

/* §flow x_t = (1 - t) x0 + t eps */
double flow_interpolant(double x0, double eps, double t);

/* ---- ODE integration ---- */
typedef enum { FLOW_EULER, FLOW_HEUN, FLOW_RK4 } FlowMethod;
/* network evaluations per step: 1, 2, 4 */
int    flow_evals_per_step(FlowMethod m);
/* §flow dx/dt = v(x, t) from t_from to t_to (either direction) in K uniform steps, x (n, D) in and out.
 * traj, if not NULL, receives the K + 1 states (K + 1, n, D). */
void   flow_ode(const Denoiser *den, FlowMethod m, int K, double t_from, double t_to, double *x, int n,
                double *traj, Arena *arena);
/* §flow log p_{t_lo}(x) for x (n, D) by the instantaneous change of variables: integrate
 * d/dt (x, l) = (v, div v) over the K steps of the grid t_lo = ts[0] < ... < ts[K] = t_hi with method m, then
 * log p = log N(x(t_hi); 0, c^2 I) + l, c^2 = (1 - t_hi)^2 + t_hi^2 (the VP prior N(0, I) seen at flow time t_hi;
 * N(0, I) at t_hi = 1). x is left unchanged. Divergences are exact (den_velocity_div). */
void   flow_logp(const Denoiser *den, FlowMethod m, const double *ts, int K, const double *x, int n,
                 double *logp, Arena *arena);

/* ---- the losses and the straightness ---- */
/* §flow conditional FM loss ||v_theta(x_t, t) - (eps - x0)||^2 and marginal FM loss ||v_theta(x_t, t) - v*(x_t, t)||^2,
 * per triple (x0, eps, t) (n, D), (n, D), (n), with model `den` and the exact velocity of `exact`. cfm, fm: (n). */
void   flow_fm_losses(const Denoiser *den, const Denoiser *exact, const double *x0, const double *eps, const double *t,
                      int n, double *cfm, double *fm, Arena *arena);
/* §flow Liu et al.'s straightness along the Euler paths of K steps from x1 (n, D) (unchanged):
 * S = mean over paths and steps of ||(x(1) - x(0)) - v(x(t_k), t_k)||^2; 0 iff the paths are straight lines. */
double flow_straightness(const Denoiser *den, int K, const double *x1, int n, Arena *arena);

/* ---- training ---- */
/* §flow Adam on the conditional FM loss ||v_theta((1 - t) x0 + t eps, t) - (eps - x0)||^2, t = u^2 with u ~ U(0, 1), for `steps`
 * batches. x0 (n, D) are the data; eps (n, D) the noise paired with them (reflow) or NULL (fresh N(0, I) draws,
 * independent of x0). loss_curve (steps) may be NULL. Returns 0, or 1 if the loss turned NaN/inf. */
int    flow_train(ToyModel *m, const float *x0, const float *eps, int n, int steps, int batch, Rng *rng,
                  Arena *arena, int quiet, float *loss_curve);

/* The program's cells (the table --list prints), n receives their number: tests/test_tutorial.c looks up
 * every `./flow --cell X` of tutorial.md in it with cli_find_cell. */
const Cell *flow_cells(int *n);

#endif
