"""The raw layer: one Parquet file per source per UTC usage day.

A day is replaced with ``os.replace`` of a fully written file, so readers see the old day or
the new one, never half of each, and a re-run or a restated delivery cannot double-count. The
days of a delivery and their ledger rows are committed together (``journal``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import queue
import threading
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
import pyarrow as pa

from finops_dagster.lake.contract import SINGLE, LakeContract, dataset
from finops_dagster.lake.journal import StagedDays

if TYPE_CHECKING:
    from finops_dagster.lake.ledger import DayEntry, Ledger

BATCH_ROWS = 131_072  # rows per batch written to the day files: what bounds memory
STATS_COLUMNS = ("usage_date", "line_item_usage_account_id", "line_item_product_code")


class RawLake:
    """Day files by dataset name; where each lies is the lake contract's (lake/contract.py):
    a local folder, or S3 with a pointer per day (lake/object_store.py). ``root`` is always
    local: staging, the commit journal and its lock live there."""

    def __init__(self, root: Path, url: str = "") -> None:
        self.root = root
        self.contract = LakeContract(root, url)
        self.remote = self.contract.remote

    def day_target(self, source: str, day: dt.date, commit_id: str) -> str:
        """Where a commit puts a day: the day file (replaced by a rename), or on S3 a new
        immutable object its pointer will name."""
        if self.remote is None:
            return str(self.contract.day_file(source, day))
        return self.remote.day_object(dataset(source).folder, day, commit_id)

    def day_path(self, source: str, day: dt.date) -> Path:
        """The day's file in a local lake (for tools and tests that read the file itself)."""
        if self.remote is not None:
            raise ValueError(f"the raw lake is on S3 ({self.contract.url}): use day_location")
        return self.contract.day_file(source, day)

    def day_location(self, source: str, day: dt.date) -> str | None:
        """The day's current file or object, None when the lake holds no such day."""
        if self.remote is None:
            path = self.contract.day_file(source, day)
            return str(path) if path.exists() else None
        return self.remote.current_day(dataset(source).folder, day)

    def has_day(self, source: str, day: dt.date) -> bool:
        return self.day_location(source, day) is not None

    def scan_day(self, source: str, day: dt.date) -> pl.LazyFrame:
        where = self.day_location(source, day)
        if where is None:
            raise FileNotFoundError(f"the raw lake holds no {source} day {day} ({self.contract.location})")
        return self._scan(where)

    def _scan(self, where: str) -> pl.LazyFrame:
        if self.remote is None:
            return pl.scan_parquet(where)
        return pl.scan_parquet(where, storage_options=self.remote.polars_options())

    def write_file(self, name: str, frame: pl.DataFrame) -> str:
        """Replace a one-file dataset whole (readers see the old file or the new one)."""
        if self.remote is None:
            return str(atomic_write_parquet(frame, self.contract.file(name)))
        url = self.remote.file_object(dataset(name).folder, uuid.uuid4().hex)
        self.remote.put_frame(frame, url, publish=True)
        return url

    def has_file(self, name: str) -> bool:
        """Whether a one-file dataset was ever written (without reading it)."""
        if self.remote is None:
            return self.contract.file(name).exists()
        return self.remote.current_file(dataset(name).folder) is not None

    def vacuum(self, source: str) -> list[str]:
        """On S3, delete the day objects superseded more than a day ago (object_store.vacuum);
        a local lake replaces files in place and has nothing to vacuum."""
        if self.remote is None:
            return []
        return self.remote.vacuum(dataset(source).folder)

    def folder_location(self, name: str) -> str:
        """A dataset's folder: a local path, or its URL on S3."""
        if self.remote is None:
            return str(self.contract.folder(name))
        return self.remote.folder_url(dataset(name).folder)

    def ensure_schema(self, name: str, schema: dict) -> bool:
        """Give a dataset with no data yet an empty file of its schema, so the dbt source that
        globs it reads no rows instead of failing: a one-file dataset gets its file, a daily or
        period dataset ``<folder>/_schema/empty.parquet`` beside the day folders. True if it
        wrote one."""
        empty = pl.DataFrame(schema=schema)
        if dataset(name).layout == SINGLE:
            if self.has_file(name):
                return False
            self.write_file(name, empty)
            return True
        placeholder = f"{self.folder_location(name)}/_schema/empty.parquet"
        if self.remote is None:
            folder = self.contract.folder(name)
            if Path(placeholder).exists() or any(folder.glob("usage_date=*/*.parquet")):
                return False
            atomic_write_parquet(empty, Path(placeholder))
            return True
        if self.remote.exists(placeholder):
            return False
        self.remote.put_frame(empty, placeholder, publish=False)
        return True

    def read_file(self, name: str) -> pl.DataFrame | None:
        """A one-file dataset, None when it was never written."""
        if self.remote is None:
            path = self.contract.file(name)
            return pl.read_parquet(path) if path.exists() else None
        url = self.remote.current_file(dataset(name).folder)
        return None if url is None else self._scan(url).collect()

    def write_days(
        self,
        source: str,
        data: pl.LazyFrame | Iterable[pl.DataFrame],
        days: list[dt.date],
        ledger: Ledger | None = None,
        entries: Callable[[StagedDays], list[DayEntry]] | None = None,
    ) -> list[DayEntry]:
        """Write ``data`` (a LazyFrame, or batches of rows) into one file per day, then commit
        the days and their ledger entries (built from the staged files) together; returns the
        entries."""
        staged = self.stage_days(source, data, days)
        try:
            rows = entries(staged) if entries else []
        except BaseException:
            staged.discard()
            raise
        staged.commit(ledger, rows)
        return rows

    def stage_days(
        self, source: str, data: pl.LazyFrame | Iterable[pl.DataFrame], days: list[dt.date]
    ) -> StagedDays:
        """Write ``data`` into one staged file per day; nothing is visible until ``commit``.

        Each batch is split by ``usage_date`` and appended at once to that day's Parquet
        writer, so memory is one batch whatever the delivery's or a file's size (Polars'
        partitioned sink held whole days: 5 GB for a 20M-line-item month). Days with no rows
        get an empty file with the schema, so a restated delivery that drops a day's rows
        also clears the day. Rows outside ``days`` are ignored.
        """
        import pyarrow.parquet as pq

        staged = StagedDays.create(self, source, list(days))
        staging = staged.staging
        batches = data.collect_batches(chunk_size=BATCH_ROWS) if isinstance(data, pl.LazyFrame) else data
        writer = _DayWriter(staging)
        schema, last = None, None
        schemas: dict[dt.date, pa.Schema] = {}  # each day keeps the columns of its delivery
        wanted = set(days)
        try:
            for batch in batches:
                if schema is None or batch.schema != last:
                    schema, last = _arrow(batch.head(0)).schema, batch.schema
                for day, rows in _by_day(batch):
                    if day in wanted:
                        writer.put(day, rows, schemas.setdefault(day, schema))
            writer.close()
            if schema is None:
                schema = _arrow(
                    data.head(0).collect()
                    if isinstance(data, pl.LazyFrame)
                    else pl.DataFrame({"usage_date": []}, schema={"usage_date": pl.Date})
                ).schema
            for day in days:
                part = staging / f"{day.isoformat()}.parquet"
                if not part.exists():  # an empty day keeps its month's columns
                    like = next(
                        (s for d, s in schemas.items() if (d.year, d.month) == (day.year, day.month)), schema
                    )
                    pq.write_table(like.empty_table(), part, compression="zstd")
        except BaseException:
            writer.close(abandon=True)
            staged.discard()
            raise
        return staged


def _arrow(frame: pl.DataFrame) -> pa.Table:
    """Polars' own string layout (string views) handed over without a copy: converting to
    large strings cost a quarter of the day writer's time, and encoding views is faster too.
    The Parquet files are the same to every reader (Parquet has one string type)."""
    return frame.to_arrow(compat_level=pl.CompatLevel.newest())


def _by_day(batch: pl.DataFrame) -> Iterable[tuple[dt.date, pl.DataFrame]]:
    """A batch's rows per usage day; most batches of a day-ordered delivery hold one day."""
    days = batch.get_column("usage_date")
    first = days[0] if batch.height else None
    if batch.height and (days == first).all():
        return [(first, batch)]
    return [(day, rows) for (day,), rows in batch.partition_by("usage_date", as_dict=True).items()]


class _DayWriter:
    """Appends row batches to one Parquet writer per day on a background thread.

    Encoding a Parquet row group costs as much as decoding and splitting the batch; pyarrow
    and Polars release the GIL, so the two overlap on two cores. The queue holds at most two
    batches: memory stays bounded by a few batches whatever the delivery's size.
    """

    def __init__(self, staging: Path) -> None:
        self.staging, self.error = staging, None
        self.queue: queue.Queue = queue.Queue(maxsize=2)
        self.writers: dict = {}
        self.thread = threading.Thread(target=self._run, name="day-writer", daemon=True)
        self.thread.start()

    def put(self, day: dt.date, rows: pl.DataFrame, schema) -> None:
        if self.error is not None:
            raise self.error
        self.queue.put((day, rows, schema))

    def _run(self) -> None:
        import pyarrow.parquet as pq

        while (item := self.queue.get()) is not None:
            if self.error is not None:
                continue  # drain after a failure; close() reports it
            day, rows, schema = item
            try:
                table = _arrow(rows)
                if day not in self.writers:
                    # statistics only where readers filter (a day file is read whole otherwise):
                    # min/max of every column cost ~15 % of the write
                    stats = [c for c in STATS_COLUMNS if c in schema.names]
                    self.writers[day] = pq.ParquetWriter(
                        self.staging / f"{day.isoformat()}.parquet",
                        schema,
                        compression="zstd",
                        write_statistics=stats or False,
                    )
                if table.schema != schema:
                    missing = [n for n in schema.names if n not in table.schema.names]
                    if missing:  # a caller that did not conform its batches (CUR always does)
                        raise KeyError(
                            f"{day}: batch lacks column(s) {', '.join(missing)} of the day's first batch"
                        )
                    table = table.select(schema.names).cast(schema)
                self.writers[day].write_table(table)
            except BaseException as exc:  # noqa: BLE001 - handed to the producer thread
                self.error = exc

    def close(self, abandon: bool = False) -> None:
        if self.thread.is_alive():
            self.queue.put(None)
            self.thread.join()
        for w in self.writers.values():
            w.close()
        self.writers.clear()
        if self.error is not None and not abandon:
            raise self.error


def atomic_write_parquet(frame: pl.DataFrame, target: Path) -> Path:
    """Write to a temporary name beside ``target`` and rename: readers never see half a file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{uuid.uuid4().hex}.tmp")
    try:
        frame.write_parquet(tmp)
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def schema_hash(schema: pl.Schema) -> str:
    text = ";".join(f"{name}:{dtype}" for name, dtype in sorted(schema.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]
