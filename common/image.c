#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>
#include <math.h>
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#include <stb/stb_image.h>
#include <string.h>
#include "fmnist.h"
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

/* Does the grid layout (scale, pad) fit a W x H picture whose separating lines are all border grey? */
static int layout_fits(const unsigned char *pix, int W, int H, int h, int w, int scale, int pad) {
    int tw = w * scale + pad, th = h * scale + pad;
    if (W < tw + pad || H < th + pad || (W - pad) % tw || (H - pad) % th) return 0;
    if (pad == 0) return 1;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            int on_line = (y % th) < pad || (x % tw) < pad;
            if (on_line && pix[(size_t)y * W + x] != 128) return 0;
        }
    return 1;
}

/* A tile that is border grey everywhere is an unfilled cell of the grid's last row. */
static int tile_empty(const unsigned char *pix, int W, int x0, int y0, int tw, int th) {
    for (int y = 0; y < th; y++)
        for (int x = 0; x < tw; x++)
            if (pix[(size_t)(y0 + y) * W + x0 + x] != 128) return 0;
    return 1;
}

int image_grid_read(const char *path, int h, int w, float **imgs, int *n) {
    int W, H, ch;
    unsigned char *pix = stbi_load(path, &W, &H, &ch, 1);   /* converted to one grey channel */
    if (!pix) {
        fprintf(stderr, "error: cannot read %s as a PNG: %s\n", path, stbi_failure_reason());
        return 1;
    }
    int scale = 0, pad = 0;
    for (int p = 0; p <= 4 && !scale; p++)      /* the smallest pad, then the smallest scale that fit */
        for (int s = 1; s <= 8 && !scale; s++)
            if (layout_fits(pix, W, H, h, w, s, p)) { scale = s; pad = p; }
    if (!scale) {
        fprintf(stderr, "error: %s is %d x %d pixels, not a grid of %d x %d images (any scale 1..8, grey borders 0..4 pixels);"
                        " hint: write grids with image_grid_png or score an IDX file\n", path, W, H, h, w);
        stbi_image_free(pix);
        return 1;
    }
    int tw = w * scale + pad, th = h * scale + pad, cols = (W - pad) / tw, rows = (H - pad) / th;
    *imgs = malloc(sizeof(float) * (size_t)cols * rows * h * w);
    CHECK(*imgs != NULL, "out of memory for %d images", cols * rows);
    *n = 0;
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) {
            int x0 = pad + c * tw, y0 = pad + r * th;
            if (tile_empty(pix, W, x0, y0, w * scale, h * scale)) continue;
            float *img = *imgs + (size_t)*n * h * w;
            for (int y = 0; y < h; y++)   /* the centre pixel of each scale x scale block */
                for (int x = 0; x < w; x++) img[y * w + x] = pix[(size_t)(y0 + y * scale + scale / 2) * W + x0 + x * scale + scale / 2] / 255.0f;
            (*n)++;
        }
    stbi_image_free(pix);
    return 0;
}

int image_samples_write(const char *dir, const char *name, const float *x, int n, int cols, int scale, float lo, float hi) {
    char png[600], idx[600];
    snprintf(png, sizeof png, "%s/%s.png", dir, name);
    snprintf(idx, sizeof idx, "%s/%s.idx-ubyte", dir, name);
    int rc = image_grid_png(png, x, n, 1, 28, 28, cols, lo, hi, scale, 2);
    return rc ? rc : fmnist_images_write(idx, x, n, lo, hi);
}

int image_grid_cols(int n) {
    int c = 1;
    while (c * c < n) c++;
    return c;
}
