/* Tests of common/fid: the Jacobi eigendecomposition and the Frechet distance against closed forms.
 *
 * Tolerances. Everything is in double on O(1) matrices of size <= 8: a backward-stable eigensolver gives
 * residuals ~ n eps_d ||A|| ~ 1e-15; 1e-10 leaves orders of magnitude for the O(n^3) products and sqrt
 * without hiding a wrong formula (a wrong term changes a distance by >= 0.01 here). */
#include <check.h>
#include <math.h>
#include <string.h>
#include "fid.h"
#include "rng.h"

/* A random orthogonal Q (n, n), by Gram-Schmidt on normal columns. */
static void random_orthogonal(double *Q, int n, Rng *rng) {
    for (int i = 0; i < n * n; i++) Q[i] = rng_normal(rng);
    for (int j = 0; j < n; j++) {
        for (int k = 0; k < j; k++) {
            double dot = 0;
            for (int i = 0; i < n; i++) dot += Q[i * n + j] * Q[i * n + k];
            for (int i = 0; i < n; i++) Q[i * n + j] -= dot * Q[i * n + k];
        }
        double norm = 0;
        for (int i = 0; i < n; i++) norm += Q[i * n + j] * Q[i * n + j];
        for (int i = 0; i < n; i++) Q[i * n + j] /= sqrt(norm);
    }
}

/* S = Q diag(l) Q^T. */
static void from_spectrum(const double *Q, const double *l, int n, double *S) {
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double s = 0;
            for (int k = 0; k < n; k++) s += Q[i * n + k] * l[k] * Q[j * n + k];
            S[i * n + j] = s;
        }
}

/* A = V diag(l) V^T and V^T V = I for a random symmetric 7 x 7 (an odd size). */
START_TEST(test_eigen_sym_reconstructs) {
    enum { n = 7 };
    Rng rng = rng_seed(3);
    double A[n * n], A0[n * n], V[n * n], l[n], R[n * n];
    for (int i = 0; i < n; i++)
        for (int j = 0; j <= i; j++) A[i * n + j] = A[j * n + i] = rng_normal(&rng);
    memcpy(A0, A, sizeof A);
    fid_eigen_sym(A, n, l, V);
    from_spectrum(V, l, n, R);
    for (int i = 0; i < n * n; i++) ck_assert_double_eq_tol(R[i], A0[i], 1e-10);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double dot = 0;
            for (int k = 0; k < n; k++) dot += V[k * n + i] * V[k * n + j];
            ck_assert_double_eq_tol(dot, i == j, 1e-10);
        }
}
END_TEST

/* §2.8 the known 2x2 case: S1 = diag(1, 4), S2 = [[2, 1], [1, 2]] do not commute; M = S1^1/2 S2 S1^1/2 =
 * [[2, 2], [2, 8]], and for a 2x2 PSD M, (tr M^1/2)^2 = l1 + l2 + 2 sqrt(l1 l2) = tr M + 2 sqrt(det M) = 10 + 2 sqrt 12.
 * With mu1 - mu2 = (3, 4): d^2 = 25 + 5 + 4 - 2 sqrt(10 + 4 sqrt 3). */
START_TEST(test_frechet_known_2x2) {
    double S1[4] = { 1, 0, 0, 4 }, S2[4] = { 2, 1, 1, 2 }, mu1[2] = { 3, 4 }, mu2[2] = { 0, 0 };
    ck_assert_double_eq_tol(fid_trace_sqrt_product(S1, S2, 2), sqrt(10 + 4 * sqrt(3.0)), 1e-10);
    ck_assert_double_eq_tol(fid_frechet(mu1, S1, mu2, S2, 2), 34 - 2 * sqrt(10 + 4 * sqrt(3.0)), 1e-10);
}
END_TEST

/* §2.8 diagonal covariances: d^2 = |mu1 - mu2|^2 + sum_i (sqrt a_i - sqrt b_i)^2. Commuting covariances
 * (S1 = Q diag(a) Q^T, S2 = Q diag(b) Q^T, same Q) obey the same formula: (S1 S2)^1/2 = Q diag(sqrt(a b)) Q^T.
 * _i = 0: diagonal (Q = I); _i = 1: a random common rotation. n = 8, one eigenvalue 0 (a singular S1).
 * Tolerance: after a rotation the zero eigenvalue comes out as +-eps_d ||S|| ~ 1e-15, whose square root is
 * ~ 3e-8 (sqrt amplifies roundoff near 0) and enters d^2 times 2 sqrt(b) <= 3.6: 1e-7 covers it. */
START_TEST(test_frechet_commuting_closed_form) {
    enum { n = 8 };
    Rng rng = rng_seed(5);
    double Q[n * n], a[n], b[n], S1[n * n], S2[n * n], mu1[n], mu2[n], want = 0;
    if (_i == 0)
        for (int i = 0; i < n * n; i++) Q[i] = i % (n + 1) == 0;
    else random_orthogonal(Q, n, &rng);
    for (int i = 0; i < n; i++) {
        a[i] = i == 0 ? 0 : 0.1 + 3 * rng_uniform(&rng);
        b[i] = 0.1 + 3 * rng_uniform(&rng);
        mu1[i] = rng_normal(&rng);
        mu2[i] = rng_normal(&rng);
        want += (mu1[i] - mu2[i]) * (mu1[i] - mu2[i]) + (sqrt(a[i]) - sqrt(b[i])) * (sqrt(a[i]) - sqrt(b[i]));
    }
    from_spectrum(Q, a, n, S1);
    from_spectrum(Q, b, n, S2);
    ck_assert_double_eq_tol(fid_frechet(mu1, S1, mu2, S2, n), want, 1e-7);
}
END_TEST

/* Identical feature sets: same mean and covariance, so d^2 = tr S + tr S - 2 tr (S^2)^1/2 = 0. The computed
 * value is a difference of O(tr S) terms, so its roundoff is ~ eps_d n^2 tr S: tol 1e-9 tr S. */
START_TEST(test_frechet_identical_sets_zero) {
    enum { n = 500, d = 8 };
    static float feat[n * d];
    Rng rng = rng_seed(7);
    for (int i = 0; i < n * d; i++) feat[i] = (float)(rng_normal(&rng) * (1 + i % d) + (i % 3));
    double mu[d], S[d * d], tr = 0;
    fid_moments(feat, n, d, mu, S);
    for (int i = 0; i < d; i++) tr += S[i * d + i];
    ck_assert_double_eq_tol(fid_frechet(mu, S, mu, S, d), 0.0, 1e-9 * tr);
}
END_TEST

/* Mean and unbiased covariance of 3 rows (1,2), (3,0), (5,4): mu = (3, 2), S = [[4, 2], [2, 4]] (divided by n - 1 = 2). */
START_TEST(test_moments_small_case) {
    float feat[6] = { 1, 2, 3, 0, 5, 4 };
    double mu[2], S[4];
    fid_moments(feat, 3, 2, mu, S);
    ck_assert_double_eq_tol(mu[0], 3, 1e-12);
    ck_assert_double_eq_tol(mu[1], 2, 1e-12);
    ck_assert_double_eq_tol(S[0], 4, 1e-12);
    ck_assert_double_eq_tol(S[1], 2, 1e-12);
    ck_assert_double_eq_tol(S[2], 2, 1e-12);
    ck_assert_double_eq_tol(S[3], 4, 1e-12);
}
END_TEST

Suite *suite_fid(void) {
    Suite *s = suite_create("fid");
    TCase *tc = tcase_create("closed_forms");
    tcase_add_test(tc, test_eigen_sym_reconstructs);
    tcase_add_test(tc, test_frechet_known_2x2);
    tcase_add_loop_test(tc, test_frechet_commuting_closed_form, 0, 2);
    tcase_add_test(tc, test_frechet_identical_sets_zero);
    tcase_add_test(tc, test_moments_small_case);
    suite_add_tcase(s, tc);
    return s;
}
