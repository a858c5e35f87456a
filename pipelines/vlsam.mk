# The VL-SAM pipeline as make rules: every artifact is a file target, so an interrupted batch
# resumes where it stopped (make rebuilds only what is missing or older than its inputs), and
# the stage programs write atomically, so a half-written artifact never looks complete.
#
#   make segment IMAGE_DIR=photos OUT=artifacts/photos VLM=weights/SmolVLM-256M-Instruct CHECKPOINT=weights/sam_vit_b_01ec64.pth
#
# For each photo <stem>.jpg/.jpeg/.png in IMAGE_DIR, under OUT:
#   objects/<stem>.objects.h5        vlsam-list: what the VLM names (teacher-forced OBJECTS when set)
#   attention/<stem>.attention.h5    vlsam-attend: one map per object  (+ attention/<stem>/*.png)
#   prompts/<stem>.prompts.h5        vlsam-points: points per object   (+ prompts/<stem>/*.png)
#   embeddings/<stem>.embedding.h5   vlsam-encode
#   masks/<stem>.masks.h5            vlsam-decode, 3 masks per object  (+ masks/<stem>/*.png)
#   prompts/<stem>.prompts.1.h5      vlsam-points --previous-masks: refinement step 1
#   masks/<stem>.masks.1.h5          vlsam-decode of the refined prompts (+ masks/<stem>.1/*.png)

IMAGE_DIR ?= ../shared/data/samples
OUT ?= artifacts/samples
BIN ?= .build/release
# The real models when `make weights` has fetched them, else the parity bundles'
# architecture-exact random weights: the pipeline runs, but its maps and masks mean nothing.
VLM ?= $(firstword $(wildcard weights/SmolVLM-256M-Instruct) ../shared/parity/smolvlm-tiny)
CHECKPOINT ?= $(firstword $(wildcard weights/efficient_sam_vitt.pt) ../shared/parity/efficientsam-vitt/weights.pt)
# Object names to teacher-force instead of asking the VLM (comma-separated). A random-weight VLM
# answers gibberish, so it is given a fixed list.
comma := ,
OBJECTS ?= $(if $(findstring ../shared/parity,$(VLM)),dog$(comma) truck$(comma) window$(comma) bottle$(comma) person)
RANDOM_WEIGHTS := $(findstring ../shared/parity,$(VLM) $(CHECKPOINT))

IMAGES := $(wildcard $(IMAGE_DIR)/*.jpg $(IMAGE_DIR)/*.jpeg $(IMAGE_DIR)/*.png)
STEMS := $(basename $(notdir $(IMAGES)))
REFINED := $(STEMS:%=$(OUT)/masks/%.masks.1.h5)
STAGES := vlsam-list vlsam-attend vlsam-points vlsam-encode vlsam-decode

.PHONY: segment stage-programs
# Every artifact is a result in its own right, not an intermediate for make to delete.
.SECONDARY:
segment: $(REFINED) ## the VL-SAM chain on every photo in IMAGE_DIR into OUT (resumable)
	@echo "segment: $(words $(REFINED)) photos from $(IMAGE_DIR) → $(OUT) (VLM $(VLM), SAM $(CHECKPOINT))"
	@$(if $(RANDOM_WEIGHTS),echo "segment: WARNING: random parity weights were used ($(RANDOM_WEIGHTS)); the maps and masks mean nothing. Run make weights." >&2,true)

stage-programs:
	$(SWIFT) build -c release $(STAGES:%=--product %)

$(STAGES:%=$(BIN)/%): | stage-programs

# The source photo of a stem, whatever its extension.
photo = $(firstword $(filter %/$(1).jpg %/$(1).jpeg %/$(1).png,$(IMAGES)))

.SECONDEXPANSION:
$(OUT)/objects/%.objects.h5: $$(call photo,$$*) | $(BIN)/vlsam-list
	@mkdir -p $(@D)
	$(BIN)/vlsam-list --model $(VLM) --output $@ $< $(if $(strip $(OBJECTS)),--objects "$(OBJECTS)")

$(OUT)/attention/%.attention.h5: $(OUT)/objects/%.objects.h5 | $(BIN)/vlsam-attend
	@mkdir -p $(@D)
	$(BIN)/vlsam-attend --model $(VLM) --objects $< --output $@ --png-dir $(OUT)/attention/$*

$(OUT)/prompts/%.prompts.h5: $(OUT)/attention/%.attention.h5 | $(BIN)/vlsam-points
	@mkdir -p $(@D)
	$(BIN)/vlsam-points --attention $< --output $@ --png-dir $(OUT)/prompts/$*

$(OUT)/embeddings/%.embedding.h5: $$(call photo,$$*) | $(BIN)/vlsam-encode
	@mkdir -p $(@D)
	$(BIN)/vlsam-encode --checkpoint $(CHECKPOINT) --output $@ $<

$(OUT)/masks/%.masks.h5: $(OUT)/embeddings/%.embedding.h5 $(OUT)/prompts/%.prompts.h5 | $(BIN)/vlsam-decode
	@mkdir -p $(@D)
	$(BIN)/vlsam-decode --checkpoint $(CHECKPOINT) --embedding $< --prompts $(word 2,$^) --output $@ --multimask \
	  --png-dir $(OUT)/masks/$*

$(OUT)/prompts/%.prompts.1.h5: $(OUT)/attention/%.attention.h5 $(OUT)/masks/%.masks.h5 | $(BIN)/vlsam-points
	$(BIN)/vlsam-points --attention $< --previous-masks $(word 2,$^) --output $@ --png-dir $(OUT)/prompts/$*.1

$(OUT)/masks/%.masks.1.h5: $(OUT)/embeddings/%.embedding.h5 $(OUT)/prompts/%.prompts.1.h5 | $(BIN)/vlsam-decode
	$(BIN)/vlsam-decode --checkpoint $(CHECKPOINT) --embedding $< --prompts $(word 2,$^) --output $@ --multimask \
	  --png-dir $(OUT)/masks/$*.1
