/* autograd.h: reverse-mode automatic differentiation on a tape you can read.
 *
 *   size_t mark = arena_pos(&arena);                    start of a training step
 *   AgTape tape = ag_tape(&arena, 256);                 room for 256 nodes, all from the arena
 *   AgNode *x = ag_input(&tape, xbatch);                data: a constant leaf (N, D)
 *   AgNode *W = ag_leaf(&tape, w, dw, 2, (int[]){H, D}); parameter: val/grad in caller memory
 *   AgNode *b = ag_leaf(&tape, bb, db, 1, (int[]){H});
 *   AgNode *y = ag_relu(&tape, ag_linear(&tape, x, W, b));   (N, H)
 *   AgNode *loss = ag_mse(&tape, y, ag_input(&tape, target));
 *   ag_backward(&tape, loss);                           dw, db += d loss / d(w, b)
 *   arena_pop_to(&arena, mark);                         the whole tape is gone
 *
 * The tape is an array of nodes in creation order. Each ag_<op> appends one
 * node, computes its forward value, and stores what its backward needs. Since
 * an op can only use nodes that already exist, creation order is a topological
 * order: ag_backward walks the array from the loss down to node 0 and calls
 * each node's backward, which accumulates (+=) into its inputs' grads. No
 * sort, no hashing, no hidden allocation (micrograd's algorithm, ggml's layout).
 *
 * Ownership: the node array and every node's val, grad and saved tensors come
 * from the arena given to ag_tape (step lifetime). Two exceptions: ag_input's
 * val and ag_leaf's val/grad point to the caller's memory, which is never
 * copied or freed. ag_leaf's grad is accumulated into with +=, so zero it
 * before the step (nn_params_zero_grad). ag_input's grad is arena scratch
 * that ops may skip (matmul/linear do): for d loss / d x (a score, a
 * gradient w.r.t. data), make x an ag_leaf over your own grad buffer.
 *
 * Errors: shape mismatches, a full tape and a non-scalar loss are programmer
 * errors (CHECK, abort). Nothing here returns a status.
 *
 * Shape letters: N batch rows, H/K/M features. Tensors are contiguous, row-major.
 *
 * Ops no chapter uses today, kept (each gradient-checked in tests/test_autograd.c) as the pieces the PDF's
 * variants need: ag_matmul + ag_add_row (a layer spelled out, W x + b, as §1's equations write it),
 * ag_softplus + ag_log (a Bernoulli or Gaussian decoder's log-likelihood instead of the MSE), ag_sum
 * (a summed rather than averaged loss), ag_concat (a conditioning input joined to x), ag_reshape and
 * ag_avgpool2x (a U-Net that pools instead of striding). ag_linear and ag_conv2d are the fused forms.
 */
#ifndef AUTOGRAD_H
#define AUTOGRAD_H

#include "tensor.h"

typedef struct AgNode AgNode;
struct AgNode {
    Tensor  val, grad;               /* forward value and d loss / d val, same shape */
    AgNode *in[4];                   /* inputs, in the op's argument order (a 4th: ag_conv2d_add_*) */
    int     n_in;
    int     needs_grad;              /* 1 if a leaf is reachable through in[]: backward is run */
    void  (*backward)(AgNode *y);    /* adds y->grad's contribution into in[k]->grad; NULL for leaves */
    Tensor  saved;                   /* values kept by the forward for the backward (e.g. sigma(x)) */
    int     grad_fresh;              /* 1: grad is a large buffer not yet written (not zeroed either): see below */
    unsigned overwrites;             /* bit k: backward handles a fresh in[k]->grad itself (writes it whole) */
    float   scalar;                  /* a float argument (ag_scale, ag_add_scalar) */
    union {                          /* the op's integer arguments (sizes), named per op */
        struct { int M, K, N; }            mm;     /* ag_matmul: (M, K) (K, N) */
        struct { int N, in, out; }         lin;    /* ag_linear: x (N, in) -> (N, out) */
        struct { int N, A, B; }            cat;    /* ag_concat: (N, A) and (N, B) -> (N, A + B) */
        struct { int N, C, c0, width; }    cols;   /* ag_cols: columns c0 .. c0 + width of (N, C) */
        struct { int N; }                  kl;     /* ag_kl_normal: rows averaged over */
        struct { int G, silu; }            gn;     /* ag_group_norm(_silu): groups, 1 if fused with SiLU */
        struct { int K, stride, pad, T, extra; } conv;   /* ag_conv2d: kernel, stride, padding, threads, what in[3]
                                                        is: 0 none, CONV_ADD_CHANNEL e, CONV_ADD_RESIDUAL r */
    } arg;
};

typedef struct {
    Arena  *arena;                   /* step arena: nodes and their tensors live here */
    AgNode *nodes;                   /* (cap,) in creation order = topological order */
    int     n, cap;
    int     no_grad;                 /* 1: inference only, nodes get no grad buffers, ag_backward refuses */
    double *profile;                 /* NULL, or (2 cap) for make bench's per-op profile: [2i] the time node i
                                        was created (its forward runs until node i+1 is), [2i+1] the seconds
                                        its backward took. Set it right after ag_tape; costs nothing if NULL. */
} AgTape;

/* ---- tape and leaves ----------------------------------------------------- */

/* A tape of at most max_nodes nodes (leaves included), its node array pushed on the arena. */
AgTape  ag_tape(Arena *a, int max_nodes);
/* The same for inference (sampling): no gradient memory is allocated or zeroed. */
AgTape  ag_tape_no_grad(Arena *a, int max_nodes);
/* A constant leaf over x's data (not copied): data, targets, noise. */
AgNode *ag_input(AgTape *t, Tensor x);
/* A trainable leaf whose val and grad are caller memory (a parameter entry); backward does grad += ... */
AgNode *ag_leaf(AgTape *t, float *val, float *grad, int ndim, const int *shape);
/* Reverse sweep: loss->grad = 1, then every node from loss down to the first calls its backward.
 * Fresh gradients: a grad of at least AG_FRESH_MIN floats is not zeroed when its node is created (grad_fresh).
 * Its first writer, in the reverse sweep, either overwrites it (an op with bit k of overwrites set writes every
 * element of in[k]->grad with = when in[k]->grad_fresh, and clears the flag: convolution (x, and the residual
 * of ag_conv2d_add), group norm, linear, SiLU, upsample-concat), or ag_backward zeroes it just before that
 * writer's backward runs (any other op, or a node in two of the op's inputs: += as ever). A node's own
 * fresh grad (no consumer wrote it) is zeroed before its backward, and any left fresh are zeroed at the end, so
 * every grad holds its sum when ag_backward returns. Zero-filling every activation's gradient and adding the
 * first contribution to the zeros had cost the U-Net step two passes over memory per activation. */
void    ag_backward(AgTape *t, AgNode *loss);
/* For writing new ops that set overwrites: whether x's grad is fresh (then write it with =), clearing the flag. */
int     ag_take_fresh(AgNode *x);
/* For writing new ops: an elementwise loop over at least this many floats is split over the threads
 * (`#pragma omp parallel for ... if (n >= AG_PARALLEL_MIN)`); below it, waking a thread costs more than it saves. */
enum { AG_PARALLEL_MIN = 1 << 16 };
/* A node's grad of at least this many floats is left fresh rather than zeroed (ag_backward). */
enum { AG_FRESH_MIN = 1 << 10 };
/* For writing new ops: append a node of the given shape (val zeroed, grad zeroed or fresh) with up to 3 inputs. */
AgNode *ag_node_new(AgTape *t, int ndim, const int *shape, void (*backward)(AgNode *),
                    int n_in, AgNode *a, AgNode *b, AgNode *c);
/* The same, for an op whose forward writes every element of val: val is left unzeroed (grad is zeroed). */
AgNode *ag_node_new_overwritten(AgTape *t, int ndim, const int *shape, void (*backward)(AgNode *),
                                int n_in, AgNode *a, AgNode *b, AgNode *c);

/* ---- elementwise binary and broadcast ------------------------------------ */

AgNode *ag_add(AgTape *t, AgNode *a, AgNode *b);          /* a + b, same shape */
AgNode *ag_sub(AgTape *t, AgNode *a, AgNode *b);          /* a - b, same shape */
AgNode *ag_mul(AgTape *t, AgNode *a, AgNode *b);          /* a * b elementwise, same shape */
AgNode *ag_add_row(AgTape *t, AgNode *x, AgNode *b);      /* x (N,H) + b (H) broadcast over rows */
AgNode *ag_scale(AgTape *t, AgNode *x, float s);          /* s * x */
AgNode *ag_add_scalar(AgTape *t, AgNode *x, float s);     /* x + s */

/* ---- matrix products ------------------------------------------------------ */

AgNode *ag_matmul(AgTape *t, AgNode *A, AgNode *B);       /* A (M,K) B (K,N) -> (M,N), via gemm */
AgNode *ag_linear(AgTape *t, AgNode *x, AgNode *W, AgNode *b); /* x (N,in) W^T + b; W (out,in), b (out) or NULL */

/* ---- elementwise unary ---------------------------------------------------- */

AgNode *ag_relu(AgTape *t, AgNode *x);                    /* max(x, 0) */
AgNode *ag_silu(AgTape *t, AgNode *x);                    /* x sigma(x) */
AgNode *ag_gelu(AgTape *t, AgNode *x);                    /* 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) */
AgNode *ag_tanh(AgTape *t, AgNode *x);                    /* tanh(x) */
AgNode *ag_sigmoid(AgTape *t, AgNode *x);                 /* 1 / (1 + e^-x) */
AgNode *ag_softplus(AgTape *t, AgNode *x);                /* log(1 + e^x) = max(x,0) + log1p(e^-|x|) */
AgNode *ag_exp(AgTape *t, AgNode *x);                     /* e^x */
AgNode *ag_log(AgTape *t, AgNode *x);                     /* log x, x > 0 */
AgNode *ag_square(AgTape *t, AgNode *x);                  /* x^2 */

/* ---- shape ----------------------------------------------------------------- */

AgNode *ag_concat(AgTape *t, AgNode *a, AgNode *b);       /* a (N,A), b (N,B) -> (N, A+B) along columns */
AgNode *ag_cols(AgTape *t, AgNode *x, int c0, int width); /* columns c0..c0+width-1 of x (N,C) -> (N,width) */

/* ---- reductions and losses (scalar outputs, shape (1)) --------------------- */

AgNode *ag_sum(AgTape *t, AgNode *x);                     /* sum_i x_i */
AgNode *ag_mean(AgTape *t, AgNode *x);                    /* (1/n) sum_i x_i */
AgNode *ag_mse(AgTape *t, AgNode *a, AgNode *b);          /* (1/n) sum_i (a_i - b_i)^2 over all n elements */
/* §1.4 KL(N(mu, diag e^logvar) || N(0,I)) = 1/2 sum_j (e^lv_j + mu_j^2 - 1 - lv_j), averaged over rows N */
AgNode *ag_kl_normal(AgTape *t, AgNode *mu, AgNode *logvar);

/* ---- image ops on (N, C, H, W), in autograd_image.c ----------------------- */

AgNode *ag_reshape(AgTape *t, AgNode *x, int ndim, const int *shape);  /* same data, new shape */
AgNode *ag_conv2d(AgTape *t, AgNode *x, AgNode *w, AgNode *b, int stride, int pad);
                                 /* x (N,C,H,W) * w (Co,C,K,K) + b (Co) or NULL -> (N,Co,(H+2pad-K)/stride+1, ...) */
AgNode *ag_conv2d_add_channel(AgTape *t, AgNode *x, AgNode *w, AgNode *b, AgNode *e, int stride, int pad);
                                 /* ag_add_channel(ag_conv2d(x, w, b, ...), e (N,Co)) in one node, the same bits */
AgNode *ag_conv2d_add(AgTape *t, AgNode *x, AgNode *w, AgNode *b, AgNode *r, int stride, int pad);
                                 /* ag_add(ag_conv2d(x, w, b, ...), r) in one node (r shaped as the output), the same bits */
enum { CONV_ADD_CHANNEL = 1, CONV_ADD_RESIDUAL = 2 };
AgNode *ag_group_norm(AgTape *t, AgNode *x, AgNode *gamma, AgNode *beta, int G);
                                 /* per sample and group of C/G channels: gamma (x - mean)/sqrt(var + 1e-5) + beta */
AgNode *ag_group_norm_silu(AgTape *t, AgNode *x, AgNode *gamma, AgNode *beta, int G);
                                 /* silu(ag_group_norm(...)) in one op: same values as ag_silu of it, less memory traffic */
AgNode *ag_upsample2x(AgTape *t, AgNode *x);                  /* nearest: (N,C,H,W) -> (N,C,2H,2W) */
AgNode *ag_avgpool2x(AgTape *t, AgNode *x);                   /* 2x2 mean, stride 2: -> (N,C,H/2,W/2) */
AgNode *ag_concat_channels(AgTape *t, AgNode *a, AgNode *b);  /* (N,Ca,H,W), (N,Cb,H,W) -> (N,Ca+Cb,H,W) */
AgNode *ag_upsample_concat(AgTape *t, AgNode *a, AgNode *b);  /* ag_concat_channels(ag_upsample2x(a), b), one pass, same bits */
AgNode *ag_add_channel(AgTape *t, AgNode *x, AgNode *e);      /* x (N,C,H,W) + e (N,C) broadcast over H,W */

#endif
