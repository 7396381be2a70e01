"""CUR day-range ingestion: deliveries -> raw lake days -> ledger, exactly once.

Every delivery the range needs is fetched and validated before anything is written, so bad
input fails the run with a message naming the file and leaves every ingested day as it was.
Each billing period's current delivery is read once for the whole range, however many days.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

import polars as pl
import pyarrow as pa

from finops_dagster.faults import crash_point
from finops_dagster.lake import journal, restatements
from finops_dagster.lake.cur_validation import (
    LineItemError,
    OutsidePeriod,
    check_batch,
    duplicate_identities,
    keep_in_period,
)
from finops_dagster.lake.journal import StagedDays
from finops_dagster.lake.ledger import AccountTotals, DayEntry, Ledger
from finops_dagster.lake.raw_lake import BATCH_ROWS, RawLake, schema_hash
from finops_dagster.sources.cur import CurError, CurExport, delivery_schema, iter_delivery
from finops_dagster.sources.cur_formats import CurFormatError
from finops_dagster.sources.cur_layout import period_bounds
from finops_dagster.sources.cur_rules import MONEY, cost_sums

SOURCE = "cur"
RESTATEMENTS = "cur_restatements"
log = logging.getLogger(__name__)


def _period(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


@dataclass
class Restatement:
    billing_period: str
    old_delivery_ids: tuple[str, ...]
    new_delivery_id: str
    changed_cells: int
    path: str


@dataclass
class IngestResult:
    entries: list[DayEntry]
    restatements: list[Restatement] = field(default_factory=list)
    outside_period: str = ""  # files with rows dated outside their billing period, and how many


def usage_window(period: str, days: list[dt.date]) -> tuple[dt.datetime | None, dt.datetime | None]:
    """The usage starts the requested days of ``period`` can come from (end exclusive; None =
    open). Open at the period's first / last day when those are requested: rows dated outside
    their period are kept on them (``keep_in_period``), so they must be read too."""
    mine = [d for d in days if _period(d) == period]
    if not mine:
        return None, None
    first, end = period_bounds(period)
    low = None if min(mine) <= first else dt.datetime.combine(min(mine), dt.time())
    high = (
        None
        if max(mine) >= end - dt.timedelta(days=1)
        else dt.datetime.combine(max(mine) + dt.timedelta(days=1), dt.time())
    )
    return low, high


class _SummingBatches:
    """The deliveries' line items in bounded batches, file after file, summing cost per day x
    account x service as they pass: one read of the data serves both the day files and the
    ledger / restatement sums (a separate pass to sum cost decoded everything twice)."""

    def __init__(
        self, export: CurExport, deliveries: dict, progress: Callable[[str], None], days: list[dt.date]
    ) -> None:
        self.export, self.deliveries, self.progress, self.parts = export, deliveries, progress, []
        self.outside = OutsidePeriod()
        self.windows = {p: usage_window(p, days) for p in deliveries}
        self.skipped = 0  # rows of row groups left out since the last batch (keeps row numbers true)

    def _skip(self, rows: int) -> None:
        self.skipped += rows

    def __iter__(self):
        for period, (manifest, paths) in self.deliveries.items():
            total = sum(p.stat().st_size for p in paths) or 1
            done = rows = 0
            schema = delivery_schema(paths)  # the union of the period's files' columns
            for i, (key, path) in enumerate(zip(manifest.data_files, paths, strict=True), start=1):
                where, first_row, self.skipped = self.export.describe(key), 1, 0
                try:
                    for batch in iter_delivery(
                        [path], BATCH_ROWS, self.progress, schema, self.windows[period], self._skip
                    ):
                        first_row, self.skipped = first_row + self.skipped, 0
                        outside = check_batch(batch, first_row)
                        if outside:
                            self.outside.rows[where] = self.outside.rows.get(where, 0) + outside
                            batch = keep_in_period(batch)
                        first_row += batch.height
                        self.parts.append(cost_sums(batch.lazy(), restatements.KEYS).collect())
                        rows += batch.height
                        yield batch
                except (CurFormatError, LineItemError) as exc:
                    raise CurError(f"{where}: {exc}") from exc
                if where in self.outside.rows:
                    self.progress(
                        f"CUR {period}: {where} has {self.outside.rows[where]} row(s) dated "
                        "outside the billing period, kept on the period's first / last day"
                    )
                done += path.stat().st_size
                self.progress(
                    f"CUR {period}: read file {i}/{len(paths)} ({done / 1e6:.1f}/"
                    f"{total / 1e6:.1f} MB, {rows} rows, {done / total:.0%})"
                )

    def sums(self) -> pl.DataFrame:
        if not self.parts:
            return pl.DataFrame(
                schema={
                    "usage_date": pl.Date,
                    "line_item_usage_account_id": pl.String,
                    "line_item_product_code": pl.String,
                    "row_count": pl.UInt32,
                    "unblended_cost": MONEY,
                    "effective_cost": MONEY,
                }
            )
        return (
            pl.concat(self.parts)
            .group_by(restatements.KEYS)
            .agg(pl.col("row_count").sum(), pl.col("unblended_cost").sum(), pl.col("effective_cost").sum())
        )


@dataclass(frozen=True)
class ShrinkGuard:
    """A re-delivery of a closed period that loses more than ``max_share`` of its line items (or
    all of them: a delivery of empty files) is held, not swapped in, unless the period is listed
    in ``allowed`` (FINOPS_ALLOW_SHRINK): AWS restates by adding and correcting, rarely by
    removing, and a silently emptied month is the worst kind of loss."""

    max_share: float = 0.25
    allowed: frozenset[str] = frozenset()
    as_of: dt.date | None = None

    def check(self, period: str, delivery_id: str, old: list[DayEntry], new_rows: int) -> None:
        if not old or period in self.allowed:
            return
        year, month = map(int, period.split("-"))
        end = dt.date(year + month // 12, month % 12 + 1, 1)
        if self.as_of is not None and end > self.as_of:
            return  # the period is still open: its deliveries grow day by day
        old_rows = sum(e.row_count for e in old)
        if old_rows and new_rows < old_rows * (1 - self.max_share):
            raise CurError(
                f"billing period {period} held: its re-delivery {delivery_id} has {new_rows} line item(s) "
                f"on {old[0].usage_date}..{old[-1].usage_date} where the lake holds {old_rows} "
                f"({1 - new_rows / old_rows:.0%} fewer; the limit is FINOPS_MAX_SHRINK="
                f"{self.max_share:.0%}); nothing was replaced. If AWS really removed them, run "
                f"again with FINOPS_ALLOW_SHRINK={period}"
            )


def ingest_cur_days(
    export: CurExport,
    lake: RawLake,
    ledger: Ledger,
    days: list[dt.date],
    progress: Callable[[str], None] = log.info,
    guard: ShrinkGuard | None = None,
) -> IngestResult:
    for line in journal.recover(lake.root, ledger):  # a commit a killed run left half done
        progress(f"CUR: {line}")
    periods = sorted({_period(d) for d in days})
    deliveries = {}
    discovery = export.discovery()
    for p in periods:
        try:
            m = export.delivery(p, discovery)
        except CurError as exc:
            raise CurError(f"{exc}; requested days {days[0]}..{days[-1]} were not ingested") from exc
        paths = export.fetch_delivery(m, progress)
        progress(f"CUR {p}: delivery {m.delivery_id}, {len(paths)} file(s)")
        deliveries[p] = (m, paths)

    batches = _SummingBatches(export, deliveries, progress, days)
    try:
        staged = lake.stage_days(SOURCE, batches, days)
    except (pl.exceptions.PolarsError, pa.ArrowException) as exc:
        raise CurError(
            f"reading CUR files {[str(p) for _, ps in deliveries.values() for p in ps]} failed: {exc}"
        ) from exc
    crash_point("cur:staged")
    try:  # the restatement diff reads the days still in place: diff and commit hold the lake's lock
        with journal.commit_lock(lake.root):
            extra, examples = duplicate_identities(
                sorted(staged.staging.glob("*.parquet")), lake.root.parent / "cache" / "duckdb"
            )
            if extra:
                files = ", ".join(export.describe(k) for m, _ in deliveries.values() for k in m.data_files)
                raise CurError(
                    f"the delivery repeats {extra} line item(s) (same identity_line_item_id and "
                    "identity_time_interval), e.g. "
                    f"{', '.join(f'{i} {t} x{n}' for i, t, n in examples[:3])}; "
                    f"refused before anything was replaced (files: {files})"
                )
            sums = batches.sums().filter(pl.col("usage_date").is_in(days))
            for period, (m, _) in deliveries.items():
                old = [
                    e
                    for d in days
                    if _period(d) == period
                    and (e := ledger.day(SOURCE, d))
                    and e.delivery_id != m.delivery_id
                ]
                new_rows = int(
                    sums.filter(pl.col("usage_date").is_in([e.usage_date for e in old]))["row_count"].sum()
                    or 0
                )
                (guard or ShrinkGuard()).check(period, m.delivery_id, old, new_rows)
            found = _restatements(lake, ledger, days, deliveries, sums, staged, progress)
            entries = _entries(export, staged, deliveries, sums, days)
            staged.commit(ledger, entries)
    except BaseException:
        staged.discard()
        raise
    progress(f"CUR: ingested {sum(e.row_count for e in entries)} line items into {len(entries)} day(s)")
    return IngestResult(entries, found, batches.outside.describe())


def _entries(
    export: CurExport, staged: StagedDays, deliveries: dict, sums: pl.DataFrame, days: list[dt.date]
) -> list[DayEntry]:
    """The ledger rows of the staged days (committed with them)."""
    by_account = sums.group_by("usage_date", "line_item_usage_account_id").agg(
        pl.col("row_count").sum(), pl.col("unblended_cost").sum(), pl.col("effective_cost").sum()
    )
    entries = []
    for day in days:
        m, _ = deliveries[_period(day)]
        accounts = {
            r["line_item_usage_account_id"]: AccountTotals(
                r["row_count"], Decimal(r["unblended_cost"]), Decimal(r["effective_cost"])
            )
            for r in by_account.filter(pl.col("usage_date") == day).iter_rows(named=True)
        }
        entries.append(
            DayEntry(
                source=SOURCE,
                usage_date=day,
                billing_period=m.billing_period,
                delivery_id=m.delivery_id,
                manifest=export.describe(m.manifest_key),
                source_files=tuple(export.describe(k) for k in m.data_files),
                row_count=sum(a.row_count for a in accounts.values()),
                unblended_cost=sum((a.unblended_cost for a in accounts.values()), Decimal(0)),
                effective_cost=sum((a.effective_cost for a in accounts.values()), Decimal(0)),
                schema_hash=schema_hash(pl.read_parquet_schema(staged.staged_path(day))),
                raw_file=str(staged.target(day)),
                accounts=accounts,
            )
        )
    return entries


def _restatements(
    lake: RawLake,
    ledger: Ledger,
    days: list[dt.date],
    deliveries: dict,
    new_sums: pl.DataFrame,
    staged: StagedDays,
    progress: Callable[[str], None],
) -> list[Restatement]:
    """Diff each re-delivered period against the days it replaces, before they are replaced; the
    diff is staged and committed with the days."""
    restatements.ensure_table(lake)
    found = []
    for period, (m, _) in deliveries.items():
        replaced = {
            d: e
            for d in days
            if _period(d) == period
            and (e := ledger.day(SOURCE, d))
            and e.delivery_id != m.delivery_id
            and lake.has_day(SOURCE, d)
        }
        if not replaced:
            continue
        old_days = list(replaced)
        old_ids = tuple(sorted({e.delivery_id for e in replaced.values()}))
        # one day at a time (usage_date is a key: the days' groups never meet): the period's days
        # summed in one query held 1.37 GB of a 60M-line-item month, day by day 0.4 GB
        old = pl.concat(
            [cost_sums(lake.scan_day(SOURCE, d), restatements.KEYS).collect() for d in old_days],
            how="diagonal_relaxed",
        )
        new = new_sums.filter(pl.col("usage_date").is_in(old_days))
        changes = restatements.diff(old, new, period, ",".join(old_ids), m.delivery_id)
        path = restatements.target(lake, period, m.delivery_id)
        changes.write_parquet(staged.stage_extra(path))
        progress(
            f"CUR {period}: restated by delivery {m.delivery_id} (was {', '.join(old_ids)}): "
            f"{changes.height} day x account x service cell(s) changed"
        )
        found.append(Restatement(period, old_ids, m.delivery_id, changes.height, str(path)))
    return found
