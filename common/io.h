/* io.h: files written atomically, and directories made on demand.
 *
 *   char tmp[600];
 *   FILE *f = io_atomic_open("figures/x.dat", tmp, sizeof tmp);   // writes figures/x.dat.tmp.<pid>
 *   if (!f) return 1;
 *   fprintf(f, ...);
 *   if (io_atomic_commit(f, tmp, "figures/x.dat")) return 1;      // flush, close, rename
 *
 * A reader never sees a half-written file: until the rename the old file (if any) is intact, and a
 * failed write removes the temporary. Errors return nonzero after one line on stderr naming the
 * file and the reason, with a hint.
 */
#ifndef IO_H
#define IO_H

#include <stddef.h>
#include <stdio.h>
#include "base.h"

/* Create dir and its parents (like mkdir -p) and check it is writable. */
int   io_mkdir_p(const char *dir) MUST_USE;
/* Open a temporary beside path for writing; its name goes into tmp_out. NULL on failure. */
FILE *io_atomic_open(const char *path, char *tmp_out, size_t cap);
/* Flush and close f, then rename tmp over path. */
int   io_atomic_commit(FILE *f, const char *tmp, const char *path) MUST_USE;
/* Close f and remove tmp: nothing is written. */
void  io_atomic_abort(FILE *f, const char *tmp);
/* The whole buffer, atomically. */
int   io_write_atomic(const char *path, const void *data, size_t n) MUST_USE;

#endif
