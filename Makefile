# Two commands a new machine needs: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# DVC's usage reports would try to leave the machine; nothing here sends them.
export DVC_NO_ANALYTICS := 1
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: run test test-fast install lint typecheck imports mlplat-lint pytest pipeline data clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev,serve]'
	rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

## make run: install, then run the bundled example end to end (embedded sqlite MLflow store)
run: install
	$(BIN)/mlplat run +experiment=churn_baseline

## make test: install with the dev extra, then every quality gate and the whole test suite
test: install lint typecheck imports mlplat-lint pytest pipeline

## the declarations' conventions (`mlplat lint`), checked with the code quality gates
mlplat-lint: install
	$(BIN)/mlplat lint

## after the tests: dvc.yaml/params.yaml match conf/, then DVC reproduces the example pipeline
pipeline: install
	$(BIN)/mlplat compile --check
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/dvc repro

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

imports: install
	$(BIN)/lint-imports

pytest: install
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

## make test-fast: the tests that neither train a model nor start a server (`-m "not slow"`),
## one pytest-xdist worker per core
test-fast: install
	$(BIN)/python -m pytest -q -m "not slow" -n auto $(PYTEST_ARGS)

## make data: regenerate the bundled example data (seeded, so the file does not change)
data: install
	$(BIN)/python -m mlplat.example.churn data/churn.csv

clean:
	rm -rf artifacts .mlplat mlflow.db mlruns mlartifacts
