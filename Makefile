# The two set-up commands of the README. A fresh machine needs only python3, pip and make:
# uv is installed into .tools/ by pip, then uv installs everything else from uv.lock.
UV_VERSION := 0.13.9
UV := .tools/uv/bin/uv
export UV_COMPILE_BYTECODE := 1

.PHONY: demo test test-fast lint sync docs

$(UV):
	@python3 -m pip install --quiet --disable-pip-version-check --target .tools/uv "uv==$(UV_VERSION)"

sync: $(UV)
	@$(UV) sync --frozen --quiet

# after `sync` (bytecode compiled once): run without re-syncing or recompiling on every call
RUN := $(UV) run --frozen --no-sync

## make demo: the offline demo end to end, then the Dagster UI on http://127.0.0.1:3000
demo: sync
	@$(RUN) finops-dagster demo

## make test: lint, then the whole test suite
test: sync
	$(RUN) ruff check finops_dagster tests
	$(RUN) pytest --durations=20

## make test-fast: the inner loop, without the tests that need the whole demo pipeline, a CLI run or the UI
test-fast: sync
	$(RUN) ruff check finops_dagster tests
	$(RUN) pytest -m "not pipeline" -n 2

lint: sync
	$(RUN) ruff check finops_dagster tests

## make docs: dbt's documentation site of every model and column (after `make demo`)
DBT_ARGS := --project-dir dbt_project --profiles-dir dbt_project
docs: sync
	FINOPS_WAREHOUSE_PATH=data/warehouse.duckdb FINOPS_RAW_LAKE_DIR=data/raw $(RUN) dbt docs generate $(DBT_ARGS)
	$(RUN) dbt docs serve $(DBT_ARGS) --host 127.0.0.1 --port 8080
