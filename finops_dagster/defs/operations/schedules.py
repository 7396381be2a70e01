"""Schedules that keep the month fresh without anyone watching (all ship stopped; turn them on
in the UI). Each requests one single-run range of day partitions."""

import datetime as dt

import dagster as dg

from finops_dagster.operations import range_request
from finops_dagster.partitions import daily_partitions
from finops_dagster.resources import CurExportResource
from finops_dagster.schedule_windows import current_month, previous_month_if_finalizing
from finops_dagster.selections import CUR, DAILY, raw_assets, views
from finops_dagster.warehouse import engine

# DuckDB: no view and no seed, as in cur_refresh_job: a view reads the lake when queried, a seed
# is a static table, so new data needs neither; the dbt steps put in place any that are missing
# or whose SQL (or CSV) changed (defs/warehouse/assets.py _readable), so the job also builds a
# new warehouse. Spark's views live in its metastore, which that check does not read: there the
# seeds and every view are in the selection (a selection downstream of the day sources alone
# once left out the seeds and the views over reference sources: on a new warehouse the daily
# models failed on cost_explorer_services, budget_status on stg_business__budgets).
SEEDS = dg.AssetSelection.tag("layer", "seed")

month_refresh_job = dg.define_asset_job(
    "month_refresh_job",
    selection=raw_assets(CUR, DAILY).downstream() - views()
    if engine.current() == engine.DUCKDB
    else (raw_assets(CUR, DAILY) | SEEDS | views()).downstream(),
    partitions_def=daily_partitions,
    description="Every day source for a range of days, then everything downstream: the daily marts "
    "for those days, the unpartitioned marts and the Parquet exports, in one run (on a new "
    "warehouse too, after reference_job).",
)


def _request(window: tuple[dt.date, dt.date], reason: str) -> dg.RunRequest:
    first, last = window
    return range_request(first.isoformat(), last.isoformat(), reason)


@dg.schedule(
    job=month_refresh_job,
    cron_schedule="0 */6 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)
def current_month_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """Every 6 hours: the current month to date."""
    return _request(current_month(context.scheduled_execution_time), "current month")


@dg.schedule(
    job=month_refresh_job,
    cron_schedule="0 3 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)
def previous_month_finalization_schedule(
    context: dg.ScheduleEvaluationContext, cur: CurExportResource
) -> dg.RunRequest | dg.SkipReason:
    """Daily at 03:00 during the first ``finalization_days`` of a month: the previous month,
    whose invoice AWS is still finalizing (FINOPS_FINALIZATION_DAYS, default 5)."""
    window = previous_month_if_finalizing(context.scheduled_execution_time, cur.finalization_days)
    if window is None:
        return dg.SkipReason(
            f"past the first {cur.finalization_days} days of the month: the previous month is final"
        )
    return _request(window, "previous month finalization")
