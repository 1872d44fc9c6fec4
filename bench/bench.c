/* bench.c: `make bench`. Measures, on this machine, what the issues ask for, and says what it compares with:
 *   - the fp32 FMA peak (a micro-benchmark of independent vector FMA chains, 1 thread and all threads);
 *   - square GEMM at 256, 512, 1024, 2048 and the near powers of two 500, 520, 1000, 1040 (cache aliasing
 *     shows there), against OpenBLAS's cblas_sgemm run TWICE OR MORE: as it detects the CPU itself, and with
 *     OPENBLAS_CORETYPE forced to each kernel the CPU's instruction set can run (SkylakeX, Cooperlake on
 *     AVX-512; Haswell, Zen on AVX2). OpenBLAS picks its kernel once, when it is loaded, so each variant
 *     runs in child processes (this program re-executed with --gemm-child and the variable set; two per variant)
 *     that print the kernel name openblas_get_corename reports. Ours runs in children too, one just before each
 *     of OpenBLAS's, and each figure is the best of the same number of short rounds: the ratio is to the fastest
 *     kernel, each side given the same chances on a machine whose speed drifts;
 *   - each convolution shape of the U-Net (batch 64), forward and backward through the tape;
 *   - the U-Net's training images/s at chapter 2's batch size, and a per-op profile of one training step;
 *   - the 2D toy recipe (toy_train of common/toymodel.c, batch 256) in training steps/s;
 *   - PyTorch on the same U-Net and the same toy recipe (bench/toy_mlp.py, bench/unet.py), when /usr/bin/python3 imports torch,
 *     in the same run, with the ratio; its BLAS (OpenBLAS, forced to the kernel fastest in the GEMM table) and that
 *     kernel printed (bench/blas_info.py); on 1 or all threads, OpenBLAS on 1 or all, under libgomp's default wait
 *     policy and under passive waiting, the fastest counting (torch_run);
 * Every rate is the best of a few repeats (a shared machine only ever makes a run slower). Prints a table,
 * then every figure again as one JSON line {"bench": name, "value": v, "unit": u}.
 * `build-v3/bench_run --only gemm` is the same GEMM table for an AVX2 build (-march=x86-64-v3); --only conv
 * and --only train run those sections alone.
 * Benchmarks are not tests: nothing here asserts a time. */
#include <dlfcn.h>
#include <immintrin.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include "autograd.h"
#include "cli.h"
#include "gemm.h"
#include "nn.h"
#include "optim.h"
#include "schedule.h"
#include "toymodel.h"
#include "unet.h"

enum { MAX_RESULTS = 160 };
static struct { char name[80]; double value; const char *unit; } results[MAX_RESULTS];
static int n_results;

/* Keeps a figure for the JSON lines at the end; its name is printf-formatted. */
static void record(double value, const char *unit, const char *fmt, ...) {
    if (n_results >= MAX_RESULTS) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(results[n_results].name, sizeof results[0].name, fmt, ap);
    va_end(ap);
    results[n_results].value = value;
    results[n_results++].unit = unit;
}

/* Prints a figure as a table row and keeps it for the JSON lines. */
static void report(const char *name, double value, const char *unit) {
    printf("  %-52s %10.2f %s\n", name, value, unit);
    record(value, unit, "%s", name);
}

/* ---- peak: 10 independent chains of vector FMAs per thread ----------------- */

#if defined(__AVX512F__)
typedef __m512 vec; enum { VL = 16 };
static vec vfma(vec a, vec b, vec c) { return _mm512_fmadd_ps(a, b, c); }
static vec vset(float x) { return _mm512_set1_ps(x); }
static float vsum(vec v) { return _mm512_reduce_add_ps(v); }
#elif defined(__FMA__)
typedef __m256 vec; enum { VL = 8 };
static vec vfma(vec a, vec b, vec c) { return _mm256_fmadd_ps(a, b, c); }
static vec vset(float x) { return _mm256_set1_ps(x); }
static float vsum(vec v) { float t[8]; _mm256_storeu_ps(t, v); return t[0] + t[1] + t[2] + t[3] + t[4] + t[5] + t[6] + t[7]; }
#endif

static double peak_once(int threads) {
#if defined(__AVX512F__) || defined(__FMA__)
    const long iters = 20000000;
    double t0 = cli_seconds(), sink = 0;
    #pragma omp parallel num_threads(threads) reduction(+ : sink)
    {
        vec a[10], x = vset(0.999999f), y = vset(1e-7f);
        for (int k = 0; k < 10; k++) a[k] = vset((float)k);
        for (long i = 0; i < iters; i++)
            for (int k = 0; k < 10; k++) a[k] = vfma(a[k], x, y);   /* 10 chains hide the FMA latency */
        for (int k = 0; k < 10; k++) sink += vsum(a[k]);
    }
    double dt = cli_seconds() - t0;
    if (sink == 12345.0) printf(" ");   /* keep the result alive */
    return 2.0 * VL * 10 * iters * threads / dt / 1e9;
#else
    (void)threads;
    return 0.0;
#endif
}

static double peak_gflops(int threads) {
    double best = 0;
    for (int r = 0; r < 3; r++) { double g = peak_once(threads); if (g > best) best = g; }
    return best;
}

/* ---- GEMM ---------------------------------------------------------------- */

typedef void (*SgemmFn)(int, int, int, int, int, int, float, const float *, int, const float *, int, float, float *, int);
static const int GEMM_SIZES[] = { 256, 500, 512, 520, 1000, 1024, 1040, 2048 };
enum { N_GEMM = (int)COUNT_OF(GEMM_SIZES) };

/* GFLOP/s at size n of ours (blas NULL) or of OpenBLAS's cblas_sgemm: a warm-up call (pages, packing buffers,
 * threads), then the best of GEMM_ROUNDS rounds of ~25 ms. Many short rounds, because this machine's speed drifts
 * from one moment to the next (the same GEMM at 256 ran 119 to 213 GFLOP/s in one process, session 11) and a slow
 * moment only ever slows a round: the best of many is the speed. */
enum { GEMM_ROUNDS = 8 };
static double time_gemm(int n, SgemmFn blas) {
    float *A = malloc(sizeof(float) * n * n), *B = malloc(sizeof(float) * n * n), *C = malloc(sizeof(float) * n * n);
    for (int i = 0; i < n * n; i++) { A[i] = (float)(i % 13) * 0.01f - 0.06f; B[i] = (float)(i % 7) * 0.02f - 0.06f; }
    double flops = 2.0 * n * n * n, best = 0;
    int reps = (int)(5e9 / flops) + 1;   /* ~25 ms at 200 GFLOP/s */
    for (int round = -1; round < GEMM_ROUNDS; round++) {   /* round -1 warms up */
        double t0 = cli_seconds();
        for (int r = 0; r < (round < 0 ? 1 : reps); r++) {
            if (blas) blas(101, 111, 111, n, n, n, 1.0f, A, n, B, n, 0.0f, C, n);   /* row-major, no transposes */
            else gemm(C, A, B, n, n, n, 0, 0, 1.0f, 0.0f);
        }
        double g = flops * (round < 0 ? 1 : reps) / (cli_seconds() - t0) / 1e9;
        if (round >= 0 && g > best) best = g;
    }
    free(A); free(B); free(C);
    return best;
}

/* Child (--gemm-child ours|blas): print the kernel's name ("ours", or OpenBLAS's for whatever OPENBLAS_CORETYPE
 * the parent set), then one "size GFLOP/s" line per size. Threads: as many as ours. Ours runs in children too, in
 * turns with OpenBLAS's: in one process the two disturb each other (OpenBLAS's threads spin on after a call: in
 * session 11 our GEMM beside them ran at one core's speed, 95 GFLOP/s at 256, in whole processes). */
static int gemm_child(int threads, const char *who) {
    SgemmFn blas = NULL;
    void *lib = NULL;
    if (strcmp(who, "ours")) {
        lib = dlopen("libopenblas.so.0", RTLD_NOW);
        if (!lib) { printf("none\n"); return 1; }
        blas = (SgemmFn)dlsym(lib, "cblas_sgemm");
        char *(*corename)(void) = (char *(*)(void))dlsym(lib, "openblas_get_corename");
        void (*set_threads)(int) = (void (*)(int))dlsym(lib, "openblas_set_num_threads");
        if (!blas || !corename) { printf("none\n"); return 1; }
        if (set_threads) set_threads(threads);
        printf("%s\n", corename());
    } else printf("ours\n");
    fflush(stdout);
    for (int i = 0; i < N_GEMM; i++) printf("%d %.3f\n", GEMM_SIZES[i], time_gemm(GEMM_SIZES[i], blas));
    if (lib) dlclose(lib);
    return 0;
}

/* One child: ours (coretype "ours"), or OpenBLAS as it detects the CPU (coretype NULL) or with OPENBLAS_CORETYPE
 * set. Fills name and gf[N_GEMM]; returns 0, or 1 when OpenBLAS is missing. */
static int gemm_variant(const char *self, const char *coretype, char *name, size_t name_size, double *gf) {
    char cmd[1200];
    if (!coretype) snprintf(cmd, sizeof cmd, "env -u OPENBLAS_CORETYPE '%s' --gemm-child blas", self);
    else if (!strcmp(coretype, "ours")) snprintf(cmd, sizeof cmd, "'%s' --gemm-child ours", self);
    else snprintf(cmd, sizeof cmd, "OPENBLAS_CORETYPE=%s '%s' --gemm-child blas", coretype, self);
    FILE *p = popen(cmd, "r");
    if (!p) return 1;
    int ok = fgets(name, (int)name_size, p) != NULL && strncmp(name, "none", 4) != 0;
    if (ok) name[strcspn(name, "\n")] = 0;
    for (int i = 0; i < N_GEMM; i++) {
        int n;
        gf[i] = 0;
        if (ok && fscanf(p, "%d %lf", &n, &gf[i]) != 2) ok = 0;
    }
    pclose(p);
    return !ok;
}

/* The kernels OpenBLAS 0.3 has for this CPU's instruction set, best first, and no wider than this build's: an
 * AVX2 build stands for a CPU without AVX-512, where OpenBLAS too runs its AVX2 kernels (on the Xeon of session 12
 * its AVX-512 kernels ran twice as fast as any AVX2 code can). */
#if defined(__AVX512F__) || !defined(__AVX2__)
static const int BUILD_AVX512 = 1;
#else
static const int BUILD_AVX512 = 0;
#endif
static int blas_candidates(const char **out) {
    int n = 0;
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512bf16") && BUILD_AVX512) out[n++] = "Cooperlake";
    if (__builtin_cpu_supports("avx512f") && BUILD_AVX512) out[n++] = "SkylakeX";
    if (__builtin_cpu_supports("avx2")) out[n++] = "Haswell";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_is("amd")) out[n++] = "Zen";
    return n;
}

/* The OpenBLAS kernel PyTorch's runs force (torch_run): the one fastest at the most GEMM sizes, or, when the GEMM
 * section did not run, the first candidate for this CPU. Empty when OpenBLAS is not installed. */
static char torch_coretype[40];

/* The table: a column per OpenBLAS variant (the better of its two children per size), and "ours", the better of
 * the two children of ours that ran just before that variant's. The ratio is to the fastest kernel, ours counting
 * over as many children as it had, taken in turns with it (the detected variant and the same kernel forced count
 * together), so that neither side gets more chances at the machine's fast moments. */

static void bench_gemm(const char *self, double peak) {
    printf("\n-- GEMM (square, row-major, C = A B); ours and OpenBLAS in child processes, in turns, two per kernel --\n");
    enum { MAX_VARIANTS = 5 };
    const char *cand[4];
    int nc = blas_candidates(cand);
    static char names[MAX_VARIANTS][40];
    static double gf[MAX_VARIANTS][N_GEMM], ours_by[MAX_VARIANTS][N_GEMM];   /* OpenBLAS, and ours beside it */
    char ours_name[40];
    int nv = 0;
    for (int v = -1; v < nc; v++) {
        const char *coretype = v < 0 ? NULL : cand[v];
        double g[2][N_GEMM], o[2][N_GEMM];
        int missing = 0;
        for (int c = 0; c < 2 && !missing; c++)   /* two children each, ours first: one process of OpenBLAS runs at */
            missing = gemm_variant(self, "ours", ours_name, sizeof ours_name, o[c]) ||   /* one of two speeds (s. 7) */
                      gemm_variant(self, coretype, names[nv], sizeof names[0], g[c]);
        if (missing) {
            if (v < 0) { printf("  openblas: not installed (apt-get install libopenblas0 to compare)\n"); break; }
            continue;
        }
        for (int i = 0; i < N_GEMM; i++) {
            gf[nv][i] = fmax(g[0][i], g[1][i]);
            ours_by[nv][i] = fmax(o[0][i], o[1][i]);
        }
        printf("  openblas variant %d: %s%s -> kernel \"%s\"\n", nv, v < 0 ? "as detected" : "OPENBLAS_CORETYPE=",
               v < 0 ? "" : cand[v], names[nv]);
        nv++;
    }
    int kernel[MAX_VARIANTS];   /* variants running the same kernel share a number: the first such variant's */
    int counts[MAX_VARIANTS];   /* 0: an AVX-512 kernel as detected, in an AVX2 build: shown, not compared */
    for (int v = 0; v < nv; v++)
        counts[v] = BUILD_AVX512 || !(strstr(names[v], "SkylakeX") || strstr(names[v], "Cooperlake") ||
                                      strstr(names[v], "SapphireRapids"));
    for (int v = 0; v < nv; v++) {
        kernel[v] = v;
        for (int w = 0; w < v; w++) if (!strcmp(names[w], names[v])) { kernel[v] = kernel[w]; break; }
    }
    double ours[N_GEMM] = { 0 }, best[N_GEMM] = { 0 };
    const char *best_kernel[N_GEMM] = { 0 };
    for (int i = 0; i < N_GEMM; i++) {
        if (!nv) { ours[i] = time_gemm(GEMM_SIZES[i], NULL); continue; }
        int bk = 0;   /* the fastest kernel, then ours beside its variants */
        for (int v = 0; v < nv; v++)
            if (counts[v] && gf[v][i] > best[i]) { best[i] = gf[v][i]; bk = kernel[v]; }
        for (int v = 0; v < nv; v++)
            if (kernel[v] == bk) ours[i] = fmax(ours[i], ours_by[v][i]);
        best_kernel[i] = names[bk];
    }
    int wins[MAX_VARIANTS] = { 0 }, most = -1;
    for (int i = 0; i < N_GEMM && nv; i++)
        for (int v = 0; v < nv; v++) if (names[v] == best_kernel[i]) wins[v]++;
    for (int v = 0; v < nv; v++) if (most < 0 || wins[v] > wins[most]) most = v;
    if (most >= 0) snprintf(torch_coretype, sizeof torch_coretype, "%s", names[most]);
    printf("  %6s %10s %8s", "size", "ours", "/peak");
    for (int v = 0; v < nv; v++) printf(" %9s %-2d", "openblas", v);
    printf("  %8s\n", "ours/best");
    for (int i = 0; i < N_GEMM; i++) {
        printf("  %6d %10.1f %8.2f", GEMM_SIZES[i], ours[i], ours[i] / peak);
        for (int v = 0; v < nv; v++) printf(" %12.1f", gf[v][i]);
        if (nv && best[i] > 0) printf("  %8.2f (best: %s)", ours[i] / best[i], best_kernel[i]);
        printf("\n");
    }
    for (int i = 0; i < N_GEMM; i++) {   /* JSON lines only: the table above is the readable form */
        record(ours[i], "GFLOP/s", "gemm %d", GEMM_SIZES[i]);
        for (int v = 0; v < nv; v++) record(gf[v][i], "GFLOP/s", "openblas %s sgemm %d", names[v], GEMM_SIZES[i]);
        if (nv && best[i] > 0) record(ours[i] / best[i], "x", "gemm %d ratio to best openblas", GEMM_SIZES[i]);
    }
}

/* ---- convolutions of the U-Net, through the tape ------------------------- */

static void bench_conv(Arena *a, int N, int C, int H, int Co, int K, int stride, double peak) {
    Rng rng = rng_seed(1);
    int Ho = (H + 2 * (K / 2) - K) / stride + 1;
    float *w = malloc(sizeof(float) * Co * C * K * K), *gw = calloc((size_t)Co * C * K * K, sizeof(float));
    float *x = malloc(sizeof(float) * N * C * H * H), *gx = calloc((size_t)N * C * H * H, sizeof(float));
    rng_normal_fill(&rng, w, (long)Co * C * K * K);
    rng_normal_fill(&rng, x, (long)N * C * H * H);
    double flops = 2.0 * N * Co * Ho * Ho * C * K * K, tf = 1e30, tb = 1e30;
    for (int r = 0; r < 4; r++) {
        size_t mark = arena_pos(a);
        AgTape t = ag_tape(a, 8);
        AgNode *xn = ag_leaf(&t, x, gx, 4, (int[]){ N, C, H, H }), *wn = ag_leaf(&t, w, gw, 4, (int[]){ Co, C, K, K });
        double t0 = cli_seconds();
        AgNode *y = ag_conv2d(&t, xn, wn, NULL, stride, K / 2);
        double t1 = cli_seconds();
        AgNode *loss = ag_sum(&t, y);
        ag_backward(&t, loss);
        double t2 = cli_seconds();
        if (r > 0) { tf = fmin(tf, t1 - t0); tb = fmin(tb, t2 - t1); }   /* first run warms caches and pages */
        arena_pop_to(a, mark);
    }
    char name[80];
    snprintf(name, sizeof name, "conv %dx%d %d->%d @%d s%d fwd", K, K, C, Co, H, stride);
    printf("  %-30s fwd %6.1f GFLOP/s (%.2f of peak)   bwd (dx+dw) %6.1f GFLOP/s (%.2f)\n", name + 5,
           flops / tf / 1e9, flops / tf / 1e9 / peak, 2 * flops / tb / 1e9, 2 * flops / tb / 1e9 / peak);
    record(flops / tf / 1e9, "GFLOP/s", "%s", name);
    record(2 * flops / tb / 1e9, "GFLOP/s", "conv %dx%d %d->%d @%d s%d bwd (dx+dw)", K, K, C, Co, H, stride);
    free(w); free(gw); free(x); free(gx);
}

/* ---- the U-Net training step ---------------------------------------------- */

/* Convolution FLOPs of one U-Net training step (forward, dx and dw: 3x the forward, but the stem's input
 * needs no dx) for batch B and width C, from unet.h's layout; the rest of the step (norms, activations,
 * Adam) is not counted, so the ratio to peak is that of the useful arithmetic. */
static double unet_step_flops(int B, int C) {
    /* (ci, co, k, output side) of every convolution, widths written out for base width C */
    const int L[][4] = {
        { 1, C, 3, 28 },                                       /* stem */
        { C, C, 3, 28 }, { C, C, 3, 28 },                      /* down1 block */
        { C, C, 3, 14 },                                       /* down1 sample (stride 2) */
        { C, 2 * C, 3, 14 }, { 2 * C, 2 * C, 3, 14 }, { C, 2 * C, 1, 14 },          /* down2 block + skip */
        { 2 * C, 2 * C, 3, 7 },                                /* down2 sample */
        { 2 * C, 2 * C, 3, 7 }, { 2 * C, 2 * C, 3, 7 },        /* mid block */
        { 4 * C, 2 * C, 3, 14 }, { 2 * C, 2 * C, 3, 14 }, { 4 * C, 2 * C, 1, 14 },  /* up2 block + skip */
        { 3 * C, C, 3, 28 }, { C, C, 3, 28 }, { 3 * C, C, 1, 28 },                  /* up1 block + skip */
        { C, 1, 3, 28 },                                       /* out */
    };
    double f = 0;
    for (int i = 0; i < (int)COUNT_OF(L); i++) {
        double fwd = 2.0 * B * L[i][1] * L[i][3] * L[i][3] * L[i][0] * L[i][2] * L[i][2];
        f += (i == 0 ? 2 : 3) * fwd;
    }
    return f;
}

/* The op behind each backward function, found by building one node of every op the U-Net uses. */
enum { MAX_OPS = 16 };
typedef struct { void (*fn)(AgNode *); const char *name; double fwd, bwd; } OpTime;

static int op_table(Arena *a, OpTime *ops) {
    size_t mark = arena_pos(a);
    AgTape t = ag_tape(a, 64);
    static float v[4096], g[4096];
    AgNode *x = ag_leaf(&t, v, g, 4, (int[]){ 1, 8, 4, 4 }), *w = ag_leaf(&t, v, g, 4, (int[]){ 8, 8, 3, 3 });
    AgNode *c = ag_leaf(&t, v, g, 1, (int[]){ 8 }), *m = ag_leaf(&t, v, g, 2, (int[]){ 8, 8 });
    AgNode *row = ag_leaf(&t, v, g, 2, (int[]){ 1, 8 });
    struct { AgNode *node; const char *name; } k[] = {
        { ag_conv2d(&t, x, w, c, 1, 1), "conv2d (+adds)" },
        { ag_group_norm_silu(&t, x, c, c, 2), "group_norm(+silu)" },
        { ag_silu(&t, x), "silu" },
        { ag_add(&t, x, x), "add" },
        { ag_add_channel(&t, x, row), "add_channel" },
        { ag_upsample2x(&t, x), "upsample2x" },
        { ag_concat_channels(&t, x, x), "concat_channels" },
        { ag_upsample_concat(&t, ag_leaf(&t, v, g, 4, (int[]){ 1, 8, 2, 2 }), x), "upsample_concat" },
        { ag_linear(&t, row, m, c), "linear" },
        { ag_mse(&t, x, x), "mse" },
    };
    int n = 0;
    for (int i = 0; i < (int)COUNT_OF(k); i++) ops[n++] = (OpTime){ k[i].node->backward, k[i].name, 0, 0 };
    ops[n++] = (OpTime){ NULL, "leaves, inputs, other", 0, 0 };
    arena_pop_to(a, mark);
    return n;
}

/* One training step with the tape's profile on: adds forward and backward seconds per op type into ops[].fwd
 * and .bwd, returns the step's seconds and Adam's in *t_adam. */
static double unet_profile_step(Arena *a, Params *p, const Unet *u, Adam *adam, const float *x, const float *tt, int B,
                                OpTime *ops, int n_ops, double *t_adam) {
    size_t mark = arena_pos(a);
    AgTape t = ag_tape(a, UNET_MAX_NODES);
    t.profile = arena_push(a, sizeof(double) * 2 * UNET_MAX_NODES);
    double t0 = cli_seconds();
    Tensor target = tensor_new(a, 4, (int[]){ B, 1, 28, 28 });
    AgNode *loss = ag_mse(&t, unet_forward(&t, p, u, x, tt, B), ag_input(&t, target));
    double t_fwd_end = cli_seconds();
    nn_params_zero_grad(p);
    ag_backward(&t, loss);
    double t1 = cli_seconds();
    optim_adam_step(adam, p->data, p->grad);
    *t_adam = cli_seconds() - t1;
    for (int i = 0; i < t.n; i++) {
        double fwd = (i + 1 < t.n ? t.profile[2 * (i + 1)] : t_fwd_end) - t.profile[2 * i];
        int k = 0;
        while (k < n_ops - 1 && ops[k].fn != t.nodes[i].backward) k++;   /* the last entry takes the rest */
        ops[k].fwd += fwd;
        ops[k].bwd += t.profile[2 * i + 1];
    }
    arena_pop_to(a, mark);
    return cli_seconds() - t0;
}

/* The per-op profile of the fastest of 3 profiled steps (a shared machine only adds time), as a table. */
static void unet_profile(Arena *a, Params *p, const Unet *u, Adam *adam, const float *x, const float *tt, int B) {
    OpTime best[MAX_OPS + 1], ops[MAX_OPS + 1];
    int n_ops = op_table(a, best);
    double total = 1e30, t_adam = 0;
    for (int r = 0; r < 3; r++) {
        double ta;
        memcpy(ops, best, sizeof ops);
        for (int k = 0; k < n_ops; k++) ops[k].fwd = ops[k].bwd = 0;
        double step = unet_profile_step(a, p, u, adam, x, tt, B, ops, n_ops, &ta);
        if (step < total) { total = step; t_adam = ta; memcpy(best, ops, sizeof ops); }
    }
    printf("  per-op profile of one step (batch %d, %.1f ms; forward and backward seconds per op type):\n", B, 1e3 * total);
    printf("    %-20s %9s %9s %7s\n", "op", "fwd ms", "bwd ms", "share");
    for (int k = 0; k < n_ops; k++) {
        if (best[k].fwd + best[k].bwd == 0) continue;
        printf("    %-20s %9.2f %9.2f %6.1f%%\n", best[k].name, 1e3 * best[k].fwd, 1e3 * best[k].bwd,
               100 * (best[k].fwd + best[k].bwd) / total);
        record((best[k].fwd + best[k].bwd) / total, "x", "U-Net step share: %s", best[k].name);
    }
    printf("    %-20s %9s %9.2f %6.1f%%\n", "adam", "", 1e3 * t_adam, 100 * t_adam / total);
}

/* Images/s of U-Net training (width C, batch B): best of 3 timings of 3 steps, after one warm-up step. */
static double bench_unet(Arena *a, int B, int C, double peak, int profile) {
    Rng rng = rng_seed(1);
    Params p;
    nn_params_init(&p);
    Unet u;
    unet_declare(&p, &u, C);
    nn_params_alloc(&p, &rng);
    Adam adam;
    optim_adam_init(&adam, nn_params_count(&p), 2e-4f, 0.9f, 0.999f, 1e-8f, 0.0f);
    float *x = malloc(sizeof(float) * B * 784), *tt = malloc(sizeof(float) * B);
    rng_normal_fill(&rng, x, (long)B * 784);
    for (int i = 0; i < B; i++) tt[i] = (float)(1 + i % 250);
    double best = 1e30;
    for (int trial = -1; trial < 3; trial++) {
        double t0 = cli_seconds();
        for (int s = 0; s < (trial < 0 ? 1 : 3); s++) {
            size_t mark = arena_pos(a);
            AgTape t = ag_tape(a, UNET_MAX_NODES);
            Tensor target = tensor_new(a, 4, (int[]){ B, 1, 28, 28 });
            AgNode *loss = ag_mse(&t, unet_forward(&t, &p, &u, x, tt, B), ag_input(&t, target));
            nn_params_zero_grad(&p);
            ag_backward(&t, loss);
            optim_adam_step(&adam, p.data, p.grad);
            arena_pop_to(a, mark);
        }
        if (trial >= 0) best = fmin(best, (cli_seconds() - t0) / 3);
    }
    char name[80];
    snprintf(name, sizeof name, "U-Net (width %d, %zu params) training images/s", C, nn_params_count(&p));
    report(name, B / best, "images/s");
    report("U-Net training, convolution GFLOP/s", unet_step_flops(B, C) / best / 1e9, "GFLOP/s");
    report("U-Net training, convolution GFLOP/s / peak", unet_step_flops(B, C) / best / 1e9 / peak, "x");
    if (profile) unet_profile(a, &p, &u, &adam, x, tt, B);
    free(x); free(tt);
    optim_adam_free(&adam);
    nn_params_free(&p);
    return B / best;
}

/* Steps/s of the 2D toy recipe: toy_train itself (D = 2, batch 256, T = 200) on a fixed set of points. */
static double bench_toy(Arena *a) {
    enum { NDATA = 10000, STEPS = 600 };
    Rng rng = rng_seed(1);
    float *data = malloc(sizeof(float) * 2 * NDATA);
    rng_normal_fill(&rng, data, 2L * NDATA);
    Schedule s;
    sched_init(&s, SCHED_LINEAR, 200);
    double best = 1e30;
    for (int trial = 0; trial < 3; trial++) {
        ToyModel m;
        toy_init(&m, 2, &rng);
        double t0 = cli_seconds();
        if (toy_train(&m, &s, data, NDATA, STEPS, 256, &rng, a, 1, NULL)) printf("  (toy training diverged)\n");
        best = fmin(best, cli_seconds() - t0);
        toy_free(&m);
    }
    sched_free(&s);
    free(data);
    report("2D toy recipe (toy_train: D = 2, batch 256, Adam) steps/s", STEPS / best, "steps/s");
    return STEPS / best;
}

/* ---- PyTorch, same run ----------------------------------------------------- */

/* Runs /usr/bin/python3 bench/<script> args with the environment settings `env` (an env argument list) and
 * returns the number after `key` in its output, or 0. */
static double torch_run_with(const char *env, const char *script, const char *args, const char *key) {
    char cmd[512], line[256];
    snprintf(cmd, sizeof cmd, "env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT -u OPENBLAS_CORETYPE -u OPENBLAS_NUM_THREADS %s "
             "/usr/bin/python3 bench/%s %s 2>/dev/null", env, script, args);
    FILE *p = popen(cmd, "r");
    double v = 0;
    if (!p) return 0;
    while (fgets(line, sizeof line, p))
        if (!strncmp(line, key, strlen(key))) v = atof(line + strlen(key));
    pclose(p);
    return v;
}

/* PyTorch at its best. Debian's python3-torch does its matrix products in the system BLAS: OpenBLAS when
 * libopenblas0 is installed (the netlib reference otherwise: 73 toy steps/s against 440 on the Xeon of session
 * 12), and OpenBLAS 0.3.21 as it detects that Xeon runs its SSE3 "Prescott" kernel (toy 340-440 steps/s; forced
 * to Cooperlake 630-675). So every run forces the kernel the GEMM table found fastest (torch_coretype).
 * OpenBLAS also keeps its own threads, apart from torch.set_num_threads, and they compete with PyTorch's OpenMP
 * threads: there the U-Net ran 688 images/s with OpenBLAS on one thread and 558 on two. Its libgomp reads the wait
 * policy this process would otherwise pass on (ours): on the Zen 4 of session 7 passive waiting won by far (toy
 * 645 against 157 steps/s). So each script runs on every PyTorch thread count from 1 to ours, OpenBLAS on one
 * thread or on ours, under libgomp's default wait and under OMP_WAIT_POLICY=passive, each the better of two runs
 * (one run of the toy varies by a third), and the fastest counts. `fmt` is the script's arguments with %d for
 * the thread count. */
static double torch_run(const char *script, const char *fmt, int threads, const char *key) {
    double best = 0;
    const int blas_threads[2] = { 1, threads };   /* OpenBLAS on one thread, then on all (if more than one) */
    for (int t = 1; t <= threads; t++)
        for (int j = 0; j < (threads > 1 ? 2 : 1); j++) {
            int b = blas_threads[j];
            char args[64], env_default[128], env_passive[160];
            snprintf(args, sizeof args, fmt, t);
            snprintf(env_default, sizeof env_default, "OPENBLAS_NUM_THREADS=%d%s%s", b,
                     torch_coretype[0] ? " OPENBLAS_CORETYPE=" : "", torch_coretype);
            snprintf(env_passive, sizeof env_passive, "%s OMP_WAIT_POLICY=passive", env_default);
            double v_default = 0, v_passive = 0;
            for (int rep = 0; rep < 2; rep++) {
                v_default = fmax(v_default, torch_run_with(env_default, script, args, key));
                v_passive = fmax(v_passive, torch_run_with(env_passive, script, args, key));
            }
            printf("  PyTorch %s, %d thread%s, OpenBLAS %d, best of 2: %.1f (libgomp's default wait), %.1f (passive)\n",
                   script, t, t == 1 ? "" : "s", b, v_default, v_passive);
            best = fmax(best, fmax(v_default, v_passive));
        }
    return best;
}

/* The BLAS PyTorch loads, and its kernel under the forced core type (bench/blas_info.py), printed. */
static void torch_blas_info(void) {
    char env[96], line[512] = "";
    snprintf(env, sizeof env, "%s%s", torch_coretype[0] ? "OPENBLAS_CORETYPE=" : "", torch_coretype);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "env -u OPENBLAS_CORETYPE %s /usr/bin/python3 bench/blas_info.py 2>/dev/null", env);
    FILE *p = popen(cmd, "r");
    if (p) {
        if (!fgets(line, sizeof line, p)) line[0] = 0;
        pclose(p);
    }
    line[strcspn(line, "\n")] = 0;
    printf("  PyTorch's BLAS%s%s: %s\n", torch_coretype[0] ? ", OPENBLAS_CORETYPE=" : "", torch_coretype,
           line[0] ? line : "(unknown)");
    if (strstr(line, "kernel -")) printf("  (not OpenBLAS: apt-get install libopenblas0 for PyTorch at its best)\n");
}

static int torch_available(void) {
    if (access("bench/unet.py", R_OK) != 0) return 0;
    return system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") == 0;
}

/* The first three fields of /proc/loadavg: a busy machine makes every wall-clock figure here slower. */
static const char *load_average(void) {
    static char buf[64] = "unknown";
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fgets(buf, sizeof buf, f)) {
            char *p = buf;
            for (int k = 0; k < 3 && p; k++) p = strchr(p + 1, ' ');
            if (p) *p = 0;
        }
        fclose(f);
    }
    return buf;
}

int main(int argc, char **argv) {
    int threads = 1;
#ifdef _OPENMP
    threads = omp_get_max_threads();
#endif
    setvbuf(stdout, NULL, _IOLBF, 0);   /* line by line, also into a pipe or file */
    cli_omp_wait(argv);                 /* the programs' OpenMP wait policy (cli.h, unless one is set) */
    if (argc > 2 && !strcmp(argv[1], "--gemm-child")) return gemm_child(threads, argv[2]);
    /* --only gemm|conv|train runs one section (the peak is always measured: the ratios need it) */
    const char *only = argc > 2 && !strcmp(argv[1], "--only") ? argv[2] : NULL;
    if (argc > 1 && !only) { fprintf(stderr, "usage: %s [--only gemm|conv|train]\n", argv[0]); return 2; }
    char self[1024];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len <= 0) { fprintf(stderr, "bench: cannot find its own executable (/proc/self/exe)\n"); return 1; }
    self[len] = 0;
    const char *isa = __builtin_cpu_supports("avx512f") ? "AVX-512" : __builtin_cpu_supports("avx2") ? "AVX2" : "SSE";
#if defined(__AVX512F__)
    const char *built = "AVX-512 kernels";
#elif defined(__AVX2__)
    const char *built = "AVX2 kernels";
#else
    const char *built = "portable kernels";
#endif
    const char *policy = getenv("OMP_WAIT_POLICY"), *spins = getenv("GOMP_SPINCOUNT");
    printf("make bench: %d threads, OMP_WAIT_POLICY=%s, GOMP_SPINCOUNT=%s; CPU has %s, this build runs %s; load average %s\n\n-- peak --\n",
           threads, policy ? policy : "(unset)", spins ? spins : "(unset)", isa, built, load_average());
    double peak1 = peak_gflops(1), peak = peak_gflops(threads);
    report("fp32 FMA peak, 1 thread", peak1, "GFLOP/s");
    report("fp32 FMA peak, all threads", peak, "GFLOP/s");
    if (!only || !strcmp(only, "gemm")) bench_gemm(self, peak);
    Arena arena;
    arena_init(&arena, (size_t)2 << 30);
    if (!only || !strcmp(only, "conv")) {
        printf("\n-- convolutions of the U-Net (batch 64, width 16), best of 3 --\n");
        bench_conv(&arena, 64, 1, 28, 16, 3, 1, peak);
        bench_conv(&arena, 64, 16, 28, 16, 3, 1, peak);
        bench_conv(&arena, 64, 16, 28, 16, 3, 2, peak);
        bench_conv(&arena, 64, 16, 14, 32, 3, 1, peak);
        bench_conv(&arena, 64, 32, 14, 32, 3, 2, peak);
        bench_conv(&arena, 64, 32, 7, 32, 3, 1, peak);
        bench_conv(&arena, 64, 64, 14, 32, 3, 1, peak);
        bench_conv(&arena, 64, 48, 28, 16, 3, 1, peak);
        bench_conv(&arena, 64, 48, 28, 16, 1, 1, peak);
    }
    if (!only || !strcmp(only, "train")) {
        printf("\n-- training (ours, then PyTorch on the same model and recipe in this run) --\n");
        double unet = bench_unet(&arena, 64, 16, peak, 1);
        double toy = bench_toy(&arena);
        if (torch_available()) {
            if (!torch_coretype[0]) {   /* the GEMM section did not run: the first kernel for this CPU */
                const char *cand[4];
                if (blas_candidates(cand) > 0 && dlopen("libopenblas.so.0", RTLD_LAZY))
                    snprintf(torch_coretype, sizeof torch_coretype, "%s", cand[0]);
            }
            torch_blas_info();
            double t_toy = torch_run("toy_mlp.py", "600 %d", threads, "steps_per_s");
            double t_unet = torch_run("unet.py", "3 16 %d", threads, "images_per_s");
            report("PyTorch 2D toy recipe steps/s, best threads and wait (bench/toy_mlp.py)", t_toy, "steps/s");
            report("PyTorch U-Net (width 16) training images/s, best threads and wait (bench/unet.py)", t_unet, "images/s");
            if (t_toy > 0) report("2D toy recipe: ours / PyTorch", toy / t_toy, "x");
            if (t_unet > 0) report("U-Net training: ours / PyTorch", unet / t_unet, "x");
        } else {
            printf("  PyTorch: /usr/bin/python3 cannot import torch (apt-get install python3-torch to compare)\n");
        }
    }
    arena_free(&arena);
    printf("\n");
    for (int i = 0; i < n_results; i++)
        printf("{\"bench\": \"%s\", \"value\": %.4g, \"unit\": \"%s\"}\n", results[i].name, results[i].value, results[i].unit);
    return 0;
}
