# Study P-ASSB (shared/spec/STUDIES.md): perforated ASSB cathodes. A
# homogeneous base (SIZE, 65 vol% CAM, 21 vol% CBD -> SE in the cell, 14 vol%
# SE) with a cylindrical channel along x, axis on the y = 0, z = 0 edge;
# every CAM and CBD voxel within radius r becomes electrolyte (r = 0: the base).
#   make -f perforated-assb.mk [FAST=1] [VOXEL=1um SEED=1 CURRENTS="1 2 4 6 8"
#        RADII="0 4 ... 36" OUT=DIR LAUNCH=... THREADS=...]
STUDY := perforated-assb
DESIGN := r_um
DESIGN_LABEL := channel radius r (µm)
DESIGN_TITLE := r = @ µm
ID_PREFIX := r
ID_SUFFIX := um

# the fast variant: coarse voxels, a box of whole 4 um voxels (104 um thick,
# 40 um wide), three radii, two currents
ifeq ($(FAST),1)
VOXEL ?= 4um
SIZE ?= 104x40x40um
RADII ?= 0 12 24
CURRENTS ?= 2 8
endif
SIZE ?= 106x60x60um
RADII ?= 0 4 8 12 16 20 24 28 32 36
PROFILE_VALUES ?= $(firstword $(RADII)) $(lastword $(RADII))
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
