#!/usr/bin/env bash
# Builds a fuzz target with libFuzzer and AddressSanitizer and runs it for a while.
#
#   tools/fuzz/run.sh TARGET SECONDS [LIBFUZZER-ARGS...]
#
# TARGET is text (the .swiftgraph front end), npy (the .npy decoder), diff (compiled code against
# the interpreter) or all (each in turn, SECONDS each). The build goes to .build-fuzz (separate
# from .build; -sanitize=fuzzer,address on every Swift module, -DNNC_LIBFUZZER). Each target
# starts from its committed seed corpus tools/fuzz/corpus/TARGET (never written to) and from the
# inputs earlier runs found, kept in .build-fuzz/corpus/TARGET. A crash, a sanitizer report, a
# mismatch or a timeout is written to the crash directory, .build-fuzz/crashes/TARGET/
# ($NNC_FUZZ_CRASH_DIR/TARGET/ when set), and the script exits non-zero. Reproduce one with
#
#   .build-fuzz/debug/nnc-fuzz-TARGET CRASH-FILE      (the sanitizer build, under libFuzzer)
#   swift run nnc-fuzz-TARGET CRASH-FILE              (a plain build: replays the file once)
#
# Extra arguments go to libFuzzer (e.g. -jobs=2, -max_len=..., -minimize_crash=1 -runs=10000
# with a crash file).
set -euo pipefail
cd "$(dirname "$0")/../.."

usage() {
  echo "usage: tools/fuzz/run.sh text|npy|diff|all SECONDS [LIBFUZZER-ARGS...]" >&2
  exit 2
}
[[ $# -ge 2 ]] || usage
what=$1
seconds=$2
shift 2
[[ $seconds =~ ^[0-9]+$ ]] || usage
case $what in
  text | npy | diff) targets=("$what") ;;
  all) targets=(text npy diff) ;;
  *) usage ;;
esac

scratch=.build-fuzz
crashes=${NNC_FUZZ_CRASH_DIR:-$scratch/crashes}

# libFuzzer ships with the Swift toolchain (compiler-rt); say so plainly when it does not.
swiftc_path=$(command -v swiftc || true)
rt_dir=${swiftc_path:+$(dirname "$(readlink -f "$swiftc_path")")/../lib/swift/clang/lib/linux}
if [[ -z $swiftc_path ]] || ! ls "$rt_dir"/libclang_rt.fuzzer*-x86_64.a >/dev/null 2>&1; then
  echo "run.sh: libFuzzer (libclang_rt.fuzzer-x86_64.a) not found next to swiftc ($rt_dir)." >&2
  echo "The swift.org Linux toolchains ship it; a toolchain without compiler-rt cannot build the fuzz targets." >&2
  exit 3
fi

build() {
  # gold warns once per ASan helper symbol ("Cannot export local symbol"); drop that noise.
  local rc=0
  swift build --scratch-path "$scratch" --product "nnc-fuzz-$1" \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -DNNC_LIBFUZZER 2>&1 |
    sed -e '/Cannot export local symbol/d' -e '/^\[[0-9]*\/[0-9]*\]/d' >&2 || rc=$?
  [[ $rc -eq 0 ]] || { echo "run.sh: building nnc-fuzz-$1 failed" >&2; exit 1; }
}

status=0
for t in "${targets[@]}"; do
  echo "== nnc-fuzz-$t: building" >&2
  start=$(date +%s)
  build "$t"
  echo "== nnc-fuzz-$t: built in $(($(date +%s) - start)) s; fuzzing for $seconds s" >&2
  mkdir -p "$scratch/corpus/$t" "$crashes/$t"
  args=(-max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$crashes/$t/" -timeout=60)
  case $t in
    text) args+=(-dict=tools/fuzz/swiftgraph.dict) ;;
    diff) args+=(-max_len=512 -rss_limit_mb=4096) ;;
  esac
  before=$(find "$crashes/$t" -type f | wc -l)
  rc=0
  "$scratch/debug/nnc-fuzz-$t" "${args[@]}" "$@" "$scratch/corpus/$t" "tools/fuzz/corpus/$t" \
    >"$scratch/fuzz-$t.log" 2>&1 || rc=$?
  grep -E "^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::average_exec_per_sec|Done [0-9]+ runs)" \
    "$scratch/fuzz-$t.log" >&2 || true
  after=$(find "$crashes/$t" -type f | wc -l)
  if [[ $rc -ne 0 || $after -ne $before ]]; then
    echo "== nnc-fuzz-$t: FAILED (libFuzzer exit $rc); log: $scratch/fuzz-$t.log; inputs: $crashes/$t/" >&2
    grep -E -A12 "FUZZ FINDING|ERROR: (AddressSanitizer|libFuzzer)|Fatal error|SUMMARY" "$scratch/fuzz-$t.log" | head -60 >&2 || true
    status=1
  else
    echo "== nnc-fuzz-$t: no findings (log: $scratch/fuzz-$t.log)" >&2
  fi
done
exit $status
