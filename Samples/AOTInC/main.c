/* Calling nnc-compiled code ahead of time from C: the MLP of Samples/models/mlp.swiftgraph
 * (784-256-10, relu), compiled by `nnc compile --emit obj,header` into mlp.o and mlp.h, linked
 * straight into this program. No Swift, no LLVM, no dlopen at run time: only libc and libm.
 *
 * The inputs are deterministic patterns, so the output can be checked against nnc's reference
 * interpreter (Tests/NNCCodegenTests/AOTSampleTests.swift computes the same values in Swift).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "mlp.h"

enum { N = 2, IN = 784, HIDDEN = 256, OUT = 10 };

int main(void) {
  /* Buffers are dense, row-major and owned by the caller. */
  float *x = malloc(sizeof(float) * N * IN);
  float *w1 = malloc(sizeof(float) * IN * HIDDEN);
  float *b1 = malloc(sizeof(float) * HIDDEN);
  float *w2 = malloc(sizeof(float) * HIDDEN * OUT);
  float *b2 = malloc(sizeof(float) * OUT);
  float *y = malloc(sizeof(float) * N * OUT); /* must not overlap the inputs */
  if (!x || !w1 || !b1 || !w2 || !b2 || !y) {
    fprintf(stderr, "out of memory\n");
    return 1;
  }
  for (int i = 0; i < N * IN; i++) x[i] = (float)(i % 9) * 0.01f;
  for (int i = 0; i < IN * HIDDEN; i++) w1[i] = (float)(i % 13 - 6) * 0.001f;
  for (int i = 0; i < HIDDEN; i++) b1[i] = (float)(i % 5 - 2) * 0.01f;
  for (int i = 0; i < HIDDEN * OUT; i++) w2[i] = (float)(i % 11 - 5) * 0.01f;
  for (int i = 0; i < OUT; i++) b2[i] = (float)(i % 3) * 0.1f;

  /* The typed entry: the inputs, then the output, then the size of the symbol N. */
  int32_t status = nnc_mlp(x, w1, b1, w2, b2, y, N);
  if (status != 0) {
    /* 1: an intermediate buffer could not be allocated; 2 + k: guard k failed. */
    fprintf(stderr, "nnc_mlp failed with status %d%s\n", (int)status,
            status == 1 ? " (out of memory)" : status >= 2 ? " (a guard failed)" : "");
    return 1;
  }

  printf("mlp output (%dx%d):\n", N, OUT);
  for (int r = 0; r < N; r++) {
    for (int c = 0; c < OUT; c++) printf("%s%.9g", c ? " " : "", y[r * OUT + c]);
    printf("\n");
  }
  free(x);
  free(w1);
  free(b1);
  free(w2);
  free(b2);
  free(y);
  return 0;
}
