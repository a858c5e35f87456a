# SAM half of the batch pipeline, as make rules: every artifact is a file target, so an interrupted
# batch resumes where it stopped (make rebuilds only what is missing or older than its inputs),
# and the stage programs write atomically, so a half-written artifact never looks complete.
#
#   make segment IMAGE_DIR=photos CHECKPOINT=weights/efficient_sam_vitt.pt OUT=artifacts/photos
#
# For each photo <stem>.jpg/.png in IMAGE_DIR:
#   $(OUT)/embeddings/<stem>.embedding.h5   vlsam-encode
#   $(OUT)/masks/<stem>.masks.h5            vlsam-decode, prompts from $(OUT)/prompts/<stem>.prompts.h5
#                                           when that file exists, else one foreground point at the centre
#   $(OUT)/masks/<stem>/                    one PNG per mask

IMAGE_DIR ?= ../shared/data/samples
OUT ?= artifacts/samples
# The real EfficientSAM ViT-T when `make weights` has fetched it, else the parity bundle's
# architecture-exact random weights (the pipeline runs, but the masks mean nothing).
CHECKPOINT ?= $(firstword $(wildcard weights/efficient_sam_vitt.pt) ../shared/parity/efficientsam-vitt/weights.pt)
BIN ?= .build/release

IMAGES := $(wildcard $(IMAGE_DIR)/*.jpg $(IMAGE_DIR)/*.jpeg $(IMAGE_DIR)/*.png)
STEMS := $(basename $(notdir $(IMAGES)))
EMBEDDINGS := $(STEMS:%=$(OUT)/embeddings/%.embedding.h5)
MASKS := $(STEMS:%=$(OUT)/masks/%.masks.h5)

.PHONY: segment stage-programs
# Embeddings are results in their own right (decoding reuses them), not intermediates to delete.
.SECONDARY: $(EMBEDDINGS)
segment: $(MASKS) ## encode and decode every photo in IMAGE_DIR into OUT (resumable)
	@echo "segment: $(words $(MASKS)) photos from $(IMAGE_DIR) → $(OUT) with $(CHECKPOINT)"

stage-programs:
	$(SWIFT) build -c release --product vlsam-encode
	$(SWIFT) build -c release --product vlsam-decode

$(BIN)/vlsam-encode $(BIN)/vlsam-decode: | stage-programs

# The source photo of a stem, whatever its extension.
photo = $(firstword $(filter %/$(1).jpg %/$(1).jpeg %/$(1).png,$(IMAGES)))

.SECONDEXPANSION:
$(OUT)/embeddings/%.embedding.h5: $$(call photo,$$*) | $(BIN)/vlsam-encode
	@mkdir -p $(@D)
	$(BIN)/vlsam-encode --checkpoint $(CHECKPOINT) --output $@ $<

$(OUT)/masks/%.masks.h5: $(OUT)/embeddings/%.embedding.h5 $$(wildcard $(OUT)/prompts/$$*.prompts.h5) | $(BIN)/vlsam-decode
	@mkdir -p $(@D)
	$(BIN)/vlsam-decode --checkpoint $(CHECKPOINT) --embedding $< --output $@ --multimask --png-dir $(OUT)/masks/$* \
	  $(if $(wildcard $(OUT)/prompts/$*.prompts.h5),--prompts $(OUT)/prompts/$*.prompts.h5,--center-point)
