/* ch2_ddpm.h: the functions of chapters/ch2_ddpm.c that tests/test_ch2.c checks.
 * Each one is an equation of PDF chapter 2; the tags are TUTORIAL.md's sections. */
#ifndef CH2_DDPM_H
#define CH2_DDPM_H

#include "cli.h"
#include "data.h"
#include "denoiser.h"
#include "rng.h"
#include "schedule.h"
#include "tensor.h"
#include "toymodel.h"

/* Where ./ch2 --train-images writes the Fashion-MNIST U-Net (unet.h) and ddim, ch4, flow and ./score read it:
 * trained with min-SNR loss weights (unet_recipe_default), the better generator. */
#define CH2_UNET_CKPT "checkpoints/ch2_fmnist.safetensors"
/* The same recipe trained with the plain loss (--recipe snr_gamma=0): the network for the uses that lean on the
 * noisiest levels on their own, DDIM inversion (ddim d.5) and annealed Langevin (ch3 3.4i); tutorial.md 2.8,
 * "which noise levels the loss listens to", has the measurements. */
#define CH2_UNET_PLAIN_CKPT "checkpoints/ch2_fmnist_plain.safetensors"

/* §2.3 x_t = sqrt(alpha_bar) x0 + sqrt(1 - alpha_bar) eps */
double ch2_q_sample(double x0, double alpha_bar, double eps);
/* §2.6 q(x_{t-1} | x_t, x0) = N(mu_q, sigma_q^2): writes mu_q, returns sigma_q^2 */
double ch2_posterior(const Schedule *s, int t, double xt, double x0, double *mu_q);
/* §2.8 mu_q = (x_t - (1 - alpha_t) / sqrt(1 - alpha_bar_t) eps) / sqrt(alpha_t) */
double ch2_mu_from_eps(const Schedule *s, int t, double xt, double eps);
/* §2.4 KL(q(x_{t-1}|x_t,x0) || N(mu_theta, sigma_q^2)) = w_t ||x0_hat - x0||^2, w_t = (1-alpha_t)^2 abar_{t-1} / (2 sigma_q^2 (1-abar_t)^2) */
double ch2_kl_weight_x0(const Schedule *s, int t);
/* §2.8 the same KL on the noise: w'_t ||eps_hat - eps||^2, w'_t = (1 - alpha_t)^2 / (2 sigma_q^2 (1 - abar_t) alpha_t)
 * = w_t (1 - abar_t) / abar_t, since ||x0_hat - x0||^2 = (1 - abar_t) / abar_t ||eps_hat - eps||^2 at the same x_t. */
double ch2_kl_weight_eps(const Schedule *s, int t);
/* §2.4 KL between two 1D Gaussians, the generic formula the weight is checked against. */
double ch2_kl_gauss(double m1, double v1, double m2, double v2);

/* §2.9 Gaussian x ~ N(0, v), y = x + s n, exact F(x_t, t) = v/(v + t^2 s^2) x_t: the factor P_K with x_0 = P_K y after
 * K InDI steps of delta = 1/K (run through ch2_indi_step). The exact flow (K -> inf) gives sqrt(v/(v + s^2)). */
double ch2_indi_gauss_gain(double v, double s, int K);
/* §2.9 one InDI step from t back to t - delta: x_{t-delta} = (delta/t) F(x_t, t) + (1 - delta/t) x_t, one coordinate */
double ch2_indi_step(double xt, double F, double t, double delta);

/* §2.7 ancestral sampling from x_T ~ N(0, I) with any denoiser (denoiser.h: the exact mixture, a 2D network,
 * the U-Net): x (n, den->D) out; traj (n_snap, n, D) snapshots if not NULL at the steps listed in snap_t
 * (descending, 0 = the result). The levels are the VP steps of s. */
void   ch2_sample(const Denoiser *den, const Schedule *s, float *x, int n, Rng *rng, Arena *arena,
                  const int *snap_t, int n_snap, float *traj);

/* The program's cells (the table --list prints), n receives their number: tests/test_tutorial.c looks up
 * every `./ch2 --cell X` of tutorial.md in it with cli_find_cell. */
const Cell *ch2_cells(int *n);

#endif
