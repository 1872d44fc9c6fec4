/* unet.h: a small U-Net eps_theta(x_t, t) for 28 x 28 grey images (Fashion-MNIST, §2.8).
 *
 *   Params p;  nn_params_init(&p);
 *   Unet net;  unet_declare(&p, &net, 32);       base width C = 32: about 0.5 M parameters
 *   nn_params_alloc(&p, &rng);
 *   AgTape tape = ag_tape(&arena, UNET_MAX_NODES);
 *   AgNode *eps_hat = unet_forward(&tape, &p, &net, x, t, N);   x (N, 1, 28, 28), t (N) steps
 *
 * Layout (C = base width; every ResBlock is GN-SiLU-conv3x3, + time embedding per channel,
 * GN-SiLU-conv3x3, plus a 1x1-conv skip when the width changes):
 *   t -> sinusoidal(64) -> Linear 4C -> SiLU -> Linear 4C                       time embedding
 *   x (1,28,28) -> conv3x3 -> C                                                  stem
 *   down: ResBlock C->C @28 [skip s1] -> conv3x3 stride 2 -> @14
 *         ResBlock C->2C @14 [skip s2] -> conv3x3 stride 2 -> @7
 *   mid:  ResBlock 2C->2C @7 [+ self-attention @7 when declared with attention = 1]
 *   up:   upsample -> @14, concat s2 (2C+2C) -> ResBlock 4C->2C
 *         upsample -> @28, concat s1 (2C+C)  -> ResBlock 3C->C
 *   out:  GN-SiLU-conv3x3 C -> 1 (zero-initialised: eps_hat starts at 0)
 * Group norm uses 8 groups. Ownership as in nn.h: the Unet only holds indices into a Params.
 */
#ifndef UNET_H
#define UNET_H

#include "autograd.h"
#include "cli.h"
#include "nn.h"
#include "schedule.h"

enum { UNET_MAX_NODES = 512, UNET_TEMB = 64, UNET_GROUPS = 8 };

typedef struct { int w, b; } Conv;                 /* indices of weight (Co, Ci, K, K) and bias (Co) */
typedef struct { int gamma, beta; } GroupNorm;     /* indices of (C) scale and shift */

typedef struct {
    GroupNorm norm1, norm2;
    Conv      conv1, conv2, skip;                  /* skip.w < 0: identity */
    Linear    temb;                                /* time embedding -> (Cout) per channel */
    int       cin, cout;
} ResBlock;

typedef struct {
    int      C;                                    /* base width */
    int      attention;                            /* 1: self-attention after the mid block (unet_declare_attention) */
    GroupNorm attn_norm;
    Conv     attn_qkv, attn_out;                   /* 1x1 convs 2C -> 6C (q, k, v) and 2C -> 2C (zero-initialised) */
    Linear   temb1, temb2;
    Conv     stem, down1, down2, out;
    GroupNorm out_norm;
    ResBlock rb_down1, rb_down2, rb_mid, rb_up2, rb_up1;
} Unet;

void    unet_declare(Params *p, Unet *u, int C);
/* The same with attention = 1: a residual self-attention block at 7 x 7 after the mid ResBlock,
 *   h = h + conv1x1_out(attention(conv1x1_qkv(GN(h))))     (attention.h; 8 C^2 + 8 C more parameters). */
void    unet_declare_attention(Params *p, Unet *u, int C, int attention);
/* eps_hat (N, 1, 28, 28) for images x (N*784 floats) at steps t (N floats). */
AgNode *unet_forward(AgTape *t, Params *p, const Unet *u, const float *x, const float *steps, int N);
/* The same from a node x (N, 1, 28, 28): an ag_leaf when the gradient with respect to the image is wanted. */
AgNode *unet_forward_node(AgTape *t, Params *p, const Unet *u, AgNode *x, const float *steps, int N);

/* What the network's output means (the prediction target it was trained on, §2.8 and §flow):
 *   UNET_EPS   eps_hat                                   (Ho et al.; the tutorial's choice)
 *   UNET_X0    x0_hat
 *   UNET_V     v_hat = a eps - b x0 on the VP path a^2 + b^2 = 1 (Salimans and Ho): x0 = a x - b v, eps = b x + a v
 *   UNET_FLOW  v_hat = eps - x0 on the flow path x_t = (1 - t) x0 + t eps, time input T t (§flow) */
typedef enum { UNET_EPS, UNET_X0, UNET_V, UNET_FLOW } UnetTarget;
extern const char *const unet_target_names[4];   /* "eps", "x0", "v", "flow": the checkpoint's "target" */

/* A trained network, loaded for sampling:
 *   UnetModel m;
 *   if (unet_model_load(&m, path)) ...;               // one-line message already printed
 *   unet_model_predict(&m, x, N, t, out, &arena);     // the raw output (N, 784) at time input t (see target)
 *   unet_model_free(&m);
 * It holds the EMA weights ("ema.*") of a checkpoint whose metadata names its "width", "T" and "step", and
 * optionally "attention" ("1": the attention block), "schedule" ("linear" or "cosine", sched_init's) and
 * "target" (unet_target_names); absent keys (older checkpoints) mean no attention, linear, eps. A VP network's
 * time input is the step 1..T of sched_init(m.sched, m.T); a flow network's is T t for t in [0, 1]. Images
 * in [-1, 1]. The one loader for sampling: the training checkpoint's other blocks (the raw weights, Adam's
 * moments) are not read. den_unet (denoiser.h) turns the raw output into x0_hat, eps_hat and the score. */
typedef struct {
    Params     params;
    Unet       unet;
    int        T;          /* diffusion steps the network was trained with (flow: the time input's scale) */
    SchedKind  sched;      /* its schedule (VP targets) */
    UnetTarget target;
    long       step;       /* training steps behind the weights */
    ThreadPick pick;       /* one thread or all for each forward pass, whichever has been faster (cli.h) */
} UnetModel;

int  unet_model_load(UnetModel *m, const char *path) MUST_USE;
/* For an image cell: 1 when the network at path is loaded into m; else 0, with *rc the cell's return code after
 * one line: 0 when there is no file (the cell is skipped: ./ch2 --train makes one), 1 when it is unreadable. */
int  unet_model_load_for_cell(UnetModel *m, const char *path, int *rc) MUST_USE;
void unet_model_free(UnetModel *m);
/* Any N: the images go through the network 100 at a time, each pass on one thread or all (m->pick: the output
 * does not depend on the thread count). */
void unet_model_predict(UnetModel *m, const float *x, int N, float t, float *out, Arena *arena);
/* The output out (N, 784) and the vector-Jacobian product jtz = z^T d out / d x (N, 784), one backward pass: with a
 * random z of E[z z^T] = I, z . jtz is Hutchinson's unbiased estimate of the divergence tr(d out / d x) (§flow). */
void unet_model_vjp(UnetModel *m, const float *x, int N, float t, const float *z, float *out, float *jtz, Arena *arena);

#endif
