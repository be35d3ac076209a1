# TinyMLaaS developer entry points. `make test` and `make demo` work on a fresh
# Debian machine: they install what they need (scripts/install-deps.sh) first.
BUILD ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
JOBS ?= $(shell nproc)

.PHONY: all deps build test test-asan test-tsan demo bench bench-package bench-train bench-startup bench-api bench-fleet bench-split bench-cascade bench-frontend screenshots clean format

all: build

deps:
	@bash scripts/install-deps.sh
	@bash scripts/fetch-device-sources.sh build/device-src

# Unity builds (eight sources per compiler run; runtime/ C stays one file per unit): a fresh
# main build takes 9 minutes on two cores instead of 15. UNITY=OFF for one file per unit.
UNITY ?= ON
UNITY_FLAGS = -DCMAKE_UNITY_BUILD=$(UNITY) -DCMAKE_UNITY_BUILD_BATCH_SIZE=8

$(BUILD)/Makefile: CMakeLists.txt
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(UNITY_FLAGS)

build: deps $(BUILD)/Makefile
	cmake --build $(BUILD) -j $(JOBS)

# The whole suite: unit, conformance and end-to-end tests, then the sanitizer builds.
test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	$(MAKE) test-asan
	$(MAKE) test-tsan

# The sanitizer builds are always unity builds, with line tables only (-g1, enough for the
# sanitizers' reports): a fresh one takes a third of the time.
SAN_FAST = -DCMAKE_UNITY_BUILD=ON -DCMAKE_UNITY_BUILD_BATCH_SIZE=8

test-asan: deps
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DTML_SANITIZE=ON -DTML_ONLY_SANITIZER_TESTS=ON \
	  $(SAN_FAST) -DCMAKE_CXX_FLAGS_DEBUG=-g1 -DCMAKE_C_FLAGS_DEBUG=-g1
	cmake --build $(ASAN_BUILD) -j $(JOBS) --target tml_tests
	cd $(ASAN_BUILD) && ctest --output-on-failure -j $(JOBS)

# ThreadSanitizer: the server, job-queue and worker tests in one program (training jobs
# use the main build's libtorch module, which is not instrumented). Built at -O1 and as a
# unity build (a fresh build: 120 s against 469 s at -O2 -g); the sweep-adoption test runs
# one worker only, so it stays in the main suite.
TSAN_SKIP = *ARerunSweepAdoptsTheCellJobsItQueuedBefore*
test-tsan: build
	cmake -S . -B $(TSAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTML_SANITIZE_THREAD=ON -DTML_ONLY_TSAN_TESTS=ON \
	  $(SAN_FAST) "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG" "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG"
	cmake --build $(TSAN_BUILD) -j $(JOBS) --target tml_tsan_tests
	TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$(CURDIR)/tests/tsan.supp" \
	  TINYMLAAS_TORCH_MODULE=$(CURDIR)/$(BUILD)/libtml_torch.so $(TSAN_BUILD)/tests/tml_tsan_tests \
	  --gtest_filter='-$(TSAN_SKIP)'

# On-device benchmark (QEMU, deterministic instruction counts); results go to bench/README.md by hand.
bench: build
	$(BUILD)/bench/tml_mcu_bench cortex-m4 cortex-m7 cortex-m3

# Model packages vs AOT firmware (instructions, flash, RAM) and transfer times; bench/README.md.
bench-package: build
	cmake --build $(BUILD) -j $(JOBS) --target tml_package_bench
	$(BUILD)/bench/tml_package_bench

# Data / training / squeezing benchmark on Fashion-MNIST (2 threads); results in bench/README.md.
bench-train: build
	cmake --build $(BUILD) -j $(JOBS) --target tml_train_bench
	$(BUILD)/bench/tml_train_bench 2

# Start-up time of the command line tool (median ms of --help, inspect, profile, a cached
# pipeline re-run); results in bench/README.md.
bench-startup: build
	bash bench/startup_bench.sh $(BUILD)

# The API under concurrent clients and event streams on SQLite and PostgreSQL (req/s, p99),
# and a six-cell sweep run by one and by two worker processes; results in bench/README.md.
# 10,000 simulated devices over MQTT into the control plane, and a rollout to all of
# them, on SQLite then PostgreSQL (about 5 minutes each).
# Front ends on the emulated boards (instructions per frame and per second of audio).
bench-frontend: build
	cmake --build $(BUILD) -j $(JOBS) --target tml_frontend_bench
	$(BUILD)/bench/tml_frontend_bench

bench-split: build
	cmake --build $(BUILD) -j $(JOBS) --target tml_split_bench
	$(BUILD)/bench/tml_split_bench

bench-cascade: build
	bash bench/cascade_bench.sh $(BUILD)

bench-fleet: build
	cmake --build $(BUILD) -j $(JOBS) --target tml_fleet_load_bench
	$(BUILD)/bench/tml_fleet_load_bench --db sqlite
	$(BUILD)/bench/tml_fleet_load_bench --db postgres

bench-api: build
	cmake --build $(BUILD) -j $(JOBS) --target tml_api_bench
	$(BUILD)/bench/tml_api_bench 5
	bash bench/sweep_workers_bench.sh $(BUILD)

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
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD)
