"""Per-day checks of the reconciliation and allocation marts, independent of Dagster."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from finops_dagster.quality.cur_days import same_to_the_cent
from finops_dagster.quality.results import DayResult

FAILING_STATUSES = ("mismatch", "missing_in_cur", "missing_in_cost_explorer")


def reconciliation_agreement(con, day: dt.date) -> DayResult:
    """CUR and Cost Explorer agree on every finalized cell of the day.

    Estimated days (Cost Explorer's own flag) may still move and differences within the
    tolerance are rounding; both are reported, neither fails. A cell present in one source only
    is a finding: it is how a missing CUR delivery shows up even before the gap check runs.
    """
    rows = con.execute(
        "select status, count(*), coalesce(sum(max_abs_difference), 0) from fct_cost_reconciliation "
        "where usage_date = ? group by status order by status",
        [day],
    ).fetchall()
    if not rows:
        return DayResult(False, {"reason": f"no CUR or Cost Explorer cost for {day}"})
    findings = con.execute(
        "select sub_account_id, service_name, status, unblended_difference, amortized_difference "
        "from fct_cost_reconciliation where usage_date = ? and status in (?, ?, ?) "
        "order by sub_account_id, service_name",
        [day, *FAILING_STATUSES],
    ).fetchall()
    meta = {f"cells_{status}": int(n) for status, n, _ in rows}
    meta["largest_finding"] = str(
        max((Decimal(d) for s, _, d in rows if s in FAILING_STATUSES), default=Decimal(0))
    )
    if findings:
        meta["findings"] = "; ".join(
            f"{a} {s}: {st} (unblended {u:+.2f}, amortized {m:+.2f})" for a, s, st, u, m in findings[:20]
        )
    return DayResult(not findings, meta)


def allocation_conservation(con, day: dt.date) -> DayResult:
    """Allocated plus unallocated cost equals the day's fct_daily_cost, billed and effective,
    to the cent: the split moves money between owners, never creates or loses it."""
    allocated = con.execute(
        "select coalesce(sum(billed_cost), 0), coalesce(sum(effective_cost), 0), "
        "coalesce(sum(case when is_unallocated then effective_cost else 0 end), 0), count(*) "
        "from fct_cost_allocation where usage_date = ?",
        [day],
    ).fetchone()
    total = con.execute(
        "select coalesce(sum(billed_cost), 0), coalesce(sum(effective_cost), 0), count(*) "
        "from fct_daily_cost where usage_date = ?",
        [day],
    ).fetchone()
    billed, effective, unallocated, rows = allocated
    ok = (
        same_to_the_cent(Decimal(billed), Decimal(total[0]))
        and same_to_the_cent(Decimal(effective), Decimal(total[1]))
        and (rows > 0) == (total[2] > 0)
    )
    return DayResult(
        ok,
        {
            "allocated_billed_cost": str(billed),
            "daily_billed_cost": str(total[0]),
            "allocated_effective_cost": str(effective),
            "daily_effective_cost": str(total[1]),
            "unallocated_effective_cost": str(unallocated),
            "allocation_rows": int(rows),
        },
    )
