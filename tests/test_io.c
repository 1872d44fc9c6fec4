/* Tests of common/io: atomic writes, safetensors round trip and rejection of damaged files. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "io.h"
#include "rng.h"

static char dir[64];
/* Remove this test's temporary directory (tests leave nothing behind in /tmp). */
static void remove_dir(void) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static void make_dir(void) { strcpy(dir, "/tmp/test_io_XXXXXX"); ck_assert_ptr_nonnull(mkdtemp(dir)); }

static float w[12], b[3];
static IoTensor pair(float *wd, float *bd, int i) {
    IoTensor t[2] = { { "layer.weight", 2, { 3, 4 }, wd }, { "layer.bias", 1, { 3 }, bd } };
    return t[i];
}

static void write_model(const char *path) {
    Rng r = rng_seed(1);
    rng_normal_fill(&r, w, 12);
    rng_normal_fill(&r, b, 3);
    IoTensor t[2] = { pair(w, b, 0), pair(w, b, 1) };
    ck_assert_int_eq(io_safetensors_write(path, t, 2, "{\"step\": \"42\"}"), 0);
}

/* The bytes of a small file, into buf (cap bytes); returns the length. */
static size_t read_file(const char *path, unsigned char *buf, size_t cap) {
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

START_TEST(test_safetensors_round_trip_bitwise) {
    make_dir();
    char path[128];
    snprintf(path, sizeof path, "%s/m.safetensors", dir);
    write_model(path);
    float w2[12] = {0}, b2[3] = {0};
    IoTensor t[2] = { pair(w2, b2, 0), pair(w2, b2, 1) };
    ck_assert_int_eq(io_safetensors_read_into(path, t, 2), 0);
    ck_assert_int_eq(memcmp(w, w2, sizeof w), 0);
    ck_assert_int_eq(memcmp(b, b2, sizeof b), 0);
    char step[16];
    ck_assert_int_eq(io_safetensors_metadata(path, "step", step, sizeof step), 0);
    ck_assert_str_eq(step, "42");
    ck_assert_int_ne(io_safetensors_metadata(path, "nope", step, sizeof step), 0);
    if (dir[0]) remove_dir();
}
END_TEST

/* A missing tensor and a shape mismatch are reported, not papered over. */
START_TEST(test_safetensors_rejects_missing_and_wrong_shape) {
    make_dir();
    char path[128];
    snprintf(path, sizeof path, "%s/m.safetensors", dir);
    write_model(path);
    float buf[12];
    IoTensor missing = { "other", 1, { 3 }, buf }, wrong = { "layer.weight", 2, { 4, 3 }, buf };
    ck_assert_int_ne(io_safetensors_read_into(path, &missing, 1), 0);
    ck_assert_int_ne(io_safetensors_read_into(path, &wrong, 1), 0);
    if (dir[0]) remove_dir();
}
END_TEST

/* Every truncation of a valid file is rejected (the data section is exact), and flipping any single
 * byte never crashes: the reader either rejects the file or reads values (a flipped data byte is valid). */
START_TEST(test_safetensors_truncation_and_byte_flips) {
    make_dir();
    char path[128], bad[128];
    snprintf(path, sizeof path, "%s/m.safetensors", dir);
    snprintf(bad, sizeof bad, "%s/bad.safetensors", dir);
    write_model(path);
    unsigned char file[4096];
    size_t n = read_file(path, file, sizeof file);
    float w2[12], b2[3];
    IoTensor t[2] = { pair(w2, b2, 0), pair(w2, b2, 1) };
    for (size_t len = 0; len < n; len++) {
        ck_assert_int_eq(io_write_atomic(bad, file, len), 0);
        ck_assert_int_ne(io_safetensors_read_into(bad, t, 2), 0);
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char copy[4096];
        memcpy(copy, file, n);
        copy[i] ^= 0x5A;
        ck_assert_int_eq(io_write_atomic(bad, copy, n), 0);
        int rc = io_safetensors_read_into(bad, t, 2);
        ck_assert(rc == 0 || rc == 1);
        if (i < 8) ck_assert_int_ne(rc, 0);   /* a changed header length never passes */
    }
    if (dir[0]) remove_dir();
}
END_TEST

/* Overlapping data_offsets are rejected even when every size matches. */
START_TEST(test_safetensors_rejects_overlap) {
    make_dir();
    char path[128];
    snprintf(path, sizeof path, "%s/o.safetensors", dir);
    const char *hdr = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}";
    unsigned char file[256] = {0};
    size_t hl = strlen(hdr);
    file[0] = (unsigned char)hl;
    memcpy(file + 8, hdr, hl);
    ck_assert_int_eq(io_write_atomic(path, file, 8 + hl + 12), 0);
    float buf[2];
    IoTensor t = { "a", 1, { 2 }, buf };
    ck_assert_int_ne(io_safetensors_read_into(path, &t, 1), 0);
    if (dir[0]) remove_dir();
}
END_TEST

/* Atomic writes: success leaves no temporary; a write into a missing directory fails cleanly. */
START_TEST(test_atomic_write) {
    make_dir();
    char path[128], cmd[256];
    snprintf(path, sizeof path, "%s/x.bin", dir);
    ck_assert_int_eq(io_write_atomic(path, "abc", 3), 0);
    snprintf(cmd, sizeof cmd, "test $(ls %s | wc -l) -eq 1", dir);
    ck_assert_int_eq(system(cmd), 0);
    snprintf(path, sizeof path, "%s/no/such/x.bin", dir);
    ck_assert_int_ne(io_write_atomic(path, "abc", 3), 0);
    snprintf(path, sizeof path, "%s/a/b/c", dir);
    ck_assert_int_eq(io_mkdir_p(path), 0);
    ck_assert_int_ne(io_mkdir_p("/proc/forbidden"), 0);
    snprintf(path, sizeof path, "%s/d/e/f.bin", dir);
    ck_assert_int_eq(io_mkdir_for(path), 0);
    ck_assert_int_eq(io_write_atomic(path, "abc", 3), 0);
    ck_assert_int_eq(io_mkdir_for("bare_name.bin"), 0);
    if (dir[0]) remove_dir();
}
END_TEST

START_TEST(test_sibling_path) {
    char out[128];
    io_sibling_path("checkpoints/ch2_fmnist.safetensors", "_loss.dat", out, sizeof out);
    ck_assert_str_eq(out, "checkpoints/ch2_fmnist_loss.dat");
    io_sibling_path("a.b/model", "_loss.dat", out, sizeof out);      /* a dot in a directory is not an extension */
    ck_assert_str_eq(out, "a.b/model_loss.dat");
    io_sibling_path(".hidden", "_x", out, sizeof out);
    ck_assert_str_eq(out, ".hidden_x");
}
END_TEST


/* Write a raw safetensors file: the 8-byte length hl, the header text, then nd zero bytes of data. */
static void write_raw(const char *path, const char *hdr, size_t hl, size_t nd) {
    unsigned char file[1024] = {0};
    ck_assert_uint_le(8 + strlen(hdr) + nd, sizeof file);
    for (int i = 0; i < 8; i++) file[i] = (unsigned char)((unsigned long long)hl >> (8 * i));
    memcpy(file + 8, hdr, strlen(hdr));
    ck_assert_int_eq(io_write_atomic(path, file, 8 + strlen(hdr) + nd), 0);
}

/* A header length a few bytes short (the JSON still ends in '}' inside the padding) or long shifts every
 * weight: the tensors then do not tile the data section, which the format requires, so it is refused. */
START_TEST(test_safetensors_rejects_shifted_header_length) {
    make_dir();
    char path[128], bad[128];
    snprintf(path, sizeof path, "%s/m.safetensors", dir);
    snprintf(bad, sizeof bad, "%s/bad.safetensors", dir);
    write_model(path);
    unsigned char file[4096];
    size_t n = read_file(path, file, sizeof file);
    float w2[12], b2[3];
    IoTensor t[2] = { pair(w2, b2, 0), pair(w2, b2, 1) };
    for (int delta = -8; delta <= 8; delta++) {
        if (delta == 0) continue;
        unsigned char copy[4096];
        memcpy(copy, file, n);
        copy[0] = (unsigned char)(copy[0] + delta);   /* the header is < 200 bytes: only byte 0 is nonzero */
        ck_assert_int_eq(io_write_atomic(bad, copy, n), 0);
        ck_assert_msg(io_safetensors_read_into(bad, t, 2) != 0, "header length %+d accepted", delta);
    }
    if (dir[0]) remove_dir();
}
END_TEST

/* The layout rules one by one: a gap, bytes after the last tensor, a tensor not at 0, a repeated name. */
START_TEST(test_safetensors_rejects_gaps_and_duplicates) {
    make_dir();
    char path[128];
    snprintf(path, sizeof path, "%s/g.safetensors", dir);
    static const char *const hdr[4] = {
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[12,16]}}",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[12,16]}}",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}",
    };
    float buf[2];
    IoTensor t = { "a", 1, { 2 }, buf };
    for (int k = 0; k < 4; k++) {
        write_raw(path, hdr[k], strlen(hdr[k]), 16);
        ck_assert_msg(io_safetensors_read_into(path, &t, 1) != 0, "layout %d accepted", k);
    }
    write_raw(path, hdr[1], strlen(hdr[1]), 12);   /* the same file, exact: accepted */
    ck_assert_int_eq(io_safetensors_read_into(path, &t, 1), 0);
    if (dir[0]) remove_dir();
}
END_TEST

/* --ckpt naming a directory or a FIFO: one line and a failure, never an abort or a wait for a writer. */
START_TEST(test_safetensors_refuses_directory_and_fifo) {
    make_dir();
    char path[128];
    float buf[2];
    IoTensor t = { "a", 1, { 2 }, buf };
    ck_assert_int_ne(io_safetensors_read_into(dir, &t, 1), 0);
    snprintf(path, sizeof path, "%s/fifo", dir);
    ck_assert_int_eq(mkfifo(path, 0600), 0);
    ck_assert_int_ne(io_safetensors_read_into(path, &t, 1), 0);
    ck_assert_int_ne(io_safetensors_metadata(path, "step", (char *)buf, sizeof buf), 0);
    if (dir[0]) remove_dir();
}
END_TEST

/* Names and dtypes come from the file: printed with control characters escaped, never raw. */
START_TEST(test_safetensors_escapes_file_text) {
    make_dir();
    char path[128], log[128];
    snprintf(path, sizeof path, "%s/e.safetensors", dir);
    snprintf(log, sizeof log, "%s/stderr.txt", dir);
    const char *hdr = "{\"a\":{\"dtype\":\"F\x1b[2J\x07\",\"shape\":[2],\"data_offsets\":[0,8]}}";
    write_raw(path, hdr, strlen(hdr), 8);
    float buf[2];
    IoTensor t = { "a", 1, { 2 }, buf };
    fflush(stderr);
    int saved = dup(2);
    ck_assert_ptr_nonnull(freopen(log, "w", stderr));
    int rc = io_safetensors_read_into(path, &t, 1);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    ck_assert_int_ne(rc, 0);
    FILE *f = fopen(log, "rb");
    char text[512] = {0};
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    ck_assert_uint_gt(n, 0);
    ck_assert_ptr_null(memchr(text, 0x1b, n));
    ck_assert_ptr_null(memchr(text, 0x07, n));
    ck_assert_ptr_nonnull(strstr(text, "F\\x1b[2J\\x07"));
    if (dir[0]) remove_dir();
}
END_TEST

/* One open serves metadata and tensors (the loader reads and parses the file once). */
START_TEST(test_safetensors_open_once) {
    make_dir();
    char path[128];
    snprintf(path, sizeof path, "%s/m.safetensors", dir);
    write_model(path);
    IoSafetensors st;
    ck_assert_int_eq(io_safetensors_open(&st, path), 0);
    char step[16], tiny[2];
    ck_assert_int_eq(io_safetensors_meta(&st, "step", step, sizeof step), 0);
    ck_assert_str_eq(step, "42");
    ck_assert_int_ne(io_safetensors_meta(&st, "step", tiny, sizeof tiny), 0);   /* "42" needs 3 bytes */
    float w2[12] = {0}, b2[3] = {0};
    IoTensor t[2] = { pair(w2, b2, 0), pair(w2, b2, 1) };
    ck_assert_int_eq(io_safetensors_tensors(&st, t, 2), 0);
    ck_assert_int_eq(memcmp(w, w2, sizeof w), 0);
    io_safetensors_close(&st);
    if (dir[0]) remove_dir();
}
END_TEST

/* --out "": an empty directory name is an error (it used to read past the string's end). */
START_TEST(test_mkdir_empty_name) {
    ck_assert_int_ne(io_mkdir_p(""), 0);
}
END_TEST

Suite *suite_io(void) {
    Suite *s = suite_create("io");
    TCase *tc = tcase_create("safetensors");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_safetensors_round_trip_bitwise);
    tcase_add_test(tc, test_safetensors_rejects_missing_and_wrong_shape);
    tcase_add_test(tc, test_safetensors_truncation_and_byte_flips);
    tcase_add_test(tc, test_safetensors_rejects_overlap);
    tcase_add_test(tc, test_safetensors_rejects_shifted_header_length);
    tcase_add_test(tc, test_safetensors_rejects_gaps_and_duplicates);
    tcase_add_test(tc, test_safetensors_refuses_directory_and_fifo);
    tcase_add_test(tc, test_safetensors_escapes_file_text);
    tcase_add_test(tc, test_safetensors_open_once);
    tcase_add_test(tc, test_mkdir_empty_name);
    tcase_add_test(tc, test_atomic_write);
    tcase_add_test(tc, test_sibling_path);
    suite_add_tcase(s, tc);
    return s;
}
