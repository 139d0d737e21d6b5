# LiveRelay: two commands matter — `make run` and `make test`. Both install what they need first.
SWIFT ?= swift

.PHONY: setup build run test layers fuzz-smoke clean

setup:
	./tools/setup.sh

build: setup
	$(SWIFT) build

# The server on embedded defaults, with the built-in demo stream; release build because it encodes video live.
run: setup
	$(SWIFT) build -c release --product liverelay
	$$($(SWIFT) build -c release --show-bin-path)/liverelay serve --demo

# Every test: unit and integration against real ffmpeg, GStreamer, browsers and PostgreSQL. The modules whose tests
# need no real time (parsers, state machines on a manual clock, codecs) run in parallel; the rest run one at a time:
# they run real-time encoders, browsers and databases, and on 2 cores running them side by side starves the
# timing-sensitive ones (and they read process-wide counters such as open descriptors).
# First, every parser's fuzzer for 30 s (fuzz-smoke), so the test runner's summary stays the last thing printed.
PARALLEL_TESTS = ^(AdaptationTests|CMAFTests|CodecsTests|DTLSTests|DatagramIOTests|MediaCoreTests|MediaRouterTests|RTPTests|RTMPTests|SDPTests|SRTPTests|STUNTests)\.
test: setup layers fuzz-smoke
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --parallel --filter '$(PARALLEL_TESTS)'
	$(SWIFT) test --skip-build --no-parallel --skip '$(PARALLEL_TESTS)'

# Every import goes down a layer of Sources/README.md's table (and the checker still catches one that does not).
layers:
	python3 tools/check_layers.py --self-test
	python3 tools/check_layers.py

# Each libFuzzer target (tools/fuzz) for 30 s on its seed corpus: 5 min to build (clean, idle machine), 4.5 min to run. Longer runs
# are made by hand (`tools/fuzz/run.sh TARGET SECONDS`) and recorded in docs/benchmarks.md.
fuzz-smoke: setup
	SWIFT=$(SWIFT) ./tools/fuzz/run.sh all 30

clean:
	rm -rf .build tools/fuzz/.build
