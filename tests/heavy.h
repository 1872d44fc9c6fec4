/* heavy.h: the sample counts of the heaviest statistical tests, smaller under make sanitize.
 *
 *   enum { N = HEAVY(200000) };      200000 particles normally, 200000 / HEAVY_DIV under the sanitizers
 *
 * The sanitizer build (-DTEST_SANITIZE, make sanitize) runs code 5-20x slower; what it looks for (memory
 * errors, undefined behaviour) does not need statistical power. Only tests whose tolerance is computed from
 * the count (k standard errors, sqrt(v/N)) use HEAVY, so the claim is unchanged and only its power drops
 * (tolerances widen by sqrt(HEAVY_DIV)). The normal build (make test) is unchanged: HEAVY(n) = n. */
#ifndef TESTS_HEAVY_H
#define TESTS_HEAVY_H

#ifdef TEST_SANITIZE
#define HEAVY_DIV 8
#else
#define HEAVY_DIV 1
#endif
#define HEAVY(n) ((n) / HEAVY_DIV)

#endif
