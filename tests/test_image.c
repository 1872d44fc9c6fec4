/* Tests of common/image: a grid PNG decodes to the bytes its values map to, and NaN / inf values are drawn
 * (NaN as lo, +-inf clamped) instead of being cast to a byte, which C leaves undefined (issue 16.5). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <unistd.h>
#include "image.h"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wunused-function"
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
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

Suite *suite_image(void) {
    Suite *s = suite_create("image");
    TCase *tc = tcase_create("grid");
    tcase_add_test(tc, test_grid_bytes_and_nonfinite_values);
    suite_add_tcase(s, tc);
    return s;
}
