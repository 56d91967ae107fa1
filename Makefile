# Entry points of the Gaoxin Open Platform. `make run` and `make test` work on a fresh machine.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test lint typecheck proto proto-check unit integration bench migrate image clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "needs $(PYTHON)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

install: $(STAMP) ## create .venv and install the project with its tools

run: $(STAMP) ## start everything on SQLite under .data/ with an embedded nats-server, demo data loaded
	GAOXIN_DEMO_DATA=$${GAOXIN_DEMO_DATA:-1} $(BIN)/gaoxin up

migrate: $(STAMP)
	$(BIN)/gaoxin migrate

proto: $(STAMP) ## regenerate Python code (and .pyi stubs) from proto/
	$(BIN)/python scripts/gen_proto.py

proto-check: $(STAMP) ## fail when the committed generated code differs from a fresh generation
	$(BIN)/python scripts/gen_proto.py --check

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check services tests bench scripts

typecheck: $(STAMP)
	$(BIN)/mypy

test: $(STAMP) proto-check lint typecheck ## everything CI runs
	$(BIN)/pytest -q

unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

bench: $(STAMP) ## performance figures as JSON, each beside its baseline from the same run
	@$(BIN)/python -m bench

# The container image every Kubernetes workload runs (deploy/k8s); needs a Docker engine (or `DOCKER=podman`).
IMAGE   ?= gaoxin-platform
VERSION ?= $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
DOCKER  ?= docker

image: ## build the one image of the four services: $(IMAGE):$(VERSION)
	$(DOCKER) build --build-arg VERSION=$(VERSION) -t $(IMAGE):$(VERSION) .

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
