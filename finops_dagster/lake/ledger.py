"""The ingestion ledger: per source and day, what was read and what it summed to.

SQLite (stdlib, one file beside the lake) because it is written by the ingest step and read by
checks, never by dbt. A day is replaced in one transaction, so the ledger always describes a
whole delivery. Sums are stored as decimal strings: exact, never floats.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import polars as pl

from finops_dagster.lake.raw_lake import schema_hash

_SCHEMA = """
CREATE TABLE IF NOT EXISTS ingested_days (
    source TEXT NOT NULL, usage_date TEXT NOT NULL, billing_period TEXT, delivery_id TEXT,
    manifest TEXT, source_files TEXT, row_count INTEGER NOT NULL, unblended_cost TEXT NOT NULL,
    effective_cost TEXT NOT NULL, schema_hash TEXT, raw_file TEXT, ingested_at TEXT NOT NULL,
    PRIMARY KEY (source, usage_date));
CREATE TABLE IF NOT EXISTS ingested_day_accounts (
    source TEXT NOT NULL, usage_date TEXT NOT NULL, account_id TEXT NOT NULL,
    row_count INTEGER NOT NULL, unblended_cost TEXT NOT NULL, effective_cost TEXT NOT NULL,
    PRIMARY KEY (source, usage_date, account_id));
"""


@dataclass(frozen=True)
class AccountTotals:
    row_count: int
    unblended_cost: Decimal
    effective_cost: Decimal


@dataclass(frozen=True)
class DayEntry:
    source: str
    usage_date: dt.date
    billing_period: str
    delivery_id: str
    manifest: str
    source_files: tuple[str, ...]
    row_count: int
    unblended_cost: Decimal
    effective_cost: Decimal
    schema_hash: str
    raw_file: str
    accounts: dict[str, AccountTotals] = field(default_factory=dict)
    ingested_at: str = ""


def day_entries(source: str, written: Mapping[dt.date, Path], row_counts: Mapping[dt.date, int],
                delivery_id: str, source_files: tuple[str, ...],
                accounts: Mapping[dt.date, dict[str, AccountTotals]] | None = None,
                notes: Mapping[dt.date, str] | None = None) -> list[DayEntry]:
    """Ledger entries for sources without CUR's manifests (APIs, business files): one per
    written day, totals summed from ``accounts`` (zero for sources that carry no cost)."""
    out = []
    for day, path in written.items():
        accts = (accounts or {}).get(day, {})
        out.append(DayEntry(
            source=source, usage_date=day, billing_period=day.strftime("%Y-%m"),
            delivery_id=delivery_id, manifest=(notes or {}).get(day, ""),
            source_files=source_files, row_count=int(row_counts.get(day, 0)),
            unblended_cost=sum((a.unblended_cost for a in accts.values()), Decimal(0)),
            effective_cost=sum((a.effective_cost for a in accts.values()), Decimal(0)),
            schema_hash=schema_hash(pl.read_parquet_schema(path)), raw_file=str(path),
            accounts=accts))
    return out


def api_delivery_id() -> str:
    """What identifies an API read in the ledger: when it happened."""
    return f"api:{dt.datetime.now(dt.UTC):%Y-%m-%dT%H:%M:%SZ}"


class Ledger:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as con:
            con.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=60)

    def record_days(self, entries: Iterable[DayEntry]) -> None:
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        with self._connect() as con:
            for e in entries:
                key = (e.source, e.usage_date.isoformat())
                con.execute("DELETE FROM ingested_days WHERE source=? AND usage_date=?", key)
                con.execute("DELETE FROM ingested_day_accounts WHERE source=? AND usage_date=?", key)
                con.execute(
                    "INSERT INTO ingested_days VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                    (*key, e.billing_period, e.delivery_id, e.manifest, json.dumps(e.source_files),
                     e.row_count, str(e.unblended_cost), str(e.effective_cost), e.schema_hash,
                     e.raw_file, now))
                con.executemany(
                    "INSERT INTO ingested_day_accounts VALUES (?,?,?,?,?,?)",
                    [(*key, acct, t.row_count, str(t.unblended_cost), str(t.effective_cost))
                     for acct, t in e.accounts.items()])

    def day(self, source: str, day: dt.date) -> DayEntry | None:
        with self._connect() as con:
            row = con.execute("SELECT * FROM ingested_days WHERE source=? AND usage_date=?",
                              (source, day.isoformat())).fetchone()
            if row is None:
                return None
            accts = con.execute(
                "SELECT account_id, row_count, unblended_cost, effective_cost "
                "FROM ingested_day_accounts WHERE source=? AND usage_date=?",
                (source, day.isoformat())).fetchall()
        return DayEntry(
            source=row[0], usage_date=dt.date.fromisoformat(row[1]), billing_period=row[2],
            delivery_id=row[3], manifest=row[4], source_files=tuple(json.loads(row[5])),
            row_count=row[6], unblended_cost=Decimal(row[7]), effective_cost=Decimal(row[8]),
            schema_hash=row[9], raw_file=row[10], ingested_at=row[11],
            accounts={a: AccountTotals(n, Decimal(u), Decimal(f)) for a, n, u, f in accts},
        )

    def accounts_on(self, source: str, day: dt.date) -> set[str] | None:
        """Accounts with line items on ``day``; None when the day was never ingested."""
        entry = self.day(source, day)
        return None if entry is None else {a for a, t in entry.accounts.items() if t.row_count}
