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

.PHONY: book test unit lint teaching seeds env lock clean help

book: env  ## execute the changed chapters (PROFILE=quick|full, FORCE=1: all), build _build/html
	$(PY) -m deepinside.book.build $(BUILD_FLAGS)

test: lint book  ## style, the book, then the unit tests and the checks of the chapters' claims
	$(PY) -m pytest

lint: env  ## ruff: lint and formatting (configured in pyproject.toml; see CONTRIBUTING.md)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

unit: env  ## unit tests only (no chapter execution)
	$(PY) -m pytest -m "not chapters"

seeds: env  ## execute the book for SEEDS="0 1 2" and record each claim's values (the ledger)
	$(PY) -m deepinside.book.seeds --seeds $(SEEDS) --profile $(PROFILE)

teaching: env  ## student and instructor copies of the chapters, into _build/teaching
	$(PY) -m deepinside.book.teaching

env: $(VENV)/.installed  ## the virtual environment .venv, from requirements.txt

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

lock: env  ## re-pin requirements.txt from the current environment
	{ sed -n '1,3p' requirements.txt; $(PY) -m pip freeze --exclude-editable | grep -v '^deepinside'; } > requirements.lock
	mv requirements.lock requirements.txt

clean:  ## remove build outputs (not the environment, not the cache of trained networks)
	rm -rf _build

help:  ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z]+:.*## / {printf "make %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
