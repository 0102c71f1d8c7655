# Les deux commandes du README : `make demo` et `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint typecheck pytest browsers clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "uptake demande Python 3.11 ou plus récent")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/uptake demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

# One test worker per core (`-n auto`): every test has its own folders, databases and ports.
# `make pytest PYTEST_ARGS="-n0 tests/rules"` runs a part in one process. The slowest tests are listed
# at the end: CI must stay well under 30 minutes on a slow day. Bytecode is written even where the
# environment says not to (PYTHONDONTWRITEBYTECODE): the tests start `uptake` hundreds of times, and
# compiling its modules again each time cost a tenth of every command.
pytest: $(STAMP)
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/pytest -n auto --durations=25 --durations-min=5 $(PYTEST_ARGS)

test: lint typecheck pytest

clean:
	rm -rf $(VENV) .uptake demo-output .pytest_cache .ruff_cache .mypy_cache
