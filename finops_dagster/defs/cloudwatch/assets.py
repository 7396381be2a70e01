"""CloudWatch utilization metrics per day partition."""

import datetime as dt

import dagster as dg

from finops_dagster.console import reporter
from finops_dagster.lake.cloudwatch_ingest import ingest_cloudwatch_days
from finops_dagster.lake.optional_sources import unavailable
from finops_dagster.partitions import daily_partitions
from finops_dagster.resources import CloudWatchResource, CurExportResource, LakeResource
from finops_dagster.selections import DAILY, raw_tags
from finops_dagster.sources.aws_calls import AwsCallError


@dg.asset(
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="ingestion",
    kinds={"python", "polars", "parquet"},
    owners=["team:finops-platform"],
    tags={"source": "cloudwatch", **raw_tags(DAILY)},
)
def raw_cloudwatch_metrics(
    context: dg.AssetExecutionContext,
    cloudwatch: CloudWatchResource,
    cur: CurExportResource,
    lake: LakeResource,
) -> dg.MaterializeResult:
    """Average, Maximum and Minimum of the key metrics of EC2, RDS, Lambda, S3, DynamoDB,
    ELB/ALB, ECS, CloudFront and API Gateway (found with ListMetrics), at the finest period
    CloudWatch still keeps for each day's age. Re-running today's partition re-syncs the
    recent hours (the hourly schedule does that)."""
    days = [dt.date.fromisoformat(pk) for pk in context.partition_keys]
    now = (
        dt.datetime.combine(cur.as_of_date() + dt.timedelta(days=1), dt.time())
        if cur.as_of
        else dt.datetime.now(dt.UTC).replace(tzinfo=None)
    )
    if not cloudwatch.enabled:
        return lake.skip_source("cloudwatch", "not_configured", "FINOPS_CLOUDWATCH=off", context)
    try:
        entries = ingest_cloudwatch_days(
            cloudwatch.clients(), lake.raw_lake(), lake.ledger(), days, now, progress=reporter(context)
        )
    except Exception as exc:
        if (why := unavailable(exc)) is not None:
            return lake.skip_source("cloudwatch", *why, context, days=f"{days[0]}..{days[-1]}")
        if isinstance(exc, AwsCallError):
            raise dg.Failure(description=str(exc), metadata={"days": f"{days[0]}..{days[-1]}"}) from exc
        raise
    lake.source_ok("cloudwatch")
    beyond = [str(e.usage_date) for e in entries if e.manifest]
    return dg.MaterializeResult(
        metadata={
            "datapoints": sum(e.row_count for e in entries),
            "days": len(entries),
            "days_beyond_retention": ", ".join(beyond) or "none",
        }
    )
