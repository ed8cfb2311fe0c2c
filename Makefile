# Mirror's entry points. Each target installs what it needs first
# (scripts/setup-deps.sh does nothing when everything is present).
SHELL := /bin/bash
JOBS ?= $(shell nproc)

.PHONY: all deps build run demo test bench fuzz clean

all: build

deps:
	@bash scripts/setup-deps.sh

build: deps
	@cmake --preset dev >/dev/null
	@cmake --build --preset dev -j $(JOBS)

# Serves with the shipped configuration until Ctrl-C.
run: build
	./build/dev/mirror -c configs/mirror.yaml

# Starts Mirror on its embedded defaults and prints where to look.
demo: build
	@bash scripts/demo.sh

# Every test: unit and integration (dev build), again under ASan+UBSan and
# TSan, and each fuzz target for a bounded time.
test: deps
	@bash scripts/test.sh

bench: deps
	@bash scripts/bench.sh

fuzz: deps
	@MIRROR_FUZZ_SECONDS=$${MIRROR_FUZZ_SECONDS:-300} bash scripts/test.sh fuzz

clean:
	rm -rf build
