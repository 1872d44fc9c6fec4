/* The programs as processes (built beside this test runner: build/ch1 ...; make test builds them first).
 *
 * Same seed, same bytes. One quick cell of every program is run as its own process three times: twice
 * with OMP_NUM_THREADS=1 and once with 2. Every .dat file it writes must be byte-identical across the two
 * serial runs (nothing reads the clock, the address space or uninitialised memory), and across 1 and 2
 * threads (OpenMP loops are schedule(static) with no parallel float reductions: STYLE.md habit 13).
 *
 * Every accepted value runs: --samples 1 on the cells that split their samples (n / 8, n / 2 became 0 and
 * aborted in tensor_init) must run to the end; with one sample a statistical check may fail (exit 1). */
#include <check.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const struct { const char *prog, *cell, *args; } CELLS[] = {
    { "ch1", "1.2", "" }, { "ch2", "2.7", "--samples 500" }, { "ch3", "3.2", "" }, { "ch4", "4.3", "" }, { "ch5", "5.2", "" },
    { "ddim", "d.3", "--samples 200" },                          /* the exact denoiser's OpenMP loop */
    { "flow", "f.1", "" },
    { "ch2", "2.8", "--steps 200 --samples 300 --data gmm" },    /* training: GEMM, Adam, the network's sampler */
};

static char dir[64];

/* Run prog --cell cell args with the given threads into dir/run<k>; returns the exit status (1: a check failed, as
 * with fewer samples than the cell's default; the bytes must be the same all the same). OMP_WAIT_POLICY=passive:
 * on a loaded machine spinning threads slow a 2-thread run by 10x or more; it changes no result. */
static int run(const char *prog, const char *cell, const char *args, int threads, int k) {
    char exe[PATH_MAX], cmd[2 * PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    ck_assert_int_gt(n, 0);
    exe[n] = '\0';
    *strrchr(exe, '/') = '\0';   /* the build directory */
    snprintf(cmd, sizeof cmd, "OMP_WAIT_POLICY=passive OMP_NUM_THREADS=%d %s/%s --cell %s %s --seed 5 --quiet --out %s/run%d > %s/log%d.txt 2>&1",
             threads, exe, prog, cell, args, dir, k, dir, k);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* The bytes of dir/run<k>/name, malloc'd; length in *len. */
static unsigned char *slurp(int k, const char *name, size_t *len) {
    char path[512];
    snprintf(path, sizeof path, "%s/run%d/%s", dir, k, name);
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "%s missing", path);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(*len + 1);
    ck_assert_uint_eq(fread(b, 1, *len, f), *len);
    fclose(f);
    return b;
}

/* Every .dat of run0 has an identical twin in run<k>; returns how many were compared. */
static int compare_runs(int i, int k) {
    char path[256];
    snprintf(path, sizeof path, "%s/run0", dir);
    DIR *d = opendir(path);
    ck_assert_ptr_nonnull(d);
    int compared = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name), la, lb;
        if (len < 4 || strcmp(e->d_name + len - 4, ".dat")) continue;
        unsigned char *a = slurp(0, e->d_name, &la), *b = slurp(k, e->d_name, &lb);
        ck_assert_msg(la == lb && memcmp(a, b, la) == 0, "%s --cell %s: %s differs between run 0 and run %d (%s)",
                      CELLS[i].prog, CELLS[i].cell, e->d_name, k, k == 1 ? "same seed, same threads" : "1 vs 2 threads");
        free(a);
        free(b);
        compared++;
    }
    closedir(d);
    return compared;
}

START_TEST(test_same_seed_same_bytes) {
    strcpy(dir, "/tmp/test_determinism_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    for (int k = 0; k < 3; k++)   /* runs 0, 1: one thread; 2: two */
        ck_assert_int_le(run(CELLS[_i].prog, CELLS[_i].cell, CELLS[_i].args, k < 2 ? 1 : 2, k), 1);
    int n1 = compare_runs(_i, 1), n2 = compare_runs(_i, 2);
    ck_assert_int_gt(n1, 0);
    printf("determinism %s --cell %s: %d .dat files identical across two runs and across 1 vs 2 threads\n",
           CELLS[_i].prog, CELLS[_i].cell, n2);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

static const struct { const char *prog, *cell; } SPLITS[] = { { "ch4", "4.5" }, { "ddim", "d.4" }, { "ddim", "d.5" } };

START_TEST(test_one_sample_runs) {
    strcpy(dir, "/tmp/test_programs_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    int rc = run(SPLITS[_i].prog, SPLITS[_i].cell, "--samples 1 --steps 200", 2, 0);
    ck_assert_msg(rc <= 1, "%s --cell %s --samples 1: exit %d (crashed)", SPLITS[_i].prog, SPLITS[_i].cell, rc);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* ./score's sampler is named: an unknown or missing name is a usage error (2) before any file is read. */
START_TEST(test_score_sampler_names) {
    static const char *const bad[] = { "--sampler xyz x.safetensors", "--sampler", "--sampler PC x.safetensors", "--sampler 1 x.safetensors" };
    char exe[PATH_MAX], cmd[2 * PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    ck_assert_int_gt(n, 0);
    exe[n] = '\0';
    *strrchr(exe, '/') = '\0';
    for (int k = 0; k < 4; k++) {
        snprintf(cmd, sizeof cmd, "%s/score %s > /dev/null 2>&1", exe, bad[k]);
        int st = system(cmd);
        ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 2, "score %s: status %d, want exit 2", bad[k], st);
    }
}
END_TEST

Suite *suite_programs(void) {
    Suite *s = suite_create("programs");
    TCase *tc = tcase_create("determinism");
    tcase_set_timeout(tc, 300);
#ifndef TEST_SANITIZE   /* under make sanitize the programs run 10x slower; their memory is checked by the fuzz replays */
    tcase_add_loop_test(tc, test_same_seed_same_bytes, 0, (int)(sizeof CELLS / sizeof CELLS[0]));
    tcase_add_loop_test(tc, test_one_sample_runs, 0, (int)(sizeof SPLITS / sizeof SPLITS[0]));
    tcase_add_test(tc, test_score_sampler_names);
#endif
    suite_add_tcase(s, tc);
    return s;
}
