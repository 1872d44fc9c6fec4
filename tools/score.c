/* score.c: the image quality score of §2.8, for any Fashion-MNIST-sized images, in one command.
 *
 *   make score && ./score figures/ch2_fmnist_samples.png       a PNG grid (as every image cell writes)
 *   ./score figures/ch2_fmnist_samples.idx-ubyte               an IDX ubyte file (gzip or raw)
 *   ./score checkpoints/ch2_fmnist.safetensors                 a U-Net checkpoint: draws --samples images (1000)
 *                                                              with --nfe network evaluations (50) of --sampler
 *                                                              2m (DPM-Solver++(2M)), ddim or pc, then scores them
 *   ./score --train --steps 3000                               retrain the classifier (checkpoints/)
 *
 * For each file: the Frechet distance between the classifier's penultimate features of its N images
 * and of the 10k test images, with the two floors at the same N (N real training images; N uniform-noise
 * images), the mean max-softmax and the predicted class histogram. See fid.h for the math.
 * Uses: fid, classifier, fmnist, image, optim, rng, tensor, unet, unet_train (the sampler).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "fid.h"
#include "fmnist.h"
#include "image.h"
#include "io.h"
#include "optim.h"
#include "unet_train.h"

static void usage(FILE *f) {
    fprintf(f, "usage: score [--ckpt PATH] FILE...        score PNG grids or IDX ubyte files of 28x28 images\n"
               "       score [--samples N] [--nfe K] [--sampler 2m|ddim|pc] [--seed N] UNET.safetensors   sample a U-Net checkpoint, then score\n"
               "       score --train [--resume] [--steps N] [--seed N] [--ckpt PATH] [--quiet]\n"
               "  --ckpt PATH  the classifier (default %s)\n"
               "  --steps N    training steps, batch 128 (default 3000, 1..1000000)\n"
               "  --seed N     training seed (default 1)\n"
               "  --resume     continue from the weights in --ckpt with a second cosine from lr 3e-4\n"
               "  --samples N  images drawn from a U-Net checkpoint (default 1000, 2..100000)\n"
               "  --nfe K      network evaluations for a U-Net's samples (default 50, 1..10000)\n"
               "  --sampler S  2m: DPM-Solver++(2M), K deterministic steps (the default); ddim: DDIM eta = 0, K steps;\n"
               "               pc: predictor-corrector, (K + 2) / 3 levels of a 2M step + 2 Langevin steps (unet_train.h)\n", CLASSIFIER_CKPT);
}

/* Test accuracy of the classifier on the 10k test images. */
static double test_accuracy(Classifier *c, const Fmnist *test, Arena *arena) {
    float *probs = malloc(sizeof(float) * (size_t)test->n * CLASSIFIER_CLASSES);
    classifier_eval(c, test->images, test->n, NULL, probs, arena);
    int right = 0;
    for (int i = 0; i < test->n; i++) right += classifier_argmax(probs + (size_t)i * CLASSIFIER_CLASSES) == test->labels[i];
    free(probs);
    return (double)right / test->n;
}

/* Adam (lr 1e-3, warm-up over the first 1/30 of the steps, then cosine to 1e-5) on batches of 128 random training
 * images. With resume: start from the weights in path (fresh Adam moments) and run a second, gentler cosine from
 * lr 3e-4 (a warm restart, Loshchilov and Hutter 2017). */
static int train(const char *path, long steps, uint64_t seed, int quiet, int resume) {
    enum { B = 128 };
    Fmnist train_set, test;
    if (fmnist_load(&train_set, NULL, 1, 0)) return 1;
    if (fmnist_load(&test, NULL, 0, 0)) { fmnist_free(&train_set); return 1; }
    Rng rng = rng_seed(seed);
    Classifier c;
    classifier_init(&c, &rng);
    long before = 0;
    char buf[32];
    if (resume) {
        if (classifier_load(&c, path)) { classifier_free(&c); fmnist_free(&test); fmnist_free(&train_set); return 1; }
        if (io_safetensors_metadata(path, "steps", buf, sizeof buf) == 0) before = atol(buf);
        rng = rng_stream(seed, (uint64_t)before);   /* other batches than the first run's */
    }
    float lr_max = resume ? 3e-4f : 1e-3f;
    Adam adam;
    optim_adam_init(&adam, nn_params_count(&c.params), 1e-3f, 0.9f, 0.999f, 1e-8f, 0.0f);
    Arena arena;
    arena_init(&arena, (size_t)512 << 20);
    float *x = malloc(sizeof(float) * B * 784);
    unsigned char y[B];
    printf("training the classifier (%zu parameters) for %ld steps of %d images\n", nn_params_count(&c.params), steps, B);
    Progress bar = cli_progress_start("train classifier", steps, quiet);
    double avg = 0, t0 = cli_seconds();
    for (long step = 0; step < steps; step++) {
        for (int i = 0; i < B; i++) {
            int j = rng_int(&rng, train_set.n);
            memcpy(x + (size_t)i * 784, train_set.images + (size_t)j * 784, sizeof(float) * 784);
            y[i] = train_set.labels[j];
        }
        float loss = classifier_loss_grad(&c, x, y, B, &arena);
        adam.lr = optim_lr_warmup_cosine(step, steps / 30, steps, lr_max, 1e-5f);   /* 100 steps of warm-up at the default 3000 */
        optim_adam_step(&adam, c.params.data, c.params.grad);
        avg = step == 0 ? loss : 0.98 * avg + 0.02 * loss;
        cli_progress_update(&bar, step + 1, avg);
    }
    cli_progress_end(&bar, steps, avg);
    double acc = test_accuracy(&c, &test, &arena);
    printf("test accuracy %.4f on %d images (training took %.0f s)\n", acc, test.n, cli_seconds() - t0);
    char meta[160];
    snprintf(meta, sizeof meta, "{\"steps\": \"%ld\", \"seed\": \"%llu\", \"test_accuracy\": \"%.4f\"}", before + steps,
             (unsigned long long)seed, acc);
    int rc = io_mkdir_for(path) || classifier_save(&c, path, meta);
    if (!rc) printf("%s written\n", path);
    free(x);
    arena_free(&arena);
    optim_adam_free(&adam);
    classifier_free(&c);
    fmnist_free(&test);
    fmnist_free(&train_set);
    if (rc) return 1;
    FidScorer sc;   /* computes and caches the test statistics of the new weights */
    if (fid_scorer_load(&sc, path)) return 1;
    fid_scorer_free(&sc);
    return 0;
}

static const char *const SAMPLER_NAMES[4] = { "", "DDIM", "DPM-Solver++(2M)", "predictor-corrector" };

/* n images from the U-Net checkpoint at path: x_T ~ N(0, I) (seed), K network evaluations of the sampler,
 * pixels mapped to [0, 1]. */
static int sample_checkpoint(const char *path, int n, int K, int sampler, uint64_t seed, float **x) {
    UnetModel m;
    if (unet_model_load(&m, path)) return 1;
    *x = malloc(sizeof(float) * (size_t)n * 784);
    CHECK(*x != NULL, "out of memory for %d images", n);
    Rng rng = rng_seed(seed);
    rng_normal_fill(&rng, *x, (long)n * 784);
    Arena arena;
    arena_init(&arena, (size_t)1 << 30);
    double t0 = cli_seconds();
    int nfe = unet_sample(&m, (UnetSampler)sampler, *x, n, K, &rng, &arena);
    printf("%s: %ld training steps, target %s; %d images with %d network evaluations of %s took %.1f s\n", path, m.step,
           unet_target_names[m.target], n, nfe, SAMPLER_NAMES[sampler], cli_seconds() - t0);
    for (size_t j = 0; j < (size_t)n * 784; j++) (*x)[j] = 0.5f * (*x)[j] + 0.5f;
    arena_free(&arena);
    unet_model_free(&m);
    return 0;
}

/* A file's images: a U-Net checkpoint's samples, a PNG grid, or anything else as IDX (by the extension). */
static int read_images(const char *path, float **x, int *n, int n_samples, int nfe, int sampler, uint64_t seed) {
    size_t len = strlen(path);
    if (len > 12 && strcmp(path + len - 12, ".safetensors") == 0) { *n = n_samples; return sample_checkpoint(path, n_samples, nfe, sampler, seed, x); }
    if (len > 4 && strcmp(path + len - 4, ".png") == 0) return image_grid_read(path, 28, 28, x, n);
    return fmnist_images_read(path, x, n);
}

static int score_files(const char *ckpt, char **files, int n_files, int n_samples, int nfe, int sampler, uint64_t seed) {
    FidScorer sc;
    if (fid_scorer_load(&sc, ckpt)) return 1;
    int rc = 0;
    for (int i = 0; i < n_files; i++) {
        float *x = NULL;
        int n = 0;
        if (read_images(files[i], &x, &n, n_samples, nfe, sampler, seed)) { rc = 1; continue; }
        FidScore r;
        if (n < 2) { fprintf(stderr, "error: %s holds %d image(s); a score needs at least 2\n", files[i], n); rc = 1; }
        else if (fid_score(&sc, x, n, 0.0f, 1.0f, &r)) rc = 1;
        else fid_score_print(&r, files[i]);
        free(x);
    }
    fid_scorer_free(&sc);
    return rc;
}

/* A whole decimal number in [lo, hi], or -1. */
static long parse_long(const char *s, long lo, long hi) {
    char *end;
    long v = strtol(s, &end, 10);
    return *s && !*end && v >= lo && v <= hi ? v : -1;
}

int main(int argc, char **argv) {
    cli_omp_wait(argv);   /* idle OpenMP threads spin briefly, then sleep: fair on a shared machine */
    const char *ckpt = CLASSIFIER_CKPT;   /* --ckpt: the classifier's weights */
    long steps = 3000;                     /* --steps: training steps of batch 128 (about 6 epochs) */
    long seed = 1;                         /* --seed: training seed, or the sampling seed of a U-Net */
    long n_samples = 1000, nfe = 50;       /* --samples, --nfe: images drawn from a U-Net checkpoint, and its steps */
    int sampler = UNET_SAMPLE_2M;              /* --sampler: its sampler */
    int do_train = 0, resume = 0, quiet = 0, n_files = 0;
    char **files = malloc(sizeof(char *) * (size_t)argc);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { usage(stdout); free(files); return 0; }
        else if (!strcmp(a, "--train")) do_train = 1;
        else if (!strcmp(a, "--quiet")) quiet = 1;
        else if (!strcmp(a, "--resume")) resume = 1;
        else if (!strcmp(a, "--ckpt")) { bad = !v; ckpt = v; i++; }
        else if (!strcmp(a, "--steps")) { bad = !v || (steps = parse_long(v, 1, 1000000)) < 0; i++; }
        else if (!strcmp(a, "--seed")) { bad = !v || (seed = parse_long(v, 0, 1L << 62)) < 0; i++; }
        else if (!strcmp(a, "--samples")) { bad = !v || (n_samples = parse_long(v, 2, 100000)) < 0; i++; }
        else if (!strcmp(a, "--nfe")) { bad = !v || (nfe = parse_long(v, 1, 10000)) < 0; i++; }
        else if (!strcmp(a, "--sampler")) {
            sampler = !v ? 0 : !strcmp(v, "ddim") ? UNET_SAMPLE_DDIM : !strcmp(v, "2m") ? UNET_SAMPLE_2M : !strcmp(v, "pc") ? UNET_SAMPLE_PC : 0;
            bad = sampler == 0;
            i++;
        }
        else if (a[0] != '-') files[n_files++] = argv[i];
        else bad = 1;
        if (bad) {
            fprintf(stderr, "score: bad argument %s%s%s\n", a, v && a[0] == '-' && strcmp(a, "--train") ? " " : "",
                    v && a[0] == '-' ? v : "");
            usage(stderr);
            free(files);
            return 2;
        }
    }
    int rc;
    if (do_train) rc = n_files ? (fprintf(stderr, "score: --train takes no files\n"), 2) : train(ckpt, steps, (uint64_t)seed, quiet, resume);
    else if (!n_files) { usage(stderr); rc = 2; }
    else rc = score_files(ckpt, files, n_files, (int)n_samples, (int)nfe, sampler, (uint64_t)seed);
    free(files);
    return rc;
}
