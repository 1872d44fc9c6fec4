/* attention.h: single-head self-attention over the pixels of a feature map (Vaswani et al. 2017, as DDPM's
 * U-Net uses it at its lowest resolution), as one autograd op with its backward.
 *
 *   AgNode *qkv = ag_conv2d(t, h, Wqkv, bqkv, 1, 0);     (N, 3C, H, W): queries, keys, values by a 1x1 conv
 *   AgNode *o   = ag_attention(t, qkv);                   (N, C, H, W)
 *   h = ag_add(t, h, ag_conv2d(t, o, Wout, bout, 1, 0));  the residual attention block
 *
 * For each image n, with the P = H W pixels as tokens and Q, K, V the (C, P) slices of qkv:
 *   S = Q^T K / sqrt(C)           (P, P) similarities,
 *   A = softmax of S's rows       A[i][j] = how much pixel i reads pixel j,
 *   O = V A^T                     (C, P) each pixel's output is a weighted mean of the values.
 * Backward: dV = dO A;  dA = dO^T V;  dS = A * (dA - rowsum(dA * A));  dQ = K dS^T / sqrt(C);  dK = Q dS / sqrt(C).
 * Cost (N P^2 C) is small at 7 x 7 (P = 49) and grows as P^2: this is why attention sits at the lowest level.
 *
 * Ownership: the output, its grad and the saved A (N, P, P) come from the tape's arena. Shape errors are CHECKs.
 */
#ifndef ATTENTION_H
#define ATTENTION_H

#include "autograd.h"

/* qkv (N, 3C, H, W) -> (N, C, H, W); see above. */
AgNode *ag_attention(AgTape *t, AgNode *qkv);

#endif
