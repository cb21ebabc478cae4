# Two entry points for a fresh machine: `make quickstart` and `make test`. Both create .venv and
# install the pinned project into it first (once; again when pyproject.toml changes).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install quickstart test test-unit lint docs clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

quickstart: $(STAMP)
	$(BIN)/ncsweep run sweeps/quickstart.yaml

test: $(STAMP) lint
	$(BIN)/python -m pytest tests

# The inner loop: everything but the tests that start Ray / MLflow server processes.
test-unit: $(STAMP)
	$(BIN)/python -m pytest tests -m "not integration"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The tables of registered names and keys in docs/ (tests/test_listing.py fails while they are stale).
docs: $(STAMP)
	$(BIN)/python -m orchestrator.output.listing docs/plugins.md docs/metrics.md

clean:
	rm -rf $(VENV) mlruns mlflow.db ncsweep_results .pytest_cache
