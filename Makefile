# The two commands a user needs: `make dev` (whole stack) and `make test` (whole suite).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install lock deps-latest deps-lowest test-tools lint format docs dev test bench worker api clean

# Installed from the lock files (requirements/*.lock, written by `make lock` from
# pyproject.toml): every machine gets the versions the suite ran with.
$(STAMP): pyproject.toml requirements/dev.lock
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements/dev.lock
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# The API's own dependencies and nothing else, as the Dockerfile installs them: benchmarks
# run the API process in it, so its memory is a deployed API's, without what the test
# tools bring along (structlog imports rich and greenlet when they are installed).
API_VENV  := .venv-api
API_STAMP := $(API_VENV)/.installed

$(API_STAMP): pyproject.toml requirements/api.lock
	$(PYTHON) -m venv $(API_VENV)
	$(API_VENV)/bin/python -m pip install --quiet -r requirements/api.lock
	touch $(API_STAMP)

## Write the lock files from pyproject.toml (uv, universal: every platform's markers kept).
lock: $(STAMP)
	$(PY) -m pip install --quiet uv
	$(VENV)/bin/uv pip compile pyproject.toml --universal --python-version 3.11 --extra otel --extra ai -q -o requirements/api.lock
	$(VENV)/bin/uv pip compile pyproject.toml --universal --python-version 3.11 --extra dev --extra bench -q \
		-o requirements/dev.lock

# The tests that fail when a library we reach into changes what we rely on (docs/internals/reliability.md,
# "What we rely on"), plus the import of every module.
GUARD_TESTS = tests/test_server_protocol.py tests/test_sandbox_runner.py tests/test_library_guards.py \
	tests/test_architecture.py

## The newest versions pyproject.toml allows, in a venv of their own, and the guard tests.
deps-latest:
	rm -rf .venv-latest
	$(PYTHON) -m venv .venv-latest
	.venv-latest/bin/python -m pip install --quiet --upgrade -e '.[dev]'
	.venv-latest/bin/python -m pip list --format=freeze | grep -iE '^(temporalio|starlette|uvicorn|redis|fastapi|pydantic)=='
	.venv-latest/bin/python -m pytest -q $(GUARD_TESTS)

## The floors pyproject.toml states (uv's lowest-direct resolution), and the guard tests.
deps-lowest: $(STAMP)
	rm -rf .venv-lowest
	$(PYTHON) -m venv .venv-lowest
	$(PY) -m pip install --quiet uv
	$(VENV)/bin/uv pip compile pyproject.toml --resolution lowest-direct --python-version 3.11 --extra dev -q \
		-o .venv-lowest/requirements.txt
	.venv-lowest/bin/python -m pip install --quiet -r .venv-lowest/requirements.txt
	.venv-lowest/bin/python -m pip install --quiet --no-deps -e .
	.venv-lowest/bin/python -m pytest -q $(GUARD_TESTS)

install: $(STAMP)

## Run Temporal (dev server + UI), Valkey, the worker and the API in one terminal
## (`temporal-agents dev`; APP=myapp.agents,myapp.flows loads your app instead of the demo).
dev: $(STAMP)
	$(VENV)/bin/temporal-agents dev $(if $(APP),--app $(APP))

## The documentation site (MkDocs, strict: a broken link or reference fails) in .site/;
## `$(VENV)/bin/mkdocs serve` serves it while you edit.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet

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
	tests/test_queued_calls.py tests/test_chat.py tests/test_chat_streams.py

test: $(STAMP) test-tools lint docs
	$(PY) -m pytest $(PYTEST_ARGS)
	TEST_REDIS=cluster $(PY) -m pytest $(CLUSTER_TESTS) $(PYTEST_ARGS)

## Benchmarks side by side with raw temporalio (own servers); writes bench/results.json and .png.
## BENCH_ARGS=--quick is the smoke run; BENCH_ARGS="--only latency_to_client" picks some.
bench: $(STAMP) $(API_STAMP)
	$(PY) -m bench.run $(BENCH_ARGS)

worker: $(STAMP)
	$(VENV)/bin/temporal-agents worker $(if $(APP),--app $(APP))

api: $(STAMP)
	$(VENV)/bin/temporal-agents api $(if $(APP),--app $(APP))

clean:
	rm -rf $(VENV) $(API_VENV) .venv-latest .venv-lowest .pytest_cache test-output
