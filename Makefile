# The two commands a new user needs: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: screenshots run test test-fast test-libvirt lint typecheck bench chaos clean venv fuzz mutation

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

## Start aiiro on its embedded defaults (SQLite, simulated compute, 127.0.0.1:8080).
run: $(STAMP)
	$(BIN)/aiiro serve

## Set up and run the whole test suite (SQLite; each store-backed test on PostgreSQL too when
## AIIRO_TEST_POSTGRES_URL is set, as .ci/run does).
## The real-VM end-to-end test runs last, alone, so its guest has the CPU to itself; it is
## skipped where the host is not prepared (scripts/ci-deps-libvirt.sh) unless
## AIIRO_TEST_REQUIRE_LIBVIRT=1. pytest's exit code 5 (no tests ran) counts as success.
test: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/pytest -n 2 --dist loadfile --ignore=tests/e2e_libvirt; rc=$$?; [ $$rc -eq 5 ] || [ $$rc -eq 0 ] || exit $$rc
	$(BIN)/pytest tests/e2e_libvirt; rc=$$?; [ $$rc -eq 5 ] || [ $$rc -eq 0 ] || exit $$rc

test-fast: $(STAMP)
	$(BIN)/pytest -x -m "not acceptance"

## Real VMs: the end-to-end test of the libvirt driver alone (as root; the host is prepared
## by scripts/ci-deps-libvirt.sh: packages, libvirtd, network, image).
test-libvirt: $(STAMP)
	AIIRO_TEST_REQUIRE_LIBVIRT=1 $(BIN)/pytest tests/e2e_libvirt

## The full fuzz of hostile requests (12,000; `make test` runs 1,500). AIIRO_FUZZ_SEED replays.
fuzz: $(STAMP)
	AIIRO_FUZZ_REQUESTS=12000 $(BIN)/pytest tests/fuzz -s -p no:xdist

## Mutation testing of the core rule modules, each against its own tests (slow: not part of
## `make test`). `make mutation ARGS=firewall` runs the modules whose path holds "firewall".
mutation: $(STAMP)
	$(BIN)/python scripts/mutation.py $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

## Regenerate docs/screenshots/ from the browser tests.
screenshots: $(STAMP)
	AIIRO_SCREENSHOTS=$(CURDIR)/docs/screenshots $(BIN)/pytest tests/browser -p no:xdist

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

## Nothing lost under faults: 32 clients of mixed load for 120 s, the server killed with
## SIGKILL twice (bench/chaos.py; `make test` runs a 30-s version). Exit 1 if a check fails.
chaos: $(STAMP)
	$(BIN)/python bench/chaos.py --clients 32 --seconds 120 --kills 2

clean:
	rm -rf $(VENV) build dist .mypy_cache .ruff_cache
