# Quick start: `make demo` then `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Real SumMe/TVSum annotations; override with `make demo SEMSUM_DATA=/path/to/data`.
SEMSUM_DATA ?= $(abspath ../shared/data)
export SEMSUM_DATA

.PHONY: install install-base bytecode demo test lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Re-installs only when pyproject.toml changes. torch is pinned first so no CUDA build is pulled in.
# The base package (CLI and library) for the demo; the extras (web app, Ray, test tools) on top for the tests.
$(VENV)/.installed-base: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed: $(VENV)/.installed-base
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $@

install-base: $(VENV)/.installed-base

install: $(VENV)/.installed

# semsum's modules byte-compiled (those changed since the last time), as a wheel install does and an editable one
# does not: where PYTHONDONTWRITEBYTECODE is set (many containers, this project's VMs) every command would otherwise
# compile them from source, 0.06-0.09 s of a 0.9-1.4 s re-run (benchmarks/RESULTS.md, session 12).
bytecode: install-base
	$(BIN)/python -m compileall -q src

# Summarizes a generated 5-scene video into demo_out/ (summary.mp4, scores.json, timeline.png),
# then prints the human-agreement rows of the paper's Table 1 from the real annotations.
demo: bytecode
	$(BIN)/semsum demo --out demo_out
	$(BIN)/semsum baseline human --dataset summe
	$(BIN)/semsum baseline human --dataset tvsum

test: install bytecode
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q -n 2

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/lint-imports
	$(BIN)/ruff format --check src tests benchmarks

clean:
	rm -rf $(VENV) .pytest_cache build src/*.egg-info
