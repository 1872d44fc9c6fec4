/* Replays of the fuzz targets (fuzz/targets.h): every seed of fuzz/corpus/<target>/ and every crash input kept
 * in fuzz/regressions/<target>/ must run through its loader without a crash (make sanitize checks memory and
 * undefined behaviour on them as well). A new crash input found by make fuzz is committed there and then
 * replayed here forever. */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "targets.h"

/* Run every file of dir through target; returns how many ran (0 if the directory does not exist). */
static int replay_dir(const char *dir, const FuzzTarget *target) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    int ran = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || !strcmp(e->d_name, "README")) continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "rb");
        ck_assert_msg(f != NULL, "cannot open %s", path);
        static unsigned char buf[1 << 20];
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        ck_assert_int_eq(target->run(buf, n), 0);
        ran++;
    }
    closedir(d);
    return ran;
}

START_TEST(test_fuzz_replay) {
    const FuzzTarget *t = &FUZZ_TARGETS[_i];
    char dir[128];
    snprintf(dir, sizeof dir, "fuzz/corpus/%s", t->name);
    int seeds = replay_dir(dir, t);
    snprintf(dir, sizeof dir, "fuzz/regressions/%s", t->name);
    int crashes = replay_dir(dir, t);
    printf("fuzz %s: %d seeds and %d kept crash inputs replayed\n", t->name, seeds, crashes);
    ck_assert_int_gt(seeds, 0);   /* run from the repository root, where make test runs */
}
END_TEST

Suite *suite_fuzz(void) {
    Suite *s = suite_create("fuzz");
    TCase *tc = tcase_create("replay");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_fuzz_replay, 0, 3);
    suite_add_tcase(s, tc);
    return s;
}
