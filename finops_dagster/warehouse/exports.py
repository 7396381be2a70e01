"""Parquet exports of the marts: what analysts, BI tools and the API read without a DuckDB client.

Each export is a new immutable file under ``exports/_versions/<mart>/``; ``exports/<mart>.parquet``
is then pointed at it (a hard link renamed over the old name). A reader that opened the previous
export keeps reading it whole, a reader that opens the name gets the new one whole: no reader
ever sees a half-written or half-replaced file, and nothing is copied. The last few versions are
kept for readers still on them; older ones are removed.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import polars as pl

VERSIONS = "_versions"
KEEP_VERSIONS = 3  # versions kept at least; older ones go once no reader can still be on them
PRUNE_AFTER_SECONDS = 300


def publish(target_dir: Path, name: str, write: Callable[[Path], None]) -> Path:
    """Write a new version of export ``name`` with ``write(path)``, then make it current."""
    if not name.isidentifier():
        raise ValueError(f"not an export name: {name!r}")
    versions = target_dir / VERSIONS / name
    versions.mkdir(parents=True, exist_ok=True)
    stamp = f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}"
    tmp = versions / f".{stamp}.tmp"
    try:
        write(tmp)
        version = versions / f"{stamp}.parquet"
        tmp.replace(version)
    finally:
        tmp.unlink(missing_ok=True)
    link = target_dir / f".{name}.{stamp}.link"
    os.link(version, link)
    os.replace(link, target_dir / f"{name}.parquet")
    now = time.time()
    for old in sorted(versions.glob("*.parquet"))[:-KEEP_VERSIONS]:
        if now - old.stat().st_mtime > PRUNE_AFTER_SECONDS:  # no reader is still on it
            old.unlink(missing_ok=True)
    return target_dir / f"{name}.parquet"


def current_version(target_dir: Path, name: str) -> Path:
    """The immutable file ``<name>.parquet`` points at now. Read that, not the name: a reader
    such as DuckDB opens a file more than once (footer, then row groups), and a name replaced
    in between gave it the footer of one version and the data of another ("Invalid data")."""
    current = target_dir / f"{name}.parquet"
    inode = current.stat().st_ino
    for version in sorted((target_dir / VERSIONS / name).glob("*.parquet"), reverse=True):
        if version.stat().st_ino == inode:
            return version
    return current  # an export written by hand, or by an earlier version: no history


def publish_frame(target_dir: Path, name: str, frame: pl.DataFrame) -> Path:
    return publish(target_dir, name, lambda path: frame.write_parquet(path))


def export_marts(
    con, names: list[str], target_dir: Path, rewritten: list[str] | None = None
) -> dict[str, int]:
    """Publish ``<target_dir>/<mart>.parquet`` for each mart whose content changed since its
    current export; returns the row count of each (``rewritten`` collects the marts written). A
    failed export leaves the previous one in place. An unchanged mart keeps its export file, so
    readers (the API, BI extracts) see no new version and reload nothing: a one-day refresh
    rewrites only what the day moved, not every mart of the history."""
    counts = {}
    for name in names:
        if not name.isidentifier():
            raise ValueError(f"not a mart name: {name!r}")
        rows, print_ = fingerprint(con, name)
        counts[name] = rows
        stamp = target_dir / VERSIONS / name / "fingerprint"
        current = target_dir / f"{name}.parquet"
        if current.exists() and stamp.exists() and stamp.read_text() == print_:
            continue
        publish(
            target_dir,
            name,
            lambda path, name=name: con.execute(
                f"copy (select * from {name}) to '{path}' (format parquet, compression zstd)"
            ),
        )
        stamp.write_text(print_)
        if rewritten is not None:
            rewritten.append(name)
    return counts


def fingerprint(con, name: str) -> tuple[int, str]:
    """Row count and a content fingerprint of a mart: its columns and types, and the sum of
    every row's hash (order-independent, one scan; far cheaper than writing the Parquet)."""
    columns = con.execute(f"describe {name}").fetchall()
    rows, hashes = con.execute(f"select count(*), coalesce(sum(hash(t)), 0) from {name} as t").fetchone()
    return int(rows), f"{[(c[0], c[1]) for c in columns]}|{rows}|{hashes}"


def write_analyst_database(target_dir: Path) -> Path:
    """``<target_dir>/marts.duckdb``: one view per export, for analysts who want SQL. It never
    touches the warehouse file: a reader of warehouse.duckdb, even read-only, holds a lock that
    makes the next dbt run fail. Rewritten under a new name and renamed, so an analyst who has
    it open keeps the old one until they reconnect."""
    import duckdb

    target = target_dir / "marts.duckdb"
    tmp = target_dir / f".marts.{uuid.uuid4().hex[:8]}.duckdb"
    try:
        with duckdb.connect(str(tmp)) as con:
            for export in sorted(target_dir.glob("*.parquet")):
                if export.stem.isidentifier():
                    con.execute(f"create view {export.stem} as select * from read_parquet('{export}')")
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
    return target
