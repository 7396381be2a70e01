"""Parquet exports of the marts: what analysts and BI tools read without a DuckDB client."""

from __future__ import annotations

import os
from pathlib import Path


def export_marts(con, names: list[str], target_dir: Path) -> dict[str, int]:
    """Write ``<target_dir>/<mart>.parquet`` for each mart; returns the row count of each.

    Each file is written under a temporary name and renamed, so a reader never sees half a file
    and a failed export leaves the previous one in place.
    """
    target_dir.mkdir(parents=True, exist_ok=True)
    counts = {}
    for name in names:
        if not name.isidentifier():
            raise ValueError(f"not a mart name: {name!r}")
        tmp = target_dir / f".{name}.parquet.tmp"
        con.execute(f"copy (select * from {name}) to '{tmp}' (format parquet, compression zstd)")
        os.replace(tmp, target_dir / f"{name}.parquet")
        counts[name] = con.execute(f"select count(*) from {name}").fetchone()[0]
    return counts
