/* Tests of common/cli's flag parser: bad usage is exit 2 with one line, never a crash or a silent default. */
#include <check.h>
#include <omp.h>
#include <stdio.h>
#include <string.h>
#include "cli.h"

static const char *const DATA[] = { "gmm", "swissroll", NULL };
static const CliSpec SPEC = { "chX", "test program", CLI_DATA | CLI_STEPS | CLI_SAMPLES | CLI_TRAIN, DATA, "the test model" };

/* Parse a NULL-terminated list of arguments (argv[0] added); stderr is silenced. */
static int parse(Opts *o, const char *const *args) {
    char *argv[16] = { "chX" };
    int argc = 1;
    while (args[argc - 1]) { argv[argc] = (char *)args[argc - 1]; argc++; }
    FILE *saved = stderr;
    stderr = fopen("/dev/null", "w");
    int rc = cli_parse(o, argc, argv, &SPEC);
    fclose(stderr);
    stderr = saved;
    return rc;
}

START_TEST(test_cli_good_flags) {
    Opts o;
    const char *const a[] = { "--seed", "7", "--out=/tmp/x", "--samples", "3", "--steps=10", "--data", "gmm", "--quiet", NULL };
    ck_assert_int_eq(parse(&o, a), 0);
    ck_assert_uint_eq(o.seed, 7);
    ck_assert_str_eq(o.out, "/tmp/x");
    ck_assert_int_eq(o.samples, 3);
    ck_assert_int_eq(o.steps, 10);
    ck_assert_str_eq(o.data, "gmm");
}
END_TEST

/* Each is refused with 2: an empty value (--out "" read past the string's end), out of range, not a number,
 * an unknown flag or data set, a missing value. */
START_TEST(test_cli_bad_usage_is_2) {
    static const char *const bad[][3] = {
        { "--out", "", NULL }, { "--out=", NULL, NULL }, { "--ckpt", "", NULL }, { "--cell=", NULL, NULL },
        { "--samples", "0", NULL }, { "--samples", "-1", NULL }, { "--steps", "1e3", NULL }, { "--seed", "99999999999999999999", NULL },
        { "--threads", "257", NULL }, { "--data", "moons", NULL }, { "--bogus", NULL, NULL }, { "--seed", NULL, NULL }, { "x", NULL, NULL },
    };
    for (int i = 0; i < COUNT_OF(bad); i++) {
        Opts o;
        ck_assert_msg(parse(&o, bad[i]) == 2, "case %d (%s %s) not refused", i, bad[i][0], bad[i][1] ? bad[i][1] : "");
    }
}
END_TEST

/* cli_threads_begin/end: a fresh pick runs on all threads until timed (its first call, a change of count, is not
 * timed), then on one until timed; then on whichever has the smaller moving average, except two calls on the other
 * every CLI_PICK_PROBE. Fed made-up timings: with one thread twice as fast it runs on one thread but for the probes;
 * when the machine changes (two threads now faster) the probes notice and it switches within a few of them. Each
 * call puts OpenMP's thread count back. One thread available: always 1, nothing recorded. */
/* The spin length in rounds: clamped to [100, 100000] (never 0, which would make libgomp sleep at once, nor
 * unbounded), and longer for a longer time. */
START_TEST(test_spin_rounds_clamped_and_growing) {
    ck_assert_int_eq(cli_spin_rounds(0), 100);
    ck_assert_int_eq(cli_spin_rounds(1e9), 100000);
    long r = cli_spin_rounds(CLI_OMP_SPIN_US);
    ck_assert(r >= 100 && r <= 100000);
    ck_assert(cli_spin_rounds(100 * CLI_OMP_SPIN_US) >= r);
}
END_TEST

START_TEST(test_threads_pick_follows_timings) {
    int saved = omp_get_max_threads();
    omp_set_num_threads(2);
    ThreadPick p = { { 0, 0 }, 0, 0, 0, 0, 0, 0, 0 };
    static const int first[4] = { 2, 2, 1, 1 };
    for (int i = 0; i < 4; i++) {
        int t = cli_threads_begin(&p);
        ck_assert_int_eq(t, first[i]);
        ck_assert_int_eq(omp_get_max_threads(), t);
        cli_threads_end(&p, t == 2 ? 2.0 : 1.0);
    }
    ck_assert(p.avg[0] == 1.0 && p.avg[1] == 2.0);
    int on_two = 0;
    for (int i = 0; i < 10 * CLI_PICK_PROBE; i++) {   /* one thread: 1 s, two: 2 s */
        int t = cli_threads_begin(&p);
        on_two += t == 2;
        cli_threads_end(&p, t == 2 ? 2.0 : 1.0);
    }
    ck_assert_int_eq(on_two, 26);   /* exactly the probes, two calls each: 16, 32, 64, 128 calls apart, then 256 */
    cli_threads_begin(&p);
    cli_threads_end(&p, 100.0);     /* one preempted call: counts as 2 s, the average 1.25 s, still the faster */
    ck_assert(p.avg[0] == 1.25);
    ck_assert_int_eq(cli_threads_begin(&p), 1);
    cli_threads_end(&p, 1.0);
    int on_one_late = 0, on_one_after = 0;
    for (int i = 0; i < 10 * CLI_PICK_PROBE; i++) {   /* now two threads: 0.5 s; switched at the next probe */
        int t = cli_threads_begin(&p);
        if (i >= CLI_PICK_PROBE) on_one_after += t == 1;
        if (i >= 5 * CLI_PICK_PROBE) on_one_late += t == 1;
        cli_threads_end(&p, t == 2 ? 0.5 : 1.0);
    }
    ck_assert(p.avg[1] == 0.5);               /* the probe's 0.5 s replaced the average of 2 s at once */
    ck_assert_int_eq(on_one_after, 18);       /* after the first 256 calls: on two threads but for 9 probes */
    ck_assert_int_eq(on_one_late, 10);        /* the second half: on two threads but for 5 probes */
    ck_assert_int_eq(omp_get_max_threads(), 2);   /* each call put the count back */
    omp_set_num_threads(1);
    ThreadPick q = { { 0, 0 }, 0, 0, 0, 0, 0, 0, 0 };
    for (int i = 0; i < 5; i++) { ck_assert_int_eq(cli_threads_begin(&q), 1); cli_threads_end(&q, 1.0); }
    ck_assert(q.avg[0] == 0 && q.avg[1] == 0);
    omp_set_num_threads(saved);
}
END_TEST

Suite *suite_cli(void) {
    Suite *s = suite_create("cli");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, test_cli_good_flags);
    tcase_add_test(tc, test_cli_bad_usage_is_2);
    tcase_add_test(tc, test_threads_pick_follows_timings);
    tcase_add_test(tc, test_spin_rounds_clamped_and_growing);
    suite_add_tcase(s, tc);
    return s;
}
