# ArtStore developer commands. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.8
export UV_PROJECT_ENVIRONMENT := $(abspath $(VENV))
PY_SOURCES := shared admin_module storage_element ingester_module query_module artstore tests bench

.DEFAULT_GOAL := help

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(BIN)/uv:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check "uv==$(UV_VERSION)"

$(VENV)/.installed: $(BIN)/uv pyproject.toml uv.lock
	$(BIN)/uv sync -q --frozen --inexact
	@touch $@

install: $(VENV)/.installed ## create .venv and install the locked dependencies

lock: $(BIN)/uv ## re-resolve dependencies into uv.lock
	$(BIN)/uv lock

run: install ## start the whole fleet locally (embedded Postgres, two local-disk SEs)
	$(BIN)/artstore up

migrate: install ## apply every service's migrations to the configured databases
	$(BIN)/artstore migrate

lint: install ## ruff and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check $(PY_SOURCES)
	$(BIN)/mypy

ui: ## build the admin UI and run its unit tests (needs Node.js 20+ and npm)
	@if ! command -v npm >/dev/null; then \
	  if [ "$$CI" = "true" ]; then echo "npm is required in CI"; exit 1; fi; \
	  echo "npm not found: skipping the admin UI (install Node.js 20+ to build and test it)"; exit 0; fi; \
	cd admin_ui && npm ci --no-audit --no-fund --loglevel=error && npm test && npm run build

test: install ui ## lint, UI unit tests and build, then unit, integration and end-to-end tests against real servers
	$(BIN)/ruff check .
	$(BIN)/ruff format --check $(PY_SOURCES)
	$(BIN)/mypy
	$(BIN)/pytest

bench: install ## benchmarks: ArtStore and SeaweedFS side by side (not part of make test)
	$(BIN)/python -m bench.run

clean: ## remove the venv and local state (./var)
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache

.PHONY: help install lock run migrate lint ui test bench clean
