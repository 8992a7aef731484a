# Roto — the two commands: `make serve` and `make test`. Each installs what it needs first.
SWIFT ?= swift
CONFIG ?= release
ARGS ?=
JOBS ?= 2
## The release binaries use the build machine's vector instructions where it has Haswell's or newer
## (the same results to the bit, less CPU; `ROTO_PORTABLE=1 make serve` for a binary to copy elsewhere).
CPU_FLAGS ?= $(shell bash scripts/cpu-flags.sh)

.PHONY: deps build serve test check-openapi bench-ingest bench-select bench-track bench-preview bench-edit bench-soak fuzz clean

deps:
	@bash scripts/install-deps.sh

build: deps
	$(SWIFT) build -c $(CONFIG) -j $(JOBS) $(CPU_FLAGS) --product roto

## Build (release) and run the server on the embedded default: SQLite and media under ./.roto-data.
serve: build
	"$$($(SWIFT) build -c $(CONFIG) --show-bin-path)/roto" serve $(ARGS)

## Install, build and run every test.
## Two test processes: the unit tests (media, vision, core: synchronous and CPU-bound), then the tests
## that run live HTTP servers in process (server, client). In one process the synchronous tests held
## both threads of Swift's cooperative pool for their first ~40 s, and the servers' async handlers
## waited (a loopback download once went 30 s without a byte and a test failed on its read timeout).
HTTP_TESTS = RotoServerTests\.|RotoClientTests\.
test: deps
	$(SWIFT) build --build-tests -j $(JOBS)
	$(SWIFT) test --skip-build --skip '$(HTTP_TESTS)'
	$(SWIFT) test --skip-build --filter '$(HTTP_TESTS)'

## Validate the OpenAPI 3.1 document (GET /openapi.yaml) with openapi-spec-validator from PyPI.
check-openapi: build
	bash scripts/check-openapi.sh "$$($(SWIFT) build -c $(CONFIG) --show-bin-path)/roto"

## init-selection time and server peak RSS on a 10 s 1080p30 and a 10 s 2160p60 clip.
bench-ingest: build
	bash Benchmarks/ingest/run.sh "$$($(SWIFT) build -c $(CONFIG) --show-bin-path)/roto"

## Click-to-mask quality on ../shared/bench/davis2016-dev (IoU with 1/3/5 clicks) and add-selection latency
## (idle, then during a removal and a preview).
bench-select: build
	$(SWIFT) build -c $(CONFIG) -j $(JOBS) $(CPU_FLAGS) --product select-bench
	bash Benchmarks/select/run.sh --bin "$$($(SWIFT) build -c $(CONFIG) --show-bin-path)/select-bench" $(ARGS)
	bash Benchmarks/select/latency.sh "$$($(SWIFT) build -c $(CONFIG) --show-bin-path)/roto"
	bash Benchmarks/select/under-load.sh "$$($(SWIFT) build -c $(CONFIG) --show-bin-path)/roto"

## Tracking quality on ../shared/bench/davis2016-dev (J, F, J&F with 1/3/5 clicks and the interactive protocol).
bench-track: build
	$(SWIFT) build -c $(CONFIG) -j $(JOBS) $(CPU_FLAGS) --product track-bench
	bash Benchmarks/track/run.sh --bin "$$($(SWIFT) build -c $(CONFIG) --show-bin-path)/track-bench" $(ARGS)

## preview-selection wall time, its ratio to a plain ffmpeg render, and the server's peak RSS.
bench-preview: build
	bash Benchmarks/preview/run.sh "$$($(SWIFT) build -c $(CONFIG) --show-bin-path)/roto"

## Edit tasks: removal wall time (std, pro) for 5 s 720p and 10 s 1080p clips, then removal PSNR/SSIM
## on davis2016-dev with a synthetic object composited in (edit-bench; ARGS are passed to it).
bench-edit: build
	$(SWIFT) build -c $(CONFIG) -j $(JOBS) $(CPU_FLAGS) --product edit-bench
	bash Benchmarks/edit/run.sh "$$($(SWIFT) build -c $(CONFIG) --show-bin-path)/roto" \
	  "$$($(SWIFT) build -c $(CONFIG) --show-bin-path)/edit-bench" $(ARGS)

## Soak: repeated previews and removal tasks on one server; memory, files, descriptors and threads per cycle
bench-soak: build
	bash Benchmarks/soak/run.sh "$$($(SWIFT) build -c $(CONFIG) --show-bin-path)/roto"

## Mutation fuzzing of the API on a live server: no 5xx, always the envelope, refused calls change nothing;
## then schemathesis from PyPI against the server's own OpenAPI document (schemas, statuses, headers).
fuzz: build
	bash Benchmarks/fuzz/run.sh "$$($(SWIFT) build -c $(CONFIG) --show-bin-path)/roto"
	bash Benchmarks/fuzz/schemathesis.sh "$$($(SWIFT) build -c $(CONFIG) --show-bin-path)/roto"

clean:
	rm -rf .build
