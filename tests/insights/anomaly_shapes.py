"""Usage cost with planted anomalies of several shapes, independent of the demo's own plants:
the input of fct_cost_anomalies (`int_cost__usage_daily`, `stg_business__requests`,
`fct_cur_restatements`) as tables, and the truth (episode per root cause, the days it lasts).

Shapes: a 10-day step (the one the old mean baseline lost after day 7), a ramp, a one-day
spike, a weekend-only spike over two weekends, a drop; decoys that must *not* alert: a volume
rise matched by the business driver (requests), a restated day, weekday seasonality and noise.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

START = dt.date(2026, 3, 2)  # a Monday
DAYS = 140


@dataclass
class Plant:
    resource_id: str
    usage_type: str
    days: list[dt.date]
    extra: list[float]  # the planted change in USD per day
    shape: str


@dataclass
class Truth:
    plants: list[Plant] = field(default_factory=list)
    decoys: dict[str, str] = field(default_factory=dict)  # resource -> why it must not alert


# resource, account, service, usage type, team, customer, service tag, cost per day, weekend share
FLEET = [
    ("i-step", "111111111111", "AmazonEC2", "BoxUsage:m5.2xlarge", "web", "acme", "checkout", 1800, 1.0),
    ("i-ramp", "111111111111", "AmazonEC2", "BoxUsage:c5.xlarge", "web", None, "search", 1200, 1.0),
    ("db-one", "222222222222", "AmazonRDS", "InstanceUsage:db.r5", "data", None, "ledger", 2500, 1.0),
    ("tbl-wknd", "222222222222", "AmazonDynamoDB", "WriteRequestUnits", "data", "globex", "events", 900, 0.5),
    ("bkt-drop", "333333333333", "AmazonS3", "Requests-Tier1", "platform", None, "media", 1500, 1.0),
    (
        "cdn-busy",
        "333333333333",
        "AmazonCloudFront",
        "DataTransfer-Out-Bytes",
        "platform",
        "acme",
        "storefront",
        2200,
        0.7,
    ),
    ("db-restated", "222222222222", "AmazonRDS", "InstanceUsage:db.m5", "data", None, "reports", 1100, 1.0),
] + [
    (f"i-{n:02d}", f"{(n % 3 + 1) * 111111111111}", svc, ut, team, None, f"svc{n}", base, wk)
    for n, (svc, ut, team, base, wk) in enumerate(
        [
            ("AmazonEC2", "BoxUsage:t3.large", "web", 300, 1.0),
            ("AmazonEC2", "BoxUsage:m5.large", "data", 700, 0.6),
            ("AWSLambda", "Lambda-GB-Second", "web", 450, 0.5),
            ("AmazonS3", "TimedStorage-ByteHrs", "platform", 800, 1.0),
            ("AmazonEC2", "EBS:VolumeUsage.gp3", "data", 350, 1.0),
            ("AmazonRDS", "InstanceUsage:db.t3", "platform", 260, 1.0),
            ("AmazonEC2", "BoxUsage:r5.xlarge", "data", 1300, 0.8),
            ("AmazonDynamoDB", "ReadRequestUnits", "web", 500, 0.4),
        ]
    )
]


def _day(i: int) -> dt.date:
    return START + dt.timedelta(days=i)


def generate(seed: int = 7) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, Truth]:
    rng = np.random.default_rng(seed)
    truth = Truth()
    extra: dict[tuple[str, dt.date], float] = {}

    def plant(resource: str, usage_type: str, shape: str, days: list[int], amounts: list[float]) -> None:
        when = [_day(i) for i in days]
        truth.plants.append(Plant(resource, usage_type, when, amounts, shape))
        for d, amount in zip(when, amounts, strict=True):
            extra[(resource, d)] = amount

    plant("i-step", "BoxUsage:m5.2xlarge", "step", list(range(70, 80)), [2400.0] * 10)
    plant("i-ramp", "BoxUsage:c5.xlarge", "ramp", list(range(84, 92)), [400.0 * (k + 2) for k in range(8)])
    plant("db-one", "InstanceUsage:db.r5", "one-day", [95], [3000.0])
    weekend = [i for i in range(103, 117) if _day(i).weekday() >= 5]  # two Saturdays and Sundays
    plant("tbl-wknd", "WriteRequestUnits", "weekend-only", weekend, [1500.0] * len(weekend))
    plant("bkt-drop", "Requests-Tier1", "drop", list(range(122, 127)), [-1100.0] * 5)

    busy = {_day(i): 1.0 + 0.45 * min(k, 4) / 4 for k, i in enumerate(range(60, 75))}  # requests rise
    truth.decoys["cdn-busy"] = "volume up 45 % with the requests of its service (a business driver)"
    truth.decoys["db-restated"] = "a restatement added a late line to an old day"
    restated_day = _day(100)
    extra[("i-03", _day(DAYS - 1))] = 1500.0  # the newest day: flagged, not yet alerted
    truth.decoys["i-03"] = "a spike on the newest day, whose late lines may still arrive"

    rows, requests = [], []
    for resource, account, service, usage_type, team, customer, tag, base, weekend_share in FLEET:
        for i in range(DAYS):
            d = _day(i)
            season = weekend_share if d.weekday() >= 5 else 1.0
            driver = busy.get(d, 1.0) if resource == "cdn-busy" else 1.0
            noise = 1.0 + rng.normal(0, 0.03)
            cost = base * season * driver * noise + extra.get((resource, d), 0.0)
            if resource == "db-restated" and d == restated_day:
                cost += 900.0
            rows.append(
                (
                    d,
                    account,
                    service,
                    usage_type,
                    "us-east-1",
                    resource,
                    team,
                    customer,
                    tag,
                    round(cost, 2),
                    round(cost / 0.1, 3),
                )
            )
            if resource == "cdn-busy":
                count = 1_000_000 * season * driver * (1 + rng.normal(0, 0.01))
                requests.append((d, "acme", tag, int(count)))
    usage = pl.DataFrame(
        rows,
        orient="row",
        schema=[
            "usage_date",
            "sub_account_id",
            "service_code",
            "usage_type",
            "region_id",
            "resource_id",
            "team",
            "customer",
            "tag_service",
            "effective_cost",
            "usage_quantity",
        ],
    )
    requests_df = pl.DataFrame(
        requests, orient="row", schema=["usage_date", "customer_id", "service_tag", "request_count"]
    )
    restatements = pl.DataFrame(
        [
            {
                "billing_period": f"{restated_day:%Y-%m}",
                "old_delivery_id": "a",
                "new_delivery_id": "b",
                "usage_date": restated_day,
                "sub_account_id": "222222222222",
                "service_code": "AmazonRDS",
                "old_billed_cost": 1100.0,
                "new_billed_cost": 2000.0,
                "billed_cost_change": 900.0,
                "old_effective_cost": 1100.0,
                "new_effective_cost": 2000.0,
                "effective_cost_change": 900.0,
                "detected_at": dt.datetime(2026, 7, 20),
            }
        ]
    )
    return usage, requests_df, restatements, truth


def write_warehouse(path: Path, seed: int = 7) -> Truth:
    """The three upstream relations of fct_cost_anomalies in a DuckDB file dbt can build on."""
    usage, requests, restatements, truth = generate(seed)
    with duckdb.connect(str(path)) as con:
        con.register("usage_df", usage.to_arrow())
        con.execute(
            "create or replace table int_cost__usage_daily as select * replace "
            "(cast(effective_cost as decimal(38, 10)) as effective_cost) from usage_df"
        )
        con.register("requests_df", requests.to_arrow())
        con.execute("create or replace table stg_business__requests as select * from requests_df")
        con.register("restated_df", restatements.to_arrow())
        con.execute(
            "create or replace table fct_cur_restatements as select * replace ("
            + ", ".join(
                f"cast({c} as decimal(38, 10)) as {c}"
                for c in restatements.columns
                if c.endswith("_cost") or c.endswith("_change")
            )
            + ") from restated_df"
        )
    return truth


def score(alerted: pl.DataFrame, truth: Truth) -> dict[str, float]:
    """Precision and recall by alert (one per planted episode) and by day (a planted day is
    caught when an alertable anomaly row names its resource that day)."""
    episodes = {(p.resource_id, p.usage_type): p for p in truth.plants}
    alerts = alerted.select(
        "root_cause_resource_id", "root_cause_usage_type", "root_cause_episode_start"
    ).unique()
    true_alerts = [
        a
        for a in alerts.iter_rows()
        if (a[0], a[1]) in episodes
        and episodes[(a[0], a[1])].days[0] <= a[2] <= episodes[(a[0], a[1])].days[-1]
    ]
    found_days = {(r, d) for r, d in alerted.select("root_cause_resource_id", "usage_date").iter_rows()}
    planted_days = {(p.resource_id, d) for p in truth.plants for d in p.days}
    return {
        "alerts": alerts.height,
        "precision_by_alert": len(true_alerts) / alerts.height if alerts.height else 0.0,
        "recall_by_alert": len({(a[0], a[1]) for a in true_alerts}) / len(episodes),
        "precision_by_day": len(found_days & planted_days) / len(found_days) if found_days else 0.0,
        "recall_by_day": len(found_days & planted_days) / len(planted_days),
    }
