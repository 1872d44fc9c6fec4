#include <math.h>
#include <string.h>
#include "data.h"

const char *const DATA_TOY_NAMES[] = { "gmm", "swissroll", "moons", "checkerboard", "8gaussians", NULL };

/* ---- building mixtures ------------------------------------------------- */

/* K isotropic components in D dimensions: weights w (K), means mu (K, D), standard deviations sd (K). */
static Gmm gmm_isotropic(int K, int D, const double *w, const double *mu, const double *sd) {
    CHECK(K >= 1 && K <= GMM_MAX, "K = %d outside 1..%d", K, GMM_MAX);
    Gmm g = {0};
    g.K = K;
    g.D = D;
    for (int k = 0; k < K; k++) {
        g.w[k] = w[k];
        for (int d = 0; d < D; d++) {
            g.mu[k][d] = mu[D * k + d];
            g.cov[k][d][d] = sd[k] * sd[k];
        }
    }
    return g;
}

Gmm data_gmm_1d(int K, const double *w, const double *mu, const double *sd) { return gmm_isotropic(K, 1, w, mu, sd); }
Gmm data_gmm_2d(int K, const double *w, const double *mu, const double *sd) { return gmm_isotropic(K, 2, w, mu, sd); }

int data_toy_is_gmm(const char *name) {
    return !strcmp(name, "gmm") || !strcmp(name, "8gaussians");
}

Gmm data_gmm_tutorial_1d(void) {
    static const double w[2] = { 0.3, 0.7 }, mu[2] = { -2.0, 2.0 }, sd[2] = { 0.3, 0.3 };
    return data_gmm_1d(2, w, mu, sd);
}

Gmm data_gmm_named(const char *name) {
    if (!strcmp(name, "8gaussians")) {
        double w[8], mu[16], sd[8];
        for (int k = 0; k < 8; k++) {
            w[k] = 1.0 / 8;
            mu[2 * k] = cos(2 * PI * k / 8);
            mu[2 * k + 1] = sin(2 * PI * k / 8);
            sd[k] = 0.1;
        }
        return data_gmm_2d(8, w, mu, sd);
    }
    CHECK(!strcmp(name, "gmm"), "data_gmm_named('%s'): not a mixture", name);
    /* Unequal weights on purpose: a sampler that gets the modes but not their weights is visibly wrong. */
    static const double w[3] = { 0.5, 0.3, 0.2 };
    static const double mu[6] = { -0.8, -0.5,  0.8, -0.4,  0.0, 0.8 };
    static const double sd[3] = { 0.2, 0.15, 0.25 };
    return data_gmm_2d(3, w, mu, sd);
}

/* ---- Gaussian pieces, D = 1 or 2 --------------------------------------- */

/* Inverse and log-determinant of a D x D covariance. */
static void cov_inv(const double c[2][2], int D, double inv[2][2], double *logdet) {
    if (D == 1) {
        inv[0][0] = 1.0 / c[0][0];
        *logdet = log(c[0][0]);
        return;
    }
    double det = c[0][0] * c[1][1] - c[0][1] * c[1][0];
    CHECK(det > 0, "covariance not positive definite (det = %g)", det);
    inv[0][0] = c[1][1] / det;
    inv[1][1] = c[0][0] / det;
    inv[0][1] = -c[0][1] / det;
    inv[1][0] = -c[1][0] / det;
    *logdet = log(det);
}

/* log N(x; mu, C) and, if grad != NULL, its gradient -C^{-1}(x - mu). */
static double gauss_logpdf(const double *mu, const double c[2][2], int D, const double *x, double *grad) {
    double inv[2][2], logdet, d[2] = {0, 0}, q = 0.0;
    cov_inv(c, D, inv, &logdet);
    for (int i = 0; i < D; i++) d[i] = x[i] - mu[i];
    for (int i = 0; i < D; i++) {
        double s = 0.0;
        for (int j = 0; j < D; j++) s += inv[i][j] * d[j];
        q += d[i] * s;
        if (grad) grad[i] = -s;
    }
    return -0.5 * (q + logdet + D * log(2 * PI));
}

/* ---- exact quantities -------------------------------------------------- */

/* log w_k + log N_k(x) for every k, and their log-sum-exp log p(x). */
static double component_logs(const Gmm *g, const double *x, double *lk, double grads[][2]) {
    double m = -INFINITY;
    for (int k = 0; k < g->K; k++) {
        lk[k] = log(g->w[k]) + gauss_logpdf(g->mu[k], g->cov[k], g->D, x, grads ? grads[k] : NULL);
        if (lk[k] > m) m = lk[k];
    }
    double s = 0.0;
    for (int k = 0; k < g->K; k++) s += exp(lk[k] - m);   /* log-sum-exp: no underflow far from the modes */
    return m + log(s);
}

double data_gmm_logpdf(const Gmm *g, const double *x) {
    double lk[GMM_MAX];
    return component_logs(g, x, lk, NULL);
}

void data_gmm_resp(const Gmm *g, const double *x, double *r) {
    double lk[GMM_MAX];
    double lp = component_logs(g, x, lk, NULL);
    for (int k = 0; k < g->K; k++) r[k] = exp(lk[k] - lp);
}

void data_gmm_score(const Gmm *g, const double *x, double *score) {
    double lk[GMM_MAX], grads[GMM_MAX][2];
    double lp = component_logs(g, x, lk, grads);
    for (int i = 0; i < g->D; i++) score[i] = 0.0;
    for (int k = 0; k < g->K; k++) {
        double r = exp(lk[k] - lp);
        for (int i = 0; i < g->D; i++) score[i] += r * grads[k][i];
    }
}

Gmm data_gmm_noised(const Gmm *g, double a, double s2) {
    Gmm h = *g;
    for (int k = 0; k < g->K; k++)
        for (int i = 0; i < g->D; i++) {
            h.mu[k][i] = a * g->mu[k][i];
            for (int j = 0; j < g->D; j++) h.cov[k][i][j] = a * a * g->cov[k][i][j] + (i == j ? s2 : 0.0);
        }
    return h;
}

void data_gmm_denoise(const Gmm *g, double a, double s2, const double *x, double *x0_hat) {
    Gmm h = data_gmm_noised(g, a, s2);
    double r[GMM_MAX];
    data_gmm_resp(&h, x, r);
    for (int i = 0; i < g->D; i++) x0_hat[i] = 0.0;
    for (int k = 0; k < g->K; k++) {
        /* Wiener filter of component k: mu_k + a C_k (a^2 C_k + s2 I)^{-1} (x - a mu_k) */
        double inv[2][2], logdet, d[2] = {0, 0}, u[2] = {0, 0};
        cov_inv(h.cov[k], g->D, inv, &logdet);
        for (int i = 0; i < g->D; i++) d[i] = x[i] - a * g->mu[k][i];
        for (int i = 0; i < g->D; i++)
            for (int j = 0; j < g->D; j++) u[i] += inv[i][j] * d[j];
        for (int i = 0; i < g->D; i++) {
            double m = g->mu[k][i];
            for (int j = 0; j < g->D; j++) m += a * g->cov[k][i][j] * u[j];
            x0_hat[i] += r[k] * m;
        }
    }
}

void data_gmm_posterior_cov(const Gmm *g, double a, double s2, const double *x, double cov[2][2]) {
    Gmm h = data_gmm_noised(g, a, s2);
    double r[GMM_MAX], m[2] = { 0, 0 }, second[2][2] = { { 0, 0 }, { 0, 0 } };
    data_gmm_resp(&h, x, r);
    for (int k = 0; k < g->K; k++) {
        /* component k: mean m_k = mu_k + a C_k A^{-1} (x - a mu_k), covariance P_k = C_k - a^2 C_k A^{-1} C_k, A = a^2 C_k + s2 I */
        double inv[2][2], logdet, d[2] = { 0, 0 }, mk[2], CA[2][2] = { { 0, 0 }, { 0, 0 } };
        cov_inv(h.cov[k], g->D, inv, &logdet);
        for (int i = 0; i < g->D; i++) d[i] = x[i] - a * g->mu[k][i];
        for (int i = 0; i < g->D; i++)
            for (int j = 0; j < g->D; j++)
                for (int l = 0; l < g->D; l++) CA[i][j] += g->cov[k][i][l] * inv[l][j];
        for (int i = 0; i < g->D; i++) {
            mk[i] = g->mu[k][i];
            for (int j = 0; j < g->D; j++) mk[i] += a * CA[i][j] * d[j];
            m[i] += r[k] * mk[i];
        }
        for (int i = 0; i < g->D; i++)
            for (int j = 0; j < g->D; j++) {
                double P = g->cov[k][i][j];
                for (int l = 0; l < g->D; l++) P -= a * a * CA[i][l] * g->cov[k][l][j];
                second[i][j] += r[k] * (P + mk[i] * mk[j]);
            }
    }
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) cov[i][j] = i < g->D && j < g->D ? second[i][j] - m[i] * m[j] : 0.0;
}

void data_gmm_sample(const Gmm *g, Rng *rng, float *x, int n) {
    for (int s = 0; s < n; s++) {
        /* pick a component by its weight */
        double u = rng_uniform(rng), acc = 0.0;
        int k = g->K - 1;
        for (int j = 0; j < g->K; j++) {
            acc += g->w[j];
            if (u < acc) { k = j; break; }
        }
        /* x = mu_k + L z with L the Cholesky factor of C_k */
        double z0 = rng_normal(rng), z1 = g->D == 2 ? rng_normal(rng) : 0.0;
        const double (*c)[2] = g->cov[k];
        double l00 = sqrt(c[0][0]);
        x[s * g->D] = (float)(g->mu[k][0] + l00 * z0);
        if (g->D == 2) {
            double l10 = c[1][0] / l00, l11 = sqrt(c[1][1] - l10 * l10);
            x[s * 2 + 1] = (float)(g->mu[k][1] + l10 * z0 + l11 * z1);
        }
    }
}

double data_gmm_mean(const Gmm *g, int d) {
    double m = 0.0;
    for (int k = 0; k < g->K; k++) m += g->w[k] * g->mu[k][d];
    return m;
}

double data_gmm_var(const Gmm *g, int d) {
    double m = data_gmm_mean(g, d), v = 0.0;   /* law of total variance */
    for (int k = 0; k < g->K; k++) {
        double dm = g->mu[k][d] - m;
        v += g->w[k] * (g->cov[k][d][d] + dm * dm);
    }
    return v;
}

/* ---- other toys -------------------------------------------------------- */

static void sample_swissroll(Rng *rng, float *x, int n) {
    for (int i = 0; i < n; i++) {
        double t = PI / 2 + 5 * PI * rng_uniform(rng);
        x[2 * i] = (float)(t * cos(t) / (5 * PI));
        x[2 * i + 1] = (float)(t * sin(t) / (5 * PI));
    }
}

/* Two interleaved half circles (as scikit-learn's make_moons, noise 0.05), centred and scaled by 1/1.5. */
static void sample_moons(Rng *rng, float *x, int n) {
    for (int i = 0; i < n; i++) {
        double a = PI * rng_uniform(rng), px, py;
        if (i % 2 == 0) { px = cos(a);       py = sin(a); }
        else            { px = 1.0 - cos(a); py = 0.5 - sin(a); }
        px += 0.05 * rng_normal(rng);
        py += 0.05 * rng_normal(rng);
        x[2 * i] = (float)((px - 0.5) / 1.5);
        x[2 * i + 1] = (float)((py - 0.25) / 1.5);
    }
}

/* Uniform on the dark squares of a 4 x 4 board covering [-1, 1]^2. */
static void sample_checkerboard(Rng *rng, float *x, int n) {
    for (int i = 0; i < n; i++) {
        int cx = rng_int(rng, 4), cy = 2 * rng_int(rng, 2) + ((cx + 1) % 2);
        x[2 * i] = (float)(-1.0 + 0.5 * (cx + rng_uniform(rng)));
        x[2 * i + 1] = (float)(-1.0 + 0.5 * (cy + rng_uniform(rng)));
    }
}

int data_toy_sample(const char *name, Rng *rng, float *x, int n) {
    if (data_toy_is_gmm(name)) {
        Gmm g = data_gmm_named(name);
        data_gmm_sample(&g, rng, x, n);
    } else if (!strcmp(name, "swissroll")) sample_swissroll(rng, x, n);
    else if (!strcmp(name, "moons"))        sample_moons(rng, x, n);
    else if (!strcmp(name, "checkerboard")) sample_checkerboard(rng, x, n);
    else {
        fprintf(stderr, "error: unknown data set '%s'; expected gmm, swissroll, moons, checkerboard or 8gaussians\n", name);
        return 1;
    }
    return 0;
}

/* ---- a finite training set --------------------------------------------- */

void data_points_denoise(const float *pts, int n, int D, double a, double s2, const double *x, double *x0_hat) {
    double m = -INFINITY, z = 0.0;
    for (int i = 0; i < n; i++) {          /* pass 1: the largest logit, for a stable softmax */
        double d2 = 0.0;
        for (int j = 0; j < D; j++) { double d = x[j] - a * pts[i * D + j]; d2 += d * d; }
        if (-d2 / (2 * s2) > m) m = -d2 / (2 * s2);
    }
    for (int j = 0; j < D; j++) x0_hat[j] = 0.0;
    for (int i = 0; i < n; i++) {          /* pass 2: weights exp(logit - max) and the weighted sum */
        double d2 = 0.0;
        for (int j = 0; j < D; j++) { double d = x[j] - a * pts[i * D + j]; d2 += d * d; }
        double w = exp(-d2 / (2 * s2) - m);
        z += w;
        for (int j = 0; j < D; j++) x0_hat[j] += w * pts[i * D + j];
    }
    for (int j = 0; j < D; j++) x0_hat[j] /= z;
}

/* ---- looking at a sample ------------------------------------------------ */

/* Adds value v to the density histogram dens of n values (bin width `width` from lo). */
static void histogram_add(double v, int n, double lo, double width, int bins, double *dens) {
    int b = (int)floor((v - lo) / width);
    if (b >= 0 && b < bins) dens[b] += 1.0 / (n * width);
}

void data_histogram(const float *x, int n, double lo, double hi, int bins, double *dens) {
    double width = (hi - lo) / bins;
    for (int b = 0; b < bins; b++) dens[b] = 0.0;
    for (int i = 0; i < n; i++) histogram_add(x[i], n, lo, width, bins, dens);
}

void data_histogram_d(const double *x, int n, double lo, double hi, int bins, double *dens) {
    double width = (hi - lo) / bins;
    for (int b = 0; b < bins; b++) dens[b] = 0.0;
    for (int i = 0; i < n; i++) histogram_add(x[i], n, lo, width, bins, dens);
}

void data_moments(const float *x, int n, int stride, double *mean, double *var) {
    double s = 0, s2 = 0;
    for (int i = 0; i < n; i++) { double v = x[(size_t)i * stride]; s += v; s2 += v * v; }
    *mean = s / n;
    *var = s2 / n - *mean * *mean;
}

void data_moments_d(const double *x, int n, int stride, double *mean, double *var) {
    double s = 0, s2 = 0;
    for (int i = 0; i < n; i++) { double v = x[(size_t)i * stride]; s += v; s2 += v * v; }
    *mean = s / n;
    *var = s2 / n - *mean * *mean;
}

/* ---- comparing two samples --------------------------------------------- */

static int cmp_double(const void *p, const void *q) {
    double a = *(const double *)p, b = *(const double *)q;
    return (a > b) - (a < b);
}

double data_sliced_w1_fixed(const float *a, const float *b, int n) {
    Rng proj = rng_seed(20240318);   /* the same 200 directions every time */
    return data_sliced_wasserstein(a, b, n, 2, 200, &proj);
}

double data_sliced_wasserstein(const float *a, const float *b, int n, int D, int n_proj, Rng *rng) {
    double *pa = malloc(sizeof(double) * (size_t)n), *pb = malloc(sizeof(double) * (size_t)n);
    CHECK(pa && pb, "out of memory for %d projections", n);
    double total = 0.0;
    for (int p = 0; p < n_proj; p++) {
        /* a uniform random direction on the unit sphere */
        double dir[8], norm = 0.0;
        CHECK(D <= 8, "D = %d > 8", D);
        for (int j = 0; j < D; j++) { dir[j] = rng_normal(rng); norm += dir[j] * dir[j]; }
        norm = sqrt(norm);
        for (int i = 0; i < n; i++) {
            pa[i] = pb[i] = 0.0;
            for (int j = 0; j < D; j++) {
                pa[i] += a[i * D + j] * dir[j] / norm;
                pb[i] += b[i * D + j] * dir[j] / norm;
            }
        }
        /* in 1D the optimal coupling matches sorted samples */
        qsort(pa, (size_t)n, sizeof(double), cmp_double);
        qsort(pb, (size_t)n, sizeof(double), cmp_double);
        double w1 = 0.0;
        for (int i = 0; i < n; i++) w1 += fabs(pa[i] - pb[i]);
        total += w1 / n;
    }
    free(pa);
    free(pb);
    return total / n_proj;
}

double data_mean_nn_distance(const float *x, int n, const float *ref, int m, int D) {
    double *dist = malloc(sizeof(double) * (size_t)n);
    CHECK(dist != NULL, "out of memory for %d distances", n);
    #pragma omp parallel for schedule(static)
    for (int i = 0; i < n; i++) {
        double best = INFINITY;
        for (int j = 0; j < m; j++) {
            double d2 = 0.0;
            for (int k = 0; k < D; k++) { double d = x[i * D + k] - ref[j * D + k]; d2 += d * d; }
            if (d2 < best) best = d2;
        }
        dist[i] = sqrt(best);
    }
    double total = 0.0;
    for (int i = 0; i < n; i++) total += dist[i];   /* summed in order: same bytes for any thread count */
    free(dist);
    return total / n;
}

void data_stat_add(DataStat *st, double v) {
    st->n++;
    double d = v - st->mean;   /* Welford's update: sum - n mean^2 would cancel to noise when the spread is small */
    st->mean += d / st->n;
    st->m2 += d * (v - st->mean);
}

double data_stat_mean(const DataStat *st) { return st->n ? st->mean : NAN; }

double data_stat_sd(const DataStat *st) { return st->n < 2 ? NAN : sqrt(st->m2 / (st->n - 1)); }

double data_stat_se(const DataStat *st) { return st->n < 2 ? NAN : data_stat_sd(st) / sqrt((double)st->n); }
