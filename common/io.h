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
/* io_mkdir_p of the directory that file `path` lives in ("." for a bare name). */
int   io_mkdir_for(const char *path) MUST_USE;
/* Open a temporary beside path for writing; its name goes into tmp_out. NULL on failure. */
FILE *io_atomic_open(const char *path, char *tmp_out, size_t cap);
/* Flush and close f, then rename tmp over path. */
int   io_atomic_commit(FILE *f, const char *tmp, const char *path) MUST_USE;
/* Close f and remove tmp: nothing is written. */
void  io_atomic_abort(FILE *f, const char *tmp);
/* The whole buffer, atomically. */
int   io_write_atomic(const char *path, const void *data, size_t n) MUST_USE;
/* A file beside another one: "dir/NAME.ext" with suffix "_loss.dat" -> "dir/NAME_loss.dat" (the last extension
 * is replaced; a path without one gets the suffix appended). */
void  io_sibling_path(const char *path, const char *suffix, char *out, size_t cap);

/* ---- safetensors: 8-byte little-endian header length N, N bytes of JSON, raw little-endian data ----
 *
 *   IoTensor t[2] = { { "w", 2, { 3, 4 }, w }, { "b", 1, { 3 }, b } };
 *   io_safetensors_write("m.safetensors", t, 2, "{\"step\": \"100\"}");   // metadata: NULL or a JSON object of strings
 *   io_safetensors_read_into("m.safetensors", t, 2);                        // fills w and b by name
 *
 *   IoSafetensors st;                                   // or: read the file once, then look things up
 *   if (io_safetensors_open(&st, "m.safetensors")) return 1;
 *   char step[32];
 *   int rc = io_safetensors_meta(&st, "step", step, sizeof step) || io_safetensors_tensors(&st, t, 2);
 *   io_safetensors_close(&st);
 *
 * Only F32 tensors. Reading validates everything and never trusts the file: only a regular file is
 * opened (a directory or FIFO is refused, never waited on), the header length against the file size,
 * the JSON syntax, dtype, shape against the request, and the layout: the tensors' data_offsets must
 * tile the data section exactly (sorted, no gap, no overlap, ending at the file's end, names distinct),
 * each F32 range numel x 4 bytes. Any violation returns nonzero with one line naming the file, the
 * tensor and what was expected; text from the file is printed with control characters escaped. */
typedef struct {
    const char *name;
    int         ndim;
    int         shape[4];
    float      *data;       /* numel floats, owned by the caller */
} IoTensor;

int io_safetensors_write(const char *path, const IoTensor *t, int n, const char *metadata_json) MUST_USE;
/* Fill every requested tensor (name, ndim, shape given; data allocated by the caller) from the file. */
int io_safetensors_read_into(const char *path, IoTensor *t, int n) MUST_USE;
/* The string value of key in the file's __metadata__, into out (cap bytes). Nonzero if absent. */
int io_safetensors_metadata(const char *path, const char *key, char *out, size_t cap) MUST_USE;

/* A file read and validated once; its fields are the reader's (use the functions below). */
enum { IO_ST_MAX_ENTRIES = 4096, IO_ST_MAX_META = 64 };
typedef struct {
    char   *name, *dtype;   /* point into the header copy */
    int     ndim, shape[8];
    size_t  begin, end;     /* data_offsets, relative to the data section */
} IoStEntry;
typedef struct {
    unsigned char *file;    /* the whole file */
    size_t      size, data_start;
    char       *hdr;        /* NUL-terminated copy of the JSON header; strings are cut in place */
    IoStEntry  *e;
    int         n, n_meta;
    char       *meta_key[IO_ST_MAX_META], *meta_val[IO_ST_MAX_META];
    const char *path;
} IoSafetensors;

/* Read and validate the file at path; io_safetensors_close releases it (only after success). */
int  io_safetensors_open(IoSafetensors *st, const char *path) MUST_USE;
/* Validate a file already in memory (bytes: malloc'd, size bytes; st takes ownership, even on failure; path names it in messages). */
int  io_safetensors_parse(IoSafetensors *st, const char *path, unsigned char *bytes, size_t size) MUST_USE;
/* Fill the requested tensors by name from an open file. */
int  io_safetensors_tensors(const IoSafetensors *st, IoTensor *t, int n) MUST_USE;
/* The string value of key in __metadata__, into out (cap bytes). Nonzero if absent or longer than cap - 1. */
int  io_safetensors_meta(const IoSafetensors *st, const char *key, char *out, size_t cap) MUST_USE;
void io_safetensors_close(IoSafetensors *st);

#endif
