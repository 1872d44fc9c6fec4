/* conv.c: convolutions computed on a padded grid (see conv.h for the idea and the calls).
 *
 * Forward tile: MR output channels x NR = 2 VL grid positions, in 2 MR vector registers (as gemm.c's
 * micro-kernel): per tap k, two vectors of xp at off[k] + q0 (unaligned loads, no copy), MR broadcasts of
 * the packed weights, 2 MR fused multiply-adds, and a prefetch of the rows two tiles on. The tile is stored
 * from its registers, with the bias or the previous y added, by masked stores: one per vector and output row
 * it touches (the Ws - Wo thrown-away columns are left out of the masks). A lone last output channel (Cout = 1)
 * gets a one-row tile; the last tile of the grid is moved back to end at Lq, its overlap with the one before
 * not stored twice.
 * Weight-gradient tile: MR taps x up to 2 VL output channels: per grid position q, the vectors of dy^T at
 * q (conv_dyt) times MR broadcasts of xp[off[k] + q]; the sum over q stays in registers and is added, a vector
 * per tap, to dW stored transposed (tap by tap, the channels side by side: conv_dwt_add turns it). For Cout = 1, MR taps
 * with vectors along q instead, summed across the lanes at the end.
 *   AVX-512: MR = 8 (16 accumulators of 32);  AVX2: MR = 6 (12 of 16);  plain C: MR = 4. */
#include <string.h>
#include "base.h"
#include "conv.h"
#include "simd.h"

#if defined(__AVX512F__)
enum { MR = 8 };
#elif defined(__AVX2__) && defined(__FMA__)
enum { MR = 6 };
#else
enum { MR = 4 };
#endif
enum { NR = 2 * VL };

static int round_up(int x, int r) { return (x + r - 1) / r * r; }
static int min_int(int a, int b) { return a < b ? a : b; }
static int max_int(int a, int b) { return a > b ? a : b; }

ConvGrid conv_grid(int C, int H, int W, int K, int S, int P) {
    CHECK(C >= 1 && H >= 1 && W >= 1 && K >= 1 && S >= 1 && P >= 0, "conv_grid: C=%d H=%d W=%d K=%d S=%d P=%d",
          C, H, W, K, S, P);
    ConvGrid g = { .C = C, .H = H, .W = W, .K = K, .S = S, .P = P, .Hp = H + 2 * P, .Wp = W + 2 * P };
    g.Ho = g.Hp < K ? 0 : (g.Hp - K) / S + 1;
    g.Wo = g.Wp < K ? 0 : (g.Wp - K) / S + 1;
    CHECK(g.Ho >= 1 && g.Wo >= 1, "conv_grid: empty output for H=%d W=%d K=%d P=%d", H, W, K, P);
    g.Hs = (g.Hp + S - 1) / S;
    g.Ws = S == 1 ? max_int(W + P, g.Wo) : (g.Wp + S - 1) / S;   /* stride 1: a row's right border is the next one's left */
    g.Lq = g.Ho * g.Ws;
    return g;
}

/* The last tile reads up to round_up(Lq, NR) - 1 + off[C K K - 1] < S^2 C Hs Ws + NR + K. */
size_t conv_padded_size(const ConvGrid *g) { return (size_t)g->S * g->S * g->C * g->Hs * g->Ws + NR + g->K; }

size_t conv_packed_size(int Co, int CKK) { return (size_t)round_up(Co, MR) * CKK; }

/* dyt's row length: Cout rounded up to whole vectors; a single channel is kept as one grid row (see below). */
static int dyt_ld(int Co) { return Co == 1 ? 1 : round_up(Co, VL); }
size_t conv_dyt_size(int Co, const ConvGrid *g) { return (size_t)g->Lq * dyt_ld(Co); }

/* A 1x1 convolution without padding reads x itself: Lq = H W, and the last tile is moved back inside it. */
int conv_padding_needed(const ConvGrid *g) { return !(g->K == 1 && g->S == 1 && g->P == 0 && g->Lq >= NR); }

/* Tap (c, i, j) reads phase (i mod S, j mod S) of channel c, shifted by (i / S, j / S). */
void conv_offsets(int *off, const ConvGrid *g) {
    int S = g->S;
    for (int c = 0; c < g->C; c++)
        for (int i = 0; i < g->K; i++)
            for (int j = 0; j < g->K; j++)
                off[(c * g->K + i) * g->K + j] = ((((i % S) * S + j % S) * g->C + c) * g->Hs + i / S) * g->Ws + j / S;
}

/* dst[0 .. n) = src[0 .. n_src), then zeros (n_src <= n), a vector at a time. */
static void copy_fill(float *dst, const float *src, int n_src, int n) {
    for (int j = 0; j < n; j += VL) {
        int take = min_int(max_int(n_src - j, 0), VL);
        Vec v = take > 0 ? vec_mask_loadu(src + j, vec_mask_range(0, take)) : vec_zero();
        vec_mask_storeu(dst + j, vec_mask_range(0, min_int(n - j, VL)), v);
    }
}

/* Stride 1: one padded image per channel, rows of Ws = W + P: P zeros, then x's row; the next row's P zeros are
 * this row's right border (a tap past the row's end reads them). P zero rows above and below. */
static void pad_s1(float *xp, const float *x, const ConvGrid *g) {
    int P = g->P, W = g->W, Ws = g->Ws;
    for (int c = 0; c < g->C; c++) {
        float *pc = xp + (size_t)c * g->Hp * Ws;
        const float *xc = x + (size_t)c * g->H * W;
        copy_fill(pc, NULL, 0, P * Ws + P);   /* top rows and the first left border */
        for (int h = 0; h < g->H; h++)        /* row h, then the zeros up to the next row's data */
            copy_fill(pc + (size_t)(h + P) * Ws + P, xc + (size_t)h * W, W, Ws);
        copy_fill(pc + (size_t)(g->H + P) * Ws + P, NULL, 0, P * Ws - P);   /* bottom rows */
    }
}

/* The phase columns s whose input column s S + b - P lies in [0, W): [lo, hi). */
static void phase_cols(const ConvGrid *g, int b, int *lo, int *hi) {
    int S = g->S, first = g->P - b;   /* s S >= P - b */
    *lo = first > 0 ? (first + S - 1) / S : 0;
    *hi = min_int(g->Ws, (g->W + g->P - b + S - 1) / S);
    if (*lo > *hi) *lo = *hi;
}

/* Stride S: phase (a, b) of the padded image, xp[a, b, c, r, s] = x[c, r S + a - P, s S + b - P] (0 outside). */
static void pad_phases(float *xp, const float *x, const ConvGrid *g) {
    int S = g->S, P = g->P;
    for (int a = 0; a < S; a++)
        for (int b = 0; b < S; b++) {
            int lo, hi;
            phase_cols(g, b, &lo, &hi);
            for (int c = 0; c < g->C; c++)
                for (int r = 0; r < g->Hs; r++) {
                    float *row = xp + ((((size_t)a * S + b) * g->C + c) * g->Hs + r) * g->Ws;
                    int h = r * S + a - P;
                    if (h < 0 || h >= g->H) {
                        memset(row, 0, sizeof(float) * g->Ws);
                        continue;
                    }
                    const float *src = x + ((size_t)c * g->H + h) * g->W + b - P;   /* src[s S] = x[c, h, s S + b - P] */
                    for (int s = 0; s < lo; s++) row[s] = 0.0f;
                    for (int s = lo; s < hi; s++) row[s] = src[s * S];
                    for (int s = hi; s < g->Ws; s++) row[s] = 0.0f;
                }
        }
}

void conv_pad(float *xp, const float *x, const ConvGrid *g) {
    if (g->S == 1) pad_s1(xp, x, g);
    else pad_phases(xp, x, g);
    memset(xp + (size_t)g->S * g->S * g->C * g->Hs * g->Ws, 0, sizeof(float) * (NR + g->K));   /* slack */
}

void conv_pack_weights(float *wp, const float *w, int Co, int CKK) {
    for (int t = 0; t < Co; t += MR, wp += (size_t)MR * CKK) {
        int m = min_int(MR, Co - t);
        for (int k = 0; k < CKK; k++)
            for (int i = 0; i < MR; i++) wp[k * MR + i] = i < m ? w[(size_t)(t + i) * CKK + k] : 0.0f;
    }
}

/* ---- forward -------------------------------------------------------------------- */

/* Where a tile's outputs go. Lanes of vector v (grid positions q0 + v VL + lane) in one output row h go to y at
 * q - shift, shift = h (Ws - Wo): one masked store per (vector, row) segment. Lanes in the thrown-away columns,
 * before qlo (stored by the tile before) or past the last row are in no segment. */
typedef struct { VMask m; int lo, hi, shift; } Seg;
typedef struct { int n[2]; Seg seg[2][VL + 1]; } TileStore;

static void tile_store_plan(TileStore *st, int q0, int qlo, const ConvGrid *g) {
    for (int v = 0; v < 2; v++) {
        int p = q0 + v * VL;   /* the vector's first grid position */
        st->n[v] = 0;
        if (g->Ws == g->Wo) {  /* no thrown-away columns: the rows follow one another in y too */
            int lo = max_int(qlo - p, 0), hi = min_int(g->Lq - p, VL);
            if (lo < hi) st->seg[v][st->n[v]++] = (Seg){ vec_mask_range(lo, hi), lo, hi, 0 };
            continue;
        }
        for (int h = max_int(qlo, p) / g->Ws; h < g->Ho && h * g->Ws < p + VL; h++) {
            int lo = max_int(max_int(qlo, h * g->Ws) - p, 0), hi = min_int(h * g->Ws + g->Wo - p, VL);
            if (lo < hi) st->seg[v][st->n[v]++] = (Seg){ vec_mask_range(lo, hi), lo, hi, h * (g->Ws - g->Wo) };
        }
    }
}

/* The lanes of a vector at y + at (at = q0 + v VL) that its segments cover, the other lanes those of r. */
static inline __attribute__((always_inline)) Vec gather_vec(const float *y, int at, Vec r, const Seg *seg, int n) {
    for (int k = 0; k < n; k++) r = vec_mask_loadu_into(r, y + at - seg[k].shift, seg[k].m);
    return r;
}
static inline __attribute__((always_inline)) void scatter_vec(float *y, int at, Vec r, const Seg *seg, int n) {
    for (int k = 0; k < n; k++) vec_mask_storeu(y + at - seg[k].shift, seg[k].m, r);
}

/* One output channel's tile row (r0, r1) into its plane y: (r + b) + b2 (b, b2 may be NULL), or y + that. The old
 * values are all read before any is written (a masked load behind a masked store to the same line would wait). */
static inline __attribute__((always_inline)) void store_row(float *y, int q0, Vec r0, Vec r1, const float *b,
                                                            const float *b2, int accumulate, const TileStore *st) {
    if (b) {
        r0 = vec_add(r0, vec_set1(*b));
        r1 = vec_add(r1, vec_set1(*b));
    }
    if (b2) {
        r0 = vec_add(r0, vec_set1(*b2));
        r1 = vec_add(r1, vec_set1(*b2));
    }
    if (accumulate) {
        Vec y0 = gather_vec(y, q0, vec_zero(), st->seg[0], st->n[0]), y1 = gather_vec(y, q0 + VL, vec_zero(), st->seg[1], st->n[1]);
        r0 = vec_add(y0, r0);
        r1 = vec_add(y1, r1);
    }
    scatter_vec(y, q0, r0, st->seg[0], st->n[0]);
    scatter_vec(y, q0 + VL, r1, st->seg[1], st->n[1]);
}

/* y[o0 + i] (+)= (sum_k wp[k MR + i] xq[off[k] + j] + b) + b2 for the tile's grid positions j < NR, i < m (y, b and
 * b2 from channel o0 on, b and b2 may be NULL): the tile in 2 MR registers, stored straight from them. */
__attribute__((noinline))   /* as gemm.c's micro-kernel: a function of its own keeps the tile in registers */
static void forward_tile(float *restrict y, size_t HWo, const float *b, const float *b2, int accumulate, int m, int q0,
                         const TileStore *st, const float *restrict wp, const float *restrict xq,
                         const int *restrict off, int CKK) {
    for (int i = 0; i < m; i++)   /* the tile's outputs, on their way to cache while the taps are summed */
        for (int v = 0; v < 2; v++)
            for (int k = 0; k < st->n[v]; k++) {
                const float *yk = y + i * HWo + q0 + v * VL - st->seg[v][k].shift;
                __builtin_prefetch(yk + st->seg[v][k].lo, 1);
                __builtin_prefetch(yk + st->seg[v][k].hi - 1, 1);
            }
    Vec acc[MR][2];
    #pragma GCC unroll 16
    for (int i = 0; i < MR; i++) acc[i][0] = acc[i][1] = vec_zero();
    for (int k = 0; k < CKK; k++, wp += MR) {
        const float *x = xq + off[k];
        __builtin_prefetch(x + 2 * NR);      /* row k two tiles on: from L3 or further, it would stall */
        __builtin_prefetch(x + 2 * NR + VL);
        Vec x0 = vec_loadu(x), x1 = vec_loadu(x + VL);
        #pragma GCC unroll 16
        for (int i = 0; i < MR; i++) {
            Vec a = vec_set1(wp[i]);
            acc[i][0] = vec_fmadd(a, x0, acc[i][0]);
            acc[i][1] = vec_fmadd(a, x1, acc[i][1]);
        }
    }
    #pragma GCC unroll 16
    for (int i = 0; i < MR; i++) {
        if (i >= m) break;
        store_row(y + i * HWo, q0, acc[i][0], acc[i][1], b ? b + i : NULL, b2 ? b2 + i : NULL, accumulate, st);
    }
}

/* The same for a single output channel (the last of a layer whose Cout leaves one, as Cout = 1). */
__attribute__((noinline)) static void forward_tile_row(float *restrict y, const float *b, const float *b2, int accumulate, int q0,
                                                       const TileStore *st, const float *restrict wp,
                                                       const float *restrict xq, const int *restrict off, int CKK) {
    Vec acc0 = vec_zero(), acc1 = vec_zero();
    for (int k = 0; k < CKK; k++, wp += MR) {
        Vec a = vec_set1(wp[0]);
        acc0 = vec_fmadd(a, vec_loadu(xq + off[k]), acc0);
        acc1 = vec_fmadd(a, vec_loadu(xq + off[k] + VL), acc1);
    }
    store_row(y, q0, acc0, acc1, b, b2, accumulate, st);
}

/* y (Cout, Ho, Wo) (+)= the n_taps taps of wp over xp, on the grid of g (row length Ws, Lq positions). */
static void forward_taps(float *y, const float *wp, const float *xp, const int *off, int n_taps, const float *b,
                         const float *b2, int accumulate, int Co, const ConvGrid *g) {
    size_t HWo = (size_t)g->Ho * g->Wo;
    TileStore st;
    for (int qlo = 0; qlo < g->Lq; qlo += NR) {
        int q0 = qlo + NR > g->Lq && g->Lq >= NR ? g->Lq - NR : qlo;   /* the last tile ends at Lq, not past it */
        tile_store_plan(&st, q0, qlo, g);
        for (int o0 = 0; o0 < Co; o0 += MR) {
            int m = min_int(MR, Co - o0);
            float *yo = y + o0 * HWo;
            const float *bo = b ? b + o0 : NULL, *b2o = b2 ? b2 + o0 : NULL;
            if (m == 1) forward_tile_row(yo, bo, b2o, accumulate, q0, &st, wp + (size_t)o0 * n_taps, xp + q0, off, n_taps);
            else forward_tile(yo, HWo, bo, b2o, accumulate, m, q0, &st, wp + (size_t)o0 * n_taps, xp + q0, off, n_taps);
        }
    }
}

void conv_forward(float *y, const float *wp, const float *xp, const int *off, const float *b, const float *b2,
                  int accumulate, int Co, const ConvGrid *g) {
    forward_taps(y, wp, xp, off, g->C * g->K * g->K, b, b2, accumulate, Co, g);
}

/* ---- input gradient of a strided convolution ------------------------------------- */

/* Phase (a, b) of the gradient of the padded input gets, from output (h, w), the taps i = a + S u, j = b + S v:
 *   dX_ab[c][r][s] = sum_{o,u,v} w[o, c, a + S u, b + S v] dy[o][r - u][s - v],   u < Ka = ceil((K - a) / S),
 * a stride-1 correlation of dy, padded by Pd = ceil(K / S) - 1 rows and columns above and to the left (and to
 * Hq x Wq = (Hs + Pd) x (Ws + Pd) below and to the right), with those taps: forward_taps on the grid of row
 * length Wq, Hs rows, Ws of them kept. Then dx[c][r S + a - P][s S + b - P] += dX_ab[c][r][s] inside x. */
static int phase_taps(int K, int S, int a) { return (K - a + S - 1) / S; }
static int dx_pd(const ConvGrid *g) { return (g->K + g->S - 1) / g->S - 1; }
static ConvGrid dx_phase_grid(const ConvGrid *g) {   /* the output grid of one phase (fields forward_taps reads) */
    int Pd = dx_pd(g);
    ConvGrid p = *g;
    p.Ho = g->Hs;
    p.Wo = g->Ws;
    p.Ws = g->Ws + Pd;
    p.Lq = p.Ho * p.Ws;
    return p;
}
static size_t dx_dyp_size(int Co, const ConvGrid *g) {
    int Pd = dx_pd(g);
    return (size_t)Co * (g->Hs + Pd) * (g->Ws + Pd) + NR + Pd + 1;
}
static size_t dx_phase_size(int Co, const ConvGrid *g) {   /* packed weights, then offsets, of one phase */
    int Km = dx_pd(g) + 1;
    return conv_packed_size(g->C, Co * Km * Km) + (size_t)Co * Km * Km;
}
size_t conv_dx_packed_size(int Co, const ConvGrid *g) { return (size_t)g->S * g->S * dx_phase_size(Co, g); }
size_t conv_dx_scratch_size(int Co, const ConvGrid *g) { return dx_dyp_size(Co, g) + (size_t)g->C * g->Hs * g->Ws; }

void conv_dx_pack(float *pk, const float *w, int Co, const ConvGrid *g) {
    int S = g->S, K = g->K, C = g->C, Pd = dx_pd(g), Wq = g->Ws + Pd, Hq = g->Hs + Pd;
    for (int a = 0; a < S; a++)
        for (int b = 0; b < S; b++) {
            float *wp = pk + (size_t)(a * S + b) * dx_phase_size(Co, g);
            int Ka = phase_taps(K, S, a), Kb = phase_taps(K, S, b), n = Co * Ka * Kb;
            int *off = (int *)(wp + conv_packed_size(C, Co * (Pd + 1) * (Pd + 1)));
            for (int o = 0; o < Co; o++)
                for (int u = 0; u < Ka; u++)
                    for (int v = 0; v < Kb; v++) {
                        int k = (o * Ka + u) * Kb + v;
                        off[k] = (o * Hq + Pd - u) * Wq + Pd - v;
                        for (int c = 0; c < round_up(C, MR); c++)   /* tile c / MR, row c % MR, tap k */
                            wp[((size_t)(c / MR) * n + k) * MR + c % MR] =
                                c < C ? w[(((size_t)o * C + c) * K + a + S * u) * K + b + S * v] : 0.0f;
                    }
        }
}

void conv_dx_strided(float *dx, const float *dy, const float *pk, int Co, const ConvGrid *g, float *scratch) {
    int S = g->S, K = g->K, C = g->C, Pd = dx_pd(g), Wq = g->Ws + Pd, Hq = g->Hs + Pd;
    float *dyp = scratch, *dph = scratch + dx_dyp_size(Co, g);
    memset(dyp, 0, sizeof(float) * dx_dyp_size(Co, g));
    for (int o = 0; o < Co; o++)   /* dy into the padded buffer, rows and columns from Pd on */
        for (int h = 0; h < g->Ho; h++)
            memcpy(dyp + ((size_t)o * Hq + Pd + h) * Wq + Pd, dy + ((size_t)o * g->Ho + h) * g->Wo, sizeof(float) * g->Wo);
    ConvGrid pg = dx_phase_grid(g);
    for (int a = 0; a < S; a++)
        for (int b = 0; b < S; b++) {
            int n = Co * phase_taps(K, S, a) * phase_taps(K, S, b);
            if (n == 0) continue;   /* K < S: no tap falls on this phase */
            const float *wp = pk + (size_t)(a * S + b) * dx_phase_size(Co, g);
            const int *off = (const int *)(wp + conv_packed_size(C, Co * (Pd + 1) * (Pd + 1)));
            forward_taps(dph, wp, dyp, off, n, NULL, NULL, 0, C, &pg);
            int lo, hi;
            phase_cols(g, b, &lo, &hi);
            for (int c = 0; c < C; c++)
                for (int r = 0; r < g->Hs; r++) {
                    int h = r * S + a - g->P;
                    if (h < 0 || h >= g->H) continue;
                    float *dxr = dx + ((size_t)c * g->H + h) * g->W + b - g->P;   /* dxr[s S] = dx[c, h, s S + b - P] */
                    const float *src = dph + ((size_t)c * g->Hs + r) * g->Ws;
                    for (int s = lo; s < hi; s++) dxr[s * S] += src[s];
                }
        }
}

/* ---- weight gradient ------------------------------------------------------------ */

/* Row q of dyt gathers dy[o] at (h, w) for every o: Cout streams read side by side, one row written at a time. */
void conv_dyt(float *dyt, const float *dy, int Co, const ConvGrid *g) {
    int ld = dyt_ld(Co);
    size_t HWo = (size_t)g->Ho * g->Wo;
    for (int h = 0; h < g->Ho; h++) {
        const float *dyh = dy + (size_t)h * g->Wo;
        float *row = dyt + (size_t)h * g->Ws * ld;
        for (int w = 0; w < g->Wo; w++, row += ld) {
            for (int o = 0; o < Co; o++) row[o] = dyh[o * HWo + w];
            for (int o = Co; o < ld; o++) row[o] = 0.0f;
        }
        memset(row, 0, sizeof(float) * (size_t)(g->Ws - g->Wo) * ld);   /* the thrown-away columns */
    }
}

/* dwt[(k0 + i) ld + o0 + v] += sum_q xp[off[k0 + i] + q] dyt[q ld + o0 + v] for i < m taps, v < nv VL channels
 * (those past Cout are zero columns of dyt, summed into dwt's padding); nv = 1 or 2 vectors of channels (a
 * constant where it is called, so the loops unroll). dW transposed: each tap's sums are whole vectors added. */
static inline __attribute__((always_inline)) void weight_grad_tile(float *dwt, int k0, int m, int o0, const float *xp,
                                                                    const int *off, const float *dyt, int ld, int Lq,
                                                                    const int nv) {
    const float *xr[MR];
    for (int i = 0; i < MR; i++) xr[i] = xp + off[k0 + (i < m ? i : 0)];   /* rows past m repeat row 0, unused */
    Vec acc[MR][2];
    #pragma GCC unroll 16
    for (int i = 0; i < MR; i++) acc[i][0] = acc[i][1] = vec_zero();
    const float *d = dyt + o0;
    for (int q = 0; q < Lq; q++, d += ld) {
        Vec d0 = vec_loadu(d), d1 = nv > 1 ? vec_loadu(d + VL) : vec_zero();
        #pragma GCC unroll 16
        for (int i = 0; i < MR; i++) {
            Vec a = vec_set1(xr[i][q]);
            acc[i][0] = vec_fmadd(a, d0, acc[i][0]);
            if (nv > 1) acc[i][1] = vec_fmadd(a, d1, acc[i][1]);
        }
    }
    #pragma GCC unroll 16
    for (int i = 0; i < MR; i++) {
        if (i >= m) break;
        float *w = dwt + (size_t)(k0 + i) * ld + o0;
        vec_storeu(w, vec_add(vec_loadu(w), acc[i][0]));
        if (nv > 1) vec_storeu(w + VL, vec_add(vec_loadu(w + VL), acc[i][1]));
    }
}
__attribute__((noinline)) static void weight_grad_tile1(float *dwt, int k0, int m, int o0, const float *xp,
                                                        const int *off, const float *dyt, int ld, int Lq) {
    weight_grad_tile(dwt, k0, m, o0, xp, off, dyt, ld, Lq, 1);
}
__attribute__((noinline)) static void weight_grad_tile2(float *dwt, int k0, int m, int o0, const float *xp,
                                                        const int *off, const float *dyt, int ld, int Lq) {
    weight_grad_tile(dwt, k0, m, o0, xp, off, dyt, ld, Lq, 2);
}

/* One output channel: dw[k0 + i] += sum_q xp[off[k0 + i] + q] dy[q], vectors along q, summed at the end. */
static void weight_grad_row(float *dw, int k0, int m, const float *xp, const int *off, const float *dy, int Lq) {
    const float *xr[MR];
    for (int i = 0; i < MR; i++) xr[i] = xp + off[k0 + (i < m ? i : 0)];
    Vec acc[MR];
    for (int i = 0; i < MR; i++) acc[i] = vec_zero();
    int q = 0;
    for (; q + VL <= Lq; q += VL) {
        Vec d = vec_loadu(dy + q);
        for (int i = 0; i < MR; i++) acc[i] = vec_fmadd(vec_loadu(xr[i] + q), d, acc[i]);
    }
    _Alignas(64) float t[VL];
    for (int i = 0; i < m; i++) {
        vec_storeu(t, acc[i]);
        float sum = 0.0f;
        for (int v = 0; v < VL; v++) sum += t[v];
        for (int r = q; r < Lq; r++) sum += xr[i][r] * dy[r];
        dw[k0 + i] += sum;
    }
}

size_t conv_dwt_size(int Co, int CKK) { return (size_t)CKK * dyt_ld(Co); }

void conv_weight_grad(float *dwt, const float *dyt, const float *xp, const int *off, int Co, const ConvGrid *g) {
    int CKK = g->C * g->K * g->K, ld = dyt_ld(Co);
    if (Co == 1) {
        for (int k0 = 0; k0 < CKK; k0 += MR) weight_grad_row(dwt, k0, min_int(MR, CKK - k0), xp, off, dyt, g->Lq);
        return;
    }
    for (int o0 = 0; o0 < Co; o0 += 2 * VL)
        for (int k0 = 0; k0 < CKK; k0 += MR) {
            int m = min_int(MR, CKK - k0);
            if (Co - o0 > VL) weight_grad_tile2(dwt, k0, m, o0, xp, off, dyt, ld, g->Lq);
            else weight_grad_tile1(dwt, k0, m, o0, xp, off, dyt, ld, g->Lq);
        }
}

void conv_dwt_add(float *dw, const float *dwt, int Co, int CKK) {
    int ld = dyt_ld(Co);
    for (int o = 0; o < Co; o++)
        for (int k = 0; k < CKK; k++) dw[(size_t)o * CKK + k] += dwt[(size_t)k * ld + o];
}

/* ---- the definition -------------------------------------------------------------- */

void conv_ref(float *y, const float *w, const float *x, const float *b, int Co, int C, int H, int W, int K, int S, int P) {
    int Ho = (H + 2 * P - K) / S + 1, Wo = (W + 2 * P - K) / S + 1;
    for (int o = 0; o < Co; o++)
        for (int h = 0; h < Ho; h++)
            for (int v = 0; v < Wo; v++) {
                double acc = b ? b[o] : 0.0;   /* double: the oracle carries no float error of its own */
                for (int c = 0; c < C; c++)
                    for (int i = 0; i < K; i++)
                        for (int j = 0; j < K; j++) {
                            int hh = h * S + i - P, ww = v * S + j - P;
                            if (hh >= 0 && hh < H && ww >= 0 && ww < W)
                                acc += (double)w[((o * C + c) * K + i) * K + j] * x[((size_t)c * H + hh) * W + ww];
                        }
                y[((size_t)o * Ho + h) * Wo + v] = (float)acc;
            }
}
