# One command each: `make test` (lint + the whole suite), `make demo`, `make bench`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: test lint unit demo bench bench-full kill-harness clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[ml,dev]"
	touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check capstone_cli workers tests benchmarks
	$(BIN)/ruff format --check capstone_cli workers tests benchmarks
	$(BIN)/mypy

test: lint
	$(BIN)/pytest -q

unit: $(STAMP)
	$(BIN)/pytest -q tests/unit tests/cli

demo: $(STAMP)
	$(BIN)/python -m capstone_cli.demo

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) .capstone .mypy_cache .ruff_cache .pytest_cache
