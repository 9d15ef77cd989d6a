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
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
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
# "Editing the rules", "Scheduling").
.PHONY: check evaluate full serve

check: $(STAMP)
	$(VENV)/bin/python flows.py check

# Extract the sample reports and the shared corpus of real reports, grade both
# against their gold files, and fail below the quality floor: today's figures,
# rounded down, so that a rule edit that loses quality cannot land.
SHARED ?= ../shared
SAMPLE_FLOOR := exact_f1=0.99 dimension=0.99 qualifier=0.99 type=0.99 region=0.97 period=0.95 metric=0.92
CORPUS_FLOOR := exact_f1=0.97 dimension=0.99 qualifier=0.99 type=0.96 region=0.93 period=0.95 metric=0.92

evaluate: $(STAMP)
	$(VENV)/bin/python flows.py --raw raw --output output
	$(VENV)/bin/python flows.py evaluate --gold $(SHARED)/gold/seeds.jsonl --output output --per-report \
		$(addprefix --floor ,$(SAMPLE_FLOOR))
	$(VENV)/bin/python flows.py --raw $(SHARED)/corpus/raw --output corpus-output
	$(VENV)/bin/python flows.py evaluate --gold $(SHARED)/corpus/gold.jsonl --output corpus-output --per-report \
		$(addprefix --floor ,$(CORPUS_FLOOR))

full: $(STAMP)
	$(VENV)/bin/python flows.py --full

serve: $(STAMP)
	$(VENV)/bin/python deploy.py
