# Fresh-machine entry points.  `make test` and `make demo` create .venv themselves.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
GC := $(VENV)/bin/geroconvert
STAMP := $(VENV)/.installed

.PHONY: venv test demo reference docs clean

venv: $(STAMP)

# (re)install whenever the package metadata changes
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test,cluster]"
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest -q

demo: $(STAMP)
	$(GC) run configs/ht_p21.toml -o out/ht_p21.h5 --overwrite
	$(GC) info out/ht_p21.h5

# print the config reference; `make docs` rewrites the README's copy of it
reference: $(STAMP)
	$(GC) reference

docs: $(STAMP)
	$(GC) reference --update README.md

clean:
	rm -rf $(VENV) out
