/* Tests of common/attention: ag_attention's backward against central differences, and its forward against
 * two closed forms.
 *
 * Gradient check as in test_autograd.c: L = sum_i w_i y_i with fixed random w, central differences in double of
 * the float forward with h = 1e-2, err = |g_ad - g_fd| / max(1, |g_fd|) < 1e-3 (truncation h^2/6 |L'''| with
 * softmax's third derivatives O(1) and |w| <= 1 over 2 x 2 x 6 outputs: ~4e-4 at most; float rounding
 * 6e-8 * sum|w y| / h ~ 1e-4). Shapes N = 2, C = 2, H x W = 2 x 3 (P = 6 tokens, not square). */
#include <check.h>
#include <math.h>
#include <string.h>
#include "attention.h"
#include "rng.h"

enum { N = 2, C = 2, H = 2, W = 3, P = H * W, NIN = N * 3 * C * P, NOUT = N * C * P };

static float val[NIN], grad[NIN], wts[NOUT];

static double loss(Arena *a, int backward) {
    size_t mark = arena_pos(a);
    AgTape t = ag_tape(a, 8);
    AgNode *y = ag_attention(&t, ag_leaf(&t, val, grad, 4, (int[]){ N, 3 * C, H, W }));
    double L = 0;
    for (int i = 0; i < NOUT; i++) L += (double)wts[i] * y->val.data[i];
    if (backward) ag_backward(&t, ag_sum(&t, ag_mul(&t, y, ag_input(&t, tensor_wrap(wts, 4, (int[]){ N, C, H, W })))));
    arena_pop_to(a, mark);
    return L;
}

START_TEST(test_attention_gradient) {
    Arena a;
    arena_init(&a, 1 << 20);
    Rng rng = rng_seed(21);
    for (int i = 0; i < NIN; i++) val[i] = (float)((rng_uniform(&rng) < 0.5 ? -1 : 1) * (0.1 + 1.4 * rng_uniform(&rng)));
    for (int i = 0; i < NOUT; i++) wts[i] = (float)(2 * rng_uniform(&rng) - 1);
    memset(grad, 0, sizeof grad);
    loss(&a, 1);
    double worst = 0;
    for (int i = 0; i < NIN; i++) {
        float x0 = val[i], xp = x0 + 1e-2f, xm = x0 - 1e-2f;
        val[i] = xp; double lp = loss(&a, 0);
        val[i] = xm; double lm = loss(&a, 0);
        val[i] = x0;
        double fd = (lp - lm) / ((double)xp - xm), err = fabs(grad[i] - fd) / fmax(1.0, fabs(fd));
        worst = err > worst ? err : worst;
        ck_assert_msg(err < 1e-3, "input %d: tape %.6g, finite difference %.6g", i, grad[i], fd);
    }
    printf("attention gradcheck max relative error %.2e (tol 1e-3)\n", worst);
    arena_free(&a);
}
END_TEST

/* Q = 0: every similarity is 0, A is uniform (1/P), so every pixel's output is the mean of the values. And a
 * single pixel (P = 1) attends only to itself: O = V exactly. Float sums of 6 terms: tol 1e-6. */
START_TEST(test_attention_closed_forms) {
    Arena a;
    arena_init(&a, 1 << 20);
    Rng rng = rng_seed(22);
    for (int i = 0; i < NIN; i++) val[i] = (float)rng_normal(&rng);
    for (int n = 0; n < N; n++) memset(val + (size_t)n * 3 * C * P, 0, sizeof(float) * C * P);   /* Q = 0 */
    AgTape t = ag_tape_no_grad(&a, 4);
    AgNode *y = ag_attention(&t, ag_input(&t, tensor_wrap(val, 4, (int[]){ N, 3 * C, H, W })));
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++) {
            const float *V = val + (size_t)n * 3 * C * P + (size_t)(2 * C + c) * P;
            double mean = 0;
            for (int j = 0; j < P; j++) mean += V[j] / P;
            for (int i = 0; i < P; i++) ck_assert_double_eq_tol(y->val.data[((size_t)n * C + c) * P + i], mean, 1e-6);
        }
    AgNode *y1 = ag_attention(&t, ag_input(&t, tensor_wrap(val, 4, (int[]){ N * P, 3 * C, 1, 1 })));
    for (int m = 0; m < N * P; m++)
        for (int c = 0; c < C; c++) ck_assert_double_eq_tol(y1->val.data[m * C + c], val[m * 3 * C + 2 * C + c], 1e-6);
    arena_free(&a);
}
END_TEST

Suite *suite_attention(void) {
    Suite *s = suite_create("attention");
    TCase *tc = tcase_create("attention");
    tcase_add_test(tc, test_attention_gradient);
    tcase_add_test(tc, test_attention_closed_forms);
    suite_add_tcase(s, tc);
    return s;
}
