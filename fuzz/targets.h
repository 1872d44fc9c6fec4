/* targets.h: the fuzz entry points, one per loader that reads outside input. Each takes any bytes, must
 * never crash, hang or leak, and returns 0. The loaders' refusals are silenced during a call
 * (FUZZ_VERBOSE=1 shows them). They are called by libFuzzer (fuzz/libfuzzer.c), by the small
 * built-in mutation driver (fuzz/mutate.c) when clang is absent, and by tests/test_fuzz.c, which replays
 * every file in fuzz/regressions/<target>/ (crash inputs kept as test cases) and the seed corpus.
 *
 *   fuzz_safetensors   bytes = a whole .safetensors file: parse, then read each F32 tensor and a metadata key
 *   fuzz_idx           bytes = an IDX file (gzip or plain), read as labels and as images
 *   fuzz_cli           bytes = argv, arguments separated by NUL bytes, given to cli_parse
 */
#ifndef FUZZ_TARGETS_H
#define FUZZ_TARGETS_H

#include <stddef.h>
#include <stdint.h>

int fuzz_safetensors(const uint8_t *data, size_t size);
int fuzz_idx(const uint8_t *data, size_t size);
int fuzz_cli(const uint8_t *data, size_t size);

/* The table the drivers and the replay test walk. */
typedef struct {
    const char *name;
    int (*run)(const uint8_t *data, size_t size);
} FuzzTarget;
extern const FuzzTarget FUZZ_TARGETS[3];

#endif
