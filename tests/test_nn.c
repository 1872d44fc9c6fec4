/* Tests of common/nn: parameter block layout and counts, PyTorch-style init, the MLP forward
 * against hand-written loops, its gradients through the block by finite differences, and the
 * sinusoidal time embedding against its formula. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "nn.h"

/* widths {4,16,128,128,128,128,16,2}: sum over layers of out*in + out =
 * 80 + 2176 + 3*16512 + 2064 + 34 = 53,890 parameters, 7 layers, 14 entries. */
START_TEST(test_mlp_4_16_128x4_16_2_has_53890_parameters) {
    Params p;
    Mlp m;
    nn_params_init(&p);
    nn_mlp_declare(&p, &m, "mlp", 8, (int[]){ 4, 16, 128, 128, 128, 128, 16, 2 }, NN_GELU);
    ck_assert_uint_eq(nn_params_count(&p), 53890);
    ck_assert_int_eq(m.n_layers, 7);
    ck_assert_int_eq(p.n, 14);
    Rng rng = rng_seed(1);
    nn_params_alloc(&p, &rng);
    ck_assert_uint_eq(nn_params_count(&p), 53890);
    nn_params_free(&p);
}
END_TEST

/* Entries are contiguous in declaration order, named as PyTorch names them, findable by name. */
START_TEST(test_params_layout_and_names) {
    Params p;
    Mlp m;
    nn_params_init(&p);
    nn_mlp_declare(&p, &m, "eps", 3, (int[]){ 3, 5, 2 }, NN_SILU);
    int extra = nn_params_declare(&p, "scale", 1, (int[]){ 7 }, NN_INIT_ONE);
    Rng rng = rng_seed(2);
    nn_params_alloc(&p, &rng);
    const char *names[5] = { "eps.0.weight", "eps.0.bias", "eps.1.weight", "eps.1.bias", "scale" };
    size_t off = 0;
    for (int i = 0; i < 5; i++) {
        ck_assert_str_eq(p.entry[i].name, names[i]);
        ck_assert_int_eq(nn_params_find(&p, names[i]), i);
        ck_assert_uint_eq(p.entry[i].offset, off);
        ck_assert_ptr_eq(nn_params_data(&p, i), p.data + off);
        off += p.entry[i].numel;
    }
    ck_assert_uint_eq(off, p.numel);
    ck_assert_int_eq(nn_params_find(&p, "nope"), -1);
    ck_assert_int_eq(p.entry[m.layer[1].W].shape[0], 2);
    ck_assert_int_eq(p.entry[m.layer[1].W].shape[1], 5);
    for (int j = 0; j < 7; j++) ck_assert_float_eq(nn_params_data(&p, extra)[j], 1.0f);
    nn_params_free(&p);
}
END_TEST

/* NN_INIT_UNIFORM as torch.nn.Linear: weight and bias ~ U(-k, k), k = 1/sqrt(in). On a 256 -> 256
 * layer (65,536 weights): every |w| <= k, and the sample variance is k^2/3 within 5 standard errors,
 * sd(var) = sqrt((mu4 - sigma^4)/n) = k^2 sqrt((1/5 - 1/9)/n). Bias: all 256 within k = 1/16. */
START_TEST(test_uniform_init_bound_is_one_over_sqrt_fan_in) {
    enum { IN = 256, OUT = 256 };
    Params p;
    Linear l;
    nn_params_init(&p);
    nn_linear_declare(&p, &l, "fc", IN, OUT);
    Rng rng = rng_seed(3);
    nn_params_alloc(&p, &rng);
    double k = 1.0 / sqrt(IN), s2 = 0.0;
    const float *w = nn_params_data(&p, l.W), *b = nn_params_data(&p, l.b);
    for (int i = 0; i < IN * OUT; i++) { ck_assert(fabs(w[i]) <= k); s2 += (double)w[i] * w[i]; }
    double n = IN * OUT;
    ck_assert_double_eq_tol(s2 / n, k * k / 3, 5 * k * k * sqrt((1.0 / 5 - 1.0 / 9) / n));
    ck_assert_int_eq(p.entry[l.b].fan_in, IN);
    for (int i = 0; i < OUT; i++) ck_assert(fabs(b[i]) <= k);
    nn_params_free(&p);
}
END_TEST

/* The MLP forward equals the same net written as loops in double: y = W2 act(W1 x + b1) + b2 for
 * each activation. Tol: float forward with K <= 6 terms per dot product, values O(1):
 * a few ulps x K ~ 1e-6; 1e-5 leaves a margin. */
START_TEST(test_mlp_forward_matches_loops) {
    static const int acts[4] = { NN_RELU, NN_SILU, NN_GELU, NN_TANH };
    int act = acts[_i];
    Params p;
    Mlp m;
    nn_params_init(&p);
    nn_mlp_declare(&p, &m, "m", 3, (int[]){ 3, 6, 2 }, act);
    Rng rng = rng_seed(4);
    nn_params_alloc(&p, &rng);
    float x[4 * 3];
    rng_normal_fill(&rng, x, 12);
    Arena a;
    arena_init(&a, 1 << 16);
    AgTape t = ag_tape(&a, 16);
    AgNode *y = nn_mlp_forward(&t, &p, &m, ag_input(&t, tensor_wrap(x, 2, (int[]){ 4, 3 })));
    const float *W1 = nn_params_data(&p, m.layer[0].W), *b1 = nn_params_data(&p, m.layer[0].b);
    const float *W2 = nn_params_data(&p, m.layer[1].W), *b2 = nn_params_data(&p, m.layer[1].b);
    for (int n = 0; n < 4; n++) {
        double h[6];
        for (int j = 0; j < 6; j++) {
            double z = b1[j];
            for (int i = 0; i < 3; i++) z += (double)W1[j * 3 + i] * x[n * 3 + i];
            if (act == NN_RELU) h[j] = z > 0 ? z : 0;
            else if (act == NN_SILU) h[j] = z / (1 + exp(-z));
            else if (act == NN_GELU) h[j] = 0.5 * z * (1 + tanh(sqrt(2 / PI) * (z + 0.044715 * z * z * z)));
            else h[j] = tanh(z);
        }
        for (int o = 0; o < 2; o++) {
            double z = b2[o];
            for (int j = 0; j < 6; j++) z += (double)W2[o * 6 + j] * h[j];
            ck_assert_double_eq_tol(y->val.data[n * 2 + o], z, 1e-5);
        }
    }
    arena_free(&a);
    nn_params_free(&p);
}
END_TEST

static double mlp_loss(Params *p, const Mlp *m, float *x, float *target, Arena *a, int backward) {
    size_t mark = arena_pos(a);
    AgTape t = ag_tape(a, 32);
    Tensor xs = tensor_wrap(x, 2, (int[]){ 5, 2 }), ts = tensor_wrap(target, 2, (int[]){ 5, 2 });
    AgNode *loss = ag_mse(&t, nn_mlp_forward(&t, p, m, ag_input(&t, xs)), ag_input(&t, ts));
    if (backward) ag_backward(&t, loss);
    double L = loss->val.data[0];
    arena_pop_to(a, mark);
    return L;
}

/* Gradients land at the right offsets of p.grad: every parameter of a 2 -> 8 -> 8 -> 2 tanh MLP
 * under an MSE loss, against central differences (h = 1e-2, step taken in float). Tol as in
 * test_autograd: truncation h^2/6 |L'''| ~ 2e-5 (tanh, weights ~ U(-0.7, 0.7)), rounding
 * eps |L| / h ~ 6e-6; err = |g - fd| / max(1, |fd|) < 1e-3. */
START_TEST(test_mlp_param_grads_match_central_difference) {
    Params p;
    Mlp m;
    nn_params_init(&p);
    nn_mlp_declare(&p, &m, "m", 4, (int[]){ 2, 8, 8, 2 }, NN_TANH);
    Rng rng = rng_seed(5);
    nn_params_alloc(&p, &rng);
    float x[10], target[10];
    rng_normal_fill(&rng, x, 10);
    rng_normal_fill(&rng, target, 10);
    Arena a;
    arena_init(&a, 1 << 16);
    nn_params_zero_grad(&p);
    mlp_loss(&p, &m, x, target, &a, 1);
    double worst = 0.0, h = 1e-2;
    for (size_t i = 0; i < p.numel; i++) {
        float w0 = p.data[i], wp = (float)(w0 + h), wm = (float)(w0 - h);
        p.data[i] = wp;
        double Lp = mlp_loss(&p, &m, x, target, &a, 0);
        p.data[i] = wm;
        double Lm = mlp_loss(&p, &m, x, target, &a, 0);
        p.data[i] = w0;
        double fd = (Lp - Lm) / ((double)wp - wm), err = fabs(p.grad[i] - fd) / fmax(1.0, fabs(fd));
        if (err > worst) worst = err;
        ck_assert_msg(err < 1e-3, "param %zu: tape %g, finite difference %g", i, p.grad[i], fd);
    }
    printf("nn mlp gradcheck over %zu parameters: max relative error %.2e (tol 1e-3)\n", p.numel, worst);
    arena_free(&a);
    nn_params_free(&p);
}
END_TEST

/* out[n,i] = sin(t f_i), out[n,half+i] = cos(t f_i), f_i = 10000^(-i/half), evaluated in double
 * here. Tol 1e-6: the values are in [-1, 1], so one float rounding is <= 6e-8. Also the first
 * pair is (sin t, cos t) exactly as the formula with f_0 = 1 says. */
START_TEST(test_time_embedding_matches_formula) {
    enum { N = 3, DIM = 16 };
    const float t[N] = { 0.0f, 1.0f, 999.0f };
    float out[N * DIM];
    nn_time_embedding(out, t, N, DIM, 10000.0f);
    for (int n = 0; n < N; n++)
        for (int i = 0; i < DIM / 2; i++) {
            double f = pow(10000.0, -(double)i / (DIM / 2));
            ck_assert_double_eq_tol(out[n * DIM + i], sin(t[n] * f), 1e-6);
            ck_assert_double_eq_tol(out[n * DIM + DIM / 2 + i], cos(t[n] * f), 1e-6);
        }
    ck_assert_double_eq_tol(out[1 * DIM + 0], sin(1.0), 1e-6);
    ck_assert_double_eq_tol(out[1 * DIM + DIM / 2], cos(1.0), 1e-6);
}
END_TEST

/* A checkpoint of two blocks (weights and a second copy, as EMA) round-trips bit for bit; a file written for
 * another layout (a wider MLP) is refused. */
START_TEST(test_params_checkpoint_round_trip) {
    char dir[] = "/tmp/test_nn_XXXXXX", path[96], cmd[128];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/m.safetensors", dir);
    Rng rng = rng_seed(3);
    Params p, q, wide;
    Mlp m, mq, mw;
    nn_params_init(&p); nn_params_init(&q); nn_params_init(&wide);
    nn_mlp_declare(&p, &m, "net", 3, (int[]){ 2, 8, 2 }, NN_SILU);
    nn_mlp_declare(&q, &mq, "net", 3, (int[]){ 2, 8, 2 }, NN_SILU);
    nn_mlp_declare(&wide, &mw, "net", 3, (int[]){ 2, 9, 2 }, NN_SILU);
    nn_params_alloc(&p, &rng); nn_params_alloc(&q, &rng); nn_params_alloc(&wide, &rng);
    size_t n = nn_params_count(&p);
    float *ema = malloc(sizeof(float) * n), *ema_back = malloc(sizeof(float) * n);
    for (size_t i = 0; i < n; i++) ema[i] = 0.5f * p.data[i] + 1.0f;
    static const char *const prefix[2] = { "model", "ema" };
    float *const out[2] = { p.data, ema }, *const in[2] = { q.data, ema_back };
    ck_assert_int_eq(nn_params_save(&p, path, out, prefix, 2, "{\"step\": \"7\"}"), 0);
    ck_assert_int_eq(nn_params_load(&q, path, in, prefix, 2), 0);
    ck_assert_int_eq(memcmp(p.data, q.data, sizeof(float) * n), 0);
    ck_assert_int_eq(memcmp(ema, ema_back, sizeof(float) * n), 0);
    float *const wide_in[2] = { wide.data, wide.data };
    ck_assert_int_ne(nn_params_load(&wide, path, wide_in, prefix, 1), 0);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
    free(ema); free(ema_back);
    nn_params_free(&p); nn_params_free(&q); nn_params_free(&wide);
}
END_TEST

Suite *suite_nn(void) {
    Suite *s = suite_create("nn");
    TCase *tc = tcase_create("params");
    tcase_add_test(tc, test_mlp_4_16_128x4_16_2_has_53890_parameters);
    tcase_add_test(tc, test_params_layout_and_names);
    tcase_add_test(tc, test_uniform_init_bound_is_one_over_sqrt_fan_in);
    tcase_add_test(tc, test_params_checkpoint_round_trip);
    suite_add_tcase(s, tc);
    TCase *tf = tcase_create("forward");
    tcase_add_loop_test(tf, test_mlp_forward_matches_loops, 0, 4);
    tcase_add_test(tf, test_mlp_param_grads_match_central_difference);
    tcase_add_test(tf, test_time_embedding_matches_formula);
    suite_add_tcase(s, tf);
    return s;
}
