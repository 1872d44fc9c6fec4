/* ch1_vae.h: the functions of chapters/ch1_vae.c that tests/test_ch1.c checks.
 * Each one is an equation of PDF chapter 1; the tags are TUTORIAL.md's sections.
 *
 * Shapes: k latent dimension, d data dimension (linear-Gaussian model, both <= CH1_LG_MAX);
 * N batch rows, D data dimension, Z latent dimension (the VAE). */
#ifndef CH1_VAE_H
#define CH1_VAE_H

#include "cli.h"
#include "autograd.h"
#include "data.h"
#include "nn.h"
#include "rng.h"
#include "tensor.h"

/* ---- the exact linear-Gaussian latent model (§1.2) --------------------------------------- */

enum { CH1_LG_MAX = 8 };

/* z ~ N(0, I_k), x | z ~ N(W z + b, s2 I_d). */
typedef struct {
    int    k, d;
    double W[CH1_LG_MAX][CH1_LG_MAX];   /* (d, k) */
    double b[CH1_LG_MAX];               /* (d) */
    double s2;                          /* decoder noise variance */
} Ch1LinGauss;

/* A Gaussian N(m, S) on R^k, full covariance. */
typedef struct {
    int    k;
    double m[CH1_LG_MAX];
    double S[CH1_LG_MAX][CH1_LG_MAX];
} Ch1Gauss;

/* §1.2 log p(x) = log N(x; b, W W^T + s2 I), by a Cholesky factor of the d x d covariance. */
double   ch1_lg_log_evidence(const Ch1LinGauss *g, const double *x);
/* §1.2 p(z | x) = N(m, S), S = (I + W^T W / s2)^{-1}, m = S W^T (x - b) / s2. */
Ch1Gauss ch1_lg_posterior(const Ch1LinGauss *g, const double *x);
/* §1.2 log p(x, z) = log N(x; W z + b, s2 I) + log N(z; 0, I). */
double   ch1_lg_log_joint(const Ch1LinGauss *g, const double *x, const double *z);
/* §1.2 reconstruction term E_q[log p(x | z)] = -d/2 log(2 pi s2) - (|x - W m - b|^2 + tr(W S W^T)) / (2 s2). */
double   ch1_lg_recon(const Ch1LinGauss *g, const double *x, const Ch1Gauss *q);
/* §1.2 ELBO(q) = E_q[log p(x, z) - log q(z)] = E_q log p(x|z) + E_q log p(z) + H(q), closed form. */
double   ch1_lg_elbo(const Ch1LinGauss *g, const double *x, const Ch1Gauss *q);
/* KL(N(m1, S1) || N(m2, S2)) = 1/2 [tr(S2^-1 S1) + (m2-m1)^T S2^-1 (m2-m1) - k + log|S2| - log|S1|]. */
double   ch1_kl_gauss(const Ch1Gauss *q, const Ch1Gauss *p);
/* log N(z; m, S). */
double   ch1_gauss_logpdf(const Ch1Gauss *q, const double *z);
/* z = m + L eps, L L^T = S (the reparameterisation, in k dimensions). */
void     ch1_gauss_sample(const Ch1Gauss *q, Rng *rng, double *z);

/* ---- Example 1.1: a Gaussian mixture as a latent-variable model (§1.2) ---------------------- */

/* The latent is the component: z in {0..K-1}, p(z = k) = w_k, x | z = k ~ N(mu_k, C_k) (a Gmm of data.h, D = 1
 * or 2). A q over z is a categorical vector q (K), q_k >= 0, sum 1; terms with q_k = 0 count 0 (0 log 0 = 0). */
/* §1.2 log N(x; mu_k, C_k), the decoder p(x | z = k). */
double ch1_gmm_log_lik(const Gmm *g, int k, const double *x);
/* §1.2 ELBO(q) = sum_k q_k [log w_k + log N(x; mu_k, C_k) - log q_k]. */
double ch1_gmm_elbo(const Gmm *g, const double *x, const double *q);
/* §1.2 the second form: E_q log p(x | z) - KL(q || p(z)) = sum_k q_k log N_k(x) - sum_k q_k log(q_k / w_k). */
double ch1_gmm_elbo_recon_prior(const Gmm *g, const double *x, const double *q);
/* KL(q || p) = sum_k q_k log(q_k / p_k) between two categorical vectors of length K. */
double ch1_kl_categorical(const double *q, const double *p, int K);

/* ---- the loss function (§1.4) ------------------------------------------------------------ */

/* §1.4 KL(N(mu, diag s2) || N(0, I)) = 1/2 sum_j (s2_j + mu_j^2 - 1 - log s2_j). */
double ch1_kl_diag_std(const double *mu, const double *s2, int k);
/* §1.4 log N(x; xhat, s2 I) = -|x - xhat|^2 / (2 s2) - d/2 log(2 pi s2): a scaled squared error. */
double ch1_gauss_decoder_loglik(const double *x, const double *xhat, int d, double s2);

/* ---- reparameterisation (§1.3), for f(z) = sin z + z^2/2 under z ~ N(mu, sigma^2) ---------- */

/* Exact: E f = sin(mu) e^{-sigma^2/2} + (mu^2 + sigma^2)/2, so
 * d/dmu = cos(mu) e^{-sigma^2/2} + mu,  d/dsigma = -sigma sin(mu) e^{-sigma^2/2} + sigma. */
void ch1_grad_exact(double mu, double sigma, double *g_mu, double *g_sigma);
/* §1.3 one reparameterised sample, z = mu + sigma eps: g_mu = f'(z), g_sigma = f'(z) eps. */
void ch1_grad_reparam(double mu, double sigma, double eps, double *g_mu, double *g_sigma);
/* §1.3 one score-function (REINFORCE) sample: g = f(z) d/dtheta log q(z), z = mu + sigma eps:
 * g_mu = f(z) eps / sigma, g_sigma = f(z) (eps^2 - 1) / sigma. */
void ch1_grad_score(double mu, double sigma, double eps, double *g_mu, double *g_sigma);

/* ---- inference (§1.5) --------------------------------------------------------------------- */

/* §1.5 importance-weighted bound log (1/K) sum_k w_k from K log-weights log w_k = log p(x, z_k) - log q(z_k | x),
 * by log-sum-exp. K = 1 is one sample of the ELBO; E over z of it increases with K towards log p(x). */
double ch1_iwae(const double *log_w, int K);

/* ---- the VAE ------------------------------------------------------------------------------- */

/* Encoder q_phi(z | x) = N(mu_phi(x), diag e^{logvar_phi(x)}): an MLP D -> ... -> 2Z.
 * Decoder p_theta(x | z) = N(mean_theta(z), diag sigma^2): an MLP Z -> ... -> 2D giving (mean, logvar)
 * per coordinate (2D data), or, for images (image = 1), Z -> ... -> D with a sigmoid mean in [0, 1] and
 * one learned log-variance shared by all pixels (the entry "dec.logvar"). */
typedef struct {
    Params params;
    Mlp    enc, dec;
    int    D, Z, image;
    int    dec_logvar;                  /* index of "dec.logvar" (image = 1), else -1 */
} Ch1Vae;

/* The nodes of one forward pass; loss = recon + kl, each averaged over the batch (nats per point). */
typedef struct { AgNode *loss, *recon, *kl; } Ch1VaeLoss;

/* Declares and allocates: hidden (n_hidden widths) for the encoder, reversed for the decoder; act NN_RELU/NN_SILU. */
void       ch1_vae_init(Ch1Vae *v, int D, int Z, int n_hidden, const int *hidden, int act, int image, Rng *rng);
void       ch1_vae_free(Ch1Vae *v);
/* §1.4 -ELBO on a batch x (N, D) with the reparameterised z = mu + e^{logvar/2} eps, eps (N, Z) given. */
Ch1VaeLoss ch1_vae_loss(AgTape *t, Ch1Vae *v, const float *x, const float *eps, int N);
/* mu, logvar (N, Z) = encoder(x). No gradient memory; temporaries from the arena, popped. */
void       ch1_vae_encode(Ch1Vae *v, const float *x, int N, float *mu, float *logvar, Arena *a);
/* mean, logvar (N, D) = decoder(z). */
void       ch1_vae_decode(Ch1Vae *v, const float *z, int N, float *mean, float *logvar, Arena *a);
/* §1.5 log-weights log p(x|z_k) + log p(z_k) - log q(z_k|x) for K draws z_k ~ q(z|x) of each of N points: log_w (N, K). */
void       ch1_vae_log_weights(Ch1Vae *v, const float *x, int N, int K, Rng *rng, double *log_w, Arena *a);
/* §1.4 gradient check of -ELBO through z = mu + sigma eps (eps fixed): for n_probe parameters spread over the
 * block, max |g_tape - g_fd| / max(1, |g_fd|), g_fd the central difference with step h (in double from the float loss). */
double     ch1_vae_grad_check(Ch1Vae *v, const float *x, const float *eps, int N, int n_probe, float h, Arena *a);

/* The program's cells (the table --list prints), n receives their number: tests/test_tutorial.c looks up
 * every `./ch1 --cell X` of tutorial.md in it with cli_find_cell. */
const Cell *ch1_cells(int *n);

#endif
