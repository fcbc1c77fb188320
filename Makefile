# Fynlo edge POS. `make run` and `make test` work on a fresh machine with Python 3.11+ and make;
# `make test` installs Debian's Chromium and Node.js (a test reads the relay's documents with the
# npm `yjs`) when they are missing.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DATA ?= data/demo
HOST ?= 127.0.0.1
PORT ?= 8080
RELAY_DATA ?= data/relay
RELAY_PORT ?= 8090
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
NPM ?= $(or $(shell command -v npm),/usr/bin/npm)
# The web-page tests drive Debian's Chromium headless; `make test` installs it when missing.
CHROMIUM ?= $(or $(FYNLO_TEST_CHROMIUM),/usr/bin/chromium)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT := DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get -y -q

.PHONY: run test bench lint format schemas clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# `npm ci` installs exactly the lock's versions, and only again when the lock changed.
$(NODE_STAMP): package.json package-lock.json | $(NPM)
	$(NPM) ci --no-audit --no-fund
	touch $(NODE_STAMP)

run: $(STAMP)
	$(BIN)/python tools/demo_stack.py --data $(DATA) --relay-data $(RELAY_DATA) --host $(HOST) --port $(PORT) --relay-port $(RELAY_PORT)

test: $(STAMP) $(NODE_STAMP) $(CHROMIUM)
	$(BIN)/ruff check .
	FYNLO_TEST_CHROMIUM=$(CHROMIUM) $(BIN)/python -m pytest

$(CHROMIUM):
	$(APT) install chromium || ($(APT) update && $(APT) install chromium)

$(NPM):
	$(APT) install nodejs npm || ($(APT) update && $(APT) install nodejs npm)

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
	rm -rf $(VENV) node_modules data build *.egg-info
