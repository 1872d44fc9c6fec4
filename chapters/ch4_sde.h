/* ch4_sde.h: the functions of chapters/ch4_sde.c that tests/test_ch4.c checks.
 * Each one is an equation of PDF chapter 4; the tags are TUTORIAL.md's sections.
 *
 * Shapes: n particles, D coordinates (1 or 2); particles are double arrays (n, D), row-major.
 * Continuous time t runs over [0, 1]; the reverse solvers go from t = 1 down to a small t_end > 0.
 */
#ifndef CH4_SDE_H
#define CH4_SDE_H

#include "cli.h"
#include "data.h"
#include "denoiser.h"
#include "rng.h"
#include "schedule.h"
#include "tensor.h"
#include "toymodel.h"

/* ---- the two SDEs of the chapter: dx = f(x, t) dt + g(t) dw with f linear in x ---- */
typedef enum { CH4_VP, CH4_VE } Ch4Kind;

typedef struct {
    Ch4Kind kind;
    double  beta_min, beta_max;     /* VP: beta(t) = beta_min + t (beta_max - beta_min) */
    double  sigma_min, sigma_max;   /* VE: sigma(t) = sigma_min (sigma_max / sigma_min)^t */
} Ch4Sde;

Ch4Sde ch4_vp(void);                                /* beta 0.1 .. 20, as Song et al. */
Ch4Sde ch4_ve(void);                                /* sigma 0.01 .. 10 */
double ch4_vp_beta(const Ch4Sde *sde, double t);    /* §4.3 beta(t) */
double ch4_vp_B(const Ch4Sde *sde, double t);       /* §4.3 B(t) = int_0^t beta(s) ds */
double ch4_ve_sigma(const Ch4Sde *sde, double t);   /* §4.4 sigma(t) */
/* §4.2 drift f(x, t) = c(t) x: returns c(t) (VP: -beta(t)/2, VE: 0) */
double ch4_sde_drift(const Ch4Sde *sde, double t);
/* §4.2 g(t)^2 (VP: beta(t), VE: d sigma^2/dt = 2 sigma^2 log(sigma_max/sigma_min)) */
double ch4_sde_g2(const Ch4Sde *sde, double t);
/* §4.3/§4.4 the marginal x_t | x0 = a x0 + sqrt(s2) eps: VP a = exp(-B/2), s2 = 1 - exp(-B); VE a = 1,
 * s2 = sigma(t)^2 - sigma(0)^2 */
void   ch4_sde_marginal(const Ch4Sde *sde, double t, double *a, double *s2);

/* ---- the score that drives the reverse SDE and the probability-flow ODE ---- */
/* Any denoiser (denoiser.h) gives it: the exact mixture g at the level of the marginal, p_t = g noised by
 * (a(t), s2(t)); or a network trained on a discrete VP schedule den->sched whose alpha_bar[i] = exp(-B(i/T)),
 * so continuous t maps to the nearest step i = round(t T) (clamped to 1..T), score = -eps_hat / sqrt(1 - alpha_bar[i]). */
DenLevel ch4_level(const Ch4Sde *sde, const Denoiser *den, double t);
/* The VP SDE's discrete schedule for a model: T steps with alpha_bar[i] = exp(-B(i/T)) exactly. */
void   ch4_sched_vp(Schedule *s, const Ch4Sde *sde, int T);

/* ---- solvers ---- */
typedef enum { CH4_EM, CH4_PC, CH4_ODE_EULER, CH4_ODE_HEUN, CH4_ODE_RK4 } Ch4Solver;
extern const char *const CH4_SOLVER_NAMES[5];

/* §4.2 forward Euler-Maruyama from t0 to t1 in `steps` steps: x += f h + g sqrt(h) z. traj (steps+1, n, D) or NULL. */
void   ch4_forward_em(const Ch4Sde *sde, double *x, int n, int D, double t0, double t1, int steps, Rng *rng, double *traj);
/* §4.2/§4.5 reverse-time integration from t_start down to t_end in `steps` uniform steps with one of the solvers:
 *   EM:        x -= [f - g^2 s] h - g sqrt(h) z           (Anderson's reverse SDE, Euler-Maruyama)
 *   PC:        the EM step, then one Langevin corrector x += tau s + sqrt(2 tau) z at the new time
 *   ODE_EULER: x -= [f - g^2 s / 2] h                      (probability-flow ODE, Euler)
 *   ODE_HEUN:  the same, Heun's predictor-corrector average (second order)
 *   ODE_RK4:   the same, classical Runge-Kutta (fourth order; used for the order study and as a reference)
 * x is (n, den->D). traj (steps+1, n, D) or NULL. rng is unused by the ODE solvers. Scratch (6 n D doubles, and
 * the denoiser's) comes from arena and is released on return. Returns the number of score evaluations (batch calls). */
long   ch4_reverse(const Denoiser *den, const Ch4Sde *sde, Ch4Solver solver, double *x, int n, double t_start,
                   double t_end, int steps, Rng *rng, Arena *arena, double *traj);
/* NFE per step of each solver: 1, 2, 1, 2, 4. */
int    ch4_solver_nfe(Ch4Solver solver);

/* ---- 4.1 gradient descent and its ODE, on f(x) = 1/2 (a1 x^2 + a2 y^2) ---- */
/* §4.1 gradient descent x_i = x_{i-1} - tau grad f: returns |x_{T/tau} - x(T)|, x(T) = exp(-A T) x0. */
double ch4_gd_error(double a1, double a2, const double *x0, double tau, double T);

/* ---- 4.3 the DDPM chain in the limit ---- */
/* §4.3 prod_{i<=k} (1 - beta_i) with beta_i = beta(i/N)/N: the discrete chain's alpha_bar at t = k/N. */
double ch4_ddpm_alpha_bar(const Ch4Sde *sde, int N, int k);
/* §4.3 median over paths of |x_DDPM - x_EM| at t = 0 between DDPM's ancestral chain (sigma^2 = beta) and Euler-Maruyama on the
 * reverse VP SDE, N steps each, same start x (n, 1) from p_1, same noise, exact score of the 1D mixture g. */
double ch4_ddpm_em_gap(const Ch4Sde *sde, const Gmm *g, int N, int n, Rng *rng);

/* ---- 4.5 convergence orders on processes with a closed form ---- */
/* §4.5 Ornstein-Uhlenbeck dx = -theta x dt + s dw: E x_t = x0 exp(-theta t), Var x_t = s^2 (1 - exp(-2 theta t)) / (2 theta) */
double ch4_ou_mean(double x0, double theta, double t);
double ch4_ou_var(double theta, double s, double t);
/* Strong errors E|x_N - x(T)| of Euler-Maruyama with steps[k] steps (each dividing steps[n_levels-1]) over `paths`
 * Brownian paths, against the exact solution on the same path: OU (additive noise; the exact solution uses the
 * exact joint law of the increment and the stochastic integral) when gbm = 0, geometric Brownian motion
 * dx = mu x dt + s x dw (x_T = x0 exp((mu - s^2/2) T + s W_T)) when gbm = 1. err, se (n_levels). */
void   ch4_em_strong_errors(int gbm, double theta_or_mu, double s, double x0, double T, const int *steps, int n_levels,
                            int paths, Rng *rng, double *err, double *se);
/* Weak error |E x_N^2 - E x(T)^2| of Euler-Maruyama on OU, exactly: the EM law of a linear SDE is Gaussian with
 * m_{k+1} = (1 - theta h) m_k, v_{k+1} = (1 - theta h)^2 v_k + s^2 h. */
double ch4_em_weak_error_ou(double theta, double s, double x0, double T, int steps);
/* Least-squares slope of log err against log h (h = T/steps). */
double ch4_fit_order(const int *steps, const double *err, int n);

/* The program's cells (the table --list prints), n receives their number: tests/test_tutorial.c looks up
 * every `./ch4 --cell X` of tutorial.md in it with cli_find_cell. */
const Cell *ch4_cells(int *n);

#endif
