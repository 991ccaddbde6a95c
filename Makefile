# One command each: `make test` (lint + the whole suite), `make demo`, `make bench`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: test lint unit demo bench bench-scale bench-full kill-harness clean constraints

# constraints.txt pins every package to the versions CI tested, so a fresh machine gets them too.
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e ".[ml,dev,examples]"
	touch $(STAMP)

# After a change to pyproject.toml's dependencies: install without the pins, then pin what came.
constraints:
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q -e ".[ml,dev,examples]"
	{ sed -n '1,2p' constraints.txt; $(BIN)/pip freeze --exclude-editable | grep -v '^capstone'; } > constraints.tmp
	mv constraints.tmp constraints.txt
	touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check capstone_cli workers tests benchmarks
	$(BIN)/ruff format --check capstone_cli workers tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports  # the layer rules: pyproject.toml [tool.importlinter]

test: lint
	$(BIN)/pytest -q

unit: $(STAMP)
	$(BIN)/pytest -q tests/unit tests/cli

DEMO_HOME ?= .capstone
HELDOUT := testdata/offline/$(shell cut -f2 testdata/offline/heldout.tsv | head -n 1)
# More pictures of the same kind for training, drawn at demo time beside the offline set's 320
# (its 80 held-out images stay unseen): the captions' shape word needs them (benchmarks/RESULTS.md)
DEMO_DATA := out/demo-data
DEMO_EXTRA ?= 1280

# Offline: train on the synthetic set with the embedded engine, caption a held-out image.
demo: $(STAMP)
	$(BIN)/python -m workers.synth --extend testdata/offline --out $(DEMO_DATA) --count $(DEMO_EXTRA) --seed 1
	CAPSTONE_HOME=$(DEMO_HOME) $(BIN)/capstone train --tsv $(DEMO_DATA)/train.tsv --out out/model
	CAPSTONE_HOME=$(DEMO_HOME) $(BIN)/capstone predict $(HELDOUT) --out out/predictions
	@echo "expected: $$(grep -F "$$(basename $(HELDOUT))" testdata/offline/heldout.tsv | cut -f1)"

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

# The whole DAG at 1k, 10k and 50k lines over loopback HTTP, then +1%; table into RESULTS.md.
SCALE_SIZES ?= 1000,10000,50000
bench-scale: $(STAMP)
	$(BIN)/python benchmarks/bench_scale.py --sizes $(SCALE_SIZES) --write-results

# Crash consistency in full: >= 50 SIGKILLs of put/run/train at seeded points (also part of
# `make bench`); `make kill-harness KILL_SEED=7` replays seed 7. The short sample is in `make test`.
KILL_SEED ?= 1
kill-harness: $(STAMP)
	$(BIN)/python -m tests.reliability.harness --seed $(KILL_SEED) --kills 50

clean:
	rm -rf $(VENV) .capstone .mypy_cache .ruff_cache .pytest_cache .import_linter_cache
