#!/bin/sh
# Builds and runs the ahead-of-time C sample:
#   1. nnc compiles Samples/models/mlp.swiftgraph to an object file and a C header,
#   2. the C compiler builds main.c against the header and links the object (and libm),
#   3. the program runs and prints the MLP's 2x10 output.
#
# Usage (from anywhere):  Samples/AOTInC/build.sh [BUILD_DIR]
#   BUILD_DIR  where mlp.o, mlp.h and aot_mlp go (default: .build/aot-sample in the repository)
# Environment:
#   NNC  the nnc executable (default: `nnc` built by `swift build --product nnc`)
#   CC   the C compiler (default: cc)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${1:-"$root/.build/aot-sample"}
cc=${CC:-cc}

if [ -z "${NNC:-}" ]; then
  echo "building nnc (swift build --product nnc)..." >&2
  (cd "$root" && swift build --product nnc >&2)
  NNC="$(cd "$root" && swift build --show-bin-path)/nnc"
fi

mkdir -p "$out"
echo "nnc compile -> $out/mlp.o, $out/mlp.h" >&2
"$NNC" compile "$root/Samples/models/mlp.swiftgraph" -o "$out/mlp.o" --emit obj,header
echo "$cc -> $out/aot_mlp" >&2
"$cc" -O2 -std=c99 -Wall -Wextra -I"$out" "$here/main.c" "$out/mlp.o" -lm -o "$out/aot_mlp"
"$out/aot_mlp"
