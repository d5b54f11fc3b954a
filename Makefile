# The README's commands. `make test` is what CI runs after scripts/setup.sh.
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup test lint typecheck pytest demo sim bench

setup:
	scripts/setup.sh

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck:
	$(BIN)/mypy

pytest:
	$(BIN)/pytest

test: lint typecheck pytest

demo: setup
	$(BIN)/eclor demo

sim: setup
	$(BIN)/eclor sim run --scenario demo

bench:
	$(BIN)/python -m bench.run_all
