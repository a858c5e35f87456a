# The VL-SAM method as make rules: the artifacts `vlsam-run` makes, made by the stage programs.
#
#   make run [IMAGE_DIR=photos] [OUT=results] [-j2] [VLM=dir] [CHECKPOINT=file] [OBJECTS="a, b"] [SPLIT=no]
#            [THRESHOLD=0.6] [STRATEGY=kmeans] [K=1] [MERGE_IOU=0.6] …   (variables below)
#
# For each photo of IMAGE_DIR (.jpg, .jpeg, .png in any case), in its folder OUT/photos/<folder>/ (the layout
# of Sources/BatchDriver/OutputLayout.swift; <folder> is its stem, or <stem>-<hash> when photos share a stem,
# see FOLDERS below), in the driver's order:
#   embedding.h5      vlsam-encode
#   objects.h5        vlsam-list (OBJECTS: names teacher-forced instead of asking)
#   attention.h5      vlsam-attend
#   prompts.0.h5      vlsam-points
#   masks.0.h5        vlsam-decode --multimask --prompts prompts.0.h5
#   prompts.<k>.h5    vlsam-points --previous-masks masks.<k-1>.h5      k = 1 … K
#   masks.<k>.h5      vlsam-decode --multimask --prompts prompts.<k>.h5
# then one `vlsam-run --merge` over the photos: per photo that got that far overlay.png, panels/ and
# detections.h5 (written last), then OUT/detections.json, images.json, thumbnails, report.html (last;
# photos that did not get that far are listed as failed) and a line per step in run.jsonl.
#
# Resuming: every artifact is a file target and the programs write atomically, so an interrupted run
# (Ctrl-C, or SIGKILL to every process) redoes only what is missing. Targets are .PRECIOUS: a complete
# artifact is never deleted by an interrupted make. `vlsam-run --remove-leftovers` removes the temporary
# files (.<name>.partial-<pid>…) of killed writers, never a live one's.
# Parameters: each stage's flags and model path are kept in OUT/.stamps/<stage>.flags, and each photo's
# path, size and mtime in OUT/.stamps/source/<folder>, rewritten only when they change; every artifact
# depends on its stage's stamp and on its model's files, so a changed option, model or photo reruns
# that stage and what depends on it, nothing else.
# Locking: every stage runs under flock(1) on OUT/photos/<folder>/.lock, the lock vlsam-run holds while it
# works on a photo, so make and the driver on one OUT never work on one photo at the same time.
# Failures: the photo rules run with -k, so a bad photo does not stop the others; the merge covers the
# photos that completed (report.html lists the others as failed), and `run` fails at the end naming the
# photos that did not.

SHELL := /bin/bash
SWIFT ?= swift

# For `make help`.
define RUN_HELP
make run [IMAGE_DIR=photos] [OUT=results] [-j2]: vlsam-run's method as make rules (pipelines/vlsam.mk),
  resumable, each stage rerun only when its options, its model or its inputs changed. Variables:
  VLM CHECKPOINT BIN THREADS MAX_PIXELS  OBJECTS PROMPT SPLIT=no MAX_NEW_TOKENS  FLOW ALPHA REGULARIZATION QUERY TILES
  STRATEGY THRESHOLD POINTS SEED BOX_FROM_MASK=yes  K MERGE_IOU  (defaults: vlsam-run's; see the file)
endef
export RUN_HELP

# The parity bundles and sample photos (vlsam-run reads VLSAM_SHARED too).
SHARED ?= $(or $(VLSAM_SHARED),../shared)
IMAGE_DIR ?= $(SHARED)/data/samples
OUT ?= artifacts/samples
# The stage programs. Under SWIFT_BUILD_DIR (a SwiftPM scratch path) they are rebuilt there when
# Sources/ or Package.swift changed; anywhere else they are used as they are.
SWIFT_BUILD_DIR ?= .build
BIN ?= $(SWIFT_BUILD_DIR)/release
# The real models when `make weights` has fetched them, else the parity bundles' architecture-exact
# random weights (as vlsam-run chooses): the method runs, but its maps and masks mean nothing.
VLM ?= $(firstword $(wildcard weights/SmolVLM-256M-Instruct) $(SHARED)/parity/smolvlm-tiny)
CHECKPOINT ?= $(firstword $(wildcard weights/efficient_sam_vitt.pt) $(SHARED)/parity/efficientsam-vitt/weights.pt)

# Method options; the defaults are vlsam-run's (vlsam-run --help names the flags).
comma := ,
# Listing: the question, SPLIT= (the processor's setting, on for SmolVLM) or SPLIT=no, the longest
# answer, and OBJECTS: comma-separated names teacher-forced instead of asking. A random-weight VLM
# answers gibberish, so it is given a fixed list.
PROMPT ?= List all the objects in this image.
SPLIT ?=
MAX_NEW_TOKENS ?= 64
OBJECTS ?= $(if $(findstring parity/,$(VLM)),dog$(comma) truck$(comma) window$(comma) bottle$(comma) person)
# Attention: flow rollout|mean, its residual share, regularisation column|none, query rows
# both|predicting|token, tiles both|local|global.
FLOW ?= rollout
ALPHA ?= 0.9
REGULARIZATION ?= column
QUERY ?= both
TILES ?= both
# Points: strategy vl-sam|local-maxima|kmeans|random, threshold tau, points per kind, seed (kmeans and
# random only), BOX_FROM_MASK=yes to prompt refinement steps with the kept mask's box too.
STRATEGY ?= vl-sam
THRESHOLD ?= 0.5
POINTS ?= 3
SEED ?= 0
BOX_FROM_MASK ?=
# K refinement steps after the first decode; mask IoU above which detections of one name merge.
K ?= 2
MERGE_IOU ?= 0.5
# BLAS threads per stage program (--threads; empty: all cores), and the most pixels a photo may have
# (--max-pixels; empty: 100000000). Results depend on neither, so no stamp holds them.
THREADS ?=
MAX_PIXELS ?=
RESOURCE_FLAGS := $(if $(THREADS),--threads $(THREADS)) $(if $(MAX_PIXELS),--max-pixels $(MAX_PIXELS))

override IMAGE_DIR := $(patsubst %/,%,$(IMAGE_DIR))
override OUT := $(patsubst %/,%,$(OUT))
STAMPS := $(OUT)/.stamps
TOP_MAKEFILE := $(firstword $(MAKEFILE_LIST))
RANDOM_WEIGHTS := $(strip $(foreach model,$(VLM) $(CHECKPOINT),$(if $(findstring parity/,$(model)),$(model))))
VLM_FILES := $(wildcard $(VLM)/*.safetensors $(VLM)/*.json)

# A shell word holding $(1) exactly.
quote = '$(subst ','\'',$(1))'

# The photos, as vlsam-run finds them: not hidden, sorted by name.
PHOTO_NAMES := $(shell [ -d $(call quote,$(IMAGE_DIR)) ] && find $(call quote,$(IMAGE_DIR)/) -mindepth 1 -maxdepth 1 \
	! -type d ! -name '.*' \( -iname '*.jpg' -o -iname '*.jpeg' -o -iname '*.png' \) -printf '%f\n' | LC_ALL=C sort)
SPACED_NAMES := $(shell [ -d $(call quote,$(IMAGE_DIR)) ] && find $(call quote,$(IMAGE_DIR)/) -mindepth 1 -maxdepth 1 \
	\( -iname '*.jpg' -o -iname '*.jpeg' -o -iname '*.png' \) -name '* *' -printf "'%f' ")
# Each photo's folder, in PHOTO_NAMES' order, as vlsam-run names it (Sources/BatchDriver/BatchPhoto.swift):
# its stem; but photos whose stems are equal up to ASCII case (truck.jpg, truck.png, Truck.JPG) each get
# <stem>-<the first 8 hex digits of the SHA-256 of the file name>.
FOLDERS := $(shell folded() { printf '%s\n' "$$@" | sed 's/\.[^.]*$$//' | LC_ALL=C tr A-Z a-z; }; \
	shared=$$(folded $(PHOTO_NAMES) | sort | uniq -d); \
	for name in $(PHOTO_NAMES); do \
		if [ -n "$$shared" ] && printf '%s\n' "$$shared" | grep -qxF "$$(folded "$$name")"; then \
			printf '%s-%s\n' "$${name%.*}" "$$(printf '%s' "$$name" | sha256sum | cut -c1-8)"; \
		else printf '%s\n' "$${name%.*}"; fi; \
	done)
# folder/name of every photo.
FOLDER_NAMES := $(join $(addsuffix /,$(FOLDERS)),$(PHOTO_NAMES))
$(foreach pair,$(FOLDER_NAMES),$(eval PHOTO.$(patsubst %/,%,$(dir $(pair))) := $(IMAGE_DIR)/$(notdir $(pair))))
DUPLICATE_FOLDERS := $(shell printf '%s\n' $(FOLDERS) | LC_ALL=C tr A-Z a-z | sort | uniq -d)

ITERATIONS := $(shell seq 0 $(K) 2>/dev/null)
PHOTO_FILES := embedding.h5 objects.h5 attention.h5 $(foreach k,$(ITERATIONS),prompts.$(k).h5 masks.$(k).h5)
# $(call artifacts,NAME): OUT/photos/<folder>/NAME of every photo.
artifacts = $(foreach folder,$(sort $(FOLDERS)),$(OUT)/photos/$(folder)/$(1))

# What each stage's stamp holds: its model and every flag that changes what it records.
LIST_FLAGS := --prompt $(call quote,$(PROMPT)) --max-new-tokens $(MAX_NEW_TOKENS) $(if $(filter no,$(SPLIT)),--no-split) \
	$(if $(strip $(OBJECTS)),--objects $(call quote,$(OBJECTS)))
ATTEND_FLAGS := --flow $(FLOW) --alpha $(ALPHA) --regularization $(REGULARIZATION) --query $(QUERY) --tiles $(TILES)
# vlsam-points records the seed only for kmeans and random.
POINTS_FLAGS := --strategy $(STRATEGY) --threshold $(THRESHOLD) --points $(POINTS) \
	$(if $(filter kmeans random,$(STRATEGY)),--seed $(SEED))
REFINE_FLAGS := $(POINTS_FLAGS) $(if $(filter yes,$(BOX_FROM_MASK)),--box-from-mask)
FLAGS.encode = $(CHECKPOINT)
FLAGS.list = $(VLM) $(LIST_FLAGS)
FLAGS.attend = $(VLM) $(ATTEND_FLAGS)
FLAGS.points = $(POINTS_FLAGS)
FLAGS.refine = $(REFINE_FLAGS)
FLAGS.decode = $(CHECKPOINT) --multimask
FLAGS.merge = --iterations $(K) --merge-iou $(MERGE_IOU) $(foreach folder,$(MERGED),$(PHOTO.$(folder)))
# vlsam-run's spelling of every method option, for the merge.
RUN_FLAGS := --vlm $(VLM) --sam $(CHECKPOINT) $(LIST_FLAGS) $(ATTEND_FLAGS) --strategy $(STRATEGY) --threshold $(THRESHOLD) \
	--points $(POINTS) --seed $(SEED) $(if $(filter yes,$(BOX_FROM_MASK)),--box-from-mask) --iterations $(K) --merge-iou $(MERGE_IOU)

# make -n: the photo rules only print their commands, so run takes every photo as done.
DRY_RUN := $(findstring n,$(firstword -$(MAKEFLAGS)))

# A recipe's command under the lock of the photo it works on.
LOCK = flock $(OUT)/photos/$*/.lock

STAGE_PROGRAMS := $(addprefix $(BIN)/,vlsam-encode vlsam-list vlsam-attend vlsam-points vlsam-decode vlsam-run)
PHOTO_DONE := $(patsubst %,photo-done/%,$(sort $(FOLDERS)))

.PHONY: run segment run-photos run-merge leftovers FORCE $(PHOTO_DONE)

run: ## the VL-SAM method on every photo of IMAGE_DIR into OUT, as vlsam-run does (resumable; -j2: two photos at once)
	@fail() { echo "run: $$*" >&2; exit 1; }; \
	[ -d $(call quote,$(IMAGE_DIR)) ] || fail "IMAGE_DIR=$(IMAGE_DIR) is not a folder"; \
	$(if $(SPACED_NAMES),fail "make cannot handle file names with spaces: $(SPACED_NAMES)in $(IMAGE_DIR); rename them or use vlsam-run";) \
	$(if $(PHOTO_NAMES),,fail "IMAGE_DIR=$(IMAGE_DIR) holds no photos (.jpg, .jpeg, .png, any case)";) \
	$(if $(DUPLICATE_FOLDERS),fail "photos would share the folder $(DUPLICATE_FOLDERS) (up to case) in $(OUT)/photos; rename one";) \
	case $(call quote,$(K)) in ''|*[!0-9]*) fail "K=$(K) is not a whole number";; esac; \
	case $(call quote,$(SPLIT)) in ''|yes|no) ;; *) fail "SPLIT=$(SPLIT): give no, or nothing for the processor's setting";; esac; \
	[ -d $(call quote,$(VLM)) ] || fail "VLM=$(VLM) is not a model folder (make weights fetches weights/SmolVLM-256M-Instruct)"; \
	[ -f $(call quote,$(CHECKPOINT)) ] || fail "CHECKPOINT=$(CHECKPOINT) is missing (make weights fetches weights/efficient_sam_vitt.pt)"; \
	command -v flock >/dev/null || fail "flock (util-linux) is missing"
	@$(if $(RANDOM_WEIGHTS),echo "run: WARNING: random parity weights ($(RANDOM_WEIGHTS)): the maps and masks mean nothing; run make weights" >&2)
# Interrupted (Ctrl-C), this shell stops too, even when a sub-make it waits for exits normally.
	@trap 'trap - INT; kill -INT $$$$' INT; mkdir -p $(STAMPS); \
	$(MAKE) --no-print-directory -f $(TOP_MAKEFILE) leftovers || exit 1; \
	finished=$(STAMPS)/.finished.partial-$$$$; $(if $(DRY_RUN),printf '%s\n' $(FOLDERS),:) > $$finished; \
	$(MAKE) --no-print-directory -f $(TOP_MAKEFILE) -k run-photos PHOTOS_DONE=$$finished; photos=$$?; \
	merged=$$(for folder in $(FOLDERS); do grep -qxF "$$folder" $$finished && printf '%s ' "$$folder"; done); \
	failed=$$(for pair in $(FOLDER_NAMES); do grep -qxF "$${pair%%/*}" $$finished || printf '%s ' "$${pair#*/}"; done); \
	rm -f $$finished; merge=0; \
	if [ -n "$$merged" ]; then \
		$(MAKE) --no-print-directory -f $(TOP_MAKEFILE) run-merge MERGED="$$merged" UNFINISHED="$$failed" BUILD_PROGRAMS=no \
			|| merge=1; fi; \
	$(if $(RANDOM_WEIGHTS),echo "run: WARNING: random parity weights ($(RANDOM_WEIGHTS)): the maps and masks mean nothing; run make weights" >&2;) \
	if [ -n "$$failed" ]; then echo "run: FAILED photos: $$failed(their first error is above; report.html lists them as failed)" >&2; \
	elif [ $$photos -ne 0 ]; then echo "run: the photo rules failed (see above)" >&2; fi; \
	if [ $$merge -ne 0 ]; then echo "run: the merge (vlsam-run --merge) failed (see above)" >&2; fi; \
	[ $$photos -eq 0 ] && [ $$merge -eq 0 ] && [ -z "$$failed" ] || exit 1; \
	echo "run: $(words $(FOLDERS)) photos from $(IMAGE_DIR) → $(OUT)/report.html (VLM $(VLM), SAM $(CHECKPOINT))"

segment: run ## the same as run (its old name)

# First (run calls it before the photo rules, so that no photo's folder is locked by them): the
# programs built, and the temporary files of killed runs removed (a live writer's never are).
leftovers: | $(BIN)/vlsam-run
	@$(BIN)/vlsam-run --out $(OUT) --remove-leftovers

# The photo rules (run calls this with -k): each photo's last masks, then its folder in PHOTOS_DONE.
PHOTOS_DONE ?= /dev/null
run-photos: $(PHOTO_DONE) $(BIN)/vlsam-run
$(PHOTO_DONE): photo-done/%: $(foreach file,$(PHOTO_FILES),$(OUT)/photos/%/$(file))
	@echo '$*' >> $(PHOTOS_DONE)

# The last step (run calls this with MERGED: the folders whose masks are all made, and UNFINISHED: the
# other photos): detections and pictures per photo, then the batch files; report.html is written last.
# vlsam-run gets every photo, so that it names their folders and numbers them as make and vlsam-run do,
# and lists the unfinished ones as failed (for which it exits with status 1). It runs again when a mask,
# the photos merged or the merge options changed, or when a photo's detections.h5 is missing.
MERGED ?=
UNFINISHED ?=
MERGE_LIST := $(STAMPS)/merge.list
MERGED_DETECTIONS := $(foreach folder,$(MERGED),$(OUT)/photos/$(folder)/detections.h5)
run-merge: $(OUT)/report.html
$(OUT)/report.html $(OUT)/detections.json $(OUT)/images.json &: \
		$(foreach folder,$(MERGED),$(foreach k,$(ITERATIONS),$(OUT)/photos/$(folder)/masks.$(k).h5)) $(STAMPS)/merge.flags \
		$(if $(filter-out $(wildcard $(MERGED_DETECTIONS)),$(MERGED_DETECTIONS)),FORCE) | $(BIN)/vlsam-run
	@printf '%s\n' $(foreach name,$(PHOTO_NAMES),$(call quote,$(IMAGE_DIR)/$(name))) > $(MERGE_LIST)
	$(BIN)/vlsam-run --merge --list $(MERGE_LIST) --out $(OUT) $(RUN_FLAGS) $(RESOURCE_FLAGS) \
		$(if $(UNFINISHED),|| true,|| { rm -f $(STAMPS)/merge.flags; exit 1; })

# The stage rules, in the driver's order; within a photo they run one after another (order-only
# prerequisites), so -jN works on N photos at once.
$(call artifacts,embedding.h5): $(OUT)/photos/%/embedding.h5: $(STAMPS)/source/% $(STAMPS)/encode.flags $(CHECKPOINT) \
		| $(BIN)/vlsam-encode
	@mkdir -p $(@D)
	$(LOCK) $(BIN)/vlsam-encode --checkpoint $(CHECKPOINT) --output $@ $(RESOURCE_FLAGS) $(PHOTO.$*)

$(call artifacts,objects.h5): $(OUT)/photos/%/objects.h5: $(STAMPS)/source/% $(STAMPS)/list.flags $(VLM_FILES) \
		| $(OUT)/photos/%/embedding.h5 $(BIN)/vlsam-list
	@mkdir -p $(@D)
	$(LOCK) $(BIN)/vlsam-list --model $(VLM) $(LIST_FLAGS) --output $@ $(RESOURCE_FLAGS) $(PHOTO.$*)

$(call artifacts,attention.h5): $(OUT)/photos/%/attention.h5: $(OUT)/photos/%/objects.h5 $(STAMPS)/attend.flags $(VLM_FILES) \
		| $(BIN)/vlsam-attend
	$(LOCK) $(BIN)/vlsam-attend --model $(VLM) --objects $(@D)/objects.h5 --output $@ $(ATTEND_FLAGS) $(RESOURCE_FLAGS)

$(call artifacts,prompts.0.h5): $(OUT)/photos/%/prompts.0.h5: $(OUT)/photos/%/attention.h5 $(STAMPS)/points.flags | $(BIN)/vlsam-points
	$(LOCK) $(BIN)/vlsam-points --attention $(@D)/attention.h5 --output $@ $(POINTS_FLAGS) $(RESOURCE_FLAGS)

# $(call refinement_rules,k,k-1): refinement step k's points, from the masks of step k-1.
define refinement_rules
$(call artifacts,prompts.$(1).h5): $(OUT)/photos/%/prompts.$(1).h5: $(OUT)/photos/%/attention.h5 $(OUT)/photos/%/masks.$(2).h5 \
		$(STAMPS)/refine.flags | $(BIN)/vlsam-points
	$$(LOCK) $(BIN)/vlsam-points --attention $$(@D)/attention.h5 --previous-masks $$(@D)/masks.$(2).h5 --output $$@ \
		$$(REFINE_FLAGS) $$(RESOURCE_FLAGS)
endef
# $(call decode_rules,k): the masks of step k.
define decode_rules
$(call artifacts,masks.$(1).h5): $(OUT)/photos/%/masks.$(1).h5: $(OUT)/photos/%/embedding.h5 $(OUT)/photos/%/prompts.$(1).h5 \
		$(STAMPS)/decode.flags $(CHECKPOINT) | $(BIN)/vlsam-decode
	$$(LOCK) $(BIN)/vlsam-decode --checkpoint $(CHECKPOINT) --embedding $$(@D)/embedding.h5 --prompts $$(@D)/prompts.$(1).h5 \
		--output $$@ --multimask $$(RESOURCE_FLAGS)
endef
$(foreach k,$(ITERATIONS),$(eval $(call decode_rules,$(k))))
$(foreach k,$(wordlist 2,$(words $(ITERATIONS)),$(ITERATIONS)),$(eval $(call refinement_rules,$(k),$(word $(k),$(ITERATIONS)))))

# A stamp is rewritten only when what it holds changes, so its mtime is when that last changed. (They
# are written under make -n too, marked +, so that a dry run lists only what would really run.)
# $(call write_if_changed,COMMANDS): the output of COMMANDS into $@, unless $@ holds it already.
write_if_changed = mkdir -p $(@D) && { $(1); } > $(@D)/.$(@F).partial-$$$$ && \
	if cmp -s $(@D)/.$(@F).partial-$$$$ $@; then rm -f $(@D)/.$(@F).partial-$$$$; else mv -f $(@D)/.$(@F).partial-$$$$ $@; fi
# Each stage's flags and model.
STAMP_FILES := $(foreach stage,encode list attend points refine decode merge,$(STAMPS)/$(stage).flags)
$(STAMP_FILES): $(STAMPS)/%.flags: FORCE
	@+$(call write_if_changed,printf '%s\n' $(call quote,$(strip $(FLAGS.$*))))
# Each photo's path, size and modification time: a photo replaced by another file, even an older one,
# or taken from another IMAGE_DIR is listed and encoded again.
SOURCE_STAMPS := $(patsubst %,$(STAMPS)/source/%,$(sort $(FOLDERS)))
$(SOURCE_STAMPS): $(STAMPS)/source/%: FORCE
	@+$(call write_if_changed,printf '%s\n' $(call quote,$(PHOTO.$*)) && stat -L -c '%s %y' $(call quote,$(PHOTO.$*)))
FORCE:

# Every file is written whole under a temporary name and then renamed, so a target that exists is
# complete: make must not delete one when it is interrupted (it would, were the target renamed
# into place just before the signal).
.PRECIOUS: $(foreach file,$(PHOTO_FILES),$(call artifacts,$(file))) $(STAMP_FILES) $(SOURCE_STAMPS) \
	$(OUT)/report.html $(OUT)/detections.json $(OUT)/images.json

# The stage programs, rebuilt only when a source changed (touched after the build, since SwiftPM
# leaves a binary alone when its own inputs did not change); once per run, before the photo rules.
BUILD_PROGRAMS ?= yes
ifeq ($(BUILD_PROGRAMS)$(if $(filter $(SWIFT_BUILD_DIR)/release $(SWIFT_BUILD_DIR)/%/release,$(BIN)),+under),yes+under)
$(STAGE_PROGRAMS) &: $(shell find Sources -type f 2>/dev/null) Package.swift $(wildcard Package.resolved)
	$(SWIFT) build -c release --scratch-path $(SWIFT_BUILD_DIR)
	@touch $(STAGE_PROGRAMS)
else
$(STAGE_PROGRAMS):
	@echo "run: $@ is missing: build the stage programs into BIN=$(BIN), or leave BIN unset (make builds them into $(SWIFT_BUILD_DIR)/release)" >&2; exit 1
endif
