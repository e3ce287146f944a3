# What every study shares (included by the fragments of the studies after
# they set the study's own variables):
#
#   structures/ID.h5  -> cells/ID.h5 (assemble, CELL) -> cells/ID.csv (metrics
#   --conductivity=ionic) -> runs/ID_ImA.h5 (solve, one per current) ->
#   metrics/ID_ImA.csv, profiles/ID_ImA.{utilization,cumulative,discharge}.csv
#   (and .electrolyte.csv for LIB) -> STUDY.csv, STUDY-structures.csv (tidy,
#   one row per run / design) -> fig/*.png (gnuplot)
#
# A study's second dimension is the current unless the fragment sets another
# series (transference.mk: t+ at one current): SERIES_VALUES, SERIES_PARAMS
# (the variables they come from), SERIES_COLUMN (its column in the tables),
# SERIES_PREFIX/SERIES_SUFFIX (a run is ID_<prefix><value><suffix>),
# SERIES_TITLE (curve titles, @ for the value), series_flags (the solve
# options of a value, $(1)) and RUN_PARAMS (more variables every run
# depends on).
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
# the cell type of assemble: assb (CBD -> SE) or lib (liquid electrolyte)
CELL ?= assb
SOLVE_FLAGS ?=
ASSEMBLE_FLAGS ?=
# Prefix of every simulation (solve) command, e.g. LAUNCH="srun -n1 -c4"
LAUNCH ?=
# OpenMP threads of each simulation and conductivity (empty: all cores).
# With make -j N on one machine, THREADS=1 (or cores / N) avoids
# oversubscription.
THREADS ?=
PROFILE_VALUES ?= $(firstword $(DESIGN_VALUES)) $(lastword $(DESIGN_VALUES))

# the second dimension: currents unless the fragment says otherwise
SERIES_VALUES ?= $(CURRENTS)
SERIES_PARAMS ?= CURRENTS
SERIES_COLUMN ?= set_current_mA_cm2
SERIES_PREFIX ?=
SERIES_SUFFIX ?= mA
SERIES_TITLE ?= @ mA/cm^2
series_flags ?= --current $(1)mA/cm2
RUN_PARAMS ?=
# the series value of run STEM (ID_<prefix><value><suffix>)
series_of = $(patsubst $(SERIES_PREFIX)%$(SERIES_SUFFIX),%,$(lastword $(subst _, ,$(1))))
run_id = $(1)_$(SERIES_PREFIX)$(2)$(SERIES_SUFFIX)
# the profiles of every run; LIB runs add the electrolyte's
PROFILE_KINDS := utilization cumulative discharge $(if $(filter lib,$(CELL)),electrolyte)

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
RUN_NAMES := $(foreach v,$(DESIGN_VALUES),$(foreach i,$(SERIES_VALUES),$(call run_id,$(call id,$(v)),$(i))))
PROFILE_IDS := $(foreach v,$(PROFILE_VALUES),$(call id,$(v)))

TABLE := $(OUT)/$(STUDY).csv
STRUCT_TABLE := $(OUT)/$(STUDY)-structures.csv
FIGURES := $(addprefix $(OUT)/fig/,conductivity.png energy.png capacity.png gain-energy.png \
	gain-capacity.png) \
	$(foreach d,$(PROFILE_IDS),$(foreach k,$(PROFILE_KINDS),$(OUT)/fig/$(k)-$(d).png))

.PHONY: study runs tables figures
.DELETE_ON_ERROR:
.SECONDARY:
study: figures tables runs
runs: $(RUN_NAMES:%=$(OUT)/runs/%.h5)
tables: $(TABLE) $(STRUCT_TABLE)
figures: $(FIGURES)

# --- parameters: a stamp file per variable (stamps.mk)
PARAMS := $(sort $(STRUCTURE_PARAMS) $(FIGURE_PARAMS) ASSEMBLE_FLAGS CUTOFF SOLVE_FLAGS \
	DESIGN_VALUES $(SERIES_PARAMS) $(RUN_PARAMS))
include $(PIPELINES)/stamps.mk

$(BIN)/solve:
	@echo "pipelines: no $(BIN)/solve; build first (make at the top level)" >&2; exit 2

# --- cells, their conductivity, discharges
$(OUT)/cells/%.h5: $(OUT)/structures/%.h5 $(call param,ASSEMBLE_FLAGS) | $(BIN)/solve
	@mkdir -p $(@D)
	$(BIN)/assemble -q $< --cell $(CELL) $(ASSEMBLE_FLAGS) -o $@

$(OUT)/cells/%.csv: $(OUT)/cells/%.h5
	$(OMP_ENV) $(BIN)/metrics --conductivity=ionic --csv $< > $@.tmp && mv $@.tmp $@

# runs/ID_ImA.h5: the cell ID discharged at I mA/cm2 (IDs contain no '_'),
# or at another series value
.SECONDEXPANSION:
$(OUT)/runs/%.h5: $$(OUT)/cells/$$(firstword $$(subst _, ,$$*)).h5 \
		$(call param,CUTOFF SOLVE_FLAGS $(RUN_PARAMS))
	@mkdir -p $(@D)
	$(OMP_ENV) $(LAUNCH) $(BIN)/solve -q $< $(call series_flags,$(call series_of,$*)) \
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
$(OUT)/profiles/%.electrolyte.csv: $(OUT)/runs/%.h5
	@mkdir -p $(@D)
	$(BIN)/metrics --profile electrolyte $< > $@.tmp && mv $@.tmp $@

# --- tidy tables
COLLECT = SERIES_COLUMN='$(SERIES_COLUMN)' SERIES_PREFIX='$(SERIES_PREFIX)' \
	SERIES_SUFFIX='$(SERIES_SUFFIX)' $(PIPELINES)/collect.sh
$(TABLE): $(RUN_NAMES:%=$(OUT)/metrics/%.csv) $(call param,DESIGN_VALUES $(SERIES_PARAMS)) \
		$(PIPELINES)/collect.sh
	$(COLLECT) runs $(DESIGN) '$(ID_PREFIX)' '$(ID_SUFFIX)' '$(DESIGN_VALUES)' \
		'$(SERIES_VALUES)' $(OUT)/metrics > $@.tmp && mv $@.tmp $@

$(STRUCT_TABLE): $(IDS:%=$(OUT)/cells/%.csv) $(call param,DESIGN_VALUES) $(PIPELINES)/collect.sh
	$(COLLECT) structures $(DESIGN) '$(ID_PREFIX)' '$(ID_SUFFIX)' \
		'$(DESIGN_VALUES)' '' $(OUT)/cells > $@.tmp && mv $@.tmp $@

# one long table per profile kind and design: series value,<the profile's columns>
$(foreach k,$(PROFILE_KINDS),$(OUT)/profiles/%.$(k).all.csv): \
		$$(foreach i,$$(SERIES_VALUES),$$(foreach k,$$(PROFILE_KINDS),\
			$$(OUT)/profiles/$$(call run_id,$$*,$$(i)).$$(k).csv)) \
		$(call param,$(SERIES_PARAMS)) $(PIPELINES)/collect.sh
	for k in $(PROFILE_KINDS); do \
		$(COLLECT) profiles $$k '$*' '' '' '$(SERIES_VALUES)' $(OUT)/profiles \
			> $(OUT)/profiles/$*.$$k.all.csv.tmp && \
		mv $(OUT)/profiles/$*.$$k.all.csv.tmp $(OUT)/profiles/$*.$$k.all.csv || exit 1; \
	done

# DESIGN,<the profile's columns>: the profiles profiles/ID<$(2)> of the
# design values $(1), one block each, as one shell command (graded.mk,
# perforated-lib.mk)
design_profiles = { h=; for d in $(1); do f=$(OUT)/profiles/$(ID_PREFIX)$${d}$(ID_SUFFIX)$(2); \
	[ -s "$$f" ] || { echo "$(STUDY): $$f: missing or empty" >&2; exit 1; }; \
	if [ -z "$$h" ]; then h=1; echo "$(DESIGN),$$(head -n 1 "$$f")"; fi; \
	tail -n +2 "$$f" | sed "s|^|$$d,|"; done; }

# --- figures (STUDIES.md "Figures a user expects"); gnuplot -c SCRIPT ARGS,
# the series (column, values, curve titles) last
PLOT = gnuplot -c $(PIPELINES)/plot.gp
# (categories: $(1))
plot_series = '$(SERIES_VALUES)' '$(1)' '$(SERIES_COLUMN)' '$(SERIES_TITLE)'
$(OUT)/fig/conductivity.png: $(STRUCT_TABLE) $(PIPELINES)/plot.gp
	@mkdir -p $(@D)
	$(PLOT) structures $< $@.tmp.png '$(DESIGN)' '$(DESIGN_LABEL)' '' '$(CATEGORIES)' && \
		mv $@.tmp.png $@
$(OUT)/fig/energy.png $(OUT)/fig/capacity.png $(OUT)/fig/gain-energy.png \
$(OUT)/fig/gain-capacity.png: $(OUT)/fig/%.png: $(TABLE) $(PIPELINES)/plot.gp
	@mkdir -p $(@D)
	$(PLOT) $* $< $@.tmp.png '$(DESIGN)' '$(DESIGN_LABEL)' $(call plot_series,$(CATEGORIES)) && \
		mv $@.tmp.png $@
# a profile figure per kind and design, one curve per series value
define profile_figure
$$(OUT)/fig/$(1)-%.png: $$(OUT)/profiles/%.$(1).all.csv $$(PIPELINES)/plot.gp
	@mkdir -p $$(@D)
	$$(PLOT) $(1) $$< $$@.tmp.png '$$(DESIGN)' '$$(call title_of,$$*)' $$(call plot_series,) && \
		mv $$@.tmp.png $$@
endef
$(foreach k,$(PROFILE_KINDS),$(eval $(call profile_figure,$(k))))

# figure title of the design ID, from DESIGN_TITLE with @ for the value
DESIGN_TITLE ?= $(DESIGN) = @
title_of = $(STUDY): $(subst @,$(patsubst $(ID_PREFIX)%$(ID_SUFFIX),%,$(1)),$(DESIGN_TITLE))

.PHONY: clean
clean:
	rm -rf $(OUT)
