# PrimePre: `make run` starts the service, `make test` runs the checks. Both work from a bare Python 3.11.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test test-fast lint install install-dev lock reset-password clean bench bench-prod fuzz chromium

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "PrimePre needs Python 3.11 (set PYTHON=/path/to/python3.11)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.base-installed: requirements/base.txt | $(PY)
	$(BIN)/pip install -q -r requirements/base.txt
	@touch $@

$(VENV)/.dev-installed: requirements/dev.txt requirements/base.txt | $(PY)
	$(BIN)/pip install -q -r requirements/dev.txt
	@touch $@ $(VENV)/.base-installed

$(VENV)/.bench-installed: requirements/bench.txt requirements/dev.txt requirements/base.txt | $(PY)
	$(BIN)/pip install -q -r requirements/bench.txt
	@touch $@ $(VENV)/.dev-installed $(VENV)/.base-installed

install: $(VENV)/.base-installed
install-dev: $(VENV)/.dev-installed

## run: install, migrate the SQLite database under var/, make sure a staff login exists, then start the one-service
## mode production uses (bin/start: gunicorn with uvicorn workers + the task worker) on http://$(HOST):$(PORT), with DEBUG
## and code reloading on. Ctrl-C stops both.
run: install
	@mkdir -p var
	DEBUG=1 $(PY) manage.py migrate --noinput
	@DEBUG=1 $(PY) manage.py ensure_superuser
	DEBUG=1 HOST=$(HOST) PORT=$(PORT) WEB_CONCURRENCY=1 GUNICORN_RELOAD=1 bin/start

reset-password: install
	@DEBUG=1 $(PY) manage.py ensure_superuser --reset

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Browser tests drive a Chromium with Playwright: CHROMIUM_PATH, Debian's /usr/bin/chromium, or Playwright's own.
# `make test` installs Debian's package where it can (root with apt-get), else tries Playwright's download; with none,
# the browser tests are skipped with one line, except under CI=true (tests/browser/chromium.py).
chromium: install-dev
	@$(PY) -m tests.browser.chromium --ensure

## test: ruff, then the whole suite on SQLite, then on PostgreSQL when TEST_DATABASE_URL is set (required under CI=true)
test: lint chromium
	DATABASE_URL= $(BIN)/pytest
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
		echo "--- the suite again on PostgreSQL ($$TEST_DATABASE_URL)"; \
		DATABASE_URL="$$TEST_DATABASE_URL" $(BIN)/pytest; \
	elif [ "$$CI" = "true" ]; then \
		echo "CI=true but TEST_DATABASE_URL is not set: the PostgreSQL leg cannot be skipped in CI." >&2; exit 1; \
	else \
		echo "--- TEST_DATABASE_URL is not set: PostgreSQL leg skipped (set it to postgres://postgres@127.0.0.1:5432/primepre)"; \
	fi

## test-fast: ruff, then the suite on SQLite without the `slow` tests (servers, browsers, worker processes, 100k+ rows;
## listed in tests/slow.py): the loop while working. `make test` still runs everything, on both databases.
test-fast: lint
	DATABASE_URL= $(BIN)/pytest -m "not slow"

## bench: 7k/100k/1M-row customer files with 2% and 10% bad rows, xlsx and csv, imported on SQLite and PostgreSQL;
## 3 alternating rounds (1 at 1M) of ours, django-import-export (up to 100k) and the database's own floor (the same
## clean rows loaded by the database alone); medians, spreads, ratios, PASS/MISS (bench/README.md). About 25 minutes
## on the 2-CPU box; `BENCH_ARGS="--sizes 7000,100000"` skips the 1M files (about 18), `BENCH_DB_NAME` names the
## PostgreSQL database. Then a 10,000-line goods sheet into 100,000 customers on PostgreSQL. Figures, never assertions.
bench: $(VENV)/.bench-installed
	$(PY) bench/run.py $(BENCH_ARGS)
	$(PY) bench/goods_import.py

## bench-prod: the production stack (bin/start: gunicorn with uvicorn workers + the import worker) on PostgreSQL under
## issue #14's load: readers at 20 req/s open loop (Poisson) during repeated 100k-row imports and without, the
## saturation throughput, 50 slow-body clients + 20 open progress streams; prints peak RSS, latency percentiles per
## kind of query (inside Django vs waiting), each with PASS/MISS (about 6 minutes; `BENCH_ARGS="--requests 500
## --skip saturation"` for a quick run)
bench-prod: $(VENV)/.bench-installed
	$(PY) bench/prod.py $(BENCH_ARGS)

## fuzz: the schema check of tests/test_api_schema.py at FUZZ_EXAMPLES (default 100) examples per operation, every
## phase, on SQLite, then on PostgreSQL (TEST_DATABASE_URL, else the local server's primepre database); prints the
## cases and every failure with the curl line that reproduces it. A few minutes per database.
FUZZ_EXAMPLES ?= 100
fuzz: $(VENV)/.dev-installed
	@echo "--- schemathesis, $(FUZZ_EXAMPLES) examples per operation, on SQLite"
	set -o pipefail; DATABASE_URL= FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) \
		$(BIN)/pytest -p no:cacheprovider -q -s tests/test_api_schema.py 2>&1 | grep -v ' INFO '
	@echo "--- schemathesis, $(FUZZ_EXAMPLES) examples per operation, on PostgreSQL"
	set -o pipefail; DATABASE_URL="$${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/primepre}" \
		FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest -p no:cacheprovider -q -s tests/test_api_schema.py 2>&1 | grep -v ' INFO '

## lock: re-pin every dependency (edit requirements/*.in, then run this)
lock: install-dev
	cd requirements && ../$(BIN)/pip-compile -q --strip-extras --no-emit-index-url --no-emit-find-links base.in -o base.txt
	cd requirements && ../$(BIN)/pip-compile -q --strip-extras --no-emit-index-url --no-emit-find-links dev.in -o dev.txt
	cd requirements && ../$(BIN)/pip-compile -q --strip-extras --no-emit-index-url --no-emit-find-links bench.in -o bench.txt

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis staticfiles
