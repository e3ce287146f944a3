# Study P-LIB (shared/spec/STUDIES.md): the Study P structures (perforated.mk)
# as LIB cells, CBD kept as CBD (porous, LE in its pores), liquid electrolyte
# in the channel. Besides what every study makes: c_e / c_e,0 across
# separator and cathode at the highest current for the radii in
# ELECTROLYTE_VALUES, one figure (fig/electrolyte-designs.png) and one table.
#   make -f perforated-lib.mk [FAST=1] [VOXEL=1um SEED=1 CURRENTS="1 2 4 6 8"
#        RADII="0 4 ... 36" ELECTROLYTE_VALUES="0 20 36" OUT=DIR LAUNCH=...]
STUDY := perforated-lib
CELL := lib
ifeq ($(FAST),1)
CURRENTS ?= 2 8
ELECTROLYTE_VALUES ?= 0 12 24
endif
ELECTROLYTE_VALUES ?= 0 20 36
FIGURE_PARAMS := ELECTROLYTE_VALUES

include $(dir $(lastword $(MAKEFILE_LIST)))perforated.mk

# r_um,x_um,c_e_rel at the highest current, one block per radius
TOP_CURRENT := $(lastword $(CURRENTS))
CE_TABLE := $(OUT)/$(STUDY)-electrolyte.csv
CE_FILES := $(foreach r,$(ELECTROLYTE_VALUES),$(OUT)/profiles/$(call id,$(r))_$(TOP_CURRENT)mA.electrolyte.csv)
tables: $(CE_TABLE)
figures: $(OUT)/fig/electrolyte-designs.png

$(CE_TABLE): $(CE_FILES) $(call param,ELECTROLYTE_VALUES CURRENTS)
	$(call design_profiles,$(ELECTROLYTE_VALUES),_$(TOP_CURRENT)mA.electrolyte.csv) > $@.tmp && \
		mv $@.tmp $@
$(OUT)/fig/electrolyte-designs.png: $(CE_TABLE) $(PIPELINES)/plot.gp
	@mkdir -p $(@D)
	$(PLOT) electrolyte-designs $< $@.tmp.png $(DESIGN) \
		'$(STUDY): c_e across separator and cathode at $(TOP_CURRENT) mA/cm^2' \
		'$(ELECTROLYTE_VALUES)' '$(DESIGN_TITLE)' && mv $@.tmp.png $@
