# The two commands: `make demo` runs the product, `make test` runs the tests.
# Both install what is missing first (system packages, .venv, npm, translations)
# and are quick and harmless to run again.
SHELL   := /bin/bash
PYTHON  ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed-stamp
NODE_STAMP := node_modules/.installed-stamp
HOST    ?= 127.0.0.1
PORT    ?= 5000

.PHONY: demo test install system-deps browser-deps translations lint bench clean

demo: install
	$(BIN)/sinhke db up
	$(BIN)/sinhke db migrate
	$(BIN)/sinhke demo --if-empty
	$(BIN)/sinhke jobs run all
	@echo
	@echo "sinhke is serving the Lạng Sơn demo at http://$(HOST):$(PORT)/map, with the job scheduler beside it  (Ctrl-C stops both)"
	$(BIN)/sinhke serve --host $(HOST) --port $(PORT) --with-scheduler

test: install browser-deps lint
	$(BIN)/sinhke db up
	$(BIN)/python -m pytest

install: system-deps $(STAMP) $(NODE_STAMP) translations

system-deps:
	@bash scripts/system-deps.sh base

browser-deps:
	@bash scripts/system-deps.sh browser

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]' --config-settings editable_mode=compat
	@touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

translations: $(STAMP)
	@$(BIN)/pybabel --quiet compile -d webapp/translations

# lint, format check and types: part of `make test`, so of CI; any finding fails
lint: install
	$(BIN)/ruff check spatial ingest jobs webapp tests bench
	$(BIN)/ruff format --check spatial ingest jobs webapp tests bench
	$(BIN)/mypy

bench: install
	@bash scripts/system-deps.sh bench
	$(BIN)/sinhke db up
	$(BIN)/python bench/bench_demo_load.py
	$(BIN)/python bench/bench_jobs.py

clean:
	-$(BIN)/sinhke db down
	rm -rf $(VENV) node_modules
