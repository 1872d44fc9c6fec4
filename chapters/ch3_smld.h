/* ch3_smld.h: the functions of chapters/ch3_smld.c that tests/test_ch3.c checks.
 * Each one is an equation of PDF chapter 3; the tags are TUTORIAL.md's sections (§3.1-§3.4).
 *
 * Two kinds of score appear. For sampling, a denoiser (denoiser.h) read as a score at a noise level: the
 * exact mixture, the noise-conditional network (a DEN_SCORE_FN) and chapter 2's U-Net are all one
 * `const Denoiser *`, so one Langevin step serves them all and switching is one argument. For score
 * matching, a point model (Ch3Model) that also returns the divergence tr(grad_x s_theta(x)) that implicit
 * score matching needs: an affine field (A x + b) and a field linear in fixed Gaussian bumps (Ch3Rbf), whose
 * weights have closed-form least-squares fits under all three score-matching objectives. Ch3Model stays
 * apart from the Denoiser on purpose: it is the object being fitted, one point at a time in double, and the
 * divergence it returns is no view of a denoiser.
 */
#ifndef CH3_SMLD_H
#define CH3_SMLD_H

#include "cli.h"
#include "data.h"
#include "denoiser.h"
#include "rng.h"

/* ---- 3.1 Langevin dynamics ---- */
/* s (n, D) = the score of den at level l for the float points x (n, D), rounded to float. For the exact
 * mixture, den_level_ve(0) is the clean law's own score grad log p. Temporaries from the arena. */
void   ch3_score(const Denoiser *den, DenLevel l, const float *x, int n, float *s, Arena *arena);
/* §3.1 x_{k+1} = x_k + tau s(x_k) + sqrt(2 tau) z_k for n points x (n, den->D), s = ch3_score at level l;
 * noise = 0 drops the sqrt(2 tau) z_k term, which leaves gradient ascent on log p. */
void   ch3_langevin_step(const Denoiser *den, DenLevel l, float *x, int n, double tau, int noise, Rng *rng, Arena *arena);
/* §3.1 stationary variance of the discrete chain for p = N(mu, s2): an AR(1), s2 / (1 - tau / (2 s2)). */
double ch3_langevin_stationary_var(double s2, double tau);
/* Kolmogorov-Smirnov distance sup_x |F_n(x) - F(x)| between n 1D points and a 1D mixture (sorts a copy). */
double ch3_ks_1d(const Gmm *g, const float *x, int n);

/* ---- 3.2 the score ---- */
/* §3.2 score of N(mu, s2 I): s(x) = -(x - mu) / s2, D coordinates. */
void   ch3_gauss_score(int D, const double *x, const double *mu, double s2, double *s);

/* ---- 3.3 score matching ---- */
typedef void Ch3Model(const void *model, const double *x, double *s, double *div);

typedef struct { double A[2][2], b[2]; } Ch3Affine;     /* 2D: s(x) = A x + b, div = tr A */
void   ch3_affine_score(const void *model, const double *x, double *s, double *div);

enum { CH3_RBF_MAX = 144 };
typedef struct {
    int    J;                       /* number of bumps */
    double h;                       /* bump width */
    double c[CH3_RBF_MAX][2];       /* bump centres (J, 2) */
    double W[2][CH3_RBF_MAX];       /* weights: s_d(x) = sum_j W[d][j] psi_j(x) */
} Ch3Rbf;
enum { CH3_ESM, CH3_ISM, CH3_DSM };
/* A 2D field on a g x g grid of bumps over [-r, r]^2, width = grid spacing, weights zero. */
void   ch3_rbf_init(Ch3Rbf *m, int g, double r);
/* §3.3 s_d(x) = sum_j W[d][j] psi_j(x), psi_j(x) = exp(-|x - c_j|^2 / (2 h^2)); div = sum_dj W[d][j] d_d psi_j(x). */
void   ch3_rbf_score(const void *model, const double *x, double *s, double *div);
/* §3.3 the exact minimiser over W of one objective (plus ridge/2 |W|^2), on n points x (n, 2):
 *   CH3_ESM  E_x 1/2 |s_W(x) - grad log g(x)|^2      x ~ g (explicit: the true score is known)
 *   CH3_ISM  E_x [1/2 |s_W(x)|^2 + div s_W(x)]       x ~ g (Hyvarinen: no score needed)
 *   CH3_DSM  E 1/2 |s_W(x + sigma z) + z / sigma|^2  x ~ the clean law, one z per point (Vincent)
 * All three are quadratic in W, so the minimiser solves the normal equations (G + ridge I) W_d = b_d.
 * g is used by CH3_ESM only, sigma and rng by CH3_DSM only. Returns 0, or 1 if G is singular. */
int    ch3_rbf_fit(Ch3Rbf *m, int kind, const Gmm *g, const float *x, int n, double sigma, double ridge, Rng *rng);

/* Per-point objectives, averaged by the caller:
 * §3.3 explicit:  1/2 |s_theta(x) - s(x)|^2, s the exact score of g at x */
double ch3_esm_term(Ch3Model *f, const void *model, const Gmm *g, const double *x);
/* §3.3 implicit (Hyvarinen): 1/2 |s_theta(x)|^2 + tr(grad s_theta(x)) */
double ch3_ism_term(Ch3Model *f, const void *model, int D, const double *x);
/* §3.3 denoising (Vincent): 1/2 |s_theta(x0 + sigma z) + z / sigma|^2 */
double ch3_dsm_term(Ch3Model *f, const void *model, int D, const double *x0, const double *z, double sigma);
/* §3.3 the constant between them, J_DSM - J_ESM(p_sigma) = D / (2 sigma^2) - E 1/2 |grad log p_sigma|^2,
 * by Monte Carlo over n draws of p_sigma = g * N(0, sigma^2 I). */
double ch3_dsm_esm_constant(const Gmm *g, double sigma, int n, Rng *rng);
/* §3.3 Tweedie: E[x0 | x] = x + sigma^2 grad log p_sigma(x), p_sigma = g * N(0, sigma^2 I); g the clean law. */
void   ch3_tweedie(const Gmm *g, double sigma, const double *x, double *x0_hat);

/* ---- 3.4 noise levels and annealed Langevin ---- */
/* The level of noise std sigma: VE (x = x0 + sigma eps) when vp is NULL; for a network trained on the VP
 * schedule vp, the step t whose sqrt(1 - abar_t) is nearest to sigma (den_level_vp). */
DenLevel ch3_level(const Schedule *vp, double sigma);
/* §3.4 the geometric noise levels of NCSN: sigma_i = sigma_max (sigma_min / sigma_max)^(i / (L - 1)), i < L. */
void   ch3_sigmas(double sigma_max, double sigma_min, int L, double *sigma);
/* §3.4 annealed Langevin (Song and Ermon): for each level i = 0..L-1, `steps` Langevin steps on p_{sigma_i}
 * (the level ch3_level(vp, sigma_i)) with tau_i = c sigma_i^2, each starting where the last level ended. */
void   ch3_annealed_langevin(const Denoiser *den, const Schedule *vp, const double *sigma, int L, int steps, double c,
                             float *x, int n, Rng *rng, Arena *arena);

/* The program's cells (the table --list prints), n receives their number: tests/test_tutorial.c looks up
 * every `./ch3 --cell X` of tutorial.md in it with cli_find_cell. */
const Cell *ch3_cells(int *n);

#endif
