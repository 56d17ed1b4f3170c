# Fresh-machine entry points.  `make test` and `make demo` create .venv themselves.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
GC := $(VENV)/bin/geroconvert
STAMP := $(VENV)/.installed

.PHONY: venv browser lint test test-unit demo reference docs clean

venv: $(STAMP)

# (re)install whenever the package metadata changes
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test,cluster,web,bayes]"
	touch $(STAMP)

# Chromium (Debian), Playwright's driver and the web page's JavaScript, for the browser test
browser: $(STAMP)
	bash scripts/install-browser.sh $(VENV)

test: $(STAMP)
	$(PY) -m pytest -q

# the fast unit tests alone (under a minute): no subprocesses, no long runs
test-unit: $(STAMP)
	$(PY) -m pytest -q -m unit

# ruff (lint and format) and mypy on everything that is not a numba kernel
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# the rapamycin dose sweep on the default config: an HDF5 archive and figures in out/
demo: $(STAMP)
	$(GC) sweep configs/rapamycin_dose_sweep.toml -o out/rapamycin_dose_sweep.h5 --overwrite
	$(GC) report out/rapamycin_dose_sweep.h5 -o out/rapamycin_dose_sweep --overwrite
	@echo "figure: out/rapamycin_dose_sweep/dose_response_rapamycin.png"

# print the config reference; `make docs` rewrites the README's copy of it
reference: $(STAMP)
	$(GC) reference

docs: $(STAMP)
	$(GC) reference --update README.md

clean:
	rm -rf $(VENV) out
