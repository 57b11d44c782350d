# Thin wrapper around CMake (the build). Targets: run, test, build, asan, install, clean.
BUILD     ?= build
ASAN      ?= build-asan
JOBS      ?= $(shell nproc)
CMAKEFLAGS ?=

.PHONY: all deps build run test test-fast asan fuzz matrix clean format install

all: build

deps:
	@./.ci/install-deps

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKEFLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# Only what a user needs to start and talk to the daemon (not the tests, fuzzers, benchmarks).
run: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKEFLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS) --target masteryd masteryctl mastery-verify
	./$(BUILD)/bin/masteryd -d

# Installs the binaries, libmasteryclient, man pages, example config and systemd unit under
# PREFIX (default /usr/local); DESTDIR=DIR stages the tree there (packaging).
PREFIX ?= /usr/local
install: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKEFLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS) --target masteryd masteryctl mastery-verify mastery_client
	DESTDIR=$(DESTDIR) cmake --install $(BUILD) --prefix $(PREFIX)

# The whole suite: the release build, then the same tests under ASan+UBSan.
test: build asan
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	cd $(ASAN) && ctest --output-on-failure -j $(JOBS) -LE noasan

# Release build only, for quick iteration.
test-fast: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

asan: deps
	@cmake -S . -B $(ASAN) -DCMAKE_BUILD_TYPE=Debug -DMASTERY_SANITIZE=ON $(CMAKEFLAGS) >/dev/null
	@cmake --build $(ASAN) -j $(JOBS)

# libFuzzer targets (clang); runs each for FUZZ_SECONDS. Builds only the fuzz targets (and the
# core library they link), not the daemon, clients, tests and benchmarks.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := $(notdir $(basename $(wildcard tests/fuzz/fuzz_*.c)))
fuzz: deps
	@cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DMASTERY_FUZZ=ON >/dev/null
	@cmake --build build-fuzz -j $(JOBS) $(addprefix --target ,$(FUZZ_TARGETS))
	./tests/fuzz/run-all $(FUZZ_SECONDS) build-fuzz

# gcc and clang x Release, RelWithDebInfo, Debug, all -Werror (CI runs it).
matrix: deps
	./tests/tools/build-matrix build-matrix

format:
	clang-format -i daemon/*.[ch] lib/*/*.[ch] clients/*.[ch] clients/*/*.[ch] tests/*/*.[ch]

clean:
	rm -rf $(BUILD) $(ASAN) build-fuzz build-matrix
