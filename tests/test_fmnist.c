/* Tests of common/fmnist: the IDX loader on files made here (good, truncated, bad magic, mismatched
 * counts, gzip and plain), and on Debian's real test set. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "fmnist.h"

static char dir[64];

/* Remove this test's temporary directory (tests leave nothing behind in /tmp). */
static void remove_dir(void) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

/* Write an IDX pair of n images; gz selects gzip; flaw 1 truncates, 2 bad magic, 3 one label fewer. */
static void write_idx(int n, int gz, int flaw, char *ip, char *lp) {
    strcpy(dir, "/tmp/test_fmnist_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    sprintf(ip, "%s/img", dir);
    sprintf(lp, "%s/lbl", dir);
    unsigned char hdr[16] = { 0, 0, 8, 3, 0, 0, 0, (unsigned char)n, 0, 0, 0, 28, 0, 0, 0, 28 };
    unsigned char lh[8] = { 0, 0, 8, 1, 0, 0, 0, (unsigned char)(flaw == 3 ? n - 1 : n) };
    if (flaw == 2) hdr[3] = 4;
    unsigned char pix[784 * 4], lab[4];
    for (int i = 0; i < 784 * n; i++) pix[i] = (unsigned char)(i % 256);
    for (int i = 0; i < n; i++) lab[i] = (unsigned char)i;
    size_t npix = (size_t)784 * n - (flaw == 1 ? 100 : 0);
    if (gz) {
        gzFile f = gzopen(ip, "wb"); gzwrite(f, hdr, 16); gzwrite(f, pix, (unsigned)npix); gzclose(f);
        f = gzopen(lp, "wb"); gzwrite(f, lh, 8); gzwrite(f, lab, (unsigned)n); gzclose(f);
    } else {
        FILE *f = fopen(ip, "wb"); fwrite(hdr, 1, 16, f); fwrite(pix, 1, npix, f); fclose(f);
        f = fopen(lp, "wb"); fwrite(lh, 1, 8, f); fwrite(lab, 1, (size_t)n, f); fclose(f);
    }
}

START_TEST(test_good_files_load) {
    char ip[96], lp[96];
    write_idx(3, _i, 0, ip, lp);
    Fmnist fm;
    ck_assert_int_eq(fmnist_load_files(&fm, ip, lp, 0), 0);
    ck_assert_int_eq(fm.n, 3);
    ck_assert_int_eq(fm.labels[2], 2);
    ck_assert_double_eq_tol(fm.images[784 + 5], ((784 + 5) % 256) / 255.0, 1e-7);
    fmnist_free(&fm);
    if (dir[0]) remove_dir();
}
END_TEST

START_TEST(test_damaged_files_rejected) {
    char ip[96], lp[96];
    Fmnist fm;
    for (int flaw = 1; flaw <= 3; flaw++) {
        write_idx(3, _i, flaw, ip, lp);
        ck_assert_int_ne(fmnist_load_files(&fm, ip, lp, 0), 0);
        remove_dir();
    }
    dir[0] = '\0';
    ck_assert_int_ne(fmnist_load_files(&fm, "/nonexistent/img", "/nonexistent/lbl", 0), 0);
    if (dir[0]) remove_dir();
}
END_TEST

/* Debian's test set: 10000 images, labels 0..9 with 1000 of each, mean pixel 0.2868 (Fashion-MNIST's
 * published test-set mean 72.94/255 = 0.2860; tol 0.005 covers the rounding of that figure). */
START_TEST(test_real_test_set) {
    Fmnist fm;
    if (fmnist_load(&fm, NULL, 0, 0)) return;   /* not installed: make deps installs it; nothing to check */
    ck_assert_int_eq(fm.n, 10000);
    int count[10] = {0};
    double mean = 0;
    for (int i = 0; i < fm.n; i++) count[fm.labels[i]]++;
    for (long i = 0; i < (long)fm.n * 784; i++) mean += fm.images[i];
    for (int k = 0; k < 10; k++) ck_assert_int_eq(count[k], 1000);
    printf("fmnist test set mean pixel %.4f\n", mean / (fm.n * 784.0));
    ck_assert_double_eq_tol(mean / (fm.n * 784.0), 0.286, 0.005);
    fmnist_free(&fm);
    if (dir[0]) remove_dir();
}
END_TEST

/* fmnist_images_write then fmnist_images_read gives back every pixel to the 8-bit quantisation: values in [-1, 1]
 * map to round(255 u), u = (x + 1)/2, so the error is at most half a level, 0.5/255 (+ float roundoff: tol 0.51/255);
 * values outside the range come back clamped to 0 or 1. The same file is also a valid image file for fmnist_load_files'
 * reader (the IDX layout of Fashion-MNIST itself). */
START_TEST(test_images_write_read_round_trip) {
    enum { n = 3 };
    float x[n * 784], *back = NULL;
    for (int i = 0; i < n * 784; i++) x[i] = (float)((i % 97) / 48.0 - 1.0) * 1.02f;   /* a little outside [-1, 1] too */
    strcpy(dir, "/tmp/test_fmnist_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof path, "%s/samples.idx-ubyte", dir);
    ck_assert_int_eq(fmnist_images_write(path, x, n, -1.0f, 1.0f), 0);
    int got = 0;
    ck_assert_int_eq(fmnist_images_read(path, &back, &got), 0);
    ck_assert_int_eq(got, n);
    for (int i = 0; i < n * 784; i++) {
        double u = (x[i] + 1.0) / 2.0;
        u = u < 0 ? 0 : u > 1 ? 1 : u;
        ck_assert_double_eq_tol(back[i], u, 0.51 / 255);
    }
    free(back);
    remove_dir();
}
END_TEST

Suite *suite_fmnist(void) {
    Suite *s = suite_create("fmnist");
    TCase *tc = tcase_create("idx");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_good_files_load, 0, 2);
    tcase_add_loop_test(tc, test_damaged_files_rejected, 0, 2);
    tcase_add_test(tc, test_real_test_set);
    tcase_add_test(tc, test_images_write_read_round_trip);
    suite_add_tcase(s, tc);
    return s;
}
