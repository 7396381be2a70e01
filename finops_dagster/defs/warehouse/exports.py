"""The marts exported as Parquet files after every marts build."""

import dagster as dg

from finops_dagster.defs.warehouse.assets import dbt_daily_models, dbt_models
from finops_dagster.lake.optional_sources import SOURCES
from finops_dagster.resources import LakeResource
from finops_dagster.warehouse import engine
from finops_dagster.warehouse.exports import export_marts, write_analyst_database

MART_KEYS = sorted(
    (
        spec.key
        for a in (dbt_daily_models, dbt_models)
        for spec in a.specs
        if spec.tags.get("layer") == "marts"
    ),
    key=lambda k: k.to_user_string(),
)


@dg.asset(
    deps=MART_KEYS,
    group_name="exports",
    kinds={"duckdb", "parquet"},
    owners=["team:finops-platform"],
    pool=engine.pool(),
    description="Every mart as <data_dir>/exports/<mart>.parquet, replaced atomically, for BI tools "
    "and analysts without a DuckDB client.",
)
def mart_exports(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
    target, rewritten = lake.exports_dir, []
    with lake.warehouse_reader() as con:
        counts = export_marts(con, [k.path[-1] for k in MART_KEYS], target, rewritten)
    analysts = write_analyst_database(target)
    context.log.info(
        f"exported {len(rewritten)} changed marts of {len(counts)} to {target} (the others "
        f"kept their export); views over them in {analysts}"
    )
    # which enrichments the marts were built with: an empty efficiency mart says why
    sources = {s: lake.source_status(s).line() for s in SOURCES}
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(target)),
            "marts": len(counts),
            "marts_rewritten": len(rewritten),
            "rewritten": ", ".join(rewritten) or "none (no mart changed)",
            "analyst_database": dg.MetadataValue.path(str(analysts)),
            "rows": dg.MetadataValue.json(counts),
            "optional_sources": dg.MetadataValue.md("\n".join(f"- {line}" for line in sources.values())),
            "efficiency_marts": "built from CloudWatch"
            if lake.source_status("cloudwatch").available
            else f"empty: {sources['cloudwatch']}",
        }
    )
