"""dbt models as assets: incremental models on the day partitions, the rest unpartitioned."""

import json

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from finops_dagster.defs.warehouse.project import dbt_project, ensure_manifest, translator
from finops_dagster.partitions import daily_partitions
from finops_dagster.resources import LakeResource

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
def dbt_daily_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, lake: LakeResource):
    """Incremental marts rebuilt for exactly the partition window (delete+insert by day)."""
    start, end = context.partition_time_window
    ce = lake.source_status("cost_explorer")
    window = {"min_date": start.date().isoformat(), "max_date": end.date().isoformat(),
              "cost_explorer_available": ce.available}
    context.log.info(f"dbt window {window}; {ce.line()}")
    _readable(context, lake)
    yield from dbt.cli(["build", "--vars", json.dumps(window)], context=context).stream()


def _readable(context: dg.AssetExecutionContext, lake: LakeResource) -> None:
    """Sources without data yet (CUR alone) get empty files of their schema, so views build."""
    for rel in lake.ensure_readable():
        context.log.info(f"no data yet for raw/{rel}: an empty file of its schema stands in")


@dbt_assets(
    manifest=MANIFEST,
    project=dbt_project,
    exclude=INCREMENTAL,
    dagster_dbt_translator=translator,
    name="dbt_models",
    pool="warehouse",
)
def dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, lake: LakeResource):
    """Views and full-refresh tables: cheap to rebuild, not tied to a day."""
    _readable(context, lake)
    yield from dbt.cli(["build"], context=context).stream()
