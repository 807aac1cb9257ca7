# Madoguchi — the commands the README names. `make run` and `make test` do all set-up themselves.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Python 3.10: `python3.10` on PATH if it works, else the newest pyenv 3.10.x.
PYTHON310 ?= $(shell (python3.10 -c 'import sys' >/dev/null 2>&1 && echo python3.10) || ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.10*/bin/python3.10 2>/dev/null | sort -V | tail -n 1)
VENV := .venv
BIN := $(VENV)/bin
MODEL := models/madoguchi.tar.gz
DB := var/madoguchi.sqlite3
RASA_PORT ?= 5005
ACTION_PORT ?= 5055
KB_FILES := $(shell find data/kb -type f 2>/dev/null)
NLU_FILES := $(shell find data/nlu -type f -name '*.yml' -not -path '*/generated/*' 2>/dev/null)
export MADOGUCHI_DB_URL ?=
# No telemetry or error reports to Rasa's servers (the network is closed here, and they are not ours to send).
export RASA_TELEMETRY_ENABLED := false

.PHONY: help system install kb train run test eval nlu-cv vendor-web cluster load lint clean

help:
	@echo "make run   — set up, build the knowledge base, train if needed, serve on http://localhost:$(RASA_PORT)"
	@echo "make test  — set up, build, train, run the whole test suite"
	@echo "make eval  — QA accuracy and latency on the public sample and eval/madoguchi_qa.yml (actions in process and in the action server)"
	@echo "make nlu-cv — cross-validated intent macro-F1 and entity F1"
	@echo "make lint  — ruff (bot, actions, devtools, tests, bench) and mypy (bot, actions); fails on any finding"

$(BIN)/.installed: requirements.lock pyproject.toml
	@test -n "$(PYTHON310)" || { echo "Python 3.10 が見つかりません (python3.10 / pyenv)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON310) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip<24.1"
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

install: $(BIN)/.installed

# The database and the lookup tables generated from it.
$(DB) data/nlu/generated/kb_lookups.yml &: $(BIN)/.installed $(KB_FILES) data/thesaurus.yml $(wildcard bot/kb/*.py)
	$(BIN)/madoguchi kb build
	$(BIN)/madoguchi nlu generate
	touch $(DB)

kb: $(DB)

$(MODEL): $(BIN)/.installed data/nlu/generated/kb_lookups.yml $(NLU_FILES) data/rules.yml domain.yml config.yml $(shell find bot/nlp -name "*.py")
	$(BIN)/rasa train --fixed-model-name madoguchi --out models
	touch $@

train: $(MODEL)

run: $(DB) $(MODEL)
	@bash scripts/run.sh

# Debian's chromium and a CJK font for the browser tests: installed when missing (as root), before anything else.
system:
	@bash scripts/system-packages.sh

test: system $(DB) $(MODEL)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# QA benchmark (public sample + our evaluation set) against a freshly started guide.
eval: $(DB) $(MODEL)
	@bash scripts/eval.sh

# Cross-validated intent macro-F1 and entity F1 (5 folds; trains 5 models, ~10 minutes).
nlu-cv: $(DB) $(MODEL)
	$(BIN)/python bench/nlu_cv.py --folds 5

# Two Rasa servers + action server on PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379); Ctrl-C stops all.
cluster: $(DB) $(MODEL)
	$(BIN)/python -m devtools.cluster $(CLUSTER_ARGS)

# Load benchmark (not a test): 1 and 2 Rasa processes at 1, 10 and 50 users.
load: $(DB) $(MODEL)
	$(BIN)/python bench/load.py --start 1,2 --users 1,10,50 --duration 30

# Refresh web/vendor/ (socket.io-client) from web/package-lock.json; needs npm, not used by run/test.
vendor-web:
	cd web && npm ci --no-audit --no-fund && npm run vendor

# ruff and mypy, pinned in requirements-dev.lock; fails on any finding (.ci/run runs it).
$(BIN)/.dev-installed: $(BIN)/.installed requirements-dev.lock
	$(BIN)/python -m pip install --quiet -r requirements-dev.lock
	touch $@

lint: $(BIN)/.dev-installed
	$(BIN)/ruff check bot actions devtools tests bench
	$(BIN)/mypy

clean:
	rm -rf models var .rasa results
