"""Results of pure, slow computations, kept on disk under a key of everything they depend on: the
input rows, the code that computes them and the versions of the libraries it calls. The
forecast backtest keeps each past month's replays (an ETS fit and 2,000 simulated paths per
scope and cut-off: 2.1 s of a one-day refresh over three months of history, though a refresh
of the open month changes none of them); the Great Expectations column check keys its
remembered verdicts by the same code digest.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
from collections.abc import Callable, Iterable
from pathlib import Path

import polars as pl

from finops_dagster.lake.raw_lake import atomic_write_parquet

KEEP = 256  # newest results kept per folder; older ones are computed again when asked


def frame_digest(frame: pl.DataFrame, before: str = "") -> str:
    """Content of a frame, whatever its row order: its schema and its rows sorted, as CSV text
    (exact for Decimal money; Polars' row hashes are not stable across its versions). ``before``,
    the digest of what came earlier, chains them: a growing history is hashed once a part."""
    text = before + str(frame.schema) + frame.sort(frame.columns).write_csv()
    return hashlib.sha256(text.encode()).hexdigest()


def code_digest(paths: Iterable[Path], packages: Iterable[str]) -> str:
    """The code a result comes from: the source files and the installed versions of packages."""
    h = hashlib.sha256()
    for path in paths:
        h.update(Path(path).read_bytes())
    for package in packages:
        h.update(f"{package}=={importlib.metadata.version(package)}".encode())
    return h.hexdigest()


def memoized(folder: Path | None, parts: Iterable[str], compute: Callable[[], pl.DataFrame]) -> pl.DataFrame:
    """``compute()``, or the frame it returned before for the same key parts. No folder: always
    computed. An empty result is not kept (it cost nothing to compute)."""
    if folder is None:
        return compute()
    key = hashlib.sha256("\n".join(parts).encode()).hexdigest()
    path = folder / f"{key}.parquet"
    if path.exists():
        try:
            frame = pl.read_parquet(path)
        except Exception:  # noqa: BLE001 - a damaged entry is computed again and replaced
            path.unlink(missing_ok=True)
        else:
            os.utime(path)  # recently used: kept by the pruning below
            return frame
    frame = compute()
    if frame.width:
        atomic_write_parquet(frame, path)
        _prune(folder)
    return frame


def _prune(folder: Path) -> None:
    entries = sorted(folder.glob("*.parquet"), key=_mtime, reverse=True)
    for stale in entries[KEEP:]:
        stale.unlink(missing_ok=True)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:  # pruned by another run meanwhile
        return 0.0
