# Study P-ASSB (shared/spec/STUDIES.md): perforated ASSB cathodes
# (perforated.mk: the structures; CBD -> SE in the cell).
#   make -f perforated-assb.mk [FAST=1] [VOXEL=1um SEED=1 CURRENTS="1 2 4 6 8"
#        RADII="0 4 ... 36" OUT=DIR LAUNCH=... THREADS=...]
STUDY := perforated-assb
CELL := assb
ifeq ($(FAST),1)
CURRENTS ?= 2 8
endif

include $(dir $(lastword $(MAKEFILE_LIST)))perforated.mk
