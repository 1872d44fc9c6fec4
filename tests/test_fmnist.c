/* Tests of common/fmnist: the IDX loader on files made here (good, truncated, bad magic, mismatched
 * counts, gzip and plain), and on Debian's real test set. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
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


/* Read a whole file into a malloc'd buffer; its length into *n. */
static unsigned char *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(*n);
    ck_assert_uint_eq(fread(b, 1, *n, f), *n);
    fclose(f);
    return b;
}

/* Every cut of the gzip file (inside the trailer too: CRC-32 and length are its last 8 bytes) is refused, and
 * every single-bit flip is refused or loads exactly the original labels (a flip in the gzip header's time
 * stamp or OS byte changes no data): a damaged file never loads different bytes. stride > 1 tries every
 * stride-th cut and bit, and every one in the 10-byte header and the last 64 bytes. Returns the flips refused. */
static int cut_and_flip(const char *gz_path, const char *bad, size_t stride, int *tried) {
    size_t len, n_good;
    unsigned char *file = slurp(gz_path, &len), *good, *got;
    uint32_t dims[1];
    ck_assert_int_eq(fmnist_idx_read(gz_path, 0x801, 1, dims, &good), 0);
    n_good = dims[0];
    FILE *saved = stderr;
    stderr = fopen("/dev/null", "w");   /* thousands of one-line refusals */
    for (size_t cut = 0; cut < len; cut += (cut < 10 || cut + 64 >= len) ? 1 : stride) {
        FILE *f = fopen(bad, "wb"); fwrite(file, 1, cut, f); fclose(f);
        int rc = fmnist_idx_read(bad, 0x801, 1, dims, &got);
        if (rc == 0) free(got);
        ck_assert_msg(rc != 0, "%s cut to %zu of %zu bytes loaded", gz_path, cut, len);
    }
    int refused = 0;
    *tried = 0;
    for (size_t bit = 0; bit < 8 * len; bit += (bit < 80 || bit + 512 >= 8 * len) ? 1 : stride) {
        file[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        (*tried)++;
        FILE *f = fopen(bad, "wb"); fwrite(file, 1, len, f); fclose(f);
        file[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        if (fmnist_idx_read(bad, 0x801, 1, dims, &got)) { refused++; continue; }
        ck_assert_msg(dims[0] == n_good && memcmp(got, good, n_good) == 0, "bit %zu of %s flipped: loaded other labels", bit, gz_path);
        free(got);
    }
    fclose(stderr);
    stderr = saved;
    free(good);
    free(file);
    return refused;
}

START_TEST(test_gzip_cut_or_flipped_never_loads) {
    char ip[96], lp[96], bad[128];
    write_idx(4, 1, 0, ip, lp);   /* makes dir; the labels file below is written with gzip's CRC and length */
    size_t lab_len;
    free(slurp(lp, &lab_len));
    for (int cut = 1; cut <= 8; cut++) {   /* the pair loader too: its label file's trailer cut, once an accepted file */
        ck_assert_int_eq(truncate(lp, (off_t)(lab_len - (size_t)cut)), 0);
        Fmnist fm;
        ck_assert_msg(fmnist_load_files(&fm, ip, lp, 0) != 0, "labels with %d trailer bytes cut loaded", cut);
    }
    snprintf(lp, sizeof lp, "%s/labels.gz", dir);
    unsigned char lab[8 + 300] = { 0, 0, 8, 1, 0, 0, 1, 44 };   /* 300 labels */
    for (int i = 0; i < 300; i++) lab[8 + i] = (unsigned char)((i * 7) % 10);
    gzFile g = gzopen(lp, "wb");
    gzwrite(g, lab, sizeof lab);
    gzclose(g);
    snprintf(bad, sizeof bad, "%s/bad.gz", dir);
    int tried, refused = cut_and_flip(lp, bad, 1, &tried);
    printf("fmnist synthetic gzip labels: every cut refused; of %d single-bit flips %d refused, the rest load the same bytes\n", tried, refused);
    const char *real = FMNIST_DIR "/t10k-labels-idx1-ubyte.gz";
    FILE *f = fopen(real, "rb");
    if (f) {   /* Debian's real file (make deps installs it) */
        fclose(f);
        refused = cut_and_flip(real, bad, 61, &tried);   /* 5125 bytes: ~150 cuts, ~1200 flips */
        printf("fmnist %s: every cut refused; of %d single-bit flips %d refused, the rest load the same bytes\n", real, tried, refused);
    }
    remove_dir();
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
    tcase_add_test(tc, test_gzip_cut_or_flipped_never_loads);
    tcase_add_test(tc, test_images_write_read_round_trip);
    suite_add_tcase(s, tc);
    return s;
}
