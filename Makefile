# crmos developer tasks (GNU make). `make help` lists them.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-builtin-rules --no-print-directory

VENV ?= .venv
PY = $(VENV)/bin/python
PYTEST_ARGS ?=
# pytest-xdist processes for `make test` ("auto": one per core; 0 runs in this process). Many tests
# wait on servers and subprocesses, so two workers on two cores nearly halve the wall time. An idle
# worker takes over half of a busy one's queue (worksteal): the tests' lengths range from 0.1 s
# to a minute and a half, so a static split would leave one worker running alone at the end.
PYTEST_WORKERS ?= auto
PYTEST_DIST ?= worksteal
# Paths checked by ruff (only those that exist, so a missing benchmarks/ is not an error).
LINT_PATHS := $(wildcard src tests benchmarks)
STAMP := $(VENV)/.installed
# Every install takes exactly these versions (with their hashes); `make lock` refreshes the file.
LOCK := requirements.lock
# pip on this machine prints many harmless "Location ... is ignored" warnings.
PIP_NOISE := is ignored: it is neither a file nor a directory

.PHONY: help install bytecode lock run test check lint bench fmt clean distclean vendor

help:
	@echo "make install    system packages (as root), venv, the locked versions of requirements.lock"
	@echo "make lock       re-resolve requirements.lock from pyproject.toml (newest allowed versions)"
	@echo "make run        crmos demo on http://127.0.0.1:8000"
	@echo "make test       pytest with throw-away PostgreSQL/Redis/Mosquitto (PYTEST_ARGS=..., PYTEST_WORKERS=N)"
	@echo "make check      ruff, ruff format --check, mypy, lint-imports, then test"
	@echo "make bench      crmos bench all --quick (with the test services)"
	@echo "make fmt        ruff format + ruff check --fix"
	@echo "make vendor     refresh the console's pinned JavaScript from npm (dev time; checksums)"
	@echo "make clean      remove .crmos/ and build/cache artefacts (keeps the venv)"
	@echo "make distclean  clean + remove the venv"

install: $(STAMP)

$(STAMP): pyproject.toml $(LOCK) scripts/install-system-deps.sh
	scripts/install-system-deps.sh
	test -x $(PY) || python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --require-hashes --no-deps -r $(LOCK) 2>&1 | { grep -v -- '$(PIP_NOISE)' || true; }
	$(VENV)/bin/pip install -q --no-deps --no-build-isolation -e . 2>&1 | { grep -v -- '$(PIP_NOISE)' || true; }
	$(VENV)/bin/pip check
	touch $@

# Resolves pyproject.toml's dependencies (with the dev extra) and the install's own build tools
# for Python 3.11 on this platform, with hashes. Commit the result.
lock:
	test -x $(VENV)/bin/uv || $(VENV)/bin/pip install -q uv
	$(VENV)/bin/uv pip compile pyproject.toml scripts/lock-build.in --extra dev \
	  --python-version 3.11 --generate-hashes --quiet -o $(LOCK)

# Byte-code for the sources: with PYTHONDONTWRITEBYTECODE set (as on these machines) Python never
# writes it, and every crmos process (each CLI command, each server a test starts) compiled all
# ~300 modules again, a second or more of CPU each. Up-to-date files are skipped.
bytecode: install
	$(PY) -m compileall -q -j 0 src tests >/dev/null

run: bytecode
	$(VENV)/bin/crmos demo

test: bytecode
	@rc=0; scripts/with-services.sh $(PY) -m pytest -n $(PYTEST_WORKERS) --dist $(PYTEST_DIST) $(PYTEST_ARGS) || rc=$$?; \
	if [ "$$rc" -eq 5 ]; then \
	  echo "make test: FAILED: pytest collected no tests (exit code 5)" >&2; exit 1; \
	fi; \
	exit "$$rc"

lint: install
	$(VENV)/bin/ruff check $(LINT_PATHS)
	$(VENV)/bin/ruff format --check $(LINT_PATHS)
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

check: lint
	@$(MAKE) test

bench: install
	scripts/with-services.sh $(VENV)/bin/crmos bench all --quick

fmt: install
	$(VENV)/bin/ruff format $(LINT_PATHS)
	$(VENV)/bin/ruff check --fix $(LINT_PATHS)

# The console's JS (htmx, Alpine.js, Cytoscape.js, ECharts) at the versions pinned in the
# manifest; rewrites the SHA-256 sums. Needs npm; nothing downloads at install or run time.
vendor:
	python3 scripts/vendor.py
	python3 scripts/vendor.py --check

clean:
	rm -rf .crmos build dist .mypy_cache .ruff_cache .pytest_cache .hypothesis
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
