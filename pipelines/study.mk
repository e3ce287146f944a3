# What every study shares (included by layered.mk, layered-rev.mk,
# perforated-assb.mk after they set the study's own variables):
#
#   structures/ID.h5  -> cells/ID.h5 (assemble, ASSB) -> cells/ID.csv (metrics
#   --conductivity=ionic) -> runs/ID_ImA.h5 (solve, one per current) ->
#   metrics/ID_ImA.csv, profiles/ID_ImA.{utilization,cumulative,discharge}.csv
#   -> STUDY.csv, STUDY-structures.csv (tidy, one row per run / design)
#   -> fig/*.png (gnuplot)
#
# The fragment sets: STUDY, DESIGN (column name), DESIGN_LABEL (axis label),
# DESIGN_TITLE (figure titles, @ for the value),
# DESIGN_VALUES, ID_PREFIX/ID_SUFFIX (file name of a design value), the rules
# for $(OUT)/structures/ID.h5, STRUCTURE_PARAMS (the make variables the
# structures depend on), and may set PROFILE_VALUES (the design values whose
# profiles and discharge curves are drawn; default: first and last) and
# CATEGORIES (the design values are names, drawn in this order; graded.mk)
# and FIGURE_PARAMS (variables that only its own figures depend on).
#
# Every output is written under a temporary name and renamed when complete
# (the programs do it themselves, the recipes here for CSV and PNG), and
# .DELETE_ON_ERROR removes what a failed recipe left: an interrupted run never
# leaves a file that make takes as finished.

PIPELINES := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
TOP := $(abspath $(PIPELINES)/..)
BIN ?= $(TOP)/build/bin
STUDIES_DIR ?= $(TOP)/studies
OUT ?= $(STUDIES_DIR)/$(STUDY)$(if $(filter 1,$(FAST)),-fast)
CURRENTS ?= 1 2 4 6 8
SEED ?= 1
VOXEL ?= 1um
CUTOFF ?= 3.0V
SOLVE_FLAGS ?=
ASSEMBLE_FLAGS ?=
# Prefix of every simulation (solve) command, e.g. LAUNCH="srun -n1 -c4"
LAUNCH ?=
# OpenMP threads of each simulation and conductivity (empty: all cores).
# With make -j N on one machine, THREADS=1 (or cores / N) avoids
# oversubscription.
THREADS ?=
PROFILE_VALUES ?= $(firstword $(DESIGN_VALUES)) $(lastword $(DESIGN_VALUES))

# OpenMP wait policy (OMP_WAIT_POLICY) of each solve and conductivity.
# Empty: passive (waiting threads sleep) when make runs jobs in parallel
# (-j N, N > 1) with more than one thread each and no LAUNCH, else
# libgomp's default (spin a while, then sleep). On a 2 um cell, spinning
# threads of two runs sharing 2 cores slowed them 5.6-fold and sleeping
# threads of a run alone slowed it 2.5-fold (docs/pipelines.md). Expanded
# in the recipe, where MAKEFLAGS holds -j N.
WAIT_POLICY ?=
parallel_jobs = $(filter-out -j1,$(filter -j%,$(MAKEFLAGS)))
several_threads = $(filter-out 1,$(or $(THREADS),all))
shares_cores = $(and $(parallel_jobs),$(several_threads),$(if $(LAUNCH),,yes))
wait_policy = $(or $(WAIT_POLICY),$(if $(shares_cores),passive))
OMP_ENV = $(if $(wait_policy),OMP_WAIT_POLICY=$(wait_policy)) \
	$(if $(THREADS),OMP_NUM_THREADS=$(THREADS))

id = $(ID_PREFIX)$(1)$(ID_SUFFIX)
IDS := $(foreach v,$(DESIGN_VALUES),$(call id,$(v)))
RUN_NAMES := $(foreach v,$(DESIGN_VALUES),$(foreach i,$(CURRENTS),$(call id,$(v))_$(i)mA))
PROFILE_IDS := $(foreach v,$(PROFILE_VALUES),$(call id,$(v)))

TABLE := $(OUT)/$(STUDY).csv
STRUCT_TABLE := $(OUT)/$(STUDY)-structures.csv
FIGURES := $(addprefix $(OUT)/fig/,conductivity.png energy.png capacity.png gain-energy.png \
	gain-capacity.png) \
	$(foreach d,$(PROFILE_IDS),$(addprefix $(OUT)/fig/,utilization-$(d).png \
		cumulative-$(d).png discharge-$(d).png))

.PHONY: study runs tables figures
.DELETE_ON_ERROR:
.SECONDARY:
study: figures tables runs
runs: $(RUN_NAMES:%=$(OUT)/runs/%.h5)
tables: $(TABLE) $(STRUCT_TABLE)
figures: $(FIGURES)

# --- parameters: a stamp file per variable, rewritten (while make reads this
# file) only when its value changed, so that changing one reruns only what
# depends on it and `make -q` still tells whether anything is left to do.
PARAMS := $(STRUCTURE_PARAMS) $(FIGURE_PARAMS) ASSEMBLE_FLAGS CUTOFF SOLVE_FLAGS DESIGN_VALUES CURRENTS
stamp = mkdir -p $(OUT)/.params && printf '%s\n' '$(subst ','\'',$($(1)))' > $(OUT)/.params/$(1).new && \
	{ cmp -s $(OUT)/.params/$(1).new $(OUT)/.params/$(1) && rm -f $(OUT)/.params/$(1).new || \
	mv $(OUT)/.params/$(1).new $(OUT)/.params/$(1); }
ifneq ($(filter-out clean,$(or $(MAKECMDGOALS),study)),)
$(foreach p,$(PARAMS),$(shell $(call stamp,$(p))))
endif
param = $(1:%=$(OUT)/.params/%)

$(BIN)/solve:
	@echo "pipelines: no $(BIN)/solve; build first (make at the top level)" >&2; exit 2

# --- cells, their conductivity, discharges
$(OUT)/cells/%.h5: $(OUT)/structures/%.h5 $(call param,ASSEMBLE_FLAGS) | $(BIN)/solve
	@mkdir -p $(@D)
	$(BIN)/assemble -q $< --cell assb $(ASSEMBLE_FLAGS) -o $@

$(OUT)/cells/%.csv: $(OUT)/cells/%.h5
	$(OMP_ENV) $(BIN)/metrics --conductivity=ionic --csv $< > $@.tmp && mv $@.tmp $@

# runs/ID_ImA.h5: the cell ID discharged at I mA/cm2 (IDs contain no '_')
.SECONDEXPANSION:
$(OUT)/runs/%.h5: $$(OUT)/cells/$$(firstword $$(subst _, ,$$*)).h5 \
		$(call param,CUTOFF SOLVE_FLAGS)
	@mkdir -p $(@D)
	$(OMP_ENV) $(LAUNCH) $(BIN)/solve -q $< \
		--current $(patsubst %mA,%,$(lastword $(subst _, ,$*)))mA/cm2 \
		--cutoff $(CUTOFF) $(SOLVE_FLAGS) -o $@

$(OUT)/metrics/%.csv: $(OUT)/runs/%.h5
	@mkdir -p $(@D)
	$(BIN)/metrics --csv $< > $@.tmp && mv $@.tmp $@

$(OUT)/profiles/%.utilization.csv: $(OUT)/runs/%.h5
	@mkdir -p $(@D)
	$(BIN)/metrics --profile utilization $< > $@.tmp && mv $@.tmp $@
$(OUT)/profiles/%.cumulative.csv: $(OUT)/runs/%.h5
	@mkdir -p $(@D)
	$(BIN)/metrics --profile cumulative $< > $@.tmp && mv $@.tmp $@
$(OUT)/profiles/%.discharge.csv: $(OUT)/runs/%.h5
	@mkdir -p $(@D)
	$(BIN)/metrics --timeseries $< > $@.tmp && mv $@.tmp $@

# --- tidy tables
$(TABLE): $(RUN_NAMES:%=$(OUT)/metrics/%.csv) $(call param,DESIGN_VALUES CURRENTS) \
		$(PIPELINES)/collect.sh
	$(PIPELINES)/collect.sh runs $(DESIGN) '$(ID_PREFIX)' '$(ID_SUFFIX)' '$(DESIGN_VALUES)' \
		'$(CURRENTS)' $(OUT)/metrics > $@.tmp && mv $@.tmp $@

$(STRUCT_TABLE): $(IDS:%=$(OUT)/cells/%.csv) $(call param,DESIGN_VALUES) $(PIPELINES)/collect.sh
	$(PIPELINES)/collect.sh structures $(DESIGN) '$(ID_PREFIX)' '$(ID_SUFFIX)' \
		'$(DESIGN_VALUES)' '' $(OUT)/cells > $@.tmp && mv $@.tmp $@

# one long table per profile kind and design: current,<the profile's columns>
$(OUT)/profiles/%.utilization.all.csv $(OUT)/profiles/%.cumulative.all.csv \
$(OUT)/profiles/%.discharge.all.csv: \
		$$(foreach i,$$(CURRENTS),$$(OUT)/profiles/$$*_$$(i)mA.utilization.csv \
		$$(OUT)/profiles/$$*_$$(i)mA.cumulative.csv $$(OUT)/profiles/$$*_$$(i)mA.discharge.csv) \
		$(call param,CURRENTS) $(PIPELINES)/collect.sh
	for k in utilization cumulative discharge; do \
		$(PIPELINES)/collect.sh profiles $$k '$*' '' '' '$(CURRENTS)' $(OUT)/profiles \
			> $(OUT)/profiles/$*.$$k.all.csv.tmp && \
		mv $(OUT)/profiles/$*.$$k.all.csv.tmp $(OUT)/profiles/$*.$$k.all.csv || exit 1; \
	done

# --- figures (STUDIES.md "Figures a user expects"); gnuplot -c SCRIPT ARGS
PLOT = gnuplot -c $(PIPELINES)/plot.gp
$(OUT)/fig/conductivity.png: $(STRUCT_TABLE) $(PIPELINES)/plot.gp
	@mkdir -p $(@D)
	$(PLOT) structures $< $@.tmp.png '$(DESIGN)' '$(DESIGN_LABEL)' '' '$(CATEGORIES)' && \
		mv $@.tmp.png $@
$(OUT)/fig/energy.png $(OUT)/fig/capacity.png $(OUT)/fig/gain-energy.png \
$(OUT)/fig/gain-capacity.png: $(OUT)/fig/%.png: $(TABLE) $(PIPELINES)/plot.gp
	@mkdir -p $(@D)
	$(PLOT) $* $< $@.tmp.png '$(DESIGN)' '$(DESIGN_LABEL)' '$(CURRENTS)' '$(CATEGORIES)' && \
		mv $@.tmp.png $@
$(OUT)/fig/utilization-%.png: $(OUT)/profiles/%.utilization.all.csv $(PIPELINES)/plot.gp
	@mkdir -p $(@D)
	$(PLOT) utilization $< $@.tmp.png '$(DESIGN)' '$(call title_of,$*)' '$(CURRENTS)' && \
		mv $@.tmp.png $@
$(OUT)/fig/cumulative-%.png: $(OUT)/profiles/%.cumulative.all.csv $(PIPELINES)/plot.gp
	@mkdir -p $(@D)
	$(PLOT) cumulative $< $@.tmp.png '$(DESIGN)' '$(call title_of,$*)' '$(CURRENTS)' && \
		mv $@.tmp.png $@
$(OUT)/fig/discharge-%.png: $(OUT)/profiles/%.discharge.all.csv $(PIPELINES)/plot.gp
	@mkdir -p $(@D)
	$(PLOT) discharge $< $@.tmp.png '$(DESIGN)' '$(call title_of,$*)' '$(CURRENTS)' && \
		mv $@.tmp.png $@

# figure title of the design ID, from DESIGN_TITLE with @ for the value
DESIGN_TITLE ?= $(DESIGN) = @
title_of = $(STUDY): $(subst @,$(patsubst $(ID_PREFIX)%$(ID_SUFFIX),%,$(1)),$(DESIGN_TITLE))

.PHONY: clean
clean:
	rm -rf $(OUT)
