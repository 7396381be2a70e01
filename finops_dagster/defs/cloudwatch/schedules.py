"""CloudWatch's own automation, beside its asset: the recent hours re-synced every hour."""

import dagster as dg

from finops_dagster.defs.cloudwatch.assets import raw_cloudwatch_metrics
from finops_dagster.operations import range_request
from finops_dagster.partitions import daily_partitions
from finops_dagster.schedule_windows import recent_hours

cloudwatch_job = dg.define_asset_job(
    "cloudwatch_job",
    selection=dg.AssetSelection.assets(raw_cloudwatch_metrics),
    partitions_def=daily_partitions,
    description="Ingest CloudWatch metrics for day partitions.",
)


@dg.schedule(
    job=cloudwatch_job,
    cron_schedule="10 * * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)
def cloudwatch_recent_hours_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """Every hour: re-sync yesterday and today, whose recent hours CloudWatch is still filling."""
    first, last = recent_hours(context.scheduled_execution_time)
    return range_request(first.isoformat(), last.isoformat())
