/* Tests of common/schedule: the identities of §2.2-§2.3 and §2.6 that every chapter relies on. */
#include <check.h>
#include <math.h>
#include "schedule.h"

/* §2.3 alpha_bar[t] = prod_{i<=t} (1 - beta[i]), recomputed independently. Tol: 1e-12 (1000 products in double). */
START_TEST(test_alpha_bar_is_product) {
    Schedule s;
    sched_init(&s, _i == 0 ? SCHED_LINEAR : SCHED_COSINE, 1000);
    double p = 1.0;
    for (int t = 1; t <= s.T; t++) {
        p *= 1.0 - s.beta[t];
        ck_assert_double_eq_tol(s.alpha_bar[t], p, 1e-12);
        ck_assert_double_eq_tol(s.alpha[t] + s.beta[t], 1.0, 1e-15);
        ck_assert(s.alpha_bar[t] < s.alpha_bar[t - 1]);            /* strictly decreasing */
    }
    ck_assert(s.alpha_bar[s.T] < 1e-3);                             /* x_T is nearly pure noise */
    sched_free(&s);
}
END_TEST

START_TEST(test_linear_endpoints) {
    Schedule s;
    sched_init(&s, SCHED_LINEAR, 1000);
    ck_assert_double_eq_tol(s.beta[1], 1e-4, 1e-15);
    ck_assert_double_eq_tol(s.beta[1000], 0.02, 1e-15);
    ck_assert_double_eq_tol(s.alpha_bar[1000], 4.0358e-5, 1e-8);   /* DDPM's well-known alpha_bar_T for this schedule */
    sched_free(&s);
}
END_TEST

/* §2.2 variance recursion v_t = alpha_t v_{t-1} + (1 - alpha_t) gives |v_t - 1| = alpha_bar_t |v_0 - 1|. */
START_TEST(test_variance_preservation) {
    Schedule s;
    sched_init(&s, SCHED_LINEAR, 1000);
    double v0 = 9.0, v = v0;
    for (int t = 1; t <= s.T; t++) {
        v = s.alpha[t] * v + (1.0 - s.alpha[t]);
        ck_assert_double_eq_tol(v - 1.0, s.alpha_bar[t] * (v0 - 1.0), 1e-12);
    }
    sched_free(&s);
}
END_TEST

/* §2.6 sigma_q^2 = (1-alpha)(1-abar_{t-1})/(1-abar_t) is the variance of x_{t-1} given x_t and x0. Check it against
 * the precision sum 1/sigma_q^2 = alpha_t/(1-alpha_t) + 1/(1-abar_{t-1}) obtained by completing the square. */
START_TEST(test_posterior_var_precision_form) {
    Schedule s;
    sched_init(&s, SCHED_COSINE, 200);
    for (int t = 2; t <= s.T; t++) {
        double prec = s.alpha[t] / (1 - s.alpha[t]) + 1 / (1 - s.alpha_bar[t - 1]);
        ck_assert_double_eq_tol(sched_posterior_var(&s, t) * prec, 1.0, 1e-10);
    }
    ck_assert_double_eq_tol(sched_posterior_var(&s, 1), 0.0, 1e-15);   /* x0 known: no posterior spread */
    sched_free(&s);
}
END_TEST

/* sigma^2 = (1 - abar)/abar, the noise-level view x/sqrt(abar) = x0 + sigma eps. */
START_TEST(test_sigma_view) {
    Schedule s;
    sched_init(&s, SCHED_LINEAR, 100);
    for (int t = 0; t <= s.T; t++) {
        double sg = sched_sigma(&s, t);
        ck_assert_double_eq_tol(1.0 / (1.0 + sg * sg), s.alpha_bar[t], 1e-12);
    }
    sched_free(&s);
}
END_TEST

Suite *suite_schedule(void) {
    Suite *s = suite_create("schedule");
    TCase *tc = tcase_create("identities");
    tcase_add_loop_test(tc, test_alpha_bar_is_product, 0, 2);
    tcase_add_test(tc, test_linear_endpoints);
    tcase_add_test(tc, test_variance_preservation);
    tcase_add_test(tc, test_posterior_var_precision_form);
    tcase_add_test(tc, test_sigma_view);
    suite_add_tcase(s, tc);
    return s;
}
