/* gemm.c: C = alpha op(A) op(B) + beta C in single precision, row-major (see gemm.h).
 *
 * gemm_ref is the definition. gemm is the same product organised as in GotoBLAS and BLIS
 * (Goto & van de Geijn, "Anatomy of high-performance matrix multiplication", 2008):
 *
 *   gemm           split C's columns (or rows) into one strip per thread (OpenMP)
 *   gemm_blocked   for jc over N in steps of NC:                      B panel  (KC x NC) -> L3
 *                    for pc over K in steps of KC:
 *                      for ic over M in steps of MC:  pack_a          A block  (MC x KC) -> L2
 *   macro_kernel         for jr over the NC columns in steps of NR:   B sliver (KC x NR) -> L2/L1
 *                          (first ic only: pack_b this sliver)
 *                          for ir over the MC rows in steps of MR:
 *   micro_kernel             C[MR x NR] += A sliver (MR x KC) B sliver (KC x NR), in registers
 *   edge_tile                (a tile cut by the edge of C goes through a full-size scratch tile)
 *   gemm_transposed  a C far narrower than a tile is computed as C^T, whose tiles it fills
 *   gemm_direct      a small product: whole tiles read A in place (only B is packed)
 *
 * Packing copies op(A) and op(B) into contiguous slivers, zero-padded to whole tiles, in the order
 * the micro-kernel reads them: A sliver k by k, MR values each (A's column k of the tile), B sliver
 * k by k, NR values each (B's row k). So the micro-kernel streams two arrays with unit stride, and
 * the transposes are handled once, by the packing, for all four combinations.
 *
 * The micro-kernel keeps the MR x NR tile of C in vector registers: per k it loads NR values of B
 * (two vectors), broadcasts each of the MR values of A, and does 2 MR fused multiply-adds. It prefetches
 * the C tile first (6% of the product at 2048 on the Xeon: C is read only at the end, often from memory).
 *   AVX-512 (32 registers of 16 floats): MR = 8, NR = 32, 16 accumulators.
 *   AVX2    (16 registers of  8 floats): MR = 6, NR = 16, 12 accumulators.
 *   Portable C (no AVX2/FMA at compile time): MR = 4, NR = 8, plain loops.
 * Block sizes (measured on AMD Zen 4: L1d 32 KB, L2 1 MB per core; and Intel Xeon "Emerald Rapids": L1d 48 KB,
 * L2 2 MB):
 *   KC = 512: each k-block reads and writes all of C once more, which at 2048 (16 MB of C, out of cache) cost
 *             the Xeon 9% of the product at KC = 256 (session 12, one thread, paired runs); a B sliver (KC x NR
 *             floats, 64 KB at NR = 32) then streams from L2 rather than staying in L1, which costs less;
 *   MC = 192: an A block (MC x KC floats, 384 KB) stays in L2 while the jr loop reuses it for
 *             every B sliver of the panel;
 *   NC = 4096: a B panel (KC x NC, 8 MB) lives in L3; the thread strips are usually narrower.
 * Each k-block adds its partial product to C: the first applies beta, the later ones beta = 1.
 * beta = 0 never reads C, so NaN in C is ignored as in gemm_ref. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "base.h"
#include "gemm.h"
#ifdef _OPENMP
#include <omp.h>
#endif
#include "simd.h"

void gemm_ref(float *C, const float *A, const float *B, int M, int N, int K,
              int transA, int transB, float alpha, float beta) {
    CHECK(M > 0 && N > 0 && K > 0, "gemm sizes M=%d N=%d K=%d", M, N, K);
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double acc = 0.0;   /* double: the reference must not carry float error of its own */
            for (int k = 0; k < K; k++) {
                float a = transA ? A[(long)k * M + i] : A[(long)i * K + k];
                float b = transB ? B[(long)j * K + k] : B[(long)k * N + j];
                acc += (double)a * b;
            }
            float c0 = beta == 0.0f ? 0.0f : beta * C[(long)i * N + j];  /* beta = 0 ignores C, even NaN */
            C[(long)i * N + j] = alpha * (float)acc + c0;
        }
}

/* ---- tile and block sizes ------------------------------------------------- */

#if defined(__AVX512F__)
enum { MR = 8 };
#elif defined(__AVX2__) && defined(__FMA__)
enum { MR = 6 };
#else
enum { MR = 4 };   /* portable: NR = 8 columns, plain C */
#endif
enum {
    NR = 2 * VL,   /* two vectors of B per k */
    KC = 512,      /* depth of a packed block (B sliver KC x NR in L2) */
    MC = 192,      /* rows of a packed A block (multiple of MR = 4, 6, 8): MC x KC in L2 */
    NC = 4096,     /* columns of a packed B panel (multiple of NR): KC x NC in L3 */
    ALIGN = 64     /* packed buffers start on a cache line (and a 64-byte vector) */
};

/* op(X)(r, c) = X[r rs + c cs]: a matrix seen through its two strides, so that a transpose is a swap. */
typedef struct { const float *p; long rs, cs; } View;

/* ---- packing --------------------------------------------------------------- */

/* dst[k ldd + j] = src[j lds + k] for j, k < 8: an 8 x 8 block transposed, the building block of the
 * packings that must turn rows into columns. Only the first n rows of src are read (rows j >= n repeat row
 * j - n: n >= 4, and their columns of dst are to be ignored). With AVX: eight rows in registers, three rounds of shuffles
 * (pairs of floats, pairs of pairs, halves) leave the eight columns in them. */
#if defined(__AVX2__)
static void transpose_8x8_rows(const float *src, long lds, int n, float *dst, long ldd) {
    __m256 r[8], t[8];
    for (int j = 0; j < 8; j++) r[j] = _mm256_loadu_ps(src + (j < n ? j : j - n) * lds);
    for (int j = 0; j < 8; j += 2) {   /* t[j] = r[j]0 r[j+1]0 r[j]1 r[j+1]1 | same for 4, 5 */
        t[j] = _mm256_unpacklo_ps(r[j], r[j + 1]);
        t[j + 1] = _mm256_unpackhi_ps(r[j], r[j + 1]);
    }
    for (int j = 0; j < 8; j += 4) {   /* r[j + q] = column q (and q + 4) of rows j..j+3 */
        r[j] = _mm256_shuffle_ps(t[j], t[j + 2], 0x44);
        r[j + 1] = _mm256_shuffle_ps(t[j], t[j + 2], 0xEE);
        r[j + 2] = _mm256_shuffle_ps(t[j + 1], t[j + 3], 0x44);
        r[j + 3] = _mm256_shuffle_ps(t[j + 1], t[j + 3], 0xEE);
    }
    for (int q = 0; q < 4; q++) {      /* join the halves of rows 0..3 and 4..7 */
        _mm256_storeu_ps(dst + q * ldd, _mm256_permute2f128_ps(r[q], r[q + 4], 0x20));
        _mm256_storeu_ps(dst + (q + 4) * ldd, _mm256_permute2f128_ps(r[q], r[q + 4], 0x31));
    }
}
#else
static void transpose_8x8_rows(const float *src, long lds, int n, float *dst, long ldd) {
    for (int k = 0; k < 8; k++)
        for (int j = 0; j < 8; j++) dst[k * ldd + j] = src[(j < n ? j : j - n) * lds + k];
}
#endif
static void transpose_8x8(const float *src, long lds, float *dst, long ldd) { transpose_8x8_rows(src, lds, 8, dst, ldd); }

/* A block op(A)[i0 : i0+mc, k0 : k0+kc] -> slivers of MR rows; sliver s holds a[k MR + i] = op(A)(s MR + i, k)
 * for k < kc. Rows past mc are zero, so every tile the micro-kernel sees is whole. A stored transposed is
 * read k by k, MR contiguous floats at a time; A as stored is transposed 8 x 8 when MR = 8, else row by row. */
static void pack_a(float *ap, View A, int i0, int k0, int mc, int kc) {
    for (int s = 0; s < mc; s += MR, ap += (size_t)MR * kc) {
        int m = mc - s < MR ? mc - s : MR, k = 0;
        const float *src = A.p + (long)(i0 + s) * A.rs + (long)k0 * A.cs;
        if (A.cs != 1)
            for (; k < kc; k++)
                for (int i = 0; i < m; i++) ap[k * MR + i] = src[k * A.cs + i];
        else if (MR == 8 && m == MR)
            for (; k + 8 <= kc; k += 8) transpose_8x8(src + k, A.rs, ap + k * MR, MR);
        else if (MR < 8 && m == MR)   /* AVX2's MR = 6: 8 x 8 blocks through a scratch tile whose */
            for (; k + 8 <= kc; k += 8) {           /* last two rows repeat rows 0 and 1, of which MR columns are kept */
                _Alignas(ALIGN) float t[64];
                transpose_8x8_rows(src + k, A.rs, MR, t, 8);
                for (int kk = 0; kk < 8; kk++) memcpy(ap + (k + kk) * MR, t + kk * 8, sizeof(float) * MR);
            }
        for (int i = 0; i < m; i++)   /* what is left: k from where the fast loops stopped */
            for (int kk = k; kk < kc; kk++) ap[kk * MR + i] = src[i * A.rs + kk * A.cs];
        for (int kk = 0; kk < kc; kk++)
            for (int i = m; i < MR; i++) ap[kk * MR + i] = 0.0f;
    }
}

/* B panel op(B)[k0 : k0+kc, j0 : j0+nc] -> slivers of NR columns; sliver s holds b[k NR + j] = op(B)(k, s NR + j)
 * for k < kc. Columns past nc are zero. A row of B as stored is NR floats copied at once; B stored
 * transposed is turned 8 x 8 blocks at a time. */
static void pack_b(float *bp, View B, int k0, int j0, int kc, int nc) {
    for (int s = 0; s < nc; s += NR, bp += (size_t)NR * kc) {
        int n = nc - s < NR ? nc - s : NR, k = 0;
        const float *src = B.p + (long)k0 * B.rs + (long)(j0 + s) * B.cs;
        if (B.cs == 1)
            for (; k < kc; k++)
                if (n == NR) memcpy(bp + (size_t)k * NR, src + k * B.rs, sizeof(float) * NR);
                else for (int j = 0; j < n; j++) bp[k * NR + j] = src[k * B.rs + j];
        else if (n == NR)
            for (; k + 8 <= kc; k += 8)
                for (int j = 0; j < NR; j += 8) transpose_8x8(src + j * B.cs + k, B.cs, bp + k * NR + j, NR);
        for (int j = 0; j < n; j++)   /* what is left: k from where the fast loops stopped */
            for (int kk = k; kk < kc; kk++) bp[kk * NR + j] = src[kk * B.rs + j * B.cs];
        for (int kk = 0; kk < kc; kk++)
            for (int j = n; j < NR; j++) bp[kk * NR + j] = 0.0f;
    }
}

/* ---- micro-kernel: one MR x NR tile of C ------------------------------------- */

/* C[0:MR, 0:NR] (row stride ldc) = alpha a b + beta C, where a(i, k) = a[i a_rs + k a_cs] and row k of b is
 * b + k ldb (NR floats): from packed slivers (a_rs = 1, a_cs = MR, ldb = NR: micro_kernel), or straight from the
 * operands of a small product (direct_kernel). The tile lives in 2 MR vector registers; beta = 0 writes C without
 * reading it. Each element is one chain of fused multiply-adds in k order, whichever way a and b are read. */
#if defined(__AVX2__) && defined(__FMA__)
static inline __attribute__((always_inline)) void tile_kernel(int kc, const float *restrict a, long a_rs, long a_cs,
                                                              const float *restrict b, long ldb, float *restrict c,
                                                              long ldc, float alpha, float beta) {
    Vec acc[MR][2];   /* the loops over i are unrolled (also at -O2), so acc lives in registers */
    #pragma GCC unroll 16
    for (int i = 0; i < MR; i++) {   /* and the C tile is fetched while the products run: it is read at the end */
        acc[i][0] = acc[i][1] = vec_zero();
        _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + i * ldc + NR - 1), _MM_HINT_T0);
    }
    for (int k = 0; k < kc; k++, a += a_cs, b += ldb) {
        Vec b0 = vec_loadu(b), b1 = vec_loadu(b + VL);   /* row k of the B sliver */
        #pragma GCC unroll 16
        for (int i = 0; i < MR; i++) {
            Vec ai = vec_set1(a[i * a_rs]);           /* a(i, k) broadcast */
            acc[i][0] = vec_fmadd(ai, b0, acc[i][0]);
            acc[i][1] = vec_fmadd(ai, b1, acc[i][1]);
        }
    }
    Vec va = vec_set1(alpha), vb = vec_set1(beta);
    #pragma GCC unroll 16
    for (int i = 0; i < MR; i++, c += ldc) {
        if (beta == 0.0f) {
            vec_storeu(c, vec_mul(va, acc[i][0]));
            vec_storeu(c + VL, vec_mul(va, acc[i][1]));
        } else {
            vec_storeu(c, vec_fmadd(va, acc[i][0], vec_mul(vb, vec_loadu(c))));
            vec_storeu(c + VL, vec_fmadd(va, acc[i][1], vec_mul(vb, vec_loadu(c + VL))));
        }
    }
}
#else
static inline void tile_kernel(int kc, const float *restrict a, long a_rs, long a_cs, const float *restrict b, long ldb,
                               float *restrict c, long ldc, float alpha, float beta) {
    float acc[MR][NR] = { { 0 } };
    for (int k = 0; k < kc; k++, a += a_cs, b += ldb)
        for (int i = 0; i < MR; i++)
            for (int j = 0; j < NR; j++) acc[i][j] += a[i * a_rs] * b[j];
    for (int i = 0; i < MR; i++, c += ldc)
        for (int j = 0; j < NR; j++) c[j] = beta == 0.0f ? alpha * acc[i][j] : fmaf(alpha, acc[i][j], beta * c[j]);
}
#endif

/* noinline: inlined into the loop nests, the accumulators were spilled (measured: 0.65x speed) */
__attribute__((noinline)) static void micro_kernel(int kc, const float *a, const float *b, float *c, long ldc,
                                                   float alpha, float beta) {
    tile_kernel(kc, a, 1, MR, b, NR, c, ldc, alpha, beta);
}
__attribute__((noinline)) static void direct_kernel(int kc, const float *a, long a_rs, long a_cs, const float *b,
                                                    long ldb, float *c, long ldc, float alpha, float beta) {
    tile_kernel(kc, a, a_rs, a_cs, b, ldb, c, ldc, alpha, beta);
}

/* C[0:m, 0:n] = alpha t + beta C from a whole scratch tile t (MR x NR) with the micro-kernel's own arithmetic
 * (alpha t, or alpha t + beta c in one rounding), so a value's bytes do not depend on its tile being cut. */
static void add_tile(int m, int n, const float *t, float *c, long ldc, float alpha, float beta) {
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++)
            c[i * ldc + j] = beta == 0.0f ? alpha * t[i * NR + j] : fmaf(alpha, t[i * NR + j], beta * c[i * ldc + j]);
}

/* A tile of C cut by its edge (m < MR rows or n < NR columns): the micro-kernel writes the whole
 * tile into a scratch tile, and only the m x n part that exists goes to C. */
static void edge_tile(int m, int n, int kc, const float *a, const float *b, float *c, long ldc, float alpha,
                      float beta) {
    _Alignas(ALIGN) float t[MR * NR];
    micro_kernel(kc, a, b, t, NR, 1.0f, 0.0f);
    add_tile(m, n, t, c, ldc, alpha, beta);
}

/* ---- the loop nest ----------------------------------------------------------- */

/* C[0:mc, 0:nc] = alpha Ablock Bpanel + beta C, from a packed A block and B panel: tile by tile,
 * each B sliver (in L1) meets every A sliver of the block (in L2). With B given (the first A block of a
 * k-block), each B sliver is packed just before its first use, while it is hot: when M fits in one A
 * block (the convolutions' small Cout), op(B) is then read once and the packed panel never leaves L1. */
static void macro_kernel(int mc, int nc, int kc, const float *ap, float *bp, const View *B, int k0, int j0,
                         float *c, long ldc, float alpha, float beta) {
    for (int jr = 0; jr < nc; jr += NR) {
        float *b = bp + (size_t)jr * kc;
        int n = nc - jr < NR ? nc - jr : NR;
        if (B) pack_b(b, *B, k0, j0 + jr, kc, n);
        for (int ir = 0; ir < mc; ir += MR) {
            const float *a = ap + (size_t)ir * kc;
            int m = mc - ir < MR ? mc - ir : MR;
            float *ct = c + ir * ldc + jr;
            if (m == MR && n == NR) micro_kernel(kc, a, b, ct, ldc, alpha, beta);
            else edge_tile(m, n, kc, a, b, ct, ldc, alpha, beta);
        }
    }
}

/* Packing buffers, one pair per thread, grown as needed and kept for the next call (still reachable
 * at exit, not a leak). Sizes are rounded up to whole tiles (packing pads with zeros). */
static _Thread_local float *a_buf, *b_buf;
static _Thread_local size_t a_cap, b_cap;

static float *buffer_reserve(float **buf, size_t *cap, size_t need) {
    if (need > *cap) {
        free(*buf);
        size_t bytes = (sizeof(float) * need + ALIGN - 1) / ALIGN * ALIGN;   /* aligned_alloc wants a multiple */
        *buf = aligned_alloc(ALIGN, bytes);
        CHECK(*buf != NULL, "out of memory for a %zu-float gemm packing buffer", need);
        *cap = need;
    }
    return *buf;
}

static int round_up(int x, int r) { return (x + r - 1) / r * r; }
static int min_int(int a, int b) { return a < b ? a : b; }

/* C (m x n, row stride ldc) = alpha op(A) op(B) + beta C on the calling thread: the three outer loops. */
static void gemm_blocked(float *C, long ldc, View A, View B, int m, int n, int k, float alpha, float beta) {
    float *ap = buffer_reserve(&a_buf, &a_cap, (size_t)round_up(min_int(m, MC), MR) * min_int(k, KC));
    float *bp = buffer_reserve(&b_buf, &b_cap, (size_t)round_up(min_int(n, NC), NR) * min_int(k, KC));
    for (int jc = 0; jc < n; jc += NC) {
        int nc = min_int(NC, n - jc);
        for (int pc = 0; pc < k; pc += KC) {
            int kc = min_int(KC, k - pc);
            float beta_k = pc == 0 ? beta : 1.0f;   /* later k-blocks add to what the first wrote */
            for (int ic = 0; ic < m; ic += MC) {
                int mc = min_int(MC, m - ic);
                pack_a(ap, A, ic, pc, mc, kc);
                macro_kernel(mc, nc, kc, ap, bp, ic == 0 ? &B : NULL, pc, jc, C + ic * ldc + jc, ldc, alpha, beta_k);
            }
        }
    }
}

/* A product on one thread whose C is much narrower than a tile (the toy network's output layer: N = 2 of NR = 32
 * columns) wastes most of each tile; its transpose C^T = op(B)^T op(A)^T fills them (M = 2 of MR = 8 rows). Each
 * element is the same chain of fused multiply-adds in the same order (a b = b a), so the bytes are the same. C^T
 * lives in a scratch buffer, filled from C only when beta reads it. */
static _Thread_local float *t_buf;
static _Thread_local size_t t_cap;

static long tiles(int m, int n) { return (long)((m + MR - 1) / MR) * ((n + NR - 1) / NR); }

static void gemm_transposed(float *C, View a, View b, int M, int N, int K, float alpha, float beta) {
    float *ct = buffer_reserve(&t_buf, &t_cap, (size_t)M * N);
    if (beta != 0.0f)
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) ct[(size_t)j * M + i] = C[(size_t)i * N + j];
    View at = { b.p, b.cs, b.rs }, bt = { a.p, a.cs, a.rs };   /* op(B)^T and op(A)^T: the strides swapped */
    gemm_blocked(ct, M, at, bt, N, M, K, alpha, beta);
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) C[(size_t)i * N + j] = ct[(size_t)j * M + i];
}

/* A small product on one thread, K within one k-block: A fits in L2 and is read where it is, 8 rows (or 8
 * contiguous columns, A stored transposed) at a time, instead of being packed (packing A, 8 x 8 transposes for A
 * as stored, was a fifth of a toy training step's GEMM time). B is packed as usual: read in place, its strided
 * rows did not stay in L1 and the tiles ran slower than packing cost. Whole tiles of rows only; the rows past the
 * last whole tile go through gemm_blocked. Each element is the packed path's chain, so the bytes are the same. */
enum { DIRECT_MAX = 1 << 15 };   /* floats of A: 128 KB */

static void gemm_direct(float *C, long ldc, View a, View b, int M, int N, int K, float alpha, float beta) {
    int Mf = M / MR * MR;
    float *bp = buffer_reserve(&b_buf, &b_cap, (size_t)round_up(N, NR) * K);
    for (int jr = 0; jr < N; jr += NR) {
        int n = N - jr < NR ? N - jr : NR;
        float *bs = bp + (size_t)jr * K;
        pack_b(bs, b, 0, jr, K, n);
        for (int ir = 0; ir < Mf; ir += MR) {
            const float *as = a.p + (long)ir * a.rs;
            float *ct = C + ir * ldc + jr;
            if (n == NR) direct_kernel(K, as, a.rs, a.cs, bs, NR, ct, ldc, alpha, beta);
            else {   /* a tile cut by the last column: through a scratch tile, as edge_tile does */
                _Alignas(ALIGN) float t[MR * NR];
                direct_kernel(K, as, a.rs, a.cs, bs, NR, t, NR, 1.0f, 0.0f);
                add_tile(MR, n, t, ct, ldc, alpha, beta);
            }
        }
    }
    if (Mf < M) gemm_blocked(C + Mf * ldc, ldc, (View){ a.p + (long)Mf * a.rs, a.rs, a.cs }, b, M - Mf, N, K, alpha, beta);
}

/* Threads share the work by strips of C: column strips (whole multiples of NR) when C is at least as
 * wide as tall, else row strips (multiples of MR). Each thread packs its own A and B, so threads never
 * wait on each other. Inside a parallel region, or for a small product, gemm runs on the caller's thread. */
void gemm(float *C, const float *A, const float *B, int M, int N, int K,
          int transA, int transB, float alpha, float beta) {
    CHECK(M > 0 && N > 0 && K > 0, "gemm sizes M=%d N=%d K=%d", M, N, K);
    View a = transA ? (View){ A, 1, M } : (View){ A, K, 1 };   /* A stored (K, M) or (M, K) */
    View b = transB ? (View){ B, 1, K } : (View){ B, N, 1 };   /* B stored (N, K) or (K, N) */
    int T = 1;
#ifdef _OPENMP
    if (!omp_in_parallel() && (double)M * N * K >= 256.0 * 256 * 256) T = omp_get_max_threads();
#endif
    if (T == 1 && 2 * tiles(N, M) <= tiles(M, N)) { gemm_transposed(C, a, b, M, N, K, alpha, beta); return; }
    if (T == 1 && K <= KC && M >= MR && (long)M * K <= DIRECT_MAX) {
        gemm_direct(C, N, a, b, M, N, K, alpha, beta);
        return;
    }
    int by_cols = N >= M;
    int strip = by_cols ? round_up((N + T - 1) / T, NR) : round_up((M + T - 1) / T, MR);
    #pragma omp parallel for schedule(static) num_threads(T) if (T > 1)
    for (int t = 0; t < T; t++) {
        int lo = t * strip, hi = min_int(by_cols ? N : M, lo + strip);
        if (lo >= hi) continue;
        if (by_cols) {
            View bs = { b.p + (long)lo * b.cs, b.rs, b.cs };
            gemm_blocked(C + lo, N, a, bs, M, hi - lo, K, alpha, beta);
        } else {
            View as = { a.p + (long)lo * a.rs, a.rs, a.cs };
            gemm_blocked(C + (long)lo * N, N, as, b, hi - lo, N, K, alpha, beta);
        }
    }
}
