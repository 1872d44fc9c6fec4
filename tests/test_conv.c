/* Tests of common/conv: the direct kernels against the six-loop definition conv_ref (and the weight
 * gradient against its double loops), on shapes that reach every path: a grid shorter than one tile, Cout not a
 * multiple of the tile height (17, 33) and Cout = 1 (the single-row tile and the dW kernel along the grid), 1x1
 * kernels read in place (no padding, H W >= one tile) and padded, 5x5 with P = 2, P = 0 with a 3x3 kernel,
 * strides 2 and 3 (the phases of the padded image) on odd and even sizes.
 * x is allocated to its exact size, so a kernel that read past it shows under make sanitize.
 * Tolerance: the kernels sum n = C K K (or Ho Wo) float products; |error| <= n eps_f sum |terms|, and with
 * standard normal inputs sum |terms| < 4 n here (E|ab| = 2/pi), so tol = 6e-8 n (4 n) + 1e-6, as test_gemm.c. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include "conv.h"
#include "rng.h"

static const int CFG[][7] = {   /* C, Cout, H, W, K, S, P */
    { 1, 1, 5, 3, 3, 1, 1 },    { 3, 17, 7, 9, 3, 1, 1 },  { 5, 33, 11, 6, 3, 1, 0 }, { 2, 8, 9, 9, 5, 1, 2 },
    { 7, 1, 28, 28, 3, 1, 1 },  { 48, 16, 8, 8, 1, 1, 0 }, { 3, 9, 5, 5, 1, 1, 0 },   { 4, 6, 13, 13, 1, 1, 1 },
    { 16, 32, 14, 14, 3, 1, 1 },
    { 3, 17, 7, 9, 3, 2, 1 },   { 16, 16, 28, 28, 3, 2, 1 }, { 1, 5, 8, 8, 1, 2, 0 }, { 2, 3, 9, 7, 5, 3, 2 },
    { 32, 32, 14, 14, 3, 2, 1 },
};
enum { N_CFG = sizeof CFG / sizeof CFG[0], FIRST_STRIDED = 9 };   /* CFG[9 ...] have S > 1 */

typedef struct {
    int C, Co, H, W, K, S, P, CKK;
    ConvGrid g;
    float *x, *w, *b, *xp, *wp;
    int *off;
    const float *xin;   /* what the kernels read: xp, or x itself */
} Case;

static Case case_new(int i, Rng *r) {
    Case c = { CFG[i][0], CFG[i][1], CFG[i][2], CFG[i][3], CFG[i][4], CFG[i][5], CFG[i][6], 0, { 0 }, 0, 0, 0, 0, 0, 0, 0 };
    c.CKK = c.C * c.K * c.K;
    c.g = conv_grid(c.C, c.H, c.W, c.K, c.S, c.P);
    c.x = malloc(sizeof(float) * c.C * c.H * c.W);
    c.w = malloc(sizeof(float) * c.Co * c.CKK);
    c.b = malloc(sizeof(float) * c.Co);
    c.xp = malloc(sizeof(float) * conv_padded_size(&c.g));
    c.wp = malloc(sizeof(float) * conv_packed_size(c.Co, c.CKK));
    c.off = malloc(sizeof(int) * c.CKK);
    rng_normal_fill(r, c.x, (long)c.C * c.H * c.W);
    rng_normal_fill(r, c.w, (long)c.Co * c.CKK);
    rng_normal_fill(r, c.b, c.Co);
    conv_offsets(c.off, &c.g);
    conv_pack_weights(c.wp, c.w, c.Co, c.CKK);
    c.xin = c.x;
    if (conv_padding_needed(&c.g)) {
        conv_pad(c.xp, c.x, &c.g);
        c.xin = c.xp;
    }
    return c;
}

static void case_free(Case *c) {
    free(c->x); free(c->w); free(c->b); free(c->xp); free(c->wp); free(c->off);
}

static double tol(double n) { return 6e-8 * n * (4.0 * n) + 1e-6; }

/* y = b + W * x, then y += W * x on top of it (accumulate), then y = (W * x + b) + b2: against conv_ref. */
START_TEST(test_conv_forward_matches_ref) {
    Rng r = rng_seed(21 + _i);
    Case c = case_new(_i, &r);
    size_t ny = (size_t)c.Co * c.g.Ho * c.g.Wo;
    float *y = malloc(sizeof(float) * ny), *ref = malloc(sizeof(float) * ny), *ref0 = malloc(sizeof(float) * ny);
    conv_ref(ref, c.w, c.x, c.b, c.Co, c.C, c.H, c.W, c.K, c.S, c.P);
    conv_ref(ref0, c.w, c.x, NULL, c.Co, c.C, c.H, c.W, c.K, c.S, c.P);
    conv_forward(y, c.wp, c.xin, c.off, c.b, NULL, 0, c.Co, &c.g);
    for (size_t i = 0; i < ny; i++) ck_assert_double_eq_tol(y[i], ref[i], tol(c.CKK));
    conv_forward(y, c.wp, c.xin, c.off, NULL, NULL, 1, c.Co, &c.g);
    for (size_t i = 0; i < ny; i++) ck_assert_double_eq_tol(y[i], ref[i] + ref0[i], 2 * tol(c.CKK));
    float *b2 = malloc(sizeof(float) * c.Co);   /* a second bias, added after the first */
    rng_normal_fill(&r, b2, c.Co);
    conv_forward(y, c.wp, c.xin, c.off, c.b, b2, 0, c.Co, &c.g);
    for (size_t i = 0; i < ny; i++) ck_assert_double_eq_tol(y[i], ref[i] + b2[i / ((size_t)c.g.Ho * c.g.Wo)], tol(c.CKK));
    free(b2);
    free(y); free(ref); free(ref0);
    case_free(&c);
}
END_TEST

/* dw[o, c, i, j] += sum_{h,w} dy[o, h, w] x[c, h S + i - P, w S + j - P], from a dw that is not zero. */
START_TEST(test_conv_weight_grad_matches_loops) {
    Rng r = rng_seed(41 + _i);
    Case c = case_new(_i, &r);
    int Ho = c.g.Ho, Wo = c.g.Wo, K = c.K, S = c.S, P = c.P;
    float *dy = malloc(sizeof(float) * c.Co * Ho * Wo), *dw = malloc(sizeof(float) * c.Co * c.CKK);
    float *dyt = malloc(sizeof(float) * conv_dyt_size(c.Co, &c.g));
    rng_normal_fill(&r, dy, (long)c.Co * Ho * Wo);
    rng_normal_fill(&r, dw, (long)c.Co * c.CKK);
    double *ref = malloc(sizeof(double) * c.Co * c.CKK);
    for (int o = 0; o < c.Co; o++)
        for (int k = 0; k < c.CKK; k++) {
            int ch = k / (K * K), i = k / K % K, j = k % K;
            double s = dw[o * c.CKK + k];
            for (int h = 0; h < Ho; h++)
                for (int v = 0; v < Wo; v++) {
                    int hh = h * S + i - P, ww = v * S + j - P;
                    if (hh >= 0 && hh < c.H && ww >= 0 && ww < c.W)
                        s += (double)dy[(o * Ho + h) * Wo + v] * c.x[(ch * c.H + hh) * c.W + ww];
                }
            ref[o * c.CKK + k] = s;
        }
    float *dwt = calloc(conv_dwt_size(c.Co, c.CKK), sizeof(float));
    conv_dyt(dyt, dy, c.Co, &c.g);
    conv_weight_grad(dwt, dyt, c.xin, c.off, c.Co, &c.g);
    conv_dwt_add(dw, dwt, c.Co, c.CKK);
    for (int i = 0; i < c.Co * c.CKK; i++) ck_assert_double_eq_tol(dw[i], ref[i], tol(Ho * Wo + 1));
    free(dy); free(dw); free(dwt); free(dyt); free(ref);
    case_free(&c);
}
END_TEST

/* conv_dx_strided: dx[c, h, w] += sum w[o, c, i, j] dy[o, oh, ow] over oh S + i - P = h, ow S + j - P = w, from a dx
 * that is not zero, on the strided shapes (K < S included: phases with no tap). n = Cout K^2 / S^2 terms or fewer.
 * (Stride 1 has its own path, conv_forward on dy, checked through ag_conv2d in test_gemm.c.) */
START_TEST(test_conv_dx_strided_matches_loops) {
    Rng r = rng_seed(61 + _i);
    Case c = case_new(_i, &r);
    ck_assert_int_gt(c.S, 1);
    int Ho = c.g.Ho, Wo = c.g.Wo, K = c.K, S = c.S, P = c.P, nx = c.C * c.H * c.W;
    float *dy = malloc(sizeof(float) * c.Co * Ho * Wo), *dx = malloc(sizeof(float) * nx);
    float *pk = malloc(sizeof(float) * conv_dx_packed_size(c.Co, &c.g));
    float *scratch = malloc(sizeof(float) * conv_dx_scratch_size(c.Co, &c.g));
    double *ref = malloc(sizeof(double) * nx);
    rng_normal_fill(&r, dy, (long)c.Co * Ho * Wo);
    rng_normal_fill(&r, dx, nx);
    for (int i = 0; i < nx; i++) ref[i] = dx[i];
    for (int o = 0; o < c.Co; o++)
        for (int h = 0; h < Ho; h++)
            for (int v = 0; v < Wo; v++)
                for (int k = 0; k < c.CKK; k++) {
                    int ch = k / (K * K), i = k / K % K, j = k % K, hh = h * S + i - P, ww = v * S + j - P;
                    if (hh >= 0 && hh < c.H && ww >= 0 && ww < c.W)
                        ref[(ch * c.H + hh) * c.W + ww] += (double)c.w[o * c.CKK + k] * dy[(o * Ho + h) * Wo + v];
                }
    conv_dx_pack(pk, c.w, c.Co, &c.g);
    conv_dx_strided(dx, dy, pk, c.Co, &c.g, scratch);
    for (int i = 0; i < nx; i++) ck_assert_double_eq_tol(dx[i], ref[i], tol(c.Co * K * K + 1));
    free(dy); free(dx); free(pk); free(scratch); free(ref);
    case_free(&c);
}
END_TEST

/* The padded copy (stride 1, rows of Ws = W + P): P zeros then x's row, P zero rows above and below, zero slack. */
START_TEST(test_conv_pad_border_is_zero) {
    Rng r = rng_seed(3);
    Case c = case_new(3, &r);   /* P = 2 */
    const ConvGrid *g = &c.g;
    ck_assert_int_eq(g->Ws, c.W + c.P);
    for (int ch = 0; ch < c.C; ch++)
        for (int h = 0; h < g->Hp; h++)
            for (int w = 0; w < g->Ws; w++) {
                int hh = h - c.P, ww = w - c.P, inside = hh >= 0 && hh < c.H && ww >= 0 && ww < c.W;
                float want = inside ? c.x[(ch * c.H + hh) * c.W + ww] : 0.0f;
                ck_assert_float_eq(c.xp[(ch * g->Hp + h) * g->Ws + w], want);
            }
    for (size_t i = (size_t)c.C * g->Hp * g->Ws; i < conv_padded_size(g); i++) ck_assert_float_eq(c.xp[i], 0.0f);
    case_free(&c);
}
END_TEST

Suite *suite_conv(void) {
    Suite *s = suite_create("conv");
    TCase *tc = tcase_create("reference");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_conv_forward_matches_ref, 0, N_CFG);
    tcase_add_loop_test(tc, test_conv_weight_grad_matches_loops, 0, N_CFG);
    tcase_add_loop_test(tc, test_conv_dx_strided_matches_loops, FIRST_STRIDED, N_CFG);
    tcase_add_test(tc, test_conv_pad_border_is_zero);
    suite_add_tcase(s, tc);
    return s;
}
