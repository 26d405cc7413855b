# Every target bootstraps its own virtualenv from nothing, so a fresh machine needs only Python 3.11 and pip.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Real SQS clients for the wire tests of `consumerkit serve` (tests/engine/server/test_clients.py), installed into
# the venv at setup so the tests never need the network: botocore 1.34.89 (the last to speak SQS's query protocol),
# the AWS CLI (with the botocore it pins) and the JS v3 SDK. Pinned, so that a new release cannot break the tests;
# reinstalled when this file changes.
CLIENTS := $(VENV)/clients
CLIENTS_STAMP := $(VENV)/.clients

.PHONY: run test lint typecheck pytest bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(CLIENTS_STAMP): Makefile | $(STAMP)
	rm -rf $(CLIENTS)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --target $(CLIENTS)/botocore-query 'botocore==1.34.89'
	PYTHONPATH=$(CLIENTS)/botocore-query $(BIN)/python -c "import botocore.session as s; \
	    p = s.get_session().get_service_model('sqs').protocol; assert p == 'query', p"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --target $(CLIENTS)/awscli 'awscli==1.46.3'
	PYTHONPATH=$(CLIENTS)/awscli $(BIN)/python -m awscli --version
	npm install --prefix $(CLIENTS)/node --no-audit --no-fund --loglevel=error @aws-sdk/client-sqs@3.1175.0
	touch $@

# The video-encoding example end to end on the embedded engine (examples/video_encoder/README.md): it renders test
# clips, encodes them with ffmpeg, dead-letters two bad jobs, stops by itself and prints where the outputs went.
run: $(STAMP)
	$(BIN)/python -m examples.video_encoder

lint: $(STAMP)
	$(BIN)/ruff check consumerkit tests bench examples
	$(BIN)/ruff format --check consumerkit tests bench examples

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP) $(CLIENTS_STAMP)
	$(BIN)/python -m pytest -q

test: lint typecheck pytest

bench: $(STAMP)
	$(BIN)/python bench/engine.py
	$(BIN)/python bench/wire.py
	$(BIN)/python bench/consume.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
