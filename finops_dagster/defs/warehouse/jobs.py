"""Jobs the demo, schedules and engineers launch; the UI can also materialize any selection."""

import dagster as dg

from finops_dagster.defs.warehouse.assets import dbt_daily_models, dbt_models
from finops_dagster.defs.warehouse.exports import mart_exports
from finops_dagster.partitions import daily_partitions
from finops_dagster.selections import views

DBT = dg.AssetSelection.assets(dbt_models)
MARTS = dg.AssetSelection.tag("layer", "marts")
# views over the day aggregates (int_cur__usage_and_credits_daily) exist once the daily models
# have run: they are built with the marts, not with the staging views the daily models read
AFTER_DAILY = DBT & dg.AssetSelection.assets(dbt_daily_models).downstream()

warehouse_views_job = dg.define_asset_job(
    "warehouse_views_job",
    # every view over sources, a mart view (fct_cur_restatements) too: a dbt step puts in place
    # the views over sources it does not build (assets.py _readable), and this one had started a
    # cold dbt for that view before its own build
    selection=DBT - AFTER_DAILY - (MARTS - views()),
    description="(Re)build the staging and intermediate views, the views over sources and the "
    "seeds, and run their tests.",
)

daily_cost_job = dg.define_asset_job(
    "daily_cost_job",
    selection=dg.AssetSelection.assets(dbt_daily_models),
    partitions_def=daily_partitions,
    description="Rebuild the day aggregates and the incremental marts (cost, reconciliation, allocation) "
    "for day partitions, "
    "with their per-day checks.",
)

marts_job = dg.define_asset_job(
    "marts_job",
    selection=(DBT & MARTS)
    | AFTER_DAILY
    | dg.AssetSelection.assets(mart_exports)
    | dg.AssetSelection.groups("insights"),
    description="Rebuild the unpartitioned marts (dimensions, efficiency, allocation reports, "
    "anomalies, billing audit) from the daily marts, run their tests, export every mart "
    "to Parquet, then forecast, backtest, budgets and the insight alerts.",
)
