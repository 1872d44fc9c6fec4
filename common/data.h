/* data.h: 2D (and 1D) toy distributions, with exact densities and scores where they exist.
 *
 *   Gmm g = data_gmm_named("gmm");                  a 2D mixture with unequal weights
 *   data_gmm_sample(&g, &rng, x, n);                x (n, D) floats
 *   double lp = data_gmm_logpdf(&g, xy);            exact log p(x)
 *   Gmm gt = data_gmm_noised(&g, sqrt(ab), 1 - ab); law of x_t = sqrt(ab) x0 + sqrt(1-ab) eps  (§2.3)
 *   data_gmm_score(&gt, xy, s);                     exact score of the noised law (§3.2)
 *   data_gmm_denoise(&g, sqrt(ab), 1 - ab, xy, m);  E[x0 | x_t = xy], the ideal denoiser (§2.7)
 *   data_toy_sample("swissroll", &rng, x, n);       any named toy, status 0 / nonzero
 *
 * Why mixtures matter here: a Gaussian mixture stays a Gaussian mixture under
 * x -> a x + sqrt(s2) eps (means a mu_k, covariances a^2 C_k + s2 I), so its
 * density, score and posterior mean are closed form at every noise level.
 * That lets every sampler of every chapter be tested with an exact score
 * before any network is trained.
 *
 * Shapes: D is 1 or 2; points are stored row-major (n, D) as float, the exact
 * formulas work in double. Nothing here allocates, except where a function
 * says so. Unknown names return nonzero with a message.
 */
#ifndef DATA_H
#define DATA_H

#include "base.h"
#include "rng.h"

#define GMM_MAX 16

typedef struct {
    int    K, D;                  /* components, dimension (1 or 2) */
    double w[GMM_MAX];            /* weights, sum to 1 */
    double mu[GMM_MAX][2];        /* means */
    double cov[GMM_MAX][2][2];    /* covariances (for D = 1 only cov[k][0][0] is used) */
} Gmm;

/* ---- building mixtures ---- */
/* 1D mixture from weights, means and standard deviations. */
Gmm    data_gmm_1d(int K, const double *w, const double *mu, const double *sd);
/* 2D mixture of isotropic components: means (K, 2), standard deviations (K). */
Gmm    data_gmm_2d(int K, const double *w, const double *mu, const double *sd);
/* The named 2D mixtures: "gmm" (three components, weights 0.5/0.3/0.2) and "8gaussians" (a ring). */
Gmm    data_gmm_named(const char *name);
/* The 1D mixture of TUTORIAL.md's figures (chapters 2, 4 and 5): 0.3 N(-2, 0.3^2) + 0.7 N(2, 0.3^2). */
Gmm    data_gmm_tutorial_1d(void);
/* 1 if the named toy is a mixture, so its density and score are exact. */
int    data_toy_is_gmm(const char *name);

/* ---- exact quantities ---- */
double data_gmm_logpdf(const Gmm *g, const double *x);                /* log p(x), log-sum-exp */
void   data_gmm_score(const Gmm *g, const double *x, double *score);  /* §3.2 grad log p = sum_k r_k(x) (-C_k^{-1}(x - mu_k)) */
void   data_gmm_resp(const Gmm *g, const double *x, double *r);       /* responsibilities r_k(x) = w_k N_k(x) / p(x) */
/* §2.3 law of a x0 + sqrt(s2) eps, x0 ~ g: means a mu_k, covariances a^2 C_k + s2 I. */
Gmm    data_gmm_noised(const Gmm *g, double a, double s2);
/* §2.7 ideal denoiser E[x0 | a x0 + sqrt(s2) eps = x] = sum_k r_k(x) (mu_k + a C_k (a^2 C_k + s2 I)^{-1} (x - a mu_k)). */
void   data_gmm_denoise(const Gmm *g, double a, double s2, const double *x, double *x0_hat);
/* §flow posterior covariance Cov[x0 | a x0 + sqrt(s2) eps = x] (D, D; unused entries 0) of the mixture:
 * sum_k r_k(x) (P_k + m_k m_k^T) - m m^T with m_k the Wiener filter above, P_k = C_k - a^2 C_k (a^2 C_k + s2 I)^{-1} C_k.
 * It is the ideal denoiser's Jacobian up to a factor: d x0_hat / dx = (a / s2) Cov (second-order Tweedie). */
void   data_gmm_posterior_cov(const Gmm *g, double a, double s2, const double *x, double cov[2][2]);
void   data_gmm_sample(const Gmm *g, Rng *rng, float *x, int n);
double data_gmm_mean(const Gmm *g, int d);        /* E[x_d] */
double data_gmm_var(const Gmm *g, int d);         /* Var[x_d] */

/* ---- other 2D toys (no closed-form score) ---- */
/* Names: "gmm", "swissroll", "moons", "checkerboard", "8gaussians"; NULL-terminated list. */
extern const char *const DATA_TOY_NAMES[];
/* n points (n, 2). Swiss roll as small diffusion libraries define it: t = pi/2 + 5 pi u,
 * (t cos t, t sin t) / (5 pi), no noise. Returns nonzero for an unknown name. */
int    data_toy_sample(const char *name, Rng *rng, float *x, int n) MUST_USE;

/* ---- a finite training set ---- */
/* §2.7 ideal denoiser of points p_i (n, D): the minimiser of E||x0_hat(x_t) - x0||^2 when x0 is uniform
 * on the points, x0_hat(x) = sum_i softmax_i(-|x - a p_i|^2 / (2 s2)) p_i. Needs no training. */
void   data_points_denoise(const float *pts, int n, int D, double a, double s2, const double *x, double *x0_hat);

/* ---- looking at a sample ---- */
/* Density histogram of n values x on [lo, hi) with `bins` bins: dens[b] = count_b / (n width); values outside
 * are dropped (so the bars integrate to the fraction inside). */
void   data_histogram(const float *x, int n, double lo, double hi, int bins, double *dens);
/* The same for doubles (the SDE and Fokker-Planck chapters keep their particles in double). */
void   data_histogram_d(const double *x, int n, double lo, double hi, int bins, double *dens);
/* Sample mean and variance (1/n) of n values `stride` apart, accumulated in double: s/n and s2/n - mean^2. */
void   data_moments(const float *x, int n, int stride, double *mean, double *var);
void   data_moments_d(const double *x, int n, int stride, double *mean, double *var);

/* ---- comparing two samples ---- */
/* Sliced Wasserstein-1 distance between two equal-size samples (n, D): the mean over n_proj random
 * unit directions of the 1D W1 distance of the projections (sorted matching). Allocates scratch. */
double data_sliced_wasserstein(const float *a, const float *b, int n, int D, int n_proj, Rng *rng);

/* Sliced W1 of two equal-size 2D samples with 200 directions drawn from a fixed seed: the same directions
 * for every call, so that curves compare samplers, not projection noise. */
double data_sliced_w1_fixed(const float *a, const float *b, int n);

/* Mean over the n points x of the distance to the nearest of the m reference points (D <= 8): how far samples
 * lie from the data's support. Sharp where sliced W1 is blind: a Gaussian blob and a thin spiral can have
 * close 1D projections, but not close supports. Brute force, O(n m). */
double data_mean_nn_distance(const float *x, int n, const float *ref, int m, int D);

/* ---- repeated measurements ---- */
/* Mean and spread of a quantity measured on several independent draws (a sliced W1 over many (sample,
 * reference) pairs): DataStat st = {0}; data_stat_add(&st, w) per draw; then the mean, the standard
 * deviation of one draw (n - 1 in the denominator) and the standard error of the mean, sd / sqrt(n). */
typedef struct { double mean, m2; int n; } DataStat;   /* Welford: m2 = sum of squared deviations, no cancellation */
void   data_stat_add(DataStat *st, double v);
double data_stat_mean(const DataStat *st);
double data_stat_sd(const DataStat *st);
double data_stat_se(const DataStat *st);

#endif
