# voxbat: build the lib and programs into $(BUILD), run tests and the demo.
# Entry targets (all, demo, test, sanitize, bench) first make sure the Debian
# packages are installed (scripts/install-deps.sh), then re-enter make so that
# pkg-config sees what was just installed.

BUILD ?= build
CC ?= gcc
CFLAGS ?= -O2 -g
PREFIX ?= /usr/local

# Every folder tools/NAME with a main.c is a program build/bin/NAME.
PROGRAMS := $(patsubst tools/%/main.c,%,$(wildcard tools/*/main.c))
HDF5_CFLAGS = $(shell pkg-config --cflags hdf5 2>/dev/null || echo -I/usr/include/hdf5/serial)
HDF5_LDFLAGS = $(shell pkg-config --libs-only-L hdf5 2>/dev/null || echo -L/usr/lib/x86_64-linux-gnu/hdf5/serial)
VB_CFLAGS = -std=c17 -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror \
	-Wshadow -Wno-missing-field-initializers -fopenmp -Ilib $(HDF5_CFLAGS) \
	-I/usr/include/suitesparse -isystem /usr/include/hypre $(MPI_CFLAGS) \
	-DVB_PARAMS_DIR=\"$(abspath params)\" \
	-DVB_PARAMS_INSTALL_DIR=\"$(PREFIX)/share/voxbat/params\"
MPI_CFLAGS = $(shell pkg-config --cflags ompi 2>/dev/null)
MPI_LIBS = $(shell pkg-config --libs ompi 2>/dev/null || echo -lmpi)
VB_LDLIBS = $(HDF5_LDFLAGS) -lhdf5_hl -lhdf5 -lz -lcholmod -lsuitesparseconfig -lHYPRE $(MPI_LIBS) \
	-ltiff -ljansson \
	-linih -lm -fopenmp

LIB_SRC := $(wildcard lib/*.c)
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
TOOL_OBJ = $(patsubst %.c,$(BUILD)/%.o,$(wildcard tools/$(1)/*.c))
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all deps build test check demo sanitize bench format lint man install clean fuzz fuzz-targets
STUDIES := layered layered-rev perforated-assb graded perforated-lib transference compare-cells
.PHONY: $(STUDIES) $(STUDIES:%=%-fast) studies-fast

all: deps
	@$(MAKE) --no-print-directory build

deps:
	@scripts/install-deps.sh

# Fuzz targets (tests/fuzz, docs/testing.md): each reader of untrusted input,
# with the program objects it needs. `make build` links each with a replay
# driver (tests/fuzz/replay.c) that make test runs over tests/fuzz/corpus;
# `make fuzz` links them with libFuzzer (clang) and runs each FUZZ_TIME s.
FUZZ_TARGETS := h5 params raw tiff checkpoint
FUZZ_TOOL_h5 := metrics
FUZZ_TOOL_checkpoint := solve
FUZZ_TOOL_raw := genstruct
FUZZ_TOOL_tiff := genstruct
FUZZ_OBJ = $(if $(FUZZ_TOOL_$(1)),$(filter-out %/main.o,$(call TOOL_OBJ,$(FUZZ_TOOL_$(1)))))
FUZZ_TIME ?= 60
FUZZ_RUNS ?= -1
# the checkpoint target's cell (its corpus: checkpoints of that cell)
FUZZ_CFLAGS = -DFUZZ_CELL=\"$(abspath tests/fuzz/corpus/h5/cell.h5)\"

build: $(PROGRAMS:%=$(BUILD)/bin/%) $(UNIT_BIN) $(FUZZ_TARGETS:%=$(BUILD)/fuzz/replay_%)


$(BUILD)/%.o: %.c $(wildcard lib/*.h) $(wildcard tools/*/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(VB_CFLAGS) $(CFLAGS) -c $< -o $@

# vb_params.o has the install prefix compiled in: rebuild it when PREFIX changes.
$(BUILD)/prefix.stamp: FORCE
	@mkdir -p $(dir $@)
	@echo '$(PREFIX)' | cmp -s - $@ || echo '$(PREFIX)' > $@
$(BUILD)/lib/vb_params.o: $(BUILD)/prefix.stamp
.PHONY: FORCE
FORCE:

$(BUILD)/libvoxbat.a: $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

define PROGRAM_RULE
$(BUILD)/bin/$(1): $(call TOOL_OBJ,$(1)) $(BUILD)/libvoxbat.a
	@mkdir -p $$(dir $$@)
	$$(CC) $$(CFLAGS) $$(LDFLAGS) $$^ $$(VB_LDLIBS) -o $$@
endef
$(foreach p,$(PROGRAMS),$(eval $(call PROGRAM_RULE,$(p))))

# Unit tests link lib, and are rebuilt when a header of tests/unit changes
# (the reference models ref_*.h live there); tests/unit/test_NAME_*.c of a
# program NAME also link that program's objects other than main.o, to test
# its own logic.
UNIT_TOOL = $(firstword $(filter $(PROGRAMS),$(word 2,$(subst _, ,$(1)))))
UNIT_OBJ = $(if $(call UNIT_TOOL,$(1)),$(filter-out %/main.o,$(call TOOL_OBJ,$(call UNIT_TOOL,$(1)))))
.SECONDEXPANSION:
$(BUILD)/tests/%: tests/unit/%.c $(wildcard tests/unit/*.h) $(BUILD)/libvoxbat.a $$(call UNIT_OBJ,$$*)
	@mkdir -p $(dir $@)
	$(CC) $(VB_CFLAGS) -Itools/$(call UNIT_TOOL,$*) $(CFLAGS) $(LDFLAGS) $< \
		$(call UNIT_OBJ,$*) $(BUILD)/libvoxbat.a $(VB_LDLIBS) -o $@

$(BUILD)/fuzz/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c tests/fuzz/fuzz_input.h \
		$(BUILD)/libvoxbat.a $$(call FUZZ_OBJ,$$*)
	@mkdir -p $(dir $@)
	$(CC) $(VB_CFLAGS) $(FUZZ_CFLAGS) -Itools/$(FUZZ_TOOL_$*) $(CFLAGS) $(LDFLAGS) $< tests/fuzz/replay.c \
		$(call FUZZ_OBJ,$*) $(BUILD)/libvoxbat.a $(VB_LDLIBS) -o $@
$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_input.h $(BUILD)/libvoxbat.a \
		$$(call FUZZ_OBJ,$$*)
	@mkdir -p $(dir $@)
	$(CC) $(VB_CFLAGS) $(FUZZ_CFLAGS) -Itools/$(FUZZ_TOOL_$*) $(CFLAGS) -fsanitize=fuzzer $< \
		$(call FUZZ_OBJ,$*) $(BUILD)/libvoxbat.a $(VB_LDLIBS) -o $@
fuzz-targets: $(FUZZ_TARGETS:%=$(BUILD)/fuzz/fuzz_%)
fuzz:
	@scripts/install-deps.sh clang libclang-rt-14-dev libomp-dev
	@$(MAKE) --no-print-directory fuzz-targets BUILD=build/fuzz CC=clang \
		CFLAGS="-O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer"
	@FUZZ_RUNS=$(FUZZ_RUNS) scripts/fuzz.sh build/fuzz/fuzz $(FUZZ_TIME) $(FUZZ_TARGETS)

test: deps
	@$(MAKE) --no-print-directory check

check: build
	@VB_BIN=$(abspath $(BUILD)/bin) VB_UNIT=$(abspath $(BUILD)/tests) tests/run.sh

# AddressSanitizer + UndefinedBehaviorSanitizer build running the whole suite.
# OpenMPI (under hypre) keeps allocations until exit: tests/lsan.supp names
# them; the slow unwinder and kept MCA components let LeakSanitizer see
# whose they are. use_tls=0: LeakSanitizer's tracer crashed (signal 11) on a
# bogus dynamic-TLS range of a library OpenMPI loads, at the exit of
# test_solve_discharge; it then skips scanning thread-local storage.
sanitize: deps
	@LSAN_OPTIONS=suppressions=$(abspath tests/lsan.supp):print_suppressions=0:use_tls=0 \
	ASAN_OPTIONS=fast_unwind_on_malloc=0 OMPI_MCA_mca_base_component_disable_dlclose=1 \
	$(MAKE) --no-print-directory check BUILD=build/sanitize \
		CFLAGS="-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" \
		LDFLAGS="-fsanitize=address,undefined"

demo: deps
	@$(MAKE) --no-print-directory build
	@scripts/demo.sh $(abspath $(BUILD)/bin) $(abspath $(BUILD)/demo)

# The study pipelines (pipelines/, docs/pipelines.md): full resolution
# (hours) or the fast variants (minutes); variables pass through
# (make layered VOXEL=2um CURRENTS="1 8" -j2 THREADS=1).
$(STUDIES) $(STUDIES:%=%-fast) studies-fast: deps
	@$(MAKE) --no-print-directory build
	@$(MAKE) --no-print-directory -C pipelines $(if $(filter studies-fast,$@),fast,$@) \
		BIN=$(abspath $(BUILD)/bin)

bench: deps
	@$(MAKE) --no-print-directory build
	@bench/genstruct.sh $(abspath $(BUILD)/bin)
	@bench/conductivity.sh $(abspath $(BUILD)/bin)

format:
	clang-format -i lib/*.c lib/*.h tools/*/*.c tools/*/*.h tests/unit/*.c tests/unit/*.h

lint:
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
		--inline-suppr -Ilib --suppress=missingIncludeSystem lib tools
	clang-tidy --quiet lib/*.c tools/*/*.c -- $(VB_CFLAGS) $(patsubst %,-Itools/%,$(PROGRAMS))

# Man pages from each program's own --help and --version (help2man,
# scripts/manpage.sh), so that they cannot drift apart.
MANPAGES = $(PROGRAMS:%=$(BUILD)/man/%.1)
man: $(MANPAGES)
$(BUILD)/man/%.1: $(BUILD)/bin/% scripts/manpage.sh
	@mkdir -p $(dir $@)
	scripts/manpage.sh $< $@

install: all man
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(PROGRAMS:%=$(BUILD)/bin/%) $(DESTDIR)$(PREFIX)/bin
	install -d $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 644 $(MANPAGES) $(DESTDIR)$(PREFIX)/share/man/man1
	install -d $(DESTDIR)$(PREFIX)/share/voxbat/params
	install -m 644 params/*.ini $(DESTDIR)$(PREFIX)/share/voxbat/params

clean:
	rm -rf build
