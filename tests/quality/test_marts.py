"""Range versions of the mart checks: each day judged on its own numbers, computed once for the
range (allocation conservation) or once per billing period (the amortization invariant)."""

import datetime as dt
from decimal import Decimal

import duckdb

from finops_dagster.quality import cur_days, marts

D1, D2, D3 = dt.date(2026, 9, 1), dt.date(2026, 9, 2), dt.date(2026, 9, 3)


def test_allocation_conservation_over_a_range_judges_each_day():
    con = duckdb.connect()
    con.execute(
        "create table fct_daily_cost as select * from (values "
        "(date '2026-09-01', 10.00::decimal(38, 10), 9.00::decimal(38, 10)), "
        "(date '2026-09-02', 5.00, 5.00), (date '2026-09-03', 7.00, 7.00)) "
        "t(usage_date, billed_cost, effective_cost)"
    )
    con.execute(
        "create table fct_cost_allocation as select * from (values "  # 09-03 was never allocated
        "(date '2026-09-01', 6.00::decimal(38, 10), 5.00::decimal(38, 10), false), "
        "(date '2026-09-01', 4.00, 4.00, true), (date '2026-09-02', 5.00, 4.99, false)) "
        "t(usage_date, billed_cost, effective_cost, is_unallocated)"
    )
    results = marts.allocation_conservation_days(con, [D1, D2, D3])
    assert [results[d].passed for d in (D1, D2, D3)] == [True, False, False]
    assert Decimal(results[D1].metadata["unallocated_effective_cost"]) == Decimal("4")
    assert results[D1].metadata["allocation_rows"] == 2
    assert results[D3].metadata["allocation_rows"] == 0
    assert marts.allocation_conservation(con, D2).metadata == results[D2].metadata


def test_amortization_invariant_over_a_range_is_evaluated_once_a_billing_period(monkeypatch):
    calls = []
    monkeypatch.setattr(
        cur_days,
        "amortization_invariant",
        lambda con, ledger, day: calls.append(day) or cur_days.DayResult(day.month == 9, {}),
    )
    days = [dt.date(2026, 8, 30), dt.date(2026, 8, 31), D1, D2, D3]
    results = cur_days.amortization_invariant_days(None, None, days)
    assert calls == [dt.date(2026, 8, 30), D1]
    assert [results[d].passed for d in days] == [False, False, True, True, True]
