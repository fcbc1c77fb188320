# Fynlo edge POS. `make run` and `make test` work on a fresh machine with Python 3.11+ and make.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DATA ?= data/demo
HOST ?= 127.0.0.1
PORT ?= 8080
RELAY_DATA ?= data/relay
RELAY_PORT ?= 8090
STAMP := $(VENV)/.installed

.PHONY: run test bench lint format schemas clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python tools/demo_stack.py --data $(DATA) --relay-data $(RELAY_DATA) --host $(HOST) --port $(PORT) --relay-port $(RELAY_PORT)

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python -m bench

schemas: $(STAMP)
	$(BIN)/python -m shared.schemas.export

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) data build *.egg-info
