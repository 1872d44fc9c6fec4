#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "autograd.h"
#include "train.h"
#include "toymodel.h"

/* Width of the input row [x (D), Fourier features (2 D TOY_FOURIER), time embedding (TOY_TEMB)]. */
static int input_width(int D) { return D * (1 + 2 * TOY_FOURIER) + TOY_TEMB; }

void toy_init(ToyModel *m, int D, Rng *rng) {
    CHECK(D == 1 || D == 2, "toy model dimension D = %d, expected 1 or 2", D);
    memset(m, 0, sizeof *m);
    m->D = D;
    const int widths[5] = { input_width(D), TOY_HIDDEN, TOY_HIDDEN, TOY_HIDDEN, D };
    nn_params_init(&m->params);
    nn_mlp_declare(&m->params, &m->mlp, "eps", 5, widths, NN_SILU);
    nn_params_alloc(&m->params, rng);
    m->temb_table = malloc(sizeof(float) * (TOY_TEMB_TABLE + 1) * TOY_TEMB);
    float *times = malloc(sizeof(float) * (TOY_TEMB_TABLE + 1));
    CHECK(m->temb_table && times, "out of memory for the time embedding table");
    for (int t = 0; t <= TOY_TEMB_TABLE; t++) times[t] = (float)t;
    nn_time_embedding(m->temb_table, times, TOY_TEMB_TABLE + 1, TOY_TEMB, 1000.0f);
    free(times);
}

void toy_free(ToyModel *m) {
    nn_params_free(&m->params);
    free(m->temb_table);
    m->temb_table = NULL;
}

/* The time embedding of n rows: from the table when every time is a whole step in it (DDPM's steps: the same
 * numbers nn_time_embedding gives, without its 16 sin and cos a row: 5% of a training step), else computed. */
static void time_embedding(const ToyModel *m, float *temb, const float *time, int n) {
    int whole = 1;
    for (int i = 0; i < n && whole; i++) whole = time[i] >= 0 && time[i] <= TOY_TEMB_TABLE && time[i] == (int)time[i];
    if (!whole || !m->temb_table) { nn_time_embedding(temb, time, n, TOY_TEMB, 1000.0f); return; }
    for (int i = 0; i < n; i++)
        memcpy(temb + (size_t)i * TOY_TEMB, m->temb_table + (size_t)time[i] * TOY_TEMB, sizeof(float) * TOY_TEMB);
}

/* One sin and one cos per coordinate (libm, in double); the higher octaves by the double-angle formulas,
 * sin 2a = 2 sin a cos a, cos 2a = (cos a - sin a)(cos a + sin a), in double: each doubling at most doubles the
 * error of the one before and adds an ulp, so after 4 of them it is below 1e-14, far under a float's half ulp;
 * the features then differ from (float)sin(2^k pi x) computed directly by at most one float ulp, and rarely. */
void toy_fourier(float *f, const float *x, int D) {
    for (int d = 0; d < D; d++) {
        double s = sin(PI * x[d]), c = cos(PI * x[d]);
        for (int k = 0; k < TOY_FOURIER; k++) {
            f[2 * (k * D + d)] = (float)s;
            f[2 * (k * D + d) + 1] = (float)c;
            double s2 = 2.0 * s * c;
            c = (c - s) * (c + s);
            s = s2;
        }
    }
}

/* One input row: x, the Fourier features, then the time embedding. */
static void input_row(int D, const float *x, const float *temb, float *row) {
    for (int d = 0; d < D; d++) row[d] = x[d];
    toy_fourier(row + D, x, D);
    memcpy(row + D * (1 + 2 * TOY_FOURIER), temb, sizeof(float) * TOY_TEMB);
}

/* eps_theta(x_t, t) on the tape, for n points x (n, D) with steps t (n). */
static AgNode *eps_forward(ToyModel *m, AgTape *tape, const float *x, const float *t, int n) {
    int W = input_width(m->D);
    Tensor xin = tensor_new(tape->arena, 2, (int[]){ n, W });
    float *temb = arena_push_no_zero(tape->arena, sizeof(float) * (size_t)n * TOY_TEMB);
    time_embedding(m, temb, t, n);
    for (int i = 0; i < n; i++) input_row(m->D, x + (size_t)i * m->D, temb + (size_t)i * TOY_TEMB, xin.data + (size_t)i * W);
    return nn_mlp_forward(tape, &m->params, &m->mlp, ag_input(tape, xin));
}

AgNode *toy_forward(ToyModel *m, AgTape *tape, const float *x, const float *time, int n) {
    return eps_forward(m, tape, x, time, n);
}

void toy_jacobian(ToyModel *m, const float *x, int n, const float *time, float *out, float *jac, Arena *arena) {
    int D = m->D, W = input_width(D);
    size_t mark = arena_pos(arena);
    float *row = arena_push_no_zero(arena, sizeof(float) * (size_t)n * W);
    float *drow = arena_push_no_zero(arena, sizeof(float) * (size_t)n * W);
    float *temb = arena_push_no_zero(arena, sizeof(float) * (size_t)n * TOY_TEMB);
    time_embedding(m, temb, time, n);
    for (int i = 0; i < n; i++) input_row(D, x + (size_t)i * D, temb + (size_t)i * TOY_TEMB, row + (size_t)i * W);
    for (int k = 0; k < D; k++) {   /* one backward pass per output coordinate: d out_k / d row, all rows at once */
        size_t inner = arena_pos(arena);
        AgTape tape = ag_tape(arena, 64);
        memset(drow, 0, sizeof(float) * (size_t)n * W);
        AgNode *in = ag_leaf(&tape, row, drow, 2, (int[]){ n, W });
        AgNode *o = nn_mlp_forward(&tape, &m->params, &m->mlp, in);
        if (k == 0 && out) memcpy(out, o->val.data, sizeof(float) * (size_t)n * D);
        ag_backward(&tape, ag_sum(&tape, ag_cols(&tape, o, k, 1)));
        for (int i = 0; i < n; i++) {   /* chain rule through the row: d row / d x_d for x, sin(w x_d), cos(w x_d) */
            const float *g = drow + (size_t)i * W;
            const float *xi = x + (size_t)i * D;
            for (int d = 0; d < D; d++) {
                double acc = g[d];
                for (int f = 0; f < TOY_FOURIER; f++) {
                    double w = PI * (double)(1 << f) * xi[d];
                    int j = D + 2 * (f * D + d);
                    acc += g[j] * PI * (double)(1 << f) * cos(w) - g[j + 1] * PI * (double)(1 << f) * sin(w);
                }
                jac[((size_t)i * D + k) * D + d] = (float)acc;
            }
        }
        arena_pop_to(arena, inner);
    }
    nn_params_zero_grad(&m->params);   /* the passes accumulated into the weights' grads: leave them clean */
    arena_pop_to(arena, mark);
}

void toy_predict(ToyModel *m, const float *x, int n, int t, float *out, Arena *arena) {
    size_t mark = arena_pos(arena);
    AgTape tape = ag_tape_no_grad(arena, 64);
    float *tt = arena_push_no_zero(arena, sizeof(float) * (size_t)n);
    for (int i = 0; i < n; i++) tt[i] = (float)t;
    cli_threads_begin(&m->pick_predict);
    double t0 = cli_seconds();
    AgNode *y = eps_forward(m, &tape, x, tt, n);
    cli_threads_end(&m->pick_predict, (cli_seconds() - t0) / n);
    memcpy(out, y->val.data, sizeof(float) * (size_t)n * m->D);
    arena_pop_to(arena, mark);
}

/* Loss and gradients of the batch in TOY_CHUNKS chunks of rows, one tape each, on up to TOY_CHUNKS threads:
 * the network's layers of 128 are too small to split one product across cores (waking a thread costs more than a
 * tenth of it), but two halves of a batch are independent work. Chunk c's gradient goes to its own block; the
 * blocks are then summed in chunk order, so the result is the same on any number of threads, and the number can
 * follow the machine: beside a busy program two threads wait on each other and one is faster (m->pick_train). */
float toy_mse_grad(ToyModel *m, const float *x, const float *time, const float *target, int n, Arena *arena) {
    int D = m->D, C = n < TOY_CHUNKS ? n : TOY_CHUNKS;
    size_t numel = m->params.numel, mark = arena_pos(arena);
    size_t rows_max = (size_t)(n + C - 1) / C, chunk_bytes = (64 << 10) + rows_max * (16 << 10);   /* tape + ~6.6 KB a row */
    float *grads = arena_push_no_zero(arena, sizeof(float) * numel * C);
    Arena chunk_arena[TOY_CHUNKS];
    float loss[TOY_CHUNKS];
    for (int c = 0; c < C; c++) chunk_arena[c] = arena_sub(arena, chunk_bytes);
    int threads = cli_threads_begin(&m->pick_train);
    if (threads > C) threads = C;
    double t0 = cli_seconds();
    #pragma omp parallel num_threads(threads) if (threads > 1)
    {
        #pragma omp for schedule(static)
        for (int c = 0; c < C; c++) {
            int r0 = (int)((long)n * c / C), r1 = (int)((long)n * (c + 1) / C), rows = r1 - r0;
            Params view = m->params;            /* the same weights, gradients into this chunk's block */
            view.grad = grads + numel * c;
            memset(view.grad, 0, sizeof(float) * numel);
            ToyModel mc = *m;
            mc.params = view;
            AgTape tape = ag_tape(&chunk_arena[c], 64);
            Tensor tg = tensor_wrap((float *)target + (size_t)r0 * D, 2, (int[]){ rows, D });
            AgNode *l = ag_mse(&tape, eps_forward(&mc, &tape, x + (size_t)r0 * D, time + r0, rows), ag_input(&tape, tg));
            AgNode *part = ag_scale(&tape, l, (float)rows / n);   /* mean over n rows = sum of the chunks' shares */
            ag_backward(&tape, part);
            loss[c] = part->val.data[0];
        }
        #pragma omp for schedule(static)   /* a contiguous range of weights per thread, chunks added in order */
        for (int t = 0; t < threads; t++) {
            size_t lo = numel * t / threads, hi = numel * (t + 1) / threads;
            float *g = m->params.grad;
            memcpy(g + lo, grads + lo, sizeof(float) * (hi - lo));
            for (int c = 1; c < C; c++)
                for (size_t i = lo; i < hi; i++) g[i] += grads[numel * c + i];
        }
    }
    cli_threads_end(&m->pick_train, (cli_seconds() - t0) / n);
    float total = 0.0f;
    for (int c = 0; c < C; c++) total += loss[c];
    arena_pop_to(arena, mark);
    return total;
}

/* §2.8 one batch of DDPM's loss: x0 from the data, t, eps ~ N(0, I), x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps,
 * loss = mean ||eps_theta(x_t, t) - eps||^2, or §2.7 mean ||x0_theta(x_t, t) - x0||^2 when m->target is x0. t is drawn as 1 + floor(T u^2), u ~ U[0,1): density ~ 1/sqrt(t),
 * more low-noise steps than DDPM's uniform draw, because thin structures are learned there (the loss of
 * each step is still the unweighted one). Returns the loss; gradients land in m->params.grad. */
typedef struct { ToyModel *m; const Schedule *s; const float *data; int n_data, batch; } ToyBatch;

static float train_batch(void *model, long step, Rng *rng, Arena *arena, float *terms) {
    (void)step; (void)terms;
    ToyBatch *b = model;
    ToyModel *m = b->m;
    const Schedule *s = b->s;
    int D = m->D, batch = b->batch;
    float *xt = arena_push(arena, sizeof(float) * (size_t)batch * D), *tt = arena_push(arena, sizeof(float) * (size_t)batch);
    float *eps = arena_push(arena, sizeof(float) * (size_t)batch * D), *x0s = arena_push(arena, sizeof(float) * (size_t)batch * D);
    for (int i = 0; i < batch; i++) {
        const float *x0 = b->data + (size_t)rng_int(rng, b->n_data) * D;
        double u = rng_uniform(rng);
        int t = 1 + (int)(s->T * u * u);
        tt[i] = (float)t;
        for (int d = 0; d < D; d++) {
            eps[i * D + d] = (float)rng_normal(rng);
            x0s[i * D + d] = x0[d];
            xt[i * D + d] = (float)(sqrt(s->alpha_bar[t]) * x0[d] + sqrt(1.0 - s->alpha_bar[t]) * eps[i * D + d]);
        }
    }
    return toy_mse_grad(m, xt, tt, m->target == TOY_TARGET_X0 ? x0s : eps, batch, arena);
}

int toy_train(ToyModel *m, const Schedule *s, const float *data, int n, int steps, int batch,
              Rng *rng, Arena *arena, int quiet, float *loss_curve) {
    ToyBatch b = { m, s, data, n, batch };
    Trainer tr;   /* a decaying rate settles the small-t detail */
    train_init(&tr, &m->params, &(TrainConfig){ .label = "train eps_theta", .steps = steps, .lr_max = 2e-3f, .lr_min = 1e-5f,
                                                .warmup = 100, .lr_ahead = 1, .curve = loss_curve, .quiet = quiet });
    int rc = train_run(&tr, train_batch, &b, rng, arena);
    train_free(&tr);
    return rc;
}
