"""Per-day checks of the raw CUR layer and the cost mart, as plain functions.

Money is compared to the cent on exact decimals; the exact difference is kept in metadata.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import polars as pl

from finops_dagster.lake.cur_ingest import SOURCE
from finops_dagster.lake.ledger import Ledger
from finops_dagster.lake.raw_lake import RawLake
from finops_dagster.quality.results import DayResult
from finops_dagster.sources.cur_rules import cost_sums

CENT = Decimal("0.01")


def same_to_the_cent(a: Decimal, b: Decimal) -> bool:
    return abs(a - b) < CENT / 2


def gap(ledger: Ledger, day: dt.date) -> DayResult:
    """An account with line items on the ingested days around ``day`` but none on it."""
    here = ledger.accounts_on(SOURCE, day)
    if here is None:
        return DayResult(False, {"reason": f"{day} was never ingested"})
    neighbours = [ledger.accounts_on(SOURCE, day + dt.timedelta(days=d)) for d in (-1, 1)]
    seen = [n for n in neighbours if n is not None]
    expected = set.intersection(*seen) if seen else set()
    missing = sorted(expected - here)
    return DayResult(not missing, {
        "accounts": ", ".join(sorted(here)) or "none",
        "missing_accounts": ", ".join(missing) or "none",
        "neighbour_days_ingested": len(seen),
    })


def raw_conservation(lake: RawLake, ledger: Ledger, day: dt.date) -> DayResult:
    """The raw day file holds exactly the rows and sums the ledger recorded at ingestion."""
    entry = ledger.day(SOURCE, day)
    if entry is None or not lake.has_day(SOURCE, day):
        return DayResult(False, {"reason": f"{day}: no ledger entry or no raw file"})
    raw = cost_sums(lake.scan_day(SOURCE, day).with_columns(_k=pl.lit(1)), ["_k"]).collect()
    rows = int(raw["row_count"].sum()) if raw.height else 0
    unblended = Decimal(raw["unblended_cost"][0]) if raw.height else Decimal(0)
    effective = Decimal(raw["effective_cost"][0]) if raw.height else Decimal(0)
    ok = (rows == entry.row_count and same_to_the_cent(unblended, entry.unblended_cost)
          and same_to_the_cent(effective, entry.effective_cost))
    return DayResult(ok, {
        "raw_rows": rows, "ledger_rows": entry.row_count,
        "raw_unblended": str(unblended), "ledger_unblended": str(entry.unblended_cost),
        "raw_effective": str(effective), "ledger_effective": str(entry.effective_cost),
        "delivery_id": entry.delivery_id,
    })


def unique_line_items(lake: RawLake, day: dt.date) -> DayResult:
    """(identity_line_item_id, identity_time_interval) identifies a line item in a delivery."""
    if not lake.has_day(SOURCE, day):
        return DayResult(False, {"reason": f"{day}: no raw file"})
    dupes = (lake.scan_day(SOURCE, day)
             .group_by("identity_line_item_id", "identity_time_interval").len()
             .filter(pl.col("len") > 1).select(pl.col("len").sum() - pl.len()).collect().item())
    return DayResult(not dupes, {"duplicate_line_items": int(dupes or 0)})


def mart_conservation(con, ledger: Ledger, day: dt.date) -> DayResult:
    """fct_daily_cost holds the ledger's row count and cost sums for the day, to the cent."""
    entry = ledger.day(SOURCE, day)
    if entry is None:
        return DayResult(False, {"reason": f"{day} was never ingested"})
    rows, billed, effective = con.execute(
        "select coalesce(sum(line_item_count), 0), coalesce(sum(billed_cost), 0), "
        "coalesce(sum(effective_cost), 0) from fct_daily_cost where usage_date = ?", [day]
    ).fetchone()
    billed, effective = Decimal(billed), Decimal(effective)
    ok = (int(rows) == entry.row_count and same_to_the_cent(billed, entry.unblended_cost)
          and same_to_the_cent(effective, entry.effective_cost))
    return DayResult(ok, {
        "mart_line_items": int(rows), "ledger_rows": entry.row_count,
        "mart_billed_cost": str(billed), "ledger_unblended": str(entry.unblended_cost),
        "mart_effective_cost": str(effective), "ledger_effective": str(entry.effective_cost),
    })


def amortization_invariant(con, ledger: Ledger, day: dt.date) -> DayResult:
    """Over the billing period of ``day``: billed = effective + true-up + upfront fees.

    RI fees are monthly line items while the usage they cover is spread over the days, so the
    identity holds for a billing period, not a single day. It is evaluated once every day of
    the period that the ledger holds is also in the mart; until then the day reports
    ``status: period incomplete`` and passes.
    """
    period_start = day.replace(day=1)
    next_period = (period_start + dt.timedelta(days=32)).replace(day=1)
    ledger_days = {d for d in (period_start + dt.timedelta(days=i)
                               for i in range((next_period - period_start).days))
                   if ledger.day(SOURCE, d) is not None}
    mart_days, billed, rhs = con.execute(
        "select count(distinct usage_date), coalesce(sum(billed_cost), 0), "
        "coalesce(sum(effective_cost + amortization_true_up + upfront_fee), 0) "
        "from fct_daily_cost where usage_date >= ? and usage_date < ?",
        [period_start, next_period]).fetchone()
    meta = {"billing_period": period_start.strftime("%Y-%m"), "days_in_mart": int(mart_days),
            "days_in_ledger": len(ledger_days)}
    if int(mart_days) < len(ledger_days):
        return DayResult(True, {**meta, "status": "period incomplete"})
    billed, rhs = Decimal(billed), Decimal(rhs)
    meta.update(status="evaluated", billed_cost=str(billed),
                effective_plus_true_up_plus_upfront=str(rhs), difference=str(billed - rhs))
    return DayResult(same_to_the_cent(billed, rhs), meta)


def schema_drift(lake: RawLake, day: dt.date, lookback_days: int = 40) -> DayResult:
    """New or missing columns versus the closest earlier ingested day."""
    if not lake.has_day(SOURCE, day):
        return DayResult(False, {"reason": f"{day}: no raw file"})
    here = set(lake.scan_day(SOURCE, day).collect_schema().names())
    for back in range(1, lookback_days + 1):
        prev = day - dt.timedelta(days=back)
        if lake.has_day(SOURCE, prev):
            before = set(lake.scan_day(SOURCE, prev).collect_schema().names())
            new, gone = sorted(here - before), sorted(before - here)
            return DayResult(not new and not gone, {
                "compared_with": str(prev), "new_columns": ", ".join(new) or "none",
                "missing_columns": ", ".join(gone) or "none", "columns": len(here)})
    return DayResult(True, {"compared_with": "none (first ingested day)", "columns": len(here)})
