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

/* Read exactly n bytes; 0 on success. */
static int read_exact(gzFile f, void *buf, size_t n) {
    unsigned char *p = buf;
    while (n > 0) {
        unsigned chunk = n > (1u << 30) ? (1u << 30) : (unsigned)n;
        int got = gzread(f, p, chunk);
        if (got <= 0) return 1;
        p += got;
        n -= (size_t)got;
    }
    return 0;
}

static int read_u32(gzFile f, uint32_t *v) {
    unsigned char b[4];
    if (read_exact(f, b, 4)) return 1;
    *v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];   /* IDX is big-endian */
    return 0;
}

/* Open an IDX file, check its magic and read its header dims (count, and rows, cols for images). */
static gzFile open_idx(const char *path, uint32_t magic, uint32_t *dims, int ndims) {
    gzFile f = gzopen(path, "rb");
    if (!f) {
        fprintf(stderr, "error: cannot open %s: %s; hint: apt-get install dataset-fashion-mnist\n", path, strerror(errno));
        return NULL;
    }
    uint32_t m = 0;
    if (read_u32(f, &m) || m != magic) {
        fprintf(stderr, "error: %s: magic number 0x%08x, expected 0x%08x (not an IDX %s file)\n", path, m, magic,
                magic == 0x803 ? "image" : "label");
        gzclose(f);
        return NULL;
    }
    for (int i = 0; i < ndims; i++)
        if (read_u32(f, &dims[i])) {
            fprintf(stderr, "error: %s: truncated header\n", path);
            gzclose(f);
            return NULL;
        }
    return f;
}

/* Read exactly n bytes of payload and check that the file ends there. */
static int read_payload(gzFile f, const char *path, unsigned char *buf, size_t n) {
    if (read_exact(f, buf, n)) {
        fprintf(stderr, "error: %s: truncated, expected %zu bytes of data; hint: reinstall dataset-fashion-mnist\n", path, n);
        return 1;
    }
    unsigned char extra;
    if (gzread(f, &extra, 1) != 0) {
        fprintf(stderr, "error: %s: bytes after the %zu expected; not a valid IDX file\n", path, n);
        return 1;
    }
    return 0;
}

int fmnist_load_files(Fmnist *fm, const char *images_path, const char *labels_path, int max_n) {
    memset(fm, 0, sizeof *fm);
    uint32_t di[3], dl[1];
    gzFile fi = open_idx(images_path, 0x803, di, 3);
    if (!fi) return 1;
    gzFile fl = open_idx(labels_path, 0x801, dl, 1);
    if (!fl) { gzclose(fi); return 1; }
    int rc = 1;
    unsigned char *pix = NULL;
    if (di[1] != 28 || di[2] != 28) fprintf(stderr, "error: %s: images are %ux%u, expected 28x28\n", images_path, di[1], di[2]);
    else if (di[0] != dl[0]) fprintf(stderr, "error: %s has %u images but %s has %u labels\n", images_path, di[0], labels_path, dl[0]);
    else if (di[0] == 0 || di[0] > 1000000) fprintf(stderr, "error: %s: implausible image count %u\n", images_path, di[0]);
    else {
        size_t n = di[0];
        pix = malloc(n * 784);
        fm->labels = malloc(n);
        CHECK(pix && fm->labels, "out of memory for %zu images", n);
        if (!read_payload(fi, images_path, pix, n * 784) && !read_payload(fl, labels_path, fm->labels, n)) {
            rc = 0;
            for (size_t i = 0; i < n && !rc; i++)
                if (fm->labels[i] > 9) {
                    fprintf(stderr, "error: %s: label %u at index %zu, expected 0..9\n", labels_path, fm->labels[i], i);
                    rc = 1;
                }
            fm->n = max_n > 0 && (size_t)max_n < n ? max_n : (int)n;
        }
    }
    if (!rc) {
        fm->h = fm->w = 28;
        fm->images = malloc(sizeof(float) * (size_t)fm->n * 784);
        CHECK(fm->images != NULL, "out of memory for %d images", fm->n);
        for (size_t i = 0; i < (size_t)fm->n * 784; i++) fm->images[i] = pix[i] / 255.0f;
    } else {
        free(fm->labels);
        fm->labels = NULL;
    }
    free(pix);
    gzclose(fi);
    gzclose(fl);
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
    gzFile f = open_idx(path, 0x803, d, 3);
    if (!f) return 1;
    int rc = 1;
    if (d[1] != 28 || d[2] != 28) fprintf(stderr, "error: %s: images are %ux%u, expected 28x28\n", path, d[1], d[2]);
    else if (d[0] == 0 || d[0] > 1000000) fprintf(stderr, "error: %s: implausible image count %u\n", path, d[0]);
    else {
        unsigned char *pix = malloc((size_t)d[0] * 784);
        CHECK(pix != NULL, "out of memory for %u images", d[0]);
        if (!read_payload(f, path, pix, (size_t)d[0] * 784)) {
            *n = (int)d[0];
            *images = malloc(sizeof(float) * (size_t)d[0] * 784);
            CHECK(*images != NULL, "out of memory for %u images", d[0]);
            for (size_t i = 0; i < (size_t)d[0] * 784; i++) (*images)[i] = pix[i] / 255.0f;
            rc = 0;
        }
        free(pix);
    }
    gzclose(f);
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
