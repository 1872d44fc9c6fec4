/* fmnist.h: the Fashion-MNIST images (Xiao, Rasul and Vollgraf, 2017) from Debian's
 * dataset-fashion-mnist package, read from its gzip-compressed IDX files through zlib.
 *
 *   Fmnist fm;
 *   if (fmnist_load(&fm, NULL, 1, 0)) return 1;     // training set, all 60000 images
 *   float *img = fm.images + i * 28 * 28;            // pixel values in [0, 1]
 *   printf("%s\n", fmnist_class_name(fm.labels[i]));
 *   fmnist_free(&fm);
 *
 * IDX format: big-endian u32 magic (0x00000803 for images, 0x00000801 for labels), u32 counts
 * (and rows, cols for images), then unsigned bytes. Everything is validated: magic numbers, 28 x 28
 * images, equal image and label counts, labels in 0..9, the exact byte count (neither truncated nor
 * followed by extra bytes), and for gzip the end of the stream with its CRC-32 and length (a file cut
 * inside its 8-byte trailer, or with a flipped bit, is refused). Uncompressed files are read as well
 * (zlib passes them through).
 * Errors return nonzero with a message naming the file and what was expected; a missing file's
 * message names the Debian package. fmnist_load allocates; fmnist_free releases.
 */
#ifndef FMNIST_H
#define FMNIST_H

#include <stdint.h>
#include "base.h"

#define FMNIST_DIR "/usr/share/datasets/fashion-mnist"

typedef struct {
    int            n, h, w;    /* n images of h x w = 28 x 28 */
    float         *images;     /* (n, h, w) in [0, 1] */
    unsigned char *labels;     /* (n) class 0..9 */
} Fmnist;

/* Load the training (train = 1) or test set from dir (NULL: FMNIST_DIR); max_n > 0 keeps the first max_n. */
int         fmnist_load(Fmnist *fm, const char *dir, int train, int max_n) MUST_USE;
/* Load one pair of IDX files given by path. */
int         fmnist_load_files(Fmnist *fm, const char *images_path, const char *labels_path, int max_n) MUST_USE;
void        fmnist_free(Fmnist *fm);
/* One IDX file, whole: magic must be `magic`, then ndims (1..3) big-endian u32 dims (into dims), then exactly
 * dims[0] x ... x dims[ndims-1] bytes (into *payload, malloc'd; free it), then the end of the (gzip) stream. */
enum { FMNIST_MAX_BYTES = 1000000 * 784 };
int         fmnist_idx_read(const char *path, uint32_t magic, int ndims, uint32_t *dims, unsigned char **payload) MUST_USE;
/* An IDX image file alone (no labels; gzip or raw): *images (n, 28, 28) in [0, 1], malloc'ed (caller frees). */
int         fmnist_images_read(const char *path, float **images, int *n) MUST_USE;
/* n images x (n, 784) with pixels from lo (black) to hi (white) as an IDX ubyte file (magic 0x803, n, 28, 28,
 * then n*784 bytes, round(255 u) with u clamped to [0, 1]): Fashion-MNIST's own format, written atomically. */
int         fmnist_images_write(const char *path, const float *x, int n, float lo, float hi) MUST_USE;
const char *fmnist_class_name(int label);   /* "T-shirt/top", ..., "Ankle boot" */
/* The share of background pixels (darker than 0.1 of the way from lo to hi) in n images x (n, 784): about 0.5 for
 * Fashion-MNIST (clothing on black), about 0.05 for uniform noise. A cheap sanity check of generated images. */
double      fmnist_background_fraction(const float *x, int n, float lo, float hi);
/* The same share for the first n test images (the reference a sampler's check compares with), or -1 after
 * fmnist_load's message when the data set cannot be read. */
double      fmnist_test_background_fraction(int n);

#endif
