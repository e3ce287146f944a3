# compare-cells: the Study P structures as ASSB and as LIB cells side by side.
# It joins the tables of Study P-ASSB and Study P-LIB (made with the same
# variables, so from the same structures; pipelines/Makefile makes them
# first) at the currents COMPARE_CURRENTS: compare-cells.csv (one row per
# cell type, current and radius: cell, the columns of the study tables) and
# fig/gains.png (capacity and energy density gain against r = 0 versus r, one
# curve per cell type and current).
#   make -f compare-cells.mk [FAST=1] [COMPARE_CURRENTS="1 8" STUDIES_DIR=...]
STUDY := compare-cells
PIPELINES := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
TOP := $(abspath $(PIPELINES)/..)
STUDIES_DIR ?= $(TOP)/studies
fast := $(if $(filter 1,$(FAST)),-fast)
OUT := $(STUDIES_DIR)/$(STUDY)$(fast)
COMPARE_CURRENTS ?= $(if $(fast),2 8,1 8)
PARAMS := COMPARE_CURRENTS
include $(PIPELINES)/stamps.mk

# the two studies' tables, by cell type
TABLE_assb := $(STUDIES_DIR)/perforated-assb$(fast)/perforated-assb.csv
TABLE_lib := $(STUDIES_DIR)/perforated-lib$(fast)/perforated-lib.csv
TABLE := $(OUT)/$(STUDY).csv

.PHONY: study tables figures clean
.DELETE_ON_ERROR:
study: tables figures
tables: $(TABLE)
figures: $(OUT)/fig/gains.png

$(TABLE_assb) $(TABLE_lib):
	@echo "compare-cells.mk: no $@; make the study first (make -C pipelines compare-cells$(fast) does)" >&2; exit 2

# cell,<the study tables' columns>, rows of COMPARE_CURRENTS only; both tables
# must have the same columns and every current
$(TABLE): $(TABLE_assb) $(TABLE_lib) $(call param,COMPARE_CURRENTS)
	@mkdir -p $(@D)
	[ "$$(head -n 1 $(TABLE_assb))" = "$$(head -n 1 $(TABLE_lib))" ] || \
		{ echo "compare-cells.mk: $(TABLE_assb) and $(TABLE_lib) differ in their columns" >&2; exit 1; }
	for t in $(TABLE_assb) $(TABLE_lib); do \
		for i in $(COMPARE_CURRENTS); do \
			awk -F, -v i="$$i" 'NR > 1 && $$2 == i' "$$t" | grep -q . || \
				{ echo "compare-cells.mk: $$t has no run at $$i mA/cm2 (CURRENTS must hold COMPARE_CURRENTS)" >&2; \
				exit 1; }; \
		done; \
	done
	{ echo "cell,$$(head -n 1 $(TABLE_assb))"; \
	for ct in assb:$(TABLE_assb) lib:$(TABLE_lib); do \
		awk -F, -v OFS=, -v c="$${ct%%:*}" -v want="$(COMPARE_CURRENTS)" \
			'BEGIN { n = split(want, w, " "); for (k = 1; k <= n; k++) keep[w[k] + 0] = 1 } \
			NR > 1 && (($$2 + 0) in keep) { print c, $$0 }' "$${ct#*:}" || exit 1; \
	done; } > $@.tmp && mv $@.tmp $@

$(OUT)/fig/gains.png: $(TABLE) $(PIPELINES)/plot.gp
	@mkdir -p $(@D)
	gnuplot -c $(PIPELINES)/plot.gp gains $< $@.tmp.png r_um \
		'Perforated cathodes, ASSB against LIB: gain against r = 0' '$(COMPARE_CURRENTS)' && \
		mv $@.tmp.png $@

clean:
	rm -rf $(OUT)
