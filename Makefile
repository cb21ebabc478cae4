# Two entry points for a fresh machine: `make quickstart` and `make test`. Both create .venv and
# install the pinned project into it first (once; again when pyproject.toml changes).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install quickstart test test-unit lint docs clean

install: $(STAMP)

# pip is quiet (its output for ~150 packages buries everything else), so say what happens and how long it took.
$(STAMP): pyproject.toml
	@echo "Installing ncsweep and its pinned dependencies (torch, Ray, MLflow, timm, ...) into $(VENV):"
	@echo "  about 2 minutes and 7 GB on a fresh machine, once (again only when pyproject.toml changes)."
	@start=$$(date +%s); \
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV); \
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]' || exit 1; \
	echo "Installed in $$(( $$(date +%s) - start )) s."
	@touch $(STAMP)

quickstart: $(STAMP)
	@echo "Running sweeps/quickstart.yaml: 6 trials of 30 epochs on the bundled digits (about 30 s on 2 cores)."
	$(BIN)/ncsweep run sweeps/quickstart.yaml

# Two workers that take tests as they free up (much of an integration test is waiting on Ray, MLflow,
# Slurm or PostgreSQL processes); each worker has its own HOME and Ray folder (tests/conftest.py).
test: $(STAMP) lint
	$(BIN)/python -m pytest tests -n 2 --dist worksteal --durations=20

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
