"""dbt models as assets: incremental models on the day partitions, the rest unpartitioned."""

import json

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from finops_dagster.defs.warehouse.project import dbt_project, ensure_manifest, translator
from finops_dagster.partitions import daily_partitions

INCREMENTAL = "config.materialized:incremental"
MANIFEST = ensure_manifest()


@dbt_assets(
    manifest=MANIFEST,
    project=dbt_project,
    select=INCREMENTAL,
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    dagster_dbt_translator=translator,
    name="dbt_daily_models",
    pool="warehouse",
)
def dbt_daily_models(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    """Incremental marts rebuilt for exactly the partition window (delete+insert by day)."""
    start, end = context.partition_time_window
    window = {"min_date": start.date().isoformat(), "max_date": end.date().isoformat()}
    context.log.info(f"dbt window {window}")
    yield from dbt.cli(["build", "--vars", json.dumps(window)], context=context).stream()


@dbt_assets(
    manifest=MANIFEST,
    project=dbt_project,
    exclude=INCREMENTAL,
    dagster_dbt_translator=translator,
    name="dbt_models",
    pool="warehouse",
)
def dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    """Views and full-refresh tables: cheap to rebuild, not tied to a day."""
    yield from dbt.cli(["build"], context=context).stream()
