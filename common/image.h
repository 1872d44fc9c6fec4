/* image.h: image grids as PNG files, through stb_image_write (Debian libstb-dev).
 *
 *   image_grid_png("figures/samples.png", x, 36, 1, 28, 28, 6, -1.0f, 1.0f, 3, 2);
 *       36 grey 28 x 28 images (N, C, H, W) as a 6 x 6 grid, values in [-1, 1] mapped to 0..255,
 *       each pixel drawn 3 x 3, 2 grey pixels between images.
 *
 * Values outside [lo, hi] are clamped, +-inf too; NaN is drawn as lo and counted in a warning on stderr
 * (casting it to a byte would be undefined behaviour). The file is written atomically (io.h). Returns 0, or
 * nonzero after a message naming the file. Strips are grids with cols = strip length.
 */
#ifndef IMAGE_H
#define IMAGE_H

#include "base.h"

int image_grid_png(const char *path, const float *imgs, int n, int channels, int h, int w, int cols,
                   float lo, float hi, int scale, int pad) MUST_USE;

#endif
