/* image.h: image grids as PNG files, through stb_image_write (Debian libstb-dev).
 *
 *   image_grid_png("figures/samples.png", x, 36, 1, 28, 28, 6, -1.0f, 1.0f, 3, 2);
 *       36 grey 28 x 28 images (N, C, H, W) as a 6 x 6 grid, values in [-1, 1] mapped to 0..255,
 *       each pixel drawn 3 x 3, 2 grey pixels between images.
 *
 * Values outside [lo, hi] are clamped, +-inf too; NaN is drawn as lo and counted in a warning on stderr
 * (casting it to a byte would be undefined behaviour). image_grid_read reads such a grid back (for scoring).
 * The file is written atomically (io.h). Returns 0, or
 * nonzero after a message naming the file. Strips are grids with cols = strip length.
 */
#ifndef IMAGE_H
#define IMAGE_H

#include "base.h"

int image_grid_png(const char *path, const float *imgs, int n, int channels, int h, int w, int cols,
                   float lo, float hi, int scale, int pad) MUST_USE;
/* The inverse for grey grids: the h x w images of a PNG grid as written above (or a single image), with the
 * scale and border found from the picture (the smallest border 0..4, then scale 1..8, whose separating
 * lines are all border grey); unfilled cells (all border grey) are skipped. *imgs (n, h, w) in [0, 1] is
 * malloc'ed (the caller frees). Returns 0, or nonzero after a message naming the file. */
int image_grid_read(const char *path, int h, int w, float **imgs, int *n) MUST_USE;
/* Generated 28 x 28 samples a student can take away: DIR/NAME.png (grid of cols columns, pixels drawn
 * scale x scale, 2-pixel borders) and DIR/NAME.idx-ubyte (all n images in Fashion-MNIST's IDX format, for
 * ./score or any other tool). Pixels run from lo (black) to hi (white). Returns 0, or nonzero after a message. */
int image_samples_write(const char *dir, const char *name, const float *x, int n, int cols, int scale, float lo, float hi) MUST_USE;
/* Columns of a square-ish grid of n images: ceil(sqrt(n)). */
int image_grid_cols(int n);

#endif
