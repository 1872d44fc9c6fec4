#include <stdlib.h>
#include "base.h"
#include "gemm.h"

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

/* B^T is copied once per call into a per-thread buffer, so the inner loop always streams a row of B
 * (K, N) and a row of C: unit stride, vectorised by the compiler at -O3. The buffer grows as needed
 * and is kept for the next call (still reachable at exit, not a leak). */
static _Thread_local float *bt_buf;
static _Thread_local size_t bt_cap;

static const float *transpose_b(const float *B, int N, int K) {
    size_t need = (size_t)N * K;
    if (need > bt_cap) {
        free(bt_buf);
        bt_buf = malloc(sizeof(float) * need);
        CHECK(bt_buf != NULL, "out of memory for a %d x %d transpose", K, N);
        bt_cap = need;
    }
    for (int j = 0; j < N; j++)
        for (int k = 0; k < K; k++) bt_buf[(size_t)k * N + j] = B[(size_t)j * K + k];
    return bt_buf;
}

/* i-k-j loop order: the inner loop is c[i, :] += a[i, k] * b[k, :], rows of C split over threads. */
void gemm(float *C, const float *A, const float *B, int M, int N, int K,
          int transA, int transB, float alpha, float beta) {
    CHECK(M > 0 && N > 0 && K > 0, "gemm sizes M=%d N=%d K=%d", M, N, K);
    if (transB) B = transpose_b(B, N, K);
    #pragma omp parallel for schedule(static) if ((long)M * N * K > 100000)
    for (int i = 0; i < M; i++) {
        float *c = C + (long)i * N;
        for (int j = 0; j < N; j++) c[j] = beta == 0.0f ? 0.0f : beta * c[j];
        for (int k = 0; k < K; k++) {
            float a = alpha * (transA ? A[(long)k * M + i] : A[(long)i * K + k]);
            const float *b = B + (long)k * N;
            for (int j = 0; j < N; j++) c[j] += a * b[j];
        }
    }
}
