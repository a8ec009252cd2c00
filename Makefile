# LeadFlow developer commands. Each target creates .venv on first use.
PYTHON ?= $(shell command -v python3.13 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: run test bench lint format openapi migrate demo clean

# The first install takes a minute or two: pip lists each package as it fetches it.
$(VENV)/.installed: pyproject.toml
	@echo "Installing LeadFlow and its dependencies into $(VENV) (the first time takes a minute or two)…"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --disable-pip-version-check -e '.[dev]'
	@echo "Installed. LeadFlow is in $(VENV)."
	touch $@

run: $(VENV)/.installed
	$(BIN)/leadflow serve --host $(HOST) --port $(PORT)

test: $(VENV)/.installed
	@bash .ci/system-packages
	$(BIN)/ruff check src tests bench
	$(BIN)/lint-imports
	$(BIN)/pytest $(PYTEST_ARGS)

$(VENV)/.bench-installed: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev,bench]'
	touch $@

bench: $(VENV)/.bench-installed
	$(BIN)/python bench/run.py

lint: $(VENV)/.installed
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

format: $(VENV)/.installed
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

openapi: $(VENV)/.installed
	$(BIN)/leadflow openapi > docs/api/openapi.json

migrate: $(VENV)/.installed
	$(BIN)/leadflow migrate

demo: $(VENV)/.installed
	$(BIN)/leadflow demo --reset

clean:
	rm -rf $(VENV) var
