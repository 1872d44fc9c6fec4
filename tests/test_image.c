/* Tests of common/image: a grid PNG decodes to the bytes its values map to, and NaN / inf values are drawn
 * (NaN as lo, +-inf clamped) instead of being cast to a byte, which C leaves undefined (issue 16.5); a PNG grid
 * read back by image_grid_read gives the images that were written, for
 * several scales, borders and an unfilled last row. Pixels are 8-bit: values in [0, 1] come back to within
 * half a level, 0.5/255 (tol 0.51/255 for float roundoff). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "image.h"
#include "rng.h"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wunused-function"
#include <stb/stb_image.h>
#pragma GCC diagnostic pop

/* One 1 x 6 image, no padding, scale 1, range [-1, 1]: byte = round(255 (v + 1) / 2) after clamping. Exact. */
START_TEST(test_grid_bytes_and_nonfinite_values) {
    const float v[6] = { -1.0f, 1.0f, 0.0f, NAN, INFINITY, -INFINITY };
    const int want[6] = { 0, 255, 128, 0, 255, 0 };
    char path[128];
    snprintf(path, sizeof path, "/tmp/test_image_%ld.png", (long)getpid());
    ck_assert_int_eq(image_grid_png(path, v, 1, 1, 1, 6, 1, -1.0f, 1.0f, 1, 0), 0);
    int w, h, c;
    unsigned char *px = stbi_load(path, &w, &h, &c, 1);
    ck_assert_ptr_nonnull(px);
    ck_assert_int_eq(w, 6);
    ck_assert_int_eq(h, 1);
    for (int i = 0; i < 6; i++) ck_assert_int_eq(px[i], want[i]);
    stbi_image_free(px);
    unlink(path);
}
END_TEST

START_TEST(test_grid_round_trip) {
    static const int scale[3] = { 1, 3, 2 }, pad[3] = { 0, 2, 1 }, n_img[3] = { 7, 25, 5 }, cols[3] = { 3, 5, 4 };
    int k = _i, n = n_img[k];
    float *x = malloc(sizeof(float) * (size_t)n * 784), *back = NULL;
    Rng rng = rng_seed(11);
    for (int i = 0; i < n * 784; i++) x[i] = (float)rng_uniform(&rng);
    char path[64];
    snprintf(path, sizeof path, "/tmp/test_image_%d_%d.png", (int)getpid(), k);
    ck_assert_int_eq(image_grid_png(path, x, n, 1, 28, 28, cols[k], 0.0f, 1.0f, scale[k], pad[k]), 0);
    int got = 0;
    ck_assert_int_eq(image_grid_read(path, 28, 28, &back, &got), 0);
    ck_assert_int_eq(got, n);   /* the unfilled cells of the last row are not images */
    for (int i = 0; i < n * 784; i++) ck_assert_double_eq_tol(back[i], x[i], 0.51 / 255);
    free(back);
    free(x);
    unlink(path);
}
END_TEST

/* A picture that is no grid of 28 x 28 images is refused with a status, not a crash. */
START_TEST(test_grid_read_rejects_other_sizes) {
    float x[30 * 30] = { 0 };
    char path[64];
    snprintf(path, sizeof path, "/tmp/test_image_%d_bad.png", (int)getpid());
    ck_assert_int_eq(image_grid_png(path, x, 1, 1, 30, 30, 1, 0.0f, 1.0f, 1, 0), 0);
    float *back = NULL;
    int got = 0;
    ck_assert_int_ne(image_grid_read(path, 28, 28, &back, &got), 0);
    unlink(path);
}
END_TEST

Suite *suite_image(void) {
    Suite *s = suite_create("image");
    TCase *tc = tcase_create("grid");
    tcase_add_test(tc, test_grid_bytes_and_nonfinite_values);
    tcase_add_loop_test(tc, test_grid_round_trip, 0, 3);
    tcase_add_test(tc, test_grid_read_rejects_other_sizes);
    suite_add_tcase(s, tc);
    return s;
}
