#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "attention.h"
#include "io.h"
#include "rng.h"
#include "train.h"
#include "unet.h"

/* ---- declaring the parameters ------------------------------------------- */

static Conv conv_declare(Params *p, const char *name, int cin, int cout, int K, int zero) {
    char buf[NN_NAME_MAX + 16];
    Conv c;
    snprintf(buf, sizeof buf, "%s.weight", name);
    c.w = nn_params_declare(p, buf, 4, (int[]){ cout, cin, K, K }, zero ? NN_INIT_ZERO : NN_INIT_UNIFORM);
    nn_params_set_fan_in(p, c.w, cin * K * K);
    snprintf(buf, sizeof buf, "%s.bias", name);
    c.b = nn_params_declare(p, buf, 1, (int[]){ cout }, zero ? NN_INIT_ZERO : NN_INIT_UNIFORM);
    nn_params_set_fan_in(p, c.b, cin * K * K);
    return c;
}

static GroupNorm norm_declare(Params *p, const char *name, int C) {
    char buf[NN_NAME_MAX + 16];
    GroupNorm g;
    snprintf(buf, sizeof buf, "%s.weight", name);
    g.gamma = nn_params_declare(p, buf, 1, (int[]){ C }, NN_INIT_ONE);
    snprintf(buf, sizeof buf, "%s.bias", name);
    g.beta = nn_params_declare(p, buf, 1, (int[]){ C }, NN_INIT_ZERO);
    return g;
}

static void block_declare(Params *p, ResBlock *r, const char *name, int cin, int cout) {
    char buf[NN_NAME_MAX];
    r->cin = cin;
    r->cout = cout;
    snprintf(buf, sizeof buf, "%s.norm1", name); r->norm1 = norm_declare(p, buf, cin);
    snprintf(buf, sizeof buf, "%s.conv1", name); r->conv1 = conv_declare(p, buf, cin, cout, 3, 0);
    snprintf(buf, sizeof buf, "%s.temb", name);  nn_linear_declare(p, &r->temb, buf, 4 * UNET_TEMB, cout);
    snprintf(buf, sizeof buf, "%s.norm2", name); r->norm2 = norm_declare(p, buf, cout);
    snprintf(buf, sizeof buf, "%s.conv2", name); r->conv2 = conv_declare(p, buf, cout, cout, 3, 0);
    r->skip.w = r->skip.b = -1;
    if (cin != cout) { snprintf(buf, sizeof buf, "%s.skip", name); r->skip = conv_declare(p, buf, cin, cout, 1, 0); }
}

void unet_declare(Params *p, Unet *u, int C) { unet_declare_attention(p, u, C, 0); }

void unet_declare_attention(Params *p, Unet *u, int C, int attention) {
    CHECK(C % UNET_GROUPS == 0, "U-Net width C = %d must be a multiple of %d groups", C, UNET_GROUPS);
    u->C = C;
    u->attention = attention;
    nn_linear_declare(p, &u->temb1, "temb.0", UNET_TEMB, 4 * UNET_TEMB);
    nn_linear_declare(p, &u->temb2, "temb.2", 4 * UNET_TEMB, 4 * UNET_TEMB);
    u->stem = conv_declare(p, "stem", 1, C, 3, 0);
    block_declare(p, &u->rb_down1, "down1", C, C);
    u->down1 = conv_declare(p, "down1.sample", C, C, 3, 0);
    block_declare(p, &u->rb_down2, "down2", C, 2 * C);
    u->down2 = conv_declare(p, "down2.sample", 2 * C, 2 * C, 3, 0);
    block_declare(p, &u->rb_mid, "mid", 2 * C, 2 * C);
    if (attention) {
        u->attn_norm = norm_declare(p, "mid.attn.norm", 2 * C);
        u->attn_qkv = conv_declare(p, "mid.attn.qkv", 2 * C, 6 * C, 1, 0);
        u->attn_out = conv_declare(p, "mid.attn.out", 2 * C, 2 * C, 1, 1);   /* zero init: the block starts as the identity */
    }
    block_declare(p, &u->rb_up2, "up2", 4 * C, 2 * C);
    block_declare(p, &u->rb_up1, "up1", 3 * C, C);
    u->out_norm = norm_declare(p, "out.norm", C);
    u->out = conv_declare(p, "out.conv", C, 1, 3, 1);   /* zero init: the untrained net predicts eps_hat = 0 */
}

/* ---- the forward pass ---------------------------------------------------- */

static AgNode *conv(AgTape *t, Params *p, Conv c, AgNode *x, int stride) {
    return ag_conv2d(t, x, nn_params_leaf(t, p, c.w), nn_params_leaf(t, p, c.b), stride, 1);   /* 3x3, zero padding 1 */
}

static AgNode *norm_silu(AgTape *t, Params *p, GroupNorm g, AgNode *x) {
    return ag_group_norm_silu(t, x, nn_params_leaf(t, p, g.gamma), nn_params_leaf(t, p, g.beta), UNET_GROUPS);
}

/* h = conv2(silu(gn2(conv1(silu(gn1(x))) + W temb))) + skip(x) */
static AgNode *block(AgTape *t, Params *p, const ResBlock *r, AgNode *x, AgNode *temb) {
    AgNode *g = norm_silu(t, p, r->norm1, x), *e = nn_linear_forward(t, p, &r->temb, temb);
    AgNode *h = ag_conv2d_add_channel(t, g, nn_params_leaf(t, p, r->conv1.w), nn_params_leaf(t, p, r->conv1.b), e, 1, 1);
    AgNode *skip = r->skip.w < 0 ? x : ag_conv2d(t, x, nn_params_leaf(t, p, r->skip.w), nn_params_leaf(t, p, r->skip.b), 1, 0);
    g = norm_silu(t, p, r->norm2, h);
    return ag_conv2d_add(t, g, nn_params_leaf(t, p, r->conv2.w), nn_params_leaf(t, p, r->conv2.b), skip, 1, 1);
}

AgNode *unet_forward(AgTape *t, Params *p, const Unet *u, const float *x, const float *steps, int N) {
    return unet_forward_node(t, p, u, ag_input(t, tensor_wrap((float *)x, 4, (int[]){ N, 1, 28, 28 })), steps, N);
}

AgNode *unet_forward_node(AgTape *t, Params *p, const Unet *u, AgNode *x, const float *steps, int N) {
    /* time embedding: sinusoidal features of t through a 2-layer MLP */
    Tensor e = tensor_new(t->arena, 2, (int[]){ N, UNET_TEMB });
    nn_time_embedding(e.data, steps, N, UNET_TEMB, 1000.0f);
    AgNode *temb = nn_linear_forward(t, p, &u->temb2, ag_silu(t, nn_linear_forward(t, p, &u->temb1, ag_input(t, e))));
    AgNode *tact = ag_silu(t, temb);
    AgNode *h = conv(t, p, u->stem, x, 1);                                 /* (N, C, 28, 28) */
    AgNode *s1 = block(t, p, &u->rb_down1, h, tact);
    h = conv(t, p, u->down1, s1, 2);                                         /* (N, C, 14, 14) */
    AgNode *s2 = block(t, p, &u->rb_down2, h, tact);                         /* (N, 2C, 14, 14) */
    h = conv(t, p, u->down2, s2, 2);                                         /* (N, 2C, 7, 7) */
    h = block(t, p, &u->rb_mid, h, tact);
    if (u->attention) {                                                     /* h + out(attention(qkv(GN(h)))) at 7 x 7 */
        AgNode *g = ag_group_norm(t, h, nn_params_leaf(t, p, u->attn_norm.gamma), nn_params_leaf(t, p, u->attn_norm.beta), UNET_GROUPS);
        AgNode *qkv = ag_conv2d(t, g, nn_params_leaf(t, p, u->attn_qkv.w), nn_params_leaf(t, p, u->attn_qkv.b), 1, 0);
        AgNode *o = ag_attention(t, qkv);
        h = ag_add(t, h, ag_conv2d(t, o, nn_params_leaf(t, p, u->attn_out.w), nn_params_leaf(t, p, u->attn_out.b), 1, 0));
    }
    h = block(t, p, &u->rb_up2, ag_upsample_concat(t, h, s2), tact);   /* (N, 2C, 14, 14) */
    h = block(t, p, &u->rb_up1, ag_upsample_concat(t, h, s1), tact);   /* (N, C, 28, 28) */
    return conv(t, p, u->out, norm_silu(t, p, u->out_norm, h), 1);           /* (N, 1, 28, 28) */
}

/* ---- a trained network, for sampling -------------------------------------- */

const char *const unet_target_names[4] = { "eps", "x0", "v", "flow" };

int unet_model_load_for_cell(UnetModel *m, const char *path, int *rc) {
    int missing = access(path, F_OK) != 0;
    if (unet_model_load(m, path) == 0) return 1;   /* else the loader said why in one line */
    printf("skipping the image cell: %s\n", missing ? "no trained U-Net (./ch2 --train makes one)" : "the checkpoint is unreadable");
    *rc = missing ? 0 : 1;
    return 0;
}

int unet_model_load(UnetModel *m, const char *path) {
    memset(m, 0, sizeof *m);
    char buf[32];
    if (access(path, F_OK) != 0) {
        fprintf(stderr, "%s: no trained U-Net checkpoint there (README says how to make one)\n", path);
        return 1;
    }
    IoSafetensors st;   /* the file is read and its header parsed once, for the metadata and the weights */
    if (io_safetensors_open(&st, path)) return 1;
    if (io_safetensors_meta(&st, "width", buf, sizeof buf)) {
        fprintf(stderr, "%s: not a U-Net checkpoint (no \"width\" in its metadata)\n", path);
        io_safetensors_close(&st);
        return 1;
    }
    int C = atoi(buf);
    m->T = io_safetensors_meta(&st, "T", buf, sizeof buf) ? 0 : atoi(buf);
    if (C <= 0 || C > 256 || C % UNET_GROUPS != 0 || m->T < 1 || m->T > 100000) {
        fprintf(stderr, "%s: implausible metadata (width %d, T %d)\n", path, C, m->T);
        io_safetensors_close(&st);
        return 1;
    }
    if (train_checkpoint_step(&st, &m->step)) {   /* validated: digits only, <= 1e8 (issue 16.3) */
        io_safetensors_close(&st);
        return 1;
    }
    int attention = io_safetensors_meta(&st, "attention", buf, sizeof buf) == 0 && atoi(buf) == 1;
    m->sched = io_safetensors_meta(&st, "schedule", buf, sizeof buf) == 0 && !strcmp(buf, "cosine") ? SCHED_COSINE : SCHED_LINEAR;
    m->target = UNET_EPS;
    if (io_safetensors_meta(&st, "target", buf, sizeof buf) == 0) {
        int k = 0;
        while (k < 4 && strcmp(buf, unet_target_names[k])) k++;
        if (k == 4) {
            fprintf(stderr, "%s: unknown prediction target \"%.16s\" (eps, x0, v or flow)\n", path, buf);
            io_safetensors_close(&st);
            return 1;
        }
        m->target = (UnetTarget)k;
    }
    nn_params_init(&m->params);
    unet_declare_attention(&m->params, &m->unet, C, attention);
    Rng rng = rng_seed(1);   /* the values are overwritten by the file */
    nn_params_alloc(&m->params, &rng);
    static const char *const prefix[1] = { "ema" };   /* sampling uses the EMA of the weights */
    float *const block[1] = { m->params.data };
    int rc = nn_params_read(&m->params, &st, block, prefix, 1);
    io_safetensors_close(&st);
    if (rc) nn_params_free(&m->params);
    return rc;
}

void unet_model_free(UnetModel *m) {
    nn_params_free(&m->params);
}

void unet_model_predict(UnetModel *m, const float *x, int N, float t, float *out, Arena *arena) {
    enum { CHUNK = 100 };   /* images per forward pass: bounds the activations (1000 at once overflowed a cell's 1 GiB arena) */
    size_t mark = arena_pos(arena);
    float *tt = arena_push_no_zero(arena, sizeof(float) * CHUNK);
    for (int i = 0; i < CHUNK; i++) tt[i] = t;
    for (int i0 = 0; i0 < N; i0 += CHUNK) {
        int n = N - i0 < CHUNK ? N - i0 : CHUNK;
        size_t inner = arena_pos(arena);
        AgTape tape = ag_tape_no_grad(arena, UNET_MAX_NODES);
        cli_threads_begin(&m->pick);
        double t0 = cli_seconds();
        memcpy(out + (size_t)i0 * 784, unet_forward(&tape, &m->params, &m->unet, x + (size_t)i0 * 784, tt, n)->val.data, sizeof(float) * (size_t)n * 784);
        cli_threads_end(&m->pick, (cli_seconds() - t0) / n);
        arena_pop_to(arena, inner);
    }
    arena_pop_to(arena, mark);
}

void unet_model_vjp(UnetModel *m, const float *x, int N, float t, const float *z, float *out, float *jtz, Arena *arena) {
    size_t nd = (size_t)N * 784, mark = arena_pos(arena);
    float *tt = arena_push_no_zero(arena, sizeof(float) * N);
    for (int i = 0; i < N; i++) tt[i] = t;
    memset(jtz, 0, sizeof(float) * nd);
    AgTape tape = ag_tape(arena, UNET_MAX_NODES + 4);
    AgNode *in = ag_leaf(&tape, (float *)x, jtz, 4, (int[]){ N, 1, 28, 28 });   /* x is read only: its gradient goes to jtz */
    AgNode *o = unet_forward_node(&tape, &m->params, &m->unet, in, tt, N);
    memcpy(out, o->val.data, sizeof(float) * nd);
    ag_backward(&tape, ag_sum(&tape, ag_mul(&tape, o, ag_input(&tape, tensor_wrap((float *)z, 4, (int[]){ N, 1, 28, 28 })))));
    arena_pop_to(arena, mark);   /* the weights' gradients, accumulated in m->params.grad as a side effect, are not used */
}
