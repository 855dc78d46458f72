# The two commands: `make run` and `make test`. Both build .venv on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

TS_CLIENT := tests/clients/typescript

.PHONY: run test test-sqlite test-postgres clients fuzz lint format migrate bench faults clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

## run: install, migrate the database, seed demo data when empty, serve on 127.0.0.1:8000
run: $(VENV)/.installed
	$(BIN)/innoshare migrate
	$(BIN)/innoshare seed --if-empty
	$(BIN)/innoshare serve --host $(HOST) --port $(PORT)

## test: the whole suite on SQLite, then on PostgreSQL when TEST_DATABASE_URL is set
test: $(VENV)/.installed-dev clients
	env -u TEST_DATABASE_URL $(BIN)/python -m pytest
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
		echo "== PostgreSQL: $$TEST_DATABASE_URL"; \
		$(BIN)/python -m pytest; \
	else \
		echo "== TEST_DATABASE_URL is not set: PostgreSQL run skipped"; \
	fi

test-sqlite: $(VENV)/.installed-dev clients
	env -u TEST_DATABASE_URL $(BIN)/python -m pytest $(ARGS)

test-postgres: $(VENV)/.installed-dev clients
	$(BIN)/python -m pytest $(ARGS)

## clients: the pinned tools of the TypeScript client check (npm ci), when npm is installed
clients:
	@if command -v npm >/dev/null 2>&1; then \
		$(MAKE) --silent --no-print-directory $(TS_CLIENT)/node_modules/.installed; \
	else \
		echo "== npm not found: the TypeScript client check will be skipped"; \
	fi

$(TS_CLIENT)/node_modules/.installed: $(TS_CLIENT)/package.json $(TS_CLIENT)/package-lock.json
	cd $(TS_CLIENT) && npm ci --loglevel=error --no-audit --no-fund
	touch $@

## fuzz: the schemathesis harness of `make test` (tests/prove/test_fuzz.py), longer, on a random
## seed (printed; FUZZ_SEED=<n> replays it), every phase for every caller. FUZZ_EXAMPLES,
## FUZZ_MAX_SECONDS (per caller), FUZZ_IDENTITIES=admin,anonymous,… pick; TEST_DATABASE_URL=…
## runs it on PostgreSQL
FUZZ_EXAMPLES ?= 50
FUZZ_MAX_SECONDS ?= 300
fuzz: $(VENV)/.installed-dev
	@seed=$${FUZZ_SEED:-$$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}; echo "== fuzz seed $$seed"; \
	FUZZ_SEED=$$seed FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_MAX_SECONDS=$(FUZZ_MAX_SECONDS) FUZZ_PHASES=all \
		$(BIN)/python -m pytest tests/prove/test_fuzz.py $(ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check app tests bench
	$(BIN)/ruff format --check app tests bench
	$(BIN)/mypy

format: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix app tests bench
	$(BIN)/ruff format app tests bench

migrate: $(VENV)/.installed
	$(BIN)/innoshare migrate

## bench: every benchmark (SQLite; on PostgreSQL with BENCH_DATABASE_URL), then bench/results.md
bench: $(VENV)/.installed-dev
	$(BIN)/python bench/run_all.py $(ARGS)

## faults: fund/settle load on a PostgreSQL cluster of its own while a worker is killed and
## PostgreSQL stops and starts; checks the ledger (bench/faults.py, docs/operations.md)
faults: $(VENV)/.installed-dev
	$(BIN)/python bench/faults.py $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache $(TS_CLIENT)/node_modules
