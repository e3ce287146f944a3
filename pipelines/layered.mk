# Study L (shared/spec/STUDIES.md): two-layer ASSB cathodes. Two homogeneous
# structures L60 and L70 (CAM_L60, CAM_L70 vol% CAM, the rest SE); a stack
# keeps the thickness with L60 at the separator side, thickness fraction f,
# L70 at the collector side (f = 0: homogeneous L70, f = 1: homogeneous L60).
# layered-rev.mk reuses these rules with REVERSED = 1 (L70 at the separator).
#   make -f layered.mk [FAST=1] [VOXEL=1um SEED=1 CURRENTS="1 2 4 6 8"
#        FRACTIONS="0 0.1 ... 1" OUT=DIR LAUNCH=... THREADS=...]
STUDY ?= layered
REVERSED ?= 0
DESIGN := f
ifeq ($(REVERSED),1)
DESIGN_LABEL := f = d_{L60} / d  (L70 at the separator, L60 at the collector)
else
DESIGN_LABEL := f = d_{L60} / d  (L60 at the separator, L70 at the collector)
endif
ID_PREFIX := f
ID_SUFFIX :=

# the fast variant: coarse voxels, a narrower box, three stacks, two currents
ifeq ($(FAST),1)
VOXEL ?= 4um
SIZE ?= 100x40x40um
FRACTIONS ?= 0 0.5 1
CURRENTS ?= 2 8
endif
SIZE ?= 100x80x80um
FRACTIONS ?= 0 0.1 0.2 0.3 0.4 0.5 0.6 0.7 0.8 0.9 1
PROFILE_VALUES ?= 0 0.5 1
CAM_L60 ?= 0.6
CAM_L70 ?= 0.7
DIAMETER ?= 8um
DESIGN_VALUES := $(FRACTIONS)
STRUCTURE_PARAMS := VOXEL SEED SIZE CAM_L60 CAM_L70 DIAMETER

include $(dir $(lastword $(MAKEFILE_LIST)))study.mk

$(OUT)/structures/L60.h5 $(OUT)/structures/L70.h5: $(OUT)/structures/L%.h5: \
		$(call param,$(STRUCTURE_PARAMS)) | $(BIN)/solve
	@mkdir -p $(@D)
	$(BIN)/genstruct homogeneous --size $(SIZE) --voxel $(VOXEL) --diameter $(DIAMETER) \
		--cam $(CAM_L$*) --seed $(SEED) -o $@

# f0 and f1 are the homogeneous structures; the others are cut and stacked
$(OUT)/structures/f%.h5: $(OUT)/structures/L60.h5 $(OUT)/structures/L70.h5
	if awk 'BEGIN { exit !($* == 0) }'; then cp $(OUT)/structures/L70.h5 $@.stack.h5; \
	elif awk 'BEGIN { exit !($* == 1) }'; then cp $(OUT)/structures/L60.h5 $@.stack.h5; \
	else $(BIN)/genstruct stack $(OUT)/structures/L60.h5:$* \
		$(OUT)/structures/L70.h5:$$(awk 'BEGIN { print 1 - $* }') -o $@.stack.h5; fi
ifeq ($(REVERSED),1)
	$(BIN)/genstruct reverse $@.stack.h5 -o $@ && rm -f $@.stack.h5
else
	mv $@.stack.h5 $@
endif
