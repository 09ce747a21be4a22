# spikekit: `make demo` and `make test` set everything up from nothing in ./.venv, then run.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.spikekit-installed
TORCH  := torch==2.13.0
# Peers for cross-checks, installed without their declared dependencies (which would pull another torch).
PEERS  := snntorch==1.0.0 spikingjelly==2.0.0 norse==1.1.0 nir==1.0.8 nirtorch==2.6 \
          tonic==1.7.0 importRosbag==1.0.4 expelliarmus==1.1.12 triton==3.9.0 sinabs==3.1.3 pbr==7.1.3
# Datasets for data tests and benchmarks (read-only; skipped when absent).
export SPIKEKIT_DATA ?= $(abspath ../shared/data)

.PHONY: setup browser demo test lint format docs docs-serve clean

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet $(TORCH)
	$(BIN)/python -m pip install --quiet -e '.[data,plot,events,dev,docs]'
	$(BIN)/python -m pip install --quiet --no-deps $(PEERS)
	$(BIN)/python -m pip install --quiet loguru
	@echo "building the C++ kernels, side by side (once per PyTorch installation, cached)"
	@$(BIN)/python -c "from spikekit.kernels import cpp; cpp.available()" & \
	  $(BIN)/python -c "from spikekit.kernels import rng; rng.available()" & \
	  $(BIN)/python -c "from spikekit.kernels import sparse; sparse.sparse_available()" & \
	  wait
	@$(BIN)/python -c "import torch, sys; v = torch.__version__; print('torch', v); sys.exit(0 if v.startswith('2.13.0') else 'a dependency replaced torch 2.13.0 with ' + v)"
	@touch $(STAMP)

demo: setup
	$(BIN)/spikekit demo

# Headless Chromium from the distribution, for the HTML report's browser test (skipped when impossible).
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium \
	  >/dev/null 2>&1; } || echo "note: chromium could not be installed; the report's browser test will skip"

test: setup browser
	$(BIN)/ruff check src tests examples
	$(BIN)/ruff format --check src tests examples
	$(BIN)/python -m pytest -q
	$(MAKE) --no-print-directory docs

lint: setup
	$(BIN)/ruff check src tests examples
	$(BIN)/ruff format --check src tests examples

format: setup
	$(BIN)/ruff format src tests examples
	$(BIN)/ruff check --fix src tests examples

# The documentation site into site/, warnings as errors (API pages from the docstrings, the CLI page from
# the parsers, the tutorials from examples/tutorials/); tests/test_docs.py runs every snippet in it.
docs: setup
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

docs-serve: setup
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve

clean:
	rm -rf $(VENV) build dist site src/*.egg-info .pytest_cache .ruff_cache
