# Study P's structures (shared/spec/STUDIES.md), shared by perforated-assb.mk,
# perforated-lib.mk and transference.mk, which set STUDY and CELL (and the
# series) first: a homogeneous base (SIZE, 65 vol% CAM, 21 vol% CBD, 14 vol%
# electrolyte) with a cylindrical channel along x, axis on the y = 0, z = 0
# edge; every CAM and CBD voxel within radius r becomes electrolyte (r = 0:
# the base). The ASSB cell turns CBD into SE; the LIB cell keeps it.
DESIGN := r_um
DESIGN_LABEL := channel radius r (µm)
DESIGN_TITLE := r = @ µm
ID_PREFIX := r
ID_SUFFIX := um

# the fast variant: coarse voxels, a box of whole 4 um voxels (104 um thick,
# 40 um wide), three radii
ifeq ($(FAST),1)
VOXEL ?= 4um
SIZE ?= 104x40x40um
RADII ?= 0 12 24
endif
SIZE ?= 106x60x60um
RADII ?= 0 4 8 12 16 20 24 28 32 36
CAM ?= 0.65
CBD ?= 0.21
ELECTROLYTE ?= 0.14
DIAMETER ?= 8um
DESIGN_VALUES := $(RADII)
STRUCTURE_PARAMS := VOXEL SEED SIZE CAM CBD ELECTROLYTE DIAMETER

include $(dir $(lastword $(MAKEFILE_LIST)))study.mk

$(OUT)/structures/base.h5: $(call param,$(STRUCTURE_PARAMS)) | $(BIN)/solve
	@mkdir -p $(@D)
	$(BIN)/genstruct homogeneous --size $(SIZE) --voxel $(VOXEL) --diameter $(DIAMETER) \
		--cam $(CAM) --cbd $(CBD) --electrolyte $(ELECTROLYTE) --seed $(SEED) -o $@

$(OUT)/structures/r%um.h5: $(OUT)/structures/base.h5
	$(BIN)/genstruct perforate --radius $*um $< -o $@
