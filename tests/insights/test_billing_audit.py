"""The billing auditor on the demo's planted truth: the unbilled usage is the one open
discrepancy, with the right amount; every planted benign discrepancy is auto-resolved with the
right reason; the report counts candidates and resolutions."""

import datetime as dt
from decimal import Decimal

from finops_dagster.demo import catalog as C

CENT = Decimal("0.01")
COLUMNS = (
    "status, resolution_reason, diagnosis, difference, unexplained, unbilled_cost, credit, "
    "price_change, billing_cycle_timing, restatement"
)


def _cell(warehouse, period: str, account: str, service: str) -> dict:
    rows = warehouse(
        f"select {COLUMNS} from fct_billing_audit where billing_period_start = ? "
        "and sub_account_id = ? and service_code = ?",
        dt.date.fromisoformat(period + "-01"),
        account,
        service,
    )
    assert len(rows) == 1, (period, account, service)
    return dict(zip([c.strip() for c in COLUMNS.split(",")], rows[0], strict=True))


def test_the_unbilled_usage_is_open_with_the_right_amount(warehouse):
    u = C.UNBILLED
    days = (u["to"] - u["from"]).days + 1
    amount = Decimal(int(u["quantity"]) * u["rate_units"] * days) / C.UNITS_PER_USD
    assert amount == Decimal(C.UNBILLED_USD)
    cell = _cell(warehouse, f"{u['from']:%Y-%m}", u["account"], u["product_code"])
    assert (cell["status"], cell["diagnosis"], cell["resolution_reason"]) == ("open", "unbilled_usage", None)
    assert abs(cell["unbilled_cost"] - amount) < CENT
    assert abs(cell["difference"] + amount) < CENT and abs(cell["unexplained"] + amount) < CENT
    opened = warehouse("select sub_account_id, service_code from fct_billing_audit where status = 'open'")
    assert opened == [(u["account"], u["product_code"])]


def test_the_planted_credit_is_auto_resolved_as_a_credit(warehouse):
    c = C.BENIGN_CREDIT
    cell = _cell(warehouse, f"{c['date']:%Y-%m}", c["account"], c["product_code"])
    assert (cell["status"], cell["resolution_reason"]) == ("auto_resolved", "credit")
    assert cell["credit"] == Decimal(c["units"]) / C.UNITS_PER_USD
    assert abs(cell["difference"] - cell["credit"]) < CENT  # the rest: sub-cent rate rounding


def test_the_mid_period_price_change_is_auto_resolved(warehouse):
    change = C.PRICE_CHANGE
    resource = next(r for r in C.DAILY_RESOURCES if r.resource_id == change["resource_id"])
    cell = _cell(warehouse, f"{change['from']:%Y-%m}", resource.account, resource.product_code)
    assert (cell["status"], cell["resolution_reason"]) == ("auto_resolved", "price_change")
    # every day from the change on: quantity x (new rate - old rate), i.e. 25 % of the old-rate cost
    (new_cost,) = warehouse(
        "select sum(effective_cost) from fct_daily_cost where resource_id = ? "
        "and usage_date >= ? and usage_date < ?",
        change["resource_id"],
        change["from"],
        dt.date(2026, 11, 1),
    )[0]
    planted = new_cost * (change["pct"] - 100) / change["pct"]
    assert abs(cell["price_change"] - planted) < CENT and abs(cell["difference"] - planted) < CENT


def test_usage_billed_in_the_next_period_is_auto_resolved_on_both_sides(warehouse):
    shift = C.BOUNDARY_SHIFT
    resource = next(r for r in C.DAILY_RESOURCES if r.resource_id == shift["resource_id"])
    amount = Decimal(resource.daily_units * len(shift["unbilled_days"])) / C.UNITS_PER_USD
    for period, sign in ((f"{shift['unbilled_days'][0]:%Y-%m}", -1), (f"{shift['billed_on']:%Y-%m}", 1)):
        cell = _cell(warehouse, period, resource.account, resource.product_code)
        assert (cell["status"], cell["resolution_reason"]) == ("auto_resolved", "billing_cycle_timing")
        assert cell["billing_cycle_timing"] == cell["difference"] == sign * amount


def test_candidates_and_resolutions_are_counted(warehouse):
    counts = dict(warehouse("select status, count(*) from fct_billing_audit group by 1"))
    reasons = dict(
        warehouse(
            "select resolution_reason, count(*) from fct_billing_audit "
            "where status = 'auto_resolved' group by 1"
        )
    )
    # EC2 of the production account every month (Savings Plan + RI + its monthly credit: the
    # credit is the event that explains it, the standing commitment discount is named only where
    # no event is), the restated late S3 charge, and the three planted benign cases (timing on
    # both sides)
    assert counts == {"open": 1, "auto_resolved": 8}
    assert reasons == {"credit": 4, "restatement": 1, "price_change": 1, "billing_cycle_timing": 2}
    signals = warehouse("select signals from fct_billing_audit where resolution_reason = 'credit'")
    assert sum("commitment_discount" in s for (s,) in signals) == 3  # the three EC2 months
