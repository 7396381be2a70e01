"""CloudWatch through real boto3 against a moto server over HTTP."""

import datetime as dt

import boto3
import polars as pl
import pytest

from finops_dagster.demo.cloudwatch_data import cpu_series, put_demo_metrics
from finops_dagster.demo.generator import _fleet
from finops_dagster.lake.cloudwatch_ingest import SOURCE, ingest_cloudwatch_days
from finops_dagster.lake.ledger import Ledger
from finops_dagster.lake.raw_lake import RawLake
from finops_dagster.sources.aws_calls import RateLimiter
from finops_dagster.sources.cloudwatch import KEY_METRICS, age_bands, make_client, period_for
from tests.conftest import days_between

NOW = dt.datetime(2026, 11, 1)
DAYS = days_between("2026-10-19", "2026-10-21")  # ages 11-13 days: 1-minute period


@pytest.fixture(scope="module")
def cloudwatch(aws_env):
    region = f"us-west-{2}"  # a region of its own: moto keeps metrics per region
    client = boto3.client("cloudwatch", region_name=region)
    fleet = _fleet(1)
    put_demo_metrics(client, fleet, DAYS[0], DAYS[-1])
    session = boto3.session.Session(region_name=region)
    return make_client(RateLimiter(20), session=session), fleet


def test_period_follows_retention():
    assert period_for(dt.timedelta(days=3)) == 60
    assert period_for(dt.timedelta(days=30)) == 300
    assert period_for(dt.timedelta(days=200)) == 3600
    assert period_for(dt.timedelta(days=500)) is None
    bands = age_bands(dt.datetime(2026, 7, 1), dt.datetime(2026, 11, 1), NOW)
    assert [(a.date().isoformat(), b.date().isoformat(), p) for a, b, p in bands] == [
        ("2026-07-01", "2026-08-30", 3600),
        ("2026-08-30", "2026-10-17", 300),
        ("2026-10-17", "2026-11-01", 60),
    ]


def test_discovery_and_exact_datapoints(cloudwatch, tmp_path):
    client, fleet = cloudwatch
    raw, ledger = RawLake(tmp_path / "raw"), Ledger(tmp_path / "l.sqlite")
    entries = ingest_cloudwatch_days([(client, "default")], raw, ledger, DAYS, NOW, lambda m: None)
    df = pl.concat([raw.scan_day(SOURCE, d).collect() for d in DAYS])
    assert set(df["namespace"]) == set(KEY_METRICS) - {"AWS/ELB"}  # the demo has no classic ELB
    ec2_cpu = df.filter(pl.col("namespace") == "AWS/EC2", pl.col("metric_name") == "CPUUtilization")
    assert ec2_cpu.height == len(fleet) * 24 * 3 * 3  # instances x hours x days x statistics
    assert set(ec2_cpu["period_seconds"]) == {60}
    dev = fleet.filter(pl.col("name") == "dev-api-1")["resource_id"].item()
    got = ec2_cpu.filter(pl.col("resource_id") == dev, pl.col("stat") == "Average").sort("timestamp")
    want = cpu_series("dev-api-1", DAYS[0], DAYS[-1])
    assert got["value"].to_list() == pytest.approx(want["value"].to_list())
    assert [e.row_count for e in entries] == [df.filter(pl.col("usage_date") == d).height for d in DAYS]


def test_batches_of_at_most_500_queries(cloudwatch, monkeypatch):
    from finops_dagster.sources import cloudwatch as cw

    client, _ = cloudwatch
    sizes = []
    real = cw.call

    def spy(c, op, **kw):
        if op == "get_metric_data":
            sizes.append(len(kw["MetricDataQueries"]))
        return real(c, op, **kw)

    monkeypatch.setattr(cw, "call", spy)
    metrics = [
        {
            "Namespace": "AWS/EC2",
            "MetricName": "CPUUtilization",
            "Dimensions": [{"Name": "InstanceId", "Value": f"i-{n:05d}"}],
        }
        for n in range(200)
    ]
    cw.fetch(client, metrics, dt.datetime(2026, 10, 20), dt.datetime(2026, 10, 21), NOW, lambda m: None)
    assert sizes == [500, 100]


def test_each_linked_account_is_read_through_its_role_and_elasticache_too(aws_env, tmp_path):
    """Real quirk: every linked account has its own CloudWatch; a role per account
    (FINOPS_CLOUDWATCH_ROLE_ARNS) reads it. moto keeps metrics per account for assumed-role
    credentials, so each account's data is written and read through its own role."""
    from finops_dagster.sources.aws_calls import account_session
    from finops_dagster.sources.cloudwatch import account_clients

    region = "eu-west-3"
    roles = {
        "444455556666": "arn:aws:iam::444455556666:role/finops-read",
        "777788889999": "arn:aws:iam::777788889999:role/finops-read",
    }
    base = boto3.session.Session(region_name=region)
    ts = dt.datetime.combine(DAYS[0], dt.time(10))
    for account, role in roles.items():
        session, _ = account_session(role, base)
        cw = session.client("cloudwatch")
        cw.put_metric_data(
            Namespace="AWS/EC2",
            MetricData=[
                {
                    "MetricName": "CPUUtilization",
                    "Dimensions": [{"Name": "InstanceId", "Value": f"i-{account}"}],
                    "Timestamp": ts,
                    "Value": 42.0,
                }
            ],
        )
        if account == "777788889999":
            cw.put_metric_data(
                Namespace="AWS/ElastiCache",
                MetricData=[
                    {
                        "MetricName": "EngineCPUUtilization",
                        "Dimensions": [{"Name": "CacheClusterId", "Value": "sessions-001"}],
                        "Timestamp": ts,
                        "Value": 12.5,
                    }
                ],
            )
    clients = account_clients(RateLimiter(20), list(roles.values()), session=base)
    assert [a for _, a in clients] == list(roles)
    raw, ledger = RawLake(tmp_path / "raw"), Ledger(tmp_path / "l.sqlite")
    ingest_cloudwatch_days(clients, raw, ledger, DAYS, NOW, lambda m: None)
    df = pl.concat([raw.scan_day(SOURCE, d).collect() for d in DAYS])
    by_account = {a: set(g["resource_id"]) for (a,), g in df.group_by("account_id")}
    assert by_account == {
        "444455556666": {"i-444455556666"},
        "777788889999": {"i-777788889999", "sessions-001"},
    }
    cache = df.filter(pl.col("namespace") == "AWS/ElastiCache", pl.col("stat") == "Average")
    assert cache["value"].to_list() == [12.5] and cache["account_id"].to_list() == ["777788889999"]
