# The two commands of the README: `make run` and `make test`.
#
# Dependencies come from one lock file, uv.lock, made by `make lock` (uv lock) from
# pyproject.toml. make, CI (.ci/run runs `make test`) and deploy/Dockerfile install
# exactly what it lists; an install stops when pyproject.toml changed and the lock was
# not made again (--locked).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# uv reads and writes the lock. Pinned (the lock's format follows uv's version), and
# installed from PyPI with pip into a small venv of its own inside $(VENV), so that
# syncing $(VENV) never removes it and `make clean` does.
UV_VERSION := 0.13.9
UV := $(VENV)/.uv/bin/uv
# Into $(VENV), with the interpreter $(PYTHON) made it with: uv never downloads a Python.
# The project itself is installed editable (platform/ and plugins/ importable, the
# `anjian` command and the plugins' entry points registered).
# --compile-bytecode: every process the tests and `make run` start (web, workers, the
# scheduler) would otherwise compile the libraries anew where PYTHONDONTWRITEBYTECODE is
# set (3-5 s each).
SYNC := UV_PROJECT_ENVIRONMENT=$(VENV) UV_PYTHON_DOWNLOADS=never $(UV) sync --locked --compile-bytecode

.PHONY: run test lint lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(UV):
	$(PYTHON) -m venv $(VENV)/.uv
	$(VENV)/.uv/bin/python -m pip install --quiet uv==$(UV_VERSION)

# Runtime dependencies only. --inexact: a venv that has the test extra keeps it.
$(VENV)/.installed: pyproject.toml uv.lock | $(BIN)/python $(UV)
	$(SYNC) --inexact
	touch $@

# Runtime and the test extra, exactly as locked: anything else in the venv is removed.
$(VENV)/.installed-test: pyproject.toml uv.lock | $(BIN)/python $(UV)
	$(SYNC) --extra test
	touch $@

# Serve the embedded default: an embedded PostgreSQL under var/, in-process queue, local
# object folder.
run: $(VENV)/.installed
	$(BIN)/anjian embedded

# The whole suite, on a real PostgreSQL and Redis that the tests start. In parallel, one
# pytest-xdist worker per core (at most 4), each with its own servers and database; the
# tests of one xdist_group (the whole-stack test) stay on one worker.
test: $(VENV)/.installed-test
	scripts/ensure-services.sh
	$(BIN)/python -m pytest -n auto --maxprocesses=4 --dist loadgroup

lint: $(VENV)/.installed-test
	$(BIN)/ruff check platform plugins tests bench wsgi.py worker.py

# After changing the dependencies in pyproject.toml: resolve them again into uv.lock.
lock: | $(UV)
	UV_PYTHON_DOWNLOADS=never $(UV) lock

clean:
	rm -rf $(VENV) var .pytest_cache
