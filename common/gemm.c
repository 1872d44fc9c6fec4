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

/* First version: i-k-j loop order so the inner loop streams rows of B and C
 * (vectorised by the compiler), rows of C split over threads. */
void gemm(float *C, const float *A, const float *B, int M, int N, int K,
          int transA, int transB, float alpha, float beta) {
    CHECK(M > 0 && N > 0 && K > 0, "gemm sizes M=%d N=%d K=%d", M, N, K);
    #pragma omp parallel for schedule(static) if ((long)M * N * K > 100000)
    for (int i = 0; i < M; i++) {
        float *c = C + (long)i * N;
        for (int j = 0; j < N; j++) c[j] = beta == 0.0f ? 0.0f : beta * c[j];
        for (int k = 0; k < K; k++) {
            float a = alpha * (transA ? A[(long)k * M + i] : A[(long)i * K + k]);
            if (transB) {
                for (int j = 0; j < N; j++) c[j] += a * B[(long)j * K + k];
            } else {
                const float *b = B + (long)k * N;
                for (int j = 0; j < N; j++) c[j] += a * b[j];
            }
        }
    }
}
