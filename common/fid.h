/* fid.h: the Frechet distance between two clouds of feature vectors (Heusel et al. 2017's FID, with our
 * own Fashion-MNIST classifier in place of Inception), and the scorer every image cell prints.
 *
 *   FidScorer sc;
 *   if (fid_scorer_load(&sc, NULL)) return 1;          // classifier + cached test-set statistics
 *   FidScore r;
 *   if (fid_score(&sc, x, n, -1.0f, 1.0f, &r)) ...;    // x (n, 784) with pixel values in [-1, 1]
 *   fid_score_print(&r, "DDPM samples");               // score, N, both floors, confidence, classes
 *   fid_scorer_free(&sc);
 *
 * The math (§2.8 quality of image samples):
 *   d^2 = |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr (S1^1/2 S2 S1^1/2)^1/2,
 * the 2-Wasserstein distance between N(mu1, S1) and N(mu2, S2), where mu, S are the mean and covariance
 * of the classifier's penultimate features (128 numbers per image). The matrix square roots come from a
 * symmetric eigendecomposition (cyclic Jacobi in double): S1^1/2 = V diag(sqrt l) V^T, and
 * tr M^1/2 = sum_i sqrt(l_i(M)) for the symmetric PSD M = S1^1/2 S2 S1^1/2 (tr (S1 S2)^1/2 without
 * ever taking the root of a non-symmetric matrix).
 *
 * A score means nothing without its floors, measured the same way at the same N: N real training
 * images against the test set (the best a generator can hope for at this N: finite-N covariance
 * error alone) and N images of uniform noise (the worst). Both are cached per N inside the scorer.
 *
 * The test set's statistics (10k images) are computed once and cached beside the classifier
 * (checkpoints/fmnist_classifier_stats.safetensors, keyed by a checksum of the weights); a stale or
 * missing cache is recomputed and rewritten. Errors: a missing or corrupt classifier, a missing data
 * set return nonzero after one message; shape errors are CHECKs.
 */
#ifndef FID_H
#define FID_H

#include "base.h"
#include "classifier.h"

/* ---- linear algebra in double ---------------------------------------------- */

/* Eigen-decomposition of the symmetric A (n, n), row-major, by cyclic Jacobi rotations: A = V diag(l) V^T.
 * A is overwritten; evals (n) and the eigenvectors as the columns of V (n, n). Sweeps until the
 * off-diagonal mass is below 1e-22 of the total (or 100 sweeps). */
void   fid_eigen_sym(double *A, int n, double *evals, double *V);
/* Mean (d) and unbiased covariance (d, d) of n feature rows (n, d), n >= 2, accumulated in double. */
void   fid_moments(const float *feat, int n, int d, double *mu, double *cov);
/* §2.8 tr (S1^1/2 S2 S1^1/2)^1/2 for symmetric PSD S1, S2 (d, d); tiny negative eigenvalues of roundoff count as 0. */
double fid_trace_sqrt_product(const double *S1, const double *S2, int d);
/* §2.8 d^2 = |mu1 - mu2|^2 + tr S1 + tr S2 - 2 tr (S1^1/2 S2 S1^1/2)^1/2. */
double fid_frechet(const double *mu1, const double *S1, const double *mu2, const double *S2, int d);

/* ---- the scorer ---------------------------------------------------------------- */

#define FID_STATS_CACHE "checkpoints/fmnist_classifier_stats.safetensors"
enum { FID_FLOOR_CACHE = 8 };

typedef struct {
    Classifier clf;
    double    *mu_test, *cov_test;               /* (d), (d, d): the 10k test images' features */
    int        n_floor;                          /* floors cached so far */
    int        floor_n[FID_FLOOR_CACHE];         /* at these N */
    double     floor_real[FID_FLOOR_CACHE], floor_noise[FID_FLOOR_CACHE];
} FidScorer;

typedef struct {
    int    n;                 /* images scored */
    double fid;               /* Frechet distance of their features to the test set's */
    double floor_real;        /* n real training images vs the test set */
    double floor_noise;       /* n uniform-noise images vs the test set */
    double max_softmax;       /* mean over images of the classifier's top probability (real test images: ~0.93) */
    int    hist[10];          /* images per predicted class */
} FidScore;

/* Load the classifier (path NULL: CLASSIFIER_CKPT) and the test statistics, computing and caching them when stale. */
int  fid_scorer_load(FidScorer *s, const char *classifier_path) MUST_USE;
void fid_scorer_free(FidScorer *s);
/* Score n >= 2 images x (n, 784) whose pixels run from lo (black) to hi (white). Computes the floors at
 * this n on first use (n training images, n noise images: 2n more feature passes). */
int  fid_score(FidScorer *s, const float *x, int n, float lo, float hi, FidScore *out) MUST_USE;
/* One line: "<label>: FID 12.3 at N = 100 (4.1x the real floor 3.0; noise 310.5), max-softmax 0.85",
 * then the class histogram with the classes more than a factor 2 away from their 10% share marked. */
void fid_score_print(const FidScore *r, const char *label);
/* For a program's cell: load the scorer, score n images, print the report under label, free. Returns 0 with *out
 * filled, or 1 after one line saying why no score (no classifier, no data set): callers go on without one. */
int  fid_report(const char *label, const float *x, int n, float lo, float hi, FidScore *out);

#endif
