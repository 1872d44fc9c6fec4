/* nn.c: the parameter block, Linear, Mlp and the sinusoidal time embedding. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "io.h"
#include "nn.h"

/* ---- parameter block ------------------------------------------------------ */

void nn_params_init(Params *p) { memset(p, 0, sizeof *p); }

int nn_params_declare(Params *p, const char *name, int ndim, const int *shape, int init_kind) {
    CHECK(p->data == NULL, "nn_params_declare(\"%s\") after nn_params_alloc", name);
    CHECK(ndim >= 1 && ndim <= 4, "%s: ndim = %d, expected 1..4", name, ndim);
    CHECK(init_kind >= NN_INIT_ZERO && init_kind <= NN_INIT_UNIFORM, "%s: init_kind = %d", name, init_kind);
    CHECK(strlen(name) < NN_NAME_MAX, "parameter name \"%s\" longer than %d", name, NN_NAME_MAX - 1);
    CHECK(nn_params_find(p, name) < 0, "parameter \"%s\" declared twice", name);
    if (p->n == p->cap) {   /* declaration time only, never in a training loop */
        p->cap = p->cap ? 2 * p->cap : 16;
        p->entry = realloc(p->entry, sizeof(ParamEntry) * (size_t)p->cap);
        CHECK(p->entry != NULL, "cannot grow the parameter table to %d entries", p->cap);
    }
    ParamEntry *e = &p->entry[p->n];
    memset(e, 0, sizeof *e);
    snprintf(e->name, NN_NAME_MAX, "%s", name);
    e->ndim = ndim;
    e->numel = 1;
    for (int i = 0; i < ndim; i++) {
        CHECK(shape[i] >= 1, "%s: shape[%d] = %d, expected >= 1", name, i, shape[i]);
        e->shape[i] = shape[i];
        e->numel *= (size_t)shape[i];
    }
    e->offset = p->numel;
    e->init_kind = init_kind;
    e->fan_in = ndim >= 2 ? (int)(e->numel / (size_t)shape[0]) : shape[0];
    p->numel += e->numel;
    return p->n++;
}

void nn_params_set_fan_in(Params *p, int idx, int fan_in) {
    CHECK(idx >= 0 && idx < p->n, "parameter index %d outside [0, %d)", idx, p->n);
    CHECK(fan_in >= 1, "fan_in = %d, expected >= 1", fan_in);
    p->entry[idx].fan_in = fan_in;
}

/* NN_INIT_UNIFORM: U(-k, k), k = 1/sqrt(fan_in), PyTorch's default for nn.Linear's weight
 * and bias (kaiming_uniform with a = sqrt(5) reduces to this bound). Keeps each pre-activation's
 * variance ~ 1/3 of its input's, whatever the width. */
static void init_entry(float *x, const ParamEntry *e, Rng *rng) {
    float k = 1.0f / sqrtf((float)e->fan_in);
    for (size_t i = 0; i < e->numel; i++) {
        if (e->init_kind == NN_INIT_ZERO) x[i] = 0.0f;
        else if (e->init_kind == NN_INIT_ONE) x[i] = 1.0f;
        else x[i] = (float)((2.0 * rng_uniform(rng) - 1.0) * k);
    }
}

void nn_params_alloc(Params *p, Rng *rng) {
    CHECK(p->data == NULL, "nn_params_alloc called twice");
    CHECK(p->numel > 0, "nn_params_alloc: no parameters declared");
    p->data = malloc(sizeof(float) * p->numel);
    p->grad = calloc(p->numel, sizeof(float));
    CHECK(p->data && p->grad, "cannot allocate %zu parameters", p->numel);
    for (int i = 0; i < p->n; i++) init_entry(p->data + p->entry[i].offset, &p->entry[i], rng);
}

void nn_params_free(Params *p) {
    free(p->data);
    free(p->grad);
    free(p->entry);
    nn_params_init(p);
}

void nn_params_zero_grad(Params *p) { memset(p->grad, 0, sizeof(float) * p->numel); }

size_t nn_params_count(const Params *p) { return p->numel; }

float *nn_params_data(Params *p, int idx) {
    CHECK(idx >= 0 && idx < p->n, "parameter index %d outside [0, %d)", idx, p->n);
    CHECK(p->data != NULL, "nn_params_data before nn_params_alloc");
    return p->data + p->entry[idx].offset;
}

int nn_params_find(const Params *p, const char *name) {
    for (int i = 0; i < p->n; i++)
        if (strcmp(p->entry[i].name, name) == 0) return i;
    return -1;
}

AgNode *nn_params_leaf(AgTape *t, Params *p, int idx) {
    CHECK(idx >= 0 && idx < p->n, "parameter index %d outside [0, %d)", idx, p->n);
    CHECK(p->data != NULL, "nn_params_leaf before nn_params_alloc");
    const ParamEntry *e = &p->entry[idx];
    return ag_leaf(t, p->data + e->offset, p->grad + e->offset, e->ndim, e->shape);
}

/* ---- layers ----------------------------------------------------------------- */

void nn_linear_declare(Params *p, Linear *l, const char *name, int in, int out) {
    char buf[NN_NAME_MAX + 16];
    snprintf(buf, sizeof buf, "%s.weight", name);
    l->W = nn_params_declare(p, buf, 2, (int[]){ out, in }, NN_INIT_UNIFORM);
    snprintf(buf, sizeof buf, "%s.bias", name);
    l->b = nn_params_declare(p, buf, 1, (int[]){ out }, NN_INIT_UNIFORM);
    nn_params_set_fan_in(p, l->b, in);   /* the bias bound is the weight's, 1/sqrt(in) */
    l->in = in;
    l->out = out;
}

AgNode *nn_linear_forward(AgTape *t, Params *p, const Linear *l, AgNode *x) {
    return ag_linear(t, x, nn_params_leaf(t, p, l->W), nn_params_leaf(t, p, l->b));
}

void nn_mlp_declare(Params *p, Mlp *m, const char *name, int n_layers_plus_1, const int *widths, int act) {
    int L = n_layers_plus_1 - 1;
    CHECK(L >= 1 && L <= NN_MLP_MAX_LAYERS, "%s: %d layers, expected 1..%d", name, L, NN_MLP_MAX_LAYERS);
    CHECK(act >= NN_RELU && act <= NN_TANH, "%s: activation %d", name, act);
    m->n_layers = L;
    m->act = act;
    for (int i = 0; i < L; i++) {
        char buf[NN_NAME_MAX];
        snprintf(buf, sizeof buf, "%s.%d", name, i);
        nn_linear_declare(p, &m->layer[i], buf, widths[i], widths[i + 1]);
    }
}

AgNode *nn_act(AgTape *t, int act, AgNode *x) {
    switch (act) {
    case NN_RELU: return ag_relu(t, x);
    case NN_SILU: return ag_silu(t, x);
    case NN_GELU: return ag_gelu(t, x);
    case NN_TANH: return ag_tanh(t, x);
    }
    CHECK(0, "unknown activation %d", act);
    return NULL;
}

AgNode *nn_mlp_forward(AgTape *t, Params *p, const Mlp *m, AgNode *x) {
    for (int i = 0; i < m->n_layers; i++) {
        x = nn_linear_forward(t, p, &m->layer[i], x);
        if (i + 1 < m->n_layers) x = nn_act(t, m->act, x);   /* none after the last layer */
    }
    return x;
}

/* ---- time embedding ----------------------------------------------------------- */

/* out[n,i] = sin(t f_i), out[n,half+i] = cos(t f_i), f_i = max_period^(-i/half): frequencies
 * spaced geometrically from 1 down to ~1/max_period, so both t = 1 and t = 1000 are resolved.
 * Computed in double: t f_i reaches 1000 rad, where float's sin would lose ~1e-4. */
void nn_time_embedding(float *out, const float *t, int N, int dim, float max_period) {
    CHECK(dim >= 2 && dim % 2 == 0, "time embedding dim = %d, expected even >= 2", dim);
    CHECK(max_period > 1.0f, "max_period = %g, expected > 1", max_period);
    int half = dim / 2;
    for (int i = 0; i < half; i++) {   /* frequency by frequency: one exp per frequency, not per row */
        double f = exp(-log((double)max_period) * i / half);
        for (int n = 0; n < N; n++) {
            out[(size_t)n * dim + i] = (float)sin(t[n] * f);
            out[(size_t)n * dim + half + i] = (float)cos(t[n] * f);
        }
    }
}

/* ---- checkpoints ------------------------------------------------------------------- */

/* The k blocks as safetensors tensors "<prefix[b]>.<entry name>" over the blocks' memory; names are stored in
 * *names_out (free both). */
static IoTensor *checkpoint_tensors(const Params *p, float *const *block, const char *const *prefix, int k,
                                    char (**names_out)[NN_NAME_MAX + 16]) {
    int n = p->n;
    IoTensor *t = calloc((size_t)k * n, sizeof(IoTensor));
    char (*names)[NN_NAME_MAX + 16] = calloc((size_t)k * n, sizeof *names);
    CHECK(t && names, "out of memory for a checkpoint of %d tensors", k * n);
    for (int b = 0; b < k; b++)
        for (int i = 0; i < n; i++) {
            const ParamEntry *e = &p->entry[i];
            IoTensor *ti = &t[b * n + i];
            snprintf(names[b * n + i], sizeof names[0], "%s.%s", prefix[b], e->name);
            ti->name = names[b * n + i];
            ti->ndim = e->ndim;
            memcpy(ti->shape, e->shape, sizeof e->shape);
            ti->data = block[b] + e->offset;
        }
    *names_out = names;
    return t;
}

int nn_params_save(const Params *p, const char *path, float *const *block, const char *const *prefix, int k,
                   const char *metadata_json) {
    char (*names)[NN_NAME_MAX + 16];
    IoTensor *t = checkpoint_tensors(p, block, prefix, k, &names);
    int rc = io_safetensors_write(path, t, k * p->n, metadata_json);
    free(names);
    free(t);
    return rc;
}

int nn_params_read(const Params *p, const IoSafetensors *st, float *const *block, const char *const *prefix, int k) {
    char (*names)[NN_NAME_MAX + 16];
    IoTensor *t = checkpoint_tensors(p, block, prefix, k, &names);
    int rc = io_safetensors_tensors(st, t, k * p->n);
    free(names);
    free(t);
    return rc;
}

int nn_params_load(const Params *p, const char *path, float *const *block, const char *const *prefix, int k) {
    IoSafetensors st;
    if (io_safetensors_open(&st, path)) return 1;
    int rc = nn_params_read(p, &st, block, prefix, k);
    io_safetensors_close(&st);
    return rc;
}
