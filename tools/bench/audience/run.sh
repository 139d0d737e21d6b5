#!/usr/bin/env bash
# Audience benchmark: comment writes/s with acknowledgement latency on SQLite and on a throwaway PostgreSQL, and
# reactions/s with the delay of their aggregates to many event-channel listeners. Prints BENCH lines that
# docs/benchmarks.md quotes.
#   tools/bench/audience/run.sh            # release build (as the figures in docs/benchmarks.md)
#   CONFIG=debug tools/bench/audience/run.sh
# Knobs: LIVERELAY_BENCH_SECONDS (10), LIVERELAY_BENCH_WRITERS (32), LIVERELAY_BENCH_LISTENERS (1000),
#        LIVERELAY_BENCH_BATCH (reactions per sender per 10 ms, 2).
set -euo pipefail
cd "$(dirname "$0")/../../.."
config="${CONFIG:-release}"
flags=(-c "$config")
if [ "$config" = release ]; then flags+=(-Xswiftc -enable-testing); fi
swift build "${flags[@]}" --build-tests
LIVERELAY_AUDIENCE_BENCH=1 swift test "${flags[@]}" --skip-build --filter AudienceBenchmarkTests 2>&1 | grep -E '^BENCH|✘'
