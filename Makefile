# inuse - build, test, install.
#
#   make            build everything into build/
#   make run        install missing packages, build, start inused (root)
#   make test       install missing packages, build, run every test (root)
#   make bench      install the peers, build, run the benchmark suite (root)
#   make deps       install the Debian packages the build and tests need
#   make install    PREFIX=/usr/local DESTDIR=
#   make fuzz       build the fuzzers (libFuzzer) and run each FUZZ_TIME seconds
#   make test SANITIZE=1   everything (the daemon too) with ASan and UBSan,
#                   in build-san/; any sanitizer report fails the run

VERSION    := 0.1.0
PREFIX     ?= /usr/local
DESTDIR    ?=
BINDIR     ?= $(PREFIX)/bin
SBINDIR    ?= $(PREFIX)/sbin
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR     ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
UNITDIR    ?= $(PREFIX)/lib/systemd/system
SANITIZE   ?=
ifeq ($(SANITIZE),1)
B          := build-san
else
B          := build
endif
CC         ?= cc
CLANG      ?= clang
BPFTOOL    ?= bpftool
ARCH       := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/' -e 's/ppc64le/powerpc/')

WARN       := -Wall -Wextra -Wshadow -Wno-format-truncation -Wno-unused-parameter -Wmissing-prototypes -Wstrict-prototypes
CFLAGS     ?= -O2 -g
CFLAGS     += $(WARN) -std=gnu11 -D_GNU_SOURCE -DINUSE_VERSION='"$(VERSION)"' \
              -Iinclude -Iuserspace -I$(B) -MMD -MP
ifeq ($(CI),true)
CFLAGS     += -Werror
endif
LDFLAGS    ?=
ifeq ($(SANITIZE),1)
SAN_FLAGS  := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
CFLAGS     += $(SAN_FLAGS)
LDFLAGS    += $(SAN_FLAGS)
endif
LIBBPF     := $(shell pkg-config --libs libbpf 2>/dev/null || echo -lbpf -lelf -lz)
JANSSON    := $(shell pkg-config --libs jansson 2>/dev/null || echo -ljansson)
CMOCKA     := $(shell pkg-config --libs cmocka 2>/dev/null || echo -lcmocka)
LIBCONFIG  := $(shell pkg-config --libs libconfig 2>/dev/null || echo -lconfig)
LIBSYSTEMD := $(shell pkg-config --libs libsystemd 2>/dev/null || echo -lsystemd)
LIBMHD     := $(shell pkg-config --libs libmicrohttpd 2>/dev/null || echo -lmicrohttpd)
DAEMON_LIBS = $(LIBBPF) $(JANSSON) $(LIBCONFIG) $(LIBSYSTEMD) $(LIBMHD) -lpthread

# ---- BPF ----
BPF_SRC    := bpf/inuse.bpf.c
BPF_OBJ    := $(B)/inuse.bpf.o
SKEL       := $(B)/inuse.skel.h
VMLINUX    := $(B)/vmlinux.h

# ---- userspace ----
COMMON_SRC := $(wildcard userspace/common/*.c)
LIB_SRC    := $(wildcard userspace/lib/*.c)
INUSED_SRC := $(wildcard userspace/inused/*.c)
LS_SRC     := $(wildcard userspace/inuse-ls/*.c)
WAIT_SRC   := $(wildcard userspace/inuse-wait/*.c)
COPY_SRC   := $(wildcard userspace/inuse-copy/*.c)
CHECK_SRC  := $(wildcard userspace/inuse-check/*.c)
RUN_SRC    := $(wildcard userspace/inuse-run/*.c)

COMMON_OBJ := $(COMMON_SRC:%.c=$(B)/%.o)
LIB_OBJ    := $(LIB_SRC:%.c=$(B)/pic/%.o) $(COMMON_SRC:%.c=$(B)/pic/%.o)
INUSED_OBJ := $(INUSED_SRC:%.c=$(B)/%.o)
LS_OBJ     := $(LS_SRC:%.c=$(B)/%.o)
WAIT_OBJ   := $(WAIT_SRC:%.c=$(B)/%.o)
COPY_OBJ   := $(COPY_SRC:%.c=$(B)/%.o)
CHECK_OBJ  := $(CHECK_SRC:%.c=$(B)/%.o)
RUN_OBJ    := $(RUN_SRC:%.c=$(B)/%.o)
# daemon modules without main(), for unit tests
INUSED_LIB := $(filter-out $(B)/userspace/inused/main.o,$(INUSED_OBJ))

LIBINUSE_SO := $(B)/libinuse.so.0
LIBINUSE_A  := $(B)/libinuse.a

# ---- tests ----
UNIT_SRC   := $(wildcard tests/unit/test_*.c)
UNIT_BIN   := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
INTEG_SRC  := $(wildcard tests/integration/test_*.c)
INTEG_BIN  := $(INTEG_SRC:tests/integration/%.c=$(B)/tests/%)
E2E_SRC    := $(wildcard tests/e2e/test_*.c)
E2E_BIN    := $(E2E_SRC:tests/e2e/%.c=$(B)/tests/%)
EXAMPLES   := $(B)/inuse-backup
BENCH_BINS := $(B)/bench/query_bench $(B)/bench/burst $(B)/bench/loop $(B)/bench/holders \
	      $(B)/bench/procscan $(B)/bench/spawn_time $(B)/bench/release $(B)/bench/hooks
TESTLIB_SRC := $(wildcard tests/lib/*.c)
TESTLIB_OBJ := $(TESTLIB_SRC:%.c=$(B)/%.o)

BINS := $(B)/inused $(B)/inuse-ls $(B)/inuse-wait $(B)/inuse-copy $(B)/inuse-check \
	$(B)/inuse-run

# ---- fault builds, for the tests' mutation check ----
# One daemon per deliberate breakage (userspace/inused/fault.h), built from
# the production objects except those of the files that use that fault,
# which are compiled again with -DINUSE_FAULT. `all` and `install` never
# build them; tests/integration/test_mutation.c runs tests against them.
FAULTS     := drop-close close-trusts-table ignore-fork ignore-exec hint-is-exit ignore-lost \
	      no-foreign-ns unlinked-dropped lag leak wait-early verify-stat-only \
	      realert-every-tick no-pseudo-filter no-table-limit trust-full-table
FAULT_BINS := $(FAULTS:%=$(B)/faults/inused-%)
fault_id    = FAULT_$(shell echo $(1) | tr a-z- A-Z_)
fault_src   = $(shell grep -l 'FAULT($(patsubst FAULT_%,%,$(call fault_id,$(1))))' $(INUSED_SRC))

.PHONY: all deps bench run test unit integration faults clean install format tidy fuzz fuzz-build
all: $(BINS) $(LIBINUSE_SO) $(LIBINUSE_A) $(B)/libinuse.pc $(EXAMPLES) $(BENCH_BINS)

$(B)/libinuse.pc: userspace/lib/libinuse.pc.in Makefile
	@mkdir -p $(@D)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' $< > $@

deps:
	@scripts/deps.sh

$(VMLINUX):
	@mkdir -p $(@D)
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@.tmp && mv $@.tmp $@

$(BPF_OBJ): $(BPF_SRC) $(VMLINUX)
	@mkdir -p $(@D)
	$(CLANG) -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -Iinclude -Ibpf -I$(B) \
		-MMD -MP -MF $@.d -c $< -o $@

$(SKEL): $(BPF_OBJ)
	$(BPFTOOL) gen skeleton $< name inuse_bpf > $@.tmp && mv $@.tmp $@

# The daemon includes the skeleton.
$(INUSED_OBJ): $(SKEL)

$(B)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

$(B)/pic/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -fPIC -fvisibility=hidden -DINUSE_BUILDING_LIB -c $< -o $@

$(LIBINUSE_SO): $(LIB_OBJ) userspace/lib/libinuse.map
	$(CC) $(LDFLAGS) -shared -Wl,-soname,libinuse.so.0 \
		-Wl,--version-script=userspace/lib/libinuse.map -o $@ $(LIB_OBJ) $(JANSSON)
	ln -sf libinuse.so.0 $(B)/libinuse.so

$(LIBINUSE_A): $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

$(B)/inused: $(INUSED_OBJ) $(COMMON_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(DAEMON_LIBS)

define FAULT_RULES
$(B)/faults/$(1)/%.o: %.c $(SKEL)
	@mkdir -p $$(@D)
	$$(CC) $$(CFLAGS) -DINUSE_FAULT=$(call fault_id,$(1)) -c $$< -o $$@

$(B)/faults/inused-$(1): $(filter-out $(patsubst %.c,$(B)/%.o,$(call fault_src,$(1))),$(INUSED_OBJ)) \
		$(patsubst %.c,$(B)/faults/$(1)/%.o,$(call fault_src,$(1))) $(COMMON_OBJ)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(DAEMON_LIBS)
endef
$(foreach f,$(FAULTS),$(eval $(call FAULT_RULES,$(f))))

$(B)/inuse-ls: $(LS_OBJ) $(LIBINUSE_A)
	$(CC) $(LDFLAGS) -o $@ $^ $(JANSSON)

$(B)/inuse-wait: $(WAIT_OBJ) $(LIBINUSE_A)
	$(CC) $(LDFLAGS) -o $@ $^ $(JANSSON)

$(B)/inuse-copy: $(COPY_OBJ) $(LIBINUSE_A)
	$(CC) $(LDFLAGS) -o $@ $^ $(JANSSON)

$(B)/inuse-check: $(CHECK_OBJ) $(LIBINUSE_A)
	$(CC) $(LDFLAGS) -o $@ $^ $(JANSSON)

$(B)/inuse-run: $(RUN_OBJ) $(COMMON_OBJ) $(LIBINUSE_A)
	$(CC) $(LDFLAGS) -o $@ $^ $(JANSSON)

$(B)/inuse-backup: $(B)/examples/backup/inuse-backup.o $(LIBINUSE_A)
	$(CC) $(LDFLAGS) -o $@ $^ $(JANSSON)

$(B)/bench/query_bench $(B)/bench/burst: $(B)/bench/%: $(B)/bench/%.o $(COMMON_OBJ) $(LIBINUSE_A)
	$(CC) $(LDFLAGS) -o $@ $^ $(JANSSON)

$(B)/bench/release: $(B)/bench/release.o $(COMMON_OBJ) $(LIBINUSE_A)
	$(CC) $(LDFLAGS) -o $@ $^ $(JANSSON) -luring

$(B)/bench/loop $(B)/bench/holders $(B)/bench/spawn_time: $(B)/bench/%: $(B)/bench/%.o
	$(CC) $(LDFLAGS) -o $@ $^

$(B)/bench/procscan: $(B)/bench/procscan.o
	$(CC) $(LDFLAGS) -o $@ $^ -lpthread

# The floor of the hooks: programs that do nothing on inused's tracepoints.
$(B)/bench/hooks.bpf.o: bench/hooks.bpf.c $(VMLINUX)
	@mkdir -p $(@D)
	$(CLANG) -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -I$(B) -MMD -MP -MF $@.d \
		-c $< -o $@

$(B)/bench/hooks.skel.h: $(B)/bench/hooks.bpf.o
	$(BPFTOOL) gen skeleton $< name hooks_bpf > $@.tmp && mv $@.tmp $@

$(B)/bench/hooks.o: $(B)/bench/hooks.skel.h

$(B)/bench/hooks: $(B)/bench/hooks.o
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBBPF)

$(B)/tests/%: $(B)/tests/unit/%.o $(INUSED_LIB) $(TESTLIB_OBJ) $(COMMON_OBJ) $(LIBINUSE_A)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(DAEMON_LIBS) $(CMOCKA)

$(B)/tests/%: $(B)/tests/integration/%.o $(TESTLIB_OBJ) $(COMMON_OBJ) $(LIBINUSE_A)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(JANSSON) $(CMOCKA) -luring -lpthread

$(B)/tests/%: $(B)/tests/e2e/%.o $(TESTLIB_OBJ) $(COMMON_OBJ) $(LIBINUSE_A)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(JANSSON) $(CMOCKA) -lpthread

$(B)/tests/unit/%.o $(B)/tests/integration/%.o $(B)/tests/e2e/%.o $(TESTLIB_OBJ): CFLAGS += -Itests/lib
$(INTEG_BIN) $(E2E_BIN): | $(BINS) $(EXAMPLES) $(BENCH_BINS)
# the mutation check runs the other test programs against the fault builds
$(B)/tests/test_mutation: | $(FAULT_BINS) $(filter-out $(B)/tests/test_mutation,$(INTEG_BIN)) \
	$(E2E_BIN)

# ---- fuzzing (libFuzzer, clang) ----
# Harnesses in tests/fuzz/ run the daemon's and the library's own code
# (built again with -fsanitize=fuzzer-no-link,address,undefined) on inputs
# the fuzzer makes; seed corpora in tests/fuzz/corpus/NAME/, what the
# fuzzer finds in $(B)/fuzz/corpus/NAME/. make fuzz runs each FUZZ_TIME
# seconds; make test runs each on its seeds and FUZZ_SMOKE_RUNS inputs more.
FUZZ_CC    ?= clang
FUZZ_TIME  ?= 60
FUZZ_SMOKE_RUNS ?= 20000
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer-no-link,address,undefined \
	      -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS = $(filter-out -Wno-format-truncation,$(WARN)) -std=gnu11 -D_GNU_SOURCE -DINUSE_VERSION='"$(VERSION)"' \
	      -Iinclude -Iuserspace -I$(B) -Itests/fuzz -MMD -MP $(FUZZ_FLAGS)
FUZZ_SRC   := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN   := $(FUZZ_SRC:tests/fuzz/%.c=$(B)/fuzz/%)
FUZZ_OBJ   := $(patsubst %.c,$(B)/fuzz/obj/%.o,$(filter-out userspace/inused/main.c,$(INUSED_SRC)) \
	      $(COMMON_SRC) $(LIB_SRC) tests/fuzz/fixture.c)

$(B)/fuzz/obj/%.o: %.c $(SKEL)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

$(B)/fuzz/%: $(B)/fuzz/obj/tests/fuzz/%.o $(FUZZ_OBJ)
	$(FUZZ_CC) -fsanitize=fuzzer,address,undefined -o $@ $^ $(DAEMON_LIBS)

fuzz-build: $(FUZZ_BIN)

fuzz: $(FUZZ_BIN)
	@tests/fuzz/run.sh --time $(FUZZ_TIME) $(FUZZ_BIN)

run: deps all
	@scripts/run.sh

# BENCH_ARGS: e.g. "--rounds 3 listing queries" (see bench/run --help)
bench:
	@scripts/deps.sh bench
	@$(MAKE) --no-print-directory all
	@bench/run $(BENCH_ARGS)

faults: $(FAULT_BINS)

unit: $(UNIT_BIN)
	@tests/run-all.sh $(UNIT_BIN)

integration: all $(INTEG_BIN)
	@tests/run-all.sh $(INTEG_BIN)

# With SANITIZE=1 the reports go to files ($(B)/san-logs/), from every
# program the tests run (the daemon included); any report fails the run.
SAN_LOGS := $(abspath $(B))/san-logs
ifeq ($(SANITIZE),1)
TEST_ENV := ASAN_OPTIONS=log_path=$(SAN_LOGS)/asan \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:log_path=$(SAN_LOGS)/ubsan \
	    LSAN_OPTIONS=suppressions=$(abspath tests/lsan.supp):print_suppressions=0 \
	    INUSE_TEST_CFLAGS="$(SAN_FLAGS)"
endif

test:
	@scripts/deps.sh test
	@$(MAKE) --no-print-directory all $(UNIT_BIN) $(INTEG_BIN) $(E2E_BIN) $(FAULT_BINS) $(FUZZ_BIN)
	@rm -rf $(SAN_LOGS) && mkdir -p $(SAN_LOGS)
	@$(TEST_ENV) FUZZ_DIR=$(B)/fuzz FUZZ_SMOKE_RUNS=$(FUZZ_SMOKE_RUNS) \
		tests/run-all.sh $(UNIT_BIN) $(INTEG_BIN) $(E2E_BIN) tests/fuzz/smoke.sh
	@tests/san-check.sh $(SAN_LOGS)

# Everything a system needs: programs, library, header, pkg-config file,
# systemd unit, the config (when there is none) and an example, man pages.
# PREFIX and DESTDIR are honoured.
install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) $(DESTDIR)$(LIBDIR)/pkgconfig \
		$(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSCONFDIR)/inuse \
		$(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8
	install -m 0755 $(B)/inused $(DESTDIR)$(SBINDIR)/inused
	install -m 0755 $(B)/inuse-ls $(B)/inuse-wait $(B)/inuse-copy $(B)/inuse-check $(B)/inuse-run \
		$(DESTDIR)$(BINDIR)/
	install -m 0755 $(LIBINUSE_SO) $(DESTDIR)$(LIBDIR)/libinuse.so.0
	ln -sf libinuse.so.0 $(DESTDIR)$(LIBDIR)/libinuse.so
	install -m 0644 $(LIBINUSE_A) $(DESTDIR)$(LIBDIR)/libinuse.a
	install -m 0644 include/inuse.h $(DESTDIR)$(INCLUDEDIR)/inuse.h
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' \
		userspace/lib/libinuse.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/libinuse.pc
	sed -e 's|@SBINDIR@|$(SBINDIR)|' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|' \
		contrib/systemd/inused.service.in > $(DESTDIR)$(UNITDIR)/inused.service
	install -m 0644 examples/inused.conf $(DESTDIR)$(SYSCONFDIR)/inuse/inused.conf.example
	@# the service's config: installed when there is none, never replaced
	test -e $(DESTDIR)$(SYSCONFDIR)/inuse/inused.conf || \
		install -m 0644 contrib/inused.conf $(DESTDIR)$(SYSCONFDIR)/inuse/inused.conf
	install -m 0644 docs/man/inuse-ls.1 docs/man/inuse-wait.1 docs/man/inuse-run.1 \
		docs/man/inuse-copy.1 docs/man/inuse-check.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 docs/man/inused.conf.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 docs/man/inused.8 $(DESTDIR)$(MANDIR)/man8/

clean:
	rm -rf build build-san

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

-include $(shell find $(B) -name '*.d' 2>/dev/null)
