# The book's two commands: `make book` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PROFILE ?= quick

.PHONY: book test unit teaching env lock clean

book: env  ## environment, execute every chapter (PROFILE=quick|full), build _build/html
	$(PY) -m deepinside.build --profile $(PROFILE)

test: book  ## the book, then the unit tests and the checks of the chapters' claims
	$(PY) -m pytest

unit: env  ## unit tests only (no chapter execution)
	$(PY) -m pytest -m "not chapters"

teaching: env  ## student and instructor copies of the chapters, into _build/teaching
	$(PY) -m deepinside.teaching

env: $(VENV)/.installed

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
