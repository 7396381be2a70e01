"""CUR's jobs, beside its assets: the day ingest and the sync report (the sync sensor and its
refresh job are in sync.py)."""

import dagster as dg

from finops_dagster.defs.cur.assets import raw_cur
from finops_dagster.defs.cur.sync import cur_sync_status
from finops_dagster.partitions import daily_partitions

cur_ingest_job = dg.define_asset_job(
    "cur_ingest_job",
    selection=dg.AssetSelection.assets(raw_cur),
    partitions_def=daily_partitions,
    description="Ingest CUR day partitions into the raw lake (with their per-day checks).",
)

cur_sync_status_job = dg.define_asset_job(
    "cur_sync_status_job",
    selection=dg.AssetSelection.assets(cur_sync_status),
    description="Report every billing period's sync status (missing deliveries, days to ingest).",
)
