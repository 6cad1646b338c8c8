# The two set-up commands: `make demo` and `make test`. Both create .venv and install first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install demo test lint dev bench validate clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/finance-pipeline demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

validate: $(STAMP)
	$(BIN)/dagster definitions validate -w workspace.yaml

FINANCE_PIPELINE_HOME ?= $(CURDIR)/var
DAGSTER_HOME ?= $(FINANCE_PIPELINE_HOME)/dagster

dev: $(STAMP)
	mkdir -p $(DAGSTER_HOME)
	test -f $(DAGSTER_HOME)/dagster.yaml || cp dagster.yaml $(DAGSTER_HOME)/dagster.yaml
	DAGSTER_HOME=$(DAGSTER_HOME) FINANCE_PIPELINE_HOME=$(FINANCE_PIPELINE_HOME) \
		$(BIN)/dagster dev -w workspace.yaml

bench: $(STAMP)
	$(BIN)/python -m pytest -q -m bench bench

clean:
	rm -rf var
