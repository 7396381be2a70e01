"""dbt models as assets: incremental models on the day partitions, the rest unpartitioned."""

import datetime as dt
import functools
import json
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from finops_dagster.console import PROGRESS
from finops_dagster.defs.warehouse.project import (
    LIGHT,
    dbt_project,
    ensure_manifest,
    rotate_target_dirs,
    translator,
)
from finops_dagster.faults import crash_point
from finops_dagster.partitions import daily_partitions
from finops_dagster.resources import LakeResource
from finops_dagster.settings import temporary_environ
from finops_dagster.warehouse import dagster_dbt_light, engine
from finops_dagster.warehouse.lake_paths import (
    STATIC,
    changed_views,
    keep_partial_parse,
    rebuild_views,
    record_built_views,
    source_views,
    stale_lake_paths,
    upstream_views,
)
from finops_dagster.warm_imports import warm_for_later_steps

INCREMENTAL = "config.materialized:incremental"
# dbt unit tests check the SQL, not the data: they run in the test suite
# (tests/warehouse/test_dbt_unit_tests.py), not in every production build (0.3 s each)
BUILD = ["build", "--exclude-resource-type", "unit_test"]
# dbt's JSON artefacts (manifest.json twice, semantic_manifest.json, graph.gpickle,
# run_results.json) cost 0.4-0.7 s of every invocation and nothing here reads them: dagster-dbt
# follows dbt's log events. The one exception is run_results.json of a build that builds views or
# seeds (record_built_views), so only such a build writes them.
NO_ARTEFACTS = ["--no-write-json"]
MANIFEST = ensure_manifest()
EXCLUDE_INCREMENTAL = ("fqn:*", INCREMENTAL, "")  # dbt_models' selection (@dbt_assets' default select)
if LIGHT:  # dagster-dbt without dbt-core: the two selections below, evaluated once per manifest
    dagster_dbt_light.register(MANIFEST, [(INCREMENTAL, "", ""), EXCLUDE_INCREMENTAL])


@dbt_assets(
    manifest=MANIFEST,
    project=dbt_project,
    select=INCREMENTAL,
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    dagster_dbt_translator=translator,
    name="dbt_daily_models",
    pool=engine.pool(),
)
def dbt_daily_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, lake: LakeResource):
    """Incremental marts rebuilt for exactly the partition window (its days deleted, then inserted)."""
    start, end = context.partition_time_window
    ce = lake.source_status("cost_explorer")
    window = {
        "FINOPS_DBT_MIN_DATE": start.date().isoformat(),
        "FINOPS_DBT_MAX_DATE": end.date().isoformat(),
        "FINOPS_DBT_COST_EXPLORER_AVAILABLE": str(ce.available).lower(),
    }
    context.log.info(f"dbt window {window}; {ce.line()}")
    warm_for_later_steps(context)  # while dbt works, this process's core is free
    _refuse_held_days(lake, context.partition_keys)
    _readable(context, lake, dbt)
    crash_point("warehouse:dbt")
    with temporary_environ(window):  # the window as env vars: see macros/partition_window.sql
        invocation = dbt.cli(BUILD + NO_ARTEFACTS, context=context)
    yield from _counted(context, invocation)
    _tidy_target(invocation.target_path, dbt)


def _tidy_target(invocation_target: Path, dbt: DbtCliResource) -> None:
    """After a build: its partial parse serves the next one on the same lake, old invocation
    folders go."""
    target = dbt_project.project_dir / "target"
    own = Path(invocation_target)
    environment = getattr(dbt, "environment", {})
    keep_partial_parse(own if own.is_absolute() else dbt_project.project_dir / own, target, environment)
    rotate_target_dirs(target)


def _counted(context: dg.AssetExecutionContext, invocation):
    """dbt's events, passed on; each built model is a progress line (n/total, percent)."""
    total, done = len(context.selected_asset_keys) or 1, 0
    for event in invocation.stream():
        if isinstance(event, dg.Output | dg.AssetMaterialization):
            done += 1
            name = event.output_name if isinstance(event, dg.Output) else event.asset_key.path[-1]
            PROGRESS.info(f"dbt build: {done}/{total} models ({done / total:.0%}), last {name}")
        yield event


def _refuse_held_days(lake: LakeResource, partition_keys: list[str] | None = None) -> None:
    """A day whose blocking raw checks failed is never built into the marts, by this run or any
    later one, until its checks pass again (re-ingest the day)."""
    days = None if partition_keys is None else [dt.date.fromisoformat(k) for k in partition_keys]
    held = lake.ledger().held("cur", days)
    if held:
        lines = "\n".join(f"- {d}: {why}" for d, why in held.items())
        raise dg.Failure(
            description=f"{len(held)} raw CUR day(s) failed a blocking check and are held out of the "
            f"marts; re-ingest them (raw_cur_line_items for those days) and their checks "
            f"release them:\n{lines}",
            metadata={"held_days": ", ".join(str(d) for d in held)},
        )


def _readable(context: dg.AssetExecutionContext, lake: LakeResource, dbt: DbtCliResource) -> None:
    """Sources without data yet (CUR alone) get empty files of their schema, so views build;
    views still reading a lake the data folder moved away from are rebuilt first."""
    for name in lake.ensure_readable():
        context.log.info(f"no data yet for the raw dataset {name}: an empty file of its schema stands in")
    if lake.warehouse_engine == engine.SPARK:
        return  # Spark's raw views are recreated at every dbt start (macros/raw_lake.sql)
    # through the run's dbt (warm when the resource started one: 1-2 s instead of a cold dbt's
    # 4-6 s, twice in a build from nothing); a plain DbtCliResource (tests) runs dbt as it is
    executable = dbt.dbt_executable
    warm = getattr(dbt, "warm_environment", None)
    environment = warm() if warm else getattr(dbt, "environment", {})
    stale = stale_lake_paths(lake.warehouse_path, lake.contract.location)
    if stale:
        context.log.warning(
            f"the warehouse views read {', '.join(stale)}, not the lake at "
            f"{lake.contract.root} (the data folder moved): rebuilding the views"
        )
        _rebuilt(lake, rebuild_views(executable, dbt_project.project_dir, environment))
        still = stale_lake_paths(lake.warehouse_path, lake.contract.location)
        if still:
            raise dg.Failure(
                f"the warehouse views still read {', '.join(still)} after a rebuild: "
                f"is the dbt resource's FINOPS_RAW_LAKE_DIR the lake at {lake.contract.root}?"
            )
    # a refresh builds no views (new data needs none): those its models read, and the views and
    # seeds over sources alone, are rebuilt here only when missing or when the project's SQL (or
    # seed CSV) for them changed since they were built
    selected = {key.path[-1] for key in context.selected_asset_keys}
    needed = upstream_views(_manifest(), selected) | source_views(_manifest(), selected)
    changed = changed_views(lake.warehouse_path, _manifest(), needed)
    if changed:  # all of them: a view over a changed view may not bind to its new columns
        context.log.info(
            f"views missing or with new SQL: {', '.join(changed)}; rebuilding the {len(needed)} views "
            f"this step reads first"
        )
        _rebuilt(lake, rebuild_views(executable, dbt_project.project_dir, environment, sorted(needed)))


@functools.cache
def _manifest() -> dict:
    return json.loads(MANIFEST.read_text())


def _rebuilt(lake: LakeResource, run_results: Path) -> None:
    """Remember the SQL of the views a dbt invocation built (lake_paths.changed_views)."""
    if lake.warehouse_engine != engine.SPARK:
        record_built_views(lake.warehouse_path, _manifest(), run_results)


@dbt_assets(
    manifest=MANIFEST,
    project=dbt_project,
    exclude=INCREMENTAL,
    dagster_dbt_translator=translator,
    name="dbt_models",
    pool=engine.pool(),
)
def dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, lake: LakeResource):
    """Views and full-refresh tables: cheap to rebuild, not tied to a day."""
    warm_for_later_steps(context)
    _refuse_held_days(lake)
    _readable(context, lake, dbt)
    crash_point("warehouse:dbt")
    static = _builds_static(context)
    invocation = dbt.cli(BUILD if static else BUILD + NO_ARTEFACTS, context=context)
    yield from _counted(context, invocation)
    if static:
        _rebuilt(lake, invocation.target_path / "run_results.json")
    _tidy_target(invocation.target_path, dbt)


def _builds_static(context: dg.AssetExecutionContext) -> bool:
    """Whether the step builds a view or a seed, whose SQL must be recorded from run_results.json."""
    selected = {key.path[-1] for key in context.selected_asset_keys}
    return any(
        n["name"] in selected and n.get("config", {}).get("materialized") in STATIC
        for n in _manifest()["nodes"].values()
    )
