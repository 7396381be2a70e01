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

## make test: the Python lint (ruff check, ruff format --check), then the whole test suite
PY_LINT = $(RUN) ruff check finops_dagster tests bench && $(RUN) ruff format --check finops_dagster tests bench
# The tests that need no demo pipeline run on both cores; the pipeline tests share one demo
# pipeline per process, so they run in one. Both halves always run; either failing fails.
test: sync
	$(PY_LINT)
	@$(RUN) pytest -m "not pipeline" -n 2 --durations=10; a=$$?; \
	$(RUN) pytest -m pipeline --durations=20; b=$$?; \
	test $$a -eq 0 -a $$b -eq 0

## make test-fast: the inner loop, without the tests that need the whole demo pipeline, a CLI run or the UI
test-fast: sync
	$(PY_LINT)
	$(RUN) pytest -m "not pipeline" -n 2

## make lint: ruff (check and format) on the Python, sqlfluff on the dbt project's SQL as dbt
## renders it (dbt_project/.sqlfluff: the rules and why some are off). `ruff format` and
## `sqlfluff fix` (run in dbt_project/) repair most of what they report.
lint: sync
	$(PY_LINT)
	cd dbt_project && FINOPS_WAREHOUSE_PATH="$$(mktemp -d)/lint.duckdb" ../$(UV) run --frozen --no-sync sqlfluff lint models tests --processes 2

## make docs: dbt's documentation site of every model and column (after `make demo`)
DBT_ARGS := --project-dir dbt_project --profiles-dir dbt_project
docs: sync
	FINOPS_WAREHOUSE_PATH=data/warehouse.duckdb FINOPS_RAW_LAKE_DIR=data/raw $(RUN) dbt docs generate $(DBT_ARGS)
	$(RUN) dbt docs serve $(DBT_ARGS) --host 127.0.0.1 --port 8080
