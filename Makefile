# The two commands of the README, and a few helpers. Everything real is in
# tools/ and meson; this file only strings the steps together.
BUILD ?= build

.PHONY: all bootstrap build demo test test-quick fuzz clean help

all: build

help:
	@echo "make demo        install what is missing, build, run the examples and a perf summary"
	@echo "make test        build and run every test suite, also under ASan+UBSan and TSan"
	@echo "make test-quick  the fast suite in the optimised build only"
	@echo "make fuzz        fuzz every decoder with libFuzzer (clang), 60 s each (FUZZ_SECONDS=N)"
	@echo "make build       configure and build $(BUILD)/"
	@echo "make clean       remove build directories"

bootstrap:
	@tools/bootstrap

build: bootstrap
	@[ -f $(BUILD)/build.ninja ] || meson setup $(BUILD) --buildtype=debugoptimized -Db_lto=true >/dev/null
	@ninja -C $(BUILD)

demo: build
	@tools/demo $(BUILD)

test: bootstrap
	@BUILD=$(BUILD) tools/run-tests

test-quick: bootstrap
	@BUILD=$(BUILD) tools/run-tests --quick

fuzz: bootstrap
	@tools/fuzz --seconds $(or $(FUZZ_SECONDS),60)

clean:
	rm -rf $(BUILD) build-asan build-tsan build-fuzz
