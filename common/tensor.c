#include <stdint.h>
#include <string.h>
#include "tensor.h"

void arena_init(Arena *a, size_t bytes) {
    a->base = malloc(bytes);
    CHECK(a->base != NULL, "cannot allocate an arena of %zu bytes", bytes);
    a->cap = bytes;
    a->pos = 0;
    a->peak = 0;
}

void arena_free(Arena *a) {
    free(a->base);
    a->base = NULL;
    a->cap = a->pos = 0;
}

void *arena_push_no_zero(Arena *a, size_t bytes) {
    size_t start = (a->pos + 31) & ~(size_t)31;   /* 32-byte alignment for AVX loads */
    CHECK(start + bytes <= a->cap, "arena full: need %zu bytes, %zu of its %zu bytes are left",
          bytes, a->cap > start ? a->cap - start : 0, a->cap);
    a->pos = start + bytes;
    if (a->pos > a->peak) a->peak = a->pos;
    return a->base + start;
}

void *arena_push(Arena *a, size_t bytes) {
    void *p = arena_push_no_zero(a, bytes);
    memset(p, 0, bytes);
    return p;
}

Arena arena_sub(Arena *parent, size_t bytes) {
    Arena a = { arena_push_no_zero(parent, bytes), bytes, 0, 0 };
    return a;
}

size_t arena_pos(const Arena *a) { return a->pos; }

void arena_pop_to(Arena *a, size_t pos) {
    CHECK(pos <= a->pos, "arena_pop_to(%zu) beyond current position %zu", pos, a->pos);
    a->pos = pos;
}

Tensor tensor_wrap(float *data, int ndim, const int *shape) {
    CHECK(ndim >= 1 && ndim <= 4, "ndim = %d, expected 1..4", ndim);
    Tensor t = {0};
    t.data = data;
    t.ndim = ndim;
    t.numel = 1;
    for (int i = 0; i < ndim; i++) {
        CHECK(shape[i] >= 1, "shape[%d] = %d, expected >= 1", i, shape[i]);
        t.shape[i] = shape[i];
        t.numel *= (size_t)shape[i];
    }
    return t;
}

Tensor tensor_new(Arena *a, int ndim, const int *shape) {
    Tensor t = tensor_wrap(NULL, ndim, shape);
    t.data = arena_push(a, t.numel * sizeof(float));
    return t;
}

int tensor_same_shape(const Tensor *a, const Tensor *b) {
    if (a->ndim != b->ndim) return 0;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i]) return 0;
    return 1;
}

int tensor_rows(const Tensor *t) { return t->shape[0]; }
int tensor_cols(const Tensor *t) { return (int)(t->numel / (size_t)t->shape[0]); }
