# The two commands:  make run  (the service on this laptop)   make test  (every check)
# `make help` lists every target.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DATA := .vault-data
HOST ?= 127.0.0.1
PORT ?= 8080

BENCH_OUT := .bench-results

.PHONY: help run run-gcp test lint typecheck unit setup dev-setup bench bench-update clean lock
.DEFAULT_GOAL := help

## List the targets (this).
help:
	@awk '/^## /{ if (doc == "") doc = substr($$0, 4); next } \
	  /^[a-z][a-z-]*:/{ split($$0, target, ":"); if (doc != "") printf "  make %-13s %s\n", target[1], doc; doc = ""; next } \
	  { doc = "" }' $(MAKEFILE_LIST)
	@echo "  (HOST=... PORT=... change where run and run-gcp listen; now $(HOST):$(PORT))"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# The runtime exactly as deployed: every package pinned and hash-checked. Hash-checking
# mode covers a whole pip call, so the dev, infra and bench tools come in calls of
# their own (their files do not include requirements.txt).
$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt requirements-infra.txt
	$(BIN)/pip install --quiet -r requirements-dev.txt
	$(BIN)/pip install --quiet --no-deps -r requirements-infra.txt
	touch $@

## Regenerate requirements.txt (the whole runtime tree, pinned, with hashes) from
## requirements.in. Run it after editing requirements.in; commit both files.
LOCK_PYTHON ?= $(PYTHON)
.venv-lock/.installed: requirements-lock.txt
	$(LOCK_PYTHON) -m venv .venv-lock
	.venv-lock/bin/pip install --quiet -r requirements-lock.txt
	touch $@

lock: .venv-lock/.installed
	.venv-lock/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	  --no-emit-index-url --output-file=requirements.txt requirements.in

# checkov lives in a venv of its own: its pins clash with pytest's (see the file).
.venv-infra/.installed: tests/infra/requirements-checkov.txt
	$(PYTHON) -m venv .venv-infra
	.venv-infra/bin/pip install --quiet -r tests/infra/requirements-checkov.txt
	touch $@

# The test suite's protocol peers (oidc-provider, dpop), pinned by the lockfile.
tests/node/node_modules/.installed: tests/node/package.json tests/node/package-lock.json
	cd tests/node && npm ci --no-audit --no-fund --silent
	touch $@

## Install the runtime dependencies into .venv.
setup: $(VENV)/.runtime
## Install everything the tests need (dev deps, checkov's venv, the node test peers).
dev-setup: $(VENV)/.dev .venv-infra/.installed tests/node/node_modules/.installed

## The service, locally, on the embedded backend (SQLite + a local key file).
run: setup
	@$(BIN)/python -m vault.devstack.dev_key $(DATA)/dev-api-key
	@$(BIN)/python -m vault serve --host $(HOST) --port $(PORT) --example-key-file $(DATA)/dev-api-key

## The whole gcp backend on this laptop: Firestore emulator, a fake KMS (dev stand-ins).
run-gcp: setup
	@$(BIN)/python -m vault.devstack --host $(HOST) --port $(PORT) --data-dir .vault-data-gcp

## Lint, type check, and every test tier (the Firestore emulator is started by pytest).
test: dev-setup lint typecheck
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## ruff: lint and format check.
lint: dev-setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## mypy --strict over vault/ and main.py.
typecheck: dev-setup
	$(BIN)/mypy

$(VENV)/.bench: $(VENV)/.runtime requirements-bench.txt
	$(BIN)/pip install --quiet -r requirements-bench.txt
	touch $@

## The benchmark (~3 min, needs wrk): a table, and results in .bench-results/ (ignored).
## It uses the test support code (emulator, fake KMS), so it needs the dev setup too.
bench: dev-setup $(VENV)/.bench
	@command -v wrk >/dev/null 2>&1 || { echo "make bench needs wrk (HTTP load generator): install it, e.g. apt-get install wrk" >&2; exit 1; }
	@mkdir -p $(BENCH_OUT)
	$(BIN)/python -m bench.run --out $(BENCH_OUT)/results.json --chart $(BENCH_OUT)/bench.png $(BENCH_ARGS)

## The benchmark, updating the committed bench/results.json and docs/bench.png.
bench-update: dev-setup $(VENV)/.bench
	@command -v wrk >/dev/null 2>&1 || { echo "make bench-update needs wrk (HTTP load generator): install it, e.g. apt-get install wrk" >&2; exit 1; }
	$(BIN)/python -m bench.run $(BENCH_ARGS)

## Remove the virtual environments and caches (not the data dirs).
clean:
	rm -rf $(VENV) .venv-infra .venv-lock .pytest_cache .mypy_cache .ruff_cache .hypothesis
