# Reinstall only when pyproject.toml changes (the stamp records the last install).
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed-stamp

# The ephemeral Prefect server needs more than the default startup time on 2 cores.
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS ?= 90

.PHONY: run test

run: $(STAMP)
	$(VENV)/bin/python flows.py

test: $(STAMP)
	$(VENV)/bin/python -m pytest

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(VENV)/bin/python -m pip install -q -e '.[test]'
	touch $@

# Speed and memory on a synthetic corpus (bench/run.py): figures to stdout and
# output/bench.json. BENCH_MB sets the corpus size (default 20 MB, about 5 minutes).
.PHONY: bench
bench: $(STAMP)
	$(VENV)/bin/python -m bench.run $(if $(BENCH_MB),--mb $(BENCH_MB))

# Rule checks, evaluation, a full rerun and the scheduled deployment (README:
# "Incremental runs", "Checking rules", "Evaluation", "Deployment").
GOLD ?= ../shared/gold/seeds.jsonl

.PHONY: check evaluate full serve

check: $(STAMP)
	$(VENV)/bin/python flows.py check

evaluate: $(STAMP)
	$(VENV)/bin/python flows.py evaluate --gold $(GOLD)

full: $(STAMP)
	$(VENV)/bin/python flows.py --full

serve: $(STAMP)
	$(VENV)/bin/python deploy.py
