# vlsam — common tasks. `make help` lists the targets.

SWIFT ?= swift
PYTHON ?= python3
# Checkpoint names or families from scripts/checkpoints.tsv; empty means all of them.
MODEL ?=
# Extra arguments for vlsam-bench, e.g. make bench BENCH_ARGS="--help".
BENCH_ARGS ?=

DEB_PACKAGES := libopenblas-dev libhdf5-dev libpng-dev libjpeg-dev hdf5-tools pkg-config
# Root installs directly; anyone else goes through sudo when it exists.
SUDO := $(shell if [ "$$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then echo sudo; fi)

.DEFAULT_GOAL := help
.PHONY: help build test bench weights install-deps clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z-]+):.*## /  \1\t/' | expand -t 16

build: ## build everything in release mode
	$(SWIFT) build -c release

test: ## run the whole test suite in release mode
	$(SWIFT) test -c release

bench: ## build and run .build/release/vlsam-bench (arguments: BENCH_ARGS="...")
	$(SWIFT) build -c release --product vlsam-bench
	.build/release/vlsam-bench $(BENCH_ARGS)

weights: ## download + verify checkpoints into weights/ (MODEL=sam_vit_b for one)
	$(PYTHON) scripts/fetch-weights.py $(MODEL)

install-deps: ## apt-get install the native libraries and tools
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y $(DEB_PACKAGES)

clean: ## remove build products and unfinished downloads (keeps weights/)
	rm -rf .build
	rm -f weights/*.part

# Batch pipeline
include pipelines/sam.mk
