/* The libFuzzer driver: built once per target with -DFUZZ_TARGET=fuzz_safetensors (or fuzz_idx, fuzz_cli)
 * and clang -fsanitize=fuzzer,address,undefined; fuzz/run.sh builds and runs it (make fuzz). */
#include "targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return FUZZ_TARGET(data, size); }
