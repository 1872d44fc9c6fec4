/* The fuzz entry points (see targets.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"
#include "fmnist.h"
#include "io.h"
#include "targets.h"

const FuzzTarget FUZZ_TARGETS[3] = { { "safetensors", fuzz_safetensors }, { "idx", fuzz_idx }, { "cli", fuzz_cli } };

/* The loaders' one-line refusals (millions of them) go to /dev/null during a call, through stdio only:
 * a sanitizer's report is written to file descriptor 2 directly and still shows. FUZZ_VERBOSE=1 keeps them. */
static FILE *devnull, *saved_err, *saved_out;
static void quiet_begin(void) {
    const char *v = getenv("FUZZ_VERBOSE");
    if (v && v[0] == '1') return;
    if (!devnull) devnull = fopen("/dev/null", "w");
    if (!devnull) return;
    saved_err = stderr;
    saved_out = stdout;
    stderr = stdout = devnull;
}
static void quiet_end(void) {
    if (saved_err) { stderr = saved_err; stdout = saved_out; saved_err = saved_out = NULL; }
}

/* Parse the file from memory; if it is valid, read back every F32 tensor of at most 2^22 elements by its
 * own name and shape (the reader's data path), and look up a metadata key. */
static void run_safetensors(const uint8_t *data, size_t size) {
    unsigned char *copy = malloc(size + 1);   /* the parser takes ownership; +1: never malloc(0) */
    if (!copy) return;
    memcpy(copy, data, size);
    IoSafetensors st;
    if (io_safetensors_parse(&st, "fuzz-input", copy, size)) return;
    char meta[64];
    if (io_safetensors_meta(&st, "step", meta, sizeof meta) == 0) meta[0] = 'x';
    for (int i = 0; i < st.n; i++) {
        const IoStEntry *e = &st.e[i];
        size_t numel = 1;
        for (int d = 0; d < e->ndim; d++) numel *= (size_t)e->shape[d];
        if (e->ndim > 4 || numel > ((size_t)1 << 22)) continue;
        IoTensor t = { e->name, e->ndim, { 0 }, malloc(4 * numel + 4) };
        for (int d = 0; d < e->ndim; d++) t.shape[d] = e->shape[d];
        if (t.data && io_safetensors_tensors(&st, &t, 1) == 0 && numel) t.data[numel - 1] += 0.0f;
        free(t.data);
    }
    io_safetensors_close(&st);
}

/* fmnist_idx_read reads a path (through zlib): the bytes go to a per-process file in /tmp first. */
static void run_idx(const uint8_t *data, size_t size) {
    static char path[64];
    if (!path[0]) snprintf(path, sizeof path, "/tmp/fuzz_idx_%ld.bin", (long)getpid());
    FILE *f = fopen(path, "wb");
    if (!f) return;
    size_t wrote = fwrite(data, 1, size, f);
    fclose(f);
    if (wrote != size) return;
    uint32_t dims[3];
    unsigned char *payload;
    if (fmnist_idx_read(path, 0x801, 1, dims, &payload) == 0) free(payload);
    if (fmnist_idx_read(path, 0x803, 3, dims, &payload) == 0) free(payload);
    unlink(path);
}

/* Up to 31 arguments separated by NUL bytes, parsed as a program with every optional flag. */
static void run_cli(const uint8_t *data, size_t size) {
    static const char *const data_names[] = { "gmm", "swissroll", "moons", NULL };
    static const CliSpec spec = { "fuzz", "fuzzed parser", CLI_DATA | CLI_STEPS | CLI_SAMPLES | CLI_TRAIN, data_names, NULL };
    char *buf = malloc(size + 1);
    if (!buf) return;
    memcpy(buf, data, size);
    buf[size] = '\0';
    char *argv[32] = { "fuzz" };
    int argc = 1;
    for (size_t i = 0; i < size && argc < 32; ) {
        argv[argc++] = buf + i;
        i += strlen(buf + i) + 1;
    }
    Opts o;
    int rc = cli_parse(&o, argc, argv, &spec);
    if (rc == 0 && o.out && o.out[0] == '\0') abort();   /* an empty --out must never be accepted */
    free(buf);
}

int fuzz_safetensors(const uint8_t *data, size_t size) { quiet_begin(); run_safetensors(data, size); quiet_end(); return 0; }
int fuzz_idx(const uint8_t *data, size_t size)         { quiet_begin(); run_idx(data, size);         quiet_end(); return 0; }
int fuzz_cli(const uint8_t *data, size_t size)         { quiet_begin(); run_cli(data, size);         quiet_end(); return 0; }
