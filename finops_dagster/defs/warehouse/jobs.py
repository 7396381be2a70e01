"""Jobs the demo, schedules and engineers launch; the UI can also materialize any selection."""

import dagster as dg

from finops_dagster.defs.warehouse.assets import dbt_models
from finops_dagster.partitions import daily_partitions

cur_ingest_job = dg.define_asset_job(
    "cur_ingest_job", selection=dg.AssetSelection.assets("raw_cur_line_items", "raw_cur_restatements"),
    partitions_def=daily_partitions,
    description="Ingest CUR day partitions into the raw lake (with their per-day checks).",
)

warehouse_views_job = dg.define_asset_job(
    "warehouse_views_job", selection=dg.AssetSelection.assets(dbt_models),
    description="(Re)build the unpartitioned dbt models (views, full tables) and run their tests.",
)

daily_cost_job = dg.define_asset_job(
    "daily_cost_job", selection=dg.AssetSelection.assets("fct_daily_cost"),
    partitions_def=daily_partitions,
    description="Rebuild the incremental cost marts for day partitions (with their checks).",
)

cur_sync_status_job = dg.define_asset_job(
    "cur_sync_status_job", selection=dg.AssetSelection.assets("cur_sync_status"),
    description="Report every billing period's sync status (missing deliveries, days to ingest).",
)
