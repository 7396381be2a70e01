"""Cost marts on the demo's planted truth: reconciliation flags exactly the planted differences."""

import datetime as dt
from decimal import Decimal

from finops_dagster.demo import catalog as C


def test_reconciliation_flags_exactly_the_planted_differences(warehouse):
    rows = warehouse(
        "select usage_date, sub_account_id, service_name, status, unblended_difference "
        "from fct_cost_reconciliation where status <> 'match'"
    )
    found = {(d, a, s): (st, diff) for d, a, s, st, diff in rows}
    # services as Cost Explorer names them (EC2 instance hours: "... - Compute")
    planted = {
        (d["date"], d["account"], C.ce_service_name(d["service"])): (d["status"], Decimal(d["usd"]))
        for d in C.CE_DRIFT
    }
    missing = {k: v for k, v in found.items() if v[0] == "missing_in_cur"}
    assert {k: v for k, v in found.items() if v[0] != "missing_in_cur"} == planted
    # CUR lacks the dev account's day; Cost Explorer has it, for every service the account uses
    assert {(d, a) for d, a, _ in missing} == {(C.MISSING_DAY["date"], C.MISSING_DAY["account"])}
    assert {s for _, _, s in missing} == {
        C.ce_service_name(c) for c in ("AmazonEC2", "AmazonRDS", "AmazonS3", "AWSLambda")
    }
    total, matched = warehouse(
        "select count(*), count(*) filter (where status = 'match') from fct_cost_reconciliation"
    )[0]
    assert total - matched == len(planted) + len(missing)


def test_reconciliation_follows_the_restated_month(warehouse):
    # CUR and Cost Explorer both carry the restatement of 2026-08 (the sync re-read both)
    rows = warehouse(
        "select status, cur_unblended_cost, ce_unblended_cost from fct_cost_reconciliation "
        "where usage_date = ? and sub_account_id = ? and service_name = ?",
        dt.date(2026, 8, 20),
        "111111111111",
        C.ce_service_name("AmazonEC2"),
    )
    assert rows[0][0] == "match" and rows[0][1] == rows[0][2]


def test_dimensions_describe_accounts_services_and_resources(warehouse):
    accounts = warehouse(
        "select sub_account_id, primary_environment, first_usage_date, last_usage_date, "
        "days_with_cost from dim_account order by 1"
    )
    assert accounts == [
        ("111111111111", "prod", C.DEMO_START, C.DEMO_END, 92),
        ("222222222222", "dev", C.DEMO_START, C.DEMO_END, 91),  # the planted missing day
        ("333333333333", "shared", C.DEMO_START, C.DEMO_END, 92),
    ]
    services = dict(warehouse("select service_code, service_name from dim_service"))
    assert {k: v for k, v in services.items() if k in C.SERVICE_NAMES} == C.SERVICE_NAMES
    report = warehouse(
        "select r.instance_type, r.region_id, r.first_seen_date, r.last_seen_date, "
        "r.tag_team, r.tag_service from dim_resource r join fct_rightsizing_candidates c "
        "using (resource_id)"
    )
    assert report == [("r5.2xlarge", "us-east-1", C.DEMO_START, C.DEMO_END, "data", "reports")]
    assert warehouse(
        "select count(*) from dim_resource where service_code = 'AmazonEC2' and instance_type is not null"
    )[0][0] == len(C.INSTANCES)
