#!/usr/bin/env bash
# fuzz/run.sh TARGET SECONDS — coverage-guided fuzzing with clang's libFuzzer.
#
#   pprof_decode  the C pprof decoder (csrc/pprof_decode.c, gunzip in
#                 csrc/pprof_encode.c) built with
#                 -fsanitize=fuzzer,address,undefined (fuzz/pprof_decode_fuzz.c)
#   benchfmt      the Go benchmark reader (enginepools/bench/benchfmt.py),
#                 through atheris' libFuzzer (fuzz/fuzz_benchfmt.py)
#
# The committed corpus fuzz/corpus/TARGET is read, not written: new inputs go
# to a scratch directory (FUZZ_WORK, default a temporary one; kept when set).
# Exit status: 0 when the run ended without a crash, non-zero (libFuzzer's)
# on a crash, a sanitizer report or a failed property — the crashing input is
# left in the scratch directory and named in the output.
# Needs: clang and libfuzzer-14-dev (Debian), zlib headers; atheris for benchfmt.
set -euo pipefail
target=${1:?usage: fuzz/run.sh pprof_decode|benchfmt SECONDS}
seconds=${2:-60}
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
work=${FUZZ_WORK:-$(mktemp -d)}
mkdir -p "$work/corpus" "$work/artifacts"
common=(-max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$work/artifacts/" -rss_limit_mb=2048
        -timeout=10)
case "$target" in
pprof_decode)
    cc=${CC_FUZZ:-clang}
    bin="$work/pprof_decode_fuzz"
    "$cc" -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
        -I"$root/csrc/include" -I"$root/csrc" \
        "$here/pprof_decode_fuzz.c" "$root/csrc/pprof_decode.c" "$root/csrc/pprof_encode.c" \
        "$root/csrc/pprof_stream.c" -pthread -lz -o "$bin"
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1 \
        "$bin" "${common[@]}" -max_len=65536 "$work/corpus" "$here/corpus/pprof_decode"
    ;;
benchfmt)
    cd "$root"
    python "$here/fuzz_benchfmt.py" "${common[@]}" -max_len=4096 "$work/corpus" "$here/corpus/benchfmt"
    ;;
*)
    echo "fuzz/run.sh: unknown target '$target' (pprof_decode or benchfmt)" >&2
    exit 2
    ;;
esac
