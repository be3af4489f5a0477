# Tech Pal — every target sets up what it needs. Start with `make help`.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON ?= python3
UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
PY := $(VENV)/bin/python
# Never download interpreters; never let a developer's vendor keys or TECHPAL_* settings leak into tests.
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/$(VENV)
TEST_ENV := env $(foreach v,$(filter OPENAI_% STRIPE_% TECHPAL_%,$(.VARIABLES)),-u $(v))

.PHONY: help install gui-deps run server desktop test test-main test-gui lint format type bench clean

help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[1m%-10s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(UV):
	@scripts/bootstrap-uv.sh "$(PYTHON)" "$(TOOLS)" "$(UV_VERSION)"

install: $(UV) ## Create ./.venv with every dependency group, exactly as uv.lock pins them
	@$(UV) sync --locked --all-groups --python "$(PYTHON)" --quiet

gui-deps: ## Install the apt packages the GUI tests need (as root, only what is missing)
	@scripts/install-gui-deps.sh

run: install ## Start the server on an embedded PostgreSQL, and the tray app when a display is present
	@$(PY) scripts/run.py

server: install ## Start the server alone
	@$(VENV)/bin/techpal-server run

test: install gui-deps lint test-main test-gui ## Lint, then the whole suite (widgets offscreen, tray on Xvfb)

test-main: install ## Server and offscreen desktop tests
	@$(TEST_ENV) $(PY) -m pytest -m "not xserver" -n 2 $(PYTEST_ARGS)

test-gui: install gui-deps ## Tray and capture tests on a private Xvfb + openbox + trayer
	@$(TEST_ENV) scripts/with-xserver.sh $(PY) -m pytest -m xserver tests/desktop $(PYTEST_ARGS)

lint: install ## ruff, formatting, mypy and the import-layer contracts
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check --quiet .
	@$(VENV)/bin/mypy
	@$(VENV)/bin/lint-imports --no-cache

format: install ## Fix what ruff can fix and format the code
	@$(VENV)/bin/ruff check --fix .
	@$(VENV)/bin/ruff format .

clean: ## Remove the virtualenv, tool and build folders
	rm -rf $(VENV) $(TOOLS) build dist .mypy_cache .ruff_cache
