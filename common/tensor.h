/* tensor.h: plain row-major float tensors and the arena they live in.
 *
 *   Arena a;  arena_init(&a, 64 << 20);          one malloc for the program
 *   size_t mark = arena_pos(&a);                 before a training step
 *   Tensor x = tensor_new(&a, 2, (int[]){N, D}); zeroed (N, D) tensor from the arena
 *   ...                                          forward, backward, update
 *   arena_pop_to(&a, mark);                      every temporary of the step is gone
 *   arena_free(&a);                              at the end of main
 *
 * Ownership: a Tensor never owns its data. Data comes from an arena (step
 * lifetime) or from a parameter block (model lifetime, see nn.h). There are no
 * views and no strides: a Tensor is contiguous, shape[0] is the slowest axis.
 * A push that does not fit is a programmer error (CHECK) that names the bytes
 * needed and available.
 */
#ifndef TENSOR_H
#define TENSOR_H

#include <stddef.h>
#include "base.h"

typedef struct {
    char  *base;
    size_t cap, pos;
    size_t peak;       /* largest pos ever reached: tells how big the arena must be */
} Arena;

void   arena_init(Arena *a, size_t bytes);
void   arena_free(Arena *a);
void  *arena_push(Arena *a, size_t bytes);          /* zeroed, 32-byte aligned */
void  *arena_push_no_zero(Arena *a, size_t bytes);  /* for buffers overwritten anyway */
/* An arena inside `bytes` of the parent's (one thread's temporaries): gone when the parent pops past it,
 * never freed itself. */
Arena  arena_sub(Arena *parent, size_t bytes);
size_t arena_pos(const Arena *a);
void   arena_pop_to(Arena *a, size_t pos);

typedef struct {
    float *data;
    int    ndim;
    int    shape[4];
    size_t numel;
} Tensor;

/* A zeroed tensor of the given shape, from the arena. */
Tensor tensor_new(Arena *a, int ndim, const int *shape);
/* A tensor header over existing memory (a parameter, a data set). */
Tensor tensor_wrap(float *data, int ndim, const int *shape);
/* 1 if both tensors have the same ndim and shape. */
int    tensor_same_shape(const Tensor *a, const Tensor *b);
/* Rows and columns of a tensor seen as a matrix: rows = shape[0], cols = numel / rows. */
int    tensor_rows(const Tensor *t);
int    tensor_cols(const Tensor *t);

#endif
