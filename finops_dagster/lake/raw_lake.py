"""The raw layer: one Parquet file per source per UTC usage day.

A day is replaced with ``os.replace`` of a fully written file, so readers see the old day or
the new one, never half of each, and a re-run or a restated delivery cannot double-count.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import uuid
from collections.abc import Iterable
from pathlib import Path

import polars as pl

BATCH_ROWS = 131_072  # rows per batch written to the day files: what bounds memory


class RawLake:
    def __init__(self, root: Path) -> None:
        self.root = root

    def day_path(self, source: str, day: dt.date) -> Path:
        return self.root / source / f"usage_date={day.isoformat()}" / "data.parquet"

    def has_day(self, source: str, day: dt.date) -> bool:
        return self.day_path(source, day).exists()

    def scan_day(self, source: str, day: dt.date) -> pl.LazyFrame:
        return pl.scan_parquet(self.day_path(source, day))

    def write_days(self, source: str, data: pl.LazyFrame | Iterable[pl.DataFrame],
                   days: list[dt.date]) -> dict[dt.date, Path]:
        """Write ``data`` (a LazyFrame, or batches of rows) into one file per day, then swap
        each day in atomically.

        Each batch is split by ``usage_date`` and appended at once to that day's Parquet
        writer, so memory is one batch whatever the delivery's or a file's size (Polars'
        partitioned sink held whole days: 5 GB for a 20M-line-item month). Days with no rows
        get an empty file with the schema, so a restated delivery that drops a day's rows
        also clears the day. Rows outside ``days`` are ignored.
        """
        import pyarrow.parquet as pq

        staging = self.root / "_staging" / uuid.uuid4().hex
        staging.mkdir(parents=True)
        batches = data.collect_batches(chunk_size=BATCH_ROWS) if isinstance(data, pl.LazyFrame) \
            else data
        writers: dict[dt.date, pq.ParquetWriter] = {}
        schema = None
        wanted = set(days)
        try:
            for batch in batches:
                if schema is None:
                    schema = batch.head(0).to_arrow().schema
                for (day,), rows in batch.partition_by("usage_date", as_dict=True).items():
                    if day not in wanted:
                        continue
                    table = rows.to_arrow()
                    if day not in writers:
                        writers[day] = pq.ParquetWriter(staging / f"{day.isoformat()}.parquet",
                                                        schema, compression="zstd")
                    writers[day].write_table(table if table.schema == schema
                                             else table.select(schema.names).cast(schema))
            for writer in writers.values():
                writer.close()
            writers.clear()
            if schema is None:
                schema = (data.head(0).collect() if isinstance(data, pl.LazyFrame)
                          else pl.DataFrame({"usage_date": []}, schema={"usage_date": pl.Date})
                          ).to_arrow().schema
            written = {}
            for day in days:
                part = staging / f"{day.isoformat()}.parquet"
                if not part.exists():
                    pq.write_table(schema.empty_table(), part, compression="zstd")
                target = self.day_path(source, day)
                target.parent.mkdir(parents=True, exist_ok=True)
                part.replace(target)
                written[day] = target
            return written
        finally:
            for writer in writers.values():
                writer.close()
            shutil.rmtree(staging, ignore_errors=True)


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
