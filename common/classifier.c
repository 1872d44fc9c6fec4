#include <math.h>
#include <string.h>
#include "classifier.h"

/* ---- the loss ------------------------------------------------------------------ */

/* p = softmax(z) over K logits, computed around the max (no overflow for large logits); returns logsumexp(z). */
static double softmax_row(const float *z, int K, float *p) {
    float zmax = z[0];
    for (int k = 1; k < K; k++) zmax = z[k] > zmax ? z[k] : zmax;
    double sum = 0;
    for (int k = 0; k < K; k++) sum += exp((double)z[k] - zmax);
    for (int k = 0; k < K; k++) p[k] = (float)(exp((double)z[k] - zmax) / sum);
    return zmax + log(sum);
}

int classifier_argmax(const float *p) {
    int best = 0;
    for (int k = 1; k < CLASSIFIER_CLASSES; k++) best = p[k] > p[best] ? k : best;
    return best;
}

/* saved = softmax(z) (N, K), then the labels as floats (N). */
static void cross_entropy_backward(AgNode *y) {
    AgNode *z = y->in[0];
    int N = z->val.shape[0], K = z->val.shape[1];
    const float *p = y->saved.data, *lab = p + (size_t)N * K;
    float g = y->grad.data[0] / (float)N;
    for (int n = 0; n < N; n++)
        for (int k = 0; k < K; k++)
            z->grad.data[(size_t)n * K + k] += g * (p[(size_t)n * K + k] - (k == (int)lab[n] ? 1.0f : 0.0f));
}
AgNode *ag_cross_entropy(AgTape *t, AgNode *logits, const unsigned char *labels) {
    CHECK(logits->val.ndim == 2, "ag_cross_entropy: logits must be (N, K), got ndim %d", logits->val.ndim);
    int N = logits->val.shape[0], K = logits->val.shape[1];
    AgNode *y = ag_node_new(t, 1, (int[]){ 1 }, cross_entropy_backward, 1, logits, NULL, NULL);
    y->saved = tensor_new(t->arena, 1, (int[]){ N * K + N });
    float *p = y->saved.data;
    double loss = 0;
    for (int n = 0; n < N; n++) {
        const float *z = logits->val.data + (size_t)n * K;
        CHECK(labels[n] < K, "ag_cross_entropy: label %d of row %d is not below K = %d", labels[n], n, K);
        p[(size_t)N * K + n] = (float)labels[n];
        loss += softmax_row(z, K, p + (size_t)n * K) - z[labels[n]];
    }
    y->val.data[0] = (float)(loss / N);
    return y;
}

/* ---- the network ----------------------------------------------------------------- */

static int conv_declare(Params *p, const char *name, int co, int ci, int *b) {
    char nw[NN_NAME_MAX], nb[NN_NAME_MAX];
    snprintf(nw, sizeof nw, "%s.weight", name);
    snprintf(nb, sizeof nb, "%s.bias", name);
    int w = nn_params_declare(p, nw, 4, (int[]){ co, ci, 3, 3 }, NN_INIT_UNIFORM);
    *b = nn_params_declare(p, nb, 1, (int[]){ co }, NN_INIT_UNIFORM);
    nn_params_set_fan_in(p, *b, ci * 9);
    return w;
}

void classifier_init(Classifier *c, Rng *rng) {
    memset(c, 0, sizeof *c);
    nn_params_init(&c->params);
    c->c1w = conv_declare(&c->params, "conv1", 32, 1, &c->c1b);
    c->c2w = conv_declare(&c->params, "conv2", 64, 32, &c->c2b);
    c->c3w = conv_declare(&c->params, "conv3", 64, 64, &c->c3b);
    nn_linear_declare(&c->params, &c->fc1, "fc1", 64 * 4 * 4, CLASSIFIER_FEAT);
    nn_linear_declare(&c->params, &c->fc2, "fc2", CLASSIFIER_FEAT, CLASSIFIER_CLASSES);
    nn_params_alloc(&c->params, rng);
}

void classifier_free(Classifier *c) { nn_params_free(&c->params); }

static AgNode *conv(AgTape *t, Classifier *c, AgNode *x, int w, int b, int stride) {
    return ag_conv2d(t, x, nn_params_leaf(t, &c->params, w), nn_params_leaf(t, &c->params, b), stride, 1);
}

AgNode *classifier_forward(AgTape *t, Classifier *c, const float *x, int N, AgNode **features) {
    Tensor in = tensor_new(t->arena, 4, (int[]){ N, 1, 28, 28 });
    for (size_t k = 0; k < in.numel; k++) in.data[k] = 2.0f * x[k] - 1.0f;
    AgNode *h = ag_avgpool2x(t, ag_relu(t, conv(t, c, ag_input(t, in), c->c1w, c->c1b, 1)));   /* (N, 32, 14, 14) */
    h = ag_avgpool2x(t, ag_relu(t, conv(t, c, h, c->c2w, c->c2b, 1)));                        /* (N, 64, 7, 7) */
    h = ag_relu(t, conv(t, c, h, c->c3w, c->c3b, 2));                                          /* (N, 64, 4, 4) */
    h = ag_reshape(t, h, 2, (int[]){ N, 64 * 4 * 4 });
    AgNode *f = ag_relu(t, nn_linear_forward(t, &c->params, &c->fc1, h));                     /* (N, 128) */
    if (features) *features = f;
    return nn_linear_forward(t, &c->params, &c->fc2, f);
}

void classifier_eval(Classifier *c, const float *x, int n, float *feat, float *probs, Arena *arena) {
    enum { B = 250 };
    for (int i0 = 0; i0 < n; i0 += B) {
        int nb = n - i0 < B ? n - i0 : B;
        size_t mark = arena_pos(arena);
        AgTape t = ag_tape_no_grad(arena, CLASSIFIER_MAX_NODES);
        AgNode *f, *z = classifier_forward(&t, c, x + (size_t)i0 * 784, nb, &f);
        if (feat) memcpy(feat + (size_t)i0 * CLASSIFIER_FEAT, f->val.data, sizeof(float) * nb * CLASSIFIER_FEAT);
        for (int i = 0; probs && i < nb; i++)
            softmax_row(z->val.data + (size_t)i * CLASSIFIER_CLASSES, CLASSIFIER_CLASSES, probs + (size_t)(i0 + i) * CLASSIFIER_CLASSES);
        arena_pop_to(arena, mark);
    }
}

float classifier_loss_grad(Classifier *c, const float *x, const unsigned char *labels, int B, Arena *arena) {
    size_t mark = arena_pos(arena);
    AgTape t = ag_tape(arena, CLASSIFIER_MAX_NODES);
    AgNode *loss = ag_cross_entropy(&t, classifier_forward(&t, c, x, B, NULL), labels);
    nn_params_zero_grad(&c->params);
    ag_backward(&t, loss);
    float l = loss->val.data[0];
    arena_pop_to(arena, mark);
    return l;
}

/* ---- files ------------------------------------------------------------------------ */

static const char *const PREFIX[1] = { "clf" };

int classifier_load(Classifier *c, const char *path) { return nn_params_load(&c->params, path, (float *const[1]){ c->params.data }, PREFIX, 1); }
int classifier_save(Classifier *c, const char *path, const char *metadata_json) {
    return nn_params_save(&c->params, path, (float *const[1]){ c->params.data }, PREFIX, 1, metadata_json);
}

unsigned long long classifier_checksum(const Classifier *c) {
    const unsigned char *b = (const unsigned char *)c->params.data;
    unsigned long long h = 1469598103934665603ull;   /* FNV-1a, 64 bit */
    for (size_t i = 0; i < c->params.numel * sizeof(float); i++) h = (h ^ b[i]) * 1099511628211ull;
    return h;
}
