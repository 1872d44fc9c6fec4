/* gemm.h: single-precision matrix multiply, the kernel under every linear layer
 * (convolutions run on the direct kernels of conv.h, but for dx of a strided one).
 *
 *   C = alpha * op(A) * op(B) + beta * C       op(X) = X or X^T, all row-major
 *   gemm(C, A, B, M, N, K, 0, 1, 1.0f, 0.0f);   C (M,N) = A (M,K) * B^T, B stored (N,K)
 *
 * gemm_ref is the three-loop definition, a few lines long: read it first, it
 * is also the oracle the tests compare gemm against. gemm is the fast version
 * (packed, blocked, register-tiled and vectorised as in GotoBLAS/BLIS: the loop
 * nest and block sizes are explained at the top of gemm.c); it gives the same
 * result up to float rounding. It splits C over the machine's cores with OpenMP,
 * except inside a parallel region (or for a product under 256^3 multiply-adds),
 * where it runs on the calling thread: callers may parallelise over their own
 * loop and call gemm from each thread. Neither allocates on the caller's behalf
 * (gemm keeps per-thread packing buffers of its own, a few MB, reused across
 * calls) nor can fail; bad sizes are a CHECK.
 */
#ifndef GEMM_H
#define GEMM_H

/* op(A) is (M, K), op(B) is (K, N), C is (M, N). transA: A stored (K, M); transB: B stored (N, K). */
void gemm_ref(float *C, const float *A, const float *B, int M, int N, int K,
              int transA, int transB, float alpha, float beta);
void gemm(float *C, const float *A, const float *B, int M, int N, int K,
          int transA, int transB, float alpha, float beta);

#endif
