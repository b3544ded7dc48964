# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

# Serve the embedded default: SQLite, in-process queue, local object folder.
run: $(VENV)/.installed
	$(BIN)/anjian db upgrade
	$(BIN)/anjian tenants sync tenants/
	$(BIN)/anjian bootstrap
	$(BIN)/anjian serve

# The whole suite, on SQLite and on a real PostgreSQL and Redis that the tests start.
test: $(VENV)/.installed-test
	scripts/ensure-services.sh
	$(BIN)/python -m pytest

lint: $(VENV)/.installed-test
	$(BIN)/ruff check platform plugins tests bench wsgi.py worker.py

clean:
	rm -rf $(VENV) var .pytest_cache
