/* Tests of common/autograd: every op's backward against central finite differences of the loss.
 *
 * The gradient check. For each op y = f(inputs) we take the scalar loss L = sum_i w_i y_i with fixed
 * random weights w (so every output's gradient is exercised with a different seed value). The
 * analytic gradient comes from the tape (L built as ag_sum(ag_mul(y, w)), then ag_backward). The
 * reference is the central difference of L computed in double from the float forward values:
 *   g_fd = (L(x + h) - L(x - h)) / (x_+ - x_-),   x_+- = fl(x +- h), h = 1e-2,
 * dividing by the step actually taken in float so the rounding of x +- h adds no error.
 * Tolerance, on err = |g_ad - g_fd| / max(1, |g_fd|):
 *   truncation h^2/6 |L'''| <= 1e-4/6 * 16 = 2.7e-4 (the worst third derivative on our input
 *     ranges is log's 2/x^3 at x = 0.5; exp's is e^1.5 = 4.5, the rest are O(1));
 *   rounding of the float forward, eps_f * sum|w_i y_i| / h <= 6e-8 * 20 / 1e-2 = 1.2e-4
 *     (sum|w y| <= ~20 for our (3,4)-sized inputs; terms not touched by x cancel exactly);
 * total < 4e-4, so tol = 1e-3 has a safety factor ~2.5 without hiding a wrong formula (a wrong
 * factor of 2 or a sign gives err ~ |g| >= 0.1 for these inputs). Kinks are avoided: inputs have
 * |x| in [0.1, 1.5] (relu's kink at 0 is > h away) and log gets inputs in [0.5, 2]. */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "autograd.h"
#include "rng.h"

enum { DOM_ANY, DOM_POS };
enum { MAX_IN = 3, MAX_EL = 64 };

typedef AgNode *(*BuildFn)(AgTape *t, AgNode **in);

typedef struct {
    const char *name;
    BuildFn     build;
    int         n_in;
    int         rows[MAX_IN], cols[MAX_IN];   /* each input is 2D (rows, cols); rows = 0 means 1D (cols) */
    int         dom;                          /* DOM_ANY or DOM_POS for every input */
} OpCase;

static AgNode *b_add(AgTape *t, AgNode **x) { return ag_add(t, x[0], x[1]); }
static AgNode *b_sub(AgTape *t, AgNode **x) { return ag_sub(t, x[0], x[1]); }
static AgNode *b_mul(AgTape *t, AgNode **x) { return ag_mul(t, x[0], x[1]); }
static AgNode *b_mul_shared(AgTape *t, AgNode **x) { return ag_mul(t, x[0], x[0]); }   /* += accumulation */
static AgNode *b_add_row(AgTape *t, AgNode **x) { return ag_add_row(t, x[0], x[1]); }
static AgNode *b_scale(AgTape *t, AgNode **x) { return ag_scale(t, x[0], -1.7f); }
static AgNode *b_add_scalar(AgTape *t, AgNode **x) { return ag_add_scalar(t, x[0], 0.3f); }
static AgNode *b_matmul(AgTape *t, AgNode **x) { return ag_matmul(t, x[0], x[1]); }
static AgNode *b_linear(AgTape *t, AgNode **x) { return ag_linear(t, x[0], x[1], x[2]); }
static AgNode *b_linear_nob(AgTape *t, AgNode **x) { return ag_linear(t, x[0], x[1], NULL); }
static AgNode *b_relu(AgTape *t, AgNode **x) { return ag_relu(t, x[0]); }
static AgNode *b_silu(AgTape *t, AgNode **x) { return ag_silu(t, x[0]); }
static AgNode *b_gelu(AgTape *t, AgNode **x) { return ag_gelu(t, x[0]); }
static AgNode *b_tanh(AgTape *t, AgNode **x) { return ag_tanh(t, x[0]); }
static AgNode *b_sigmoid(AgTape *t, AgNode **x) { return ag_sigmoid(t, x[0]); }
static AgNode *b_softplus(AgTape *t, AgNode **x) { return ag_softplus(t, x[0]); }
static AgNode *b_exp(AgTape *t, AgNode **x) { return ag_exp(t, x[0]); }
static AgNode *b_log(AgTape *t, AgNode **x) { return ag_log(t, x[0]); }
static AgNode *b_square(AgTape *t, AgNode **x) { return ag_square(t, x[0]); }
static AgNode *b_sum(AgTape *t, AgNode **x) { return ag_sum(t, x[0]); }
static AgNode *b_mean(AgTape *t, AgNode **x) { return ag_mean(t, x[0]); }
static AgNode *b_concat(AgTape *t, AgNode **x) { return ag_concat(t, x[0], x[1]); }
static AgNode *b_cols(AgTape *t, AgNode **x) { return ag_cols(t, x[0], 1, 2); }
static AgNode *b_mse(AgTape *t, AgNode **x) { return ag_mse(t, x[0], x[1]); }
static AgNode *b_kl(AgTape *t, AgNode **x) { return ag_kl_normal(t, x[0], x[1]); }
/* A two-layer network with its loss: checks the ops compose (linear -> gelu -> linear -> mse). */
static AgNode *b_net(AgTape *t, AgNode **x) {
    AgNode *h = ag_gelu(t, ag_linear(t, x[0], x[1], NULL));            /* (3,4) W (4,4)^T */
    return ag_mse(t, ag_linear(t, h, x[2], NULL), x[0]);                /* back to (3,4), target x */
}

/* Image ops: the leaves are 2D, reshaped to (N, C, H, W) inside the builder. */
static AgNode *as4(AgTape *t, AgNode *x, int N, int C, int H, int W) { return ag_reshape(t, x, 4, (int[]){ N, C, H, W }); }
static AgNode *b_conv3(AgTape *t, AgNode **x) { return ag_conv2d(t, as4(t, x[0], 1, 2, 4, 4), as4(t, x[1], 3, 2, 3, 3), x[2], 1, 1); }
static AgNode *b_conv3_s2(AgTape *t, AgNode **x) { return ag_conv2d(t, as4(t, x[0], 1, 2, 4, 4), as4(t, x[1], 3, 2, 3, 3), x[2], 2, 1); }
static AgNode *b_conv1(AgTape *t, AgNode **x) { return ag_conv2d(t, as4(t, x[0], 2, 2, 3, 3), as4(t, x[1], 3, 2, 1, 1), NULL, 1, 0); }
static AgNode *b_group_norm(AgTape *t, AgNode **x) { return ag_group_norm(t, as4(t, x[0], 2, 4, 2, 2), x[1], x[2], 2); }
static AgNode *b_group_norm_silu(AgTape *t, AgNode **x) { return ag_group_norm_silu(t, as4(t, x[0], 2, 4, 2, 2), x[1], x[2], 2); }
/* 6 channels in 3 groups of 3 x 3: a group (18 values) and a channel (9) leave tails to the 8-lane sums */
static AgNode *b_gn_odd(AgTape *t, AgNode **x) { return ag_group_norm(t, as4(t, x[0], 1, 6, 3, 3), x[1], x[2], 3); }
static AgNode *b_gn_silu_odd(AgTape *t, AgNode **x) { return ag_group_norm_silu(t, as4(t, x[0], 1, 6, 3, 3), x[1], x[2], 3); }
static AgNode *b_upsample(AgTape *t, AgNode **x) { return ag_upsample2x(t, as4(t, x[0], 1, 2, 2, 2)); }
static AgNode *b_avgpool(AgTape *t, AgNode **x) { return ag_avgpool2x(t, as4(t, x[0], 1, 2, 4, 4)); }
static AgNode *b_concat_ch(AgTape *t, AgNode **x) { return ag_concat_channels(t, as4(t, x[0], 1, 2, 2, 2), as4(t, x[1], 1, 1, 2, 2)); }
static AgNode *b_add_channel(AgTape *t, AgNode **x) { return ag_add_channel(t, as4(t, x[0], 2, 2, 2, 2), x[1]); }

static const OpCase CASES[] = {
    { "add",        b_add,        2, { 3, 3 },    { 4, 4 },    DOM_ANY },
    { "sub",        b_sub,        2, { 3, 3 },    { 4, 4 },    DOM_ANY },
    { "mul",        b_mul,        2, { 3, 3 },    { 4, 4 },    DOM_ANY },
    { "mul_shared", b_mul_shared, 1, { 3 },       { 4 },       DOM_ANY },
    { "add_row",    b_add_row,    2, { 3, 0 },    { 4, 4 },    DOM_ANY },
    { "scale",      b_scale,      1, { 3 },       { 4 },       DOM_ANY },
    { "add_scalar", b_add_scalar, 1, { 3 },       { 4 },       DOM_ANY },
    { "matmul",     b_matmul,     2, { 3, 4 },    { 4, 5 },    DOM_ANY },
    { "linear",     b_linear,     3, { 3, 5, 0 }, { 4, 4, 5 }, DOM_ANY },
    { "linear_nob", b_linear_nob, 2, { 3, 5 },    { 4, 4 },    DOM_ANY },
    { "relu",       b_relu,       1, { 3 },       { 4 },       DOM_ANY },
    { "silu",       b_silu,       1, { 3 },       { 4 },       DOM_ANY },
    { "gelu",       b_gelu,       1, { 3 },       { 4 },       DOM_ANY },
    { "tanh",       b_tanh,       1, { 3 },       { 4 },       DOM_ANY },
    { "sigmoid",    b_sigmoid,    1, { 3 },       { 4 },       DOM_ANY },
    { "softplus",   b_softplus,   1, { 3 },       { 4 },       DOM_ANY },
    { "exp",        b_exp,        1, { 3 },       { 4 },       DOM_ANY },
    { "log",        b_log,        1, { 3 },       { 4 },       DOM_POS },
    { "square",     b_square,     1, { 3 },       { 4 },       DOM_ANY },
    { "sum",        b_sum,        1, { 3 },       { 4 },       DOM_ANY },
    { "mean",       b_mean,       1, { 3 },       { 4 },       DOM_ANY },
    { "concat",     b_concat,     2, { 3, 3 },    { 2, 4 },    DOM_ANY },
    { "cols",       b_cols,       1, { 3 },       { 4 },       DOM_ANY },
    { "mse",        b_mse,        2, { 3, 3 },    { 4, 4 },    DOM_ANY },
    { "kl_normal",  b_kl,         2, { 3, 3 },    { 4, 4 },    DOM_ANY },
    { "net",        b_net,        3, { 3, 4, 4 }, { 4, 4, 4 }, DOM_ANY },
    { "conv3x3",    b_conv3,      3, { 1, 3, 0 }, { 32, 18, 3 }, DOM_ANY },
    { "conv3x3_s2", b_conv3_s2,   3, { 1, 3, 0 }, { 32, 18, 3 }, DOM_ANY },
    { "conv1x1",    b_conv1,      2, { 2, 3 },    { 18, 2 },     DOM_ANY },
    { "group_norm", b_group_norm, 3, { 2, 0, 0 }, { 16, 4, 4 },  DOM_ANY },
    { "gn_silu",    b_group_norm_silu, 3, { 2, 0, 0 }, { 16, 4, 4 }, DOM_ANY },
    { "gn_odd",     b_gn_odd,     3, { 6, 0, 0 }, { 9, 6, 6 },   DOM_ANY },
    { "gn_silu_odd",b_gn_silu_odd,3, { 6, 0, 0 }, { 9, 6, 6 },   DOM_ANY },
    { "upsample2x", b_upsample,   1, { 1 },       { 8 },         DOM_ANY },
    { "avgpool2x",  b_avgpool,    1, { 1 },       { 32 },        DOM_ANY },
    { "concat_ch",  b_concat_ch,  2, { 1, 1 },    { 8, 4 },      DOM_ANY },
    { "add_channel",b_add_channel,2, { 2, 2 },    { 8, 2 },      DOM_ANY },
};

typedef struct {
    float val[MAX_IN][MAX_EL], grad[MAX_IN][MAX_EL];
    float w[MAX_EL];   /* weights of the loss L = sum_i w_i y_i */
    Arena arena;
} Bench;

static int numel_of(const OpCase *c, int k) { return (c->rows[k] ? c->rows[k] : 1) * c->cols[k]; }

/* Builds the op on a fresh tape over leaves that point into b->val / b->grad. */
static AgNode *build(Bench *b, const OpCase *c, AgTape *t) {
    AgNode *in[MAX_IN];
    for (int k = 0; k < c->n_in; k++) {
        int shape2[2] = { c->rows[k], c->cols[k] };
        in[k] = c->rows[k] ? ag_leaf(t, b->val[k], b->grad[k], 2, shape2)
                           : ag_leaf(t, b->val[k], b->grad[k], 1, &c->cols[k]);
    }
    return c->build(t, in);
}

/* L = sum_i w_i y_i in double from the float forward (the finite-difference reference). */
static double loss_double(Bench *b, const OpCase *c) {
    size_t mark = arena_pos(&b->arena);
    AgTape t = ag_tape(&b->arena, 32);
    AgNode *y = build(b, c, &t);
    ck_assert_uint_le(y->val.numel, MAX_EL);
    double L = 0.0;
    for (size_t i = 0; i < y->val.numel; i++) L += (double)b->w[i] * y->val.data[i];
    arena_pop_to(&b->arena, mark);
    return L;
}

/* The tape's gradient of the same L, written into b->grad. */
static void grad_tape(Bench *b, const OpCase *c) {
    memset(b->grad, 0, sizeof b->grad);
    size_t mark = arena_pos(&b->arena);
    AgTape t = ag_tape(&b->arena, 32);
    AgNode *y = build(b, c, &t);
    AgNode *w = ag_input(&t, tensor_wrap(b->w, y->val.ndim, y->val.shape));
    ag_backward(&t, ag_sum(&t, ag_mul(&t, y, w)));
    arena_pop_to(&b->arena, mark);
}

START_TEST(test_op_gradient_matches_central_difference) {
    const OpCase *c = &CASES[_i];
    const double h = 1e-2, tol = 1e-3;   /* derived in the file's header comment */
    static Bench b;
    arena_init(&b.arena, 1 << 20);
    Rng rng = rng_seed(1000 + (uint64_t)_i);
    for (int k = 0; k < c->n_in; k++)
        for (int j = 0; j < numel_of(c, k); j++) {
            double u = rng_uniform(&rng);
            if (c->dom == DOM_POS) b.val[k][j] = (float)(0.5 + 1.5 * u);                  /* [0.5, 2] */
            else b.val[k][j] = (float)((rng_uniform(&rng) < 0.5 ? -1 : 1) * (0.1 + 1.4 * u)); /* |x| in [0.1, 1.5] */
        }
    for (int i = 0; i < MAX_EL; i++) b.w[i] = (float)(2.0 * rng_uniform(&rng) - 1.0);
    grad_tape(&b, c);
    double worst = 0.0;
    for (int k = 0; k < c->n_in; k++)
        for (int j = 0; j < numel_of(c, k); j++) {
            float x0 = b.val[k][j], xp = (float)(x0 + h), xm = (float)(x0 - h);
            b.val[k][j] = xp;
            double Lp = loss_double(&b, c);
            b.val[k][j] = xm;
            double Lm = loss_double(&b, c);
            b.val[k][j] = x0;
            double fd = (Lp - Lm) / ((double)xp - (double)xm);
            double err = fabs(b.grad[k][j] - fd) / fmax(1.0, fabs(fd));
            if (err > worst) worst = err;
            ck_assert_msg(err < tol, "%s: input %d element %d: tape %.6g, finite difference %.6g (err %.2e)",
                          c->name, k, j, b.grad[k][j], fd, err);
        }
    printf("autograd gradcheck %-10s max relative error %.2e (tol %.0e)\n", c->name, worst, tol);
    arena_free(&b.arena);
}
END_TEST

/* softplus(x) = max(x,0) + log1p(e^-|x|) stays finite and exact at |x| = 100, where log(1 + e^x)
 * would overflow: softplus(100) = 100 (next term e^-100 is below float resolution of 100) and
 * softplus(-100) = e^-100 = 3.72e-44 (a float denormal, kept to its 1e-45 resolution). */
START_TEST(test_softplus_stable_at_large_inputs) {
    Arena a;
    arena_init(&a, 1 << 16);
    AgTape t = ag_tape(&a, 4);
    float v[2] = { 100.0f, -100.0f };
    AgNode *y = ag_softplus(&t, ag_input(&t, tensor_wrap(v, 1, (int[]){ 2 })));
    ck_assert_double_eq_tol(y->val.data[0], 100.0, 1e-5);
    ck_assert_double_eq_tol(y->val.data[1], exp(-100.0), 2e-45);
    arena_free(&a);
}
END_TEST

/* §1.4 KL of N(mu, e^lv) against N(0,1) by its closed form on known numbers: mu = 1, lv = 0 gives
 * 1/2 (1 + 1 - 1 - 0) = 0.5 per element; two rows of 2 elements averaged over rows -> 1.0. Float
 * rounding only: tol 1e-6. Also KL = 0 at mu = 0, lv = 0 (the prior itself). */
START_TEST(test_kl_normal_closed_form) {
    Arena a;
    arena_init(&a, 1 << 16);
    AgTape t = ag_tape(&a, 8);
    float mu[4] = { 1, 1, -1, 1 }, lv[4] = { 0, 0, 0, 0 }, z[4] = { 0 };
    Tensor s = tensor_wrap(mu, 2, (int[]){ 2, 2 });
    AgNode *kl = ag_kl_normal(&t, ag_input(&t, s), ag_input(&t, tensor_wrap(lv, 2, s.shape)));
    ck_assert_double_eq_tol(kl->val.data[0], 1.0, 1e-6);
    AgNode *kl0 = ag_kl_normal(&t, ag_input(&t, tensor_wrap(z, 2, s.shape)), ag_input(&t, tensor_wrap(lv, 2, s.shape)));
    ck_assert_double_eq_tol(kl0->val.data[0], 0.0, 1e-7);
    arena_free(&a);
}
END_TEST

/* The tape only touches the arena: after the step the position returns to the mark and the
 * parameter grads hold d loss/d w, accumulating over two backward passes (+=, not =). */
START_TEST(test_leaf_grads_accumulate_across_tapes) {
    Arena a;
    arena_init(&a, 1 << 16);
    float w[2] = { 0.5f, -2.0f }, dw[2] = { 0 }, x[2] = { 3.0f, 4.0f };
    for (int rep = 0; rep < 2; rep++) {
        size_t mark = arena_pos(&a);
        AgTape t = ag_tape(&a, 8);
        AgNode *W = ag_leaf(&t, w, dw, 1, (int[]){ 2 });
        ag_backward(&t, ag_sum(&t, ag_mul(&t, W, ag_input(&t, tensor_wrap(x, 1, (int[]){ 2 })))));
        arena_pop_to(&a, mark);
        ck_assert_uint_eq(arena_pos(&a), mark);
    }
    ck_assert_double_eq_tol(dw[0], 6.0, 1e-6);   /* d(w.x)/dw = x, twice */
    ck_assert_double_eq_tol(dw[1], 8.0, 1e-6);
    arena_free(&a);
}
END_TEST

/* The fused ag_group_norm_silu is ag_silu(ag_group_norm(...)) in one op: on a U-Net-sized block (2 samples,
 * 16 channels in 8 groups, 7 x 7, odd sizes so the vector loops leave tails) the forward values are the same
 * bits (the same float operations in the same order) and the gradients of x, gamma and beta agree to float
 * rounding of the group sums (relative 1e-5: sums of 98 terms of O(1), accumulated in double, once rounded). */
START_TEST(test_group_norm_silu_equals_composition) {
    enum { N = 2, C = 16, HW = 49, NX = N * C * HW };
    static float x[NX], w[NX], gx[2][NX];
    float gamma[C], beta[C], gg[2][C], gb[2][C], y0[NX];
    Rng r = rng_seed(17);
    rng_normal_fill(&r, x, NX);
    rng_normal_fill(&r, w, NX);
    rng_normal_fill(&r, gamma, C);
    rng_normal_fill(&r, beta, C);
    Arena a;
    arena_init(&a, 1 << 22);
    for (int fused = 0; fused < 2; fused++) {
        memset(gx[fused], 0, sizeof gx[0]); memset(gg[fused], 0, sizeof gg[0]); memset(gb[fused], 0, sizeof gb[0]);
        size_t mark = arena_pos(&a);
        AgTape t = ag_tape(&a, 16);
        AgNode *xn = ag_leaf(&t, x, gx[fused], 4, (int[]){ N, C, 7, 7 });
        AgNode *g = ag_leaf(&t, gamma, gg[fused], 1, (int[]){ C }), *b = ag_leaf(&t, beta, gb[fused], 1, (int[]){ C });
        AgNode *y = fused ? ag_group_norm_silu(&t, xn, g, b, 8) : ag_silu(&t, ag_group_norm(&t, xn, g, b, 8));
        if (!fused) memcpy(y0, y->val.data, sizeof y0);
        else ck_assert_int_eq(memcmp(y0, y->val.data, sizeof y0), 0);
        ag_backward(&t, ag_sum(&t, ag_mul(&t, y, ag_input(&t, tensor_wrap(w, 4, (int[]){ N, C, 7, 7 })))));
        arena_pop_to(&a, mark);
    }
    for (int i = 0; i < NX; i++) ck_assert_double_eq_tol(gx[1][i], gx[0][i], 1e-5 * fmax(1.0, fabs(gx[0][i])));
    for (int c = 0; c < C; c++) {
        ck_assert_double_eq_tol(gg[1][c], gg[0][c], 1e-5 * fmax(1.0, fabs(gg[0][c])));
        ck_assert_double_eq_tol(gb[1][c], gb[0][c], 1e-5 * fmax(1.0, fabs(gb[0][c])));
    }
    arena_free(&a);
}
END_TEST

/* ag_upsample_concat is ag_concat_channels(ag_upsample2x(a), b) in one node: the same value and gradients, bit
 * for bit (the 2 x 2 sums of the backward in the same order), on 3 samples with odd channel counts. */
START_TEST(test_upsample_concat_equals_composition) {
    enum { N = 3, CA = 3, CB = 5, H = 5, W = 7, NA = N * CA * H * W, NB = N * CB * 4 * H * W, NY = N * (CA + CB) * 4 * H * W };
    static float xa[NA], xb[NB], w[NY], ga[2][NA], gb[2][NB], y0[NY];
    Rng r = rng_seed(19);
    rng_normal_fill(&r, xa, NA);
    rng_normal_fill(&r, xb, NB);
    rng_normal_fill(&r, w, NY);
    Arena a;
    arena_init(&a, 1 << 22);
    for (int fused = 0; fused < 2; fused++) {
        size_t mark = arena_pos(&a);
        AgTape t = ag_tape(&a, 16);
        AgNode *an = ag_leaf(&t, xa, ga[fused], 4, (int[]){ N, CA, H, W }), *bn = ag_leaf(&t, xb, gb[fused], 4, (int[]){ N, CB, 2 * H, 2 * W });
        AgNode *y = fused ? ag_upsample_concat(&t, an, bn) : ag_concat_channels(&t, ag_upsample2x(&t, an), bn);
        if (!fused) memcpy(y0, y->val.data, sizeof y0);
        else ck_assert_int_eq(memcmp(y0, y->val.data, sizeof y0), 0);
        ag_backward(&t, ag_sum(&t, ag_mul(&t, y, ag_input(&t, tensor_wrap(w, 4, (int[]){ N, CA + CB, 2 * H, 2 * W })))));
        arena_pop_to(&a, mark);
    }
    ck_assert_int_eq(memcmp(ga[0], ga[1], sizeof ga[0]), 0);
    ck_assert_int_eq(memcmp(gb[0], gb[1], sizeof gb[0]), 0);
    arena_free(&a);
}
END_TEST

/* Group norm's forward against the definition in double, on odd sizes (3 samples, 6 channels in 3 groups,
 * 5 x 7: groups of 70 values and channels of 35, so the 8-lane sums have tails): xhat = (x - mean) rstd with
 * the statistics in double, then y = gamma xhat + beta in float, two roundings: |y - y_double| <=
 * 2 ulp of (|gamma xhat| + |beta|), taken as 4 FLT_EPSILON times that (the double statistics add ~1e-16). */
START_TEST(test_group_norm_matches_double_loops) {
    enum { N = 3, C = 6, G = 3, H = 5, W = 7, HW = H * W, Cg = C / G, NX = N * C * HW };
    static float x[NX];
    float gamma[C], beta[C], gg[C], gb[C];
    static float gx[NX];
    Rng r = rng_seed(23);
    rng_normal_fill(&r, x, NX);
    for (int i = 0; i < NX; i++) x[i] = 3.0f + 2.0f * x[i];   /* a mean far from 0: the centred sum matters */
    rng_normal_fill(&r, gamma, C);
    rng_normal_fill(&r, beta, C);
    Arena a;
    arena_init(&a, 1 << 20);
    AgTape t = ag_tape(&a, 4);
    AgNode *xn = ag_leaf(&t, x, gx, 4, (int[]){ N, C, H, W });
    AgNode *y = ag_group_norm(&t, xn, ag_leaf(&t, gamma, gg, 1, (int[]){ C }), ag_leaf(&t, beta, gb, 1, (int[]){ C }), G);
    for (int ng = 0; ng < N * G; ng++) {
        const float *xg = x + (size_t)ng * Cg * HW;
        double mean = 0, var = 0;
        for (int i = 0; i < Cg * HW; i++) mean += xg[i];
        mean /= Cg * HW;
        for (int i = 0; i < Cg * HW; i++) var += (xg[i] - mean) * (xg[i] - mean);
        double rstd = 1.0 / sqrt(var / (Cg * HW) + 1e-5);
        for (int i = 0; i < Cg * HW; i++) {
            int c = (ng % G) * Cg + i / HW;
            double xh = (xg[i] - mean) * rstd, want = gamma[c] * xh + beta[c];
            double tol = 4 * FLT_EPSILON * (fabs(gamma[c] * xh) + fabs(beta[c]));
            ck_assert_double_eq_tol(y->val.data[(size_t)ng * Cg * HW + i], want, tol);
        }
    }
    arena_free(&a);
}
END_TEST

/* Fresh gradients (autograd.h): an op that overwrites its input's fresh grad must give what the += path gives.
 * Per op, h = 1 x (a node with a fresh grad, >= AG_FRESH_MIN floats) feeds y = op(h), L = sum w y (h as either
 * input of upsample-concat, and as the residual of ag_conv2d_add). Run A: op is
 * h's only consumer, so its backward finds h's grad fresh and overwrites it. Run B: a second consumer z = 0 h,
 * created after op (so its backward runs first), makes ag_backward zero h's grad and z add 0 to it; op then adds.
 * The leaves' grads must be equal value for value. Also: a large intermediate no op reads, and a large input
 * of an op that needs no input gradient, both end with zero grads. */
enum { FR_OPS = 10 };
static float fr_small[2 * 8 * 8 * 8], fr_big[2 * 8 * 32 * 32], fr_other[2 * 8 * 16 * 16];   /* constant operands */
static AgNode *fresh_op(AgTape *t, int op, AgNode *h, AgNode *p0, AgNode *p1) {
    switch (op) {
    case 7: return ag_upsample_concat(t, h, ag_input(t, tensor_wrap(fr_big, 4, (int[]){ 2, 8, 32, 32 })));
    case 8: return ag_upsample_concat(t, ag_input(t, tensor_wrap(fr_small, 4, (int[]){ 2, 8, 8, 8 })), h);
    case 9: return ag_conv2d_add(t, ag_input(t, tensor_wrap(fr_other, 4, (int[]){ 2, 8, 16, 16 })), p0, p1, h, 1, 1);
    case 0: return ag_linear(t, h, p0, p1);
    case 1: return ag_silu(t, h);
    case 2: return ag_conv2d(t, h, p0, p1, 1, 1);
    case 3: return ag_conv2d(t, h, p0, p1, 2, 1);
    case 4: return ag_group_norm(t, h, p0, p1, 4);
    case 5: return ag_group_norm_silu(t, h, p0, p1, 4);
    default: return ag_conv2d(t, h, p0, p1, 1, 0);   /* 1 x 1 */
    }
}
START_TEST(test_fresh_grad_overwrite_equals_accumulate) {
    enum { N = 2, C = 8, H = 16, NX = N * C * H * H, NP = 8 * 8 * 9, NY = 2 * 16 * 32 * 32 };   /* NY: the largest y */
    int op = _i;
    static float x[NX], w[NY], p0[NP], p1[8], gx[2][NX], gp0[2][NP], gp1[2][8];
    Rng r = rng_seed(77 + (uint64_t)op);
    rng_normal_fill(&r, x, NX);
    rng_normal_fill(&r, w, NY);
    rng_normal_fill(&r, p0, NP);
    rng_normal_fill(&r, p1, 8);
    rng_normal_fill(&r, fr_small, 2 * 8 * 8 * 8);
    rng_normal_fill(&r, fr_big, 2 * 8 * 32 * 32);
    rng_normal_fill(&r, fr_other, 2 * 8 * 16 * 16);
    int lin = op == 0, conv = op == 2 || op == 3 || op == 6 || op == 9, K = op == 6 ? 1 : 3;
    int xs[4] = { N, C, H, H }, ls[2] = { NX / 32, 32 }, ws[4] = { 8, C, K, K }, ps[2] = { 8, 32 }, bs[1] = { 8 };
    Arena a;
    arena_init(&a, 1 << 24);
    float *junk = arena_push_no_zero(&a, (size_t)1 << 23);   /* fresh grads then hold NaN, not a new page's 0 */
    for (size_t i = 0; i < ((size_t)1 << 23) / sizeof(float); i++) junk[i] = NAN;
    arena_pop_to(&a, 0);
    for (int run = 0; run < 2; run++) {
        memset(gx[run], 0, sizeof gx[run]);
        memset(gp0[run], 0, sizeof gp0[run]);
        memset(gp1[run], 0, sizeof gp1[run]);
        AgTape t = ag_tape(&a, 32);
        AgNode *xn = lin ? ag_leaf(&t, x, gx[run], 2, ls) : ag_leaf(&t, x, gx[run], 4, xs);
        AgNode *h = ag_scale(&t, xn, 1.0f);
        ck_assert_int_eq(h->grad_fresh, 1);
        AgNode *q0 = lin ? ag_leaf(&t, p0, gp0[run], 2, ps) : conv ? ag_leaf(&t, p0, gp0[run], 4, ws) : ag_leaf(&t, p0, gp0[run], 1, bs);
        AgNode *q1 = ag_leaf(&t, p1, gp1[run], 1, bs);
        AgNode *y = fresh_op(&t, op, h, q0, q1);
        ck_assert_uint_le(y->val.numel, NY);
        AgNode *L = ag_sum(&t, ag_mul(&t, y, ag_input(&t, tensor_wrap(w, y->val.ndim, y->val.shape))));
        if (run == 1) L = ag_add(&t, L, ag_sum(&t, ag_scale(&t, h, 0.0f)));
        AgNode *unread = ag_scale(&t, xn, 2.0f);   /* no op reads it: its grad must end 0 */
        ag_backward(&t, L);
        for (size_t i = 0; i < unread->grad.numel; i++) ck_assert(unread->grad.data[i] == 0.0f);
        arena_pop_to(&a, 0);
    }
    for (int i = 0; i < NX; i++) ck_assert_msg(gx[0][i] == gx[1][i], "op %d: dx[%d] %g (overwrite) vs %g (+=)", op, i, gx[0][i], gx[1][i]);
    for (int i = 0; i < NP; i++) ck_assert(gp0[0][i] == gp0[1][i]);
    for (int i = 0; i < 8; i++) ck_assert(gp1[0][i] == gp1[1][i]);
    double norm = 0;
    for (int i = 0; i < NX; i++) norm += fabs(gx[0][i]);
    ck_assert(norm > 0);   /* the gradient reached x */
    {   /* a large constant input of a convolution (no input gradient needed): its grad ends 0 */
        AgTape t = ag_tape(&a, 16);
        AgNode *in = ag_input(&t, tensor_wrap(x, 4, xs));
        ck_assert_int_eq(in->grad_fresh, 1);
        AgNode *y = ag_conv2d(&t, in, ag_leaf(&t, p0, gp0[0], 4, (int[]){ 8, C, 3, 3 }), ag_leaf(&t, p1, gp1[0], 1, bs), 1, 1);
        ag_backward(&t, ag_sum(&t, y));
        for (int i = 0; i < NX; i++) ck_assert(in->grad.data[i] == 0.0f);
        arena_pop_to(&a, 0);
    }
    arena_free(&a);
}
END_TEST

Suite *suite_autograd(void) {
    Suite *s = suite_create("autograd");
    TCase *tc = tcase_create("gradcheck");
    tcase_add_loop_test(tc, test_op_gradient_matches_central_difference, 0, COUNT_OF(CASES));
    suite_add_tcase(s, tc);
    TCase *tv = tcase_create("values");
    tcase_add_test(tv, test_softplus_stable_at_large_inputs);
    tcase_add_test(tv, test_group_norm_silu_equals_composition);
    tcase_add_test(tv, test_upsample_concat_equals_composition);
    tcase_add_test(tv, test_group_norm_matches_double_loops);
    tcase_add_test(tv, test_kl_normal_closed_form);
    tcase_add_test(tv, test_leaf_grads_accumulate_across_tapes);
    tcase_add_loop_test(tv, test_fresh_grad_overwrite_equals_accumulate, 0, FR_OPS);
    suite_add_tcase(s, tv);
    return s;
}
