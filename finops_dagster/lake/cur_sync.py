"""Smart sync: which CUR days need ingesting, from manifests versus the ledger.

Only what is new or restated is read: a billing period whose current delivery id is already
in the ledger for every expected day costs one manifest read and nothing else.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace

from finops_dagster.lake.cur_ingest import SOURCE
from finops_dagster.lake.ledger import Ledger
from finops_dagster.sources.cur import CurExport
from finops_dagster.sources.cur_layout import Discovery, Manifest


@dataclass(frozen=True)
class PeriodStatus:
    billing_period: str
    status: str  # up_to_date | new | restated | incomplete | missing_delivery | unusable
    delivery_id: str | None
    ingested_delivery_ids: tuple[str, ...]
    expected_days: int
    ingested_days: int
    days_to_ingest: tuple[dt.date, ...] = field(default=())
    problem: str = ""  # why an ``unusable`` period's files form no delivery (names the files)


def _periods(start_period: str, as_of: dt.date) -> list[str]:
    y, m = map(int, start_period.split("-"))
    out = []
    while (y, m) <= (as_of.year, as_of.month):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def expected_days(period: str, as_of: dt.date) -> list[dt.date]:
    """Days of the period up to ``as_of`` (a delivery for the open month covers days so far)."""
    y, m = map(int, period.split("-"))
    day = dt.date(y, m, 1)
    out = []
    while day.month == m and day <= as_of:
        out.append(day)
        day += dt.timedelta(days=1)
    return out


def period_status(period: str, manifest: Manifest | None, ledger: Ledger, as_of: dt.date) -> PeriodStatus:
    days = expected_days(period, as_of)
    entries = {d: ledger.day(SOURCE, d) for d in days}
    ingested = {d: e for d, e in entries.items() if e is not None}
    ids = tuple(sorted({e.delivery_id for e in ingested.values()}))
    if manifest is None:
        return PeriodStatus(period, "missing_delivery", None, ids, len(days), len(ingested))
    if not ingested:
        status, todo = "new", days
    elif any(e.delivery_id != manifest.delivery_id for e in ingested.values()):
        status, todo = "restated", days
    elif len(ingested) < len(days):
        status, todo = "incomplete", [d for d in days if d not in ingested]
    else:
        status, todo = "up_to_date", []
    return PeriodStatus(period, status, manifest.delivery_id, ids, len(days), len(ingested), tuple(todo))


def sync_plan(
    export: CurExport, ledger: Ledger, start_period: str, as_of: dt.date, found: Discovery | None = None
) -> list[PeriodStatus]:
    found = found or export.discovery()
    out = []
    for p in _periods(start_period, as_of):
        status = period_status(p, found.deliveries.get(p), ledger, as_of)
        if p in found.problems:
            status = replace(status, status="unusable", problem=found.problems[p])
        out.append(status)
    return out


def day_ranges(days: list[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Contiguous runs of days, inclusive: one backfill run each."""
    out: list[tuple[dt.date, dt.date]] = []
    for d in sorted(days):
        if out and d == out[-1][1] + dt.timedelta(days=1):
            out[-1] = (out[-1][0], d)
        else:
            out.append((d, d))
    return out
