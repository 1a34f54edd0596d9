# The book's two commands: `make book` and `make test` (`make help` lists every target).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PROFILE ?= quick
# FORCE=1: execute every chapter again, even those up to date
FORCE ?=
BUILD_FLAGS := --profile $(PROFILE) $(if $(filter 1,$(FORCE)),--force)

# seeds recorded by `make seeds` (the claims ledger's seeds column)
SEEDS ?= 0 1 2

# The environment: LOCK pins it for every supported platform (Linux x86-64 and macOS arm64,
# Python 3.10 to 3.12); requirements.txt holds its pins on the reference platform, Linux x86-64
# with Python REFERENCE_PYTHON, where CI runs and the book's numbers are recorded.
LOCK := requirements-universal.txt
REFERENCE_PYTHON := 3.11.7
# CPU=1: PyTorch from its CPU-only wheel index, without the CUDA libraries of PyPI's Linux build
CPU ?=
TORCH_CPU_INDEX ?= https://download.pytorch.org/whl/cpu
# the lock's packages that only the CUDA build of PyTorch needs
CUDA_ONLY := ^(nvidia-|cuda-|triton==)
CPU_FILES := $(VENV)/requirements-torch.txt $(VENV)/requirements-cpu.txt

# `make lock` resolves with uv, installed into a virtual environment of its own; it keeps every
# pin that still fits pyproject.toml (UPGRADE=1: the newest versions instead)
UV_VERSION ?= 0.13.9
UV_VENV ?= _build/uv
UPGRADE ?=
COMPILE := $(UV_VENV)/bin/uv pip compile pyproject.toml --extra book --extra test --quiet \
	--no-header $(if $(filter 1,$(UPGRADE)),--upgrade)
# $(call compile,FILE,OPTIONS): write FILE with uv, keeping its leading comment lines
compile = { grep '^\#' $(1) || true; } > $(1).header && $(COMPILE) $(2) -o $(1) \
	&& cat $(1).header $(1) > $(1).new && mv $(1).new $(1) && rm $(1).header

.PHONY: book test dryrun unit lint teaching students seeds env lock clean help

book: env  ## execute the changed chapters (PROFILE=quick|full, FORCE=1: all), build _build/html
	$(PY) -m deepinside.book.build $(BUILD_FLAGS)

test: lint book dryrun  ## style, the book, the dry run, then the unit tests and the claims' checks
	$(PY) -m pytest

dryrun: env  ## the full profile's code on stand-in data and models, on a CPU in minutes
	$(PY) -m deepinside.book.build --standin

lint: env  ## ruff: lint and formatting (configured in pyproject.toml; see CONTRIBUTING.md)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

unit: env  ## unit tests only (no chapter execution)
	$(PY) -m pytest -m "not chapters"

seeds: env  ## execute the book for SEEDS="0 1 2" and record each claim's values (the ledger)
	$(PY) -m deepinside.book.seeds --seeds $(SEEDS) --profile $(PROFILE)

teaching: env  ## student and instructor copies of the chapters, into _build/teaching
	$(PY) -m deepinside.book.teaching

students: env  ## derive the chapters' cell metadata; write chapters/students/ and the Teaching table
	$(PY) -m deepinside.book.cells
	$(PY) -m deepinside.book.teaching --students

env: $(VENV)/.installed  ## the virtual environment .venv from the lock (CPU=1: PyTorch without CUDA)

$(VENV)/.installed: $(LOCK) pyproject.toml $(if $(filter 1,$(CPU)),$(CPU_FILES))
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(if $(filter 1,$(CPU)),$(PY) -m pip install --quiet --no-deps --index-url $(TORCH_CPU_INDEX) \
		-r $(VENV)/requirements-torch.txt)
	$(PY) -m pip install --quiet -r $(if $(filter 1,$(CPU)),$(VENV)/requirements-cpu.txt,$(LOCK))
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

# CPU=1: torch and torchvision at the lock's versions from the CPU index (`==2.15.0` is met by
# 2.15.0+cpu), then the rest of the lock without what only the CUDA build needs
$(VENV)/requirements-torch.txt: $(LOCK)
	mkdir -p $(VENV)
	grep -E '^(torch|torchvision)==' $(LOCK) > $@

$(VENV)/requirements-cpu.txt: $(LOCK)
	mkdir -p $(VENV)
	grep -v -E '$(CUDA_ONLY)|^ *#' $(LOCK) > $@

$(UV_VENV)/bin/uv:
	$(PYTHON) -m venv $(UV_VENV)
	$(UV_VENV)/bin/python -m pip install --quiet uv==$(UV_VERSION)

lock: $(UV_VENV)/bin/uv  ## re-resolve the lock and requirements.txt with uv (UPGRADE=1: newest)
	$(call compile,$(LOCK),--universal --python-version 3.10)
	$(call compile,requirements.txt,--no-annotate -c $(LOCK) \
		--python-platform x86_64-unknown-linux-gnu --python-version $(REFERENCE_PYTHON))

clean:  ## remove build outputs (not the environment, not the cache of trained networks)
	rm -rf _build

help:  ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z]+:.*## / {printf "make %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
