"""Stop/start schedules only where they are safe (issue 16: 7 of 10 offered schedules were wrong,
among them production ETL busy 00-06 UTC and an oversized production instance). A fleet of its
own, independent of the demo: dev / test / staging instances on office hours (the planted
answers), beside production and untagged instances on the same hours, non-production ETL busy
at night, instances running around the clock, and instances whose nights are busy on one day in
five. fct_workload_schedules is built by dbt on a warehouse holding only its two inputs."""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import polars as pl
import pytest

from tests.dbt_run import build_model

AS_OF = dt.date(2026, 9, 30)
DAYS = [AS_OF - dt.timedelta(days=i) for i in range(29, -1, -1)]

# name -> (environment tag, pattern); planted: office hours in a non-production environment
FLEET = {
    **{f"dev-office-{i}": (env, "office") for i, env in enumerate(["dev", "test", "staging", "qa", "dev"])},
    "dev-office-wknd": ("dev", "office_and_saturday"),
    **{f"prod-office-{i}": (env, "office") for i, env in enumerate(["prod", "production", "Prod"])},
    "untagged-office": (None, "office"),
    **{f"dev-etl-{i}": ("dev", "etl_night") for i in range(3)},
    "prod-oversized": ("prod", "always"),
    "dev-always": ("dev", "always"),
    "dev-flaky-night": ("dev", "office_and_some_nights"),
    "cc-dev-office": (None, "office"),  # no tag: its Environment cost category says dev
}
COST_CATEGORY_ENVIRONMENT = {"cc-dev-office": "dev", "untagged-office": None}
PLANTED = {
    n
    for n, (env, p) in FLEET.items()
    if p in ("office", "office_and_saturday")
    and (env or COST_CATEGORY_ENVIRONMENT.get(n)) in ("dev", "test", "staging", "qa")
}


def _cpu(name: str, pattern: str, day: dt.date, hour: int, rng) -> float:
    weekday = day.isoweekday()
    busy = {
        "office": weekday <= 5 and 9 <= hour < 17,
        "office_and_saturday": (weekday <= 5 or weekday == 6) and 9 <= hour < 17,
        "etl_night": hour < 6,
        "always": True,
        "office_and_some_nights": weekday <= 5 and 9 <= hour < 17,
    }[pattern]
    if pattern == "office_and_some_nights" and day.day % 5 == 0 and hour == 3:
        return 12.0  # a light night job one day in five: busy that day, idle on average
    return float(max(0.0, (40.0 if busy else 1.0) + rng.normal(0, 0.8)))


@pytest.fixture(scope="module")
def schedules(tmp_path_factory):
    return build(tmp_path_factory.mktemp("schedules"))


def build(root, seed: int = 3) -> pl.DataFrame:
    """fct_workload_schedules over the planted fleet (also bench/accuracy.py's)."""
    rng = np.random.default_rng(seed)
    hourly = pl.DataFrame(
        [
            (name, day, hour, day.isoweekday(), _cpu(name, pattern, day, hour, rng))
            for name, (_, pattern) in FLEET.items()
            for day in DAYS
            for hour in range(24)
        ],
        orient="row",
        schema=["resource_id", "usage_date", "hour_of_day", "iso_weekday", "cpu_avg_pct"],
    )
    hourly = hourly.with_columns(cpu_max_pct=pl.col("cpu_avg_pct") + 5)
    daily = hourly.group_by("resource_id", "usage_date").agg(avg_cpu_pct=pl.col("cpu_avg_pct").mean())
    resources = pl.DataFrame(
        [
            {
                "resource_id": name,
                "sub_account_id": "222222222222",
                "instance_type": "m5.large",
                "tag_team": "web",
                "tag_service": "app",
                "tag_environment": env,
                "cost_category_environment": COST_CATEGORY_ENVIRONMENT.get(name),
            }
            for name, (env, _) in FLEET.items()
        ]
    )
    path = root / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:  # the upstream relations of the efficiency window model
        for name, frame in {"h": hourly, "d": daily, "r": resources}.items():
            con.register(name, frame.to_arrow())
        con.execute(
            "create table int_cloudwatch__ec2_hourly as select * replace (cast(hour_of_day as "
            "integer) as hour_of_day, cast(iso_weekday as integer) as iso_weekday) from h"
        )
        con.execute("create table fct_resource_utilization as select *, 1.0 as data_completeness from d")
        con.execute(  # the usage cost per resource and day (an incremental model of the daily step)
            "create table int_cost__resource_daily as select resource_id, usage_date, "
            "'222222222222' as sub_account_id, 'm5.large' as instance_type, "
            "cast(70.08 * 24 / 730 as decimal(38, 10)) as billed_cost, "
            "cast(70.08 * 24 / 730 as decimal(38, 10)) as effective_cost, "
            "cast(70.08 * 24 / 730 as decimal(38, 10)) as list_cost from d"
        )
        con.execute("create table dim_resource as select * from r")
        con.execute(
            "create table instance_types as select 'm5.large' as instance_type, 'm5' as family, "
            "2 as vcpu, 8.0 as memory_gib, cast(0.096 as decimal(38, 10)) as on_demand_hourly_usd"
        )
    build_model(root, "fct_workload_schedules")
    with duckdb.connect(str(path), read_only=True) as con:
        return con.sql("select * from fct_workload_schedules").pl()


def test_only_the_planted_non_production_office_hours_are_offered(schedules):
    offered = set(schedules.filter(pl.col("is_schedulable"))["resource_id"])
    precision = len(offered & PLANTED) / len(offered)
    recall = len(offered & PLANTED) / len(PLANTED)
    assert (precision, recall) == (1.0, 1.0), offered ^ PLANTED


def test_each_refusal_says_why(schedules):
    reasons = dict(schedules.select("resource_id", "not_schedulable_reason").unique().iter_rows())
    for name, (env, pattern) in FLEET.items():
        if name in PLANTED:
            assert reasons[name] is None
        elif env is None or env.lower().startswith("prod"):
            assert reasons[name] == "production or untagged environment", name
        elif pattern in ("etl_night", "always"):
            assert reasons[name] == "active at night or idle too briefly", name
        else:  # busy at 03:00 on one day in five: its average night looks idle, its days do not
            assert reasons[name] == "irregular: too few days keep to the window", name


def test_savings_are_the_hours_outside_the_running_window(schedules):
    week = schedules.filter(pl.col("resource_id") == "dev-office-0").sort("iso_weekday")
    assert week["schedule_confidence"].to_list() == [1.0] * 7
    assert week["idle_hours"].to_list() == [16] * 5 + [24] * 2
    hourly = 70.08 / 730
    assert float(week["monthly_savings"].sum()) == pytest.approx(hourly * 128 * 730 / 168, abs=0.01)
    saturday = schedules.filter(pl.col("resource_id") == "dev-office-wknd", pl.col("iso_weekday") == 6)
    assert saturday["idle_hours"].to_list() == [16]  # works Saturdays: only its nights are saved
