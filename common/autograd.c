/* autograd.c: the tape and its ops. Each op's *_backward sits directly above it
 * and accumulates into its inputs' grads with += (an input may feed several ops).
 * Reductions accumulate in double so a large batch does not lose small terms. */
#include <math.h>
#include <string.h>
#include <time.h>
#include "autograd.h"
#include "gemm.h"
#include "vmath.h"

/* ---- tape and leaves ----------------------------------------------------- */

AgTape ag_tape(Arena *a, int max_nodes) {
    CHECK(max_nodes > 0, "max_nodes = %d, expected > 0", max_nodes);
    AgTape t = { a, arena_push(a, sizeof(AgNode) * (size_t)max_nodes), 0, max_nodes, 0, NULL };
    return t;
}

AgTape ag_tape_no_grad(Arena *a, int max_nodes) {
    AgTape t = ag_tape(a, max_nodes);
    t.no_grad = 1;
    return t;
}

/* y's gradient buffer, shaped like its value, or none on an inference tape: zeroed when small; a larger one (the
 * networks' activations) is left fresh, for its first writer to overwrite or for ag_backward to zero (see
 * autograd.h). */
static void grad_for(AgTape *t, AgNode *y, int ndim, const int *shape) {
    y->grad = tensor_wrap(NULL, ndim, shape);
    if (t->no_grad) return;
    if (y->grad.numel < AG_FRESH_MIN) { y->grad = tensor_new(t->arena, ndim, shape); return; }
    y->grad.data = arena_push_no_zero(t->arena, sizeof(float) * y->grad.numel);
    y->grad_fresh = 1;
}

/* A fresh gradient zeroed by both threads, a chunk each. */
static void zero_fresh(AgNode *x) {
    enum { CHUNK = 1 << 14 };
    size_t n = x->grad.numel;
    long n_chunks = (long)((n + CHUNK - 1) / CHUNK);
    #pragma omp parallel for schedule(static) if (n >= AG_PARALLEL_MIN)
    for (long c = 0; c < n_chunks; c++) {
        size_t lo = (size_t)c * CHUNK;
        memset(x->grad.data + lo, 0, sizeof(float) * (n - lo < CHUNK ? n - lo : CHUNK));
    }
    x->grad_fresh = 0;
}

int ag_take_fresh(AgNode *x) {
    int fresh = x->grad_fresh;
    x->grad_fresh = 0;
    return fresh;
}

/* Seconds on a monotonic clock, for the tape's optional profile. */
static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static AgNode *node_push(AgTape *t) {
    CHECK(t->n < t->cap, "tape full: %d nodes; hint: pass a larger max_nodes to ag_tape", t->cap);
    if (t->profile) t->profile[2 * t->n] = now_seconds();
    AgNode *y = &t->nodes[t->n++];
    memset(y, 0, sizeof *y);
    return y;
}

static AgNode *node_new(AgTape *t, int ndim, const int *shape, void (*backward)(AgNode *), int n_in, AgNode *a,
                       AgNode *b, AgNode *c, int zero_val) {
    AgNode *y = node_push(t);
    y->val = tensor_wrap(NULL, ndim, shape);
    y->val.data = zero_val ? arena_push(t->arena, sizeof(float) * y->val.numel)
                           : arena_push_no_zero(t->arena, sizeof(float) * y->val.numel);
    grad_for(t, y, ndim, shape);
    y->backward = backward;
    y->n_in = n_in;
    AgNode *ins[3] = { a, b, c };
    for (int k = 0; k < n_in; k++) {
        y->in[k] = ins[k];
        y->needs_grad |= ins[k]->needs_grad;
    }
    return y;
}

AgNode *ag_node_new(AgTape *t, int ndim, const int *shape, void (*backward)(AgNode *),
                    int n_in, AgNode *a, AgNode *b, AgNode *c) {
    return node_new(t, ndim, shape, backward, n_in, a, b, c, 1);
}

AgNode *ag_node_new_overwritten(AgTape *t, int ndim, const int *shape, void (*backward)(AgNode *),
                                int n_in, AgNode *a, AgNode *b, AgNode *c) {
    return node_new(t, ndim, shape, backward, n_in, a, b, c, 0);
}

/* A node shaped like x, with `saved` of the same shape when the backward needs it; the op writes every
 * element of both (elementwise ops), so neither is zeroed. */
static AgNode *node_like(AgTape *t, AgNode *x, void (*backward)(AgNode *), int with_saved) {
    AgNode *y = ag_node_new_overwritten(t, x->val.ndim, x->val.shape, backward, 1, x, NULL, NULL);
    if (with_saved) {   /* written by the op's forward, like val */
        y->saved = tensor_wrap(NULL, x->val.ndim, x->val.shape);
        y->saved.data = arena_push_no_zero(t->arena, sizeof(float) * y->saved.numel);
    }
    return y;
}

static const int SCALAR_SHAPE[1] = { 1 };

AgNode *ag_input(AgTape *t, Tensor x) {
    AgNode *y = node_push(t);
    y->val = x;
    grad_for(t, y, x.ndim, x.shape);
    return y;
}

AgNode *ag_leaf(AgTape *t, float *val, float *grad, int ndim, const int *shape) {
    CHECK(val != NULL && grad != NULL, "ag_leaf needs both val and grad memory");
    AgNode *y = node_push(t);
    y->val = tensor_wrap(val, ndim, shape);
    y->grad = tensor_wrap(grad, ndim, shape);
    y->needs_grad = 1;
    return y;
}

void ag_backward(AgTape *t, AgNode *loss) {
    CHECK(!t->no_grad, "ag_backward on an inference tape (ag_tape_no_grad)");
    CHECK(loss->val.numel == 1, "loss has %zu elements, expected 1", loss->val.numel);
    long idx = loss - t->nodes;
    CHECK(idx >= 0 && idx < t->n, "loss is not a node of this tape");
    loss->grad.data[0] = 1.0f;                         /* d loss / d loss */
    for (long i = idx; i >= 0; i--) {                  /* creation order reversed = topological */
        AgNode *y = &t->nodes[i];
        if (!(y->backward && y->needs_grad)) continue;
        double t0 = t->profile ? now_seconds() : 0.0;
        if (y->grad_fresh) zero_fresh(y);              /* no consumer wrote it: its gradient is 0 */
        for (int k = 0; k < y->n_in; k++) {            /* inputs this op adds into: zero a fresh one first */
            AgNode *x = y->in[k];
            int shared = 0;                            /* in two slots, the second write must add to the first */
            for (int j = 0; j < y->n_in; j++) shared |= j != k && y->in[j] == x;
            if (x->grad_fresh && (shared || !(y->overwrites >> k & 1u))) zero_fresh(x);
        }
        y->backward(y);
        if (t->profile) t->profile[2 * i + 1] = now_seconds() - t0;
    }
    for (long i = 0; i < t->n; i++)                    /* grads no op wrote (inputs of ops that needed none) */
        if (t->nodes[i].grad_fresh) zero_fresh(&t->nodes[i]);
}

static void check_same(const AgNode *a, const AgNode *b, const char *op) {
    CHECK(tensor_same_shape(&a->val, &b->val), "%s: shapes differ (%zu vs %zu elements)", op,
          a->val.numel, b->val.numel);
}

/* ---- elementwise binary and broadcast ------------------------------------ */

/* Elementwise: a large tensor (the U-Net's residual sums) is split over the threads, no effect on the bytes. */
static void add_backward(AgNode *y) {
    float *da = y->in[0]->grad.data, *db = y->in[1]->grad.data;
    #pragma omp parallel for schedule(static) if (y->val.numel >= AG_PARALLEL_MIN)
    for (size_t i = 0; i < y->val.numel; i++) { da[i] += y->grad.data[i]; db[i] += y->grad.data[i]; }
}
AgNode *ag_add(AgTape *t, AgNode *a, AgNode *b) {
    check_same(a, b, "ag_add");
    AgNode *y = ag_node_new_overwritten(t, a->val.ndim, a->val.shape, add_backward, 2, a, b, NULL);
    #pragma omp parallel for schedule(static) if (y->val.numel >= AG_PARALLEL_MIN)
    for (size_t i = 0; i < y->val.numel; i++) y->val.data[i] = a->val.data[i] + b->val.data[i];
    return y;
}

static void sub_backward(AgNode *y) {
    float *da = y->in[0]->grad.data, *db = y->in[1]->grad.data;
    for (size_t i = 0; i < y->val.numel; i++) { da[i] += y->grad.data[i]; db[i] -= y->grad.data[i]; }
}
AgNode *ag_sub(AgTape *t, AgNode *a, AgNode *b) {
    check_same(a, b, "ag_sub");
    AgNode *y = ag_node_new_overwritten(t, a->val.ndim, a->val.shape, sub_backward, 2, a, b, NULL);
    for (size_t i = 0; i < y->val.numel; i++) y->val.data[i] = a->val.data[i] - b->val.data[i];
    return y;
}

/* d(ab)/da = b, d(ab)/db = a. */
static void mul_backward(AgNode *y) {
    const float *a = y->in[0]->val.data, *b = y->in[1]->val.data;
    float *da = y->in[0]->grad.data, *db = y->in[1]->grad.data;
    for (size_t i = 0; i < y->val.numel; i++) { da[i] += y->grad.data[i] * b[i]; db[i] += y->grad.data[i] * a[i]; }
}
AgNode *ag_mul(AgTape *t, AgNode *a, AgNode *b) {
    check_same(a, b, "ag_mul");
    AgNode *y = ag_node_new_overwritten(t, a->val.ndim, a->val.shape, mul_backward, 2, a, b, NULL);
    for (size_t i = 0; i < y->val.numel; i++) y->val.data[i] = a->val.data[i] * b->val.data[i];
    return y;
}

/* y[n,h] = x[n,h] + b[h];  db[h] = sum_n dy[n,h]. */
static void add_row_backward(AgNode *y) {
    int N = tensor_rows(&y->val), H = tensor_cols(&y->val);
    float *dx = y->in[0]->grad.data, *db = y->in[1]->grad.data;
    for (int n = 0; n < N; n++)
        for (int h = 0; h < H; h++) {
            dx[(size_t)n * H + h] += y->grad.data[(size_t)n * H + h];
            db[h] += y->grad.data[(size_t)n * H + h];
        }
}
AgNode *ag_add_row(AgTape *t, AgNode *x, AgNode *b) {
    int N = tensor_rows(&x->val), H = tensor_cols(&x->val);
    CHECK(b->val.numel == (size_t)H, "ag_add_row: bias has %zu elements, x has %d columns", b->val.numel, H);
    AgNode *y = ag_node_new(t, x->val.ndim, x->val.shape, add_row_backward, 2, x, b, NULL);
    for (int n = 0; n < N; n++)
        for (int h = 0; h < H; h++) y->val.data[(size_t)n * H + h] = x->val.data[(size_t)n * H + h] + b->val.data[h];
    return y;
}

static void scale_backward(AgNode *y) {
    float *dx = y->in[0]->grad.data;
    for (size_t i = 0; i < y->val.numel; i++) dx[i] += y->scalar * y->grad.data[i];
}
AgNode *ag_scale(AgTape *t, AgNode *x, float s) {
    AgNode *y = node_like(t, x, scale_backward, 0);
    y->scalar = s;
    for (size_t i = 0; i < y->val.numel; i++) y->val.data[i] = s * x->val.data[i];
    return y;
}

static void add_scalar_backward(AgNode *y) {
    float *dx = y->in[0]->grad.data;
    for (size_t i = 0; i < y->val.numel; i++) dx[i] += y->grad.data[i];
}
AgNode *ag_add_scalar(AgTape *t, AgNode *x, float s) {
    AgNode *y = node_like(t, x, add_scalar_backward, 0);
    y->scalar = s;
    for (size_t i = 0; i < y->val.numel; i++) y->val.data[i] = x->val.data[i] + s;
    return y;
}

/* ---- matrix products ------------------------------------------------------ */

/* C = A B:  dA += dC B^T (M,N)(N,K),  dB += A^T dC (K,M)(M,N). arg.mm = {M, K, N}.
 * A product into a constant (the data batch) is skipped: it is the costliest term of a step. */
static void matmul_backward(AgNode *y) {
    int M = y->arg.mm.M, K = y->arg.mm.K, N = y->arg.mm.N;
    AgNode *A = y->in[0], *B = y->in[1];
    if (A->needs_grad) gemm(A->grad.data, y->grad.data, B->val.data, M, K, N, 0, 1, 1.0f, 1.0f);
    if (B->needs_grad) gemm(B->grad.data, A->val.data, y->grad.data, K, N, M, 1, 0, 1.0f, 1.0f);
}
AgNode *ag_matmul(AgTape *t, AgNode *A, AgNode *B) {
    CHECK(A->val.ndim == 2 && B->val.ndim == 2, "ag_matmul: needs 2D tensors, got ndim %d and %d", A->val.ndim, B->val.ndim);
    int M = A->val.shape[0], K = A->val.shape[1], N = B->val.shape[1];
    CHECK(B->val.shape[0] == K, "ag_matmul: A is (%d,%d) but B is (%d,%d)", M, K, B->val.shape[0], N);
    AgNode *y = ag_node_new_overwritten(t, 2, (int[]){ M, N }, matmul_backward, 2, A, B, NULL);   /* gemm, beta 0 */
    y->arg.mm.M = M; y->arg.mm.K = K; y->arg.mm.N = N;
    gemm(y->val.data, A->val.data, B->val.data, M, N, K, 0, 0, 1.0f, 0.0f);
    return y;
}

/* y = x W^T + b:  dx += dy W (N,out)(out,in),  dW += dy^T x (out,N)(N,in),  db += sum_n dy[n,:].
 * arg.lin = {N, in, out}. */
static void linear_backward(AgNode *y) {
    int N = y->arg.lin.N, I = y->arg.lin.in, O = y->arg.lin.out;
    AgNode *x = y->in[0], *W = y->in[1], *b = y->n_in > 2 ? y->in[2] : NULL;
    if (x->needs_grad) gemm(x->grad.data, y->grad.data, W->val.data, N, I, O, 0, 0, 1.0f, ag_take_fresh(x) ? 0.0f : 1.0f);
    if (W->needs_grad) gemm(W->grad.data, y->grad.data, x->val.data, O, I, N, 1, 0, 1.0f, 1.0f);
    if (!b) return;
    for (int n = 0; n < N; n++)
        for (int o = 0; o < O; o++) b->grad.data[o] += y->grad.data[(size_t)n * O + o];
}
AgNode *ag_linear(AgTape *t, AgNode *x, AgNode *W, AgNode *b) {
    CHECK(x->val.ndim == 2 && W->val.ndim == 2, "ag_linear: x and W must be 2D, got ndim %d and %d", x->val.ndim, W->val.ndim);
    int N = x->val.shape[0], I = x->val.shape[1], O = W->val.shape[0];
    CHECK(W->val.shape[1] == I, "ag_linear: x is (%d,%d) but W is (%d,%d), expected (out,%d)", N, I, O, W->val.shape[1], I);
    CHECK(!b || b->val.numel == (size_t)O, "ag_linear: bias has %zu elements, expected %d", b ? b->val.numel : 0, O);
    AgNode *y = ag_node_new_overwritten(t, 2, (int[]){ N, O }, linear_backward, b ? 3 : 2, x, W, b);   /* gemm, beta 0 */
    y->overwrites = 1u;   /* dx by gemm with beta 0 when x's grad is fresh */
    y->arg.lin.N = N; y->arg.lin.in = I; y->arg.lin.out = O;
    gemm(y->val.data, x->val.data, W->val.data, N, O, I, 0, 1, 1.0f, 0.0f);
    if (b)
        for (int n = 0; n < N; n++)
            for (int o = 0; o < O; o++) y->val.data[(size_t)n * O + o] += b->val.data[o];
    return y;
}

/* ---- elementwise unary ---------------------------------------------------- */

/* d relu / dx = 1 if x > 0 else 0 (the kink at 0 gets 0, as in PyTorch). */
static void relu_backward(AgNode *y) {
    const float *x = y->in[0]->val.data;
    float *dx = y->in[0]->grad.data;
    for (size_t i = 0; i < y->val.numel; i++) dx[i] += x[i] > 0.0f ? y->grad.data[i] : 0.0f;
}
AgNode *ag_relu(AgTape *t, AgNode *x) {
    AgNode *y = node_like(t, x, relu_backward, 0);
    for (size_t i = 0; i < y->val.numel; i++) y->val.data[i] = x->val.data[i] > 0.0f ? x->val.data[i] : 0.0f;
    return y;
}

/* Sigmoid without overflow: for x < 0 use e^x / (1 + e^x), which never forms e^{+large}. */
static float sigmoidf(float x) {
    if (x >= 0.0f) return 1.0f / (1.0f + expf(-x));
    float e = expf(x);
    return e / (1.0f + e);
}

/* SiLU y = x s, s = sigma(x) (vmath_sigmoid: vectorised, within 2 ulp of libm's e^x);  dy/dx = s (1 + x (1 - s)).
 * saved = s. Elementwise, so a large tensor (the
 * U-Net's activations) is split over the threads with no effect on the result; a small one stays serial. */
static void silu_backward(AgNode *y) {
    const float *x = y->in[0]->val.data, *s = y->saved.data;
    float *dx = y->in[0]->grad.data;
    int fresh = ag_take_fresh(y->in[0]);   /* dx = ..., not += (autograd.h) */
    size_t n = y->val.numel;
    const float *dy = y->grad.data;
    if (fresh) {
        #pragma omp parallel for schedule(static) if (n >= AG_PARALLEL_MIN)
        for (size_t i = 0; i < n; i++) dx[i] = dy[i] * s[i] * (1.0f + x[i] * (1.0f - s[i]));
    } else {
        #pragma omp parallel for schedule(static) if (n >= AG_PARALLEL_MIN)
        for (size_t i = 0; i < n; i++) dx[i] += dy[i] * s[i] * (1.0f + x[i] * (1.0f - s[i]));
    }
}
AgNode *ag_silu(AgTape *t, AgNode *x) {
    AgNode *y = node_like(t, x, silu_backward, 1);
    y->overwrites = 1u;
    enum { CHUNK = 4096 };   /* s and y by vmath_silu (vectorised e^x, see vmath.h), a chunk per iteration */
    size_t n = y->val.numel, n_chunks = (n + CHUNK - 1) / CHUNK;
    #pragma omp parallel for schedule(static) if (n >= AG_PARALLEL_MIN)
    for (size_t c = 0; c < n_chunks; c++) {
        size_t lo = c * CHUNK, len = n - lo < CHUNK ? n - lo : CHUNK;
        vmath_silu(y->val.data + lo, y->saved.data + lo, x->val.data + lo, len);
    }
    return y;
}

/* GELU, tanh approximation (Hendrycks and Gimpel 2016, as PyTorch's approximate="tanh"):
 * y = 0.5 x (1 + th), th = tanh(u), u = c (x + 0.044715 x^3), c = sqrt(2/pi);
 * dy/dx = 0.5 (1 + th) + 0.5 x (1 - th^2) c (1 + 3 * 0.044715 x^2). saved = th. */
static const float GELU_C = 0.7978845608028654f, GELU_A = 0.044715f;
static void gelu_backward(AgNode *y) {
    const float *x = y->in[0]->val.data, *th = y->saved.data;
    float *dx = y->in[0]->grad.data;
    for (size_t i = 0; i < y->val.numel; i++) {
        float du = GELU_C * (1.0f + 3.0f * GELU_A * x[i] * x[i]);
        dx[i] += y->grad.data[i] * (0.5f * (1.0f + th[i]) + 0.5f * x[i] * (1.0f - th[i] * th[i]) * du);
    }
}
AgNode *ag_gelu(AgTape *t, AgNode *x) {
    AgNode *y = node_like(t, x, gelu_backward, 1);
    for (size_t i = 0; i < y->val.numel; i++) {
        float v = x->val.data[i];
        y->saved.data[i] = tanhf(GELU_C * (v + GELU_A * v * v * v));
        y->val.data[i] = 0.5f * v * (1.0f + y->saved.data[i]);
    }
    return y;
}

/* d tanh / dx = 1 - tanh^2 (uses y's own value). */
static void tanh_backward(AgNode *y) {
    float *dx = y->in[0]->grad.data;
    for (size_t i = 0; i < y->val.numel; i++) dx[i] += y->grad.data[i] * (1.0f - y->val.data[i] * y->val.data[i]);
}
AgNode *ag_tanh(AgTape *t, AgNode *x) {
    AgNode *y = node_like(t, x, tanh_backward, 0);
    for (size_t i = 0; i < y->val.numel; i++) y->val.data[i] = tanhf(x->val.data[i]);
    return y;
}

/* d sigma / dx = sigma (1 - sigma). */
static void sigmoid_backward(AgNode *y) {
    float *dx = y->in[0]->grad.data;
    for (size_t i = 0; i < y->val.numel; i++) dx[i] += y->grad.data[i] * y->val.data[i] * (1.0f - y->val.data[i]);
}
AgNode *ag_sigmoid(AgTape *t, AgNode *x) {
    AgNode *y = node_like(t, x, sigmoid_backward, 0);
    for (size_t i = 0; i < y->val.numel; i++) y->val.data[i] = sigmoidf(x->val.data[i]);
    return y;
}

/* softplus(x) = log(1 + e^x) = max(x, 0) + log1p(e^{-|x|}): the second form never overflows
 * and keeps full precision for large |x|. d/dx = sigma(x). */
static void softplus_backward(AgNode *y) {
    const float *x = y->in[0]->val.data;
    float *dx = y->in[0]->grad.data;
    for (size_t i = 0; i < y->val.numel; i++) dx[i] += y->grad.data[i] * sigmoidf(x[i]);
}
AgNode *ag_softplus(AgTape *t, AgNode *x) {
    AgNode *y = node_like(t, x, softplus_backward, 0);
    for (size_t i = 0; i < y->val.numel; i++) {
        float v = x->val.data[i];
        y->val.data[i] = (v > 0.0f ? v : 0.0f) + log1pf(expf(-fabsf(v)));
    }
    return y;
}

/* d e^x / dx = e^x (uses y's own value). */
static void exp_backward(AgNode *y) {
    float *dx = y->in[0]->grad.data;
    for (size_t i = 0; i < y->val.numel; i++) dx[i] += y->grad.data[i] * y->val.data[i];
}
AgNode *ag_exp(AgTape *t, AgNode *x) {
    AgNode *y = node_like(t, x, exp_backward, 0);
    for (size_t i = 0; i < y->val.numel; i++) y->val.data[i] = expf(x->val.data[i]);
    return y;
}

/* d log x / dx = 1 / x. */
static void log_backward(AgNode *y) {
    const float *x = y->in[0]->val.data;
    float *dx = y->in[0]->grad.data;
    for (size_t i = 0; i < y->val.numel; i++) dx[i] += y->grad.data[i] / x[i];
}
AgNode *ag_log(AgTape *t, AgNode *x) {
    AgNode *y = node_like(t, x, log_backward, 0);
    for (size_t i = 0; i < y->val.numel; i++) y->val.data[i] = logf(x->val.data[i]);
    return y;
}

/* d x^2 / dx = 2x. */
static void square_backward(AgNode *y) {
    const float *x = y->in[0]->val.data;
    float *dx = y->in[0]->grad.data;
    for (size_t i = 0; i < y->val.numel; i++) dx[i] += y->grad.data[i] * 2.0f * x[i];
}
AgNode *ag_square(AgTape *t, AgNode *x) {
    AgNode *y = node_like(t, x, square_backward, 0);
    for (size_t i = 0; i < y->val.numel; i++) y->val.data[i] = x->val.data[i] * x->val.data[i];
    return y;
}

/* ---- shape ----------------------------------------------------------------- */

/* y[n, :A] = a[n, :], y[n, A:] = b[n, :]; the gradient is split the same way. arg.cat = {N, A, B}. */
static void concat_backward(AgNode *y) {
    int N = y->arg.cat.N, A = y->arg.cat.A, B = y->arg.cat.B;
    float *da = y->in[0]->grad.data, *db = y->in[1]->grad.data;
    for (int n = 0; n < N; n++) {
        const float *g = y->grad.data + (size_t)n * (A + B);
        for (int j = 0; j < A; j++) da[(size_t)n * A + j] += g[j];
        for (int j = 0; j < B; j++) db[(size_t)n * B + j] += g[A + j];
    }
}
AgNode *ag_concat(AgTape *t, AgNode *a, AgNode *b) {
    CHECK(a->val.ndim == 2 && b->val.ndim == 2, "ag_concat: needs 2D tensors, got ndim %d and %d", a->val.ndim, b->val.ndim);
    int N = a->val.shape[0], A = a->val.shape[1], B = b->val.shape[1];
    CHECK(b->val.shape[0] == N, "ag_concat: %d rows vs %d rows", N, b->val.shape[0]);
    AgNode *y = ag_node_new(t, 2, (int[]){ N, A + B }, concat_backward, 2, a, b, NULL);
    y->arg.cat.N = N; y->arg.cat.A = A; y->arg.cat.B = B;
    for (int n = 0; n < N; n++) {
        memcpy(y->val.data + (size_t)n * (A + B), a->val.data + (size_t)n * A, sizeof(float) * (size_t)A);
        memcpy(y->val.data + (size_t)n * (A + B) + A, b->val.data + (size_t)n * B, sizeof(float) * (size_t)B);
    }
    return y;
}

/* y[n, j] = x[n, c0 + j]. arg.cols = {N, C, c0, width}. */
static void cols_backward(AgNode *y) {
    int N = y->arg.cols.N, C = y->arg.cols.C, c0 = y->arg.cols.c0, w = y->arg.cols.width;
    float *dx = y->in[0]->grad.data;
    for (int n = 0; n < N; n++)
        for (int j = 0; j < w; j++) dx[(size_t)n * C + c0 + j] += y->grad.data[(size_t)n * w + j];
}
AgNode *ag_cols(AgTape *t, AgNode *x, int c0, int width) {
    CHECK(x->val.ndim == 2, "ag_cols: needs a 2D tensor, got ndim %d", x->val.ndim);
    int N = x->val.shape[0], C = x->val.shape[1];
    CHECK(c0 >= 0 && width >= 1 && c0 + width <= C, "ag_cols: columns [%d, %d) outside [0, %d)", c0, c0 + width, C);
    AgNode *y = ag_node_new(t, 2, (int[]){ N, width }, cols_backward, 1, x, NULL, NULL);
    y->arg.cols.N = N; y->arg.cols.C = C; y->arg.cols.c0 = c0; y->arg.cols.width = width;
    for (int n = 0; n < N; n++)
        memcpy(y->val.data + (size_t)n * width, x->val.data + (size_t)n * C + c0, sizeof(float) * (size_t)width);
    return y;
}

/* ---- reductions and losses ------------------------------------------------- */

/* y = scalar * sum_i x_i:  dx_i += scalar * dy. Shared by sum (scalar 1) and mean (1/n). */
static void sum_backward(AgNode *y) {
    float g = y->scalar * y->grad.data[0];
    float *dx = y->in[0]->grad.data;
    for (size_t i = 0; i < y->in[0]->val.numel; i++) dx[i] += g;
}
static AgNode *scaled_sum(AgTape *t, AgNode *x, float scale) {
    AgNode *y = ag_node_new(t, 1, SCALAR_SHAPE, sum_backward, 1, x, NULL, NULL);
    y->scalar = scale;
    double acc = 0.0;
    for (size_t i = 0; i < x->val.numel; i++) acc += x->val.data[i];
    y->val.data[0] = (float)(scale * acc);
    return y;
}
AgNode *ag_sum(AgTape *t, AgNode *x) { return scaled_sum(t, x, 1.0f); }
AgNode *ag_mean(AgTape *t, AgNode *x) { return scaled_sum(t, x, 1.0f / (float)x->val.numel); }

/* L = (1/n) sum (a - b)^2:  da += 2 (a - b) / n * dL,  db -= the same. */
static void mse_backward(AgNode *y) {
    const float *a = y->in[0]->val.data, *b = y->in[1]->val.data;
    float *da = y->in[0]->grad.data, *db = y->in[1]->grad.data;
    size_t n = y->in[0]->val.numel;
    float g = 2.0f * y->grad.data[0] / (float)n;
    for (size_t i = 0; i < n; i++) {
        float d = g * (a[i] - b[i]);
        da[i] += d;
        db[i] -= d;
    }
}
AgNode *ag_mse(AgTape *t, AgNode *a, AgNode *b) {
    check_same(a, b, "ag_mse");
    AgNode *y = ag_node_new(t, 1, SCALAR_SHAPE, mse_backward, 2, a, b, NULL);
    double acc = 0.0;
    for (size_t i = 0; i < a->val.numel; i++) {
        double d = (double)a->val.data[i] - b->val.data[i];
        acc += d * d;
    }
    y->val.data[0] = (float)(acc / (double)a->val.numel);
    return y;
}

/* §1.4 KL = (1/N) 1/2 sum (e^lv + mu^2 - 1 - lv):  dmu += mu / N,  dlv += (e^lv - 1) / (2N). */
static void kl_normal_backward(AgNode *y) {
    const float *mu = y->in[0]->val.data, *lv = y->in[1]->val.data;
    float *dmu = y->in[0]->grad.data, *dlv = y->in[1]->grad.data;
    float g = y->grad.data[0] / (float)y->arg.kl.N;
    for (size_t i = 0; i < y->in[0]->val.numel; i++) {
        dmu[i] += g * mu[i];
        dlv[i] += g * 0.5f * (expf(lv[i]) - 1.0f);
    }
}
AgNode *ag_kl_normal(AgTape *t, AgNode *mu, AgNode *logvar) {
    check_same(mu, logvar, "ag_kl_normal");
    AgNode *y = ag_node_new(t, 1, SCALAR_SHAPE, kl_normal_backward, 2, mu, logvar, NULL);
    int N = tensor_rows(&mu->val);
    y->arg.kl.N = N;
    double acc = 0.0;
    for (size_t i = 0; i < mu->val.numel; i++) {
        double m = mu->val.data[i], lv = logvar->val.data[i];
        acc += exp(lv) + m * m - 1.0 - lv;
    }
    y->val.data[0] = (float)(0.5 * acc / N);
    return y;
}
