/* The test runner: every suite of tests/, one Check summary line at the end.
 *   make test                                   all suites
 *   CK_RUN_SUITE=ch2 CK_RUN_CASE=posterior make test   one suite, one case
 *   CK_FORK=no valgrind build/test_runner       under valgrind
 */
#include <check.h>
#include <stdlib.h>
#include "suites.h"

int main(void) {
    SRunner *sr = srunner_create(NULL);
    for (size_t i = 0; i < sizeof(SUITES) / sizeof(SUITES[0]); i++)
        srunner_add_suite(sr, SUITES[i]());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
