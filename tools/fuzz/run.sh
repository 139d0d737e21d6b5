#!/usr/bin/env bash
# Builds the libFuzzer targets (once; later builds are incremental) and runs one of them, or each in turn, for a
# number of seconds on a scratch copy of its seed corpus, so the committed corpus never grows.
#
#   tools/fuzz/run.sh TARGET SECONDS      TARGET: one of the names below, or `all`
#   FUZZ_JOBS=2 tools/fuzz/run.sh ...     N worker processes (libFuzzer's -fork=N) on an idle machine; the
#                                         executions printed are the workers' total
#
# Prints executions, executions per second and crashes per target; exits non-zero if any target crashed. A crashing
# input is kept under tools/fuzz/.build/runs/TARGET/artifacts/ to be replayed as a unit test (see docs/benchmarks.md).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
scratch="$here/.build"
SWIFT="${SWIFT:-swift}"

# Target name (also the corpus folder) → executable.
declare -A executables=(
    [rtmp-chunk-stream]=FuzzRTMPChunkStream
    [amf0]=FuzzAMF0
    [flv-codec-config]=FuzzFLVCodecConfig
    [stun]=FuzzSTUN
    [rtp]=FuzzRTP
    [rtcp]=FuzzRTCP
    [sdp]=FuzzSDP
    [dtls-record-framing]=FuzzDTLSRecordFraming
    [http-json-bodies]=FuzzHTTPJSONBodies
)
order=(rtmp-chunk-stream amf0 flv-codec-config stun rtp rtcp sdp dtls-record-framing http-json-bodies)

usage() {
    echo "usage: $0 TARGET|all SECONDS   (targets: ${order[*]})" >&2
    exit 2
}
[[ $# -eq 2 && "$2" =~ ^[0-9]+$ ]] || usage
if [[ "$1" == all ]]; then
    targets=("${order[@]}")
else
    [[ -n "${executables[$1]:-}" ]] || usage
    targets=("$1")
fi
seconds="$2"

# `--sanitize fuzzer` makes SwiftPM link libFuzzer's main instead of the executables' own. AddressSanitizer goes to
# swiftc in the same flag: given as two `-sanitize=` flags the last one wins (the code then lacks coverage counters
# or ASan), and two `--sanitize` options reach the compilers in a different order each run, rebuilding everything.
build=(-c release --package-path "$here" --scratch-path "$scratch" --sanitize fuzzer
       -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library)
"$SWIFT" build "${build[@]}" >&2
bin="$("$SWIFT" build "${build[@]}" --show-bin-path)"

failed=0
printf '%-20s %8s %14s %10s %8s\n' target seconds executions exec/s crashes
for target in "${targets[@]}"; do
    run="$scratch/runs/$target"
    rm -rf "$run/corpus"
    mkdir -p "$run/corpus" "$run/artifacts"
    cp "$here/corpus/$target/"* "$run/corpus/"
    status=0
    # One job, one worker: the machine is shared. -timeout catches an input that hangs the parser;
    # -rss_limit_mb one that makes it allocate without bound.
    mode=("-print_final_stats=1")
    [[ "${FUZZ_JOBS:-1}" -gt 1 ]] && mode=("-fork=${FUZZ_JOBS}")
    "$bin/${executables[$target]}" "$run/corpus" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        "${mode[@]}" -artifact_prefix="$run/artifacts/" >"$run/log" 2>&1 || status=$?
    if [[ "${FUZZ_JOBS:-1}" -gt 1 ]]; then
        # The parent's status lines count every worker's executions: "#N: cov: ... exec/s: R ...".
        executions="$(sed -n 's/^#\([0-9]*\): cov:.*/\1/p' "$run/log" | tail -1)"
        elapsed="$(sed -n 's/^#[0-9]*: cov:.* exec\/s: \([0-9]*\).*/\1/p' "$run/log" | tail -1)"
    else
        executions="$(sed -n 's/^stat::number_of_executed_units: *//p' "$run/log" | tail -1)"
        elapsed="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$run/log" | tail -1)"
    fi
    crashes=0
    if [[ $status -ne 0 ]]; then
        crashes=1  # libFuzzer stops at the first
        failed=1
    fi
    printf '%-20s %8s %14s %10s %8s\n' "$target" "$seconds" "${executions:-?}" "${elapsed:-?}" "$crashes"
    if [[ $status -ne 0 ]]; then
        echo "  $target failed (exit $status); log: $run/log" >&2
        grep -E '^(==[0-9]+==ERROR|SUMMARY|Fatal error|artifact_prefix|Test unit written)' "$run/log" | head -8 >&2 || true
    fi
done
exit $failed
