# Study G (docs/pipelines.md, issue 16): graded and multi-layer ASSB cathodes
# at equal theoretical capacity. Every design has the mean CAM fraction CAM
# (0.65, that of the Study L stack with f = 0.5), the rest SE, and the same
# thickness; all but the stack are one packing of whole spheres (`genstruct
# graded`), so that they differ by their profile alone:
#   homog     the constant CAM
#   stack2    Study L's stack: L60 and L70 (homogeneous) cut at f = 0.5 and
#             stacked, L60 at the separator
#   step2     a graded step with the same two compositions (LO, then HI)
#   step3     three steps LO, CAM, HI; step5 five, LO to HI
#   lin10 lin20 lin30   linear from CAM - s/2 at the separator to CAM + s/2 at
#             the collector, s = 0.10, 0.20, 0.30 (the sweep of slopes; the
#             best of them per current is in STUDY-best.csv)
#   psd       constant CAM, median diameter from PSD_FROM at the separator to
#             PSD_TO at the collector
#   make -f graded.mk [FAST=1] [VOXEL=1um SEED=1 CURRENTS="1 4 8" DESIGNS=...
#        OUT=DIR LAUNCH=... THREADS=...]
STUDY := graded
DESIGN := design
DESIGN_LABEL := cathode design
DESIGN_TITLE := @
ID_PREFIX :=
ID_SUFFIX :=

# the fast variant: coarse voxels, a narrower box, two currents; the
# particles at least two voxels across
ifeq ($(FAST),1)
VOXEL ?= 4um
SIZE ?= 100x40x40um
CURRENTS ?= 2 8
PSD_FROM ?= 8um
PSD_TO ?= 16um
endif
SIZE ?= 100x80x80um
CURRENTS ?= 1 4 8
DESIGNS ?= homog stack2 step2 step3 step5 lin10 lin20 lin30 psd
PROFILE_VALUES ?= stack2 step2
# the designs drawn together in fig/fractions.png and fig/utilization-designs.png
COMPARE ?= stack2 step2 step5 lin20 psd
CAM ?= 0.65
LO ?= 0.6
HI ?= 0.7
DIAMETER ?= 8um
PSD_FROM ?= 5um
PSD_TO ?= 11um
DESIGN_VALUES := $(DESIGNS)
STRUCTURE_PARAMS := VOXEL SEED SIZE CAM LO HI DIAMETER PSD_FROM PSD_TO
CATEGORIES := $(DESIGNS)
FIGURE_PARAMS := COMPARE

# refused before study.mk stamps the parameters, so that a bad DESIGNS
# leaves the study as it was
unknown := $(filter-out homog stack2 step2 step3 step5 lin% psd,$(DESIGNS))
$(if $(unknown),$(error graded.mk: no CAM profile for the design '$(firstword $(unknown))' $\
	(homog, stack2, step2, step3, step5, linS with S the slope in hundredths, psd)))

include $(dir $(lastword $(MAKEFILE_LIST)))study.mk

# cathode thickness in um (SIZE is XxYxZum)
THICK := $(firstword $(subst x, ,$(SIZE)))
# awk on the make variables: $(call calc,EXPR) with L the thickness
calc = $(shell awk -v L=$(THICK) -v c=$(CAM) -v lo=$(LO) -v hi=$(HI) 'BEGIN { print $(1) }')
GRADED = $(BIN)/genstruct graded --size $(SIZE) --voxel $(VOXEL) --seed $(SEED)
# --cam PROFILE of every design made by `genstruct graded`
cam_homog := $(CAM)
cam_step2 := steps:$(call calc,L/2)um:$(LO),$(THICK)um:$(HI)
cam_step3 := steps:$(call calc,L/3)um:$(LO),$(call calc,2*L/3)um:$(CAM),$(THICK)um:$(HI)
step5_mid := $(call calc,lo+(c-lo)/2) $(call calc,c+(hi-c)/2)
cam_step5 := steps:$(call calc,L/5)um:$(LO),$(call calc,2*L/5)um:$(word 1,$(step5_mid)),$\
	$(call calc,3*L/5)um:$(CAM),$(call calc,4*L/5)um:$(word 2,$(step5_mid)),$(THICK)um:$(HI)
cam_lin = linear:$(call calc,c-$(1)/2):$(call calc,c+$(1)/2)
# linS: slope S/100 over the thickness (lin10, lin20, lin30, or any other S)
cam_of = $(or $(cam_$(1)),$(if $(filter lin%,$(1)),$(call cam_lin,$(patsubst lin%,%,$(1))/100)),$\
	$(error graded.mk: no CAM profile for the design '$(1)'))

GRADED_IDS := $(filter homog step% lin%,$(DESIGNS))
$(GRADED_IDS:%=$(OUT)/structures/%.h5): $(OUT)/structures/%.h5: \
		$(call param,$(STRUCTURE_PARAMS)) | $(BIN)/solve
	@mkdir -p $(@D)
	$(GRADED) --diameter $(DIAMETER) --cam $(call cam_of,$*) -o $@

$(OUT)/structures/psd.h5: $(call param,$(STRUCTURE_PARAMS)) | $(BIN)/solve
	@mkdir -p $(@D)
	$(GRADED) --cam $(CAM) --diameter 0:$(PSD_FROM),$(THICK)um:$(PSD_TO) -o $@

# Study L's two homogeneous structures, cut at f = 0.5 and stacked
$(OUT)/structures/L60.h5 $(OUT)/structures/L70.h5: $(OUT)/structures/L%.h5: \
		$(call param,$(STRUCTURE_PARAMS)) | $(BIN)/solve
	@mkdir -p $(@D)
	$(BIN)/genstruct homogeneous --size $(SIZE) --voxel $(VOXEL) --diameter $(DIAMETER) \
		--cam $(if $(filter 60,$*),$(LO),$(HI)) --seed $(SEED) -o $@
$(OUT)/structures/stack2.h5: $(OUT)/structures/L60.h5 $(OUT)/structures/L70.h5
	$(BIN)/genstruct stack $(OUT)/structures/L60.h5:0.5 $(OUT)/structures/L70.h5:0.5 -o $@

# --- what this study adds to study.mk: the CAM profile of every design and
# the utilization at the highest current of every design, one table each,
# and the designs in COMPARE on one figure each (the stack's interface
# against the graded step); the best of the linear slopes per current
FRACTIONS_TABLE := $(OUT)/$(STUDY)-fractions.csv
INTERFACE_TABLE := $(OUT)/$(STUDY)-utilization.csv
BEST_TABLE := $(OUT)/$(STUDY)-best.csv
TOP_CURRENT := $(lastword $(CURRENTS))
tables: $(FRACTIONS_TABLE) $(INTERFACE_TABLE) $(BEST_TABLE)
figures: $(OUT)/fig/fractions.png $(OUT)/fig/utilization-designs.png

$(OUT)/profiles/%.fractions.csv: $(OUT)/cells/%.h5
	@mkdir -p $(@D)
	$(BIN)/metrics --profile fractions $< > $@.tmp && mv $@.tmp $@

# design,<the profile's columns>, one block per design (study.mk)
$(FRACTIONS_TABLE): $(DESIGNS:%=$(OUT)/profiles/%.fractions.csv) $(call param,DESIGN_VALUES)
	$(call design_profiles,$(DESIGNS),.fractions.csv) > $@.tmp && mv $@.tmp $@
$(INTERFACE_TABLE): $(DESIGNS:%=$(OUT)/profiles/%_$(TOP_CURRENT)mA.utilization.csv) \
		$(call param,DESIGN_VALUES CURRENTS)
	$(call design_profiles,$(DESIGNS),_$(TOP_CURRENT)mA.utilization.csv) > $@.tmp && mv $@.tmp $@

# per current: the linear slope with the highest energy density
$(BEST_TABLE): $(TABLE)
	awk -F, -v OFS=, 'NR == 1 { for (k = 1; k <= NF; k++) c[$$k] = k; next } \
		$$1 ~ /^lin/ { i = $$2; e = $$c["energy_density_Wh_kg"]; \
			if (!(i in best) || e > best[i]) { best[i] = e; d[i] = $$1; q[i] = $$c["capacity_mAh_cm2"] } \
			if (!(i in seen)) { seen[i] = 1; order[++n] = i } } \
		END { print "set_current_mA_cm2,best_linear,energy_density_Wh_kg,capacity_mAh_cm2"; \
			for (k = 1; k <= n; k++) print order[k], d[order[k]], best[order[k]], q[order[k]] }' \
		$< > $@.tmp && mv $@.tmp $@

$(OUT)/fig/fractions.png: $(FRACTIONS_TABLE) $(PIPELINES)/plot.gp $(call param,COMPARE)
	@mkdir -p $(@D)
	$(PLOT) fractions $< $@.tmp.png design 'CAM volume fraction per x-slice' '$(COMPARE)' && \
		mv $@.tmp.png $@
$(OUT)/fig/utilization-designs.png: $(INTERFACE_TABLE) $(PIPELINES)/plot.gp \
		$(call param,COMPARE)
	@mkdir -p $(@D)
	$(PLOT) utilization-designs $< $@.tmp.png design \
		'CAM utilization at $(TOP_CURRENT) mA/cm^2' '$(COMPARE)' && mv $@.tmp.png $@
