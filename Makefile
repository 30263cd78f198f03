# The two commands:  make run  (the service on this laptop)   make test  (every check)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DATA := .vault-data
HOST ?= 127.0.0.1
PORT ?= 8080

.PHONY: run test lint typecheck unit setup dev-setup bench clean lock

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

setup: $(VENV)/.runtime
dev-setup: $(VENV)/.dev .venv-infra/.installed tests/node/node_modules/.installed

## The service, locally, on the embedded backend (SQLite + a local key file).
run: setup
	@if [ ! -s $(DATA)/dev-api-key ]; then \
	  mkdir -p $(DATA) && umask 077 && \
	  $(BIN)/python -m vault keys create --developer local-dev --name "make run" > $(DATA)/dev-api-key; \
	fi
	@echo "API key for developer local-dev (kept in $(DATA)/dev-api-key):" >&2
	@cat $(DATA)/dev-api-key >&2
	$(BIN)/python -m vault serve --host $(HOST) --port $(PORT)

## Lint, type check, and every test tier (the Firestore emulator is started by pytest).
test: dev-setup lint typecheck
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: dev-setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: dev-setup
	$(BIN)/mypy

$(VENV)/.bench: $(VENV)/.runtime requirements-bench.txt
	$(BIN)/pip install --quiet -r requirements-bench.txt
	touch $@

## The benchmark: prints a table, writes bench/results.json and docs/bench.png (~3 min).
## It uses the test support code (emulator, fake KMS), so it needs the dev setup too.
bench: dev-setup $(VENV)/.bench
	@command -v wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk; }
	$(BIN)/python -m bench.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .venv-infra .venv-lock .pytest_cache .mypy_cache .ruff_cache .hypothesis
