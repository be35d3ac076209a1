# TinyMLaaS developer entry points. `make test` and `make demo` work on a fresh
# Debian machine: they install what they need (scripts/install-deps.sh) first.
BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= $(shell nproc)

.PHONY: all deps build test test-asan demo bench bench-train bench-startup screenshots clean format

all: build

deps:
	@bash scripts/install-deps.sh

$(BUILD)/Makefile: CMakeLists.txt
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: deps $(BUILD)/Makefile
	cmake --build $(BUILD) -j $(JOBS)

# The whole suite: unit, conformance and end-to-end tests, then the sanitizer build.
test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	$(MAKE) test-asan

test-asan: deps
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DTML_SANITIZE=ON -DTML_ONLY_SANITIZER_TESTS=ON
	cmake --build $(ASAN_BUILD) -j $(JOBS) --target tml_tests
	cd $(ASAN_BUILD) && ctest --output-on-failure -j $(JOBS)

# On-device benchmark (QEMU, deterministic instruction counts); results go to bench/README.md by hand.
bench: build
	$(BUILD)/bench/tml_mcu_bench cortex-m4 cortex-m7 cortex-m3

# Data / training / squeezing benchmark on Fashion-MNIST (2 threads); results in bench/README.md.
bench-train: build
	cmake --build $(BUILD) -j $(JOBS) --target tml_train_bench
	$(BUILD)/bench/tml_train_bench 2

# Start-up time of the command line tool (median ms of --help, inspect, profile, a cached
# pipeline re-run); results in bench/README.md.
bench-startup: build
	bash bench/startup_bench.sh $(BUILD)

# The demo needs the command line tool and the dashboard only (not the test programs).
demo: deps $(BUILD)/Makefile
	cmake --build $(BUILD) -j $(JOBS) --target tinymlaas tml_web
	@bash scripts/demo.sh $(BUILD)

# Dashboard screenshots for docs/ (the browser test, keeping its screenshots).
screenshots: build
	cd web && node tests/browser.test.mjs ../$(BUILD)/tinymlaas ../docs/screenshots

format:
	clang-format -i $$(git ls-files '*.cc' '*.h' '*.c')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
