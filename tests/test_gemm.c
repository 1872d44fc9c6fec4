/* Tests of common/gemm against its three-loop twin gemm_ref, on awkward shapes and every transpose. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "gemm.h"
#include "autograd.h"
#include "rng.h"

/* C = alpha op(A) op(B) + beta C for M, N, K in {1, 7, 33, 130} and all four transposes. gemm_ref sums in
 * double; gemm in float, so |error| <= K eps_f sum_k |a_ik b_kj| (the standard bound): tol = K 6e-8 S. */
START_TEST(test_gemm_matches_reference) {
    static const int sizes[4] = { 1, 7, 33, 130 };
    Rng r = rng_seed(5);
    int tA = _i & 1, tB = (_i >> 1) & 1;
    for (int a = 0; a < 4; a++)
        for (int b = 0; b < 4; b++)
            for (int c = 0; c < 4; c++) {
                int M = sizes[a], N = sizes[b], K = sizes[c];
                float *A = malloc(sizeof(float) * M * K), *B = malloc(sizeof(float) * K * N);
                float *C1 = malloc(sizeof(float) * M * N), *C2 = malloc(sizeof(float) * M * N);
                rng_normal_fill(&r, A, (long)M * K);
                rng_normal_fill(&r, B, (long)K * N);
                rng_normal_fill(&r, C1, (long)M * N);
                for (int i = 0; i < M * N; i++) C2[i] = C1[i];
                gemm(C1, A, B, M, N, K, tA, tB, 0.7f, 0.3f);
                gemm_ref(C2, A, B, M, N, K, tA, tB, 0.7f, 0.3f);
                for (int i = 0; i < M * N; i++)
                    ck_assert_double_eq_tol(C1[i], C2[i], 6e-8 * K * (4.0 * K) + 1e-6);   /* S < 4K here: E|ab| = 2/pi */
                free(A); free(B); free(C1); free(C2);
            }
}
END_TEST

/* The same claim on shapes that cross the block sizes of common/gemm.c (MC = 192 rows, KC = 512 deep,
 * NC = 4096 columns) and are large enough (M N K >= 64^3) to be split over the threads, by rows (M > N) or
 * by columns: every k-block after the first must add to C, not apply beta again. Each shape runs with
 * beta = 0.3 and with beta = 0 over a C full of NaN (which must be ignored). Tol as above. */
START_TEST(test_gemm_blocks_and_threads) {
    static const int shapes[6][3] = { { 200, 70, 300 }, { 70, 200, 300 }, { 130, 130, 520 }, { 9, 4100, 3 }, { 1, 1, 600 },
                                      { 600, 3, 520 } };   /* the last computed as its transpose (gemm_transposed) */
    Rng r = rng_seed(7);
    int tA = _i & 1, tB = (_i >> 1) & 1;
    for (int s = 0; s < 6; s++)
        for (int bz = 0; bz < 2; bz++) {
            int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
            float beta = bz ? 0.0f : 0.3f;
            float *A = malloc(sizeof(float) * M * K), *B = malloc(sizeof(float) * K * N);
            float *C1 = malloc(sizeof(float) * M * N), *C2 = malloc(sizeof(float) * M * N);
            rng_normal_fill(&r, A, (long)M * K);
            rng_normal_fill(&r, B, (long)K * N);
            rng_normal_fill(&r, C1, (long)M * N);
            for (int i = 0; i < M * N; i++) C2[i] = C1[i];
            if (bz) for (int i = 0; i < M * N; i++) C1[i] = NAN;
            gemm(C1, A, B, M, N, K, tA, tB, 0.7f, beta);
            gemm_ref(C2, A, B, M, N, K, tA, tB, 0.7f, beta);
            for (int i = 0; i < M * N; i++)
                ck_assert_double_eq_tol(C1[i], C2[i], 6e-8 * K * (4.0 * K) + 1e-6);
            free(A); free(B); free(C1); free(C2);
        }
}
END_TEST

/* A C far narrower than a tile (128 x 2, the toy network's output layer) is computed as its transpose: the same
 * bytes as the first two columns of a 128 x 32 product (computed as it stands), for every transpose and beta. */
START_TEST(test_gemm_narrow_c_same_bytes_as_wide) {
    enum { M = 128, K = 130, NW = 32, N = 2 };
    Rng r = rng_seed(11);
    int tA = _i & 1, tB = (_i >> 1) & 1;
    float *A = malloc(sizeof(float) * M * K), *Bw = malloc(sizeof(float) * K * NW), *Bn = malloc(sizeof(float) * K * N);
    float *Cw = malloc(sizeof(float) * M * NW), *Cn = malloc(sizeof(float) * M * N);
    rng_normal_fill(&r, A, (long)M * K);
    rng_normal_fill(&r, Bw, (long)K * NW);
    for (int k = 0; k < K; k++)   /* op(Bn) = the first N columns of op(Bw) */
        for (int j = 0; j < N; j++) Bn[tB ? j * K + k : k * N + j] = Bw[tB ? j * K + k : k * NW + j];
    rng_normal_fill(&r, Cw, (long)M * NW);
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) Cn[i * N + j] = Cw[i * NW + j];
    gemm(Cw, A, Bw, M, NW, K, tA, tB, 0.7f, 0.3f);
    gemm(Cn, A, Bn, M, N, K, tA, tB, 0.7f, 0.3f);
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) ck_assert(memcmp(&Cn[i * N + j], &Cw[i * NW + j], sizeof(float)) == 0);
    free(A); free(Bw); free(Bn); free(Cw); free(Cn);
}
END_TEST

/* A small product (128 rows, gemm_direct: A read in place) gives the same bytes as the first 128 rows of a product
 * too large for that path (1024 rows, packed), for every transpose, with a cut last tile (N = 38) and beta. */
START_TEST(test_gemm_direct_same_bytes_as_packed) {
    enum { MS = 128, MB = 1024, K = 130, N = 38 };
    Rng r = rng_seed(13);
    int tA = _i & 1, tB = (_i >> 1) & 1;
    float *Ab = malloc(sizeof(float) * MB * K), *As = malloc(sizeof(float) * MS * K), *B = malloc(sizeof(float) * K * N);
    float *Cb = malloc(sizeof(float) * MB * N), *Cs = malloc(sizeof(float) * MS * N);
    rng_normal_fill(&r, Ab, (long)MB * K);
    rng_normal_fill(&r, B, (long)K * N);
    rng_normal_fill(&r, Cb, (long)MB * N);
    for (int i = 0; i < MS; i++)   /* op(As) = the first MS rows of op(Ab) */
        for (int k = 0; k < K; k++) As[tA ? k * MS + i : i * K + k] = Ab[tA ? k * MB + i : i * K + k];
    for (int i = 0; i < MS * N; i++) Cs[i] = Cb[i];
    gemm(Cb, Ab, B, MB, N, K, tA, tB, 0.7f, 0.3f);
    gemm(Cs, As, B, MS, N, K, tA, tB, 0.7f, 0.3f);
    ck_assert(memcmp(Cs, Cb, sizeof(float) * MS * N) == 0);
    free(Ab); free(As); free(B); free(Cb); free(Cs);
}
END_TEST

/* beta = 0 must ignore C entirely, even NaN in it. */
START_TEST(test_gemm_beta_zero_ignores_c) {
    float A[6] = { 1, 2, 3, 4, 5, 6 }, B[6] = { 1, 0, 0, 1, 1, 1 }, C[4] = { NAN, NAN, NAN, NAN };
    gemm(C, A, B, 2, 2, 3, 0, 0, 1.0f, 0.0f);   /* (2,3) x (3,2) */
    ck_assert_double_eq_tol(C[0], 1 + 3, 1e-6);
    ck_assert_double_eq_tol(C[1], 2 + 3, 1e-6);
    ck_assert_double_eq_tol(C[2], 4 + 6, 1e-6);
    ck_assert_double_eq_tol(C[3], 5 + 6, 1e-6);
}
END_TEST

/* ag_conv2d (the direct kernels of common/conv.c, threaded over samples) against the direct six-loop definition, on odd shapes:
 * 1x1 and 3x3 kernels, stride 1 and 2, padding 0 and 1, C = 1 and 3, H != W. Tol as above with K = C k^2. */
START_TEST(test_conv_matches_direct_loops) {
    static const int cfg[4][4] = { { 3, 1, 1, 3 }, { 3, 2, 1, 1 }, { 1, 1, 0, 3 }, { 3, 2, 0, 1 } };   /* k, stride, pad, C */
    int k = cfg[_i][0], S = cfg[_i][1], P = cfg[_i][2], C = cfg[_i][3], N = 3, H = 7, W = 9, Co = 5;
    int Ho = (H + 2 * P - k) / S + 1, Wo = (W + 2 * P - k) / S + 1;
    Rng r = rng_seed(9);
    Arena a;
    arena_init(&a, 1 << 24);
    Tensor x = tensor_new(&a, 4, (int[]){ N, C, H, W }), w = tensor_new(&a, 4, (int[]){ Co, C, k, k }), b = tensor_new(&a, 1, (int[]){ Co });
    rng_normal_fill(&r, x.data, (long)x.numel);
    rng_normal_fill(&r, w.data, (long)w.numel);
    rng_normal_fill(&r, b.data, (long)b.numel);
    AgTape t = ag_tape_no_grad(&a, 8);
    AgNode *y = ag_conv2d(&t, ag_input(&t, x), ag_input(&t, w), ag_input(&t, b), S, P);
    ck_assert_int_eq(y->val.shape[2], Ho);
    ck_assert_int_eq(y->val.shape[3], Wo);
    for (int n = 0; n < N; n++)
        for (int o = 0; o < Co; o++)
            for (int i = 0; i < Ho; i++)
                for (int j = 0; j < Wo; j++) {
                    double acc = b.data[o];
                    for (int c = 0; c < C; c++)
                        for (int u = 0; u < k; u++)
                            for (int v = 0; v < k; v++) {
                                int h = i * S + u - P, ww = j * S + v - P;
                                if (h >= 0 && h < H && ww >= 0 && ww < W)
                                    acc += (double)w.data[((o * C + c) * k + u) * k + v] * x.data[((n * C + c) * H + h) * W + ww];
                            }
                    int K = C * k * k;
                    ck_assert_double_eq_tol(y->val.data[((n * Co + o) * Ho + i) * Wo + j], acc, 6e-8 * K * (4.0 * K) + 1e-6);
                }
    arena_free(&a);
}
END_TEST

/* The backward of ag_conv2d against direct loops: with loss = sum(y r), dy = r and
 *   dx[n,c,h,w] = sum w[o,c,i,j] r[n,o,oh,ow] over oh S + i - P = h, ow S + j - P = w,
 *   dw[o,c,i,j] = sum_{n,oh,ow} r[n,o,oh,ow] x[n,c,oh S + i - P, ow S + j - P],   db[o] = sum_{n,oh,ow} r[n,o,oh,ow].
 * The shapes reach every path of conv2d_backward: stride 1 with P = 0, 1, K - 1 (the direct kernels of conv.c, dx as
 * a convolution with the flipped weights), 1x1 stride 1 (x and dy read in place), strides 2 and 3 (phases), 5x5;
 * Cout = 1 (the single-row tiles), C = 33 and Cout = 17, 33 (partial tiles); N = 3 samples over the threads. Tol as above,
 * with K = the number of terms of each sum: Cout k^2 for dx, N Ho Wo for dw and db. */
START_TEST(test_conv_backward_matches_direct_loops) {
    static const int cfg[12][5] = { { 3, 1, 1, 3, 5 }, { 3, 1, 0, 2, 5 }, { 3, 1, 2, 1, 5 }, { 1, 1, 0, 3, 5 },
                                    { 3, 2, 1, 2, 5 }, { 1, 2, 0, 3, 5 }, { 5, 1, 2, 2, 5 },
                                    { 3, 1, 1, 33, 1 }, { 1, 1, 0, 17, 33 }, { 3, 1, 1, 9, 17 },
                                    { 3, 3, 1, 2, 5 }, { 5, 2, 2, 3, 9 } };   /* k, stride, pad, C, Cout */
    int k = cfg[_i][0], S = cfg[_i][1], P = cfg[_i][2], C = cfg[_i][3], Co = cfg[_i][4], N = 3, H = 7, W = 9;
    int Ho = (H + 2 * P - k) / S + 1, Wo = (W + 2 * P - k) / S + 1;
    Rng rng = rng_seed(11);
    Arena a;
    arena_init(&a, 1 << 24);
    int nx = N * C * H * W, nw = Co * C * k * k, ny = N * Co * Ho * Wo;
    float *x = calloc(nx, sizeof(float)), *gx = calloc(nx, sizeof(float)), *w = calloc(nw, sizeof(float));
    float *gw = calloc(nw, sizeof(float)), b[33], gb[33] = { 0 };
    double *dx = calloc(nx, sizeof(double)), *dw = calloc(nw, sizeof(double)), db[33] = { 0 };
    rng_normal_fill(&rng, x, nx);
    rng_normal_fill(&rng, w, nw);
    rng_normal_fill(&rng, b, Co);
    Tensor r = tensor_new(&a, 4, (int[]){ N, Co, Ho, Wo });
    rng_normal_fill(&rng, r.data, ny);
    AgTape t = ag_tape(&a, 16);
    AgNode *xn = ag_leaf(&t, x, gx, 4, (int[]){ N, C, H, W }), *wn = ag_leaf(&t, w, gw, 4, (int[]){ Co, C, k, k });
    AgNode *y = ag_conv2d(&t, xn, wn, ag_leaf(&t, b, gb, 1, (int[]){ Co }), S, P);
    ag_backward(&t, ag_sum(&t, ag_mul(&t, y, ag_input(&t, r))));
    for (int n = 0; n < N; n++)
        for (int o = 0; o < Co; o++)
            for (int oh = 0; oh < Ho; oh++)
                for (int ow = 0; ow < Wo; ow++) {
                    double ry = r.data[((n * Co + o) * Ho + oh) * Wo + ow];
                    db[o] += ry;
                    for (int c = 0; c < C; c++)
                        for (int i = 0; i < k; i++)
                            for (int j = 0; j < k; j++) {
                                int h = oh * S + i - P, ww = ow * S + j - P, iw = ((o * C + c) * k + i) * k + j;
                                if (h < 0 || h >= H || ww < 0 || ww >= W) continue;
                                int ix = ((n * C + c) * H + h) * W + ww;
                                dx[ix] += w[iw] * ry;
                                dw[iw] += x[ix] * ry;
                            }
                }
    double kx = Co * k * k, kw = N * Ho * Wo;
    for (int i = 0; i < nx; i++) ck_assert_double_eq_tol(gx[i], dx[i], 6e-8 * kx * (4.0 * kx) + 1e-6);
    for (int i = 0; i < nw; i++) ck_assert_double_eq_tol(gw[i], dw[i], 6e-8 * kw * (4.0 * kw) + 1e-6);
    for (int o = 0; o < Co; o++) ck_assert_double_eq_tol(gb[o], db[o], 6e-8 * kw * (4.0 * kw) + 1e-6);
    free(x); free(gx); free(w); free(gw); free(dx); free(dw);
    arena_free(&a);
}
END_TEST

/* ag_conv2d_add_channel is ag_add_channel(ag_conv2d(...), e) in one node (the per-sample channel addend added as
 * the outputs are stored), ag_conv2d_add is ag_add(ag_conv2d(...), r) (r copied in, the outputs added to it): the
 * same value and the same gradients (x, w, b, e or r), bit for bit (the same float operations in the same order),
 * on stride 1 and 2, Cout = 33 (a partial tile), N = 3 samples over the threads. _i = 3 kind + shape. */
START_TEST(test_conv_add_same_bits) {
    static const int cfg[3][5] = { { 3, 1, 1, 3, 5 }, { 3, 2, 1, 2, 5 }, { 1, 1, 0, 17, 33 } };   /* k, stride, pad, C, Cout */
    int c = _i % 3, residual = _i / 3;
    int k = cfg[c][0], S = cfg[c][1], P = cfg[c][2], C = cfg[c][3], Co = cfg[c][4], N = 3, H = 7, W = 9;
    int Ho = (H + 2 * P - k) / S + 1, Wo = (W + 2 * P - k) / S + 1, nx = N * C * H * W, nw = Co * C * k * k;
    int ne = residual ? N * Co * Ho * Wo : N * Co;
    Rng rng = rng_seed(12);
    Arena a;
    arena_init(&a, 1 << 24);
    float *x = malloc(sizeof(float) * nx), *w = malloc(sizeof(float) * nw), b[33], *e = malloc(sizeof(float) * ne);
    rng_normal_fill(&rng, x, nx);
    rng_normal_fill(&rng, w, nw);
    rng_normal_fill(&rng, b, Co);
    rng_normal_fill(&rng, e, ne);
    Tensor r = tensor_new(&a, 4, (int[]){ N, Co, Ho, Wo });
    rng_normal_fill(&rng, r.data, (long)N * Co * Ho * Wo);
    float *g[2][4];   /* gradients of x, w, b, e: fused [0], composed [1] */
    const float *y[2];
    for (int v = 0; v < 2; v++) {
        int n[4] = { nx, nw, Co, ne };
        for (int q = 0; q < 4; q++) g[v][q] = calloc(n[q], sizeof(float));
        AgTape t = ag_tape(&a, 16);
        AgNode *xn = ag_leaf(&t, x, g[v][0], 4, (int[]){ N, C, H, W }), *wn = ag_leaf(&t, w, g[v][1], 4, (int[]){ Co, C, k, k });
        AgNode *bn = ag_leaf(&t, b, g[v][2], 1, (int[]){ Co });
        AgNode *en = residual ? ag_leaf(&t, e, g[v][3], 4, (int[]){ N, Co, Ho, Wo }) : ag_leaf(&t, e, g[v][3], 2, (int[]){ N, Co });
        AgNode *yn = residual ? (v == 0 ? ag_conv2d_add(&t, xn, wn, bn, en, S, P) : ag_add(&t, ag_conv2d(&t, xn, wn, bn, S, P), en))
                              : (v == 0 ? ag_conv2d_add_channel(&t, xn, wn, bn, en, S, P)
                                        : ag_add_channel(&t, ag_conv2d(&t, xn, wn, bn, S, P), en));
        ag_backward(&t, ag_sum(&t, ag_mul(&t, yn, ag_input(&t, r))));
        y[v] = yn->val.data;
        for (int q = 0; q < 4 && v == 1; q++)
            for (int i = 0; i < n[q]; i++) ck_assert_float_eq(g[0][q][i], g[1][q][i]);
    }
    for (int i = 0; i < N * Co * Ho * Wo; i++) ck_assert_float_eq(y[0][i], y[1][i]);
    for (int v = 0; v < 2; v++)
        for (int q = 0; q < 4; q++) free(g[v][q]);
    free(x); free(w); free(e);
    arena_free(&a);
}
END_TEST

/* Leading dimensions that alias in the caches (512, and 500/520/1025 beside it) and odd edges, every transpose:
 * a 512^3 product, thin and flat ones whose M, N or K is 1, 7 or 33, all against gemm_ref. Tol as above. */
START_TEST(test_gemm_aliasing_shapes) {
    static const int shapes[7][3] = { { 512, 512, 512 }, { 1025, 33, 520 }, { 33, 1025, 512 }, { 520, 500, 7 },
                                      { 7, 520, 1025 }, { 1, 1025, 512 }, { 500, 1, 33 } };
    Rng r = rng_seed(11);
    int tA = _i & 1, tB = (_i >> 1) & 1;
    for (int s = 0; s < 7; s++) {
        int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
        float *A = malloc(sizeof(float) * M * K), *B = malloc(sizeof(float) * K * N);
        float *C1 = malloc(sizeof(float) * M * N), *C2 = malloc(sizeof(float) * M * N);
        rng_normal_fill(&r, A, (long)M * K);
        rng_normal_fill(&r, B, (long)K * N);
        rng_normal_fill(&r, C1, (long)M * N);
        for (int i = 0; i < M * N; i++) C2[i] = C1[i];
        gemm(C1, A, B, M, N, K, tA, tB, 1.0f, 0.5f);
        gemm_ref(C2, A, B, M, N, K, tA, tB, 1.0f, 0.5f);
        for (int i = 0; i < M * N; i++) ck_assert_double_eq_tol(C1[i], C2[i], 6e-8 * K * (4.0 * K) + 1e-6);
        free(A); free(B); free(C1); free(C2);
    }
}
END_TEST

Suite *suite_gemm(void) {
    Suite *s = suite_create("gemm");
    TCase *tc = tcase_create("reference");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_gemm_matches_reference, 0, 4);
    tcase_add_loop_test(tc, test_gemm_blocks_and_threads, 0, 4);
    tcase_add_loop_test(tc, test_gemm_narrow_c_same_bytes_as_wide, 0, 4);
    tcase_add_loop_test(tc, test_gemm_direct_same_bytes_as_packed, 0, 4);
    tcase_add_loop_test(tc, test_gemm_aliasing_shapes, 0, 4);
    tcase_add_test(tc, test_gemm_beta_zero_ignores_c);
    tcase_add_loop_test(tc, test_conv_matches_direct_loops, 0, 4);
    tcase_add_loop_test(tc, test_conv_backward_matches_direct_loops, 0, 12);
    tcase_add_loop_test(tc, test_conv_add_same_bits, 0, 6);
    suite_add_tcase(s, tc);
    return s;
}
