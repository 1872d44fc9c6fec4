/* bench.c: `make bench`. Measures, on this machine, what the issues ask for:
 *   - the fp32 FMA peak (a micro-benchmark of independent vector FMA chains, 1 thread and all threads);
 *   - square GEMM at 256/512/1024: GFLOP/s, ratio to peak, ratio to OpenBLAS's cblas_sgemm when
 *     libopenblas is installed (loaded with dlopen: the programs never link it);
 *   - each convolution shape of the U-Net (batch 64), forward and backward through the tape;
 *   - the U-Net's training steps/s and images/s at chapter 2's batch size;
 *   - the 2D toy-MLP recipe (input 2 + 2-number noise embedding, widths 16-128x4-16, GELU, output 2:
 *     53,890 parameters; full batch of 100 points; AdamW) in training steps/s.
 * Prints a table, and every figure again as one JSON line {"bench": name, "value": v, "unit": u}.
 * Benchmarks are not tests: nothing here asserts a time. */
#include <dlfcn.h>
#include <immintrin.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include "autograd.h"
#include "cli.h"
#include "gemm.h"
#include "nn.h"
#include "optim.h"
#include "unet.h"

enum { MAX_RESULTS = 64 };
static struct { char name[64]; double value; const char *unit; } results[MAX_RESULTS];
static int n_results;

static void report(const char *name, double value, const char *unit) {
    printf("  %-44s %10.2f %s\n", name, value, unit);
    if (n_results < MAX_RESULTS) {
        snprintf(results[n_results].name, sizeof results[0].name, "%s", name);
        results[n_results].value = value;
        results[n_results++].unit = unit;
    }
}

/* ---- peak: 8 independent chains of vector FMAs per thread ----------------- */

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

static double peak_gflops(int threads) {
#if defined(__AVX512F__) || defined(__FMA__)
    const long iters = 50000000;
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

/* ---- GEMM ---------------------------------------------------------------- */

typedef void (*SgemmFn)(int, int, int, int, int, int, float, const float *, int, const float *, int, float, float *, int);

static double time_gemm(int n, SgemmFn blas) {
    float *A = malloc(sizeof(float) * n * n), *B = malloc(sizeof(float) * n * n), *C = malloc(sizeof(float) * n * n);
    for (int i = 0; i < n * n; i++) { A[i] = (float)(i % 13) * 0.01f; B[i] = (float)(i % 7) * 0.02f; }
    int reps = n <= 256 ? 50 : n <= 512 ? 10 : 3;
    if (blas) blas(101, 111, 111, n, n, n, 1.0f, A, n, B, n, 0.0f, C, n);   /* warm up */
    else gemm(C, A, B, n, n, n, 0, 0, 1.0f, 0.0f);
    double t0 = cli_seconds();
    for (int r = 0; r < reps; r++) {
        if (blas) blas(101, 111, 111, n, n, n, 1.0f, A, n, B, n, 0.0f, C, n);   /* row-major, no transposes */
        else gemm(C, A, B, n, n, n, 0, 0, 1.0f, 0.0f);
    }
    double gf = 2.0 * n * n * n * reps / (cli_seconds() - t0) / 1e9;
    free(A); free(B); free(C);
    return gf;
}

/* ---- convolutions of the U-Net, through the tape ------------------------- */

static void bench_conv(Arena *a, int N, int C, int H, int Co, int K, int stride, double peak) {
    Rng rng = rng_seed(1);
    int Ho = (H + 2 * (K / 2) - K) / stride + 1;
    float *w = malloc(sizeof(float) * Co * C * K * K), *gw = calloc((size_t)Co * C * K * K, sizeof(float));
    float *x = malloc(sizeof(float) * N * C * H * H), *gx = calloc((size_t)N * C * H * H, sizeof(float));
    rng_normal_fill(&rng, w, (long)Co * C * K * K);
    rng_normal_fill(&rng, x, (long)N * C * H * H);
    double flops = 2.0 * N * Co * Ho * Ho * C * K * K, tf = 0, tb = 0;
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
        if (r > 0) { tf += t1 - t0; tb += t2 - t1; }   /* first run warms the caches and the arena's pages */
        arena_pop_to(a, mark);
    }
    char name[64];
    snprintf(name, sizeof name, "conv %dx%d %d->%d @%d s%d fwd", K, K, C, Co, H, stride);
    report(name, flops * 3 / tf / 1e9, "GFLOP/s");   /* 3 timed runs */
    snprintf(name, sizeof name, "conv %dx%d %d->%d @%d s%d fwd / peak", K, K, C, Co, H, stride);
    report(name, flops * 3 / tf / 1e9 / peak, "x");
    snprintf(name, sizeof name, "conv %dx%d %d->%d @%d s%d bwd (dx+dw)", K, K, C, Co, H, stride);
    report(name, 2 * flops * 3 / tb / 1e9, "GFLOP/s");   /* dx and dw: twice the forward's flops */
    snprintf(name, sizeof name, "conv %dx%d %d->%d @%d s%d bwd / peak", K, K, C, Co, H, stride);
    report(name, 2 * flops * 3 / tb / 1e9 / peak, "x");
    free(w); free(gw); free(x); free(gx);
}

/* ---- training steps ------------------------------------------------------ */

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

static void bench_unet(Arena *a, int B, double peak) {
    Rng rng = rng_seed(1);
    Params p;
    nn_params_init(&p);
    Unet u;
    unet_declare(&p, &u, 16);
    nn_params_alloc(&p, &rng);
    Adam adam;
    optim_adam_init(&adam, nn_params_count(&p), 2e-4f, 0.9f, 0.999f, 1e-8f, 0.0f);
    float *x = malloc(sizeof(float) * B * 784), *tt = malloc(sizeof(float) * B);
    rng_normal_fill(&rng, x, (long)B * 784);
    for (int i = 0; i < B; i++) tt[i] = (float)(1 + i % 250);
    int steps = 6;
    double t0 = 0;
    for (int s = 0; s <= steps; s++) {
        if (s == 1) t0 = cli_seconds();   /* step 0 warms up */
        size_t mark = arena_pos(a);
        AgTape t = ag_tape(a, UNET_MAX_NODES);
        Tensor target = tensor_new(a, 4, (int[]){ B, 1, 28, 28 });
        AgNode *loss = ag_mse(&t, unet_forward(&t, &p, &u, x, tt, B), ag_input(&t, target));
        nn_params_zero_grad(&p);
        ag_backward(&t, loss);
        optim_adam_step(&adam, p.data, p.grad);
        arena_pop_to(a, mark);
    }
    double sps = steps / (cli_seconds() - t0);
    report("U-Net (ch2, width 16) training steps/s, batch 64", sps, "steps/s");
    report("U-Net (ch2, width 16) training images/s", sps * B, "images/s");
    report("U-Net training, convolution GFLOP/s", sps * unet_step_flops(B, 16) / 1e9, "GFLOP/s");
    report("U-Net training, convolution GFLOP/s / peak", sps * unet_step_flops(B, 16) / 1e9 / peak, "x");
    free(x); free(tt);
    optim_adam_free(&adam);
    nn_params_free(&p);
}

static void bench_toy_mlp(Arena *a) {
    Rng rng = rng_seed(1);
    Params p;
    nn_params_init(&p);
    Mlp m;
    nn_mlp_declare(&p, &m, "net", 8, (int[]){ 4, 16, 128, 128, 128, 128, 16, 2 }, NN_GELU);
    nn_params_alloc(&p, &rng);
    printf("  (toy MLP: %zu parameters)\n", nn_params_count(&p));
    Adam adam;
    optim_adam_init(&adam, nn_params_count(&p), 1e-3f, 0.9f, 0.999f, 1e-8f, 1e-4f);
    Tensor x = tensor_new(a, 2, (int[]){ 100, 4 }), y = tensor_new(a, 2, (int[]){ 100, 2 });
    rng_normal_fill(&rng, x.data, 400);
    rng_normal_fill(&rng, y.data, 200);
    int steps = 3000;
    double t0 = cli_seconds();
    for (int s = 0; s < steps; s++) {
        size_t mark = arena_pos(a);
        AgTape t = ag_tape(a, 32);
        AgNode *loss = ag_mse(&t, nn_mlp_forward(&t, &p, &m, ag_input(&t, x)), ag_input(&t, y));
        nn_params_zero_grad(&p);
        ag_backward(&t, loss);
        optim_adam_step(&adam, p.data, p.grad);
        arena_pop_to(a, mark);
    }
    report("2D toy MLP (53,890 params, batch 100, AdamW) steps/s", steps / (cli_seconds() - t0), "steps/s");
    optim_adam_free(&adam);
    nn_params_free(&p);
}

int main(void) {
    int threads = 1;
#ifdef _OPENMP
    threads = omp_get_max_threads();
#endif
    Arena arena;
    arena_init(&arena, (size_t)2 << 30);
    printf("make bench: %d threads\n\n-- peak --\n", threads);
    double peak1 = peak_gflops(1), peak = peak_gflops(threads);
    report("fp32 FMA peak, 1 thread", peak1, "GFLOP/s");
    report("fp32 FMA peak, all threads", peak, "GFLOP/s");

    printf("\n-- GEMM (square, row-major) --\n");
    void *lib = dlopen("libopenblas.so.0", RTLD_NOW);
    SgemmFn blas = lib ? (SgemmFn)dlsym(lib, "cblas_sgemm") : NULL;
    if (!blas) printf("  openblas: not installed (apt-get install libopenblas0 to compare)\n");
    static const int sizes[3] = { 256, 512, 1024 };
    for (int i = 0; i < 3; i++) {
        char name[64];
        double g = time_gemm(sizes[i], NULL);
        snprintf(name, sizeof name, "gemm %d", sizes[i]);
        report(name, g, "GFLOP/s");
        snprintf(name, sizeof name, "gemm %d ratio to peak", sizes[i]);
        report(name, g / peak, "x");
        if (blas) {
            double gb = time_gemm(sizes[i], blas);
            snprintf(name, sizeof name, "openblas sgemm %d", sizes[i]);
            report(name, gb, "GFLOP/s");
            snprintf(name, sizeof name, "gemm %d ratio to openblas", sizes[i]);
            report(name, g / gb, "x");
        }
    }

    printf("\n-- convolutions of the U-Net (batch 64, width 16) --\n");
    bench_conv(&arena, 64, 1, 28, 16, 3, 1, peak);
    bench_conv(&arena, 64, 16, 28, 16, 3, 1, peak);
    bench_conv(&arena, 64, 16, 28, 16, 3, 2, peak);
    bench_conv(&arena, 64, 16, 14, 32, 3, 1, peak);
    bench_conv(&arena, 64, 32, 14, 32, 3, 2, peak);
    bench_conv(&arena, 64, 32, 7, 32, 3, 1, peak);
    bench_conv(&arena, 64, 64, 14, 32, 3, 1, peak);
    bench_conv(&arena, 64, 48, 28, 16, 3, 1, peak);
    bench_conv(&arena, 64, 48, 28, 16, 1, 1, peak);

    printf("\n-- training --\n");
    bench_unet(&arena, 64, peak);
    bench_toy_mlp(&arena);

    printf("\n");
    for (int i = 0; i < n_results; i++)
        printf("{\"bench\": \"%s\", \"value\": %.4g, \"unit\": \"%s\"}\n", results[i].name, results[i].value, results[i].unit);
    if (lib) dlclose(lib);
    arena_free(&arena);
    return 0;
}
