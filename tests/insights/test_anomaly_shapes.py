"""Anomaly precision and recall on planted shapes the demo does not have (issue 16: on an
independent dataset 12 of 13 alerts were false and a 10-day spike was flagged on 7 days): a
10-day step, a ramp, a one-day spike, a weekend-only spike over two weekends and a drop, beside
decoys that must stay quiet: a volume rise its requests explain, a restated day, weekday
seasonality and 3 % noise on every resource. fct_cost_anomalies is built by dbt itself on a
warehouse holding only its three inputs (tests/insights/anomaly_shapes.py)."""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl
import pytest

from finops_dagster.insights.alerting import anomaly_alerts, anomaly_episodes
from tests.dbt_run import build_model
from tests.insights import anomaly_shapes as shapes


@pytest.fixture(scope="module", params=[7, 11])  # two noise draws (eight measured: all 1.0)
def scored(tmp_path_factory, request):
    root = tmp_path_factory.mktemp("shapes")
    truth = shapes.write_warehouse(root / "warehouse.duckdb", seed=request.param)
    build_model(root, "fct_cost_anomalies")
    with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as con:
        anomalies = con.sql("select * from fct_cost_anomalies").pl()
    return anomalies, truth


def test_every_planted_shape_alerts_once_and_nothing_else_does(scored):
    anomalies, truth = scored
    alerts = anomaly_alerts(anomalies)
    got = {(a.alert_id.split(":")[2], a.alert_id.split(":")[1]) for a in alerts}
    want = {(p.resource_id, str(p.days[0])) for p in truth.plants}
    assert got == want, [a.text for a in alerts]


def test_precision_and_recall_by_alert_and_by_day_are_at_least_0_9(scored):
    anomalies, truth = scored
    result = shapes.score(anomaly_episodes(anomalies), truth)
    assert result["precision_by_alert"] == 1.0 and result["recall_by_alert"] == 1.0, result
    assert result["precision_by_day"] >= 0.9 and result["recall_by_day"] >= 0.9, result


def test_the_ten_day_step_is_flagged_every_day_it_lasts(scored):
    anomalies, truth = scored
    (step,) = [p for p in truth.plants if p.shape == "step"]
    flagged = set(
        anomaly_episodes(anomalies).filter(pl.col("root_cause_resource_id") == step.resource_id)["usage_date"]
    )
    assert flagged == set(step.days)  # the median baseline holds; the mean lost days 8-10


def test_decoys_are_found_but_explained_not_alerted(scored):
    anomalies, truth = scored
    cdn = anomalies.filter(pl.col("root_cause_resource_id") == "cdn-busy")
    assert cdn.height > 0 and cdn["explained_by_driver"].all()  # flagged, then explained
    assert cdn["driver_change_pct"].max() > 30
    restated = anomalies.filter(pl.col("root_cause_resource_id") == "db-restated")
    assert restated.height > 0 and restated["restated"].all() and not restated["alertable"].any()
    fresh = anomalies.filter(pl.col("root_cause_resource_id") == "i-03")
    assert set(fresh["usage_date"]) == {shapes.START + dt.timedelta(days=shapes.DAYS - 1)}
    assert not fresh["settled"].any() and not fresh["alertable"].any()
    assert anomalies.filter(pl.col("usage_date") < fresh["usage_date"].min())["settled"].all()
