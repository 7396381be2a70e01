"""CloudWatch source: discover the key metrics of each service, fetch them in 500-query batches.

The period follows the data's age, within CloudWatch's retention: 1-minute data is kept 15
days, 5-minute data 63 days, 1-hour data 455 days. A window is split into those age bands and
each band is fetched with one batch of queries (not one call per day), paged with NextToken;
``PartialData`` answers are completed by following the token.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable
from typing import Any

import polars as pl

from finops_dagster.sources.aws_calls import RateLimiter, call

log = logging.getLogger(__name__)

# namespace -> (key metrics, the dimension that names the resource)
KEY_METRICS: dict[str, tuple[tuple[str, ...], str]] = {
    "AWS/EC2": (("CPUUtilization", "NetworkIn", "NetworkOut"), "InstanceId"),
    "AWS/RDS": (("CPUUtilization", "DatabaseConnections", "FreeableMemory"), "DBInstanceIdentifier"),
    "AWS/Lambda": (("Invocations", "Duration", "Errors"), "FunctionName"),
    "AWS/S3": (("BucketSizeBytes", "NumberOfObjects"), "BucketName"),
    "AWS/DynamoDB": (("ConsumedReadCapacityUnits", "ConsumedWriteCapacityUnits"), "TableName"),
    "AWS/ApplicationELB": (("RequestCount", "TargetResponseTime"), "LoadBalancer"),
    "AWS/ELB": (("RequestCount", "Latency"), "LoadBalancerName"),
    "AWS/ECS": (("CPUUtilization", "MemoryUtilization"), "ServiceName"),
    "AWS/CloudFront": (("Requests", "BytesDownloaded"), "DistributionId"),
    "AWS/ApiGateway": (("Count", "Latency"), "ApiName"),
    "AWS/ElastiCache": (
        ("CPUUtilization", "EngineCPUUtilization", "DatabaseMemoryUsagePercentage", "CurrConnections"),
        "CacheClusterId",
    ),
}
STATS = ("Average", "Maximum", "Minimum")
MAX_QUERIES = 500
RETENTION = ((dt.timedelta(days=15), 60), (dt.timedelta(days=63), 300), (dt.timedelta(days=455), 3600))
SCHEMA = {
    "usage_date": pl.Date,
    "account_id": pl.String,
    "namespace": pl.String,
    "metric_name": pl.String,
    "resource_id": pl.String,
    "dimensions": pl.String,
    "stat": pl.String,
    "timestamp": pl.Datetime("us"),
    "value": pl.Float64,
    "period_seconds": pl.Int64,
}


def make_client(limiter: RateLimiter, max_attempts: int = 10, session: Any = None) -> Any:
    import boto3
    from botocore.config import Config

    session = session or boto3.session.Session()
    client = session.client(
        "cloudwatch", config=Config(retries={"mode": "adaptive", "total_max_attempts": max_attempts})
    )
    client.meta.events.register("before-send.cloudwatch.*", limiter.acquire)
    return client


def account_clients(
    limiter: RateLimiter, role_arns: list[str], max_attempts: int = 10, session: Any = None
) -> list[tuple[Any, str]]:
    """One CloudWatch client per linked account (a role ARN each; none: the default
    credentials' own account): metrics live in the account that owns the resource."""
    from finops_dagster.sources.aws_calls import account_session

    clients = []
    for role in role_arns or [None]:
        account_sess, account = account_session(role, session)
        clients.append((make_client(limiter, max_attempts, account_sess), account))
    return clients


def discover(client: Any, namespaces: dict = KEY_METRICS) -> list[dict]:
    """Every metric (with its dimensions) of the key metric names that has data (ListMetrics)."""
    found = []
    for namespace, (names, _) in namespaces.items():
        for name in names:
            token = None
            while True:
                resp = call(
                    client,
                    "list_metrics",
                    Namespace=namespace,
                    MetricName=name,
                    **({"NextToken": token} if token else {}),
                )
                found += [
                    {
                        "Namespace": m["Namespace"],
                        "MetricName": m["MetricName"],
                        "Dimensions": sorted(m.get("Dimensions", []), key=lambda d: d["Name"]),
                    }
                    for m in resp.get("Metrics", [])
                ]
                token = resp.get("NextToken")
                if not token:
                    break
    return found


def period_for(age: dt.timedelta) -> int | None:
    """The finest period CloudWatch still keeps for data of this age (None: beyond retention)."""
    return next((period for limit, period in RETENTION if age <= limit), None)


def age_bands(
    start: dt.datetime, end: dt.datetime, now: dt.datetime
) -> list[tuple[dt.datetime, dt.datetime, int]]:
    """Split [start, end) at the retention boundaries (by day) into (from, to, period)."""
    bands: list[tuple[dt.datetime, dt.datetime, int]] = []
    day = start
    while day < end:
        nxt = min(day + dt.timedelta(days=1), end)
        period = period_for(now - day)
        if period is not None:
            if bands and bands[-1][2] == period and bands[-1][1] == day:
                bands[-1] = (bands[-1][0], nxt, period)
            else:
                bands.append((day, nxt, period))
        day = nxt
    return bands


def _resource(metric: dict) -> str:
    key = KEY_METRICS.get(metric["Namespace"], ((), ""))[1]
    return next(
        (d["Value"] for d in metric["Dimensions"] if d["Name"] == key),
        metric["Dimensions"][0]["Value"] if metric["Dimensions"] else "",
    )


def fetch(
    client: Any,
    metrics: list[dict],
    start: dt.datetime,
    end: dt.datetime,
    now: dt.datetime,
    progress: Callable[[str], None] = log.info,
    account: str = "default",
) -> pl.DataFrame:
    """Average, Maximum and Minimum of every metric over [start, end), one row per datapoint."""
    specs = [(m, s) for m in metrics for s in STATS]
    rows: list[dict] = []
    for band_start, band_end, period in age_bands(start, end, now):
        for offset in range(0, len(specs), MAX_QUERIES):
            batch = specs[offset : offset + MAX_QUERIES]
            queries = [
                {"Id": f"q{i}", "ReturnData": True, "MetricStat": {"Metric": m, "Period": period, "Stat": s}}
                for i, (m, s) in enumerate(batch)
            ]
            token, calls = None, 0
            while True:
                resp = call(
                    client,
                    "get_metric_data",
                    MetricDataQueries=queries,
                    StartTime=band_start,
                    EndTime=band_end,
                    **({"NextToken": token} if token else {}),
                )
                calls += 1
                for result in resp.get("MetricDataResults", []):
                    m, stat = batch[int(result["Id"][1:])]
                    dims = json.dumps({d["Name"]: d["Value"] for d in m["Dimensions"]}, sort_keys=True)
                    rows += [
                        {
                            "namespace": m["Namespace"],
                            "metric_name": m["MetricName"],
                            "resource_id": _resource(m),
                            "dimensions": dims,
                            "stat": stat,
                            "timestamp": ts.replace(tzinfo=None)
                            if ts.tzinfo is None
                            else ts.astimezone(dt.UTC).replace(tzinfo=None),
                            "value": float(v),
                            "period_seconds": period,
                        }
                        for ts, v in zip(result.get("Timestamps", []), result.get("Values", []), strict=True)
                    ]
                token = resp.get("NextToken")
                if not token:
                    break
            progress(
                f"CloudWatch {band_start:%Y-%m-%d}..{band_end:%Y-%m-%d} period {period}s: "
                f"{len(batch)} queries, {calls} call(s), {len(rows)} datapoints so far"
            )
    df = pl.DataFrame(rows, schema={k: v for k, v in SCHEMA.items() if k not in ("usage_date", "account_id")})
    return df.with_columns(
        usage_date=pl.col("timestamp").dt.date(), account_id=pl.lit(account, pl.String)
    ).select(list(SCHEMA))
