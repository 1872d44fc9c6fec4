#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <zlib.h>
#include "fmnist.h"
#include "io.h"

const char *fmnist_class_name(int label) {
    static const char *const names[10] = { "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot" };
    return label >= 0 && label < 10 ? names[label] : "?";
}

double fmnist_background_fraction(const float *x, int n, float lo, float hi) {
    long dark = 0, total = (long)n * 784;
    for (long k = 0; k < total; k++) dark += (x[k] - lo) / (hi - lo) < 0.1f;
    return total > 0 ? (double)dark / total : 0;
}

double fmnist_test_background_fraction(int n) {
    Fmnist fm;
    if (fmnist_load(&fm, NULL, 0, n)) return -1;
    double bg = fmnist_background_fraction(fm.images, fm.n, 0.0f, 1.0f);
    fmnist_free(&fm);
    return bg;
}

/* zlib's account of why a read stopped: NULL at a clean end of the stream, else its message (a gzip stream cut
 * short is Z_BUF_ERROR "unexpected end of file"; a bad CRC or length in the trailer is Z_DATA_ERROR). */
static const char *gz_why(gzFile f) {
    int err = Z_OK;
    const char *msg = gzerror(f, &err);
    return err == Z_OK ? NULL : msg;
}

/* Read exactly n bytes into buf; NULL on success, else what went wrong. */
static const char *read_exact(gzFile f, unsigned char *buf, size_t n) {
    while (n > 0) {
        unsigned chunk = n > (1u << 30) ? (1u << 30) : (unsigned)n;
        int got = gzread(f, buf, chunk);
        if (got <= 0) { const char *why = gz_why(f); return why ? why : "the file ends early (truncated)"; }
        buf += got;
        n -= (size_t)got;
    }
    return NULL;
}

/* The payload: exactly n bytes, then the end of the stream. The buffer grows as data arrives, so a header
 * that claims a huge count costs memory only if the bytes are really there. NULL on success. */
static const char *read_payload(gzFile f, size_t n, unsigned char **out) {
    size_t cap = n < ((size_t)1 << 20) ? n : ((size_t)1 << 20), have = 0;
    unsigned char *buf = malloc(cap + 1);
    CHECK(buf != NULL, "out of memory");
    const char *why = NULL;
    while (!why && have < n) {
        if (have == cap) {
            cap = 2 * cap < n ? 2 * cap : n;
            unsigned char *grown = realloc(buf, cap + 1);
            CHECK(grown != NULL, "out of memory for %zu bytes", cap);
            buf = grown;
        }
        why = read_exact(f, buf + have, cap - have);
        if (!why) have = cap;
    }
    unsigned char extra;
    int r = why ? 0 : gzread(f, &extra, 1);   /* must be the end: 0 bytes, and zlib content with the trailer */
    if (!why && r > 0) why = "bytes after the expected data (not a valid IDX file)";
    if (!why) why = gz_why(f);
    if (why) { free(buf); return why; }
    *out = buf;
    return NULL;
}

int fmnist_idx_read(const char *path, uint32_t magic, int ndims, uint32_t *dims, unsigned char **payload) {
    *payload = NULL;
    gzFile f = gzopen(path, "rb");
    if (!f) {
        fprintf(stderr, "error: cannot open %s: %s; hint: apt-get install dataset-fashion-mnist\n", path, strerror(errno));
        return 1;
    }
    unsigned char hdr[4 * 4];
    const char *why = ndims >= 1 && ndims <= 3 ? read_exact(f, hdr, 4 * (size_t)(ndims + 1)) : "bad dimension count";
    uint32_t m = 0;
    size_t n = 1;
    for (int i = 0; !why && i <= ndims; i++) {
        uint32_t v = (uint32_t)hdr[4 * i] << 24 | (uint32_t)hdr[4 * i + 1] << 16 | (uint32_t)hdr[4 * i + 2] << 8 | hdr[4 * i + 3];
        if (i == 0) m = v;   /* IDX is big-endian */
        else { dims[i - 1] = v; n *= v ? v : 1; if (v == 0 || n > FMNIST_MAX_BYTES) why = "implausible dimensions"; }
    }
    if (!why && m != magic) {
        fprintf(stderr, "error: %s: magic number 0x%08x, expected 0x%08x (not an IDX %s file)\n", path, m, magic,
                magic == 0x803 ? "image" : "label");
        gzclose(f);
        return 1;
    }
    if (!why) why = read_payload(f, n, payload);
    char msg[160];   /* zlib's message lives in f: copy it before gzclose frees it */
    if (why) { snprintf(msg, sizeof msg, "%s", why); why = msg; }
    int closed = gzclose(f);   /* Z_BUF_ERROR: the last read stopped inside a gzip stream */
    if (!why && closed != Z_OK) why = "the gzip stream does not end cleanly (truncated)";
    if (why) {
        fprintf(stderr, "error: %s: %s; expected a whole IDX file of %zu data bytes; hint: reinstall dataset-fashion-mnist\n", path, why, n);
        free(*payload);
        *payload = NULL;
        return 1;
    }
    return 0;
}

int fmnist_load_files(Fmnist *fm, const char *images_path, const char *labels_path, int max_n) {
    memset(fm, 0, sizeof *fm);
    uint32_t di[3], dl[1];
    unsigned char *pix = NULL;
    if (fmnist_idx_read(images_path, 0x803, 3, di, &pix)) return 1;
    if (fmnist_idx_read(labels_path, 0x801, 1, dl, &fm->labels)) { free(pix); return 1; }
    int rc = 1;
    if (di[1] != 28 || di[2] != 28) fprintf(stderr, "error: %s: images are %ux%u, expected 28x28\n", images_path, di[1], di[2]);
    else if (di[0] != dl[0]) fprintf(stderr, "error: %s has %u images but %s has %u labels\n", images_path, di[0], labels_path, dl[0]);
    else {
        size_t n = di[0];
        rc = 0;
        for (size_t i = 0; i < n && !rc; i++)
            if (fm->labels[i] > 9) {
                fprintf(stderr, "error: %s: label %u at index %zu, expected 0..9\n", labels_path, fm->labels[i], i);
                rc = 1;
            }
        fm->n = max_n > 0 && (size_t)max_n < n ? max_n : (int)n;
    }
    if (!rc) {
        fm->h = fm->w = 28;
        fm->images = malloc(sizeof(float) * (size_t)fm->n * 784);
        CHECK(fm->images != NULL, "out of memory for %d images", fm->n);
        for (size_t i = 0; i < (size_t)fm->n * 784; i++) fm->images[i] = pix[i] / 255.0f;
    } else {
        free(fm->labels);
        memset(fm, 0, sizeof *fm);
    }
    free(pix);
    return rc;
}

int fmnist_load(Fmnist *fm, const char *dir, int train, int max_n) {
    char ip[600], lp[600];
    const char *d = dir ? dir : FMNIST_DIR, *set = train ? "train" : "t10k";
    snprintf(ip, sizeof ip, "%s/%s-images-idx3-ubyte.gz", d, set);
    snprintf(lp, sizeof lp, "%s/%s-labels-idx1-ubyte.gz", d, set);
    return fmnist_load_files(fm, ip, lp, max_n);
}

void fmnist_free(Fmnist *fm) {
    free(fm->images);
    free(fm->labels);
    memset(fm, 0, sizeof *fm);
}

int fmnist_images_read(const char *path, float **images, int *n) {
    uint32_t d[3];
    unsigned char *pix = NULL;
    if (fmnist_idx_read(path, 0x803, 3, d, &pix)) return 1;   /* whole, checked file (magic, sizes, CRC) */
    int rc = 1;
    if (d[1] != 28 || d[2] != 28) fprintf(stderr, "error: %s: images are %ux%u, expected 28x28\n", path, d[1], d[2]);
    else {
        *n = (int)d[0];
        *images = malloc(sizeof(float) * (size_t)d[0] * 784);
        CHECK(*images != NULL, "out of memory for %u images", d[0]);
        for (size_t i = 0; i < (size_t)d[0] * 784; i++) (*images)[i] = pix[i] / 255.0f;
        rc = 0;
    }
    free(pix);
    return rc;
}

int fmnist_images_write(const char *path, const float *x, int n, float lo, float hi) {
    CHECK(n >= 1 && hi > lo, "fmnist_images_write: n = %d, lo = %g, hi = %g", n, lo, hi);
    size_t bytes = 16 + (size_t)n * 784;
    unsigned char *b = malloc(bytes);
    CHECK(b != NULL, "out of memory for %d images", n);
    uint32_t head[4] = { 0x803, (uint32_t)n, 28, 28 };
    for (int i = 0; i < 4; i++)   /* big-endian u32s */
        for (int k = 0; k < 4; k++) b[4 * i + k] = (unsigned char)(head[i] >> (24 - 8 * k));
    for (size_t k = 0; k < (size_t)n * 784; k++) {
        float u = (x[k] - lo) / (hi - lo);
        u = u < 0 ? 0 : u > 1 ? 1 : u;
        b[16 + k] = (unsigned char)(u * 255.0f + 0.5f);   /* the rounding image_grid_png uses */
    }
    int rc = io_write_atomic(path, b, bytes);
    free(b);
    return rc;
}
