"""The API as an operator deploys it (issue 14, F9): a token off loopback, answers cached within a
byte budget, exports replaced under load without a 500, unknown parameters refused, any AWS tag
value accepted, no server path in an error body."""

from __future__ import annotations

import threading
from decimal import Decimal

import polars as pl
import pytest
from fastapi.testclient import TestClient

from finops_dagster.api.app import ENDPOINTS, create_app
from finops_dagster.api.marts import MartReader
from finops_dagster.cli import main
from finops_dagster.warehouse.exports import KEEP_VERSIONS, publish_frame

WASTE = "/api/v1/ai/resources/waste-analysis"
TEAMS = ["web", "data platform", "ops@acme", "c++", "équipe-été", "a/b:c=d.e_f"]


def _publish_waste(exports, n: int = 3) -> None:
    publish_frame(
        exports,
        "fct_waste",
        pl.DataFrame(
            {
                "resource_id": [f"i-{i}" for i in range(n)],
                "sub_account_id": ["111111111111"] * n,
                "tag_team": [TEAMS[i % len(TEAMS)] for i in range(n)],
                "tag_service": ["api"] * n,
                "monthly_savings": [Decimal("1.50")] * n,
            }
        ),
    )


@pytest.fixture
def exports(tmp_path):
    path = tmp_path / "exports"
    _publish_waste(path, 12)
    return path


def test_a_token_is_required_when_set(exports):
    client = TestClient(create_app(exports, token="s3cret"))
    assert client.get(WASTE).status_code == 401
    assert client.get(WASTE, headers={"Authorization": "Bearer wrong"}).status_code == 401
    ok = client.get(WASTE, headers={"Authorization": "Bearer s3cret"})
    assert ok.status_code == 200 and ok.json()["pagination"]["total"] == 12
    assert client.get("/healthz").status_code == 200  # health checks need no token


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.5", "finops.internal"])
def test_serve_refuses_a_non_loopback_address_without_a_token(host, capsys, monkeypatch):
    monkeypatch.delenv("FINOPS_API_TOKEN", raising=False)
    assert main(["serve", "--host", host]) == 2
    assert "set FINOPS_API_TOKEN" in capsys.readouterr().err


def test_unknown_query_parameters_are_a_400_naming_the_accepted_ones(exports):
    response = TestClient(create_app(exports)).get(WASTE, params={"acount": "111111111111"})
    assert response.status_code == 400
    assert response.json()["detail"] == (
        f"unknown query parameter(s) acount; {WASTE} accepts account, team, service, limit, offset"
    )


@pytest.mark.parametrize("team", TEAMS)
def test_any_tag_value_aws_allows_is_accepted(exports, team):
    response = TestClient(create_app(exports)).get(WASTE, params={"team": team})
    assert response.status_code == 200, response.text
    assert {r["tag_team"] for r in response.json()["data"]} == {team}


def test_error_bodies_carry_no_server_path(tmp_path):
    client = TestClient(create_app(tmp_path / "nowhere"))
    response = client.get("/api/v1/anomalies")
    assert response.status_code == 404 and str(tmp_path) not in response.text
    assert "fct_cost_anomalies has no export yet" in response.json()["detail"]


def test_the_answer_cache_is_bounded_in_bytes(exports):
    reader = MartReader(exports, cache_bytes=20_000)
    _, query = ENDPOINTS[WASTE]
    for offset in range(200):  # 200 distinct answers
        reader.page(query, {}, 5, offset % 12 + offset // 12 * 0)
        reader.page(query, {"team": TEAMS[offset % len(TEAMS)]}, 1 + offset % 50, 0)
    assert 0 < reader.cached_bytes <= 20_000


def test_exports_replaced_under_load_never_fail_a_request(exports):
    app = create_app(exports)
    client = TestClient(app)
    errors, answers, stop = [], [], threading.Event()

    def read() -> None:
        while not stop.is_set():
            response = client.get(WASTE, params={"limit": 1000})
            if response.status_code != 200:
                errors.append(response.text)
            else:
                body = response.json()
                answers.append(body["pagination"]["total"])
                if len(body["data"]) != body["pagination"]["total"]:
                    errors.append("a page mixed two versions")

    readers = [threading.Thread(target=read) for _ in range(4)]
    for t in readers:
        t.start()
    for n in range(40):  # 40 new exports while four clients read
        _publish_waste(exports, 10 + n % 7)
    stop.set()
    for t in readers:
        t.join()
    assert errors == [] and len(answers) >= 10
    assert len(list((exports / "_versions" / "fct_waste").glob("*.parquet"))) >= KEEP_VERSIONS
