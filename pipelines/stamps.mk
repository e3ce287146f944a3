# Parameter stamps (study.mk, compare-cells.mk): a file OUT/.params/NAME per
# variable NAME of PARAMS, rewritten (while make reads this file) only when
# its value changed, so that changing one reruns only what depends on it and
# `make -q` still tells whether anything is left to do. A rule that depends
# on variables lists $(call param,NAMES) among its prerequisites.
stamp = mkdir -p $(OUT)/.params && printf '%s\n' '$(subst ','\'',$($(1)))' > $(OUT)/.params/$(1).new && \
	{ cmp -s $(OUT)/.params/$(1).new $(OUT)/.params/$(1) && rm -f $(OUT)/.params/$(1).new || \
	mv $(OUT)/.params/$(1).new $(OUT)/.params/$(1); }
ifneq ($(filter-out clean,$(or $(MAKECMDGOALS),study)),)
$(foreach p,$(PARAMS),$(shell $(call stamp,$(p))))
endif
param = $(1:%=$(OUT)/.params/%)
