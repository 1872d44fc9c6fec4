/* nn.h: parameter blocks and the small networks built from them (Linear, MLP),
 * plus the sinusoidal time embedding that conditions a denoiser on t.
 *
 *   Params p;  nn_params_init(&p);
 *   Mlp net;   nn_mlp_declare(&p, &net, "eps", 4, (int[]){ 2 + 16, 128, 128, 2 }, NN_SILU);
 *   nn_params_alloc(&p, &rng);                  one block of values, one of grads, initialised
 *   ...per step: AgTape tape = ag_tape(&arena, 64);
 *   AgNode *y = nn_mlp_forward(&tape, &p, &net, ag_input(&tape, x));
 *   nn_params_zero_grad(&p);  ag_backward(&tape, loss);   gradients now in p.grad
 *   optim_adam_step(&adam, p.data, p.grad);     (optim.h) one loop over the whole block
 *   nn_params_free(&p);
 *
 * Declare, then allocate: nn_*_declare only records names, shapes and how to
 * initialise (no memory for values yet); nn_params_alloc then carves every
 * entry out of one contiguous block `data` (and a same-sized `grad`), so
 * zero_grad is a memset, Adam is one loop and a checkpoint is one write.
 * Entry names follow PyTorch ("eps.0.weight", "eps.0.bias") so checkpoints
 * open naturally in Python tooling. A checkpoint writer iterates
 *   for (int i = 0; i < p.n; i++) { p.entry[i].name, .ndim, .shape, nn_params_data(&p, i) }
 *
 * Ownership: Params owns its entry table and both blocks (freed by
 * nn_params_free). Linear and Mlp only hold indices into a Params.
 * Errors: bad shapes, declaring after alloc, unknown indices are CHECKs.
 */
#ifndef NN_H
#define NN_H

#include <stddef.h>
#include "autograd.h"
#include "io.h"
#include "rng.h"

/* ---- parameter block ------------------------------------------------------ */

enum { NN_INIT_ZERO, NN_INIT_ONE, NN_INIT_UNIFORM };
enum { NN_NAME_MAX = 64 };

typedef struct {
    char   name[NN_NAME_MAX];   /* e.g. "eps.0.weight" */
    int    ndim, shape[4];
    size_t offset, numel;       /* where the entry lives in data/grad, and its size */
    int    init_kind;           /* NN_INIT_ZERO / NN_INIT_ONE / NN_INIT_UNIFORM */
    int    fan_in;              /* NN_INIT_UNIFORM draws U(-1/sqrt(fan_in), 1/sqrt(fan_in)) */
} ParamEntry;

typedef struct {
    ParamEntry *entry;          /* (n,) in declaration order */
    int         n, cap;
    size_t      numel;          /* total floats of all entries */
    float      *data;           /* (numel,) values, NULL until nn_params_alloc */
    float      *grad;           /* (numel,) gradients, same layout */
} Params;

/* An empty block (no entries, no memory). */
void   nn_params_init(Params *p);
/* Records an entry (name, shape, init); returns its index. fan_in defaults to numel/shape[0]
 * (the "in" of a (out, in, ...) weight) or, for 1D entries, shape[0]. Only before alloc. */
int    nn_params_declare(Params *p, const char *name, int ndim, const int *shape, int init_kind);
/* Overrides an entry's fan_in (a bias takes its layer's: PyTorch's Linear does so). */
void   nn_params_set_fan_in(Params *p, int idx, int fan_in);
/* Allocates data and grad once (grad zeroed) and initialises every entry by its kind. */
void   nn_params_alloc(Params *p, Rng *rng);
/* Frees the blocks and the entry table; p is empty again. */
void   nn_params_free(Params *p);
/* grad = 0 (a memset over the block). */
void   nn_params_zero_grad(Params *p);
/* Number of floats in the block. */
size_t nn_params_count(const Params *p);
/* Pointer to entry idx's values inside data. */
float *nn_params_data(Params *p, int idx);
/* Index of the entry with this name, or -1. */
int    nn_params_find(const Params *p, const char *name);
/* An autograd leaf over entry idx: val and grad point into the block. */
AgNode *nn_params_leaf(AgTape *t, Params *p, int idx);

/* A checkpoint of k blocks laid out like p's values (the weights, and e.g. their EMA and Adam's moments),
 * as safetensors tensors named "<prefix[b]>.<entry name>" ("model.up1.conv1.weight", "ema.up1...").
 * nn_params_save writes the file atomically with the metadata (a JSON object of strings, or NULL);
 * nn_params_load fills the blocks from the file, checking every name and shape. Return 0, or nonzero after a message. */
int     nn_params_save(const Params *p, const char *path, float *const *block, const char *const *prefix, int k,
                       const char *metadata_json) MUST_USE;
int     nn_params_load(const Params *p, const char *path, float *const *block, const char *const *prefix, int k) MUST_USE;
/* nn_params_load from a file already open (io_safetensors_open: read and parsed once, metadata read from it too). */
int     nn_params_read(const Params *p, const IoSafetensors *st, float *const *block, const char *const *prefix, int k) MUST_USE;

/* ---- layers ----------------------------------------------------------------- */

enum { NN_RELU, NN_SILU, NN_GELU, NN_TANH };
enum { NN_MLP_MAX_LAYERS = 16 };

typedef struct { int W, b, in, out; } Linear;   /* indices of W (out,in) and b (out) */

typedef struct {
    Linear layer[NN_MLP_MAX_LAYERS];
    int    n_layers;
    int    act;                  /* NN_RELU / NN_SILU / NN_GELU / NN_TANH between layers */
} Mlp;

/* Declares "<name>.weight" (out,in) and "<name>.bias" (out), both U(-1/sqrt(in), 1/sqrt(in)) as torch.nn.Linear. */
void    nn_linear_declare(Params *p, Linear *l, const char *name, int in, int out);
/* y = x W^T + b: x (N,in) -> (N,out). */
AgNode *nn_linear_forward(AgTape *t, Params *p, const Linear *l, AgNode *x);
/* Layers widths[0]->widths[1]->...->widths[n-1] (n = n_layers_plus_1), named "<name>.<i>". */
void    nn_mlp_declare(Params *p, Mlp *m, const char *name, int n_layers_plus_1, const int *widths, int act);
/* act(linear) for every layer but the last, which stays linear: x (N,widths[0]) -> (N,widths[n-1]). */
AgNode *nn_mlp_forward(AgTape *t, Params *p, const Mlp *m, AgNode *x);
/* The activation by its enum. */
AgNode *nn_act(AgTape *t, int act, AgNode *x);

/* ---- time embedding ----------------------------------------------------------- */

/* Sinusoidal embedding (Vaswani et al. 2017; DDPM's time input), half = dim/2, for i < half:
 *   out[n, i] = sin(t[n] f_i),  out[n, half + i] = cos(t[n] f_i),  f_i = max_period^(-i/half).
 * Writes (N, dim); dim even. An input to the network, not differentiated. */
void    nn_time_embedding(float *out, const float *t, int N, int dim, float max_period);

#endif
