#include <math.h>
#include "attention.h"

/* saved = A (N, P, P), then scratch (P, P) per image for dA. The images are independent: one per thread. */
static void attention_backward(AgNode *y) {
    AgNode *x = y->in[0];
    int N = x->val.shape[0], C = x->val.shape[1] / 3, P = x->val.shape[2] * x->val.shape[3];
    double scale = 1.0 / sqrt((double)C);
    #pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        const float *Q = x->val.data + (size_t)n * 3 * C * P, *K = Q + (size_t)C * P, *V = K + (size_t)C * P;
        float *dQ = x->grad.data + (size_t)n * 3 * C * P, *dK = dQ + (size_t)C * P, *dV = dK + (size_t)C * P;
        const float *A = y->saved.data + (size_t)n * P * P, *dO = y->grad.data + (size_t)n * C * P;
        float *dS = y->saved.data + (size_t)N * P * P + (size_t)n * P * P;
        for (int c = 0; c < C; c++)                        /* dV[c][j] = sum_i dO[c][i] A[i][j] */
            for (int i = 0; i < P; i++)
                for (int j = 0; j < P; j++) dV[(size_t)c * P + j] += dO[(size_t)c * P + i] * A[(size_t)i * P + j];
        for (int i = 0; i < P; i++) {                      /* dA[i][j] = sum_c dO[c][i] V[c][j], then the softmax's Jacobian */
            double dot = 0;
            for (int j = 0; j < P; j++) {
                double s = 0;
                for (int c = 0; c < C; c++) s += (double)dO[(size_t)c * P + i] * V[(size_t)c * P + j];
                dS[(size_t)i * P + j] = (float)s;
                dot += s * A[(size_t)i * P + j];
            }
            for (int j = 0; j < P; j++) dS[(size_t)i * P + j] = (float)(A[(size_t)i * P + j] * (dS[(size_t)i * P + j] - dot) * scale);
        }
        for (int c = 0; c < C; c++)                        /* dQ[c][i] = sum_j K[c][j] dS[i][j];  dK[c][j] = sum_i Q[c][i] dS[i][j] */
            for (int i = 0; i < P; i++) {
                double sq = 0, sk = 0;
                for (int j = 0; j < P; j++) {
                    sq += (double)K[(size_t)c * P + j] * dS[(size_t)i * P + j];
                    sk += (double)Q[(size_t)c * P + j] * dS[(size_t)j * P + i];
                }
                dQ[(size_t)c * P + i] += (float)sq;
                dK[(size_t)c * P + i] += (float)sk;
            }
    }
}
/* §2.8 (U-Net) O = V softmax(Q^T K / sqrt(C))^T, per image. */
AgNode *ag_attention(AgTape *t, AgNode *qkv) {
    CHECK(qkv->val.ndim == 4 && qkv->val.shape[1] % 3 == 0, "ag_attention: qkv must be (N, 3C, H, W), got ndim %d, %d channels",
          qkv->val.ndim, qkv->val.shape[1]);
    int N = qkv->val.shape[0], C = qkv->val.shape[1] / 3, H = qkv->val.shape[2], W = qkv->val.shape[3], P = H * W;
    AgNode *y = ag_node_new(t, 4, (int[]){ N, C, H, W }, attention_backward, 1, qkv, NULL, NULL);
    y->saved = tensor_new(t->arena, 1, (int[]){ 2 * N * P * P });   /* A, and the backward's dS scratch */
    double scale = 1.0 / sqrt((double)C);
    #pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        const float *Q = qkv->val.data + (size_t)n * 3 * C * P, *K = Q + (size_t)C * P, *V = K + (size_t)C * P;
        float *A = y->saved.data + (size_t)n * P * P, *O = y->val.data + (size_t)n * C * P;
        for (int i = 0; i < P; i++) {
            double smax = -INFINITY, sum = 0;
            for (int j = 0; j < P; j++) {                  /* S[i][j] = sum_c Q[c][i] K[c][j] / sqrt(C) */
                double s = 0;
                for (int c = 0; c < C; c++) s += (double)Q[(size_t)c * P + i] * K[(size_t)c * P + j];
                A[(size_t)i * P + j] = (float)(s * scale);
                smax = s * scale > smax ? s * scale : smax;
            }
            for (int j = 0; j < P; j++) sum += exp(A[(size_t)i * P + j] - smax);   /* softmax around the row's max */
            for (int j = 0; j < P; j++) A[(size_t)i * P + j] = (float)(exp(A[(size_t)i * P + j] - smax) / sum);
        }
        for (int c = 0; c < C; c++)                        /* O[c][i] = sum_j V[c][j] A[i][j] */
            for (int i = 0; i < P; i++) {
                double s = 0;
                for (int j = 0; j < P; j++) s += (double)V[(size_t)c * P + j] * A[(size_t)i * P + j];
                O[(size_t)c * P + i] = (float)s;
            }
    }
    return y;
}
