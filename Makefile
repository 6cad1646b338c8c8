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

dev: $(STAMP)
	mkdir -p var/dagster
	test -f var/dagster/dagster.yaml || cp dagster.yaml var/dagster/dagster.yaml
	DAGSTER_HOME=$(CURDIR)/var/dagster FINANCE_PIPELINE_HOME=$(CURDIR)/var $(BIN)/dagster dev -w workspace.yaml

bench: $(STAMP)
	$(BIN)/python -m pytest -q -m bench bench

clean:
	rm -rf var
