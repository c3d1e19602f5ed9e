# The developer's front door. `make run` and `make test` set up what they need.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | cksum | cut -d' ' -f1)
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check uv
	@$(BIN)/uv pip install -q --python $(BIN)/python -r requirements.lock
	@$(BIN)/uv pip install -q --python $(BIN)/python --no-deps -e .
	@rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP) ## create .venv with the pinned dependencies

run: $(STAMP) ## start the whole system locally with demo data (Ctrl-C stops it)
	@$(BIN)/dangol-local up

token: $(STAMP) ## print a fresh token for a demo user of the running system: make token ROLE=marketing
	@$(BIN)/dangol-local token $(or $(ROLE),customer)

lint: $(STAMP) ## ruff (lint + format check) and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

fmt: $(STAMP) ## format and auto-fix
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: lint ## everything CI runs: lint, types, unit, integration and e2e tests
	$(BIN)/pytest -n 2 --dist loadgroup

bench: $(STAMP) ## benchmarks (cold start of each handler vs its floor)
	$(BIN)/python -m bench

lock: ## re-resolve requirements.lock from pyproject.toml
	@test -x $(BIN)/uv || { $(PYTHON) -m venv $(VENV) && $(BIN)/python -m pip install -q uv; }
	$(BIN)/uv pip compile -q pyproject.toml --extra dev --python-version 3.11 -o requirements.lock

clean: ## remove the virtualenv, caches and build output
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache cdk.out .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

.PHONY: help install run token lint fmt test bench lock clean
