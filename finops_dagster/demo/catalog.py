"""The demo's fixed world: accounts, services, resources and the facts planted in them.

Money is held in integer units of 1e-8 USD so the generator's ground truth is exact; the
files carry ``units / 1e8`` as doubles, as AWS delivers them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

UNITS_PER_USD = 100_000_000

PAYER_ACCOUNT = "999999999999"
ACCOUNTS = {"111111111111": "prod", "222222222222": "dev", "333333333333": "shared"}
BILLING_PERIODS = ("2026-08", "2026-09", "2026-10")
DEMO_START = dt.date(2026, 8, 1)
DEMO_END = dt.date(2026, 10, 31)  # inclusive

# The day the dev account's delivery is missing: its gap check must fail, no other.
MISSING_DAY = {"account": "222222222222", "date": dt.date(2026, 9, 17)}

SP_DISCOUNT_PCT = 28  # Savings Plan rate = on-demand * (100 - 28) %
SP_SLACK_UNITS = 2_000_000  # unused commitment per hour ($0.02): a non-zero true-up
SP_UPFRONT_PCT = 30  # share of the commitment paid upfront (amortized hourly)
RI_AMORTIZED_UPFRONT_UNITS = 2_500_000  # per reserved instance-hour
RI_RECURRING_UNITS = 3_000_000
RI_UNUSED_UNITS = 1  # reserved instances bought but not running (one per copy)

SERVICE_NAMES = {
    "AmazonEC2": "Amazon Elastic Compute Cloud",
    "AmazonRDS": "Amazon Relational Database Service",
    "AmazonS3": "Amazon Simple Storage Service",
    "AWSLambda": "AWS Lambda",
    "AmazonDynamoDB": "Amazon DynamoDB",
    "AmazonCloudFront": "Amazon CloudFront",
    "AmazonElastiCache": "Amazon ElastiCache",
    "AWSELB": "Elastic Load Balancing",
    "AmazonAthena": "Amazon Athena",
}


def ce_service_name(
    product_code: str, usage_type: str = "BoxUsage:m5.large", line_item_type: str = "Usage"
) -> str:
    """Cost Explorer's SERVICE value for a demo service's line (EC2: instance hours by default)."""
    import polars as pl

    from finops_dagster.sources.ce_services import cost_explorer_service

    row = pl.DataFrame(
        {
            "p": [product_code],
            "t": [line_item_type],
            "u": [usage_type],
            "n": [SERVICE_NAMES.get(product_code, product_code)],
        }
    )
    return row.select(cost_explorer_service(pl.col("p"), pl.col("t"), pl.col("u"), pl.col("n"))).item()


INSTANCE_RATES_UNITS = {  # public on-demand $/hour * 1e8, us-east-1 Linux
    "t3.medium": 4_160_000,
    "m5.large": 9_600_000,
    "m5.xlarge": 19_200_000,
    "c5.large": 8_500_000,
    "r5.2xlarge": 50_400_000,
}


@dataclass(frozen=True)
class Instance:
    account: str
    name: str
    instance_type: str
    pricing: str  # "od" | "sp" | "ri"
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DailyResource:
    account: str
    product_code: str
    resource_id: str
    usage_type: str
    daily_units: int  # mean cost per day (weekdays)
    tags: dict[str, str] = field(default_factory=dict)
    weekend_pct: int = 100  # Saturday and Sunday cost this share of a weekday


def _tags(team: str, service: str, env: str, customer: str | None = None) -> dict[str, str]:
    tags = {"user_team": team, "user_service": service, "user_environment": env}
    if customer:
        tags["user_customer"] = customer
    return tags


INSTANCES: tuple[Instance, ...] = (
    Instance("111111111111", "api-1", "m5.xlarge", "sp", _tags("platform", "api", "prod")),
    Instance("111111111111", "api-2", "m5.xlarge", "sp", _tags("platform", "api", "prod")),
    Instance("111111111111", "api-3", "m5.xlarge", "sp", _tags("platform", "api", "prod")),
    Instance("111111111111", "etl-1", "c5.large", "ri", _tags("data", "etl", "prod")),
    Instance("111111111111", "etl-2", "c5.large", "ri", _tags("data", "etl", "prod")),
    Instance("111111111111", "report-1", "r5.2xlarge", "od", _tags("data", "reports", "prod")),
    Instance(
        "111111111111", "acme-worker", "m5.large", "od", _tags("web", "worker", "prod", customer="acme")
    ),
    Instance("222222222222", "dev-api-1", "t3.medium", "od", _tags("platform", "api", "dev")),
    Instance("222222222222", "dev-api-2", "t3.medium", "od", _tags("platform", "api", "dev")),
    Instance("222222222222", "dev-etl-1", "m5.large", "od", _tags("data", "etl", "dev")),
    Instance("222222222222", "dev-web-1", "m5.large", "od", _tags("web", "frontend", "dev")),
    Instance("222222222222", "scratch-1", "t3.medium", "od"),  # untagged
    Instance("333333333333", "shared-db-1", "m5.xlarge", "od", _tags("platform", "shared-db", "shared")),
    Instance("333333333333", "shared-cache-1", "m5.large", "od", _tags("platform", "shared-cache", "shared")),
    Instance(
        "333333333333", "globex-worker", "m5.large", "od", _tags("web", "worker", "prod", customer="globex")
    ),
    Instance("333333333333", "bastion", "t3.medium", "od"),  # untagged
)


def _daily(
    account: str, code: str, rid: str, usage: str, usd: float, tags=None, weekend_pct: int = 100
) -> DailyResource:
    return DailyResource(account, code, rid, usage, round(usd * UNITS_PER_USD), tags or {}, weekend_pct)


DAILY_RESOURCES: tuple[DailyResource, ...] = (
    _daily(
        "111111111111",
        "AmazonRDS",
        "arn:aws:rds:us-east-1:111111111111:db:orders",
        "InstanceUsage:db.r5.large",
        48.0,
        _tags("platform", "api", "prod"),
    ),
    _daily(
        "111111111111",
        "AmazonS3",
        "orders-archive",
        "TimedStorage-ByteHrs",
        12.5,
        _tags("data", "etl", "prod"),
    ),
    _daily(
        "111111111111",
        "AWSLambda",
        "arn:aws:lambda:us-east-1:111111111111:function:ingest",
        "Request",
        6.2,
        _tags("data", "etl", "prod"),
    ),
    _daily(
        "111111111111",
        "AmazonDynamoDB",
        "arn:aws:dynamodb:us-east-1:111111111111:table/sessions",
        "ReadCapacityUnit-Hrs",
        9.8,
        _tags("web", "frontend", "prod"),
    ),
    _daily(
        "111111111111",
        "AmazonCloudFront",
        "E2DEMO111111",
        "DataTransfer-Out-Bytes",
        21.0,
        _tags("web", "frontend", "prod"),
    ),
    _daily(
        "111111111111",
        "AWSELB",
        "arn:aws:elasticloadbalancing:us-east-1:111111111111:loadbalancer/app/api",
        "LoadBalancerUsage",
        5.4,
        _tags("platform", "api", "prod"),
    ),
    _daily(
        "222222222222",
        "AmazonRDS",
        "arn:aws:rds:us-east-1:222222222222:db:dev-orders",
        "InstanceUsage:db.t3.medium",
        3.3,
        _tags("platform", "api", "dev"),
    ),
    _daily("222222222222", "AmazonS3", "dev-scratch", "TimedStorage-ByteHrs", 1.7),  # untagged
    _daily(
        "222222222222",
        "AWSLambda",
        "arn:aws:lambda:us-east-1:222222222222:function:dev-ingest",
        "Request",
        0.9,
        _tags("data", "etl", "dev"),
    ),
    _daily(
        "333333333333",
        "AmazonElastiCache",
        "arn:aws:elasticache:us-east-1:333333333333:cluster:shared-cache",
        "NodeUsage:cache.r6g.large",
        14.4,
        _tags("platform", "shared-cache", "shared"),
    ),
    _daily(
        "333333333333",
        "AmazonCloudFront",
        "E2DEMO333333",
        "DataTransfer-Out-Bytes",
        17.6,
        _tags("platform", "shared-cdn", "shared"),
    ),
    _daily("333333333333", "AmazonS3", "shared-assets", "TimedStorage-ByteHrs", 4.1),  # untagged
    _daily(
        "333333333333",
        "AmazonDynamoDB",
        "arn:aws:dynamodb:us-east-1:333333333333:table/tenants",
        "WriteCapacityUnit-Hrs",
        7.5,
        _tags("platform", "shared-db", "shared"),
    ),
    # The planted weekly seasonality: a weekday reporting workload, 5 % of it on weekends.
    _daily(
        "111111111111",
        "AmazonAthena",
        "arn:aws:athena:us-east-1:111111111111:workgroup/reports",
        "DataScannedInTB",
        320.0,
        _tags("data", "reports", "prod"),
        weekend_pct=5,
    ),
)

# Monthly line items (usage date = first day of the period).
TAX_UNITS = {"111111111111": 41_230_000_00, "222222222222": 6_120_000_00, "333333333333": 15_870_000_00}
CREDIT = {"account": "111111111111", "day": 15, "units": -50 * UNITS_PER_USD}

# A restatement of the closed month 2026-08 (a new delivery): a refund on one day and late
# usage on another. Exactly these day x account x service cells change, by these amounts.
RESTATEMENT = {
    "period": "2026-08",
    "lines": (
        {
            "date": dt.date(2026, 8, 20),
            "account": "111111111111",
            "product_code": "AmazonEC2",
            "line_item_type": "Credit",
            "usage_type": "",
            "resource_id": "",
            "units": -120 * UNITS_PER_USD,
        },
        {
            "date": dt.date(2026, 8, 5),
            "account": "333333333333",
            "product_code": "AmazonS3",
            "line_item_type": "Usage",
            "usage_type": "TimedStorage-ByteHrs-Late",
            "resource_id": "shared-assets",
            "units": 3_550_000_000,
        },
    ),
}

# Hourly CPU % per instance: (pattern, level). Idle dev instances are the planted waste,
# report-1 (r5.2xlarge) is the planted oversized instance, two dev machines work office hours
# only (idle 16 h a day); everything else follows a daily cycle around its level.
CPU_PROFILES = {
    "dev-api-1": ("idle", 2.0),
    "dev-api-2": ("idle", 2.0),
    "scratch-1": ("idle", 1.0),
    "dev-etl-1": ("business_hours", 45.0),
    "dev-web-1": ("business_hours", 35.0),
    "report-1": ("steady", 9.0),
}
DEFAULT_CPU_PROFILE = ("daily_cycle", 40.0)
# One resource in each other namespace, so discovery has something to find everywhere.
OTHER_METRICS = (
    ("AWS/RDS", "CPUUtilization", "DBInstanceIdentifier", "orders", 35.0),
    ("AWS/Lambda", "Invocations", "FunctionName", "ingest", 12000.0),
    ("AWS/S3", "BucketSizeBytes", "BucketName", "orders-archive", 5.2e11),
    ("AWS/DynamoDB", "ConsumedReadCapacityUnits", "TableName", "sessions", 840.0),
    ("AWS/ApplicationELB", "RequestCount", "LoadBalancer", "app/api/50dc6c495c0c9188", 91000.0),
    ("AWS/ECS", "CPUUtilization", "ServiceName", "checkout", 22.0),
    ("AWS/CloudFront", "Requests", "DistributionId", "E2DEMO111111", 250000.0),
    ("AWS/ApiGateway", "Count", "ApiName", "public-api", 43000.0),
    ("AWS/ElastiCache", "EngineCPUUtilization", "CacheClusterId", "shared-cache", 18.0),
)

# Business data. Each shared service's requests split by these exact shares every day, so the
# shared-cost split has a planted answer; initech's MRR is below its cost (negative margin).
CUSTOMERS = {"acme": ("Acme Corp", 2400), "globex": ("Globex", 1500), "initech": ("Initech", 90)}
REQUEST_SHARES = {  # service tag -> customer -> requests per day
    "shared-db": {"acme": 5000, "globex": 3000, "initech": 2000},
    "shared-cache": {"acme": 6000, "globex": 3000, "initech": 1000},
    "shared-cdn": {"acme": 4000, "globex": 4000, "initech": 2000},
}
MISSING_REQUESTS_DAY = dt.date(2026, 10, 12)  # the request feed has a gap: its check fails
# Monthly budgets. Only the production account's alerts: the spike still running at the end of
# the data puts the forecast of the open month (November) far over it.
BUDGETS = (
    ("account", "111111111111", 14000),
    ("account", "222222222222", 600),
    ("account", "333333333333", 2500),
    ("team", "platform", 3800),
    ("service", "AmazonEC2", 1500),
)
PLANTED_BUDGET_BREACH = ("account", "111111111111", "2026-11")
SHARED_SERVICES = ("shared-db", "shared-cache", "shared-cdn")

# Cost Explorer's view of the same spend, drifted on purpose so reconciliation has a planted
# answer: one finalized mismatch, one rounding-size difference within tolerance, one difference
# on an estimated (not yet final) day, and the day CUR lacks for the dev account (Cost Explorer
# has it: the copy of the day before), which reconciliation reports as missing in CUR.
CE_ESTIMATED_FROM = dt.date(2026, 10, 29)
# Cost categories (AWS Cost Categories) per account, as CUR 2.0's cost_category map carries
# them on every line item: allocation falls back to them where a resource has no tag.
COST_CATEGORIES = {
    "111111111111": {"Environment": "prod", "BusinessUnit": "core"},
    "222222222222": {"Environment": "dev", "BusinessUnit": "core"},
    "333333333333": {"Environment": "shared", "BusinessUnit": "growth"},
}
CE_DRIFT = (
    {
        "date": dt.date(2026, 9, 10),
        "account": "222222222222",
        "service": "AmazonRDS",
        "usd": "7.00",
        "status": "mismatch",
    },
    {
        "date": dt.date(2026, 9, 3),
        "account": "333333333333",
        "service": "AmazonElastiCache",
        "usd": "0.03",
        "status": "within_tolerance",
    },
    {
        "date": dt.date(2026, 10, 30),
        "account": "111111111111",
        "service": "AmazonEC2",
        "usd": "25.00",
        "status": "estimated",
    },
)

# Efficiency answers the marts must find (see CPU_PROFILES): the idle machines are the waste,
# report-1 fits the smallest r5, the office-hours dev machines are idle 16 h each weekday.
PLANTED_WASTE = ("dev-api-1", "dev-api-2", "scratch-1")
PLANTED_RIGHTSIZING = {"report-1": "r5.large"}
PLANTED_SCHEDULES = ("dev-etl-1", "dev-web-1")

# Insight answers (anomalies, billing auditor, budgets). Usage quantities carry the daily noise
# at a fixed unit rate, so "quantity x price" is what was billed except where planted otherwise.
SESSIONS_TABLE = "arn:aws:dynamodb:us-east-1:111111111111:table/sessions"
# About $4,000 a day of on-demand writes on one table: 3.2e9 write request units at $1.25 per
# million, from a Monday to the end of the data. Flagged critical on its first day, root cause
# this usage type, a volume change (a new usage, not a new price).
SPIKE = {
    "account": "111111111111",
    "product_code": "AmazonDynamoDB",
    "resource_id": SESSIONS_TABLE,
    "usage_type": "WriteRequestUnits",
    "from": dt.date(2026, 10, 26),
    "to": DEMO_END,
    "quantity": 3_200_000_000.0,
    "rate_units": 125,
    "tags": _tags("web", "frontend", "prod"),
}
# Benign billing discrepancies the auditor must auto-resolve, each with its reason:
# a one-off credit, a mid-period price change (ElastiCache nodes +25 % from the 16th) and usage of
# the last two days of September billed on the first of October (noise-free, $7.50 a day).
BENIGN_CREDIT = {
    "account": "333333333333",
    "product_code": "AmazonCloudFront",
    "date": dt.date(2026, 9, 12),
    "units": -80 * UNITS_PER_USD,
}
PRICE_CHANGE = {
    "resource_id": "arn:aws:elasticache:us-east-1:333333333333:cluster:shared-cache",
    "from": dt.date(2026, 10, 16),
    "pct": 125,
}
BOUNDARY_SHIFT = {
    "resource_id": "arn:aws:dynamodb:us-east-1:333333333333:table/tenants",
    "unbilled_days": (dt.date(2026, 9, 29), dt.date(2026, 9, 30)),
    "billed_on": dt.date(2026, 10, 1),
}
# Usage AWS never billed: S3 requests on the dev bucket for a week of September, quantity
# and public price present, no charge. The auditor's one open discrepancy: 7 x $7.50.
UNBILLED = {
    "account": "222222222222",
    "product_code": "AmazonS3",
    "resource_id": "dev-scratch",
    "usage_type": "Requests-Tier1",
    "from": dt.date(2026, 9, 8),
    "to": dt.date(2026, 9, 14),
    "quantity": 1_500_000.0,
    "rate_units": 500,
}  # $0.005 per 1,000 requests
UNBILLED_USD = "52.50"
