/* ch1_vae.c: PDF chapter 1, the variational auto-encoder (VAE) and the evidence lower bound (ELBO).
 *
 *   make ch1 && ./ch1 --list          the cells, one per section
 *   ./ch1                             the whole chapter (about 20 s with the shipped checkpoint)
 *   ./ch1 --cell elbo                 Theorem 1.1 on the exact linear-Gaussian model
 *   ./ch1 --train                     train the Fashion-MNIST VAE (6-13 minutes; Ctrl-C saves, --resume)
 *
 * Sections: 1.1 the VAE setting (encoder, decoder, the DCT as a fixed encoder) · 1.2 the ELBO and
 * Theorem 1.1, exact on a linear-Gaussian model, and on Example 1.1 (a Gaussian mixture, the component as
 * latent) · 1.3 training: a VAE on 2D data, and why the
 * reparameterisation trick · 1.4 the loss function (closed-form KL, Gaussian decoder, gradient check)
 * · 1.5 inference: samples, the latent grid, the encoded test set, importance-weighted log p(x).
 * Figures (figures/): ch1_fig1_1, ch1_fig1_2_dct, ch1_fig1_4_elbo_gap, ch1_gmm_latent, ch1_vae2d, ch1_reparam_variance,
 * ch1_train_curve, ch1_samples, ch1_latent_grid, ch1_reconstructions, ch1_latent_test, ch1_iwae.
 * Uses: cli, plot, image, fmnist, nn, autograd, train (checkpoints), rng, tensor.
 *
 * Shapes: N batch rows, D data dimension (2, or 784 = 28 x 28 pixels), Z latent dimension (1 or 2),
 * K importance samples; k, d the latent and data dimensions of the linear-Gaussian model.
 */
#include <math.h>
#include <string.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include "ch1_vae.h"
#include "cli.h"
#include "fid.h"
#include "fmnist.h"
#include "image.h"
#include "train.h"
#include "plot.h"

static const double LOG_2PI = 1.8378770664093454836;

/* ---- small dense linear algebra in double (k, d <= CH1_LG_MAX) ----------- */

typedef double Mat[CH1_LG_MAX][CH1_LG_MAX];

/* Cholesky A = L L^T of an n x n symmetric positive definite A; returns log det A. */
static double cholesky(int n, const Mat A, Mat L) {
    CHECK(n >= 1 && n <= CH1_LG_MAX, "matrix size %d, expected 1..%d", n, CH1_LG_MAX);
    double logdet = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j <= i; j++) {
            double s = A[i][j];
            for (int k = 0; k < j; k++) s -= L[i][k] * L[j][k];
            if (i == j) {
                CHECK(s > 0, "matrix not positive definite at pivot %d (%g)", i, s);
                L[i][i] = sqrt(s);
                logdet += 2 * log(L[i][i]);
            } else {
                L[i][j] = s / L[j][j];
            }
        }
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) L[i][j] = 0;
    return logdet;
}

/* x = A^{-1} r with A = L L^T: forward then backward substitution. */
static void chol_solve(int n, const Mat L, const double *r, double *x) {
    double y[CH1_LG_MAX];
    CHECK(n >= 1 && n <= CH1_LG_MAX, "size %d", n);
    for (int i = 0; i < n; i++) {
        y[i] = r[i];
        for (int k = 0; k < i; k++) y[i] -= L[i][k] * y[k];
        y[i] /= L[i][i];
    }
    for (int i = n - 1; i >= 0; i--) {
        x[i] = y[i];
        for (int k = i + 1; k < n; k++) x[i] -= L[k][i] * x[k];
        x[i] /= L[i][i];
    }
}

/* Ainv = A^{-1}, column by column. */
static void chol_inverse(int n, const Mat L, Mat Ainv) {
    for (int j = 0; j < n; j++) {
        double e[CH1_LG_MAX] = { 0 }, col[CH1_LG_MAX];
        e[j] = 1;
        chol_solve(n, L, e, col);
        for (int i = 0; i < n; i++) Ainv[i][j] = col[i];
    }
}

/* ---- 1.1  The VAE setting: encoders and decoders ------------------------- */

/* The 8 x 8 DCT-II basis, orthonormal: C[u][x] = a_u cos((2x + 1) u pi / 16), a_0 = sqrt(1/8), a_u = sqrt(2/8). */
static void dct8_basis(double C[8][8]) {
    for (int u = 0; u < 8; u++)
        for (int x = 0; x < 8; x++) C[u][x] = (u == 0 ? sqrt(1.0 / 8) : sqrt(2.0 / 8)) * cos((2 * x + 1) * u * PI / 16);
}

/* §1.1 the DCT as an encoder: z = C X C^T on each 8 x 8 block of a 32 x 32 image (inverse = 1: X = C^T z C). */
static void dct_blocks(const double *img, double *coef, int inverse) {
    double C[8][8];
    dct8_basis(C);
    for (int by = 0; by < 32; by += 8)
        for (int bx = 0; bx < 32; bx += 8) {
            double T[8][8];
            for (int u = 0; u < 8; u++)             /* rows: T = C X (or C^T z) */
                for (int x = 0; x < 8; x++) {
                    double s = 0;
                    for (int k = 0; k < 8; k++) s += (inverse ? C[k][u] : C[u][k]) * img[(by + k) * 32 + bx + x];
                    T[u][x] = s;
                }
            for (int u = 0; u < 8; u++)             /* columns: T C^T (or T C) */
                for (int v = 0; v < 8; v++) {
                    double s = 0;
                    for (int k = 0; k < 8; k++) s += T[u][k] * (inverse ? C[k][v] : C[v][k]);
                    coef[(by + u) * 32 + bx + v] = s;
                }
        }
}

/* Keep the k coefficients of largest magnitude, zero the rest (a threshold found by sorting magnitudes in out). */
static void keep_largest(const double *coef, double *out, int n, int k) {
    double *mag = out;                               /* out holds the sorted magnitudes until the threshold is known */
    for (int i = 0; i < n; i++) mag[i] = fabs(coef[i]);
    for (int i = 1; i < n; i++)                      /* insertion sort, descending: n = 1024 */
        for (int j = i; j > 0 && mag[j] > mag[j - 1]; j--) { double t = mag[j]; mag[j] = mag[j - 1]; mag[j - 1] = t; }
    double thr = mag[k - 1];
    int kept = 0;
    for (int i = 0; i < n; i++) out[i] = (fabs(coef[i]) >= thr && kept < k) ? (kept++, coef[i]) : 0.0;
}

/* One grey image as "x y value" rows for gnuplot's `with image` (y down, as on screen). */
static void write_image_block(Plot *p, const char *comment, const double *img, int h, int w) {
    plot_block(p, comment);
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) fprintf(plot_dat(p), "%d %d %.4f\n", x, h - 1 - y, img[y * w + x]);
        fprintf(plot_dat(p), "\n");
    }
}

static int cell_1_1_setting(Ctx *ctx) {
    enum { NK = 6 };
    static const int ks[NK] = { 8, 16, 32, 64, 128, 1024 };
    cli_say("A VAE has an encoder x -> z and a decoder z -> x_hat. A fixed linear encoder makes the idea");
    cli_say("concrete: the 8x8 block DCT (JPEG's transform) projects x on cosine basis images, z = C X C^T.");
    cli_say("Keeping only the k largest coefficients of z and decoding gives a compressed x_hat.");
    Fmnist fm;
    if (fmnist_load(&fm, NULL, 0, 1)) { cli_say("skipped: Fashion-MNIST not available"); return 0; }
    double img[1024] = { 0 }, coef[1024], kept[1024], rec[1024], logc[1024];
    for (int y = 0; y < 28; y++)                     /* 28 x 28 zero-padded to 32 x 32: four 8x8 blocks a side */
        for (int x = 0; x < 28; x++) img[(y + 2) * 32 + x + 2] = fm.images[y * 28 + x];
    fmnist_free(&fm);
    dct_blocks(img, coef, 0);
    double e_img = 0, e_coef = 0;
    for (int i = 0; i < 1024; i++) { e_img += img[i] * img[i]; e_coef += coef[i] * coef[i]; logc[i] = log10(fabs(coef[i]) + 1e-4); }
    /* an orthonormal transform keeps energy; 1024 products of O(1) terms: rounding ~1e-13 */
    cli_check(ctx, "Parseval: sum z^2 = sum x^2 (orthonormal DCT)", e_coef, e_img, 1e-10);
    Plot p;
    if (plot_open(&p, ctx->out, "ch1_fig1_2_dct")) return 1;
    write_image_block(&p, "x y pixel: the image x (32 x 32, padded)", img, 32, 32);
    write_image_block(&p, "u v log10|z|: block DCT coefficients", logc, 32, 32);
    double err[NK];
    for (int j = 0; j < NK; j++) {
        keep_largest(coef, kept, 1024, ks[j]);
        dct_blocks(kept, rec, 1);
        double e = 0;
        for (int i = 0; i < 1024; i++) e += (rec[i] - img[i]) * (rec[i] - img[i]);
        err[j] = sqrt(e / e_img);
        char c[64];
        snprintf(c, sizeof c, "x y pixel: decoded from the %d largest z", ks[j]);
        write_image_block(&p, c, rec, 32, 32);
    }
    cli_check(ctx, "all 1024 coefficients decode x exactly (relative error)", err[NK - 1], 0, 1e-12);
    cli_say("relative error |x_hat - x| / |x| with k = 8, 16, 32, 64, 128: %.3f %.3f %.3f %.3f %.3f",
            err[0], err[1], err[2], err[3], err[4]);
    cli_check_le(ctx, "k = 128 of 1024 coefficients already give < 10% error", err[4], 0.10);
    plot_size(&p, 1400, 360);
    plot_cmd(&p, "set multiplot layout 1,7 title \"The 8x8 block DCT as an encoder: x -> z (64 coefficients per block) -> decode from the k largest of 1024\\n"
                 "err = |x_{hat} - x| / |x|, the relative L2 error of the decoded image\"");
    plot_cmd(&p, "set size ratio -1; unset key; unset tics; unset colorbox; set xrange [-0.5:31.5]; set yrange [-0.5:31.5]");
    plot_cmd(&p, "set palette grey; set cbrange [0:1]");
    plot_cmd(&p, "set title 'x'; plot dat index 0 using 1:2:3 with image");
    plot_cmd(&p, "set title 'log_{10}|z|'; set palette defined (0 'white', 1 '#3182bd', 2 '#08306b'); set cbrange [-3:1]");
    plot_cmd(&p, "set colorbox horizontal user origin 0.16, 0.1 size 0.11, 0.035; set cbtics 1 font ',8' scale 0.5");
    plot_cmd(&p, "plot dat index 1 using 1:2:3 with image");
    plot_cmd(&p, "unset colorbox; set palette grey; set cbrange [0:1]");
    for (int j = 0; j < NK - 1; j++)
        plot_cmd(&p, "set title 'k = %d (err %.2f)'; plot dat index %d using 1:2:3 with image", ks[j], err[j], j + 2);
    plot_cmd(&p, "unset multiplot");
    return plot_close(&p);
}

/* ---- 1.2  The evidence lower bound, exact on a linear-Gaussian model ------ */

double ch1_gauss_logpdf(const Ch1Gauss *q, const double *z) {
    Mat L;
    double logdet = cholesky(q->k, q->S, L), r[CH1_LG_MAX] = { 0 }, y[CH1_LG_MAX], quad = 0;
    for (int i = 0; i < q->k; i++) r[i] = z[i] - q->m[i];
    chol_solve(q->k, L, r, y);
    for (int i = 0; i < q->k; i++) quad += r[i] * y[i];
    return -0.5 * (q->k * LOG_2PI + logdet + quad);
}

double ch1_lg_log_evidence(const Ch1LinGauss *g, const double *x) {
    /* §1.2 log p(x) = log N(x; b, C), C = W W^T + s2 I */
    Ch1Gauss px = { .k = g->d };
    for (int i = 0; i < g->d; i++) {
        px.m[i] = g->b[i];
        for (int j = 0; j < g->d; j++) {
            px.S[i][j] = i == j ? g->s2 : 0.0;
            for (int k = 0; k < g->k; k++) px.S[i][j] += g->W[i][k] * g->W[j][k];
        }
    }
    return ch1_gauss_logpdf(&px, x);
}

Ch1Gauss ch1_lg_posterior(const Ch1LinGauss *g, const double *x) {
    /* §1.2 S = (I + W^T W / s2)^{-1}, m = S W^T (x - b) / s2 */
    Mat P, L;
    Ch1Gauss q = { .k = g->k };
    for (int i = 0; i < g->k; i++)
        for (int j = 0; j < g->k; j++) {
            double s = i == j ? 1.0 : 0.0;
            for (int a = 0; a < g->d; a++) s += g->W[a][i] * g->W[a][j] / g->s2;
            P[i][j] = s;
        }
    cholesky(g->k, P, L);
    chol_inverse(g->k, L, q.S);
    double v[CH1_LG_MAX];
    for (int i = 0; i < g->k; i++) {
        v[i] = 0;
        for (int a = 0; a < g->d; a++) v[i] += g->W[a][i] * (x[a] - g->b[a]) / g->s2;
    }
    for (int i = 0; i < g->k; i++) {
        q.m[i] = 0;
        for (int j = 0; j < g->k; j++) q.m[i] += q.S[i][j] * v[j];
    }
    return q;
}

double ch1_lg_log_joint(const Ch1LinGauss *g, const double *x, const double *z) {
    /* §1.2 log p(x, z) = log N(x; W z + b, s2 I) + log N(z; 0, I) */
    double rx = 0, rz = 0;
    for (int a = 0; a < g->d; a++) {
        double m = g->b[a];
        for (int k = 0; k < g->k; k++) m += g->W[a][k] * z[k];
        rx += (x[a] - m) * (x[a] - m);
    }
    for (int k = 0; k < g->k; k++) rz += z[k] * z[k];
    return -0.5 * (rx / g->s2 + g->d * log(2 * PI * g->s2)) - 0.5 * (rz + g->k * LOG_2PI);
}

double ch1_lg_recon(const Ch1LinGauss *g, const double *x, const Ch1Gauss *q) {
    /* §1.2 E_q log p(x|z) = -d/2 log(2 pi s2) - (|x - W m - b|^2 + tr(W S W^T)) / (2 s2) */
    double r2 = 0, tr = 0;
    for (int a = 0; a < g->d; a++) {
        double m = g->b[a];
        for (int k = 0; k < g->k; k++) m += g->W[a][k] * q->m[k];
        r2 += (x[a] - m) * (x[a] - m);
        for (int i = 0; i < g->k; i++)
            for (int j = 0; j < g->k; j++) tr += g->W[a][i] * q->S[i][j] * g->W[a][j];
    }
    return -0.5 * g->d * log(2 * PI * g->s2) - (r2 + tr) / (2 * g->s2);
}

double ch1_lg_elbo(const Ch1LinGauss *g, const double *x, const Ch1Gauss *q) {
    /* §1.2 ELBO = E_q log p(x|z) + E_q log p(z) + H(q),
     * E_q log p(z) = -k/2 log 2pi - (|m|^2 + tr S)/2,  H(q) = k/2 (1 + log 2pi) + 1/2 log|S| */
    Mat L;
    double logdet = cholesky(q->k, q->S, L), m2 = 0, tr = 0;
    for (int i = 0; i < q->k; i++) { m2 += q->m[i] * q->m[i]; tr += q->S[i][i]; }
    double e_log_prior = -0.5 * q->k * LOG_2PI - 0.5 * (m2 + tr);
    double entropy = 0.5 * q->k * (1 + LOG_2PI) + 0.5 * logdet;
    return ch1_lg_recon(g, x, q) + e_log_prior + entropy;
}

double ch1_kl_gauss(const Ch1Gauss *q, const Ch1Gauss *p) {
    /* KL(N(m1,S1) || N(m2,S2)) = 1/2 [tr(S2^-1 S1) + (m2-m1)^T S2^-1 (m2-m1) - k + log|S2| - log|S1|] */
    int k = q->k;
    Mat L1, L2, P2;
    double ld1 = cholesky(k, q->S, L1), ld2 = cholesky(k, p->S, L2), tr = 0, quad = 0;
    chol_inverse(k, L2, P2);
    for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++) {
            tr += P2[i][j] * q->S[j][i];
            quad += (p->m[i] - q->m[i]) * P2[i][j] * (p->m[j] - q->m[j]);
        }
    return 0.5 * (tr + quad - k + ld2 - ld1);
}

void ch1_gauss_sample(const Ch1Gauss *q, Rng *rng, double *z) {
    Mat L;
    cholesky(q->k, q->S, L);
    double eps[CH1_LG_MAX];
    for (int i = 0; i < q->k; i++) eps[i] = rng_normal(rng);
    for (int i = 0; i < q->k; i++) {
        z[i] = q->m[i];   /* §1.3 z = m + L eps */
        for (int j = 0; j <= i; j++) z[i] += L[i][j] * eps[j];
    }
}

/* A random Gaussian q on R^k: mean N(0, I), covariance A A^T + 0.1 I with A's entries N(0, 0.5^2). */
static Ch1Gauss random_gauss(int k, Rng *rng) {
    Ch1Gauss q = { .k = k };
    double A[CH1_LG_MAX][CH1_LG_MAX];
    for (int i = 0; i < k; i++) {
        q.m[i] = rng_normal(rng);
        for (int j = 0; j < k; j++) A[i][j] = 0.5 * rng_normal(rng);
    }
    for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++) {
            q.S[i][j] = i == j ? 0.1 : 0.0;
            for (int a = 0; a < k; a++) q.S[i][j] += A[i][a] * A[j][a];
        }
    return q;
}

/* The figure's 1D model: z ~ N(0, 1), x | z ~ N(a z, s2), a = 2, s2 = 0.5, observed x = 1.5. */
static Ch1LinGauss model_1d(void) {
    Ch1LinGauss g = { .k = 1, .d = 1, .s2 = 0.5 };
    g.W[0][0] = 2.0;
    return g;
}

/* Sweep q's mean (panel 0) and standard deviation (panel 1) around the posterior; returns max |ELBO + KL - log p|. */
static double plot_elbo_gap(Plot *p) {
    Ch1LinGauss g = model_1d();
    double x = 1.5, lp = ch1_lg_log_evidence(&g, &x), worst = 0;
    Ch1Gauss post = ch1_lg_posterior(&g, &x);
    double m = post.m[0], sd = sqrt(post.S[0][0]);
    for (int panel = 0; panel < 2; panel++) {
        plot_block(p, panel == 0 ? "q's mean, log p(x), ELBO(q), KL(q || p(z|x)), ELBO + KL  (q's sd = posterior sd)"
                                 : "q's sd, log p(x), ELBO(q), KL(q || p(z|x)), ELBO + KL  (q's mean = posterior mean)");
        for (int i = 0; i <= 200; i++) {
            Ch1Gauss q = post;
            double u = panel == 0 ? m + sd * (-4.0 + 8.0 * i / 200) : sd * pow(10.0, -1.0 + 2.0 * i / 200);
            if (panel == 0) q.m[0] = u; else q.S[0][0] = u * u;
            double elbo = ch1_lg_elbo(&g, &x, &q), kl = ch1_kl_gauss(&q, &post);
            worst = fmax(worst, fabs(elbo + kl - lp));
            fprintf(plot_dat(p), "%.6f %.8f %.8f %.8f %.8f\n", u, lp, elbo, kl, elbo + kl);
        }
    }
    return worst;
}

static int cell_1_2_elbo(Ctx *ctx) {
    enum { NQ = 20, NMC = 1000000 };
    Rng *r = &ctx->rng;
    Ch1LinGauss g = { .k = 2, .d = 3, .s2 = 0.5 };
    for (int a = 0; a < g.d; a++) {
        g.b[a] = rng_normal(r);
        for (int k = 0; k < g.k; k++) g.W[a][k] = rng_normal(r);
    }
    double x[3] = { 0.8, -1.2, 2.0 };
    cli_say("Theorem 1.1: log p(x) = ELBO(q) + KL(q(z|x) || p(z|x)) for ANY q. Checked where all three are");
    cli_say("closed form: z ~ N(0, I_2), x | z ~ N(W z + b, 0.5 I_3); p(x) = N(b, W W^T + s2 I), the posterior");
    cli_say("p(z|x) = N(m, S), S = (I + W^T W/s2)^-1, m = S W^T (x - b)/s2. %d random Gaussians q:", NQ);
    double lp = ch1_lg_log_evidence(&g, x), worst = 0, worst_forms = 0, max_elbo = -INFINITY;
    Ch1Gauss post = ch1_lg_posterior(&g, x), prior = { .k = 2, .S = { { 1, 0 }, { 0, 1 } } };
    for (int i = 0; i < NQ; i++) {
        Ch1Gauss q = random_gauss(2, r);
        double elbo = ch1_lg_elbo(&g, x, &q);
        worst = fmax(worst, fabs(elbo + ch1_kl_gauss(&q, &post) - lp));
        /* §1.2 the second form: reconstruction minus prior matching */
        worst_forms = fmax(worst_forms, fabs(ch1_lg_recon(&g, x, &q) - ch1_kl_gauss(&q, &prior) - elbo));
        max_elbo = fmax(max_elbo, elbo);
    }
    /* terms are O(10); ~50 roundings of 1e-16 each: 1e-10 leaves a wide margin yet catches any wrong term */
    cli_check(ctx, "Theorem 1.1 residual max |ELBO + KL - log p(x)|", worst, 0, 1e-10);
    cli_check(ctx, "two forms: max |E log p(x|z) - KL(q||p(z)) - E log p(x,z)/q|", worst_forms, 0, 1e-10);
    cli_check_le(ctx, "the best of the random ELBOs <= log p(x)", max_elbo, lp);
    cli_check(ctx, "q = true posterior: ELBO = log p(x) (tight)", ch1_lg_elbo(&g, x, &post), lp, 1e-10);
    /* Monte Carlo: the ELBO as an average of log p(x, z) - log q(z), z ~ q */
    Ch1Gauss q = random_gauss(2, r);
    double s = 0, s2 = 0;
    for (int i = 0; i < NMC; i++) {
        double z[2];
        ch1_gauss_sample(&q, r, z);
        double w = ch1_lg_log_joint(&g, x, z) - ch1_gauss_logpdf(&q, z);
        s += w;
        s2 += w * w;
    }
    double mean = s / NMC, se = sqrt((s2 / NMC - mean * mean) / NMC);
    cli_check(ctx, "ELBO by 1e6 draws of z ~ q vs closed form (tol 4 s.e.)", mean, ch1_lg_elbo(&g, x, &q), 4 * se);
    cli_say("log p(x) = %.4f, this q: ELBO = %.4f, KL(q || posterior) = %.4f", lp, ch1_lg_elbo(&g, x, &q), ch1_kl_gauss(&q, &post));
    Plot p;
    if (plot_open(&p, ctx->out, "ch1_fig1_4_elbo_gap")) return 1;
    double worst_sweep = plot_elbo_gap(&p);
    cli_check(ctx, "1D sweep of q: max |ELBO + KL - log p(x)|", worst_sweep, 0, 1e-10);
    plot_size(&p, 1200, 450);
    plot_cmd(&p, "set multiplot layout 1,2 title 'Theorem 1.1, exact: z ∼ N(0,1), x | z ∼ N(2z, 0.5), x = 1.5. The gap log p(x) - ELBO(q) is KL(q || p(z|x))'");
    plot_cmd(&p, "set key bottom right; set ylabel 'nats'; set yrange [-6:3]");
    plot_cmd(&p, "set xlabel 'mean of q (sd fixed at the posterior sd)'; set title 'moving q(z|x) = N(m_q, s^2)'");
    plot_cmd(&p, "plot dat index 0 using 1:2 with lines lw 3 lc rgb 'black' title 'log p(x)', \\");
    plot_cmd(&p, "     '' index 0 using 1:3 with lines lw 2 lc rgb '#3182bd' title 'ELBO(q)', \\");
    plot_cmd(&p, "     '' index 0 using 1:4 with lines lw 2 lc rgb '#d7301f' title 'KL(q || p(z|x))', \\");
    plot_cmd(&p, "     '' index 0 every 10 using 1:5 with points pt 6 ps 1.2 lc rgb '#31a354' title 'ELBO + KL'");
    plot_cmd(&p, "set xlabel 'sd of q (mean fixed at the posterior mean)'; set logscale x; set xrange [0.03:3.5]; set title 'widening / narrowing q'");
    plot_cmd(&p, "plot dat index 1 using 1:2 with lines lw 3 lc rgb 'black' title 'log p(x)', \\");
    plot_cmd(&p, "     '' index 1 using 1:3 with lines lw 2 lc rgb '#3182bd' title 'ELBO(q)', \\");
    plot_cmd(&p, "     '' index 1 using 1:4 with lines lw 2 lc rgb '#d7301f' title 'KL(q || p(z|x))', \\");
    plot_cmd(&p, "     '' index 1 every 10 using 1:5 with points pt 6 ps 1.2 lc rgb '#31a354' title 'ELBO + KL'");
    plot_cmd(&p, "unset multiplot");
    return plot_close(&p);
}

/* ---- 1.2  Example 1.1: a Gaussian mixture as a latent-variable model ------ */

double ch1_gmm_log_lik(const Gmm *g, int k, const double *x) {
    Gmm one = *g;   /* component k alone, weight 1: data_gmm_logpdf is then log N(x; mu_k, C_k) */
    one.K = 1;
    one.w[0] = 1.0;
    memcpy(one.mu[0], g->mu[k], sizeof one.mu[0]);
    memcpy(one.cov[0], g->cov[k], sizeof one.cov[0]);
    return data_gmm_logpdf(&one, x);
}

double ch1_gmm_elbo(const Gmm *g, const double *x, const double *q) {
    /* §1.2 ELBO(q) = sum_k q_k [log p(x, z = k) - log q_k], log p(x, z = k) = log w_k + log N(x; mu_k, C_k) */
    double e = 0;
    for (int k = 0; k < g->K; k++)
        if (q[k] > 0) e += q[k] * (log(g->w[k]) + ch1_gmm_log_lik(g, k, x) - log(q[k]));
    return e;
}

double ch1_kl_categorical(const double *q, const double *p, int K) {
    double kl = 0;   /* KL(q || p) = sum_k q_k log(q_k / p_k), 0 log 0 = 0 */
    for (int k = 0; k < K; k++)
        if (q[k] > 0) kl += q[k] * log(q[k] / p[k]);
    return kl;
}

double ch1_gmm_elbo_recon_prior(const Gmm *g, const double *x, const double *q) {
    double recon = 0;   /* §1.2 E_q log p(x | z) - KL(q || p(z)) */
    for (int k = 0; k < g->K; k++)
        if (q[k] > 0) recon += q[k] * ch1_gmm_log_lik(g, k, x);
    return recon - ch1_kl_categorical(q, g->w, g->K);
}

/* Example 1.1's 1D mixture: three overlapping components, so the posterior over z is soft between them. */
static Gmm example_1_1_gmm(void) {
    static const double w[3] = { 0.3, 0.5, 0.2 }, mu[3] = { -1.5, 0.5, 2.0 }, sd[3] = { 0.7, 0.6, 0.6 };
    return data_gmm_1d(3, w, mu, sd);
}

/* A random categorical q over K: softmax of K draws of N(0, 1.5^2). */
static void random_categorical(int K, Rng *rng, double *q) {
    double s = 0;
    for (int k = 0; k < K; k++) { q[k] = exp(1.5 * rng_normal(rng)); s += q[k]; }
    for (int k = 0; k < K; k++) q[k] /= s;
}

/* Two q's a student would try: uniform over the components, and the hard assignment to the most likely one. */
static void q_uniform(int K, double *q) { for (int k = 0; k < K; k++) q[k] = 1.0 / K; }
static void q_hard(int K, const double *r, double *q) {
    int best = 0;
    for (int k = 1; k < K; k++) if (r[k] > r[best]) best = k;
    for (int k = 0; k < K; k++) q[k] = k == best ? 1.0 : 0.0;
}

/* Theorem 1.1 on n_q random categorical q at random x, for the 1D mixture g and the 2D mixture g2. worst[0..3]
 * receive the largest residuals (Theorem 1.1, the two forms, tightness at the posterior; relative to 1 + |log p|) and
 * the largest Bayes discrepancy; the return value is the largest ELBO(q) - log p(x). */
static double theorem_1_1_random_q(const Gmm *g, const Gmm *g2, int n_q, Rng *rng, double *worst) {
    double max_gap_neg = -INFINITY;
    for (int j = 0; j < 4; j++) worst[j] = 0;
    for (int pass = 0; pass < 2; pass++) {
        const Gmm *m = pass ? g2 : g;
        for (int i = 0; i < n_q; i++) {
            double x[2] = { 2.0 * rng_normal(rng), 2.0 * rng_normal(rng) }, q[GMM_MAX], r[GMM_MAX];
            double lp = data_gmm_logpdf(m, x);
            random_categorical(m->K, rng, q);
            data_gmm_resp(m, x, r);
            double elbo = ch1_gmm_elbo(m, x, q), scale = 1 + fabs(lp);   /* residuals relative to the terms' size */
            worst[0] = fmax(worst[0], fabs(elbo + ch1_kl_categorical(q, r, m->K) - lp) / scale);
            worst[1] = fmax(worst[1], fabs(ch1_gmm_elbo_recon_prior(m, x, q) - elbo) / scale);
            worst[2] = fmax(worst[2], fabs(ch1_gmm_elbo(m, x, r) - lp) / scale);
            max_gap_neg = fmax(max_gap_neg, elbo - lp);
            for (int k = 0; k < m->K; k++)   /* Bayes, through the decoder: w_k N_k(x) / p(x) */
                worst[3] = fmax(worst[3], fabs(exp(log(m->w[k]) + ch1_gmm_log_lik(m, k, x) - lp) - r[k]));
        }
    }
    return max_gap_neg;
}

/* Panels: the mixture and its weighted components; the posterior r_k(x); log p(x) beside the ELBOs of the
 * posterior, the uniform q and the hard q, and ELBO + KL. Returns max |ELBO + KL - log p| over the sweep. */
static double plot_gmm_latent(Plot *p, const Gmm *g) {
    double worst = 0;
    plot_block(p, "x, p(x), w_k N_k(x) for k = 1..3, r_1(x) r_2(x) r_3(x), log p(x), ELBO(posterior), "
                  "ELBO(uniform q), ELBO(hard q), ELBO(uniform) + KL(uniform || r), ELBO(hard) + KL(hard || r)");
    for (int i = 0; i <= 240; i++) {
        double x = -4.5 + 9.0 * i / 240, r[3], qu[3], qh[3], lp = data_gmm_logpdf(g, &x);
        data_gmm_resp(g, &x, r);
        q_uniform(3, qu);
        q_hard(3, r, qh);
        double eu = ch1_gmm_elbo(g, &x, qu), eh = ch1_gmm_elbo(g, &x, qh);
        double su = eu + ch1_kl_categorical(qu, r, 3), sh = eh + ch1_kl_categorical(qh, r, 3);
        worst = fmax(worst, fmax(fabs(su - lp), fabs(sh - lp)));
        fprintf(plot_dat(p), "%.4f %.6g", x, exp(lp));
        for (int k = 0; k < 3; k++) fprintf(plot_dat(p), " %.6g", g->w[k] * exp(ch1_gmm_log_lik(g, k, &x)));
        fprintf(plot_dat(p), " %.6f %.6f %.6f %.8f %.8f %.8f %.8f %.8f %.8f\n", r[0], r[1], r[2], lp,
                ch1_gmm_elbo(g, &x, r), eu, eh, su, sh);
    }
    return worst;
}

static int cell_1_2g_gmm(Ctx *ctx) {
    enum { NQ = 50, NMC = 200000 };
    Gmm g = example_1_1_gmm(), g2 = data_gmm_named("gmm");
    Rng *rng = &ctx->rng;
    cli_say("Example 1.1: a Gaussian mixture is a latent-variable model whose latent is the component:");
    cli_say("z ~ Categorical(w), x | z = k ~ N(mu_k, s_k^2). Here w = (0.3, 0.5, 0.2), mu = (-1.5, 0.5, 2),");
    cli_say("s = (0.7, 0.6, 0.6). Everything is a finite sum: log p(x) = log sum_k w_k N_k(x), the exact");
    cli_say("posterior p(z = k | x) = w_k N_k(x) / p(x), and for a categorical q the ELBO is");
    cli_say("sum_k q_k [log w_k + log N_k(x) - log q_k]. Theorem 1.1 for %d random q at 1D and 2D points:", NQ);
    double worst[4], max_gap_neg = theorem_1_1_random_q(&g, &g2, NQ, rng, worst);
    /* Far from the modes log N_k(x) reaches -1e3 (the 2D mixture's sd is small), and the sums cancel to log p(x):
     * the error is ~30 roundings of 1e-16 relative to |log p(x)|, so 1e-13 x (1 + |log p(x)|) is wide yet exact. */
    cli_check(ctx, "Theorem 1.1: max |ELBO(q) + KL(q || p(z|x)) - log p(x)| / (1 + |log p|)", worst[0], 0, 1e-13);
    cli_check(ctx, "two forms: max |E_q log p(x|z) - KL(q || p(z)) - ELBO(q)| / (1 + |log p|)", worst[1], 0, 1e-13);
    cli_check(ctx, "q = exact posterior: max |ELBO - log p(x)| / (1 + |log p|)", worst[2], 0, 1e-13);
    cli_check(ctx, "Bayes w_k N_k(x) / p(x) with our decoder vs data_gmm_resp, max diff", worst[3], 0, 1e-12);
    cli_check_le(ctx, "max over random q of ELBO(q) - log p(x) <= 0", max_gap_neg, 0);
    /* Monte Carlo: the ELBO as the average of log p(x, z) - log q(z) with z ~ q, as a VAE would estimate it */
    double x = 1.3, q[3], s = 0, s2 = 0;
    random_categorical(3, rng, q);
    for (int i = 0; i < NMC; i++) {
        double u = rng_uniform(rng), acc = 0;
        int k = 2;
        for (int j = 0; j < 3; j++) { acc += q[j]; if (u < acc) { k = j; break; } }
        double w = log(g.w[k]) + ch1_gmm_log_lik(&g, k, &x) - log(q[k]);
        s += w;
        s2 += w * w;
    }
    double mean = s / NMC, se = sqrt((s2 / NMC - mean * mean) / NMC);
    cli_check(ctx, "ELBO at x = 1.3 by 2e5 draws z ~ q vs the finite sum (tol 4 s.e.)", mean, ch1_gmm_elbo(&g, &x, q), 4 * se);
    double r[3], qu[3], qh[3], lp = data_gmm_logpdf(&g, &x);
    data_gmm_resp(&g, &x, r);
    q_uniform(3, qu);
    q_hard(3, r, qh);
    cli_say("at x = 1.3: log p(x) = %.4f, posterior r = (%.3f, %.3f, %.3f)", lp, r[0], r[1], r[2]);
    cli_say("  uniform q: ELBO = %.4f, gap = KL(q || r) = %.4f", ch1_gmm_elbo(&g, &x, qu), ch1_kl_categorical(qu, r, 3));
    cli_say("  hard q (k-means' assignment): ELBO = %.4f, gap = -log r_max = %.4f", ch1_gmm_elbo(&g, &x, qh),
            ch1_kl_categorical(qh, r, 3));
    Plot p;
    if (plot_open(&p, ctx->out, "ch1_gmm_latent")) return 1;
    cli_check(ctx, "sweep over x (uniform and hard q): max |ELBO + KL - log p(x)|", plot_gmm_latent(&p, &g), 0, 1e-12);
    plot_size(&p, 1500, 450);
    plot_cmd(&p, "set multiplot layout 1,3 title 'Example 1.1: a Gaussian mixture with the component as the latent z'");
    plot_cmd(&p, "set xlabel 'x'; set xrange [-4.5:4.5]; set key top left font ',9'");
    plot_cmd(&p, "set title 'p(x) = sum_k w_k N(x; mu_k, s_k^2)'; set ylabel 'density'");
    plot_cmd(&p, "plot dat using 1:2 with lines lw 3 lc rgb 'black' title 'p(x)', \\");
    plot_cmd(&p, "     for [k=1:3] dat using 1:(column(2+k)) with lines lw 2 dt 2 lc k title sprintf('w_%%d N_%%d(x)', k, k)");
    plot_cmd(&p, "set title 'exact posterior p(z = k | x) = w_k N_k(x) / p(x)'; set ylabel 'probability'; set yrange [0:1.05]; set key left center");
    plot_cmd(&p, "plot for [k=1:3] dat using 1:(column(5+k)) with lines lw 2 lc k title sprintf('p(z = %%d | x)', k)");
    plot_cmd(&p, "set title 'Theorem 1.1: log p(x) = ELBO(q) + KL(q || p(z|x))'; set ylabel 'nats'; set yrange [-9:0]; set key bottom center");
    plot_cmd(&p, "plot dat using 1:9 with lines lw 4 lc rgb 'black' title 'log p(x) = ELBO(posterior)', \\");
    plot_cmd(&p, "     dat using 1:11 with lines lw 2 lc rgb '#3182bd' title 'ELBO(uniform q)', \\");
    plot_cmd(&p, "     dat using 1:12 with lines lw 2 lc rgb '#d7301f' title 'ELBO(hard q)', \\");
    plot_cmd(&p, "     dat every 12 using 1:13 with points pt 6 ps 1.0 lc rgb '#3182bd' title 'ELBO + KL (uniform)', \\");
    plot_cmd(&p, "     dat every 12 using 1:14 with points pt 4 ps 1.0 lc rgb '#d7301f' title 'ELBO + KL (hard)'");
    plot_cmd(&p, "unset multiplot");
    return plot_close(&p);
}

/* ---- 1.3  Training a VAE: the model, the reparameterised loss, 2D data ---- */

void ch1_vae_init(Ch1Vae *v, int D, int Z, int n_hidden, const int *hidden, int act, int image, Rng *rng) {
    CHECK(n_hidden >= 1 && n_hidden + 2 <= NN_MLP_MAX_LAYERS, "n_hidden = %d", n_hidden);
    memset(v, 0, sizeof *v);
    v->D = D; v->Z = Z; v->image = image; v->dec_logvar = -1;
    int we[NN_MLP_MAX_LAYERS], wd[NN_MLP_MAX_LAYERS];
    we[0] = D; wd[0] = Z;
    for (int i = 0; i < n_hidden; i++) { we[i + 1] = hidden[i]; wd[i + 1] = hidden[n_hidden - 1 - i]; }
    we[n_hidden + 1] = 2 * Z;                    /* (mu, logvar) */
    wd[n_hidden + 1] = image ? D : 2 * D;        /* mean, or (mean, logvar) */
    nn_params_init(&v->params);
    nn_mlp_declare(&v->params, &v->enc, "enc", n_hidden + 2, we, act);
    nn_mlp_declare(&v->params, &v->dec, "dec", n_hidden + 2, wd, act);
    if (image) v->dec_logvar = nn_params_declare(&v->params, "dec.logvar", 1, (int[]){ 1 }, NN_INIT_ZERO);
    nn_params_alloc(&v->params, rng);
    if (image) nn_params_data(&v->params, v->dec_logvar)[0] = -2.3f;   /* sigma^2 = 0.1 to start */
}

void ch1_vae_free(Ch1Vae *v) { nn_params_free(&v->params); }

/* §1.3 reparameterisation: z = mu + e^{logvar/2} eps, differentiable in (mu, logvar) for a fixed eps. */
static AgNode *reparameterise(AgTape *t, AgNode *mu, AgNode *logvar, AgNode *eps) {
    return ag_add(t, mu, ag_mul(t, ag_exp(t, ag_scale(t, logvar, 0.5f)), eps));
}

Ch1VaeLoss ch1_vae_loss(AgTape *t, Ch1Vae *v, const float *x, const float *eps, int N) {
    int D = v->D, Z = v->Z;
    AgNode *xin = ag_input(t, tensor_wrap((float *)x, 2, (int[]){ N, D }));
    AgNode *h = nn_mlp_forward(t, &v->params, &v->enc, xin);
    AgNode *mu = ag_cols(t, h, 0, Z), *logvar = ag_cols(t, h, Z, Z);
    AgNode *z = reparameterise(t, mu, logvar, ag_input(t, tensor_wrap((float *)eps, 2, (int[]){ N, Z })));
    AgNode *out = nn_mlp_forward(t, &v->params, &v->dec, z), *recon;
    if (v->image) {
        /* §1.4 -log N(x; xhat, s2 I) = D/2 (mse / s2 + log s2 + log 2pi), one s2 = e^{logvar} for all pixels */
        AgNode *lv = nn_params_leaf(t, &v->params, v->dec_logvar);
        AgNode *mse = ag_mse(t, ag_sigmoid(t, out), xin);
        recon = ag_add(t, ag_mul(t, mse, ag_exp(t, ag_scale(t, lv, -1.0f))), lv);
    } else {
        /* §1.4 -log N(x; m, diag e^{lv}) = 1/2 sum_j ((x_j - m_j)^2 e^{-lv_j} + lv_j + log 2pi) */
        AgNode *m = ag_cols(t, out, 0, D), *lv = ag_cols(t, out, D, D);
        AgNode *r2 = ag_square(t, ag_sub(t, xin, m));
        recon = ag_mean(t, ag_add(t, ag_mul(t, r2, ag_exp(t, ag_scale(t, lv, -1.0f))), lv));
    }
    recon = ag_scale(t, ag_add_scalar(t, recon, (float)LOG_2PI), 0.5f * D);   /* mean over N*D -> per point */
    AgNode *kl = ag_kl_normal(t, mu, logvar);   /* §1.4 KL(q(z|x) || N(0, I)), averaged over the batch */
    return (Ch1VaeLoss){ ag_add(t, recon, kl), recon, kl };
}

void ch1_vae_encode(Ch1Vae *v, const float *x, int N, float *mu, float *logvar, Arena *a) {
    size_t mark = arena_pos(a);
    AgTape t = ag_tape_no_grad(a, 64);
    AgNode *h = nn_mlp_forward(&t, &v->params, &v->enc, ag_input(&t, tensor_wrap((float *)x, 2, (int[]){ N, v->D })));
    for (int i = 0; i < N; i++)
        for (int j = 0; j < v->Z; j++) {
            mu[i * v->Z + j] = h->val.data[i * 2 * v->Z + j];
            logvar[i * v->Z + j] = h->val.data[i * 2 * v->Z + v->Z + j];
        }
    arena_pop_to(a, mark);
}

void ch1_vae_decode(Ch1Vae *v, const float *z, int N, float *mean, float *logvar, Arena *a) {
    size_t mark = arena_pos(a);
    AgTape t = ag_tape_no_grad(a, 64);
    AgNode *out = nn_mlp_forward(&t, &v->params, &v->dec, ag_input(&t, tensor_wrap((float *)z, 2, (int[]){ N, v->Z })));
    int D = v->D;
    float glv = v->image ? nn_params_data(&v->params, v->dec_logvar)[0] : 0.0f;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < D; j++) {
            if (v->image) {
                mean[(size_t)i * D + j] = 1.0f / (1.0f + expf(-out->val.data[(size_t)i * D + j]));
                if (logvar) logvar[(size_t)i * D + j] = glv;
            } else {
                mean[i * D + j] = out->val.data[i * 2 * D + j];
                if (logvar) logvar[i * D + j] = out->val.data[i * 2 * D + D + j];
            }
        }
    arena_pop_to(a, mark);
}

/* log N(x; m, diag e^{lv}) in double. */
static double log_normal_diag(const float *x, const float *m, const float *lv, int n) {
    double s = 0;
    for (int j = 0; j < n; j++) s += ((double)x[j] - m[j]) * ((double)x[j] - m[j]) * exp(-(double)lv[j]) + lv[j] + LOG_2PI;
    return -0.5 * s;
}

void ch1_vae_log_weights(Ch1Vae *v, const float *x, int N, int K, Rng *rng, double *log_w, Arena *a) {
    int D = v->D, Z = v->Z;
    int kc = N >= 2048 ? 1 : 2048 / N;   /* draws decoded per pass: ~2048 rows, big enough for threads to pay */
    if (kc > K) kc = K;
    size_t mark = arena_pos(a), rows = (size_t)N * kc;
    float *mu = arena_push(a, sizeof(float) * N * Z), *lv = arena_push(a, sizeof(float) * N * Z);
    float *z = arena_push(a, sizeof(float) * rows * Z), *zero = arena_push(a, sizeof(float) * Z);
    float *mean = arena_push(a, sizeof(float) * rows * D), *dlv = arena_push(a, sizeof(float) * rows * D);
    ch1_vae_encode(v, x, N, mu, lv, a);
    for (int k0 = 0; k0 < K; k0 += kc) {
        int nk = K - k0 < kc ? K - k0 : kc;
        for (int c = 0; c < nk; c++)           /* rows c*N .. c*N + N-1: draw k0 + c of every point */
            for (int i = 0; i < N * Z; i++) z[(size_t)c * N * Z + i] = mu[i] + expf(0.5f * lv[i]) * (float)rng_normal(rng);
        ch1_vae_decode(v, z, N * nk, mean, dlv, a);
        for (int c = 0; c < nk; c++)
            for (int i = 0; i < N; i++) {
                size_t row = (size_t)c * N + i;
                /* §1.5 log w = log p(x|z) + log p(z) - log q(z|x) */
                double lpx = log_normal_diag(x + (size_t)i * D, mean + row * D, dlv + row * D, D);
                double lpz = log_normal_diag(z + row * Z, zero, zero, Z);
                double lq = log_normal_diag(z + row * Z, mu + i * Z, lv + i * Z, Z);
                log_w[(size_t)i * K + k0 + c] = lpx + lpz - lq;
            }
    }
    arena_pop_to(a, mark);
}

/* Loss and gradients of recon + beta KL for a batch x (N, D) (train.h takes the Adam step); writes the batch's recon and KL terms; returns -ELBO
 * (recon + KL, whatever beta; NaN stops callers). beta < 1 early in training is "KL warm-up" (Bowman et al. 2016,
 * Sonderby et al. 2016): the decoder learns to use z before the prior-matching term pulls q towards N(0, I). */
static float vae_train_step(Ch1Vae *v, const float *x, int N, float beta, Rng *rng, Arena *a, float *recon, float *kl) {
    size_t mark = arena_pos(a);
    float *eps = arena_push_no_zero(a, sizeof(float) * N * v->Z);
    rng_normal_fill(rng, eps, (long)N * v->Z);
    AgTape t = ag_tape(a, 128);
    Ch1VaeLoss L = ch1_vae_loss(&t, v, x, eps, N);
    nn_params_zero_grad(&v->params);
    ag_backward(&t, beta == 1.0f ? L.loss : ag_add(&t, L.recon, ag_scale(&t, L.kl, beta)));
    float loss = L.loss->val.data[0];
    *recon = L.recon->val.data[0];
    *kl = L.kl->val.data[0];
    arena_pop_to(a, mark);
    return loss;
}

/* The 2D data: a noisy sine curve (u, sin(pi u)/2), u uniform on [-1, 1], noise sd 0.05: one number (u)
 * explains each point, so a 1D latent suffices. (A half circle, symmetric under x -> -x, traps this small VAE
 * in a local optimum where z encodes only the height; the sine curve does not.) */
static void arc_sample(Rng *r, float *x, int n) {
    for (int i = 0; i < n; i++) {
        double u = 2 * rng_uniform(r) - 1;
        x[2 * i] = (float)(u + 0.05 * rng_normal(r));
        x[2 * i + 1] = (float)(0.5 * sin(PI * u) + 0.05 * rng_normal(r));
    }
}

/* log p_theta(x, z_j) on a grid of z (1D latent), from the decoded grid (mean, logvar) (G, 2). */
static void log_joint_grid(const float *x, const float *zg, const float *mean, const float *lv, int G, double *out) {
    static const float zero = 0;
    for (int j = 0; j < G; j++) out[j] = log_normal_diag(x, mean + 2 * j, lv + 2 * j, 2) + log_normal_diag(zg + j, &zero, &zero, 1);
}

/* log sum_j e^{a_j} */
static double log_sum_exp(const double *a, int n) {
    double m = -INFINITY, s = 0;
    for (int i = 0; i < n; i++) m = fmax(m, a[i]);
    for (int i = 0; i < n; i++) s += exp(a[i] - m);
    return m + log(s);
}

enum { G2D = 4001 };          /* quadrature grid for the 1D latent: z in [-6, 6], dz = 0.003 */
static const double ZLIM = 6.0;

/* The exact log p_theta(x) = log integral p(z) p_theta(x|z) dz, and KL(q(z|x) || p_theta(z|x)), by quadrature. */
static void vae2d_exact(const float *x, float q_mu, float q_lv, const float *zg, const float *mean, const float *lv,
                        double *lp, double *kl, double *lj) {
    double dz = 2 * ZLIM / (G2D - 1);
    log_joint_grid(x, zg, mean, lv, G2D, lj);
    *lp = log_sum_exp(lj, G2D) + log(dz);
    double s = 0;
    for (int j = 0; j < G2D; j++) {
        double lq = -0.5 * ((zg[j] - q_mu) * (zg[j] - q_mu) * exp(-q_lv) + q_lv + LOG_2PI);
        s += exp(lq) * (lq - (lj[j] - *lp)) * dz;   /* KL = int q (log q - log p(z|x)) */
    }
    *kl = s;
}

/* Data panel, latent panel and training curve of the 2D VAE. */
static int plot_vae2d(Ctx *ctx, Ch1Vae *v, const float *data, int n_data, const float *zg, const float *mean, const float *lv,
                      const float *pts, int n_pts, const float *ztest, int n_test, const float *curve, int steps) {
    Plot p;
    if (plot_open(&p, ctx->out, "ch1_vae2d")) return 1;
    plot_block(&p, "x y: data (noisy sine curve)");
    for (int i = 0; i < n_data; i++) fprintf(plot_dat(&p), "%.4f %.4f\n", data[2 * i], data[2 * i + 1]);
    plot_block(&p, "z, decoder mean m(z) (x, y), decoder sd (x, y): the manifold for z in [-3, 3]");
    for (int j = 0; j < G2D; j += 5)
        if (fabs(zg[j]) <= 3.0)
            fprintf(plot_dat(&p), "%.4f %.4f %.4f %.4f %.4f\n", zg[j], mean[2 * j], mean[2 * j + 1], exp(0.5 * lv[2 * j]), exp(0.5 * lv[2 * j + 1]));
    plot_block(&p, "x y: the chosen points");
    for (int i = 0; i < n_pts; i++) fprintf(plot_dat(&p), "%.4f %.4f %d\n", pts[2 * i], pts[2 * i + 1], i);
    double *lj = cli_alloc(ctx, sizeof(double) * G2D);
    for (int i = 0; i < n_pts; i++) {
        float mu, lvq;
        ch1_vae_encode(v, pts + 2 * i, 1, &mu, &lvq, ctx->arena);
        double lp, kl;
        vae2d_exact(pts + 2 * i, mu, lvq, zg, mean, lv, &lp, &kl, lj);
        char c[96];
        snprintf(c, sizeof c, "z, q(z|x), p_theta(z|x) for chosen point %d (KL %.4f)", i, kl);
        plot_block(&p, c);
        for (int j = 0; j < G2D; j += 2)
            if (fabs(zg[j]) <= 3.5)
                fprintf(plot_dat(&p), "%.4f %.5g %.5g\n", zg[j], exp(-0.5 * ((zg[j] - mu) * (zg[j] - mu) * exp(-lvq) + lvq + LOG_2PI)), exp(lj[j] - lp));
    }
    plot_block(&p, "z, histogram of z ~ q(z|x) over test points (aggregate posterior), N(0,1)");
    enum { BINS = 60 };
    double cnt[BINS], w = 7.0 / BINS;
    data_histogram(ztest, n_test, -3.5, 3.5, BINS, cnt);
    for (int b = 0; b < BINS; b++) {
        double zc = -3.5 + (b + 0.5) * w;
        fprintf(plot_dat(&p), "%.4f %.5g %.5g\n", zc, cnt[b], exp(-0.5 * zc * zc) / sqrt(2 * PI));
    }
    plot_block(&p, "step, moving averages of recon = -E log p(x|z), KL(q||p(z)), -ELBO");
    double ar = curve[0], ak = curve[1];
    for (int s = 0; s < steps; s++) {
        ar = 0.98 * ar + 0.02 * curve[2 * s];
        ak = 0.98 * ak + 0.02 * curve[2 * s + 1];
        if (s % 10 == 0) fprintf(plot_dat(&p), "%d %.5f %.5f %.5f\n", s + 1, ar, ak, ar + ak);
    }
    int ip = 3 + n_pts;   /* index of the histogram block */
    plot_size(&p, 1500, 480);
    plot_cmd(&p, "set multiplot layout 1,3 title 'A VAE with a 1D latent on 2D data (a noisy sine curve): encoder q_φ(z|x) and decoder mean manifold m_θ(z)'");
    plot_cmd(&p, "set palette defined (0 '#2166ac', 1 '#67a9cf', 2 '#f7f7f7', 3 '#ef8a62', 4 '#b2182b'); set cbrange [-3:3]");
    plot_cmd(&p, "set title 'data space: data x (grey), m_θ(z) for z in [-3,3] (colour = z)'; set size ratio -1");
    plot_cmd(&p, "set xrange [-1.4:1.4]; set yrange [-1.0:1.0]; set cblabel 'z'; unset key");
    plot_cmd(&p, "plot dat index 0 using 1:2 with points pt 7 ps 0.2 lc rgb '#bdbdbd', \\");
    plot_cmd(&p, "     '' index 1 using 2:3:1 with lines lw 4 lc palette, \\");
    plot_cmd(&p, "     '' index 2 using 1:2:($3+1) with points pt 7 ps 2 lc variable");
    plot_cmd(&p, "set title 'latent space: q_φ(z|x) (solid) and the exact p_θ(z|x) (dotted)'; set size noratio; unset colorbox");
    plot_cmd(&p, "set xrange [-3.5:3.5]; set yrange [0:*]; set xlabel 'z'; set ylabel 'q(z|x), p_θ(z|x) of the 5 points'; set key top left font ',9'");
    plot_cmd(&p, "set y2range [0:1.2]; set y2tics; set y2label 'prior and aggregate posterior'; set style fill solid 0.3 noborder");
    plot_cmd(&p, "plot dat index %d using 1:2 axes x1y2 with boxes lc rgb '#bdbdbd' title 'z drawn from q(z|x), x from the data', \\", ip);
    plot_cmd(&p, "     '' index %d using 1:3 axes x1y2 with lines lw 2 lc rgb 'black' title 'prior N(0,1)', \\", ip);
    plot_cmd(&p, "     for [i=0:%d] '' index 3+i using 1:2 with lines lw 1.5 lc i+1 notitle, \\", n_pts - 1);
    plot_cmd(&p, "     for [i=0:%d] '' index 3+i using 1:3 with lines lw 3 dt 3 lc i+1 notitle", n_pts - 1);
    plot_cmd(&p, "set title 'training: -ELBO = recon + KL (moving average)'; set xlabel 'step (batch 256)'; set ylabel 'nats per point'");
    plot_cmd(&p, "set xrange [*:*]; set yrange [*:*]; unset y2tics; unset y2label; set key top right");
    plot_cmd(&p, "plot dat index %d using 1:4 with lines lw 2 lc rgb 'black' title '-ELBO', \\", ip + 1);
    plot_cmd(&p, "     '' index %d using 1:2 with lines lw 2 lc rgb '#3182bd' title 'recon -E_q log p(x|z)', \\", ip + 1);
    plot_cmd(&p, "     '' index %d using 1:3 with lines lw 2 lc rgb '#d7301f' title 'KL(q(z|x) || p(z))'", ip + 1);
    plot_cmd(&p, "unset multiplot");
    return plot_close(&p);
}

/* §1.3 one batch of recon + beta KL, z = mu + sigma eps, B points of data (n, 2); curve (steps, 2) gets the
 * batch's (recon, KL). beta rises from 0 to 1 over the first quarter of training (KL warm-up). */
typedef struct { Ch1Vae *v; const float *data; int n, B, steps; float *batch, *curve; } Vae2dBatch;

static float vae2d_batch(void *model, long s, Rng *r, Arena *a, float *terms) {
    (void)terms;
    Vae2dBatch *b = model;
    for (int i = 0; i < b->B; i++) memcpy(b->batch + 2 * i, b->data + 2 * rng_int(r, b->n), sizeof(float) * 2);
    float beta = s < b->steps / 4 ? (float)s / (b->steps / 4) : 1.0f;
    return vae_train_step(b->v, b->batch, b->B, beta, r, a, &b->curve[2 * s], &b->curve[2 * s + 1]);
}

/* Adam with warm-up and cosine decay (train.h's loop). Nonzero if the loss or a weight turned NaN, or on Ctrl-C. */
static int train_2d(Ctx *ctx, Ch1Vae *v, const float *data, int n, int steps, int B, float *curve) {
    Vae2dBatch b = { v, data, n, B, steps, cli_alloc(ctx, sizeof(float) * 2 * B), curve };
#ifdef _OPENMP
    /* A 64-wide MLP: each product is ~1e6 multiply-adds, too small for a second thread to repay its
     * synchronisation (measured on a busy 2-core machine: 8 s with one thread, 11 to 175 s with two). */
    int threads = omp_get_max_threads();
    omp_set_num_threads(1);
#endif
    Trainer tr;
    train_init(&tr, &v->params, &(TrainConfig){ .label = "train 2D VAE", .steps = steps, .lr_max = 2e-3f, .lr_min = 1e-4f,
                                                .warmup = 100, .quiet = ctx->opts->quiet });
    int rc = train_run(&tr, vae2d_batch, &b, &ctx->rng, ctx->arena);
    train_free(&tr);
#ifdef _OPENMP
    omp_set_num_threads(threads);
#endif
    return rc;
}

/* Theorem 1.1 on the trained 2D VAE, on n fresh points: log p_theta(x) and KL(q || p_theta(z|x)) by quadrature
 * over the decoded grid (zg, mean, lv), the ELBO and IWAE_K from K = 1000 draws. ztest (n) gets one z ~ q(z|x) each. */
static void check_2d(Ctx *ctx, Ch1Vae *v, const float *zg, const float *mean, const float *lv, int n, float *ztest) {
    enum { K = 1000 };
    Rng *r = &ctx->rng;
    float *test = cli_alloc(ctx, sizeof(float) * 2 * n), *mu = cli_alloc(ctx, sizeof(float) * n), *lq = cli_alloc(ctx, sizeof(float) * n);
    double *log_w = cli_alloc(ctx, sizeof(double) * n * K), *lj = cli_alloc(ctx, sizeof(double) * G2D);
    arc_sample(r, test, n);
    ch1_vae_encode(v, test, n, mu, lq, ctx->arena);
    ch1_vae_log_weights(v, test, n, K, r, log_w, ctx->arena);
    double s_lp = 0, s_elbo = 0, s_kl = 0, s_iw[4] = { 0 }, var_sum = 0;
    for (int i = 0; i < n; i++) {
        double lp, kl, m, var;
        const double *w = log_w + (size_t)i * K;
        vae2d_exact(test + 2 * i, mu[i], lq[i], zg, mean, lv, &lp, &kl, lj);
        data_moments_d(w, K, 1, &m, &var);   /* this point's MC ELBO m and the variance of one draw */
        var_sum += var / K;                  /* variance of m */
        s_lp += lp / n; s_elbo += m / n; s_kl += kl / n;
        for (int e = 0, KK = 1; e < 4; e++, KK *= 10)   /* IWAE_K averaged over the K-groups of the 1000 draws */
            for (int g = 0; g < K / KK; g++) s_iw[e] += ch1_iwae(w + g * KK, KK) / (K / KK) / n;
        ztest[i] = (float)(mu[i] + exp(0.5 * lq[i]) * rng_normal(r));
    }
    double se = sqrt(var_sum) / n;
    cli_say("On %d fresh points (nats per point): exact log p_theta(x) by quadrature over z = %.4f,", n, s_lp);
    cli_say("ELBO (1000 draws) = %.4f, KL(q || p_theta(z|x)) by quadrature = %.4f; IWAE K=1,10,100,1000: %.4f %.4f %.4f %.4f",
            s_elbo, s_kl, s_iw[0], s_iw[1], s_iw[2], s_iw[3]);
    /* Theorem 1.1 on the trained network: log p - ELBO = KL, all three computed independently (quadrature vs MC);
     * tol 5 s.e. of the MC ELBO plus 1e-4 for the quadrature (dz = 0.003 against posterior widths >= 0.02) */
    cli_check(ctx, "trained model: log p(x) - ELBO vs KL(q || p_theta(z|x))", s_lp - s_elbo, s_kl, 5 * se + 1e-4);
    cli_check_le(ctx, "IWAE_1000 <= log p_theta(x) (+ 5 s.e.)", s_iw[3], s_lp + 5 * se);
}

static int cell_1_3_train2d(Ctx *ctx) {
    enum { NDATA = 20000, B = 256, NTEST = 500, NPTS = 5 };
    int steps = ctx->opts->steps > 0 ? (int)ctx->opts->steps : 4000;
    cli_say("A VAE on 2D data with a 1D latent: x on a noisy sine curve (u, sin(pi u)/2), noise sd 0.05. Encoder");
    cli_say("q_phi(z|x) = N(mu_phi(x), sigma_phi^2(x)) and decoder p_theta(x|z) = N(m_theta(z), diag s_theta^2(z)),");
    cli_say("both MLPs (2-64-64-2 and 1-64-64-4, SiLU). Adam on -ELBO with z = mu + sigma eps, %d steps of %d.", steps, B);
    float *data = cli_alloc(ctx, sizeof(float) * 2 * NDATA), *curve = cli_alloc(ctx, sizeof(float) * 2 * steps);
    arc_sample(&ctx->rng, data, NDATA);
    Ch1Vae v;
    ch1_vae_init(&v, 2, 1, 2, (int[]){ 64, 64 }, NN_SILU, 0, &ctx->rng);
    double t0 = cli_seconds();
    int rc = train_2d(ctx, &v, data, NDATA, steps, B, curve);
    if (rc) { ch1_vae_free(&v); return rc; }   /* NaN (named, weights kept) or Ctrl-C */
    cli_say("trained in %.1f s; last batch: recon %.3f + KL %.3f = -ELBO %.3f nats", cli_seconds() - t0,
            curve[2 * steps - 2], curve[2 * steps - 1], curve[2 * steps - 2] + curve[2 * steps - 1]);
    /* the decoder on a fine z grid: the manifold, and the quadrature that makes log p_theta(x) exact */
    float *zg = cli_alloc(ctx, sizeof(float) * G2D), *mean = cli_alloc(ctx, sizeof(float) * 2 * G2D), *lv = cli_alloc(ctx, sizeof(float) * 2 * G2D);
    for (int j = 0; j < G2D; j++) zg[j] = (float)(-ZLIM + 2 * ZLIM * j / (G2D - 1));
    ch1_vae_decode(&v, zg, G2D, mean, lv, ctx->arena);
    float ztest[NTEST], pts[2 * NPTS];
    check_2d(ctx, &v, zg, mean, lv, NTEST, ztest);
    for (int i = 0; i < NPTS; i++) {   /* five points along the curve, for the posterior panel */
        double u = -0.9 + 1.8 * i / (NPTS - 1);
        pts[2 * i] = (float)u;
        pts[2 * i + 1] = (float)(0.5 * sin(PI * u));
    }
    rc |= plot_vae2d(ctx, &v, data, 1500, zg, mean, lv, pts, NPTS, ztest, NTEST, curve, steps);
    ch1_vae_free(&v);
    return rc;
}

/* ---- 1.3  Why reparameterise: two gradient estimators -------------------- */

/* f(z) = sin z + z^2/2 and f'(z) = cos z + z: a smooth test function with a closed-form Gaussian expectation. */
static double f_test(double z) { return sin(z) + 0.5 * z * z; }
static double f_test_grad(double z) { return cos(z) + z; }

void ch1_grad_exact(double mu, double sigma, double *g_mu, double *g_sigma) {
    double e = exp(-0.5 * sigma * sigma);   /* E sin z = sin(mu) e^{-sigma^2/2} */
    *g_mu = cos(mu) * e + mu;
    *g_sigma = -sigma * sin(mu) * e + sigma;
}

void ch1_grad_reparam(double mu, double sigma, double eps, double *g_mu, double *g_sigma) {
    double z = mu + sigma * eps;            /* §1.3 z = mu + sigma eps: d z/d mu = 1, d z/d sigma = eps */
    *g_mu = f_test_grad(z);
    *g_sigma = f_test_grad(z) * eps;
}

void ch1_grad_score(double mu, double sigma, double eps, double *g_mu, double *g_sigma) {
    double fz = f_test(mu + sigma * eps);   /* §1.3 grad E f = E[f(z) grad log q(z)] */
    *g_mu = fz * eps / sigma;
    *g_sigma = fz * (eps * eps - 1) / sigma;
}

/* Var f'(z), z ~ N(mu, sigma^2): Var cos z + Var z + 2 Cov(cos z, z), with Cov = -sigma^2 sin(mu) e^{-sigma^2/2} (Stein). */
static double reparam_var_exact(double mu, double sigma) {
    double s2 = sigma * sigma, e = exp(-0.5 * s2);
    double var_cos = 0.5 * (1 + cos(2 * mu) * exp(-2 * s2)) - cos(mu) * cos(mu) * e * e;
    return var_cos + s2 - 2 * s2 * sin(mu) * e;
}

static int cell_1_3r_reparam(Ctx *ctx) {
    enum { NN = 11, R = 2000 };
    const double mu = 0.5, sigma = 1.0;
    Rng *r = &ctx->rng;
    cli_say("d/dmu E_{N(mu, sigma^2)}[f(z)], f(z) = sin z + z^2/2, mu = %.1f, sigma = %.1f. Two unbiased estimators:", mu, sigma);
    cli_say("reparameterisation f'(mu + sigma eps) and the score function f(z) (z - mu)/sigma^2. Their variance");
    cli_say("over %d repeats of an N-sample average, for N = 1, 2, 4, ..., 1024:", R);
    double g_mu, g_sigma;
    ch1_grad_exact(mu, sigma, &g_mu, &g_sigma);
    double var_exact = reparam_var_exact(mu, sigma);
    Plot p;
    if (plot_open(&p, ctx->out, "ch1_reparam_variance")) return 1;
    plot_block(&p, "N, Var reparam (d/dmu), Var score (d/dmu), Var reparam (d/dsigma), Var score (d/dsigma), exact Var f'/N");
    double worst_ratio = 0, last_mean[2] = { 0 }, last_se[2] = { 0 }, ratio1 = 0;
    for (int e = 0; e < NN; e++) {
        int N = 1 << e;
        double s[4] = { 0 }, s2[4] = { 0 };
        for (int rep = 0; rep < R; rep++) {
            double acc[4] = { 0 };
            for (int i = 0; i < N; i++) {
                double eps = rng_normal(r), a, b, c, d;
                ch1_grad_reparam(mu, sigma, eps, &a, &b);
                ch1_grad_score(mu, sigma, eps, &c, &d);
                acc[0] += a / N; acc[1] += c / N; acc[2] += b / N; acc[3] += d / N;
            }
            for (int j = 0; j < 4; j++) { s[j] += acc[j]; s2[j] += acc[j] * acc[j]; }
        }
        double var[4];
        for (int j = 0; j < 4; j++) var[j] = s2[j] / R - (s[j] / R) * (s[j] / R);
        fprintf(plot_dat(&p), "%d %.6g %.6g %.6g %.6g %.6g\n", N, var[0], var[1], var[2], var[3], var_exact / N);
        worst_ratio = fmax(worst_ratio, fabs(var[0] / (var_exact / N) - 1));
        if (e == 0) ratio1 = var[1] / var[0];
        if (e == NN - 1)
            for (int j = 0; j < 2; j++) { last_mean[j] = s[j] / R; last_se[j] = sqrt(var[j] / R); }
    }
    cli_check(ctx, "reparameterised d/dmu (N = 1024, mean of repeats) vs exact", last_mean[0], g_mu, 5 * last_se[0]);
    cli_check(ctx, "score-function d/dmu (N = 1024, mean of repeats) vs exact", last_mean[1], g_mu, 5 * last_se[1]);
    /* a sample variance of R values has relative s.e. sqrt((kurtosis - 1)/R); kurtosis <= 4 for f'(z) = cos z + z
     * (3 for a Gaussian, and N-sample averages are closer to Gaussian): tol 5 sqrt(3/R) */
    cli_check(ctx, "max over N of |Var(reparam) / (Var f'(z) / N) - 1|", worst_ratio, 0, 5 * sqrt(3.0 / R));
    cli_say("both are unbiased; the score function's variance is %.1f x larger at every N (both fall as 1/N).", ratio1);
    plot_size(&p, 800, 500);
    plot_cmd(&p, "set title 'Gradient of E_q[f(z)], f = sin z + z^2/2, q = N(0.5, 1): estimator variance vs sample count'");
    plot_cmd(&p, "set logscale xy; set format y '10^{%%L}'; set xlabel 'samples N per estimate'; set ylabel 'variance of the estimate'");
    plot_cmd(&p, "set key top right; set xrange [0.7:1500]");
    plot_cmd(&p, "plot dat using 1:3 with linespoints lw 2 pt 7 lc rgb '#d7301f' title 'score function, d/dμ', \\");
    plot_cmd(&p, "     dat using 1:5 with linespoints lw 2 pt 5 dt 2 lc rgb '#d7301f' title 'score function, d/dσ', \\");
    plot_cmd(&p, "     dat using 1:2 with linespoints lw 2 pt 7 lc rgb '#3182bd' title 'reparameterisation, d/dμ', \\");
    plot_cmd(&p, "     dat using 1:4 with linespoints lw 2 pt 5 dt 2 lc rgb '#3182bd' title 'reparameterisation, d/dσ', \\");
    plot_cmd(&p, "     dat using 1:6 with lines lw 1 lc rgb 'black' title \"exact Var f'(z) / N\"");
    return plot_close(&p);
}

/* ---- 1.4  The loss function: KL in closed form, Gaussian decoder --------- */

double ch1_kl_diag_std(const double *mu, const double *s2, int k) {
    double s = 0;   /* §1.4 KL(N(mu, diag s2) || N(0, I)) = 1/2 sum_j (s2_j + mu_j^2 - 1 - log s2_j) */
    for (int j = 0; j < k; j++) s += s2[j] + mu[j] * mu[j] - 1 - log(s2[j]);
    return 0.5 * s;
}

double ch1_gauss_decoder_loglik(const double *x, const double *xhat, int d, double s2) {
    double r2 = 0;  /* §1.4 log N(x; xhat, s2 I) = -|x - xhat|^2 / (2 s2) - d/2 log(2 pi s2) */
    for (int j = 0; j < d; j++) r2 += (x[j] - xhat[j]) * (x[j] - xhat[j]);
    return -r2 / (2 * s2) - 0.5 * d * log(2 * PI * s2);
}

static double vae_loss_value(Ch1Vae *v, const float *x, const float *eps, int N, Arena *a) {
    size_t mark = arena_pos(a);
    AgTape t = ag_tape_no_grad(a, 128);
    double l = ch1_vae_loss(&t, v, x, eps, N).loss->val.data[0];
    arena_pop_to(a, mark);
    return l;
}

double ch1_vae_grad_check(Ch1Vae *v, const float *x, const float *eps, int N, int n_probe, float h, Arena *a) {
    size_t mark = arena_pos(a);
    AgTape t = ag_tape(a, 128);
    Ch1VaeLoss L = ch1_vae_loss(&t, v, x, eps, N);
    nn_params_zero_grad(&v->params);
    ag_backward(&t, L.loss);
    arena_pop_to(a, mark);
    double worst = 0;
    size_t n = nn_params_count(&v->params);
    for (int k = 0; k < n_probe; k++) {
        size_t i = (size_t)((double)k / n_probe * n + 0.5 * n / n_probe) % n;
        float *w = v->params.data + i, keep = *w;
        float wp = keep + h, wm = keep - h;
        *w = wp; double lp = vae_loss_value(v, x, eps, N, a);
        *w = wm; double lm = vae_loss_value(v, x, eps, N, a);
        *w = keep;
        double fd = (lp - lm) / ((double)wp - (double)wm);
        worst = fmax(worst, fabs(v->params.grad[i] - fd) / fmax(1.0, fabs(fd)));
    }
    return worst;
}

static const char *const IMG_CKPT = "checkpoints/ch1_fmnist_vae.safetensors";

/* ch1_train_curve: the ELBO terms of the image VAE, from the log ./ch1 --train keeps. */
static int plot_train_curve(Ctx *ctx) {
    char log_path[600];
    train_log_path(ctx->opts->ckpt ? ctx->opts->ckpt : IMG_CKPT, log_path, sizeof log_path);
    FILE *f = fopen(log_path, "r");
    if (!f) { cli_say("no training log %s: no ch1_train_curve (train with ./ch1 --train)", log_path); return 0; }
    Plot p;
    if (plot_open(&p, ctx->out, "ch1_train_curve")) { fclose(f); return 1; }
    plot_block(&p, "step, -ELBO, recon = -E_q log p(x|z), KL(q(z|x) || p(z)): moving averages, nats per image");
    long step;
    double a, b, c;
    int rows = 0;
    for (; fscanf(f, "%ld %lf %lf %lf", &step, &a, &b, &c) == 4; rows++) fprintf(plot_dat(&p), "%ld %.4f %.4f %.4f\n", step, a, b, c);
    fclose(f);
    if (rows < 2) { cli_say("training log %s has %d rows: no curve", log_path, rows); plot_abort(&p); return 0; }
    plot_size(&p, 1100, 450);
    plot_cmd(&p, "set multiplot layout 1,2 title 'Fashion-MNIST VAE (2D latent) training: the ELBO and its two terms'");
    plot_cmd(&p, "set xlabel 'step (batch 128)'; set ylabel 'nats per image'; set key top right");
    plot_cmd(&p, "set title '-ELBO = recon + KL, and recon'");
    plot_cmd(&p, "plot dat using 1:2 with lines lw 2 lc rgb 'black' title '-ELBO', '' using 1:3 with lines lw 2 lc rgb '#3182bd' title 'recon -E_q log p(x|z)'");
    plot_cmd(&p, "set title 'prior matching KL(q(z|x) || N(0, I))'; set key bottom right");
    plot_cmd(&p, "plot dat using 1:4 with lines lw 2 lc rgb '#d7301f' title 'KL'");
    plot_cmd(&p, "unset multiplot");
    return plot_close(&p);
}

static int cell_1_4_loss(Ctx *ctx) {
    enum { NMC = 1000000 };
    Rng *r = &ctx->rng;
    cli_say("-ELBO = -E_q log p_theta(x|z) + KL(q_phi(z|x) || N(0, I)). With q = N(mu, diag s^2) the KL is closed form,");
    cli_say("KL = 1/2 sum_j (s_j^2 + mu_j^2 - 1 - log s_j^2); with a Gaussian decoder the first term is a squared error.");
    double mu[3] = { 0.5, -1.0, 0.2 }, s2[3] = { 0.3, 1.5, 0.8 };
    double kl = ch1_kl_diag_std(mu, s2, 3), s = 0, ss = 0;
    for (int i = 0; i < NMC; i++) {
        double lr = 0;   /* log q(z) - log p(z), z ~ q */
        for (int j = 0; j < 3; j++) {
            double eps = rng_normal(r), z = mu[j] + sqrt(s2[j]) * eps;
            lr += -0.5 * (eps * eps + log(s2[j])) + 0.5 * z * z;
        }
        s += lr; ss += lr * lr;
    }
    double m = s / NMC, se = sqrt((ss / NMC - m * m) / NMC);
    cli_check(ctx, "KL formula vs 1e6 draws of log q - log p (tol 5 s.e.)", m, kl, 5 * se);
    Ch1Gauss q = { .k = 3 }, prior = { .k = 3 };
    for (int j = 0; j < 3; j++) { q.m[j] = mu[j]; q.S[j][j] = s2[j]; prior.S[j][j] = 1; }
    cli_check(ctx, "KL formula vs the full-covariance Gaussian KL", kl, ch1_kl_gauss(&q, &prior), 1e-12);
    double x[5] = { 0.1, 0.9, -0.3, 0.4, 0.0 }, xhat[5] = { 0.2, 0.7, -0.1, 0.5, 0.3 };
    Ch1Gauss dec = { .k = 5 };
    for (int j = 0; j < 5; j++) { dec.m[j] = xhat[j]; dec.S[j][j] = 0.04; }
    cli_check(ctx, "log N(x; xhat, s2 I) = -|x - xhat|^2/(2 s2) - d/2 log(2 pi s2)", ch1_gauss_decoder_loglik(x, xhat, 5, 0.04),
              ch1_gauss_logpdf(&dec, x), 1e-12);
    /* the whole loss through the reparameterisation: tape gradient against central differences */
    Ch1Vae v;
    ch1_vae_init(&v, 3, 2, 1, (int[]){ 8 }, NN_SILU, 0, r);
    float xb[4 * 3], eps[4 * 2];
    rng_normal_fill(r, xb, 12);
    rng_normal_fill(r, eps, 8);
    double err = ch1_vae_grad_check(&v, xb, eps, 4, 40, 1e-2f, ctx->arena);
    /* truncation h^2/6 |L'''| <= 1e-4/6 * 30 and float rounding 6e-8 * |terms| (~20) / h: together < 7e-4 */
    cli_check(ctx, "d(-ELBO)/d(theta, phi): tape vs finite differences (40 weights, h = 1e-2)", err, 0, 2e-3);
    ch1_vae_free(&v);
    return plot_train_curve(ctx);
}

/* ---- 1.5  Inference: the Fashion-MNIST VAE -------------------------------- */

double ch1_iwae(const double *log_w, int K) {
    return log_sum_exp(log_w, K) - log((double)K);   /* §1.5 log (1/K) sum_k w_k */
}

enum { IMG = 28 * 28, IMG_Z = 2, IMG_BATCH = 128 };
static const int IMG_HIDDEN[2] = { 256, 128 };

/* The image VAE and its training state (Adam's moments, the step). Its checkpoint holds the weights ("model.*")
 * and Adam's moments ("adam_m.*", "adam_v.*"), so training resumes. */
typedef struct {
    Ch1Vae  vae;
    Trainer tr;
} ImageVae;

/* Adam 1e-3 with a 5% warm-up and cosine decay to 1e-5; the log every 20 steps, a checkpoint every 1000. */
static void image_vae_init(ImageVae *m, Rng *rng, const char *path, long steps, const Opts *o) {
    memset(m, 0, sizeof *m);
    ch1_vae_init(&m->vae, IMG, IMG_Z, 2, IMG_HIDDEN, NN_RELU, 1, rng);
    static char meta[64];
    snprintf(meta, sizeof meta, "\"latent\": \"%d\", \"hidden\": \"%d,%d\"", IMG_Z, IMG_HIDDEN[0], IMG_HIDDEN[1]);
    train_init(&m->tr, &m->vae.params, &(TrainConfig){ .label = "train VAE", .steps = steps, .lr_max = 1e-3f, .lr_min = 1e-5f,
               .warmup = steps / 20, .n_terms = 2, .quiet = o->quiet, .ckpt = path, .meta = meta, .ckpt_every = 1000,
               .log_every = 20, .log_decimals = 4, .resume = o->resume, .overwrite = o->overwrite });
}

static void image_vae_free(ImageVae *m) {
    train_free(&m->tr);
    ch1_vae_free(&m->vae);
}

/* One batch of IMG_BATCH training images; terms get (recon, KL) for the log. */
typedef struct { Ch1Vae *v; const Fmnist *fm; float *batch; } VaeImageBatch;

static float vae_image_batch(void *model, long step, Rng *rng, Arena *a, float *terms) {
    (void)step;
    VaeImageBatch *b = model;
    for (int i = 0; i < IMG_BATCH; i++) memcpy(b->batch + (size_t)i * IMG, b->fm->images + (size_t)rng_int(rng, b->fm->n) * IMG, sizeof(float) * IMG);
    return vae_train_step(b->v, b->batch, IMG_BATCH, 1.0f, rng, a, &terms[0], &terms[1]);
}

/* ./ch1 --train [--steps N] [--resume | --overwrite]: trains the image VAE (train.h: checkpoint every 1000 steps
 * and on Ctrl-C; a NaN stops it and leaves the last good checkpoint in place). */
static int train_images(const Opts *opts) {
    const char *path = opts->ckpt ? opts->ckpt : IMG_CKPT;
    Fmnist fm;
    if (fmnist_load(&fm, NULL, 1, 0)) return 1;
    Rng rng = rng_stream(opts->seed, 1000);
    ImageVae m;
    image_vae_init(&m, &rng, path, opts->steps > 0 ? opts->steps : 15000, opts);
    Arena arena;
    arena_init(&arena, (size_t)1 << 30);
    VaeImageBatch b = { &m.vae, &fm, arena_push_no_zero(&arena, sizeof(float) * IMG_BATCH * IMG) };   /* below every step's mark */
    printf("training the VAE (%zu parameters, 2D latent) on %d images to step %ld, checkpoint %s\n",
           nn_params_count(&m.vae.params), fm.n, m.tr.c.steps, path);
    int rc = train_run(&m.tr, vae_image_batch, &b, &rng, &arena);
    arena_free(&arena);
    image_vae_free(&m);
    fmnist_free(&fm);
    return rc;
}

/* Load the image VAE for a cell: 0 loaded; 1 no checkpoint at the default place (skip, not an error);
 * -1 present but unusable, or named by --ckpt and unreadable (one line; the cell fails, the others run). */
static int image_vae_load(Ctx *ctx, ImageVae *m) {
    const char *path = ctx->opts->ckpt ? ctx->opts->ckpt : IMG_CKPT;
    image_vae_init(m, &ctx->rng, path, 1, ctx->opts);
    if (!ctx->opts->ckpt && access(path, F_OK) != 0) {
        cli_say("skipped: no VAE checkpoint at %s; train one with ./ch1 --train", path);
        image_vae_free(m);
        return 1;
    }
    if (train_load(&m->tr, path)) {
        cli_say("failed: the VAE checkpoint %s is unreadable or corrupt (see above); the other cells still run", path);
        image_vae_free(m);
        return -1;
    }
    return 0;
}

/* The encoder's mean mu and log-variance lv (n, Z) of n images x (n, 784), encoded in chunks of 1000. */
static void encode_all(Ch1Vae *v, const float *x, int n, float *mu, float *lv, Arena *a) {
    for (int i0 = 0; i0 < n; i0 += 1000) {
        int nb = n - i0 < 1000 ? n - i0 : 1000;
        ch1_vae_encode(v, x + (size_t)i0 * IMG, nb, mu + (size_t)i0 * IMG_Z, lv + (size_t)i0 * IMG_Z, a);
    }
}

static double mse_img(const float *a, const float *b) {
    double s = 0;
    for (int k = 0; k < IMG; k++) s += ((double)a[k] - b[k]) * ((double)a[k] - b[k]);
    return s / IMG;
}

static void write_image_float(Plot *p, const char *comment, const float *img) {
    double d[IMG];
    for (int k = 0; k < IMG; k++) d[k] = img[k];
    write_image_block(p, comment, d, 28, 28);
}

static int cell_1_1i_autoencode(Ctx *ctx) {
    enum { NT = 2000, NSHOW = 3 };
    static const int cls[NSHOW] = { 1, 7, 8 };   /* trouser, sneaker, bag */
    ImageVae m;
    int st = image_vae_load(ctx, &m);
    if (st) return st < 0;
    Fmnist fm;
    if (fmnist_load(&fm, NULL, 0, NT)) { cli_say("skipped: Fashion-MNIST not available"); image_vae_free(&m); return 0; }
    cli_say("Fig 1.1 with a trained network: x (784 pixels) -> encoder -> z = mu_phi(x) in R^2 -> decoder -> x_hat.");
    cli_say("The VAE (784-256-128-2 encoder, mirrored decoder, %ld training steps) on Fashion-MNIST test images:", m.tr.step);
    float *mu = cli_alloc(ctx, sizeof(float) * NT * IMG_Z), *lvq = cli_alloc(ctx, sizeof(float) * NT * IMG_Z), rec[NSHOW][IMG], lv[IMG];
    encode_all(&m.vae, fm.images, NT, mu, lvq, ctx->arena);
    int idx[NSHOW];
    for (int j = 0; j < NSHOW; j++) {
        idx[j] = 0;
        while (fm.labels[idx[j]] != cls[j]) idx[j]++;
        ch1_vae_decode(&m.vae, mu + idx[j] * IMG_Z, 1, rec[j], lv, ctx->arena);
        cli_say("%-12s z = (%6.3f, %6.3f), |x_hat - x|^2 / 784 = %.4f", fmnist_class_name(cls[j]),
                mu[idx[j] * IMG_Z], mu[idx[j] * IMG_Z + 1], mse_img(rec[j], fm.images + (size_t)idx[j] * IMG));
    }
    /* two numbers carry the image: each reconstruction must be nearer its own input than the other two */
    for (int j = 0; j < NSHOW; j++) {
        double other = INFINITY;
        for (int i = 0; i < NSHOW; i++)
            if (i != j) other = fmin(other, mse_img(rec[j], fm.images + (size_t)idx[i] * IMG));
        char what[96];
        snprintf(what, sizeof what, "x_hat of the %s is nearest its own x", fmnist_class_name(cls[j]));
        cli_check_le(ctx, what, mse_img(rec[j], fm.images + (size_t)idx[j] * IMG), other);
    }
    Plot p;
    int rc = plot_open(&p, ctx->out, "ch1_fig1_1");
    if (!rc) {
        for (int j = 0; j < NSHOW; j++) {
            write_image_float(&p, "x y pixel: input x", fm.images + (size_t)idx[j] * IMG);
            write_image_float(&p, "x y pixel: reconstruction x_hat", rec[j]);
        }
        plot_block(&p, "z1 z2 class: encoded test images (mu_phi(x))");
        for (int i = 0; i < NT; i++) fprintf(plot_dat(&p), "%.4f %.4f %d\n", mu[i * IMG_Z], mu[i * IMG_Z + 1], fm.labels[i]);
        plot_size(&p, 1000, 1000);
        plot_cmd(&p, "set multiplot layout %d,3 title 'Fig. 1.1, computed: x -> encoder -> z (2D) -> decoder -> x_{hat} (Fashion-MNIST test images)'", NSHOW);
        plot_cmd(&p, "set palette grey; set cbrange [0:1]; unset colorbox; unset key");
        for (int j = 0; j < NSHOW; j++) {
            plot_cmd(&p, "set size ratio -1; unset tics; set xrange [-0.5:27.5]; set yrange [-0.5:27.5]; set title 'x (%s)'", fmnist_class_name(cls[j]));
            plot_cmd(&p, "plot dat index %d using 1:2:3 with image", 2 * j);
            plot_cmd(&p, "set size ratio 1; set tics; set xrange [-4:4]; set yrange [-4:4]; set title 'z = (%.2f, %.2f)'",
                     mu[idx[j] * IMG_Z], mu[idx[j] * IMG_Z + 1]);
            plot_cmd(&p, "plot dat index %d using 1:2 with points pt 7 ps 0.2 lc rgb '#bdbdbd', '' index %d every ::%d::%d using 1:2 with points pt 7 ps 2.5 lc rgb '#d7301f'",
                     2 * NSHOW, 2 * NSHOW, idx[j], idx[j]);
            plot_cmd(&p, "set size ratio -1; unset tics; set xrange [-0.5:27.5]; set yrange [-0.5:27.5]; set title 'x_{hat} = decoder(z)'");
            plot_cmd(&p, "plot dat index %d using 1:2:3 with image", 2 * j + 1);
        }
        plot_cmd(&p, "unset multiplot");
        rc = plot_close(&p);
    }
    fmnist_free(&fm);
    image_vae_free(&m);
    return rc;
}

/* ch1_latent_test: the encoded test set, coloured by class. */
static int plot_latent_test(Ctx *ctx, const float *mu, const unsigned char *labels, int n) {
    Plot p;
    if (plot_open(&p, ctx->out, "ch1_latent_test")) return 1;
    plot_block(&p, "z1 z2 class: mu_phi(x) of test images");
    for (int i = 0; i < n; i++) fprintf(plot_dat(&p), "%.4f %.4f %d\n", mu[i * IMG_Z], mu[i * IMG_Z + 1], labels[i]);
    plot_size(&p, 900, 750);
    plot_cmd(&p, "set title 'Encoded Fashion-MNIST test images: mu_φ(x) in the 2D latent space, by class'");
    plot_cmd(&p, "set size ratio -1; set xrange [-4:4]; set yrange [-4:4]; set xlabel 'z_1'; set ylabel 'z_2'");
    plot_cmd(&p, "set key outside right font ',10'");
    plot_cmd(&p, "array NAMES[10]");
    for (int c = 0; c < 10; c++) plot_cmd(&p, "NAMES[%d] = '%s'", c + 1, fmnist_class_name(c));
    plot_cmd(&p, "array COL[10] = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf']");
    plot_cmd(&p, "plot for [c=0:9] dat using ($3 == c ? $1 : NaN):2 with points pt 7 ps 0.5 lc rgb COL[c+1] title NAMES[c+1]");
    return plot_close(&p);
}

/* ch1_iwae: per-image IWAE_1000 against the ELBO, and the mean estimate against K. */
static int plot_iwae(Ctx *ctx, const double *elbo, const double *iw, int n, const double *mean_k, const double *se_k, int nk) {
    Plot p;
    if (plot_open(&p, ctx->out, "ch1_iwae")) return 1;
    plot_block(&p, "per test image: ELBO, IWAE_1000 (nats)");
    for (int i = 0; i < n; i++) fprintf(plot_dat(&p), "%.4f %.4f\n", elbo[i], iw[i]);
    plot_block(&p, "K, mean over images of IWAE_K - ELBO, its s.e.");
    for (int e = 0, K = 1; e < nk; e++, K *= 10) fprintf(plot_dat(&p), "%d %.5f %.5f\n", K, mean_k[e], se_k[e]);
    plot_size(&p, 1200, 500);
    plot_cmd(&p, "set multiplot layout 1,2 title 'An honest log-likelihood: importance-weighted log p(x) vs the ELBO (Fashion-MNIST test images)'");
    plot_cmd(&p, "set title 'per image: IWAE_{1000} - ELBO, a lower bound on the gap KL(q || p(z|x))'; set xlabel 'ELBO (nats)'");
    plot_cmd(&p, "set ylabel 'IWAE_{1000} - ELBO (nats)'; set logscale y; unset key");
    plot_cmd(&p, "plot dat index 0 using 1:($2 - $1) with points pt 7 ps 0.8 lc rgb '#3182bd'");
    plot_cmd(&p, "unset logscale y; set logscale x; set xrange [0.5:2000]; set xlabel 'K (importance samples)'; set ylabel 'mean IWAE_K - ELBO (nats)'");
    plot_cmd(&p, "set title 'the bound tightens with K (mean over images, ±1 s.e.)'; unset key");
    plot_cmd(&p, "plot dat index 1 using 1:2:3 with yerrorlines lw 2 pt 7 lc rgb '#d7301f'");
    plot_cmd(&p, "unset multiplot");
    return plot_close(&p);
}

/* §1.5 importance-weighted log p(x) beside the ELBO on NIW test images x (NIW, 784): IWAE_K for K = 1, 10, 100, 1000
 * (each averaged over the disjoint K-groups of 1000 draws), two checks, and the figure ch1_iwae. */
static int measure_iwae(Ctx *ctx, Ch1Vae *v, const float *x) {
    enum { NIW = 100, K = 1000, NK = 4 };
    Rng *r = &ctx->rng;
    double t0 = cli_seconds();
    double *log_w = cli_alloc(ctx, sizeof(double) * NIW * K), elbo[NIW], iw[NIW], mean_k[NK] = { 0 }, se_k[NK] = { 0 }, g2[NK] = { 0 };
    ch1_vae_log_weights(v, x, NIW, K, r, log_w, ctx->arena);
    double e_mean = 0, var_single = 0;
    for (int i = 0; i < NIW; i++) {
        double var;
        data_moments_d(log_w + (size_t)i * K, K, 1, &elbo[i], &var);
        var_single += var / NIW;
        e_mean += elbo[i] / NIW;
        iw[i] = ch1_iwae(log_w + (size_t)i * K, K);
        for (int e = 0, KK = 1; e < NK; e++, KK *= 10) {
            double gi = 0;
            for (int gq = 0; gq < K / KK; gq++) gi += ch1_iwae(log_w + (size_t)i * K + gq * KK, KK) / (K / KK);
            mean_k[e] += (gi - elbo[i]) / NIW;
            g2[e] += (gi - elbo[i]) * (gi - elbo[i]) / NIW;
        }
    }
    for (int e = 0; e < NK; e++) se_k[e] = sqrt(fmax(g2[e] - mean_k[e] * mean_k[e], 0) / NIW);
    cli_say("%d test images, %d draws each (%.1f s): ELBO = %.2f nats, IWAE K=10: %.2f, K=100: %.2f, K=1000: %.2f",
            NIW, K, cli_seconds() - t0, e_mean, e_mean + mean_k[1], e_mean + mean_k[2], e_mean + mean_k[3]);
    cli_say("so log p(x) >= %.2f nats and the Theorem 1.1 gap KL(q || p(z|x)) is at least %.2f nats per image.",
            e_mean + mean_k[3], mean_k[3]);
    /* the same ELBO through the training loss (autograd tape, one z per image): agreement within 5 s.e. of a
     * one-draw ELBO, plus 1e-3 relative for the tape's float sums over 100 x 784 pixels */
    float *eps = cli_alloc(ctx, sizeof(float) * NIW * IMG_Z);
    rng_normal_fill(r, eps, NIW * IMG_Z);
    double tape_elbo = -vae_loss_value(v, x, eps, NIW, ctx->arena);
    cli_check(ctx, "ELBO by the training loss (1 draw/image) vs by log-weights", tape_elbo, e_mean, 5 * sqrt(var_single / NIW) + 1e-3 * fabs(e_mean));
    cli_check_le(ctx, "gap recovered by IWAE_1000 exceeds 5 s.e. (a real KL gap)", 5 * se_k[3], mean_k[3]);
    return plot_iwae(ctx, elbo, iw, NIW, mean_k, se_k, NK);
}

/* §1.5 the aggregate posterior q(z) = (1/M) sum_m q_phi(z | x_m) over M images with codes mu, lv (M, 2), at n points
 * z (n, 2): log q(z) - log p(z), p = N(0, I). Where it is very negative the prior draws z that almost no image
 * encodes to: a hole. */
static void aggregate_log_ratio(const float *mu, const float *lv, int M, const float *z, int n, double *log_ratio) {
    for (int i = 0; i < n; i++) {
        double best = -INFINITY, sum = 0, lp = -log(2 * PI) - 0.5 * (z[2 * i] * z[2 * i] + z[2 * i + 1] * z[2 * i + 1]);
        for (int pass = 0; pass < 2; pass++)   /* log-sum-exp: find the largest term, then sum relative to it */
            for (int m = 0; m < M; m++) {
                double l = -log(2 * PI) - 0.5 * (lv[2 * m] + lv[2 * m + 1]);
                for (int d = 0; d < 2; d++) l -= 0.5 * (z[2 * i + d] - mu[2 * m + d]) * (z[2 * i + d] - mu[2 * m + d]) / exp(lv[2 * m + d]);
                if (pass == 0) best = fmax(best, l);
                else sum += exp(l - best);
            }
        log_ratio[i] = best + log(sum / M) - lp;
    }
}

/* ch1_prior_holes and ch1_samples_by_density: where the faint prior samples come from. The NS prior draws zs (NS, 2) and
 * their decoded images are ranked by log q(z)/p(z), q the aggregate posterior of the M test images with codes mu, lv
 * (M, 2); the figure puts the draws over mu. */
static int prior_holes_figures(Ctx *ctx, const float *mu, const float *lv, int M, const float *zs, const float *decoded, int NS) {
    double *lr = cli_alloc(ctx, sizeof(double) * NS), ink_hole = 0, ink_rest = 0;
    int *order = cli_alloc(ctx, sizeof(int) * NS), n_hole = 0;
    aggregate_log_ratio(mu, lv, M, zs, NS, lr);
    for (int i = 0; i < NS; i++) order[i] = i;
    for (int i = 1; i < NS; i++)   /* insertion sort by log ratio, lowest (deepest hole) first */
        for (int j = i; j > 0 && lr[order[j]] < lr[order[j - 1]]; j--) { int t = order[j]; order[j] = order[j - 1]; order[j - 1] = t; }
    float *sorted = cli_alloc(ctx, sizeof(float) * NS * IMG);
    for (int i = 0; i < NS; i++) {
        memcpy(sorted + (size_t)i * IMG, decoded + (size_t)order[i] * IMG, sizeof(float) * IMG);
        double ink = 0;
        for (int k = 0; k < IMG; k++) ink += decoded[(size_t)order[i] * IMG + k] / IMG;
        if (lr[order[i]] < log(1e-6)) { ink_hole += ink; n_hole++; } else ink_rest += ink;
    }
    cli_say("The faint samples: the aggregate posterior q(z) = mean over %d test images of q_phi(z|x) leaves holes that", M);
    cli_say("the prior N(0, I) still covers, near the origin where p(z) is largest. %d of %d prior draws land where", n_hole, NS);
    cli_say("q(z)/p(z) < 1e-6; their decoded images have mean pixel %.3f against %.3f for the others: faint blends.",
            n_hole ? ink_hole / n_hole : NAN, NS > n_hole ? ink_rest / (NS - n_hole) : NAN);
    char lab[10][24];
    const char *rows[10];
    for (int r = 0; r < 10 && r * 10 < NS; r++) {
        snprintf(lab[r], sizeof lab[r], "q/p %.2g..%.2g", exp(lr[order[r * 10]]), exp(lr[order[r * 10 + 9 < NS ? r * 10 + 9 : NS - 1]]));
        rows[r] = lab[r];
    }
    PlotGridStyle st = { .title = "The 100 prior samples of ch1 samples, sorted by q(z)/p(z) (aggregate posterior / prior): holes first",
                         .row_labels = rows, .lo = 0, .hi = 1, .scale = 2, .pad = 2, .width = 900, .height = 760 };
    int rc = plot_image_grid(ctx->out, "ch1_samples_by_density", sorted, NS, 28, 28, 10, &st);
    Plot p;
    if (!rc && !plot_open(&p, ctx->out, "ch1_prior_holes")) {
        plot_block(&p, "z1 z2: mu_phi(x) of test images");
        for (int i = 0; i < M; i++) fprintf(plot_dat(&p), "%.4f %.4f\n", mu[2 * i], mu[2 * i + 1]);
        plot_block(&p, "z1 z2 log10 q(z)/p(z): the prior draws of ch1_samples.png");
        for (int i = 0; i < NS; i++) fprintf(plot_dat(&p), "%.4f %.4f %.4f\n", zs[2 * i], zs[2 * i + 1], lr[i] / log(10.0));
        plot_size(&p, 900, 760);
        plot_cmd(&p, "set title \"Where the faint samples come from: prior draws z from N(0, I) (circles, colour log_{10} q(z)/p(z))\\n"
                     "over the encoded test set (grey). Red circles sit in holes of the aggregate posterior q(z); dashed: |z| = 2.\" font ',10'");
        plot_cmd(&p, "set size ratio -1; set xrange [-3.5:3.5]; set yrange [-3.5:3.5]; set xlabel 'z_1'; set ylabel 'z_2'; set key bottom right");
        plot_cmd(&p, "set palette defined (-3 '#b2182b', -1 '#ef8a62', 0 '#f7f7f7', 1 '#67a9cf', 2 '#2166ac'); set cbrange [-3:2]");
        plot_cmd(&p, "set cblabel 'log_{10} q(z)/p(z)'; set object 1 circle at 0,0 size 2 fs empty border lc rgb '#999999' dt 2");
        plot_cmd(&p, "plot dat index 0 using 1:2 with points pt 7 ps 0.25 lc rgb '#cccccc' title 'test codes mu_φ(x)', \\");
        plot_cmd(&p, "     dat index 1 using 1:2:3 with points pt 7 ps 1.3 lc palette title 'prior draws', \\");
        plot_cmd(&p, "     dat index 1 using 1:2 with points pt 6 ps 1.3 lc rgb 'black' notitle");
        rc = plot_close(&p);
    }
    return rc;
}

/* ch1_latent_grid: decoder means over a grid of z (NG x NG tiles, z1 left to right, z2 top to bottom, both
 * -2.5 .. 2.5), labelled with the z of every other tile. */
static int latent_grid_figure(Ctx *ctx, const float *tiles, int NG) {
    char lab[2][32][12];
    const char *cols[32], *rows[32];
    CHECK(NG <= 32, "grid of %d tiles per side", NG);
    for (int k = 0; k < NG; k++) {
        snprintf(lab[0][k], 12, "%.2g", -2.5 + 5.0 * k / (NG - 1));
        snprintf(lab[1][k], 12, "%.2g", 2.5 - 5.0 * k / (NG - 1));
        cols[k] = k % 3 == 0 || k == NG - 1 ? lab[0][k] : "";
        rows[k] = k % 3 == 0 || k == NG - 1 ? lab[1][k] : "";
    }
    PlotGridStyle st = { .title = "Decoder means m_θ(z) on a grid of the 2D latent z (tile centres labelled)",
                         .xlabel = "z_1", .ylabel = "z_2", .col_labels = cols, .row_labels = rows,
                         .lo = 0, .hi = 1, .scale = 1, .pad = 1, .width = 800, .height = 800 };
    return plot_image_grid(ctx->out, "ch1_latent_grid", tiles, NG * NG, 28, 28, NG, &st);
}

static int cell_1_5_inference(Ctx *ctx) {
    enum { NG = 20, NREC = 16 };
    int NS = ctx->opts->samples > 0 ? (int)ctx->opts->samples : 100;   /* --samples: prior samples drawn and scored */
    ImageVae m;
    int st = image_vae_load(ctx, &m);
    if (st) return st < 0;
    Fmnist fm;
    if (fmnist_load(&fm, NULL, 0, 0)) { cli_say("skipped: Fashion-MNIST not available"); image_vae_free(&m); return 0; }
    Ch1Vae *v = &m.vae;
    Rng *r = &ctx->rng;
    cli_say("Inference: z ~ N(0, I) -> decoder -> a new image. The decoder's mean is drawn (adding the");
    cli_say("pixel noise sigma = %.3f would only add grain). %ld training steps.", exp(0.5 * nn_params_data(&v->params, v->dec_logvar)[0]), m.tr.step);
    int nbuf = NS > NG * NG ? NS : NG * NG;
    float *z = cli_alloc(ctx, sizeof(float) * nbuf * IMG_Z), *out = cli_alloc(ctx, sizeof(float) * nbuf * IMG), *lv = cli_alloc(ctx, sizeof(float) * nbuf * IMG);
    rng_normal_fill(r, z, (long)NS * IMG_Z);
    ch1_vae_decode(v, z, NS, out, lv, ctx->arena);
    int rc = image_samples_write(ctx->out, "ch1_samples", out, NS, image_grid_cols(NS), NS <= 100 ? 2 : 1, 0.0f, 1.0f);
    FidScore score;   /* the same score as the diffusion samples of ch2, ddim and ch3: VAE against diffusion */
    fid_report("VAE prior samples (decoder means)", out, NS, 0.0f, 1.0f, &score);
    float *zs = cli_alloc(ctx, sizeof(float) * NS * IMG_Z), *samples = cli_alloc(ctx, sizeof(float) * NS * IMG);   /* kept for the holes */
    memcpy(zs, z, sizeof(float) * NS * IMG_Z);
    memcpy(samples, out, sizeof(float) * NS * IMG);
    for (int i = 0; i < NG; i++)        /* row i = z2 from +2.5 (top) to -2.5, column j = z1 from -2.5 to +2.5 */
        for (int j = 0; j < NG; j++) {
            z[(i * NG + j) * IMG_Z] = (float)(-2.5 + 5.0 * j / (NG - 1));
            z[(i * NG + j) * IMG_Z + 1] = (float)(2.5 - 5.0 * i / (NG - 1));
        }
    ch1_vae_decode(v, z, NG * NG, out, lv, ctx->arena);
    rc |= latent_grid_figure(ctx, out, NG);
    /* reconstructions: rows of 8 inputs, each followed by the row of their x_hat = decoder(mu_phi(x)) */
    float *mu = cli_alloc(ctx, sizeof(float) * fm.n * IMG_Z), *lvq = cli_alloc(ctx, sizeof(float) * fm.n * IMG_Z);
    float *rows = cli_alloc(ctx, sizeof(float) * 2 * NREC * IMG);
    encode_all(v, fm.images, fm.n, mu, lvq, ctx->arena);
    ch1_vae_decode(v, mu, NREC, out, lv, ctx->arena);
    for (int b = 0; b < NREC / 8; b++)
        for (int j = 0; j < 8; j++) {
            memcpy(rows + ((size_t)(2 * b) * 8 + j) * IMG, fm.images + (size_t)(8 * b + j) * IMG, sizeof(float) * IMG);
            memcpy(rows + ((size_t)(2 * b + 1) * 8 + j) * IMG, out + (size_t)(8 * b + j) * IMG, sizeof(float) * IMG);
        }
    static const char *const rec_rows[4] = { "test image x", "decoder(mu_φ(x))", "test image x", "decoder(mu_φ(x))" };
    PlotGridStyle rec = { .title = "Reconstructions: rows 1 and 3 are test images, rows 2 and 4 decode their codes mu_φ(x)",
                          .row_labels = rec_rows, .lo = 0, .hi = 1, .scale = 3, .pad = 2, .width = 900 };
    rc |= plot_image_grid(ctx->out, "ch1_reconstructions", rows, 2 * NREC, 28, 28, 8, &rec);
    if (!rc) cli_say("figures ch1_samples.png (prior samples, + .idx-ubyte), ch1_latent_grid.png (z in [-2.5, 2.5]^2), ch1_reconstructions.png");
    double m1, m2, v1, v2;
    data_moments(mu, fm.n, 2, &m1, &v1);
    data_moments(mu + 1, fm.n, 2, &m2, &v2);
    cli_say("encoded test set: mean of mu_phi = (%.3f, %.3f), variance (%.3f, %.3f), against the prior N(0, I):", m1, m2, v1, v2);
    cli_say("the prior also draws z in the gaps between the class clusters, where few images encode: the faint samples.");
    rc |= plot_latent_test(ctx, mu, fm.labels, 5000);
    rc |= prior_holes_figures(ctx, mu, lvq, 5000, zs, samples, NS);
    rc |= measure_iwae(ctx, v, fm.images + (size_t)5000 * IMG);   /* images not shown above */
    fmnist_free(&fm);
    image_vae_free(&m);
    return rc;
}

/* ---- the chapter, cell by cell ----------------------------------------- */

static const Cell CELLS[] = {
    { "1.1",  "setting",  "the VAE setting: encoder and decoder; the DCT as a fixed encoder",   cell_1_1_setting },
    { "1.1i", "autoencode", "Fig 1.1 computed: x -> 2D latent z -> reconstruction (trained VAE)", cell_1_1i_autoencode },
    { "1.2",  "elbo",     "the ELBO and Theorem 1.1, exact on a linear-Gaussian model",        cell_1_2_elbo },
    { "1.3",  "train2d",  "training a VAE on 2D data: encoder posterior, decoder manifold",    cell_1_3_train2d },
    { "1.3r", "reparam",  "reparameterisation vs score-function gradients",                    cell_1_3r_reparam },
    { "1.4",  "loss",     "the loss: closed-form KL, Gaussian decoder, gradient check",        cell_1_4_loss },
    { "1.5",  "inference", "inference: samples, latent grid, encoded test set, IWAE log p(x)", cell_1_5_inference },
    /* appended, not inserted after 1.2: each cell's random stream is seeded by its index in this table */
    { "1.2g", "gmm",      "Example 1.1: a Gaussian mixture, the component as latent; Theorem 1.1", cell_1_2g_gmm },
};

/* The cell table, for tests/test_tutorial.c: every `./ch1 --cell X` that tutorial.md names must be in it. */
const Cell *ch1_cells(int *n) {
    *n = (int)COUNT_OF(CELLS);
    return CELLS;
}

#ifndef CHAPTER_NO_MAIN
int main(int argc, char **argv) {
    static const CliSpec spec = { "ch1", "The variational auto-encoder and the ELBO (PDF chapter 1)",
                                  CLI_STEPS | CLI_SAMPLES | CLI_TRAIN, NULL, "the Fashion-MNIST VAE (6-13 min)" };
    return cli_main(argc, argv, &spec, CELLS, COUNT_OF(CELLS), train_images);
}
#endif
