/* base.h: the few macros every module of common/ uses.
 *
 *   CHECK(n > 0, "n = %d", n);      programmer error: print file:line and abort
 *   COUNT_OF(CELLS)                 number of elements of a static array
 *   int f(void) MUST_USE;           status-returning functions: 0 ok, nonzero failure
 *
 * Two kinds of error (STYLE.md, habit 8): a broken invariant in our own code
 * (shape mismatch, index out of range, arena overflow) is a CHECK and aborts even
 * in release builds; a bad input or environment (missing file, bad flag, corrupt
 * checkpoint) is a returned int status with a message on stderr, and only main()
 * turns it into an exit code. common/ never calls exit().
 */
#ifndef BASE_H
#define BASE_H

#include <stdio.h>
#include <stdlib.h>

#define CHECK(cond, ...)                                                          \
    do {                                                                          \
        if (!(cond)) {                                                            \
            fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                         \
            fprintf(stderr, "\n");                                                \
            abort();                                                              \
        }                                                                         \
    } while (0)

#define COUNT_OF(a) ((int)(sizeof(a) / sizeof((a)[0])))

#define MUST_USE __attribute__((warn_unused_result))

#define PI 3.14159265358979323846

#endif
