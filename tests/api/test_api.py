"""The read-only API over the demo's marts: real values, filters, pagination, clear 4xx, and a
property-based fuzz of its OpenAPI schema (no 5xx, no SQL injection)."""

from decimal import Decimal

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from finops_dagster.api.app import ENDPOINTS, create_app


@pytest.fixture(scope="module")
def app(pipeline):
    settings, *_ = pipeline
    return create_app(settings.data_dir / "exports")


@pytest.fixture(scope="module")
def client(app):
    return TestClient(app)


def test_optimization_endpoints_serve_the_planted_findings(client, warehouse):
    waste = client.get("/api/v1/ai/resources/waste-analysis").json()
    assert waste["pagination"]["total"] == 3
    assert {r["resource_id"] for r in waste["data"]} == {
        r[0] for r in warehouse("select resource_id from fct_waste")
    }
    rs = client.get("/api/v1/ai/resources/rightsizing-candidates").json()["data"]
    assert [(r["target_instance_type"], Decimal(r["monthly_savings"])) for r in rs] == [
        ("r5.large", Decimal("275.94"))
    ]
    portfolio = client.get("/api/v1/ai/summary/portfolio-analysis").json()["data"]
    assert {r["category"] for r in portfolio} == {
        "idle_resources",
        "rightsizing",
        "workload_schedules",
        "commitments",
    }
    commitments = client.get("/api/v1/ai/costs/commitment-opportunities", params={"account": "111111111111"})
    assert [r["recommended_hourly_commitment"] for r in commitments.json()["data"]] == ["0.06912"]
    schedules = client.get(
        "/api/v1/ai/patterns/workload-schedules", params={"account": "222222222222"}
    ).json()
    assert schedules["pagination"]["total"] == 2 * 7  # two office-hours dev machines x 7 weekdays


def test_allocation_filters_and_pagination(client, warehouse):
    params = {"start_date": "2026-09-01", "end_date": "2026-09-30"}
    teams = client.get("/api/v1/allocation/teams", params=params).json()
    total = sum(Decimal(r["effective_cost"]) for r in teams["data"])
    want = warehouse(
        "select sum(effective_cost) from fct_daily_cost where usage_date between ? and ?",
        "2026-09-01",
        "2026-09-30",
    )[0][0]
    assert total == want  # every dollar of September, to the cent and beyond
    first = client.get("/api/v1/costs/trend", params={**params, "limit": 10}).json()
    second = client.get("/api/v1/costs/trend", params={**params, "limit": 10, "offset": 10}).json()
    assert first["pagination"]["total"] == 30
    assert first["data"][0]["usage_date"] == "2026-09-01" and second["data"][0]["usage_date"] == "2026-09-11"
    customers = client.get("/api/v1/allocation/customers", params={"start_date": "2026-10-01"}).json()["data"]
    assert {c["customer_id"]: c["is_negative_margin"] for c in customers} == {
        "acme": False,
        "globex": False,
        "initech": True,
    }


@pytest.mark.parametrize(
    ("params", "status", "says"),
    [
        ({"start_date": "2026-13-01"}, 422, "date"),
        ({"start_date": "2026-10-02", "end_date": "2026-10-01"}, 400, "after end_date"),
        ({"account": "1234"}, 422, "pattern"),
        ({"limit": 0}, 422, "greater than or equal to 1"),
        ({"team": "x' or 1=1 --"}, 422, "pattern"),
    ],
)
def test_bad_parameters_are_clear_4xx(client, params, status, says):
    response = client.get("/api/v1/allocation/teams", params=params)
    assert response.status_code == status and says in response.text


def test_a_filter_an_endpoint_cannot_apply_is_refused_not_ignored(client):
    response = client.get("/api/v1/ai/costs/commitment-opportunities", params={"team": "web"})
    assert response.status_code == 400
    assert "cannot filter by team; it takes account" in response.json()["detail"]


def test_a_mart_not_built_yet_is_a_404_naming_it(tmp_path):
    response = TestClient(create_app(tmp_path)).get("/api/v1/anomalies")
    assert response.status_code == 404 and "fct_cost_anomalies" in response.json()["detail"]


def test_insight_endpoints_serve_the_planted_findings(client):
    anomalies = client.get(
        "/api/v1/anomalies",
        params={"service": "AmazonDynamoDB", "start_date": "2026-10-26", "end_date": "2026-10-26"},
    )
    body = anomalies.json()
    assert body["pagination"]["total"] == 3  # the spike's first day: account, service and team
    assert {r["severity"] for r in body["data"]} == {"critical"}
    assert {r["root_cause_usage_type"] for r in body["data"]} == {"WriteRequestUnits"}
    assert client.get("/api/v1/anomalies", params={"service": "AmazonAthena"}).json()["data"] == []
    audit = client.get("/api/v1/billing-audit", params={"account": "222222222222"}).json()["data"]
    assert [(r["status"], r["diagnosis"], r["unbilled_cost"]) for r in audit] == [
        ("open", "unbilled_usage", "52.5")
    ]
    budgets = client.get("/api/v1/budgets").json()["data"]
    over = [(b["scope_type"], b["scope_value"]) for b in budgets if b["alert"]]
    assert over == [("account", "111111111111")]
    forecast = client.get("/api/v1/forecast").json()["data"]
    assert "simulated_totals" not in forecast[0]
    assert {f["scope_type"] for f in forecast} >= {"total", "account"}
    # money is an exact decimal string everywhere, the simulated forecast and budgets too
    for row in forecast:
        for column in ("actual_to_date", "forecast", "lower_80", "upper_80", "lower_95", "upper_95"):
            assert isinstance(row[column], str) and Decimal(row[column]) == round(Decimal(row[column]), 2)
    for row in budgets:
        assert all(isinstance(row[c], str) for c in ("monthly_budget", "actual_to_date", "forecast"))
    accuracy = client.get("/api/v1/forecast/accuracy").json()["data"]  # the backtest, summarized
    assert {r["scope_type"] for r in accuracy} == {"account", "service"}
    assert all(r["replays"] for r in accuracy)
    assert all(0 <= float(r["calibrated_coverage_80"]) <= 1 for r in accuracy)


def test_a_worker_pays_duckdbs_first_bound_query_imports_before_its_first_request(tmp_path):
    """DuckDB imports pandas, numpy and pyarrow on the first statement with bound parameters
    (0.23 s): the reader does that when the app is built, so the first request after a start
    does not (a cold /costs/trend took 0.3 s over the 20M-line-item month; 17 ms since)."""
    import subprocess
    import sys

    probe = (
        "import sys; from pathlib import Path; from finops_dagster.api.app import create_app; "
        "create_app(Path(sys.argv[1])); print('pyarrow' in sys.modules, 'pandas' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe, str(tmp_path)], capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["True", "True"]


def test_the_root_names_the_api_and_its_endpoints(tmp_path):
    body = TestClient(create_app(tmp_path)).get("/").json()
    assert body["name"] == "finops-dagster API" and body["docs"] == "/docs"
    assert set(body["endpoints"]) == set(ENDPOINTS)


def test_every_endpoint_is_in_the_openapi_schema(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert set(ENDPOINTS) <= set(paths)


def test_fuzzed_requests_never_fail_the_server(app, client, warehouse):
    """Property-based, from the OpenAPI schema: whatever the parameters (out-of-range numbers,
    odd dates, SQL fragments in every string), the API answers 2xx or a documented 4xx and its
    responses match the schema. (A start_date after end_date is a documented 400 that the
    schema cannot express, so the check that every schema-valid request is accepted is off.)"""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    calls = 0
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=operation.as_strategy())
        def check(case) -> None:
            nonlocal calls
            calls += 1
            case.call_and_validate(excluded_checks=[positive_data_acceptance])

        check()
    assert calls >= 25 * len(ENDPOINTS) // 2
    # and the marts are untouched: still every row, still readable
    assert client.get("/api/v1/ai/resources/waste-analysis").json()["pagination"]["total"] == 3
    assert warehouse("select count(*) from fct_waste")[0][0] == 3


def test_a_new_export_is_served_at_once_never_a_stale_cached_answer(tmp_path):
    import polars as pl

    exports = tmp_path / "exports"
    exports.mkdir()
    client = TestClient(create_app(exports))

    def publish(resources: list[str]) -> None:
        frame = pl.DataFrame(
            {
                "resource_id": resources,
                "sub_account_id": ["111111111111"] * len(resources),
                "tag_team": ["web"] * len(resources),
                "tag_service": ["api"] * len(resources),
                "monthly_savings": [Decimal("1.50")] * len(resources),
            }
        )
        tmp = exports / ".fct_waste.parquet.tmp"
        frame.write_parquet(tmp)
        tmp.replace(exports / "fct_waste.parquet")

    publish(["i-1"])
    url = "/api/v1/ai/resources/waste-analysis"
    assert [r["resource_id"] for r in client.get(url).json()["data"]] == ["i-1"]
    assert client.get(url).json()["data"][0]["monthly_savings"] == "1.5"  # cached, exact
    publish(["i-1", "i-2"])
    assert client.get(url).json()["pagination"]["total"] == 2


def test_serve_runs_two_workers_that_each_answer_from_the_exports(pipeline):
    import json
    import os
    import subprocess
    import sys
    import urllib.request

    from finops_dagster.demo.aws import free_port, wait_for_http

    settings, *_ = pipeline
    port = free_port()
    env = {**os.environ, "FINOPS_DATA_DIR": str(settings.data_dir)}
    server = subprocess.Popen(
        [sys.executable, "-m", "finops_dagster.cli", "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/healthz", server, 60, "serve --workers 2 did not start")
        for _ in range(4):  # new connections: the kernel spreads them over both workers
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/billing-audit?limit=1") as r:
                assert json.load(r)["pagination"]["total"] == 9
    finally:
        server.terminate()
        server.wait(15)
