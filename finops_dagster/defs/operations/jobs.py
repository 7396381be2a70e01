"""Jobs over the sources of several domains (what the demo runs; schedules reuse them), selected
by the raw tags each domain puts on its assets (finops_dagster/selections.py)."""

import dagster as dg

from finops_dagster.partitions import daily_partitions
from finops_dagster.selections import DAILY, REFERENCE, raw_assets

sources_job = dg.define_asset_job(
    "sources_job",
    selection=raw_assets(DAILY),
    partitions_def=daily_partitions,
    description="Ingest Cost Explorer, CloudWatch and business request counts for day partitions.",
)

reference_job = dg.define_asset_job(
    "reference_job",
    selection=raw_assets(REFERENCE),
    description="Refresh the unpartitioned source tables: forecast, cost categories, business "
    "reference data.",
)
