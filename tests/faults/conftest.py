"""Fault-injection helpers: run a piece of the platform in a child process that kills itself at a
named crash point (finops_dagster.faults), then compare what it left with the state before and
the state after a clean run."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import polars as pl

from finops_dagster.lake.ledger import Ledger

PROJECT = Path(__file__).resolve().parents[2]


def run_child(code: str, crash_at: str = "", timeout: float = 300, **env: str) -> subprocess.CompletedProcess:
    """``code`` in a fresh interpreter; with ``crash_at`` it dies there by SIGKILL (returncode -9)."""
    environ = {**os.environ, **env, "PYTHONPATH": str(PROJECT)}
    environ.pop("FINOPS_CRASH_AT", None)
    if crash_at:
        environ["FINOPS_CRASH_AT"] = crash_at
    return subprocess.run(
        [sys.executable, "-c", code],
        env=environ,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def lake_state(data: Path, source: str = "cur") -> dict:
    """Everything a delivery changes: day files (digest), ledger rows (with accounts),
    restatement records (content), held days; staging leftovers are reported too."""
    raw = data / "raw"
    files = (
        {
            str(p.relative_to(raw)): hashlib.sha256(p.read_bytes()).hexdigest()[:16]
            for p in sorted((raw / source).rglob("*.parquet"))
        }
        if (raw / source).exists()
        else {}
    )
    restated = {
        str(p.relative_to(raw)): pl.read_parquet(p).drop("detected_at").rows()
        for p in sorted((raw / "cur_restatements").rglob("billing_period=*/*.parquet"))
    }
    ledger = Ledger(data / "ledger.sqlite")
    with ledger._connect() as con:  # noqa: SLF001 - the test reads the whole table
        rows = con.execute(
            "select source, usage_date, delivery_id, row_count, unblended_cost, "
            "effective_cost, raw_file from ingested_days order by 1, 2"
        ).fetchall()
        accts = con.execute("select * from ingested_day_accounts order by 1, 2, 3").fetchall()
    return {"files": files, "restatements": restated, "ledger": rows, "accounts": accts}


def staging_left(data: Path) -> list[str]:
    root = data / "raw" / "_staging"
    return sorted(p.name for p in root.iterdir()) if root.exists() else []
