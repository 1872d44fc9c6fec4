/* Tests of common/toymodel: the Fourier features of the input row against libm; the chunked loss and gradients
 * against one tape over the whole batch, and the same bits on one thread and on two; the time embedding table. */
#include <check.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include "base.h"
#include "toymodel.h"

/* toy_fourier (one libm sin/cos, then double-angle steps in double) against (float)sin(2^k pi x) and cos from
 * libm, over x in [-8, 8] every 2^-12 plus points between: both are within 1e-13 of the exact value in double,
 * so after rounding to float they differ by at most one float ulp (<= 2^-24 for |value| <= 1): tol 6e-8. The
 * data the toy models see lie well inside [-8, 8]. (Measured: 832 of 1.3 million values differ at all, by at most
 * 1.5e-15, near zero, where a float ulp is that small.) */
START_TEST(test_toy_fourier_matches_libm) {
    float f[2 * TOY_FOURIER * 2];
    double worst = 0.0;
    for (int i = -8 * 4096; i <= 8 * 4096; i++) {
        float x[2] = { (float)i / 4096.0f, (float)i / 4096.0f + 0.000123f };
        toy_fourier(f, x, 2);
        for (int k = 0; k < TOY_FOURIER; k++)
            for (int d = 0; d < 2; d++) {
                double w = PI * (double)(1 << k) * x[d];
                double es = fabs(f[2 * (k * 2 + d)] - (float)sin(w)), ec = fabs(f[2 * (k * 2 + d) + 1] - (float)cos(w));
                worst = fmax(worst, fmax(es, ec));
            }
    }
    ck_assert_double_eq_tol(worst, 0.0, 6e-8);
}
END_TEST

/* toy_mse_grad splits the batch into TOY_CHUNKS chunks, each on its own tape, and sums their gradients. Against
 * the plain computation (one tape, ag_mse over all n rows, ag_backward): the loss and every gradient agree to float
 * rounding (relative 1e-5 of the largest gradient; a lost or doubled chunk would be off by a half), for batches that
 * split evenly (256) and not (37), and for D = 1. Then on 1 and on 2 threads: bitwise the same. */
START_TEST(test_toy_mse_grad_matches_one_tape_on_any_threads) {
    static const int cases[3][2] = { { 256, 2 }, { 37, 2 }, { 64, 1 } };   /* n, D */
    int n = cases[_i][0], D = cases[_i][1];
    Arena a;
    arena_init(&a, 32 << 20);
    Rng rng = rng_seed(5 + _i);
    ToyModel m;
    toy_init(&m, D, &rng);
    float *x = malloc(sizeof(float) * n * D), *target = malloc(sizeof(float) * n * D), *time = malloc(sizeof(float) * n);
    rng_normal_fill(&rng, x, (long)n * D);
    rng_normal_fill(&rng, target, (long)n * D);
    for (int i = 0; i < n; i++) time[i] = (float)(1 + rng_int(&rng, 200));
    size_t P = m.params.numel;
    float *g_ref = malloc(sizeof(float) * P), *g1 = malloc(sizeof(float) * P), *g2 = malloc(sizeof(float) * P);

    AgTape tape = ag_tape(&a, 64);   /* the plain computation */
    AgNode *loss = ag_mse(&tape, toy_forward(&m, &tape, x, time, n), ag_input(&tape, tensor_wrap(target, 2, (int[]){ n, D })));
    nn_params_zero_grad(&m.params);
    ag_backward(&tape, loss);
    float l_ref = loss->val.data[0];
    memcpy(g_ref, m.params.grad, sizeof(float) * P);
    arena_pop_to(&a, 0);

    int saved = omp_get_max_threads();
    omp_set_num_threads(1);
    memset(m.params.grad, 0x7f, sizeof(float) * P);   /* overwritten, not accumulated into */
    float l1 = toy_mse_grad(&m, x, time, target, n, &a);
    memcpy(g1, m.params.grad, sizeof(float) * P);
    omp_set_num_threads(2);
    float l2 = 0;
    for (int rep = 0; rep < 3; rep++) {   /* the thread pick tries both counts in its first calls: run it past them */
        m.pick_train = (ThreadPick){ { 0, 0 }, 0, 0, 0, 0, 0, 0, 0 };
        l2 = toy_mse_grad(&m, x, time, target, n, &a);
        ck_assert_int_eq(m.pick_train.last, 1);   /* the first call of a fresh pick runs on all threads */
        memcpy(g2, m.params.grad, sizeof(float) * P);
        ck_assert(memcmp(g1, g2, sizeof(float) * P) == 0);
        ck_assert(memcmp(&l1, &l2, sizeof l1) == 0);
    }
    omp_set_num_threads(saved);
    ck_assert_int_eq(arena_pos(&a), 0);

    double gmax = 0, err = 0;
    for (size_t i = 0; i < P; i++) { gmax = fmax(gmax, fabs(g_ref[i])); err = fmax(err, fabs(g1[i] - g_ref[i])); }
    ck_assert(gmax > 0);
    ck_assert_msg(err <= 1e-5 * gmax, "gradient differs by %g (largest %g)", err, gmax);
    ck_assert_float_eq_tol(l1, l_ref, 1e-5f * l_ref);
    free(x); free(target); free(time); free(g_ref); free(g1); free(g2);
    toy_free(&m);
    arena_free(&a);
}
END_TEST

/* toy_predict on 2000 points (its GEMMs are split over threads) has the same bits on one thread and on two, over
 * five calls (the pick's first calls use both counts). */
START_TEST(test_toy_predict_same_bits_on_any_threads) {
    enum { N = 2000 };
    Arena a;
    arena_init(&a, 64 << 20);
    Rng rng = rng_seed(3);
    ToyModel m;
    toy_init(&m, 2, &rng);
    float *x = malloc(sizeof(float) * N * 2), *y1 = malloc(sizeof(float) * N * 2), *y2 = malloc(sizeof(float) * N * 2);
    rng_normal_fill(&rng, x, 2L * N);
    int saved = omp_get_max_threads();
    omp_set_num_threads(1);
    toy_predict(&m, x, N, 40, y1, &a);
    omp_set_num_threads(2);
    int used[2] = { 0, 0 };
    for (int call = 0; call < 5; call++) {
        toy_predict(&m, x, N, 40, y2, &a);
        used[m.pick_predict.last]++;
        ck_assert(memcmp(y1, y2, sizeof(float) * N * 2) == 0);
    }
    ck_assert(used[0] >= 1 && used[1] >= 1);
    omp_set_num_threads(saved);
    free(x); free(y1); free(y2);
    toy_free(&m);
    arena_free(&a);
}
END_TEST

/* The time embedding of whole steps comes from the model's table (toy_init): the network's output is bitwise the
 * same as with the embedding computed (the table taken away), at steps 0, 1, 7, 200, 999 and 1000; a batch with one
 * time between steps, or past the table, is computed and matches too, so no time is ever looked up wrongly. */
START_TEST(test_toy_time_table_same_bits) {
    enum { N = 6 };
    Arena a;
    arena_init(&a, 16 << 20);
    Rng rng = rng_seed(11);
    ToyModel m;
    toy_init(&m, 2, &rng);
    float x[N * 2], out_table[N * 2], out_computed[N * 2];
    rng_normal_fill(&rng, x, 2L * N);
    static const float batches[3][N] = { { 0, 1, 7, 200, 999, 1000 },       /* whole steps: the table */
                                         { 0, 1, 7, 200.5f, 999, 1000 },    /* one between steps: computed */
                                         { 3, 1001, 7, 8, 9, 10 } };        /* one past the table: computed */
    for (int b = 0; b < 3; b++) {
        float *table = m.temb_table;
        for (int pass = 0; pass < 2; pass++) {
            m.temb_table = pass ? NULL : table;   /* NULL: computed by nn_time_embedding */
            AgTape tape = ag_tape_no_grad(&a, 64);
            AgNode *y = toy_forward(&m, &tape, x, batches[b], N);
            memcpy(pass ? out_computed : out_table, y->val.data, sizeof out_table);
            arena_pop_to(&a, 0);
        }
        m.temb_table = table;
        ck_assert_msg(memcmp(out_table, out_computed, sizeof out_table) == 0, "batch %d differs", b);
    }
    toy_free(&m);
    arena_free(&a);
}
END_TEST

Suite *suite_toymodel(void) {
    Suite *s = suite_create("toymodel");
    TCase *tc = tcase_create("fourier");
    tcase_add_test(tc, test_toy_fourier_matches_libm);
    tcase_add_loop_test(tc, test_toy_mse_grad_matches_one_tape_on_any_threads, 0, 3);
    tcase_add_test(tc, test_toy_predict_same_bits_on_any_threads);
    tcase_add_test(tc, test_toy_time_table_same_bits);
    suite_add_tcase(s, tc);
    return s;
}
