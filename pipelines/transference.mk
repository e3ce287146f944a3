# Study P-t+ (shared/spec/STUDIES.md): the Study P-LIB cells (perforated.mk)
# at one current (CURRENT, 8 mA/cm2) with the transference number set to each
# value of TRANSFERENCE, a constant instead of the t+(c) function of the LIB
# set (solve --set electrolyte.transference=T). The series of this study is
# t+: runs/ID_tT.h5, column t_plus, one curve per t+ in every figure; the gains
# are against r = 0 at the same t+.
#   make -f transference.mk [FAST=1] [VOXEL=1um SEED=1 CURRENT=8
#        TRANSFERENCE="0.3 0.4 ... 1.0" RADII="0 4 ... 36" OUT=DIR ...]
STUDY := transference
CELL := lib
ifeq ($(FAST),1)
TRANSFERENCE ?= 0.3 0.6 1.0
endif
TRANSFERENCE ?= 0.3 0.4 0.5 0.6 0.7 0.8 0.9 1.0
CURRENT ?= 8
SERIES_VALUES := $(TRANSFERENCE)
SERIES_PARAMS := TRANSFERENCE
RUN_PARAMS := CURRENT
SERIES_COLUMN := t_plus
SERIES_PREFIX := t
SERIES_SUFFIX :=
SERIES_TITLE := t_+ = @
series_flags = --current $(CURRENT)mA/cm2 --set electrolyte.transference=$(1)

# refused before study.mk stamps the parameters
bad_t := $(shell for t in $(TRANSFERENCE); do \
	awk -v t="$$t" 'BEGIN { exit !(t + 0 == t && t > 0 && t <= 1) }' || echo "$$t"; done)
bad_t_message = transference.mk: TRANSFERENCE: '$(firstword $(bad_t))' is not a number in (0, 1]
$(if $(bad_t),$(error $(bad_t_message)))

include $(dir $(lastword $(MAKEFILE_LIST)))perforated.mk
