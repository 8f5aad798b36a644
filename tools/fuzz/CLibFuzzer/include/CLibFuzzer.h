// libFuzzer's driver entry (compiler-rt, FuzzerDriver.cpp). Only declared here: it is defined
// when a fuzz target is linked with -sanitize=fuzzer, and only called then (NNC_LIBFUZZER).
#ifndef NNC_CLIBFUZZER_H
#define NNC_CLIBFUZZER_H
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
