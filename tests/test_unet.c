/* Tests of common/unet: the attention block is declared zero-initialised at its output, so a U-Net with
 * attention and the same other weights computes exactly the network without it (h + 0); and the checkpoint
 * metadata's "attention" key decides which of the two layouts unet_model_load declares; and a prediction has the
 * same bits on one thread and on two. */
#include <check.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "io.h"
#include "unet.h"

START_TEST(test_attention_starts_as_identity) {
    enum { N = 2, C = 8 };
    Params p0, p1;
    Unet u0, u1;
    nn_params_init(&p0);
    nn_params_init(&p1);
    unet_declare(&p0, &u0, C);
    unet_declare_attention(&p1, &u1, C, 1);
    Rng r0 = rng_seed(1), r1 = rng_seed(2);
    nn_params_alloc(&p0, &r0);
    nn_params_alloc(&p1, &r1);
    ck_assert_int_eq(p1.n, p0.n + 6);   /* norm (2), qkv (2), out (2) */
    for (int i = 0; i < p0.n; i++) {    /* the shared weights, copied by name */
        int j = nn_params_find(&p1, p0.entry[i].name);
        ck_assert_int_ge(j, 0);
        memcpy(nn_params_data(&p1, j), nn_params_data(&p0, i), sizeof(float) * p0.entry[i].numel);
    }
    float x[N * 784], steps[N] = { 3, 200 };
    Rng rx = rng_seed(3);
    rng_normal_fill(&rx, x, N * 784);
    Arena a;
    arena_init(&a, (size_t)64 << 20);
    /* the output conv is zero-initialised in both (eps_hat = 0 either way): give both the same random read-out */
    int o0 = nn_params_find(&p0, "out.conv.weight"), o1 = nn_params_find(&p1, "out.conv.weight");
    rng_normal_fill(&rx, nn_params_data(&p0, o0), (long)p0.entry[o0].numel);
    memcpy(nn_params_data(&p1, o1), nn_params_data(&p0, o0), sizeof(float) * p0.entry[o0].numel);
    AgTape t0 = ag_tape_no_grad(&a, UNET_MAX_NODES), t1 = ag_tape_no_grad(&a, UNET_MAX_NODES);
    AgNode *y0 = unet_forward(&t0, &p0, &u0, x, steps, N), *y1 = unet_forward(&t1, &p1, &u1, x, steps, N);
    double worst = 0;
    for (int i = 0; i < N * 784; i++) worst = fmax(worst, fabs(y0->val.data[i] - y1->val.data[i]));
    ck_assert_double_eq_tol(worst, 0.0, 1e-6);   /* h + 0 is h exactly; identical float ops elsewhere */
    arena_free(&a);
    nn_params_free(&p0);
    nn_params_free(&p1);
}
END_TEST

/* A checkpoint written with "attention": "1" loads as the attention layout; without the key, as the old one. */
START_TEST(test_loader_reads_attention_flag) {
    for (int att = 0; att <= 1; att++) {
        Params p;
        Unet u;
        nn_params_init(&p);
        unet_declare_attention(&p, &u, 8, att);
        Rng r = rng_seed(4);
        nn_params_alloc(&p, &r);
        char path[64], meta[96];
        snprintf(path, sizeof path, "/tmp/test_unet_%d_%d.safetensors", (int)getpid(), att);
        snprintf(meta, sizeof meta, "{\"T\": \"50\", \"width\": \"8\", \"step\": \"0\"%s}", att ? ", \"attention\": \"1\"" : "");
        static const char *const prefix[1] = { "ema" };
        float *const block[1] = { p.data };
        ck_assert_int_eq(nn_params_save(&p, path, block, prefix, 1, meta), 0);
        UnetModel m;
        ck_assert_int_eq(unet_model_load(&m, path), 0);
        ck_assert_int_eq(m.unet.attention, att);
        ck_assert_int_eq(m.params.n, p.n);
        ck_assert_int_eq(memcmp(m.params.data, p.data, sizeof(float) * p.numel), 0);
        unet_model_free(&m);
        nn_params_free(&p);
        unlink(path);
    }
}
END_TEST

/* unet_model_predict runs each pass on one thread or on both (m.pick picks by timing): the output must not
 * depend on which. A width-16 network with attention and random weights (every entry perturbed, so no zero-initialised
 * layer hides a difference), 7 images: bitwise equal on 1 thread, and on 2 over five calls (the pick's first calls
 * use both counts, later ones may probe). */
START_TEST(test_predict_same_bits_on_any_threads) {
    enum { N = 7 };
    UnetModel m;
    memset(&m, 0, sizeof m);
    nn_params_init(&m.params);
    unet_declare_attention(&m.params, &m.unet, 16, 1);
    Rng r = rng_seed(9);
    nn_params_alloc(&m.params, &r);
    for (size_t i = 0; i < m.params.numel; i++) m.params.data[i] += 0.05f * (float)rng_normal(&r);
    m.T = 50;
    float *x = malloc(sizeof(float) * N * 784), *y1 = malloc(sizeof(float) * N * 784), *y2 = malloc(sizeof(float) * N * 784);
    rng_normal_fill(&r, x, (long)N * 784);
    Arena a;
    arena_init(&a, 256 << 20);
    int saved = omp_get_max_threads();
    omp_set_num_threads(1);
    unet_model_predict(&m, x, N, 17.0f, y1, &a);
    omp_set_num_threads(2);
    int used[2] = { 0, 0 };
    for (int call = 0; call < 5; call++) {
        unet_model_predict(&m, x, N, 17.0f, y2, &a);
        used[m.pick.last]++;
        ck_assert(memcmp(y1, y2, sizeof(float) * N * 784) == 0);
    }
    ck_assert(used[0] >= 1 && used[1] >= 1);   /* both counts ran */
    double mag = 0;
    for (int i = 0; i < N * 784; i++) mag = fmax(mag, fabs(y1[i]));
    ck_assert(mag > 1e-3);                     /* a real output, not zeros */
    omp_set_num_threads(saved);
    free(x); free(y1); free(y2);
    arena_free(&a);
    unet_model_free(&m);
}
END_TEST

Suite *suite_unet(void) {
    Suite *s = suite_create("unet");
    TCase *tc = tcase_create("attention");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_attention_starts_as_identity);
    tcase_add_test(tc, test_loader_reads_attention_flag);
    tcase_add_test(tc, test_predict_same_bits_on_any_threads);
    suite_add_tcase(s, tc);
    return s;
}
