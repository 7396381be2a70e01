"""CUR day-range ingestion: deliveries -> raw lake days -> ledger, exactly once.

Every delivery the range needs is fetched and validated before anything is written, so bad
input fails the run with a message naming the file and leaves every ingested day as it was.
Each billing period's current delivery is read once for the whole range, however many days.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from decimal import Decimal

import polars as pl

from finops_dagster.lake.ledger import AccountTotals, DayEntry, Ledger
from finops_dagster.lake.raw_lake import RawLake, schema_hash
from finops_dagster.sources.cur import CurError, CurExport, scan_delivery
from finops_dagster.sources.cur_rules import cost_sums

SOURCE = "cur"
log = logging.getLogger(__name__)


def _period(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def ingest_cur_days(export: CurExport, lake: RawLake, ledger: Ledger, days: list[dt.date],
                    progress: Callable[[str], None] = log.info) -> list[DayEntry]:
    periods = sorted({_period(d) for d in days})
    manifests = export.manifests()
    undelivered = [p for p in periods if p not in manifests]
    if undelivered:
        raise CurError(
            f"{export.url}: no CUR delivery (manifest) for billing period(s) "
            f"{', '.join(undelivered)}; requested days {days[0]}..{days[-1]} were not ingested")

    deliveries = {}
    for p in periods:
        m = manifests[p]
        paths = export.fetch_delivery(m)
        size = sum(path.stat().st_size for path in paths)
        progress(f"CUR {p}: delivery {m.delivery_id}, {len(paths)} file(s), {size / 1e6:.1f} MB")
        deliveries[p] = (m, paths)

    frames = [scan_delivery(paths) for _, paths in deliveries.values()]
    lf = pl.concat(frames, how="diagonal_relaxed") if len(frames) > 1 else frames[0]
    lf = lf.filter(pl.col("usage_date").is_in(days))
    try:
        sums = cost_sums(lf, ["usage_date", "line_item_usage_account_id"]).collect(engine="streaming")
        written = lake.write_days(SOURCE, lf, days)
    except pl.exceptions.PolarsError as exc:
        raise CurError(f"reading CUR files {[str(p) for _, ps in deliveries.values() for p in ps]} "
                       f"failed: {exc}") from exc

    entries = []
    for day in days:
        m, paths = deliveries[_period(day)]
        day_sums = sums.filter(pl.col("usage_date") == day)
        accounts = {r["line_item_usage_account_id"]: AccountTotals(
            r["row_count"], Decimal(r["unblended_cost"]), Decimal(r["effective_cost"]))
            for r in day_sums.iter_rows(named=True)}
        raw_schema = pl.read_parquet_schema(written[day])
        entries.append(DayEntry(
            source=SOURCE, usage_date=day, billing_period=m.billing_period,
            delivery_id=m.delivery_id, manifest=export.describe(m.manifest_key),
            source_files=tuple(export.describe(k) for k in m.data_files),
            row_count=sum(a.row_count for a in accounts.values()),
            unblended_cost=sum((a.unblended_cost for a in accounts.values()), Decimal(0)),
            effective_cost=sum((a.effective_cost for a in accounts.values()), Decimal(0)),
            schema_hash=schema_hash(raw_schema), raw_file=str(written[day]), accounts=accounts,
        ))
    ledger.record_days(entries)
    total = sum(e.row_count for e in entries)
    progress(f"CUR: ingested {total} line items into {len(entries)} day(s)")
    return entries
