# Estate Agent CRM — the two commands: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
PYTEST_WORKERS ?= auto
ARGS ?=

.PHONY: install demo serve test test-fast lint format migrate mutation bench bench-ops bench-matching clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is required") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $@

install: $(VENV)/.installed  ## Create .venv and install the project with its dev tools

demo: install  ## Migrate the SQLite database, load demo data (ARGS=--reset to start over), serve on :8000
	$(BIN)/estatecrm demo $(ARGS)
	$(BIN)/estatecrm serve

serve: install  ## Serve without loading demo data
	$(BIN)/estatecrm serve

migrate: install  ## Apply migrations to DATABASE_URL
	$(BIN)/alembic upgrade head

test: install  ## Run the whole suite on SQLite and PostgreSQL, with coverage
	$(BIN)/pytest -n $(PYTEST_WORKERS) --cov --cov-report=term:skip-covered --cov-report=xml:var/coverage.xml $(ARGS)

test-fast: install  ## The suite without browser tests
	$(BIN)/pytest -n $(PYTEST_WORKERS) -m 'not e2e' $(ARGS)

lint: install  ## ruff check, ruff format --check, mypy, import contracts (docs/architecture.md)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

mutation: install  ## Mutation-test kit/ and every rules.py (mutmut); fails below 95 % per module
	$(BIN)/python scripts/mutation.py

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install  ## Benchmarks (see bench/README.md)
	$(BIN)/python bench/properties_list.py

bench-ops: install  ## What the ops middleware costs: full stack vs none, one worker (bench/README.md)
	$(BIN)/python bench/middleware_cost.py $(ARGS)
bench-matching: install  ## Matching at 100,000 properties / 50,000 applicants on PostgreSQL (bench/README.md)
	$(BIN)/python bench/matching.py $(ARGS)

clean:
	rm -rf $(VENV) var/*.db var/*.db-* .pytest_cache .mypy_cache .ruff_cache htmlcov mutants
