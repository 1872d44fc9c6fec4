#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>
#include <math.h>
#include <string.h>
#include "image.h"
#include "io.h"

/* stbi_write_png_to_func hands the encoded PNG over in pieces; collect them in a growing buffer. */
typedef struct { unsigned char *data; size_t len, cap; int failed; } Buffer;

static void append(void *ctx, void *chunk, int size) {
    Buffer *b = ctx;
    if (b->failed) return;
    if (b->len + (size_t)size > b->cap) {
        size_t cap = 2 * (b->len + (size_t)size);
        unsigned char *p = realloc(b->data, cap);
        if (!p) { b->failed = 1; return; }
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, chunk, (size_t)size);
    b->len += (size_t)size;
}

int image_grid_png(const char *path, const float *imgs, int n, int channels, int h, int w, int cols,
                   float lo, float hi, int scale, int pad) {
    CHECK(n >= 1 && cols >= 1 && (channels == 1 || channels == 3) && scale >= 1 && pad >= 0 && hi > lo,
          "image_grid_png: n=%d cols=%d channels=%d scale=%d pad=%d", n, cols, channels, scale, pad);
    int rows = (n + cols - 1) / cols;
    int W = pad + cols * (w * scale + pad), H = pad + rows * (h * scale + pad);
    unsigned char *pix = malloc((size_t)W * H * channels);
    CHECK(pix != NULL, "out of memory for a %dx%d image", W, H);
    memset(pix, 128, (size_t)W * H * channels);   /* grey border */
    long nonfinite = 0;
    for (int k = 0; k < n; k++) {
        int gy = pad + (k / cols) * (h * scale + pad), gx = pad + (k % cols) * (w * scale + pad);
        for (int c = 0; c < channels; c++)
            for (int y = 0; y < h * scale; y++)
                for (int x = 0; x < w * scale; x++) {
                    float v = imgs[(((size_t)k * channels + c) * h + y / scale) * w + x / scale];
                    float u = (v - lo) / (hi - lo);
                    if (!isfinite(v)) nonfinite += y % scale == 0 && x % scale == 0;   /* count each value once */
                    if (isnan(u)) u = 0;                       /* NaN as lo: casting NaN to a byte is undefined */
                    u = u < 0 ? 0 : u > 1 ? 1 : u;             /* +-inf clamp like any value */
                    pix[((size_t)(gy + y) * W + gx + x) * channels + c] = (unsigned char)(u * 255.0f + 0.5f);
                }
    }
    if (nonfinite) fprintf(stderr, "warning: %s: %ld values are NaN or inf (NaN drawn as %g, inf clamped)\n", path, nonfinite, lo);
    Buffer b = {0};
    int ok = stbi_write_png_to_func(append, &b, W, H, channels, pix, W * channels);
    free(pix);
    int rc;
    if (!ok || b.failed) {
        fprintf(stderr, "error: PNG encoding of %s failed\n", path);
        rc = 1;
    } else rc = io_write_atomic(path, b.data, b.len);
    free(b.data);
    return rc;
}
