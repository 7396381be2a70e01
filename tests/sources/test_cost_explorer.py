"""Cost Explorer through real boto3 against the local JSON 1.1 endpoint, with faults."""

import datetime as dt
from decimal import Decimal

import pytest

from finops_dagster.demo.cost_explorer_server import EndpointState, Faults, dataset_from_cur, serve
from finops_dagster.lake.cost_explorer_ingest import SOURCE, ingest_cost_explorer_days
from finops_dagster.lake.ledger import Ledger
from finops_dagster.lake.raw_lake import RawLake
from finops_dagster.sources.cost_explorer import CostExplorerError, RateLimiter, make_client, parse_group_by
from tests.conftest import days_between, file_digest

SEPT = days_between("2026-09-01", "2026-09-30")
GROUPS = ["SERVICE,LINKED_ACCOUNT", "TAG:team"]


@pytest.fixture(scope="module")
def ce_data(demo):
    return dataset_from_cur(demo["export_root"])


@pytest.fixture
def endpoint(ce_data, aws_env, monkeypatch):
    state = EndpointState(
        data=ce_data,
        page_size=60,
        estimated_from=dt.date(2026, 9, 28),
        cost_categories={"Environment": ["prod", "dev", "shared"]},
    )
    with serve(state) as url:
        monkeypatch.setenv("AWS_ENDPOINT_URL_COST_EXPLORER", url)
        yield state


@pytest.fixture
def lake(tmp_path):
    return RawLake(tmp_path / "raw"), Ledger(tmp_path / "ledger.sqlite"), tmp_path / "state"


def _ingest(lake, days=SEPT, max_attempts=3, roles=(None,)):
    raw, ledger, state = lake
    limiter = RateLimiter(5)
    clients = [make_client(limiter, role, max_attempts=max_attempts) for role in roles]
    return ingest_cost_explorer_days(clients, raw, ledger, days, GROUPS, state, lambda m: None)


def _truth_by_day(demo):
    out = {}
    for t in demo["daily"]:
        out[t["date"]] = out.get(t["date"], Decimal(0)) + Decimal(t["unblended"])
    return out


def test_group_by_specs():
    assert parse_group_by("SERVICE,LINKED_ACCOUNT") == [
        {"Type": "DIMENSION", "Key": "SERVICE"},
        {"Type": "DIMENSION", "Key": "LINKED_ACCOUNT"},
    ]
    assert parse_group_by("TAG:team") == [{"Type": "TAG", "Key": "team"}]
    with pytest.raises(ValueError, match="at most 2"):
        parse_group_by("SERVICE,REGION,TAG:team")


def test_paged_daily_costs_equal_cur_truth(endpoint, lake, demo):
    entries = _ingest(lake)
    truth = _truth_by_day(demo)
    for e in entries:
        assert e.unblended_cost == truth[str(e.usage_date)], e.usage_date
    assert sum(1 for _, op in endpoint.requests if op == "GetCostAndUsage") > 10  # many pages
    raw = lake[0].scan_day(SOURCE, dt.date(2026, 9, 29)).collect()
    assert raw["estimated"].all() and set(raw["query"]) == set(GROUPS)
    early = lake[0].scan_day(SOURCE, dt.date(2026, 9, 2)).collect()
    assert not early["estimated"].any()
    assert set(early.filter(early["query"] == "TAG:team")["group_1"]) >= {"team$platform", "team$"}


def test_throttled_calls_give_identical_rows_within_5_per_second(endpoint, lake, demo, tmp_path):
    week = SEPT[:10]  # enough pages to throttle (the limiter makes every call cost 0.2 s)
    clean = {e.usage_date: (e.row_count, e.unblended_cost) for e in _ingest(lake, week)}
    clean_requests = len(endpoint.requests)
    endpoint.faults = Faults(throttle_rate=0.3)
    endpoint.requests.clear()
    other = (RawLake(tmp_path / "raw2"), Ledger(tmp_path / "l2.sqlite"), tmp_path / "state2")
    throttled = {e.usage_date: (e.row_count, e.unblended_cost) for e in _ingest(other, week, max_attempts=10)}
    assert throttled == clean
    assert len(endpoint.requests) > clean_requests  # throttled calls were retried
    assert endpoint.max_requests_per_second() <= 5


def test_killed_mid_pagination_resumes_without_duplicates(endpoint, lake, tmp_path):
    clean_lake = (RawLake(tmp_path / "c"), Ledger(tmp_path / "c.sqlite"), tmp_path / "cs")
    clean = {e.usage_date: (e.row_count, e.unblended_cost) for e in _ingest(clean_lake)}
    pages_clean = endpoint.pages_served
    endpoint.pages_served = 0
    endpoint.faults = Faults(fail_after_pages=4)
    with pytest.raises(CostExplorerError, match="InternalServerException"):
        _ingest(lake, max_attempts=1)
    assert len(list((lake[2] / "default").rglob("page-*.json"))) == 4
    assert lake[1].day(SOURCE, SEPT[0]) is None  # nothing half-ingested
    endpoint.faults = Faults()
    endpoint.pages_served = 0
    resumed = {e.usage_date: (e.row_count, e.unblended_cost) for e in _ingest(lake)}
    assert resumed == clean
    assert endpoint.pages_served == pages_clean - 4  # the 4 saved pages were not fetched again
    assert not list(lake[2].rglob("page-*.json"))  # state dropped once the days are in the lake


@pytest.mark.parametrize(
    "fault,message",
    [(Faults(error_page=True), "502"), (Faults(expired_credentials=True), "ExpiredTokenException")],
)
def test_api_errors_are_clear_and_lose_nothing(endpoint, lake, fault, message):
    _ingest(lake)
    before = {d: file_digest(lake[0].day_path(SOURCE, d)) for d in SEPT}
    endpoint.faults = fault
    with pytest.raises(CostExplorerError, match=message):
        _ingest(lake, max_attempts=1)
    assert {d: file_digest(lake[0].day_path(SOURCE, d)) for d in SEPT} == before


def test_cross_account_roles_are_assumed(endpoint, lake):
    roles = ["arn:aws:iam::111111111111:role/finops-read", "arn:aws:iam::333333333333:role/finops-read"]
    entries = _ingest(lake, days=SEPT[:3], roles=roles)
    assert set(entries[0].accounts) == {"111111111111", "333333333333"}
    raw = lake[0].scan_day(SOURCE, SEPT[0]).collect()
    assert set(raw["source_account"]) == {"111111111111", "333333333333"}
