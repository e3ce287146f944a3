# Study L-rev (shared/spec/STUDIES.md): the stacks of Study L reversed, L70
# at the separator side (thickness fraction 1 - f) and L60 at the collector
# side (f). The design value stays f = d_L60 / d. Same variables as layered.mk.
STUDY := layered-rev
REVERSED := 1
include $(dir $(lastword $(MAKEFILE_LIST)))layered.mk
