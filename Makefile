# One-command entry points. Needs only Python 3.11 on PATH.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup run test lint bench bench-full clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found; set PYTHON=/path/to/python3.11" >&2; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP)

## make run: run the winnow-etl flow on seeds/ into output/ (embedded Prefect, no server needed)
run: $(STAMP)
	$(VENV)/bin/winnow run seeds --output output

## make test: lint, then the whole test suite (real Prefect flows included)
test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m pytest

## make bench: quick mode (tiny corpus, seconds); make bench-full: 100k and 1M lines (~6 min)
bench: $(STAMP)
	$(PY) benchmarks/bench_pipeline.py --quick

bench-full: $(STAMP)
	$(PY) benchmarks/bench_pipeline.py --json benchmarks/out/results.json

clean:
	rm -rf $(VENV) output
