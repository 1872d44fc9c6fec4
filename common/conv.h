/* conv.h: direct kernels for 2D convolutions (K x K kernel, stride S, zero padding P), the U-Net's 3x3, 1x1
 * and strided 3x3 layers: the forward, the weight gradient and the input gradient (for stride 1 the forward
 * again, on dy with the flipped weights), one sample at a time. ag_conv2d (autograd_image.c) calls them.
 *
 * The idea ("implicit GEMM" on a padded grid), stride 1 first: copy the sample x (C, H, W) once into xp
 * (C, Hp, Ws) with a zero border, Hp = H + 2P rows of Ws = W + P: P zeros, then a row of x. Compute the outputs
 * on the grid q = h Ws + w, w < Ws: the input that tap k = (c, i, j) reads for output q is then xp[off[k] + q],
 * off[k] = c Hp Ws + i Ws + j, the same shift for every q (a tap past a row's end reads the next row's P zeros:
 * they are this row's right border too). So y(o, q) = sum_k W(o, k) xp[off[k] + q] is a matrix product whose
 * right-hand side is read straight out of xp, rows shifted by off[k]: no im2col copy (K^2 times the sample) and
 * no packing of it. The Ws - Wo grid columns w >= Wo (P of them for K = 2P + 1) are computed and thrown away.
 * Stride S: xp holds the S^2 phases of the padded image, phase (a, b) = rows a, a + S, ..., columns b, b + S, ...
 * (Hs x Ws = ceil(Hp / S) x ceil(Wp / S) each). Output (h, w) reads padded pixel (h S + i, w S + j), which is
 * pixel (h + i / S, w + j / S) of phase (i mod S, j mod S): again one shift per tap, on a grid of row length Ws.
 *   conv_forward      y (+)= W * x (+ b)
 *   conv_weight_grad  dW^T (C K K, Cout) += sum_q xp[off[k] + q] dy(o, q)   (conv_dwt_add: dW += that, turned)
 *
 *   ConvGrid g = conv_grid(C, H, W, K, S, P);           sizes of the padded grid
 *   conv_offsets(off, &g);                              off[C K K]
 *   conv_pack_weights(wp, w, Cout, C * K * K);          once per call, wp has conv_packed_size floats
 *   conv_pad(xp, x, &g);                                xp has conv_padded_size(&g) floats
 *   conv_forward(y, wp, xp, off, b, NULL, 0, Cout, &g); y (Cout, Ho, Wo)
 *
 * conv_ref is the six-loop definition, the oracle of tests/test_conv.c. The caller owns every buffer; nothing
 * here allocates, threads or fails (sizes are CHECKed). Sums are in float, in the order of k (of q for dW). */
#ifndef CONV_H
#define CONV_H

#include <stddef.h>

typedef struct {
    int C, H, W, K, S, P;   /* input channels, input size, kernel size, stride, zero padding */
    int Hp, Wp;             /* padded input: H + 2P, W + 2P */
    int Hs, Ws;             /* one phase of it: ceil(Hp / S), ceil(Wp / S) (S = 1: Hp, and max(W + P, Wo)) */
    int Ho, Wo;             /* output: (Hp - K) / S + 1, (Wp - K) / S + 1 */
    int Lq;                 /* grid positions Ho Ws (the last Ws - Wo of each row are thrown away) */
} ConvGrid;

ConvGrid conv_grid(int C, int H, int W, int K, int S, int P);
/* Floats of a padded sample: S^2 C Hs Ws and the slack the last tile reads past it. */
size_t conv_padded_size(const ConvGrid *g);
/* Floats of packed weights for Cout output channels (Cout rounded up to the kernel's tile height). */
size_t conv_packed_size(int Co, int CKK);
/* off[(c K + i) K + j]: where tap (c, i, j) of grid position 0 is in xp. */
void conv_offsets(int *off, const ConvGrid *g);
/* 0 for a 1x1 kernel, stride 1, no padding (on images of at least 2 VL pixels): the kernels may then read x
 * itself as xp (and dy itself for dx), which they never read past. */
int conv_padding_needed(const ConvGrid *g);
/* xp = x (C, H, W) with a zero border of P (in S^2 phases for S > 1) and zeros in the slack. */
void conv_pad(float *xp, const float *x, const ConvGrid *g);
/* w (Cout, CKK) -> tiles of the kernel's height, k by k: wp[(t CKK + k) MR + i] = w[(t MR + i) CKK + k]. */
void conv_pack_weights(float *wp, const float *w, int Co, int CKK);

/* y (Cout, Ho, Wo) = (sum_{c,i,j} w[o,c,i,j] x[c, h S+i-P, w S+j-P] + b[o]) + b2[o], rounded in that order
 * (accumulate = 1: y += that; b and b2 (Cout) may be NULL: a second bias is a per-sample channel addend). */
void conv_forward(float *y, const float *wp, const float *xp, const int *off, const float *b, const float *b2,
                  int accumulate, int Co, const ConvGrid *g);
/* dyt (Lq, round_up(Cout, VL)): dy (Cout, Ho, Wo) on the grid, transposed, zero in the thrown-away columns
 * (Cout = 1: dyt (Lq), dy on the grid). */
size_t conv_dyt_size(int Co, const ConvGrid *g);
void conv_dyt(float *dyt, const float *dy, int Co, const ConvGrid *g);
/* dW transposed: dwt (C K K, round_up(Cout, VL)) += sum_{h,w} dy[o,h,w] x[c, h S+i-P, w S+j-P] at [(c K + i) K + j][o],
 * from conv_dyt and conv_pad of x (the columns past Cout are padding; Cout = 1: dwt (C K K) is dW itself).
 * conv_dwt_add: dw (Cout, C K K) += dwt turned back. */
size_t conv_dwt_size(int Co, int CKK);
void conv_weight_grad(float *dwt, const float *dyt, const float *xp, const int *off, int Co, const ConvGrid *g);
void conv_dwt_add(float *dw, const float *dwt, int Co, int CKK);

/* dx (C, H, W) += the input gradient of a strided convolution (any S; for S = 1 conv_forward on dy is the way):
 * phase by phase of the padded input, each a stride-1 correlation of dy with the taps of w falling on that phase
 * (see conv.c). conv_dx_pack packs w (Cout, C, K, K) for all phases once per call into conv_dx_packed_size
 * floats; conv_dx_strided takes conv_dx_scratch_size floats of scratch. */
size_t conv_dx_packed_size(int Co, const ConvGrid *g);
size_t conv_dx_scratch_size(int Co, const ConvGrid *g);
void conv_dx_pack(float *pk, const float *w, int Co, const ConvGrid *g);
void conv_dx_strided(float *dx, const float *dy, const float *pk, int Co, const ConvGrid *g, float *scratch);

/* The definition: y (Cout, Ho, Wo) = b + sum w x, stride S, zero padding P, in double; b may be NULL. */
void conv_ref(float *y, const float *w, const float *x, const float *b, int Co, int C, int H, int W, int K, int S, int P);

#endif
