"""Cost Explorer's own automation, beside its assets: month to date, once a day off-peak."""

import dagster as dg

from finops_dagster.defs.cost_explorer.assets import raw_cost_explorer_daily
from finops_dagster.operations import range_request
from finops_dagster.partitions import daily_partitions
from finops_dagster.schedule_windows import cost_explorer_days

cost_explorer_job = dg.define_asset_job(
    "cost_explorer_job",
    selection=dg.AssetSelection.assets(raw_cost_explorer_daily).downstream(),
    partitions_def=daily_partitions,
    description="Cost Explorer for a range of days, then the reconciliation against CUR.",
)


@dg.schedule(
    job=cost_explorer_job,
    cron_schedule="17 4 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)
def cost_explorer_daily_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """Daily at 04:17 UTC (off-peak; Cost Explorer bills per request): month to date."""
    first, last = cost_explorer_days(context.scheduled_execution_time)
    return range_request(first.isoformat(), last.isoformat(), "cost explorer daily")
