# Reproduce four recsys competition solutions offline. `make help` lists the targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
TRACKS ?= $(notdir $(patsubst %/,%,$(wildcard notebooks/*/)))
SCALE ?=
DATA_DIR ?=
PROFILE ?= teach
EXECUTED := reports/executed

export PYTHONHASHSEED := 0
# CPU dispatch and thread counts pinned before any Python starts (shared/runtime/dispatch.py says why)
$(foreach kv,$(shell $(PYTHON) shared/runtime/dispatch.py --make),$(eval export $(kv)))

.PHONY: help setup lab reproduce lint test test-fast bench bench-sharing seed-summaries answers gpu-check notebooks test-references ci-time book clean

help: ## list the targets and variables
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  make %-10s %s\n", $$1, $$2}'
	@echo "  variables: TRACKS='$(TRACKS)' SCALE=tiny|small|full DATA_DIR=<real data folder, unset = synthetic twin>"
	@echo "             PROFILE=teach|source (source: each track's own configuration, notebooks/<track>/source.yaml) ARGS=<more pipeline options, make bench>"
	@echo "  the sources' own submissions on the real files:"
	@echo "    make reproduce PROFILE=source TRACKS=kraft_kuairec DATA_DIR=~/data/kuairec"
	@echo "    make reproduce PROFILE=source TRACKS=vk_clips DATA_DIR=~/data/vk_clips"
	@echo "    make reproduce PROFILE=source TRACKS=hse_sasrec DATA_DIR=~/data/hse"
	@echo "    make reproduce PROFILE=source TRACKS=vklab_posts DATA_DIR=~/data/vklab"

$(VENV)/.installed: pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev,spark]"
	$(PY) -m pip install --quiet --no-deps natasha==1.6.0  # only its Navec vectors (vklab_posts)
	touch $@

setup: $(VENV)/.installed ## create .venv and install the pinned packages (idempotent)

lab: setup ## open the notebooks in JupyterLab (run each track's notebooks in order; LAB_PORT=8888)
	$(PY) -m jupyterlab --ServerApp.root_dir=. --LabApp.default_url=/lab/tree/notebooks --ServerApp.ip=127.0.0.1 --ServerApp.port=$(or $(LAB_PORT),8888) $(if $(filter 0,$(shell id -u)),--allow-root)

reproduce: setup ## run every track's notebooks (default SCALE=small, PROFILE=teach), regenerate + validate submissions, write reports/summary.md
	@$(PY) -m shared.tools.runner $(TRACKS) --out $(EXECUTED) --profile $(PROFILE) -p SCALE $(or $(SCALE),small) -p DATA_DIR "$(DATA_DIR)"
	@$(PY) -m shared.tools.report $(TRACKS) --executed $(EXECUTED) --profile $(PROFILE)

lint: setup ## ruff check and ruff format --check (pyproject.toml), in seconds: make test runs it first
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

test: setup lint ## the lint gate, then all tests (unit, functional, each notebook at SCALE=tiny checked with nbval) on two workers
	$(PY) -m pytest -n 2 --dist loadscope --no-loadscope-reorder  # tests/conftest.py: the groups

test-fast: setup lint ## the lint gate and the unit tests only (not the functional and notebook groups): under two minutes on 2 cores
	$(PY) -m pytest -n 2 --dist loadscope --no-loadscope-reorder -m "not functional and not notebook"

bench: setup ## time and peak memory per stage (default SCALE=full) into benchmarks/: each pipeline's --bench and the options its track asks for (printed); scratch outputs in .bench/; ARGS: more pipeline options
	RECSYS_OUTPUT_DIR=$(CURDIR)/.bench $(PY) -m shared.tools.benchmark $(TRACKS) --scale $(or $(SCALE),full) \
	  --data-dir "$(DATA_DIR)" --profile $(PROFILE) --bench-dir $(CURDIR)/benchmarks --args "$(ARGS)"

bench-sharing: setup ## a LightGBM and a torch training step alone and beside a one-core busy loop, per OpenMP wait policy, into benchmarks/core-sharing.csv (ARGS='--command CMD --label L': a whole command)
	@$(PY) -m shared.tools.sharing $(ARGS)

seed-summaries: setup ## maintainers: rewrite benchmarks/*-seeds-summary.csv from the committed per-seed records with each track's seed_summary (no retraining)
	@$(PY) -m shared.track.cli seed-summaries

answers: setup ## maintainers: run each track's exercises (ONLY='02_als_lightgbm:1 ...' for some) on twins of their own in .answers/ and record the answers in benchmarks/answers-<track>.json, which the notebooks' closing cells show
	@$(PY) -m shared.track.registry $(TRACKS)
	RECSYS_OUTPUT_DIR=$(CURDIR)/.answers $(PY) -m shared.course.answers $(TRACKS) --record-dir $(CURDIR)/benchmarks $(if $(ONLY),--only $(ONLY))

gpu-check: setup ## each torch model at its full scale on CUDA: rows/s and peak memory into benchmarks/gpu-check.csv (ARGS=--twice: two runs compared byte for byte; no GPU: one line, exit 0)
	@$(PY) -m shared.tools.gpu_check $(TRACKS) $(if $(SCALE),--scale $(SCALE)) $(ARGS)

notebooks: setup ## maintainers: re-execute the committed notebooks (the primer first) in place with their default parameters
	@$(PY) -m shared.tools.runner $(TRACKS) --in-place --primer
	@$(PY) -m shared.tools.report $(TRACKS) --executed notebooks --readme

test-references: setup ## maintainers: run the notebooks at SCALE=tiny (tiny.yaml) and record their checked outputs, which make test compares, in tests/<track>/notebook_outputs.json
	@$(PY) -m shared.tools.nbcheck $(TRACKS)

ci-time: setup ## maintainers: clone HEAD, run .ci/run there as CI does, record tests and time in benchmarks/ci-times.csv and the README
	@$(PY) -m shared.tools.ci_time

book: setup ## the course site from the executed notebooks (the committed ones; MkDocs Material + mkdocs-jupyter): reports/book/index.html, sidebar and search, opens offline
	@$(PY) -m shared.tools.book $(TRACKS)

clean: ## remove generated data, artifacts, reports, bench scratch and .venv
	rm -rf data artifacts reports .bench .answers $(VENV) .pytest_cache
