/* ddim.h: the functions of chapters/ddim.c that tests/test_ddim.c checks: the DDIM update in the tutorial's
 * alpha_bar form, the same sampler family in the noise-level form x = x0 + sigma eps (smalldiffusion), and
 * deterministic inversion. Tags are tutorial.md's ddim
 * sections (§d.1-§d.7) and chapter 2's sections.
 *
 * Every sampler takes any denoiser (denoiser.h: the exact mixture, the finite-set ideal denoiser, the 2D
 * network, the U-Net) and asks it for eps_hat at the VP levels of the schedule s.
 * Conventions: a timestep sub-sequence ts[0] = T > ts[1] > ... > ts[K] = 0 (K steps, K network
 * evaluations). A sampler takes x (n, D) holding x_T on entry (the caller draws it, so that several
 * samplers can start from the same noise) and leaves x_0 there; traj, if not NULL, receives the K + 1
 * states x_{ts[0]}, ..., x_{ts[K]} as (K + 1, n, D). Fresh noise is drawn from rng point by point,
 * coordinate by coordinate, only at steps whose noise coefficient is nonzero (the order chapter 2's
 * ch2_sample uses, so both can be compared path by path). Temporaries come from the arena and are popped.
 */
#ifndef DDIM_H
#define DDIM_H

#include "cli.h"
#include "data.h"
#include "denoiser.h"
#include "rng.h"
#include "schedule.h"
#include "tensor.h"
#include "toymodel.h"
#include "unet.h"

/* ---- timesteps ---- */
/* ts[0..K]: T = ts[0] > ... > ts[K] = 0, uniform (t_k ~ T (K-k)/K) or quadratic (t_k ~ T ((K-k)/K)^2, more
 * steps at low noise), made strictly decreasing. 1 <= K <= T. */
void   ddim_timesteps(int T, int K, int quadratic, int *ts);

/* ---- one step, scalar, in double (the equations) ---- */
/* §d.2 noise scale c = eta sqrt((1 - abar_s)/(1 - abar_t)) sqrt(1 - abar_t/abar_s), for the step t -> s < t. */
double ddim_noise_scale(const Schedule *s, int t, int s_prev, double eta);
/* §d.2 x_s = sqrt(abar_s) x0_hat + sqrt(1 - abar_s - c^2) eps_hat + c w, x0_hat = (x_t - sqrt(1-abar_t) eps_hat)/sqrt(abar_t). */
double ddim_step(const Schedule *s, int t, int s_prev, double eta, double xt, double eps_hat, double w);
/* DDPM with the other variance of Ho et al., sigma^2 = beta (DDIM paper's sigma-hat): on the re-spaced chain
 * alpha_ts = abar_t / abar_s, x_s = mu_q(x_t, x0_hat) + sqrt(1 - alpha_ts) w (no noise when s = 0). */
double ddim_ddpm_step(const Schedule *s, int t, int s_prev, double xt, double eps_hat, double w);
/* §d.2 noise-level form, z = x / sqrt(abar) = x0 + sigma eps: smalldiffusion's step from sigma to sigma_next,
 * sigma_p = (sigma_next / sigma^mu)^(1/(1-mu)), z' = z - (sigma - sigma_p) eps_av + sqrt(sigma_next^2 - sigma_p^2) w.
 * mu = 0 is DDIM eta = 0, mu = 1/2 is DDIM eta = 1 (DDPM); eps_av mixes the current and previous predictions. */
double ddim_family_step(double sigma, double sigma_next, double mu, double z, double eps_av, double w);

/* ---- samplers over a sub-sequence (see the conventions above) ---- */
void   ddim_sample(const Denoiser *den, const Schedule *s, const int *ts, int K, double eta,
                   float *x, int n, Rng *rng, Arena *arena, float *traj);
void   ddim_ddpm_sample(const Denoiser *den, const Schedule *s, const int *ts, int K,
                        float *x, int n, Rng *rng, Arena *arena, float *traj);
/* The family in the noise-level form: gamma = 1, mu = 0 DDIM; gamma = 1, mu = 1/2 DDPM; gamma = 2, mu = 0
 * smalldiffusion's accelerated sampler, eps_av = gamma eps + (1 - gamma) eps_prev. x is in and out in the
 * alpha_bar form (x_t = sqrt(abar) z); the network sees z / sqrt(1 + sigma^2). */
void   ddim_family_sample(const Denoiser *den, const Schedule *s, const int *ts, int K, double gamma, double mu,
                          float *x, int n, Rng *rng, Arena *arena, float *traj);
/* Deterministic inversion x_0 -> x_T: DDIM eta = 0 run upward along ts[K] = 0 < ... < ts[0] = T, the step
 * t -> t' > t using eps_hat of the current point at its level t (at t = 0, where there is none, at t'). x in and out. */
void   ddim_invert(const Denoiser *den, const Schedule *s, const int *ts, int K, float *x, int n, Arena *arena);

/* ---- the optimisation view ---- */
/* §d.6 soft-min squared distance to the points x_i (n, D): f_sigma(z) = -sigma^2 log((1/n) sum_i exp(-|z - x_i|^2 /
 * (2 sigma^2))) = -sigma^2 log p_sigma(z) + const. Its gradient is z - D_sigma(z), D_sigma the ideal denoiser
 * (data_points_denoise with a = 1, s2 = sigma^2), and dist^2/2 <= f_sigma <= dist^2/2 + sigma^2 log n. */
double ddim_soft_dist2(const float *pts, int n, int D, double sigma, const double *z);

/* §d.6 the ideal denoiser of the uniform law on the unit circle in the noise-level form, D(z, sigma) =
 * E[x0 | x0 + sigma eps = z] = (z/|z|) I1(a)/I0(a), a = |z|/sigma^2 (closed form, Bessel series). */
void   ddim_circle_denoise(double sigma, const double *z, double *out);

/* The program's cells (the table --list prints), n receives their number: tests/test_tutorial.c looks up
 * every `./ddim --cell X` of tutorial.md in it with cli_find_cell. */
const Cell *ddim_cells(int *n);

#endif
