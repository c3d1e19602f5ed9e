# The developer's front door. `make run` and `make test` set up what they need.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | cksum | cut -d' ' -f1)
CDK_CLI := aws-cdk@2.1148.1
LAMBDA_PLATFORM := --python-platform aarch64-manylinux2014 --python-version 3.14
# The layer is third-party code like the venv's, so it lives in .venv (scanned as little as the venv).
LAYER_DIR := $(VENV)/lambda-layer
LAYER_ZIP := $(VENV)/lambda-layer.zip
LAYER := $(VENV)/.layer-zip-$(shell cksum < requirements-lambda.txt | cut -d' ' -f1)
# checkov scans the synthesized templates (tests/infra/test_checkov.py); its pins clash with ours,
# so it has a virtualenv of its own.
CHECKOV_VENV := $(VENV)/checkov
CHECKOV := $(CHECKOV_VENV)/.installed-$(shell cksum < requirements-checkov.txt | cut -d' ' -f1)
# jsii runs on the machine's Node 20, past its end of life: it works, quietly.
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

help: ## list the targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check uv
	@$(BIN)/uv pip install -q --python $(BIN)/python -r requirements.lock
	@$(BIN)/uv pip install -q --python $(BIN)/python --no-deps -e .
	@rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP) ## create .venv with the pinned dependencies

run: $(STAMP) ## start the whole system locally with demo data (Ctrl-C or SIGTERM stops it)
	@exec $(BIN)/dangol-local up

demo: $(STAMP) ## play the product's stories through the console on the simulated clock (starts the local system if none is running)
	@$(BIN)/dangol demo

# USER is also the login name in every shell's environment: only USER=... on make's command line counts.
token: $(STAMP) ## a fresh token of the running system: make token ROLE=marketing | ROLE=machine (a till's) | USER=jisoo [ACCESS=1]
	@$(BIN)/dangol-local token $(ROLE) $(if $(filter command line,$(origin USER)),--user $(USER)) $(if $(ACCESS),--access)

# The quick static checks: ruff (lint + format) and the import contracts.
STATIC := $(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/lint-imports --no-cache --no-logo

lint: $(STAMP) ## ruff (lint + format check), mypy and the import contracts (lint-imports)
	$(STATIC)
	$(BIN)/mypy

fmt: $(STAMP) ## format and auto-fix
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# One target per test tier (tests/README.md: what belongs where, and each tier's time budget). The
# unit tier runs in one process: two workers would each spend 5 s collecting it, for 25 s of tests.
PYTEST_TIER := $(BIN)/pytest -n 2 --dist loadgroup -q

check: lint unit ## before a commit, in under a minute: lint, types, import contracts and the unit tier

unit: $(STAMP) ## the unit tier: logic, models and shared code, sockets off
	$(BIN)/pytest -p no:xdist -q tests/unit

integration: $(STAMP) ## the integration tier: every function's real entry point on moto, in-process
	$(PYTEST_TIER) tests/integration

e2e: $(STAMP) ## the end-to-end tier: the local runtime (dangol-local) driven over HTTP
	$(PYTEST_TIER) tests/e2e

infra: $(LAYER) $(CHECKOV) ## the infra tier: synthesized templates (cdk-nag, cfn-lint, checkov, limits) and CI workflows
	$(PYTEST_TIER) tests/infra tests/ci

.PHONY: check unit integration e2e infra

test: $(STAMP) $(LAYER) $(CHECKOV) ## everything CI runs: lint, types, unit, integration, e2e, infra (synth, cdk-nag, cfn-lint, checkov)
	$(STATIC)
	@# mypy (a minute on a fresh clone) runs beside the tests, which leave part of the cores idle
	@$(BIN)/mypy > $(VENV)/mypy.log 2>&1 & types=$$!; \
	$(BIN)/pytest -n 2 --dist loadgroup; tests=$$?; \
	wait $$types; typed=$$?; echo "mypy: $$(tail -1 $(VENV)/mypy.log)"; \
	if [ $$typed -ne 0 ]; then cat $(VENV)/mypy.log; fi; exit $$(( tests || typed ))

$(CHECKOV): requirements-checkov.txt $(STAMP)
	@rm -rf $(CHECKOV_VENV)
	@$(BIN)/uv venv -q --python $(BIN)/python $(CHECKOV_VENV)
	@$(BIN)/uv pip install -q --python $(CHECKOV_VENV)/bin/python -r requirements-checkov.txt
	@touch $@

$(LAYER): requirements-lambda.txt $(STAMP)
	@rm -rf $(LAYER_DIR) $(LAYER_ZIP) $(VENV)/.layer*
	@$(BIN)/uv pip install -q --target $(LAYER_DIR)/python $(LAMBDA_PLATFORM) --only-binary :all: --no-deps \
		-r requirements-lambda.txt
	@rm -rf $(LAYER_DIR)/python/bin $(LAYER_DIR)/python/.lock
	@find $(LAYER_DIR) -name __pycache__ -prune -exec rm -rf {} +
	@# Bytecode by the runtime's Python (DANGOL_LAMBDA_PYTHON or python3.14), else none: infra/packaging.py
	@$(BIN)/python -m infra.packaging compile-layer $(LAYER_DIR)/python
	@$(BIN)/python -m infra.packaging zip-layer $(LAYER_DIR) $(LAYER_ZIP) >/dev/null
	@touch $@

layer: $(LAYER) ## build the Lambda dependency layer (Powertools, pydantic) for arm64 / Python 3.14

synth: $(LAYER) ## synthesize the CloudFormation templates of every stage into cdk.out/ (offline)
	$(BIN)/python -m infra.app

bootstrap: $(STAMP) ## once per AWS account, by its administrator: CDK bootstrap, OIDC, deploy roles: make bootstrap ACCOUNT=dev
	@$(BIN)/python -m infra.bootstrap args "$(ACCOUNT)" >/dev/null
	@$(MAKE) --no-print-directory synth
	args="$$($(BIN)/python -m infra.bootstrap args "$(ACCOUNT)")" && npx --yes $(CDK_CLI) bootstrap --app cdk.out $$args
	npx --yes $(CDK_CLI) deploy --app cdk.out "dangol-account-$(ACCOUNT)/*"
	@$(BIN)/python -m infra.bootstrap github "$(ACCOUNT)"

diff: synth ## what deploying a stage would change, against its deployed stacks (read-only): make diff STAGE=dev
	npx --yes $(CDK_CLI) diff --app cdk.out "dangol-$(or $(STAGE),dev)/*" --method template

deploy: synth ## deploy a stage with the pinned CDK CLI: make deploy STAGE=dev (needs AWS credentials)
	npx --yes $(CDK_CLI) deploy --app cdk.out "dangol-$(or $(STAGE),dev)/*" --require-approval never

bench: $(STAMP) ## benchmarks (cold start of each handler vs its floor)
	$(BIN)/python -m bench

docs: $(STAMP) ## regenerate docs/reference/ (routes, error codes) from the code
	$(BIN)/python -m infra.docs
.PHONY: docs

lock: ## re-resolve requirements.lock from pyproject.toml
	@test -x $(BIN)/uv || { $(PYTHON) -m venv $(VENV) && $(BIN)/python -m pip install -q uv; }
	$(BIN)/uv pip compile -q pyproject.toml --extra dev --python-version 3.11 -o requirements.lock
	$(BIN)/uv pip compile -q pyproject.toml $(LAMBDA_PLATFORM) -o requirements-lambda.txt \
		$(foreach p,boto3 botocore s3transfer urllib3 python-dateutil six,--no-emit-package $(p))
	echo "checkov==$$(sed -n 's/^checkov==//p' requirements-checkov.txt)" | $(BIN)/uv pip compile -q - \
		--python-version 3.11 -o requirements-checkov.txt --custom-compile-command "make lock"

clean: ## remove the virtualenv, caches and build output
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache cdk.out .build .hypothesis .dangol
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

.PHONY: help install run demo token lint fmt test layer synth bootstrap diff deploy bench lock clean
