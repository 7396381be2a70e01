"""Jobs over the non-CUR sources (what the demo runs; schedules reuse them)."""

import dagster as dg

from finops_dagster.partitions import daily_partitions

sources_job = dg.define_asset_job(
    "sources_job",
    selection=dg.AssetSelection.assets("raw_cost_explorer_daily", "raw_cloudwatch_metrics",
                                       "raw_business_requests"),
    partitions_def=daily_partitions,
    description="Ingest Cost Explorer, CloudWatch and business request counts for day partitions.",
)

reference_job = dg.define_asset_job(
    "reference_job",
    selection=dg.AssetSelection.assets("raw_cost_explorer_forecast", "raw_cost_categories",
                                       "raw_customers", "raw_budgets", "raw_shared_resource_rules"),
    description="Refresh the unpartitioned source tables: forecast, cost categories, business "
                "reference data.",
)
