# recycle — one non-recursive Makefile. Every common/*.c goes into libcommon.a, every tools/NAME.c
# becomes bin/NAME, every tests/unit/NAME.c a unit-test binary; nothing here names a module.
VERSION  = 0.1.0
PREFIX  ?= /usr/local
BINDIR   = $(PREFIX)/bin
MANDIR   = $(PREFIX)/share/man
CC      ?= cc
PKGS     = libzstd json-c openblas libpcre2-8 libutf8proc
CFLAGS  ?= -O2 -g
WARN     = -Wall -Wextra -Wshadow -Wno-unused-parameter
# WERROR=1: warnings are errors. CI builds so (the code has none); a plain `make` does not, so a
# newer compiler's new warning never stops a user's build.
ifeq ($(WERROR),1)
WARN    += -Werror
endif
# Header dependencies from the compiler: each object (or test program) X gets X.d, written under
# a temporary name beside it and renamed before X (a failed compile leaves neither), read back by
# the -include below the rules.
DEPFLAGS = -MMD -MP -MT $@ -MF $@.$$$$.d
CPPFLAGS += -D_GNU_SOURCE -Icommon $(shell pkg-config --cflags $(PKGS)) -DRECYCLE_VERSION='"$(VERSION)"'
LDLIBS  += $(shell pkg-config --libs $(PKGS)) -lpthread -lm

# SAN=1: AddressSanitizer + UndefinedBehaviorSanitizer, built apart from the normal build.
ifeq ($(SAN),1)
O        = build/san
BIN      = build/san/bin
CFLAGS  += -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
else
O        = build/rel
BIN      = bin
endif

LIB_SRC  = $(sort $(wildcard common/*.c))
LIB_OBJ  = $(LIB_SRC:common/%.c=$(O)/common/%.o)
LIB      = $(O)/libcommon.a
PROGS    = $(patsubst tools/%.c,$(BIN)/%,$(sort $(wildcard tools/*.c)))
UNIT     = $(patsubst tests/unit/%.c,$(O)/tests/%,$(sort $(wildcard tests/unit/*.c)))
# Test helpers (fixture generators): tests/helpers/NAME.c → $(O)/helpers/NAME, on PATH in tests.
HELPERS  = $(patsubst tests/helpers/%.c,$(O)/helpers/%,$(sort $(wildcard tests/helpers/*.c)))
MANS     = $(sort $(wildcard man/*.1 man/*.7))

all: $(PROGS) $(UNIT) $(HELPERS)

# Every target is written under a temporary name and renamed, so two makes running at once (or
# one killed midway) never leave a half-written object, archive or program behind.
$(O)/common/%.o: common/%.c | $(O)/common
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) $(DEPFLAGS) -c -o $@.$$$$ $< \
	  || { rm -f $@.$$$$ $@.$$$$.d; exit 1; }; mv $@.$$$$.d $@.d && mv $@.$$$$ $@
$(O)/tools/%.o: tools/%.c | $(O)/tools
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) $(DEPFLAGS) -c -o $@.$$$$ $< \
	  || { rm -f $@.$$$$ $@.$$$$.d; exit 1; }; mv $@.$$$$.d $@.d && mv $@.$$$$ $@
$(LIB): $(LIB_OBJ)
	ar rcs $@.$$$$ $^ && mv $@.$$$$ $@
$(BIN)/%: $(O)/tools/%.o $(LIB) | $(BIN)
	$(CC) $(LDFLAGS) -o $@.$$$$ $< $(LIB) $(LDLIBS) && mv $@.$$$$ $@
$(O)/tests/%: tests/unit/%.c $(LIB) | $(O)/tests
	$(CC) $(CPPFLAGS) -Itests/unit $(CFLAGS) $(WARN) $(DEPFLAGS) $(LDFLAGS) -o $@.$$$$ $< $(LIB) $(LDLIBS) \
	  || { rm -f $@.$$$$ $@.$$$$.d; exit 1; }; mv $@.$$$$.d $@.d && mv $@.$$$$ $@
# The fuzz-input replayer compiles the fuzz targets' drivers in.
$(O)/tests/test_fuzz_regress: $(wildcard tests/fuzz/*.c tests/fuzz/*.h)
$(O)/helpers/%: tests/helpers/%.c $(LIB) | $(O)/helpers
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) $(DEPFLAGS) $(LDFLAGS) -o $@.$$$$ $< $(LIB) $(LDLIBS) \
	  || { rm -f $@.$$$$ $@.$$$$.d; exit 1; }; mv $@.$$$$.d $@.d && mv $@.$$$$ $@
$(O)/common $(O)/tools $(O)/tests $(O)/helpers $(BIN):
	mkdir -p $@
# What was built before its .d existed depends on every header, as everything once did.
BUILT    = $(LIB_OBJ) $(PROGS:$(BIN)/%=$(O)/tools/%.o) $(UNIT) $(HELPERS)
-include $(wildcard $(BUILT:=.d))
$(foreach f,$(BUILT),$(if $(wildcard $(f)),$(if $(wildcard $(f).d),,$(eval $(f): $(wildcard common/*.h tests/unit/*.h)))))

# make test [T='tests/cli/ckpt-cat.sh ...']: unit binaries, then every CLI and pipeline script.
T ?=
test: all
	@BIN=$(CURDIR)/$(BIN) HELPERS=$(CURDIR)/$(O)/helpers UNITDIR=$(CURDIR)/$(O)/tests SAN=$(SAN) sh tests/run $(T)

# The demo: the demo family (cached in build/zoo) and an optimized merge of it, with its report.
demo: all
	@sh pipelines/demo

bench: all
	@BIN=$(CURDIR)/$(BIN) HELPERS=$(CURDIR)/$(O)/helpers sh tests/bench/run $(T)

# make bench-search: the search benchmark (pipelines/bench-search), resumable in BENCH_SEARCH_DIR.
# Hours of CPU at the defaults; smaller: make bench-search SEEDS=3 BUDGETS='30 60 150' LIMIT=100.
SEEDS    ?= 5
BUDGETS  ?= 30 60 150 450
FAMILIES ?= demo b
METHODS  ?= random paper default
LIMIT    ?=
JOBS     ?= 2
BENCH_SEARCH_DIR  ?= build/bench-search
BENCH_SEARCH_OPTS ?=
bench-search: all
	@sh pipelines/bench-search -d '$(BENCH_SEARCH_DIR)' --seeds '$(SEEDS)' --budgets '$(BUDGETS)' \
	  --families '$(FAMILIES)' --methods '$(METHODS)' $(if $(LIMIT),--limit '$(LIMIT)') -j '$(JOBS)' $(BENCH_SEARCH_OPTS)

# make fuzz [FUZZ_SECONDS=30]: every libFuzzer target briefly (clang; see tests/fuzz/run).
FUZZ_SECONDS ?= 30
fuzz:
	@sh tests/fuzz/run $(FUZZ_SECONDS)

deps:
	@sh .ci/deps

# make lint: shellcheck over every shell script (a *.sh file, or a file starting "#!/bin/sh") under
# LINT_DIRS; each directory's .shellcheckrc says which checks it leaves out, and why.
LINT_DIRS = tests .ci pipelines
lint:
	@files=$$(find $(LINT_DIRS) -name corpus -prune -o -name regress -prune -o -type f \
	    \( -name '*.sh' -o -exec sh -c 'head -n 1 "$$1" | grep -q "^#! */bin/sh"' sh {} \; \) -print | sort) && \
	  echo "shellcheck: $$(echo $$files | wc -w) scripts in $(LINT_DIRS)" && shellcheck -s sh $$files

# Programs to bin/, the pipelines to libexec/recycle/ with bin/recycle-optimize pointing at the
# driver, man pages to share/man/.
LIBEXEC  = $(PREFIX)/libexec/recycle
PIPES    = pipelines/lib.sh pipelines/optimize pipelines/optimize.mk pipelines/search pipelines/trace \
           pipelines/score-one pipelines/baselines pipelines/report pipelines/zoo.mk pipelines/demo
install: $(PROGS)
	mkdir -p $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man7 $(DESTDIR)$(LIBEXEC)
	cp $(PROGS) $(DESTDIR)$(BINDIR)/
	cp $(PIPES) $(DESTDIR)$(LIBEXEC)/
	ln -sf ../libexec/recycle/optimize $(DESTDIR)$(BINDIR)/recycle-optimize
	for m in $(MANS); do case $$m in \
	  *.1) cp $$m $(DESTDIR)$(MANDIR)/man1/ ;; *.7) cp $$m $(DESTDIR)$(MANDIR)/man7/ ;; esac; done

clean:
	rm -rf build bin

.PHONY: all test demo bench bench-search fuzz deps lint install clean
.SECONDARY:
