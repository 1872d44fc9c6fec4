/* Tests of common/classifier: the cross-entropy's gradient against central differences, and the shipped
 * classifier's test accuracy against the value its checkpoint records. */
#include <check.h>
#include <math.h>
#include <string.h>
#include "classifier.h"
#include "fmnist.h"
#include "io.h"

enum { N = 3, K = 4 };
static const unsigned char LABELS[N] = { 0, 3, 1 };

static double xent_loss(float *z, float *dz, Arena *a) {
    static float scratch[N * K];   /* a leaf needs grad memory even when no backward runs */
    size_t mark = arena_pos(a);
    AgTape t = ag_tape(a, 8);
    AgNode *loss = ag_cross_entropy(&t, ag_leaf(&t, z, dz ? dz : scratch, 2, (int[]){ N, K }), LABELS);
    if (dz) ag_backward(&t, loss);
    double l = loss->val.data[0];
    arena_pop_to(a, mark);
    return l;
}

/* d/dz_nk (1/N) sum_n [logsumexp(z_n) - z_n,y_n] against (L(z + h) - L(z - h)) / 2h, h = 1e-2, logits in [-3, 3].
 * Tolerance as in test_autograd: truncation h^2/6 |L'''| <= 1e-4/6 (softmax derivatives are <= 1) plus the float
 * forward's rounding 6e-8 * |L| / h ~ 1e-5: 1e-3 is loose enough, and a wrong sign or 1/N gives >= 0.03. */
START_TEST(test_cross_entropy_gradient) {
    Arena a;
    arena_init(&a, 1 << 16);
    float z[N * K], dz[N * K] = { 0 };
    Rng rng = rng_seed(9);
    for (int i = 0; i < N * K; i++) z[i] = (float)(6 * rng_uniform(&rng) - 3);
    xent_loss(z, dz, &a);
    for (int i = 0; i < N * K; i++) {
        float z0 = z[i], zp = z0 + 1e-2f, zm = z0 - 1e-2f;
        z[i] = zp; double lp = xent_loss(z, NULL, &a);
        z[i] = zm; double lm = xent_loss(z, NULL, &a);
        z[i] = z0;
        ck_assert_double_eq_tol(dz[i], (lp - lm) / ((double)zp - zm), 1e-3);
    }
    arena_free(&a);
}
END_TEST

/* Equal logits: softmax is uniform and the loss is log K exactly (up to float rounding of log 4). */
START_TEST(test_cross_entropy_uniform_is_log_k) {
    Arena a;
    arena_init(&a, 1 << 16);
    float z[N * K];
    for (int i = 0; i < N * K; i++) z[i] = 7.0f;
    ck_assert_double_eq_tol(xent_loss(z, NULL, &a), log((double)K), 1e-6);
    arena_free(&a);
}
END_TEST

/* The shipped classifier (./score --train) reaches on the first 2000 test images the accuracy its metadata
 * records for all 10000, within 5 binomial standard errors sqrt(p(1-p)/2000) (~0.034 at p = 0.9; the
 * subset is part of the 10k, so this is conservative), and that recorded accuracy is >= 0.90 (issue 15). */
START_TEST(test_shipped_classifier_accuracy) {
    Fmnist test;
    if (fmnist_load(&test, NULL, 0, 2000)) return;   /* no data set installed: nothing to check */
    Rng rng = rng_seed(1);
    Classifier c;
    classifier_init(&c, &rng);
    ck_assert_int_eq(classifier_load(&c, CLASSIFIER_CKPT), 0);
    char buf[32];
    ck_assert_int_eq(io_safetensors_metadata(CLASSIFIER_CKPT, "test_accuracy", buf, sizeof buf), 0);
    double recorded = atof(buf);
    ck_assert_double_ge(recorded, 0.90);
    Arena a;
    arena_init(&a, (size_t)256 << 20);
    float *probs = malloc(sizeof(float) * test.n * CLASSIFIER_CLASSES);
    classifier_eval(&c, test.images, test.n, NULL, probs, &a);
    int right = 0;
    for (int i = 0; i < test.n; i++) right += classifier_argmax(probs + i * CLASSIFIER_CLASSES) == test.labels[i];
    double acc = (double)right / test.n;
    printf("classifier accuracy on 2000 test images %.4f (recorded on 10000: %.4f)\n", acc, recorded);
    ck_assert_double_eq_tol(acc, recorded, 5 * sqrt(recorded * (1 - recorded) / test.n));
    free(probs);
    arena_free(&a);
    classifier_free(&c);
    fmnist_free(&test);
}
END_TEST

Suite *suite_classifier(void) {
    Suite *s = suite_create("classifier");
    TCase *tc = tcase_create("classifier");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_cross_entropy_gradient);
    tcase_add_test(tc, test_cross_entropy_uniform_is_log_k);
    tcase_add_test(tc, test_shipped_classifier_accuracy);
    suite_add_tcase(s, tc);
    return s;
}
