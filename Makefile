# Thin wrapper over CMake: `make run` (set-up + demo) and `make test` (set-up + test suite).
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps configure build run test test-sanitize fuzz install clean format

all: build

deps:
	@scripts/install_deps.sh

configure: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS) > $(BUILD).configure.log 2>&1 || { cat $(BUILD).configure.log; exit 1; }

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# The whole suite built with AddressSanitizer + UndefinedBehaviorSanitizer (docs/reliability.md).
SAN_BUILD ?= build-asan
test-sanitize: deps
	@cmake -S . -B $(SAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
	  -DNMSIM_SANITIZE=ON -DNMSIM_BUILD_EXAMPLES=OFF -DNMSIM_BUILD_BENCH=OFF $(CMAKE_FLAGS) > $(SAN_BUILD).configure.log 2>&1 \
	  || { cat $(SAN_BUILD).configure.log; exit 1; }
	@cmake --build $(SAN_BUILD) -j $(JOBS)
	cd $(SAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  ctest --output-on-failure -j $(JOBS) -LE no_sanitize

# libFuzzer on the config loader and the CLI parser (clang; skipped with a message without it).
FUZZ_SECONDS ?= 60
fuzz:
	@NMSIM_WITH_FUZZ=1 scripts/install_deps.sh || echo "nmsim: could not install clang for the fuzz stage" >&2
	@scripts/fuzz.sh $(FUZZ_SECONDS)

run: build
	@scripts/demo.sh $(BUILD)

install: build
	cmake --install $(BUILD) --prefix $(or $(PREFIX),/usr/local)

format:
	clang-format -i $$(git ls-files '*.cpp' '*.hpp')

clean:
	rm -rf $(BUILD) $(BUILD).configure.log $(SAN_BUILD) $(SAN_BUILD).configure.log build-fuzz build-fuzz.configure.log
