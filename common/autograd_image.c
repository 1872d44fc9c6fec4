/* autograd_image.c: the tape's ops on images, tensors (N, C, H, W) row-major, for the U-Net of §2
 * on Fashion-MNIST. Declared in autograd.h under "image ops". As in autograd.c, each op's *_backward
 * sits directly above it and accumulates with +=. Statistics are accumulated in double. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "autograd.h"
#include "conv.h"
#include "simd.h"
#include "vmath.h"
#ifdef _OPENMP
#include <omp.h>
#endif

/* ---- shapes -------------------------------------------------------------- */

/* Same data, another shape: the gradient passes through unchanged. */
static void reshape_backward(AgNode *y) {
    float *dx = y->in[0]->grad.data;
    for (size_t i = 0; i < y->val.numel; i++) dx[i] += y->grad.data[i];
}
AgNode *ag_reshape(AgTape *t, AgNode *x, int ndim, const int *shape) {
    AgNode *y = ag_node_new_overwritten(t, ndim, shape, reshape_backward, 1, x, NULL, NULL);
    CHECK(y->val.numel == x->val.numel, "ag_reshape: %zu elements into %zu", x->val.numel, y->val.numel);
    memcpy(y->val.data, x->val.data, sizeof(float) * x->val.numel);
    return y;
}

static void dims4(const AgNode *x, int *N, int *C, int *H, int *W, const char *op) {
    CHECK(x->val.ndim == 4, "%s: input has %d dims, expected (N, C, H, W)", op, x->val.ndim);
    *N = x->val.shape[0]; *C = x->val.shape[1]; *H = x->val.shape[2]; *W = x->val.shape[3];
}

/* ---- channel concatenation (skip connections) ---------------------------- */

/* The image ops below are elementwise or per (n, c): a large tensor is split over the threads (AG_PARALLEL_MIN),
 * with no effect on the bytes. */
static void concat_ch_backward(AgNode *y) {
    int N = y->val.shape[0], HW = y->val.shape[2] * y->val.shape[3];
    int Ca = y->in[0]->val.shape[1], Cb = y->in[1]->val.shape[1], C = Ca + Cb;
    #pragma omp parallel for schedule(static) if (y->val.numel >= AG_PARALLEL_MIN)
    for (int n = 0; n < N; n++) {
        const float *g = y->grad.data + (size_t)n * C * HW;
        float *da = y->in[0]->grad.data + (size_t)n * Ca * HW, *db = y->in[1]->grad.data + (size_t)n * Cb * HW;
        for (int i = 0; i < Ca * HW; i++) da[i] += g[i];
        for (int i = 0; i < Cb * HW; i++) db[i] += g[Ca * HW + i];
    }
}
/* y = [a, b] along channels: a (N, Ca, H, W), b (N, Cb, H, W) -> (N, Ca + Cb, H, W). */
AgNode *ag_concat_channels(AgTape *t, AgNode *a, AgNode *b) {
    int N, Ca, H, W, Nb, Cb, Hb, Wb;
    dims4(a, &N, &Ca, &H, &W, "ag_concat_channels");
    dims4(b, &Nb, &Cb, &Hb, &Wb, "ag_concat_channels");
    CHECK(N == Nb && H == Hb && W == Wb, "ag_concat_channels: (%d,%d,%d) vs (%d,%d,%d)", N, H, W, Nb, Hb, Wb);
    AgNode *y = ag_node_new_overwritten(t, 4, (int[]){ N, Ca + Cb, H, W }, concat_ch_backward, 2, a, b, NULL);
    int HW = H * W;
    #pragma omp parallel for schedule(static) if (y->val.numel >= AG_PARALLEL_MIN)
    for (int n = 0; n < N; n++) {
        memcpy(y->val.data + (size_t)n * (Ca + Cb) * HW, a->val.data + (size_t)n * Ca * HW, sizeof(float) * Ca * HW);
        memcpy(y->val.data + (size_t)n * (Ca + Cb) * HW + Ca * HW, b->val.data + (size_t)n * Cb * HW, sizeof(float) * Cb * HW);
    }
    return y;
}

/* ---- per-channel addition (time embedding into a block) ------------------ */

static double sum_plain(const float *x, size_t n);   /* sum_i x[i] in double, with group norm's sums below */

/* y[n,c,h,w] = x[n,c,h,w] + e[n,c];  de[n,c] = sum_hw dy[n,c,h,w]. */
static void add_channel_backward(AgNode *y) {
    int N = y->val.shape[0], C = y->val.shape[1], HW = y->val.shape[2] * y->val.shape[3];
    float *dx = y->in[0]->grad.data, *de = y->in[1]->grad.data;
    #pragma omp parallel for schedule(static) if (y->val.numel >= AG_PARALLEL_MIN)
    for (int nc = 0; nc < N * C; nc++) {
        const float *dy = y->grad.data + (size_t)nc * HW;
        for (int i = 0; i < HW; i++) dx[(size_t)nc * HW + i] += dy[i];
        de[nc] += (float)sum_plain(dy, (size_t)HW);   /* as conv2d_backward sums it for ag_conv2d_add_channel */
    }
}
AgNode *ag_add_channel(AgTape *t, AgNode *x, AgNode *e) {
    int N, C, H, W;
    dims4(x, &N, &C, &H, &W, "ag_add_channel");
    CHECK(e->val.numel == (size_t)N * C, "ag_add_channel: e has %zu elements, expected N*C = %d", e->val.numel, N * C);
    AgNode *y = ag_node_new_overwritten(t, 4, x->val.shape, add_channel_backward, 2, x, e, NULL);
    #pragma omp parallel for schedule(static) if (y->val.numel >= AG_PARALLEL_MIN)
    for (int nc = 0; nc < N * C; nc++)
        for (int i = 0; i < H * W; i++) y->val.data[(size_t)nc * H * W + i] = x->val.data[(size_t)nc * H * W + i] + e->val.data[nc];
    return y;
}

/* ---- resampling ---------------------------------------------------------- */

static void upsample_backward(AgNode *y) {
    int NC = y->val.shape[0] * y->val.shape[1], H2 = y->val.shape[2], W2 = y->val.shape[3], H = H2 / 2, W = W2 / 2;
    float *dx = y->in[0]->grad.data;
    #pragma omp parallel for schedule(static) if (y->val.numel >= AG_PARALLEL_MIN)
    for (int nc = 0; nc < NC; nc++)
        for (int h = 0; h < H2; h++)
            for (int w = 0; w < W2; w++) dx[((size_t)nc * H + h / 2) * W + w / 2] += y->grad.data[((size_t)nc * H2 + h) * W2 + w];
}
/* Nearest-neighbour 2x upsampling: y[h, w] = x[h/2, w/2]; (N, C, H, W) -> (N, C, 2H, 2W). */
AgNode *ag_upsample2x(AgTape *t, AgNode *x) {
    int N, C, H, W;
    dims4(x, &N, &C, &H, &W, "ag_upsample2x");
    AgNode *y = ag_node_new_overwritten(t, 4, (int[]){ N, C, 2 * H, 2 * W }, upsample_backward, 1, x, NULL, NULL);
    #pragma omp parallel for schedule(static) if (y->val.numel >= AG_PARALLEL_MIN)
    for (int nc = 0; nc < N * C; nc++)
        for (int h = 0; h < 2 * H; h++)
            for (int w = 0; w < 2 * W; w++) y->val.data[((size_t)nc * 2 * H + h) * 2 * W + w] = x->val.data[((size_t)nc * H + h / 2) * W + w / 2];
    return y;
}

/* y = [upsample2x(a), b] along channels in one pass: a U-Net's way up, the coarse features beside the skip. The
 * backward sums dy over each 2 x 2 block into da in the order upsample_backward does, and adds dy to db: the
 * bits of ag_concat_channels(ag_upsample2x(a), b). */
static void upsample_concat_backward(AgNode *y) {
    int N = y->val.shape[0], H2 = y->val.shape[2], W2 = y->val.shape[3], H = H2 / 2, W = W2 / 2;
    int Ca = y->in[0]->val.shape[1], Cb = y->in[1]->val.shape[1], C = Ca + Cb;
    int fresh_a = ag_take_fresh(y->in[0]), fresh_b = ag_take_fresh(y->in[1]);   /* = instead of += (autograd.h) */
    #pragma omp parallel for schedule(static) if (y->val.numel >= AG_PARALLEL_MIN)
    for (int n = 0; n < N; n++) {
        const float *g = y->grad.data + (size_t)n * C * H2 * W2;
        float *da = y->in[0]->grad.data + (size_t)n * Ca * H * W, *db = y->in[1]->grad.data + (size_t)n * Cb * H2 * W2;
        for (int ci = 0; ci < Ca * H; ci++) {   /* row i of channel c: ((((da + g[2i][2j]) + g[2i][2j+1]) + g[2i+1][2j]) + ...) */
            float *d = da + (size_t)ci * W;
            const float *g0 = g + (size_t)ci * 2 * W2, *g1 = g0 + W2;
            if (fresh_a) for (int j = 0; j < W; j++) d[j] = g0[2 * j] + g0[2 * j + 1] + g1[2 * j] + g1[2 * j + 1];
            else         for (int j = 0; j < W; j++) d[j] = d[j] + g0[2 * j] + g0[2 * j + 1] + g1[2 * j] + g1[2 * j + 1];
        }
        if (fresh_b) memcpy(db, g + (size_t)Ca * H2 * W2, sizeof(float) * Cb * H2 * W2);
        else for (size_t i = 0; i < (size_t)Cb * H2 * W2; i++) db[i] += g[(size_t)Ca * H2 * W2 + i];
    }
}
AgNode *ag_upsample_concat(AgTape *t, AgNode *a, AgNode *b) {
    int N, Ca, H, W, Nb, Cb, H2, W2;
    dims4(a, &N, &Ca, &H, &W, "ag_upsample_concat");
    dims4(b, &Nb, &Cb, &H2, &W2, "ag_upsample_concat");
    CHECK(N == Nb && H2 == 2 * H && W2 == 2 * W, "ag_upsample_concat: a (%d,%d,%d) is not half of b (%d,%d,%d)", N, H, W,
          Nb, H2, W2);
    AgNode *y = ag_node_new_overwritten(t, 4, (int[]){ N, Ca + Cb, H2, W2 }, upsample_concat_backward, 2, a, b, NULL);
    y->overwrites = 3u;   /* both inputs' grads written whole: = when fresh */
    #pragma omp parallel for schedule(static) if (y->val.numel >= AG_PARALLEL_MIN)
    for (int n = 0; n < N; n++) {
        float *yn = y->val.data + (size_t)n * (Ca + Cb) * H2 * W2;
        const float *an = a->val.data + (size_t)n * Ca * H * W;
        for (int ci = 0; ci < Ca * H; ci++) {   /* row i of channel c into rows 2i and 2i + 1 */
            float *y0 = yn + (size_t)ci * 2 * W2, *y1 = y0 + W2;
            const float *ar = an + (size_t)ci * W;
            for (int j = 0; j < W; j++) y0[2 * j] = y0[2 * j + 1] = ar[j];
            memcpy(y1, y0, sizeof(float) * W2);
        }
        memcpy(yn + (size_t)Ca * H2 * W2, b->val.data + (size_t)n * Cb * H2 * W2, sizeof(float) * Cb * H2 * W2);
    }
    return y;
}

static void avgpool_backward(AgNode *y) {
    int NC = y->val.shape[0] * y->val.shape[1], Ho = y->val.shape[2], Wo = y->val.shape[3], H = 2 * Ho, W = 2 * Wo;
    float *dx = y->in[0]->grad.data;
    for (int nc = 0; nc < NC; nc++)
        for (int h = 0; h < H; h++)
            for (int w = 0; w < W; w++) dx[((size_t)nc * H + h) * W + w] += 0.25f * y->grad.data[((size_t)nc * Ho + h / 2) * Wo + w / 2];
}
/* 2x2 average pooling, stride 2: (N, C, H, W) -> (N, C, H/2, W/2); H and W even. */
AgNode *ag_avgpool2x(AgTape *t, AgNode *x) {
    int N, C, H, W;
    dims4(x, &N, &C, &H, &W, "ag_avgpool2x");
    CHECK(H % 2 == 0 && W % 2 == 0, "ag_avgpool2x: H = %d, W = %d must be even", H, W);
    AgNode *y = ag_node_new(t, 4, (int[]){ N, C, H / 2, W / 2 }, avgpool_backward, 1, x, NULL, NULL);
    for (int nc = 0; nc < N * C; nc++)
        for (int h = 0; h < H; h++)
            for (int w = 0; w < W; w++) y->val.data[((size_t)nc * H / 2 + h / 2) * (W / 2) + w / 2] += 0.25f * x->val.data[((size_t)nc * H + h) * W + w];
    return y;
}

/* ---- group normalisation, alone and fused with SiLU ----------------------- */

/* Group norm (Wu and He, 2018): channels split into G groups; per sample and group,
 * xhat = (x - mean) / sqrt(var + eps), z = gamma[c] xhat + beta[c], and y = z (ag_group_norm) or
 * y = silu(z) = z s, s = sigma(z) (ag_group_norm_silu: the pair every U-Net block begins with, in one pass
 * over memory instead of three). arg.gn.G = G, arg.gn.silu = 1 for the SiLU, scalar = eps.
 * saved holds, per (n, g), the mean and rstd = 1/sqrt(var + eps) in double, and room for the backward's per-(n, c)
 * sums. The backward recomputes xhat from x, and s from z, with the same expressions (the same bits): storing them
 * cost more (two more tensors written and read again, which do not fit in cache) than the arithmetic. With
 * dz = dy (plain) or dy s (1 + z (1 - s)):
 *   dx = rstd (dxhat - mean(dxhat) - xhat mean(dxhat xhat)), dxhat = dz gamma,
 *   dgamma[c] = sum_{n,hw} dz xhat,  dbeta[c] = sum_{n,hw} dz.
 * The (n, g) groups are independent and spread over the threads; dgamma and dbeta are first summed per
 * (n, c), then over n in a fixed order, so the bytes do not depend on the thread count. */
static size_t gn_saved_size(int N, int C, int G) {
    return (size_t)4 * N * G + (size_t)2 * N * C;   /* (mean, rstd) as doubles, then (N, C, 2) floats */
}

/* xhat over one group of n values: the forward's expression, so the backward's recomputation has its bits. */
static void gn_xhat(float *xh, const float *x, size_t n, double mean, double rstd) {
    for (size_t i = 0; i < n; i++) xh[i] = (float)((x[i] - mean) * rstd);
}

/* z = gamma[c] xhat + beta[c], xhat = (x - mean) rstd as gn_xhat rounds it, over the Cg channels of one group
 * (HW values each), in one pass; the backward recomputes z from gn_xhat's xhat with the same expression. */
static void gn_normalize(float *z, const float *x, double mean, double rstd, const float *gamma, const float *beta,
                         int Cg, int HW) {
    for (int c = 0; c < Cg; c++) {
        const float *xc = x + (size_t)c * HW;
        float *zc = z + (size_t)c * HW, g = gamma[c], b = beta[c];
        for (int i = 0; i < HW; i++) zc[i] = g * (float)((xc[i] - mean) * rstd) + b;
    }
}

/* Sums in double over 8 interleaved partial sums (lanes i mod 8, added together at the end): the same
 * accuracy as one running double sum, but 8 independent chains, one vector of doubles (simd.h's D8). */
static double sum_lanes(D8 acc, const double *tail, size_t n) {
    double a[8];
    d8_store(a, acc);
    for (size_t i = 0; i < n % 8; i++) a[i] += tail[i];
    return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
}
/* sum_i x[i] */
static double sum_plain(const float *x, size_t n) {
    D8 a = d8_zero();
    size_t i = 0;
    for (; i + 8 <= n; i += 8) a = d8_add(a, d8_cvt(x + i));
    double t[8];
    for (size_t k = 0; i + k < n; k++) t[k] = x[i + k];
    return sum_lanes(a, t, n);
}

/* The group norm's statistics of R <= GN_ROWS groups of n values, group r at x + r n: mean[r] and
 * var[r] = sum_i (x[i] - mean)^2, each summed exactly as sum_plain sums one group (the same bits), but the R
 * groups' chains of vector adds side by side: one chain waits 4 cycles per add, which made these sums half of
 * the forward's time (Xeon, session 12). */
enum { GN_ROWS = 4, GN_BLOCK = 256 };
static inline __attribute__((always_inline)) void gn_stats(const float *x, size_t n, int R, double *mean, double *var) {
    D8 a[GN_ROWS], b[GN_ROWS], c[GN_ROWS];
    size_t i, n8 = n / 8 * 8;
    for (int r = 0; r < R; r++) a[r] = b[r] = d8_zero();
    for (i = 0; i < n8; i += 8)
        for (int r = 0; r < R; r++) a[r] = d8_add(a[r], d8_cvt(x + (size_t)r * n + i));
    for (int r = 0; r < R; r++) {
        double t[8];
        for (size_t k = 0; n8 + k < n; k++) t[k] = x[(size_t)r * n + n8 + k];
        mean[r] = sum_lanes(a[r], t, n) / (double)n;
        c[r] = d8_set1(mean[r]);
    }
    for (i = 0; i < n8; i += 8)
        for (int r = 0; r < R; r++) {
            D8 d = d8_sub(d8_cvt(x + (size_t)r * n + i), c[r]);
            b[r] = d8_add(b[r], d8_mul(d, d));
        }
    for (int r = 0; r < R; r++) {
        double t[8];
        const float *xr = x + (size_t)r * n;
        for (size_t k = 0; n8 + k < n; k++) t[k] = (xr[n8 + k] - mean[r]) * (xr[n8 + k] - mean[r]);
        var[r] = sum_lanes(b[r], t, n) / (double)n;
    }
}

/* sum_i u[i] v[i] and sum_i u[i] (products in float, as the backward's terms are) */
static void sums_dot(const float *u, const float *v, size_t n, double *uv, double *su) {
    D8 a = d8_zero(), b = d8_zero();
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        a = d8_add(a, d8_mul8(u + i, v + i));
        b = d8_add(b, d8_cvt(u + i));
    }
    double ta[8], tb[8];
    for (size_t k = 0; i + k < n; k++) { ta[k] = u[i + k] * v[i + k]; tb[k] = u[i + k]; }
    *uv = sum_lanes(a, ta, n);
    *su = sum_lanes(b, tb, n);
}

static void group_norm_backward(AgNode *y) {
    int N = y->val.shape[0], C = y->val.shape[1], HW = y->val.shape[2] * y->val.shape[3], G = y->arg.gn.G, Cg = C / G;
    const double *stats = (const double *)y->saved.data;   /* (mean, rstd) per (n, g) */
    const float *x = y->in[0]->val.data, *gamma = y->in[1]->val.data, *beta = y->in[2]->val.data, *dy = y->grad.data;
    float *part = y->saved.data + (size_t)4 * N * G;        /* (N, C, 2): sum dz xhat, sum dz */
    float *dx = y->in[0]->grad.data, *dgamma = y->in[1]->grad.data, *dbeta = y->in[2]->grad.data;
    int silu = y->arg.gn.silu, fresh = ag_take_fresh(y->in[0]);   /* fresh: dx = ..., not += (autograd.h) */
    size_t L = (size_t)Cg * HW;   /* one group */
    double M = (double)L;
    #pragma omp parallel
    {
        size_t want = silu ? 2 * L + 2 * GN_BLOCK : L;   /* xhat and dz of one group, z and s of a block, per thread */
        float *xh = malloc(sizeof(float) * want);
        CHECK(xh, "out of memory for %zu floats in the group norm backward", want);
        float *dz = xh + L, *zb = xh + 2 * L, *s = zb + GN_BLOCK;
        #pragma omp for schedule(static)
        for (int ng = 0; ng < N * G; ng++) {
            int n = ng / G, c0 = (ng % G) * Cg;
            size_t base = (size_t)ng * L;
            float r = (float)stats[2 * ng + 1];
            gn_xhat(xh, x + base, L, stats[2 * ng], stats[2 * ng + 1]);
            const float *dzg = dy + base;
            if (silu) {   /* z and s = sigma(z) as the forward computed them, then dz = dy s (1 + z (1 - s)) */
                for (int c = 0; c < Cg; c++)   /* a block of z and s at a time, while it is in registers or L1 */
                    for (int i0 = 0; i0 < HW; i0 += GN_BLOCK) {
                        int m = HW - i0 < GN_BLOCK ? HW - i0 : GN_BLOCK;
                        size_t k0 = (size_t)c * HW + i0;
                        float g = gamma[c0 + c], b = beta[c0 + c];
                        for (int i = 0; i < m; i++) zb[i] = g * xh[k0 + i] + b;
                        vmath_sigmoid(s, zb, (size_t)m);
                        for (int i = 0; i < m; i++) dz[k0 + i] = dy[base + k0 + i] * s[i] * (1.0f + zb[i] * (1.0f - s[i]));
                    }
                dzg = dz;
            }
            double s1 = 0, s2 = 0;   /* sums of dxhat and dxhat xhat over the group */
            for (int c = c0; c < c0 + Cg; c++) {
                size_t o = (size_t)(c - c0) * HW;
                double sg, sb;
                sums_dot(dzg + o, xh + o, HW, &sg, &sb);
                part[2 * ((size_t)n * C + c)] = (float)sg;
                part[2 * ((size_t)n * C + c) + 1] = (float)sb;
                s1 += gamma[c] * sb;
                s2 += gamma[c] * sg;
            }
            float m1 = (float)(s1 / M), m2 = (float)(s2 / M);
            for (int c = c0; c < c0 + Cg; c++) {
                size_t o = (size_t)(c - c0) * HW;
                float *dxc = dx + base + o;
                if (fresh) for (int i = 0; i < HW; i++) dxc[i] = r * (dzg[o + i] * gamma[c] - m1 - xh[o + i] * m2);
                else       for (int i = 0; i < HW; i++) dxc[i] += r * (dzg[o + i] * gamma[c] - m1 - xh[o + i] * m2);
            }
        }
        free(xh);
    }
    for (int n = 0; n < N; n++)   /* fixed order over samples */
        for (int c = 0; c < C; c++) {
            dgamma[c] += part[2 * ((size_t)n * C + c)];
            dbeta[c] += part[2 * ((size_t)n * C + c) + 1];
        }
}

static AgNode *group_norm_node(AgTape *t, AgNode *x, AgNode *gamma, AgNode *beta, int G, int silu, const char *op) {
    int N, C, H, W;
    dims4(x, &N, &C, &H, &W, op);
    CHECK(G >= 1 && C % G == 0, "%s: C = %d not divisible into G = %d groups", op, C, G);
    CHECK(gamma->val.numel == (size_t)C && beta->val.numel == (size_t)C, "%s: gamma/beta need C = %d", op, C);
    AgNode *y = ag_node_new_overwritten(t, 4, x->val.shape, group_norm_backward, 3, x, gamma, beta);
    y->overwrites = 1u;
    size_t n_saved = gn_saved_size(N, C, G);
    y->saved = tensor_wrap(arena_push_no_zero(t->arena, sizeof(float) * n_saved), 1, (int[]){ (int)n_saved });
    y->arg.gn.G = G;
    y->arg.gn.silu = silu;
    y->scalar = 1e-5f;   /* eps: keeps a constant group finite */
    int Cg = C / G, HW = H * W;
    size_t L = (size_t)Cg * HW;   /* the group's Cg channels are contiguous */
    double *stats = (double *)y->saved.data;
    #pragma omp parallel for schedule(static)
    for (int ng0 = 0; ng0 < N * G; ng0 += GN_ROWS) {   /* GN_ROWS groups' statistics at once (gn_stats) */
        int R = N * G - ng0 < GN_ROWS ? N * G - ng0 : GN_ROWS;
        double mean[GN_ROWS], var[GN_ROWS];
        if (R == GN_ROWS) gn_stats(x->val.data + (size_t)ng0 * L, L, GN_ROWS, mean, var);   /* unrolled over rows */
        else gn_stats(x->val.data + (size_t)ng0 * L, L, R, mean, var);
        for (int ng = ng0; ng < ng0 + R; ng++) {
            const float *xg = x->val.data + (size_t)ng * L;
            float *yg = y->val.data + (size_t)ng * L;
            double r = 1.0 / sqrt(var[ng - ng0] + y->scalar);
            stats[2 * ng] = mean[ng - ng0];
            stats[2 * ng + 1] = r;
            gn_normalize(yg, xg, mean[ng - ng0], r, gamma->val.data + (ng % G) * Cg, beta->val.data + (ng % G) * Cg, Cg, HW);
            if (!silu) continue;
            for (size_t i0 = 0; i0 < L; i0 += GN_BLOCK) {   /* y = z sigma(z), sigma a block at a time (on the stack) */
                float s[GN_BLOCK];
                vmath_silu(yg + i0, s, yg + i0, L - i0 < GN_BLOCK ? L - i0 : GN_BLOCK);
            }
        }
    }
    return y;
}

AgNode *ag_group_norm(AgTape *t, AgNode *x, AgNode *gamma, AgNode *beta, int G) {
    return group_norm_node(t, x, gamma, beta, G, 0, "ag_group_norm");
}

AgNode *ag_group_norm_silu(AgTape *t, AgNode *x, AgNode *gamma, AgNode *beta, int G) {
    return group_norm_node(t, x, gamma, beta, G, 1, "ag_group_norm_silu");
}

/* ---- convolution ----------------------------------------------------------- */

/* Output size of a K x K convolution with stride S and zero padding P: Ho = (H + 2P - K)/S + 1. */
static int conv_out(int H, int K, int S, int P) { return (H + 2 * P - K) / S + 1; }

/* Every layer runs forward and dW on the direct kernels of conv.c. For stride 1 and P <= K - 1, dx is itself
 * a convolution: dx[c] = sum_o conv(dy[o], w[o, c] rotated by 180 degrees) with padding K - 1 - P, and runs on
 * them too, wf (C, Cout, K, K) holding those rotated, transposed weights; otherwise (stride 2) phase by phase of
 * the padded input (conv_dx_strided), with the weights packed per phase in wpf. */
static int conv_dx_is_conv(int K, int S, int P) { return S == 1 && P <= K - 1; }
static void conv_flip_weights(float *wf, const float *w, int Co, int C, int K) {
    for (int o = 0; o < Co; o++)
        for (int c = 0; c < C; c++)
            for (int i = 0; i < K; i++)
                for (int j = 0; j < K; j++)
                    wf[((size_t)(c * Co + o) * K + i) * K + j] = w[((size_t)(o * C + c) * K + (K - 1 - i)) * K + (K - 1 - j)];
}

/* Where the parts of a conv node's scratch (its saved tensor) lie, in floats. Shared by the threads: the
 * packed weights wp, the tap offsets of x and of dy (ints in float slots), wf and its packing wpf. Then
 * per thread: the padded sample xp, dy^T on the grid (for dW), the padded dy (dx as a convolution) or the
 * scratch of conv_dx_strided at dyp, and the thread's dW (transposed, conv_dwt_size) and db sums. */
typedef struct {
    int dx_conv;
    ConvGrid gx, gdy;   /* x's grid, and dy's for the dx convolution (padding K - 1 - P) */
    size_t wp, off_x, wf, wpf, off_dy, per_thread, xp, dyt, dyp, dw, db, total;
} ConvLayout;

/* Every part starts on a 64-byte line (16 floats): rows of dyt and packed weights are then whole vector loads,
 * and the threads' parts never share a line. */
static size_t line_up(size_t n) { return (n + 15) / 16 * 16; }
static ConvLayout conv_layout(int C, int H, int W, int Co, int K, int S, int P, int T) {
    ConvLayout l = { .dx_conv = conv_dx_is_conv(K, S, P), .gx = conv_grid(C, H, W, K, S, P) };
    size_t CKK = (size_t)C * K * K, OKK = (size_t)Co * K * K, at = 0;
    l.wp = at;      at += line_up(conv_packed_size(Co, (int)CKK));
    l.off_x = at;   at += line_up(CKK);
    l.xp = 0;
    l.dyt = line_up(conv_padded_size(&l.gx));
    l.dyp = l.dyt + line_up(conv_dyt_size(Co, &l.gx));
    if (l.dx_conv) {
        l.gdy = conv_grid(Co, l.gx.Ho, l.gx.Wo, K, 1, K - 1 - P);
        l.wf = at;      at += line_up(CKK * Co);
        l.wpf = at;     at += line_up(conv_packed_size(C, (int)OKK));
        l.off_dy = at;  at += line_up(OKK);
        l.dw = l.dyp + line_up(conv_padded_size(&l.gdy));
    } else {
        l.wpf = at;     at += line_up(conv_dx_packed_size(Co, &l.gx));
        l.dw = l.dyp + line_up(conv_dx_scratch_size(Co, &l.gx));
    }
    l.db = l.dw + line_up(conv_dwt_size(Co, (int)CKK));
    l.per_thread = l.db + line_up(Co);
    l.total = at + (size_t)T * l.per_thread;
    return l;
}
/* The scratch of thread th. */
static float *conv_thread(AgNode *y, const ConvLayout *l, int th) {
    return y->saved.data + (l->total - (size_t)y->arg.conv.T * l->per_thread) + (size_t)th * l->per_thread;
}

/* The sample x as the direct kernels read it: padded into xp, or x itself when no padding is needed. */
static const float *conv_padded(float *xp, const float *x, const ConvGrid *g) {
    if (!conv_padding_needed(g)) return x;
    conv_pad(xp, x, g);
    return xp;
}

/* One sample's dW and dx: dW += dy_n (x) xp_n; dx_n += conv(pad(dy_n), wf), or its phases (stride > 1); with
 * fresh (x's grad not yet written, autograd.h), dx_n = that. */
static void conv2d_backward_sample(AgNode *y, const ConvLayout *l, float *scr, int n, float *dwt, int fresh) {
    AgNode *x = y->in[0], *wn = y->in[1];
    int C = x->val.shape[1], H = x->val.shape[2], W = x->val.shape[3], Co = y->val.shape[1];
    int Ho = l->gx.Ho, Wo = l->gx.Wo;
    const float *dy = y->grad.data + (size_t)n * Co * Ho * Wo;
    float *dx = x->grad.data + (size_t)n * C * H * W;
    if (wn->needs_grad) {
        const float *xp = conv_padded(scr + l->xp, x->val.data + (size_t)n * C * H * W, &l->gx);
        conv_dyt(scr + l->dyt, dy, Co, &l->gx);
        conv_weight_grad(dwt, scr + l->dyt, xp, (const int *)(y->saved.data + l->off_x), Co, &l->gx);
    }
    if (!x->needs_grad) return;
    if (l->dx_conv) {
        conv_forward(dx, y->saved.data + l->wpf, conv_padded(scr + l->dyp, dy, &l->gdy),
                     (const int *)(y->saved.data + l->off_dy), NULL, NULL, !fresh, C, &l->gdy);
        return;
    }
    if (fresh) memset(dx, 0, sizeof(float) * C * H * W);   /* the phases add into it */
    conv_dx_strided(dx, dy, y->saved.data + l->wpf, Co, &l->gx, scr + l->dyp);
}

/* Samples are spread over the threads; each thread has its own scratch and its own dW and db accumulators,
 * summed in thread order afterwards: the same bytes for a given thread count. Per sample n:
 * db += sum over positions of dy_n, de[n] += that sum (as add_channel_backward), and dW and dx_n as above. */
static void conv2d_backward(AgNode *y) {
    AgNode *x = y->in[0], *wn = y->in[1], *bn = y->n_in > 2 ? y->in[2] : NULL;
    AgNode *en = y->arg.conv.extra == CONV_ADD_CHANNEL ? y->in[3] : NULL, *rn = y->arg.conv.extra == CONV_ADD_RESIDUAL ? y->in[3] : NULL;
    int N = x->val.shape[0], C = x->val.shape[1], H = x->val.shape[2], W = x->val.shape[3];
    int Co = y->val.shape[1], K = y->arg.conv.K, T = y->arg.conv.T;
    int CKK = C * K * K, HWo = y->val.shape[2] * y->val.shape[3];
    ConvLayout l = conv_layout(C, H, W, Co, K, y->arg.conv.stride, y->arg.conv.pad, T);
    int fresh = x->needs_grad ? ag_take_fresh(x) : 0;   /* fresh: dx = ..., not += (autograd.h) */
    int fresh_r = rn && rn->needs_grad ? ag_take_fresh(rn) : 0;
    if (l.dx_conv && x->needs_grad) {   /* the flipped weights, packed once for every sample */
        conv_flip_weights(y->saved.data + l.wf, wn->val.data, Co, C, K);
        conv_pack_weights(y->saved.data + l.wpf, y->saved.data + l.wf, C, Co * K * K);
        conv_offsets((int *)(y->saved.data + l.off_dy), &l.gdy);
    } else if (x->needs_grad) {         /* the weights of each phase, packed once */
        conv_dx_pack(y->saved.data + l.wpf, wn->val.data, Co, &l.gx);
    }
    #pragma omp parallel for schedule(static) num_threads(T)
    for (int th = 0; th < T; th++) {
        float *scr = conv_thread(y, &l, th), *dwt = scr + l.dw, *db = scr + l.db;
        memset(dwt, 0, sizeof(float) * (l.per_thread - l.dw));
        for (int n = th; n < N; n += T) {
            const float *dy = y->grad.data + (size_t)n * Co * HWo;
            for (int o = 0; o < Co; o++) {
                double s = sum_plain(dy + (size_t)o * HWo, (size_t)HWo);
                db[o] += (float)s;
                if (en && en->needs_grad) en->grad.data[(size_t)n * Co + o] += (float)s;
            }
            if (rn && rn->needs_grad) {
                float *dr = rn->grad.data + (size_t)n * Co * HWo;
                if (fresh_r) memcpy(dr, dy, sizeof(float) * Co * HWo);
                else for (size_t i = 0; i < (size_t)Co * HWo; i++) dr[i] += dy[i];
            }
            conv2d_backward_sample(y, &l, scr, n, dwt, fresh);
        }
    }
    for (int th = 0; th < T; th++) {   /* reduce the per-thread sums in a fixed order */
        const float *dwt = conv_thread(y, &l, th) + l.dw, *db = conv_thread(y, &l, th) + l.db;
        if (wn->needs_grad) conv_dwt_add(wn->grad.data, dwt, Co, CKK);
        if (bn && bn->needs_grad) for (int o = 0; o < Co; o++) bn->grad.data[o] += db[o];
    }
}
/* 2D convolution: x (N, C, H, W), w (Cout, C, K, K), b (Cout) or NULL, stride S, zero padding P
 * -> (N, Cout, Ho, Wo) with Ho = (H + 2P - K)/S + 1: y[n,o] = b[o] + sum_{c,i,j} w[o,c,i,j] x[n,c,hS+i-P,wS+j-P],
 * then + e[n,o] (extra = CONV_ADD_CHANNEL, e (N, Cout): a U-Net block's time embedding, added as the outputs are
 * stored), or r + that (CONV_ADD_RESIDUAL, r (N, Cout, Ho, Wo): the block's skip, copied in before the sample's
 * outputs are added to it). */
static AgNode *conv2d_node(AgTape *t, AgNode *x, AgNode *w, AgNode *b, AgNode *e, int extra, int stride, int pad) {
    int N, C, H, W;
    dims4(x, &N, &C, &H, &W, "ag_conv2d");
    CHECK(w->val.ndim == 4 && w->val.shape[1] == C && w->val.shape[2] == w->val.shape[3],
          "ag_conv2d: weight must be (Cout, %d, K, K)", C);
    int Co = w->val.shape[0], K = w->val.shape[2];
    int Ho = conv_out(H, K, stride, pad), Wo = conv_out(W, K, stride, pad);
    CHECK(Ho >= 1 && Wo >= 1, "ag_conv2d: empty output for H = %d, K = %d", H, K);
    AgNode *y = ag_node_new_overwritten(t, 4, (int[]){ N, Co, Ho, Wo }, conv2d_backward, b ? 3 : 2, x, w, b);
    y->overwrites = extra == CONV_ADD_RESIDUAL ? 1u | 1u << 3 : 1u;   /* x's grad, and r's: = when fresh */
    if (e) {
        size_t want = extra == CONV_ADD_CHANNEL ? (size_t)N * Co : y->val.numel;
        CHECK(b && e->val.numel == want, "ag_conv2d_add_*: needs b, and a 4th input of %zu elements (has %zu)", want,
              e->val.numel);
        y->in[3] = e;
        y->n_in = 4;
        y->needs_grad |= e->needs_grad;
    }
    int T = 1;
#ifdef _OPENMP
    T = omp_get_max_threads();
#endif
    if (T > N) T = N;
    y->arg.conv.K = K; y->arg.conv.stride = stride; y->arg.conv.pad = pad; y->arg.conv.T = T; y->arg.conv.extra = e ? extra : 0;
    ConvLayout l = conv_layout(C, H, W, Co, K, stride, pad, T);
    float *scratch = arena_push_no_zero(t->arena, sizeof(float) * (l.total + 16));
    scratch += (64 - (uintptr_t)scratch % 64) % 64 / sizeof(float);   /* the arena aligns to 32 bytes: make it 64 */
    y->saved = tensor_wrap(scratch, 1, (int[]){ (int)l.total });     /* every part is written before it is read */
    conv_pack_weights(y->saved.data + l.wp, w->val.data, Co, C * K * K);
    conv_offsets((int *)(y->saved.data + l.off_x), &l.gx);
    const float *bias = b ? b->val.data : NULL;
    /* Samples handed out one at a time as threads come free (each is computed alone, in its thread's scratch, so
     * the bytes do not depend on who takes it): 25 samples split 13/12 statically left a thread idle, and beside a
     * busy program the thread that keeps its core takes more. U-Net pass of 25 images: 25.6 -> 22.5 ms. */
    #pragma omp parallel for schedule(dynamic, 1) num_threads(T)
    for (int n = 0; n < N; n++) {
        int th = 0;
#ifdef _OPENMP
        th = omp_get_thread_num();
#endif
        const float *xp = conv_padded(conv_thread(y, &l, th) + l.xp, x->val.data + (size_t)n * C * H * W, &l.gx);
        float *yn = y->val.data + (size_t)n * Co * Ho * Wo;
        int residual = extra == CONV_ADD_RESIDUAL;
        if (residual) memcpy(yn, e->val.data + (size_t)n * Co * Ho * Wo, sizeof(float) * Co * Ho * Wo);
        conv_forward(yn, y->saved.data + l.wp, xp, (const int *)(y->saved.data + l.off_x), bias,
                     extra == CONV_ADD_CHANNEL ? e->val.data + (size_t)n * Co : NULL, residual, Co, &l.gx);
    }
    return y;
}
AgNode *ag_conv2d(AgTape *t, AgNode *x, AgNode *w, AgNode *b, int stride, int pad) {
    return conv2d_node(t, x, w, b, NULL, 0, stride, pad);
}
AgNode *ag_conv2d_add_channel(AgTape *t, AgNode *x, AgNode *w, AgNode *b, AgNode *e, int stride, int pad) {
    return conv2d_node(t, x, w, b, e, CONV_ADD_CHANNEL, stride, pad);
}
AgNode *ag_conv2d_add(AgTape *t, AgNode *x, AgNode *w, AgNode *b, AgNode *r, int stride, int pad) {
    return conv2d_node(t, x, w, b, r, CONV_ADD_RESIDUAL, stride, pad);
}
