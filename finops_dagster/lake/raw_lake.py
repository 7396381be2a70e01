"""The raw layer: one Parquet file per source per UTC usage day.

A day is replaced with ``os.replace`` of a fully written file, so readers see the old day or
the new one, never half of each, and a re-run or a restated delivery cannot double-count.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import uuid
from pathlib import Path

import polars as pl

NO_SPLIT = 1 << 62  # keep each day in one file, whatever its size


class RawLake:
    def __init__(self, root: Path) -> None:
        self.root = root

    def day_path(self, source: str, day: dt.date) -> Path:
        return self.root / source / f"usage_date={day.isoformat()}" / "data.parquet"

    def has_day(self, source: str, day: dt.date) -> bool:
        return self.day_path(source, day).exists()

    def scan_day(self, source: str, day: dt.date) -> pl.LazyFrame:
        return pl.scan_parquet(self.day_path(source, day))

    def write_days(self, source: str, lf: pl.LazyFrame, days: list[dt.date]) -> dict[dt.date, Path]:
        """Stream ``lf`` once into one file per day, then swap each day in atomically.

        ``lf`` must carry a ``usage_date`` column; days with no rows get an empty file with the
        same schema, so a restated delivery that drops a day's rows also clears the day.
        """
        staging = self.root / "_staging" / uuid.uuid4().hex
        staging.mkdir(parents=True)
        try:
            lf.filter(pl.col("usage_date").is_in(days)).sink_parquet(
                pl.PartitionBy(staging, key="usage_date", include_key=True,
                               approximate_bytes_per_file=NO_SPLIT),
                mkdir=True,
            )
            empty = lf.head(0).collect()
            written = {}
            for day in days:
                parts = sorted((staging / f"usage_date={day.isoformat()}").glob("*.parquet"))
                target = self.day_path(source, day)
                target.parent.mkdir(parents=True, exist_ok=True)
                tmp = target.with_name(f".{uuid.uuid4().hex}.tmp")
                if len(parts) == 1:
                    parts[0].replace(tmp)
                elif parts:
                    pl.scan_parquet(parts).sink_parquet(tmp)
                else:
                    empty.write_parquet(tmp)
                tmp.replace(target)
                written[day] = target
            return written
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def schema_hash(schema: pl.Schema) -> str:
    text = ";".join(f"{name}:{dtype}" for name, dtype in sorted(schema.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]
