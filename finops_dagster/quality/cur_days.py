"""Per-day checks of the raw CUR layer and the cost mart, as plain functions.

Money is compared to the cent on exact decimals; the exact difference is kept in metadata.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

import polars as pl
import pyarrow.compute as pc
import pyarrow.parquet as pq

from finops_dagster.lake.cur_ingest import SOURCE
from finops_dagster.lake.cur_sync import expected_days
from finops_dagster.lake.cur_validation import identities_hash_apart
from finops_dagster.lake.ledger import Ledger
from finops_dagster.lake.raw_lake import RawLake
from finops_dagster.quality.results import DayResult
from finops_dagster.sources.cur_rules import cost_sums

CENT = Decimal("0.01")
T = TypeVar("T")
R = TypeVar("R")


def per_day(work: Callable[[T], R], items: list[T], workers: int = 2) -> list[R]:
    """``work`` on each item, ``workers`` at a time, results in order. A day's query or read runs
    on one core whatever the engine (Polars' concatenated day scans, pyarrow's reads of one
    file), and both release the GIL: two days at a time took a 20M month's conservation sums
    from 1.2 to 0.6 s on two cores. Memory: two days' columns instead of one."""
    if len(items) < 2 or workers < 2:
        return [work(item) for item in items]
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(work, items))


def same_to_the_cent(a: Decimal, b: Decimal) -> bool:
    return abs(a - b) < CENT / 2


def period_days(day: dt.date) -> list[dt.date]:
    """Every day of ``day``'s billing period (a calendar month)."""
    return expected_days(f"{day:%Y-%m}", dt.date.max)


def gap(ledger: Ledger, day: dt.date, as_of: dt.date | None = None) -> DayResult:
    """A day with no line items where line items were due.

    - An account with line items on the ingested days around ``day`` but none on it.
    - A closed billing period (it ended before ``as_of``) whose delivery has no line item at all
      on ``day`` while other days of the period have some: the data stops early (or has a hole),
      and every such day is a gap. An open period's last days are not: AWS is still delivering.
    """
    here = ledger.accounts_on(SOURCE, day)
    if here is None:
        return DayResult(False, {"reason": f"{day} was never ingested"})
    neighbours = [ledger.accounts_on(SOURCE, day + dt.timedelta(days=d)) for d in (-1, 1)]
    seen = [n for n in neighbours if n is not None]
    expected = set.intersection(*seen) if seen else set()
    missing = sorted(expected - here)
    meta = {
        "accounts": ", ".join(sorted(here)) or "none",
        "missing_accounts": ", ".join(missing) or "none",
        "neighbour_days_ingested": len(seen),
    }
    days = period_days(day)
    if not here and as_of is not None and days[-1] < as_of:
        with_data = [d for d in days if (e := ledger.day(SOURCE, d)) is not None and e.row_count]
        if with_data:
            meta.update(
                reason=f"no line items on {day} in closed billing period "
                f"{day:%Y-%m}, which has line items from {with_data[0]} to "
                f"{with_data[-1]} ({len(with_data)} of {len(days)} days)"
            )
            return DayResult(False, meta)
    return DayResult(not missing, meta)


def raw_conservation(lake: RawLake, ledger: Ledger, day: dt.date) -> DayResult:
    return raw_conservation_days(lake, ledger, [day])[day]


def raw_conservation_days(lake: RawLake, ledger: Ledger, days: list[dt.date]) -> dict[dt.date, DayResult]:
    """Each raw day file holds exactly the rows and sums the ledger recorded at ingestion. Each
    day's sums are one query (a few numbers per day kept), two days at a time (``per_day``)."""
    entries = {d: ledger.day(SOURCE, d) for d in days}
    results = {
        d: DayResult(False, {"reason": f"{d}: no ledger entry or no raw file"})
        for d, e in entries.items()
        if e is None or not lake.has_day(SOURCE, d)
    }
    scans = [
        cost_sums(lake.scan_day(SOURCE, d).with_columns(_day=pl.lit(d)), ["_day"])
        for d in days
        if d not in results
    ]
    sums = {
        r["_day"]: r for frame in per_day(pl.LazyFrame.collect, scans) for r in frame.iter_rows(named=True)
    }
    for d in days:
        if d in results:
            continue
        entry, raw = entries[d], sums.get(d)
        rows = int(raw["row_count"]) if raw else 0
        unblended = Decimal(raw["unblended_cost"]) if raw else Decimal(0)
        effective = Decimal(raw["effective_cost"]) if raw else Decimal(0)
        ok = (
            rows == entry.row_count
            and same_to_the_cent(unblended, entry.unblended_cost)
            and same_to_the_cent(effective, entry.effective_cost)
        )
        results[d] = DayResult(
            ok,
            {
                "raw_rows": rows,
                "ledger_rows": entry.row_count,
                "raw_unblended": str(unblended),
                "ledger_unblended": str(entry.unblended_cost),
                "raw_effective": str(effective),
                "ledger_effective": str(entry.effective_cost),
                "delivery_id": entry.delivery_id,
            },
        )
    return {d: results[d] for d in days}


def unique_line_items(lake: RawLake, day: dt.date) -> DayResult:
    """(identity_line_item_id, identity_time_interval) identifies a line item in a delivery."""
    if not lake.has_day(SOURCE, day):
        return DayResult(False, {"reason": f"{day}: no raw file"})
    lf = lake.scan_day(SOURCE, day)
    if identities_hash_apart(lf):  # the common case, proven from 8-byte hashes
        return DayResult(True, {"duplicate_line_items": 0})
    dupes = (
        lf.group_by("identity_line_item_id", "identity_time_interval")
        .len()
        .filter(pl.col("len") > 1)
        .select(pl.col("len").sum() - pl.len())
        .collect()
        .item()
    )
    return DayResult(not dupes, {"duplicate_line_items": int(dupes or 0)})


def mart_conservation(con, ledger: Ledger, day: dt.date) -> DayResult:
    return mart_conservation_days(con, ledger, [day])[day]


def mart_conservation_days(con, ledger: Ledger, days: list[dt.date]) -> dict[dt.date, DayResult]:
    """fct_daily_cost, with the line items it leaves to fct_other_currency_cost (billed in another
    currency), holds the ledger's row count and cost sums for each day, to the cent: nothing was
    lost or doubled between the lake and the marts. One query sums the whole range by day."""
    sums = (
        {
            r[0]: r[1:]
            for r in con.execute(
                "select usage_date, sum(n), sum(b), sum(e), sum(o) from ("
                "select usage_date, line_item_count n, billed_cost b, effective_cost e, 0 o "
                "from fct_daily_cost "
                "where usage_date >= ? and usage_date <= ? union all "
                "select usage_date, line_item_count, billed_cost, effective_cost, line_item_count "
                "from fct_other_currency_cost where usage_date >= ? and usage_date <= ?) group by usage_date",
                [min(days), max(days)] * 2,
            ).fetchall()
        }
        if days
        else {}
    )
    results = {}
    for day in days:
        entry = ledger.day(SOURCE, day)
        if entry is None:
            results[day] = DayResult(False, {"reason": f"{day} was never ingested"})
            continue
        rows, billed, effective, other = sums.get(day, (0, 0, 0, 0))
        billed, effective = Decimal(billed), Decimal(effective)
        ok = (
            int(rows) == entry.row_count
            and same_to_the_cent(billed, entry.unblended_cost)
            and same_to_the_cent(effective, entry.effective_cost)
        )
        results[day] = DayResult(
            ok,
            {
                "mart_line_items": int(rows),
                "ledger_rows": entry.row_count,
                "other_currency_line_items": int(other),
                "mart_billed_cost": str(billed),
                "ledger_unblended": str(entry.unblended_cost),
                "mart_effective_cost": str(effective),
                "ledger_effective": str(entry.effective_cost),
            },
        )
    return results


def amortization_invariant(con, ledger: Ledger, day: dt.date) -> DayResult:
    """Over the billing period of ``day``: billed = effective + true-up + upfront fees.

    RI fees are monthly line items while the usage they cover is spread over the days, so the
    identity holds for a billing period, not a single day. It is evaluated once every day of
    the period that the ledger holds with line items is also in the mart (days ingested empty
    are known to be empty, not absent); until then the day reports ``status: period
    incomplete`` and passes.
    """
    days = period_days(day)
    period_start, next_period = days[0], days[-1] + dt.timedelta(days=1)
    entries = {d: ledger.day(SOURCE, d) for d in days}
    # a day ingested with no line items is known to be empty: the mart has no row for it
    ledger_days = {d for d, e in entries.items() if e is not None and e.row_count}
    mart_days, billed, rhs = con.execute(
        "select count(distinct usage_date), coalesce(sum(billed_cost), 0), "
        "coalesce(sum(effective_cost + amortization_true_up + upfront_fee), 0) "
        "from fct_daily_cost where usage_date >= ? and usage_date < ?",
        [period_start, next_period],
    ).fetchone()
    meta = {
        "billing_period": period_start.strftime("%Y-%m"),
        "days_in_mart": int(mart_days),
        "days_in_ledger": len(ledger_days),
    }
    if int(mart_days) < len(ledger_days):
        return DayResult(True, {**meta, "status": "period incomplete"})
    billed, rhs = Decimal(billed), Decimal(rhs)
    meta.update(
        status="evaluated",
        billed_cost=str(billed),
        effective_plus_true_up_plus_upfront=str(rhs),
        difference=str(billed - rhs),
    )
    return DayResult(same_to_the_cent(billed, rhs), meta)


def amortization_invariant_days(con, ledger: Ledger, days: list[dt.date]) -> dict[dt.date, DayResult]:
    """The invariant for every day of a range, evaluated once per billing period: a day's result
    is its period's (31 evaluations of the same period were 1.7 s of a month's run)."""
    periods: dict[str, DayResult] = {}
    for day in days:
        if f"{day:%Y-%m}" not in periods:
            periods[f"{day:%Y-%m}"] = amortization_invariant(con, ledger, day)
    return {day: periods[f"{day:%Y-%m}"] for day in days}


def tag_keys(lake: RawLake, day: dt.date) -> set[str]:
    """The user tag keys present on the day's line items (keys of the ``resource_tags`` map)."""
    if lake.remote is None:
        return map_keys(lake.day_path(SOURCE, day), "resource_tags")
    lf = lake.scan_day(SOURCE, day)
    if "resource_tags" not in lf.collect_schema().names():
        return set()
    keys = lf.select(pl.col("resource_tags").map.keys().explode().drop_nulls().unique()).collect()
    return set(keys.to_series())


def map_keys(path: Path, column: str) -> set[str]:
    """The keys a local Parquet file's MAP column holds, read as a dictionary: the keys are
    decoded once per row group, not once per line (Polars decoded every key and value: 0.08 s a
    day at 20M line items a month, 2.5 s of a month's drift check; this 0.03 s). Row group by
    row group through ParquetFile: pq.read_table imports pyarrow.dataset, 0.28 s of every
    one-day refresh, for nothing else in it."""
    if column not in pq.read_schema(path).names:
        return set()
    parquet = pq.ParquetFile(path, read_dictionary=[f"{column}.key_value.key"])
    keys: set[str] = set()
    for group in range(parquet.num_row_groups):
        for chunk in parquet.read_row_group(group, columns=[column]).column(0).chunks:
            flat = chunk.keys  # a DictionaryArray: the used entries only, whatever the dictionary holds
            keys.update(flat.dictionary.take(pc.unique(flat.indices)).to_pylist())
    return keys


def schema_drift(lake: RawLake, day: dt.date, lookback_days: int = 40) -> DayResult:
    return schema_drift_days(lake, [day], lookback_days)[day]


def schema_drift_days(
    lake: RawLake, days: list[dt.date], lookback_days: int = 40
) -> dict[dt.date, DayResult]:
    """Columns and tag keys that appeared or vanished since the closest earlier ingested day
    (CUR column sets change from month to month; a warning, not a crash). Over a range each
    day's tag keys are read once, though a day is compared twice (with the day before and the
    day after): reading them per comparison was 4 s of a 20M-line-item month's checks."""
    present = [d for d in days if lake.has_day(SOURCE, d)]
    previous = {
        day: next(
            (
                p
                for back in range(1, lookback_days + 1)
                if lake.has_day(SOURCE, p := day - dt.timedelta(days=back))
            ),
            None,
        )
        for day in present
    }
    needed = sorted(set(present) | {p for p in previous.values() if p is not None})

    def profile(d: dt.date) -> tuple[set[str], set[str]]:  # (columns, tag keys)
        return set(lake.scan_day(SOURCE, d).collect_schema().names()), tag_keys(lake, d)

    profiles = dict(zip(needed, per_day(profile, needed), strict=True))
    results = {}
    for day in days:
        if day not in previous:
            results[day] = DayResult(False, {"reason": f"{day}: no raw file"})
            continue
        here, here_tags = profiles[day]
        prev = previous[day]
        if prev is None:
            results[day] = DayResult(
                True,
                {
                    "compared_with": "none (first ingested day)",
                    "columns": len(here),
                    "tag_keys": len(here_tags),
                },
            )
            continue
        before, before_tags = profiles[prev]
        new, gone = sorted(here - before), sorted(before - here)
        new_tags, gone_tags = sorted(here_tags - before_tags), sorted(before_tags - here_tags)
        results[day] = DayResult(
            not (new or gone or new_tags or gone_tags),
            {
                "compared_with": str(prev),
                "new_columns": ", ".join(new) or "none",
                "missing_columns": ", ".join(gone) or "none",
                "columns": len(here),
                "new_tag_keys": ", ".join(new_tags) or "none",
                "missing_tag_keys": ", ".join(gone_tags) or "none",
                "tag_keys": len(here_tags),
            },
        )
    return results
