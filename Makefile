# LiveRelay: two commands matter — `make run` and `make test`. Both install what they need first.
SWIFT ?= swift

.PHONY: setup build run test clean

setup:
	./tools/setup.sh

build: setup
	$(SWIFT) build

# The server on embedded defaults, with the built-in demo stream; release build because it encodes video live.
run: setup
	$(SWIFT) build -c release --product liverelay
	$$($(SWIFT) build -c release --show-bin-path)/liverelay serve --demo

# Every test: unit and integration against real ffmpeg, GStreamer and PostgreSQL. Serial: the integration tests run
# real-time encoders and databases, and on 2 cores running them side by side starves the timing-sensitive ones.
test: setup
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --no-parallel

clean:
	rm -rf .build
