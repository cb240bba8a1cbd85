# The two commands a user needs: `make dev` (whole stack) and `make test` (whole suite).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install test-tools lint format dev test bench worker api clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	touch $(STAMP)

# The API's own dependencies and nothing else, as the Dockerfile installs them: benchmarks
# run the API process in it, so its memory is a deployed API's, without what the test
# tools bring along (structlog imports rich and greenlet when they are installed).
API_VENV  := .venv-api
API_STAMP := $(API_VENV)/.installed

$(API_STAMP): pyproject.toml
	$(PYTHON) -m venv $(API_VENV)
	$(PYTHON) -c "import tomllib; print('\\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
		> $(API_VENV)/requirements.txt
	$(API_VENV)/bin/python -m pip install --quiet -r $(API_VENV)/requirements.txt
	touch $(API_STAMP)

install: $(STAMP)

## Run Temporal (dev server + UI), Valkey, the worker and the API in one terminal.
dev: $(STAMP)
	$(PY) scripts/dev.py

## What pip cannot bring (chromium, Node.js/npm): installed from Debian's packages when missing.
test-tools:
	bash scripts/test_tools.sh

## ruff, the one formatter and linter: the code must be formatted and lint-clean.
lint: $(STAMP)
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .

## Format and fix what ruff can fix by itself.
format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

## Run the whole test suite against real servers the harness starts (after lint).
# The Redis-touching modules again, against a three-primary Valkey cluster with replicas.
CLUSTER_TESTS = tests/test_cluster.py tests/test_agent_bridge.py tests/test_websocket_fanout.py \
	tests/test_http_tracking.py tests/test_schedules.py tests/test_actor.py tests/test_lifecycle.py \
	tests/test_queued_calls.py

test: $(STAMP) test-tools lint
	$(PY) -m pytest $(PYTEST_ARGS)
	TEST_REDIS=cluster $(PY) -m pytest $(CLUSTER_TESTS) $(PYTEST_ARGS)

## Benchmarks side by side with raw temporalio (own servers); writes bench/results.json and .png.
## BENCH_ARGS=--quick is the smoke run; BENCH_ARGS="--only latency_to_client" picks some.
bench: $(STAMP) $(API_STAMP)
	$(PY) -m bench.run $(BENCH_ARGS)

worker: $(STAMP)
	$(PY) worker.py

api: $(STAMP)
	$(PY) api.py

clean:
	rm -rf $(VENV) $(API_VENV) .pytest_cache test-output
