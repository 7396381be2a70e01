"""Budgets as AWS Budgets users state them (issue 16: a budget stated on unblended cost, which
includes an $8,073 upfront Savings Plan fee, was compared with the effective-cost forecast and
missed; an organization-wide budget could not be expressed). Real quirk covered: the upfront fee
is unblended cost on the day it is bought and zero effective cost (it is amortized instead)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import duckdb
import polars as pl
import pytest

from finops_dagster.insights.budgets import BudgetScopeError, budget_forecasts, budget_status
from finops_dagster.insights.forecast import Window
from finops_dagster.sources.business import BusinessDataError, BusinessSource

AS_OF = dt.date(2026, 9, 15)


@pytest.fixture(scope="module")
def con():
    rows = []
    for i in range(76):  # 2026-07-01 .. 2026-09-14, then the 15th
        day = dt.date(2026, 7, 1) + dt.timedelta(days=i + 1)
        for account, team, daily in (("111", "web", 300.0), ("222", "data", 100.0)):
            rows.append((day, account, "AmazonEC2", "Usage", team, "Prod", daily, daily, daily * 0.97, 0.0))
    # the upfront Savings Plan fee of September: invoice (unblended) cost, no effective cost
    rows.append(
        (
            dt.date(2026, 9, 1),
            "111",
            "ComputeSavingsPlans",
            "Purchase",
            "web",
            "Prod",
            8073.0,
            0.0,
            8073.0,
            8073.0,
        )
    )
    df = pl.DataFrame(
        rows,
        orient="row",
        schema=[
            "usage_date",
            "sub_account_id",
            "service_code",
            "charge_category",
            "tag_team",
            "cost_category_environment",
            "billed_cost",
            "effective_cost",
            "net_billed_cost",
            "upfront_fee",
        ],
    )
    c = duckdb.connect()
    c.register("d", df.to_arrow())
    money = ", ".join(
        f"cast({m} as decimal(38, 10)) as {m}"
        for m in ("billed_cost", "effective_cost", "net_billed_cost", "upfront_fee")
    )
    c.execute(
        f"create table fct_daily_cost as select * replace ({money}), "
        "cast(null as varchar) as cost_category_team from d"
    )
    c.execute(
        "create table fct_daily_cost_tags as select usage_date, charge_category, 'user_team' "
        "as tag_key, tag_team as tag_value, billed_cost, effective_cost from fct_daily_cost"
    )
    yield c
    c.close()


BUDGETS = pl.DataFrame(
    [
        ("organization", "all", 14000.0, "amortized", 100.0),  # 400/day x 30 = 12,000: ok
        ("account", "111", 12000.0, "unblended", 100.0),  # 9,000 + 8,073 upfront: over
        ("account", "111", 12000.0, "amortized", 100.0),  # 9,000: ok (the fee is amortized)
        ("tag:user_team", "data", 3500.0, "amortized", 80.0),  # 3,000 >= 80 % of 3,500: forecast over
        ("cost_category:Environment", "Prod", 20000.0, "net", 100.0),
        ("team", "nobody", 50.0, "amortized", 100.0),  # no cost in the scope: compared with 0
    ],
    orient="row",
    schema=["scope_type", "scope_value", "monthly_budget", "cost_basis", "threshold_pct"],
)


def test_each_budget_is_forecast_on_its_own_basis_and_scope(con):
    status = budget_status(
        BUDGETS,
        budget_forecasts(con, BUDGETS, Window(AS_OF), pl.DataFrame()),
        month=Window(AS_OF).month_start,
    )
    got = {(r["scope_type"], r["scope_value"], r["cost_basis"]): r for r in status.iter_rows(named=True)}
    unblended = got[("account", "111", "unblended")]
    assert unblended["actual_to_date"] == pytest.approx(15 * 300 + 8073, abs=0.01)
    assert unblended["status"] == "breached" and unblended["alert"]
    assert not got[("account", "111", "amortized")]["alert"]
    assert got[("organization", "all", "amortized")]["forecast"] == pytest.approx(12000, rel=0.02)
    tag = got[("tag:user_team", "data", "amortized")]
    assert tag["status"] == "forecast_over" and tag["forecast"] == pytest.approx(3000, rel=0.02)
    net = got[("cost_category:Environment", "Prod", "net")]
    assert net["forecast"] == pytest.approx((400 * 30) * 0.97 + 8073, rel=0.02) and not net["alert"]
    assert got[("team", "nobody", "amortized")]["forecast"] == 0.0
    assert status.filter(pl.col("alert")).height == 2


def test_scopes_and_bases_the_marts_cannot_compute_are_named(con):
    for kind, basis, why in (
        ("cost_category:Owner", "amortized", "only the configured cost categories"),
        ("tag:user_team", "net", "tag budgets support the amortized and unblended"),
    ):
        bad = BUDGETS.head(1).with_columns(scope_type=pl.lit(kind), cost_basis=pl.lit(basis))
        with pytest.raises(BudgetScopeError, match=why):
            budget_forecasts(con, bad, Window(AS_OF), pl.DataFrame())


def test_budget_files_are_validated_with_defaults_for_the_new_columns(tmp_path):
    (tmp_path / "budgets.csv").write_text(
        "scope_type,scope_value,monthly_budget,currency\norganization,all,1000.00,USD\n"
    )
    read = BusinessSource(str(tmp_path)).read("budgets")
    assert read.select("cost_basis", "threshold_pct").row(0) == ("amortized", 100.0)
    assert read["monthly_budget"][0] == Decimal("1000.00")
    (tmp_path / "budgets.csv").write_text(
        "scope_type,scope_value,monthly_budget,currency,cost_basis\naccount,111,1000.00,USD,blended\n"
    )
    with pytest.raises(BusinessDataError, match="row 1, column cost_basis: 'blended' is not one of"):
        BusinessSource(str(tmp_path)).read("budgets")
    (tmp_path / "budgets.csv").write_text(
        "scope_type,scope_value,monthly_budget,currency\ntag:,x,1000.00,USD\n"
    )
    with pytest.raises(BusinessDataError, match="column scope_type: 'tag:' is not one of"):
        BusinessSource(str(tmp_path)).read("budgets")
