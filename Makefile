# recycle — one non-recursive Makefile. Every common/*.c goes into libcommon.a, every tools/NAME.c
# becomes bin/NAME, every tests/unit/NAME.c a unit-test binary; nothing here names a module.
VERSION  = 0.1.0
PREFIX  ?= /usr/local
BINDIR   = $(PREFIX)/bin
MANDIR   = $(PREFIX)/share/man
CC      ?= cc
PKGS     = libzstd json-c openblas
CFLAGS  ?= -O2 -g
WARN     = -Wall -Wextra -Wshadow -Wno-unused-parameter
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
$(O)/common/%.o: common/%.c $(wildcard common/*.h) | $(O)/common
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -c -o $@.$$$$ $< && mv $@.$$$$ $@
$(O)/tools/%.o: tools/%.c $(wildcard common/*.h) | $(O)/tools
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -c -o $@.$$$$ $< && mv $@.$$$$ $@
$(LIB): $(LIB_OBJ)
	ar rcs $@.$$$$ $^ && mv $@.$$$$ $@
$(BIN)/%: $(O)/tools/%.o $(LIB) | $(BIN)
	$(CC) $(LDFLAGS) -o $@.$$$$ $< $(LIB) $(LDLIBS) && mv $@.$$$$ $@
$(O)/tests/%: tests/unit/%.c tests/unit/t.h $(LIB) | $(O)/tests
	$(CC) $(CPPFLAGS) -Itests/unit $(CFLAGS) $(WARN) $(LDFLAGS) -o $@.$$$$ $< $(LIB) $(LDLIBS) && mv $@.$$$$ $@
# The fuzz-input replayer compiles the fuzz targets' drivers in.
$(O)/tests/test_fuzz_regress: $(wildcard tests/fuzz/*.c tests/fuzz/*.h)
$(O)/helpers/%: tests/helpers/%.c $(LIB) | $(O)/helpers
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) $(LDFLAGS) -o $@.$$$$ $< $(LIB) $(LDLIBS) && mv $@.$$$$ $@
$(O)/common $(O)/tools $(O)/tests $(O)/helpers $(BIN):
	mkdir -p $@

# make test [T='tests/cli/ckpt-cat.sh ...']: unit binaries, then every CLI and pipeline script.
T ?=
test: all
	@BIN=$(CURDIR)/$(BIN) HELPERS=$(CURDIR)/$(O)/helpers UNITDIR=$(CURDIR)/$(O)/tests SAN=$(SAN) sh tests/run $(T)

# The demo: the demo family (cached in build/zoo) and an optimized merge of it, with its report.
demo: all
	@sh pipelines/demo

bench: all
	@BIN=$(CURDIR)/$(BIN) HELPERS=$(CURDIR)/$(O)/helpers sh tests/bench/run $(T)

# make fuzz [FUZZ_SECONDS=30]: every libFuzzer target briefly (clang; see tests/fuzz/run).
FUZZ_SECONDS ?= 30
fuzz:
	@sh tests/fuzz/run $(FUZZ_SECONDS)

deps:
	@sh .ci/deps

# Programs to bin/, the pipelines to libexec/recycle/ with bin/recycle-optimize pointing at the
# driver, man pages to share/man/.
LIBEXEC  = $(PREFIX)/libexec/recycle
PIPES    = pipelines/lib.sh pipelines/optimize pipelines/optimize.mk pipelines/search \
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

.PHONY: all test demo bench fuzz deps install clean
.SECONDARY:
