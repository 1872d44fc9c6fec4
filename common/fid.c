#include <math.h>
#include <string.h>
#include <unistd.h>
#include "fid.h"
#include "fmnist.h"
#include "io.h"

/* ---- linear algebra in double ---------------------------------------------------- */

/* One Jacobi rotation in the (p, q) plane that zeroes A[p][q] (Golub and Van Loan, Alg. 8.5.2):
 * theta = (a_qq - a_pp) / (2 a_pq), t = sign(theta) / (|theta| + sqrt(theta^2 + 1)), c = 1/sqrt(1+t^2), s = t c;
 * A <- J^T A J and V <- V J. The small root t keeps the rotation angle <= pi/4, which makes it converge. */
static void jacobi_rotate(double *A, double *V, int n, int p, int q) {
    double apq = A[p * n + q];
    double theta = (A[q * n + q] - A[p * n + p]) / (2 * apq);
    double t = (theta >= 0 ? 1.0 : -1.0) / (fabs(theta) + sqrt(theta * theta + 1));
    double c = 1 / sqrt(t * t + 1), s = t * c;
    for (int k = 0; k < n; k++) {                    /* columns p, q of A J */
        double akp = A[k * n + p], akq = A[k * n + q];
        A[k * n + p] = c * akp - s * akq;
        A[k * n + q] = s * akp + c * akq;
    }
    for (int k = 0; k < n; k++) {                    /* rows p, q of J^T (A J) */
        double apk = A[p * n + k], aqk = A[q * n + k];
        A[p * n + k] = c * apk - s * aqk;
        A[q * n + k] = s * apk + c * aqk;
    }
    A[p * n + q] = A[q * n + p] = 0;                 /* exact by construction; set it to avoid roundoff */
    for (int k = 0; k < n; k++) {
        double vkp = V[k * n + p], vkq = V[k * n + q];
        V[k * n + p] = c * vkp - s * vkq;
        V[k * n + q] = s * vkp + c * vkq;
    }
}

void fid_eigen_sym(double *A, int n, double *evals, double *V) {
    for (int i = 0; i < n * n; i++) V[i] = 0;
    for (int i = 0; i < n; i++) V[i * n + i] = 1;
    double total = 0;
    for (int i = 0; i < n * n; i++) total += A[i] * A[i];
    for (int sweep = 0; sweep < 100; sweep++) {
        double off = 0;
        for (int p = 0; p < n; p++)
            for (int q = p + 1; q < n; q++) off += 2 * A[p * n + q] * A[p * n + q];
        if (off <= 1e-22 * total || off == 0) break;
        for (int p = 0; p < n; p++)
            for (int q = p + 1; q < n; q++)
                if (A[p * n + q] != 0) jacobi_rotate(A, V, n, p, q);
    }
    for (int i = 0; i < n; i++) evals[i] = A[i * n + i];
}

void fid_moments(const float *feat, int n, int d, double *mu, double *cov) {
    CHECK(n >= 2 && d >= 1, "fid_moments: n = %d, d = %d (need n >= 2)", n, d);
    for (int j = 0; j < d; j++) mu[j] = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < d; j++) mu[j] += feat[(size_t)i * d + j];
    for (int j = 0; j < d; j++) mu[j] /= n;
    for (int j = 0; j < d * d; j++) cov[j] = 0;
    double *c = malloc(sizeof(double) * d);
    CHECK(c != NULL, "out of memory");
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < d; j++) c[j] = feat[(size_t)i * d + j] - mu[j];
        for (int j = 0; j < d; j++)
            for (int k = j; k < d; k++) cov[j * d + k] += c[j] * c[k];
    }
    for (int j = 0; j < d; j++)
        for (int k = j; k < d; k++) cov[k * d + j] = cov[j * d + k] /= (n - 1);   /* unbiased: 1/(n-1) */
    free(c);
}

/* B = V diag(f(l)) V^T for a symmetric (d, d) with eigenpairs (l, V). */
static void spectral_apply(const double *V, const double *l, int d, double *B) {
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++) {
            double s = 0;
            for (int k = 0; k < d; k++) s += V[i * d + k] * l[k] * V[j * d + k];
            B[i * d + j] = s;
        }
}

/* C = A B for (d, d) matrices. */
static void matmul_d(const double *A, const double *B, int d, double *C) {
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++) C[i * d + j] = 0;
    for (int i = 0; i < d; i++)
        for (int k = 0; k < d; k++) {
            double a = A[i * d + k];
            for (int j = 0; j < d; j++) C[i * d + j] += a * B[k * d + j];
        }
}

double fid_trace_sqrt_product(const double *S1, const double *S2, int d) {
    size_t dd = (size_t)d * d;
    double *A = malloc(sizeof(double) * dd), *V = malloc(sizeof(double) * dd), *R = calloc(dd, sizeof(double));
    double *T = malloc(sizeof(double) * dd), *l = malloc(sizeof(double) * d);
    CHECK(A && V && R && T && l, "out of memory for %d x %d matrices", d, d);
    memcpy(A, S1, sizeof(double) * dd);
    fid_eigen_sym(A, d, l, V);
    for (int i = 0; i < d; i++) l[i] = l[i] > 0 ? sqrt(l[i]) : 0;   /* PSD up to roundoff */
    spectral_apply(V, l, d, R);                                     /* R = S1^1/2 */
    matmul_d(R, S2, d, T);
    matmul_d(T, R, d, A);                                           /* M = S1^1/2 S2 S1^1/2 */
    for (int i = 0; i < d; i++)
        for (int j = i + 1; j < d; j++) A[i * d + j] = A[j * d + i] = 0.5 * (A[i * d + j] + A[j * d + i]);
    fid_eigen_sym(A, d, l, V);
    double tr = 0;
    for (int i = 0; i < d; i++) tr += l[i] > 0 ? sqrt(l[i]) : 0;
    free(A); free(V); free(R); free(T); free(l);
    return tr;
}

double fid_frechet(const double *mu1, const double *S1, const double *mu2, const double *S2, int d) {
    double dmu = 0, tr = 0;
    for (int i = 0; i < d; i++) dmu += (mu1[i] - mu2[i]) * (mu1[i] - mu2[i]);
    for (int i = 0; i < d; i++) tr += S1[i * d + i] + S2[i * d + i];
    double f = dmu + tr - 2 * fid_trace_sqrt_product(S1, S2, d);
    return f > 0 ? f : 0;   /* a distance: roundoff below zero is zero */
}

/* ---- the scorer ------------------------------------------------------------------------ */

enum { D = CLASSIFIER_FEAT };

/* Features of n images in [0, 1] -> mean and covariance; probs (n, 10) too when asked. */
static void image_moments(FidScorer *s, const float *x01, int n, double *mu, double *cov, float *probs) {
    float *feat = malloc(sizeof(float) * (size_t)n * D);
    CHECK(feat != NULL, "out of memory for %d feature rows", n);
    Arena arena;
    arena_init(&arena, (size_t)256 << 20);
    classifier_eval(&s->clf, x01, n, feat, probs, &arena);
    arena_free(&arena);
    fid_moments(feat, n, D, mu, cov);
    free(feat);
}

static int stats_io(FidScorer *s, const char *path, int write) {
    static float mu[D], cov[D * D];
    char sum[32], meta[96];
    snprintf(sum, sizeof sum, "%016llx", classifier_checksum(&s->clf));
    IoTensor t[2] = { { "test.mu", 1, { D }, mu }, { "test.cov", 2, { D, D }, cov } };
    if (write) {
        for (int i = 0; i < D; i++) mu[i] = (float)s->mu_test[i];
        for (int i = 0; i < D * D; i++) cov[i] = (float)s->cov_test[i];
        snprintf(meta, sizeof meta, "{\"classifier\": \"%s\", \"images\": \"10000\"}", sum);
        return io_safetensors_write(path, t, 2, meta);
    }
    char got[32];
    if (access(path, R_OK) != 0 || io_safetensors_metadata(path, "classifier", got, sizeof got) || strcmp(got, sum)) return 1;
    if (io_safetensors_read_into(path, t, 2)) return 1;
    for (int i = 0; i < D; i++) s->mu_test[i] = mu[i];
    for (int i = 0; i < D * D; i++) s->cov_test[i] = cov[i];
    return 0;
}

int fid_scorer_load(FidScorer *s, const char *classifier_path) {
    memset(s, 0, sizeof *s);
    const char *path = classifier_path ? classifier_path : CLASSIFIER_CKPT;
    Rng rng = rng_seed(1);
    classifier_init(&s->clf, &rng);
    s->mu_test = malloc(sizeof(double) * D);
    s->cov_test = malloc(sizeof(double) * D * D);
    CHECK(s->mu_test && s->cov_test, "out of memory");
    if (classifier_load(&s->clf, path)) {
        fprintf(stderr, "hint: train the classifier with ./score --train (README, 'Scoring images')\n");
        fid_scorer_free(s);
        return 1;
    }
    char cache[600];
    io_sibling_path(path, "_stats.safetensors", cache, sizeof cache);
    if (stats_io(s, cache, 0) == 0) return 0;
    Fmnist test;   /* no valid cache: the 10k test images' features, once */
    if (fmnist_load(&test, NULL, 0, 0)) { fid_scorer_free(s); return 1; }
    image_moments(s, test.images, test.n, s->mu_test, s->cov_test, NULL);
    fmnist_free(&test);
    if (stats_io(s, cache, 1)) fprintf(stderr, "warning: cannot cache the test statistics in %s; they will be recomputed\n", cache);
    return 0;
}

void fid_scorer_free(FidScorer *s) {
    classifier_free(&s->clf);
    free(s->mu_test);
    free(s->cov_test);
    memset(s, 0, sizeof *s);
}

/* The floors at n (cached): n training images, and n images of uniform noise in [0, 1], against the test set. */
static int floors(FidScorer *s, int n, double *real, double *noise) {
    for (int i = 0; i < s->n_floor; i++)
        if (s->floor_n[i] == n) { *real = s->floor_real[i]; *noise = s->floor_noise[i]; return 0; }
    Fmnist train;
    if (fmnist_load(&train, NULL, 1, n)) return 1;
    if (train.n < n) { fprintf(stderr, "error: only %d training images for a floor at N = %d\n", train.n, n); fmnist_free(&train); return 1; }
    double *mu = malloc(sizeof(double) * D), *cov = malloc(sizeof(double) * D * D);
    CHECK(mu && cov, "out of memory");
    image_moments(s, train.images, n, mu, cov, NULL);
    *real = fid_frechet(mu, cov, s->mu_test, s->cov_test, D);
    Rng rng = rng_seed(12345);   /* fixed: the same noise images every time */
    for (size_t k = 0; k < (size_t)n * 784; k++) train.images[k] = (float)rng_uniform(&rng);
    image_moments(s, train.images, n, mu, cov, NULL);
    *noise = fid_frechet(mu, cov, s->mu_test, s->cov_test, D);
    free(mu); free(cov);
    fmnist_free(&train);
    int slot = s->n_floor < FID_FLOOR_CACHE ? s->n_floor++ : FID_FLOOR_CACHE - 1;
    s->floor_n[slot] = n; s->floor_real[slot] = *real; s->floor_noise[slot] = *noise;
    return 0;
}

int fid_score(FidScorer *s, const float *x, int n, float lo, float hi, FidScore *out) {
    CHECK(n >= 2 && hi > lo, "fid_score: n = %d (need >= 2), lo = %g, hi = %g", n, lo, hi);
    memset(out, 0, sizeof *out);
    out->n = n;
    if (floors(s, n, &out->floor_real, &out->floor_noise)) return 1;
    float *x01 = malloc(sizeof(float) * (size_t)n * 784), *probs = malloc(sizeof(float) * (size_t)n * CLASSIFIER_CLASSES);
    double *mu = malloc(sizeof(double) * D), *cov = malloc(sizeof(double) * D * D);
    CHECK(x01 && probs && mu && cov, "out of memory for %d images", n);
    for (size_t k = 0; k < (size_t)n * 784; k++) {
        float u = (x[k] - lo) / (hi - lo);
        x01[k] = u < 0 ? 0 : u > 1 ? 1 : u;   /* what the PNG shows: clamped to the pixel range */
    }
    image_moments(s, x01, n, mu, cov, probs);
    out->fid = fid_frechet(mu, cov, s->mu_test, s->cov_test, D);
    for (int i = 0; i < n; i++) {
        const float *p = probs + (size_t)i * CLASSIFIER_CLASSES;
        int best = classifier_argmax(p);
        out->max_softmax += p[best] / (double)n;
        out->hist[best]++;
    }
    free(x01); free(probs); free(mu); free(cov);
    return 0;
}

void fid_score_print(const FidScore *r, const char *label) {
    printf("  %s: FID %.2f at N = %d = %.1fx the real-data floor %.2f (noise floor %.1f); mean max-softmax %.3f\n",
           label, r->fid, r->n, r->fid / r->floor_real, r->floor_real, r->floor_noise, r->max_softmax);
    printf("    classes:");
    double share = r->n / 10.0;
    for (int k = 0; k < 10; k++)
        printf(" %s %d%s", fmnist_class_name(k), r->hist[k], r->hist[k] < share / 2 || r->hist[k] > 2 * share ? "!" : "");
    printf("  (! = outside a factor 2 of the %.1f share)\n", share);
}

int fid_report(const char *label, const float *x, int n, float lo, float hi, FidScore *out) {
    FidScorer sc;
    if (n < 2) { printf("  %s: no quality score for %d image (a covariance needs N >= 2)\n", label, n); return 1; }
    if (fid_scorer_load(&sc, NULL)) {
        printf("  %s: no quality score (the classifier or Fashion-MNIST is missing, see above)\n", label);
        return 1;
    }
    int rc = fid_score(&sc, x, n, lo, hi, out);
    if (!rc) fid_score_print(out, label);
    fid_scorer_free(&sc);
    return rc;
}
