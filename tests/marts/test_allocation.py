"""Allocation marts on the demo's planted truth: every dollar conserved, shared services split by
the planted request shares, the planted negative-margin customer found."""

import datetime as dt
from decimal import Decimal

from finops_dagster.demo import catalog as C


def test_allocation_conserves_every_day_to_the_cent(warehouse):
    rows = warehouse(
        "with a as (select usage_date, sum(billed_cost) b, sum(effective_cost) e from fct_cost_allocation "
        "group by 1), d as (select usage_date, sum(billed_cost) b, sum(effective_cost) e from fct_daily_cost "
        "group by 1) select d.usage_date, d.b - a.b, d.e - a.e from d left join a using (usage_date)"
    )
    assert len(rows) == 92
    assert all(db == 0 and de == 0 for _, db, de in rows)  # exact, not just to the cent


def test_shared_services_split_by_the_planted_request_shares(warehouse):
    day = dt.date(2026, 9, 18)
    rows = warehouse(
        "select application_service, customer_id, sum(effective_cost) from fct_cost_allocation "
        "where usage_date = ? and allocation_method = 'shared_split' group by 1, 2",
        day,
    )
    split: dict[str, dict[str, Decimal]] = {}
    for service, customer, cost in rows:
        split.setdefault(service, {})[customer] = cost
    assert set(split) == set(C.SHARED_SERVICES)
    for service, shares in C.REQUEST_SHARES.items():
        total = sum(split[service].values())
        want = {c: total * n / sum(shares.values()) for c, n in shares.items()}
        assert all(abs(split[service][c] - want[c]) < Decimal("1e-8") for c in shares), service
    # the day the request feed is missing, shared cost waits in the unallocated bucket
    missing = warehouse(
        "select distinct allocation_method from fct_cost_allocation where usage_date = ? "
        "and application_service in ('shared-db', 'shared-cache', 'shared-cdn')",
        C.MISSING_REQUESTS_DAY,
    )
    assert missing == [("unallocated_shared_without_requests",)]


def test_untagged_spend_is_an_explicit_bucket_and_coverage_matches(warehouse):
    untagged = warehouse(
        "select sum(effective_cost) from fct_cost_allocation where allocation_method = 'unallocated_untagged'"
    )[0][0]
    no_owner = warehouse(
        "select sum(effective_cost) from fct_daily_cost where tag_team is null and tag_customer is null"
    )[0][0]
    assert untagged == no_owner > 0
    coverage = warehouse("select sum(untagged_cost) from fct_tag_coverage where tag_key = 'team'")[0][0]
    no_team = warehouse("select sum(effective_cost) from fct_daily_cost where tag_team is null")[0][0]
    assert coverage == no_team


def test_unit_economics_find_the_negative_margin_customer(warehouse):
    rows = warehouse(
        "select billing_month, customer_id, mrr, allocated_cost, gross_margin, "
        "is_negative_margin from fct_customer_unit_economics"
    )
    assert len(rows) == 3 * len(C.CUSTOMERS)
    assert {c for _, c, *_, neg in rows if neg} == {"initech"}
    for _, customer, mrr, cost, margin, _ in rows:
        assert mrr == C.CUSTOMERS[customer][1] and margin == mrr - cost and cost > 0


def test_service_report_prices_requests(warehouse):
    rows = warehouse(
        "select application_service, last_30_days_cost, daily_average_cost, "
        "last_30_days_requests, cost_per_request, top_cost_drivers from fct_service_cost_report "
        "where application_service = 'shared-db'"
    )
    ((_, cost, daily, requests, per_request, drivers),) = rows
    # 2026-10-02..31 minus the missing feed day: 29 days of 10,000 requests
    assert requests == 29 * sum(C.REQUEST_SHARES["shared-db"].values())
    assert abs(per_request - cost / requests) < Decimal("1e-9") and abs(daily * 30 - cost) < Decimal("1e-6")
    assert drivers.startswith("arn:aws:dynamodb:us-east-1:333333333333:table/tenants (AmazonDynamoDB)")


def test_cost_categories_fill_in_where_tags_are_missing(warehouse):
    # scratch-1 and the dev S3 bucket carry no tags: their environment comes from the account's
    # Environment cost category; their team stays unallocated (the demo has no Team category)
    rows = warehouse(
        "select distinct environment, allocation_method from fct_cost_allocation "
        "where sub_account_id = ? and allocation_method = 'unallocated_untagged'",
        "222222222222",
    )
    assert rows == [(C.COST_CATEGORIES["222222222222"]["Environment"], "unallocated_untagged")]
    assert warehouse("select count(*) from fct_cost_allocation where environment = 'unallocated'")[0][0] == 0
