# The two commands a user needs: `make dev` (whole stack) and `make test` (whole suite).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install dev test bench worker api clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	touch $(STAMP)

install: $(STAMP)

## Run Temporal (dev server + UI), Valkey, the worker and the API in one terminal.
dev: $(STAMP)
	$(PY) scripts/dev.py

## Run the whole test suite against real servers the harness starts.
test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

## Benchmarks side by side with raw temporalio (own servers); writes bench/results.json and .png.
## BENCH_ARGS=--quick is the smoke run; BENCH_ARGS="--only latency_to_client" picks some.
bench: $(STAMP)
	$(PY) -m bench.run $(BENCH_ARGS)

worker: $(STAMP)
	$(PY) worker.py

api: $(STAMP)
	$(PY) api.py

clean:
	rm -rf $(VENV) .pytest_cache test-output
