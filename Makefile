# The two set-up commands of the README: `make quickstart` and `make test`.
VENV ?= .venv
PYTHON ?= python3
BIN = $(VENV)/bin

.PHONY: install quickstart test system-packages
install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/python -m compileall -q ingest_assets  # bytecode, as a wheel install has (PYTHONDONTWRITEBYTECODE may keep Python from caching it)
	touch $@

examples/shop.db: examples/make_shop_db.py | install
	$(BIN)/python examples/make_shop_db.py examples/shop.db

quickstart: install examples/shop.db
	$(BIN)/ingest-assets ingest -c recipes/quickstart.yml
	$(BIN)/ingest-assets lite ls

system-packages:
	sh scripts/system-packages.sh

test: install system-packages
	$(BIN)/python -m pytest
