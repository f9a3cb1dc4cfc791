# hapair.keepalived: `make venv`, `make test`, `make lint` (see README).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PYTEST := $(BIN)/pytest

.PHONY: venv test unit integration lint clean

venv: $(VENV)/.stamp

$(VENV)/.stamp: daemon/pyproject.toml requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements-dev.txt -e daemon
	touch $@

test: venv unit integration lint

unit: venv
	$(PYTEST) -q daemon/tests tests/unit

integration: venv
	$(PYTEST) -q tests/integration

lint: venv
	$(BIN)/ruff check daemon lab bench tests

clean:
	rm -rf $(VENV) tests/output .ansible
