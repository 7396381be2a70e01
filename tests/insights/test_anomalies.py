"""Anomalies on the demo's planted truth: the $4,000/day spike is critical on its first day with
the planted usage type as root cause, and nothing else alerts (weekend dips included)."""

import datetime as dt
from decimal import Decimal

from finops_dagster.demo import catalog as C

SPIKE = C.SPIKE
SPIKE_USD = Decimal(int(SPIKE["quantity"]) * SPIKE["rate_units"]) / C.UNITS_PER_USD


def test_the_spike_is_critical_on_its_first_day_with_its_usage_type_as_root_cause(warehouse):
    rows = warehouse(
        "select dimension, dimension_value, severity, direction, cost_change, root_cause_usage_type, "
        "root_cause_resource_id, change_driver, episode_start, root_cause_share, sub_account_id "
        "from fct_cost_anomalies where usage_date = ? order by dimension",
        SPIKE["from"],
    )
    assert SPIKE_USD == Decimal(4000)
    assert [(d, v) for d, v, *_ in rows] == [
        ("account", SPIKE["account"]),
        ("service", SPIKE["product_code"]),
        ("team", "web"),
    ]
    for _, _, severity, direction, change, usage_type, resource, driver, episode, share, account in rows:
        assert (severity, direction, driver) == ("critical", "increase", "volume")
        assert (usage_type, resource) == (SPIKE["usage_type"], SPIKE["resource_id"])
        assert account == SPIKE["account"]
        assert episode == SPIKE["from"] and share > 0.98
        assert abs(change - SPIKE_USD) < 60  # the spike on top of the day's usual +-10 % noise


def test_every_anomaly_is_the_spike_no_false_positives(warehouse):
    rows = warehouse("select usage_date, root_cause_usage_type, episode_start from fct_cost_anomalies")
    days = (SPIKE["to"] - SPIKE["from"]).days + 1
    assert len(rows) == 3 * days  # account, service and team, each day of the spike
    assert {(u, e) for _, u, e in rows} == {(SPIKE["usage_type"], SPIKE["from"])}
    assert {d for d, *_ in rows} == {SPIKE["from"] + dt.timedelta(days=i) for i in range(days)}


def test_weekly_seasonality_is_planted_and_raises_nothing(warehouse):
    # Athena costs 5 % of a weekday on weekends: a $300 swing twice a week, every week
    by_weekday = dict(
        warehouse(
            "select isodow(usage_date) > 5, sum(effective_cost) / count(*) from fct_daily_cost "
            "where service_code = 'AmazonAthena' group by 1"
        )
    )
    weekend, weekday = float(by_weekday[True]), float(by_weekday[False])
    assert weekend < 0.07 * weekday and weekday > 300
    assert (
        warehouse(
            "select count(*) from fct_cost_anomalies where dimension_value in "
            "('AmazonAthena', 'data') or service_code = 'AmazonAthena'"
        )[0][0]
        == 0
    )
