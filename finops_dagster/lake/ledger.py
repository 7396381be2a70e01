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
from typing import TYPE_CHECKING

import polars as pl

from finops_dagster.lake.raw_lake import schema_hash

if TYPE_CHECKING:
    from finops_dagster.lake.journal import StagedDays

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
CREATE TABLE IF NOT EXISTS held_days (
    source TEXT NOT NULL, usage_date TEXT NOT NULL, check_name TEXT NOT NULL, reason TEXT NOT NULL,
    held_at TEXT NOT NULL, PRIMARY KEY (source, usage_date, check_name));
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


def entry_to_json(e: DayEntry) -> dict:
    """A ledger entry as the commit journal stores it (decimals as strings)."""
    return {
        "source": e.source,
        "usage_date": e.usage_date.isoformat(),
        "billing_period": e.billing_period,
        "delivery_id": e.delivery_id,
        "manifest": e.manifest,
        "source_files": list(e.source_files),
        "row_count": e.row_count,
        "unblended_cost": str(e.unblended_cost),
        "effective_cost": str(e.effective_cost),
        "schema_hash": e.schema_hash,
        "raw_file": e.raw_file,
        "accounts": {
            a: [t.row_count, str(t.unblended_cost), str(t.effective_cost)] for a, t in e.accounts.items()
        },
    }


def entry_from_json(d: dict) -> DayEntry:
    return DayEntry(
        source=d["source"],
        usage_date=dt.date.fromisoformat(d["usage_date"]),
        billing_period=d["billing_period"],
        delivery_id=d["delivery_id"],
        manifest=d["manifest"],
        source_files=tuple(d["source_files"]),
        row_count=d["row_count"],
        unblended_cost=Decimal(d["unblended_cost"]),
        effective_cost=Decimal(d["effective_cost"]),
        schema_hash=d["schema_hash"],
        raw_file=d["raw_file"],
        accounts={a: AccountTotals(n, Decimal(u), Decimal(f)) for a, (n, u, f) in d["accounts"].items()},
    )


def day_entries(
    source: str,
    staged: StagedDays,
    row_counts: Mapping[dt.date, int],
    delivery_id: str,
    source_files: tuple[str, ...],
    accounts: Mapping[dt.date, dict[str, AccountTotals]] | None = None,
    notes: Mapping[dt.date, str] | None = None,
) -> list[DayEntry]:
    """Ledger entries for sources without CUR's manifests (APIs, business files): one per
    staged day, totals summed from ``accounts`` (zero for sources that carry no cost)."""
    out = []
    for day in staged.days:
        accts = (accounts or {}).get(day, {})
        out.append(
            DayEntry(
                source=source,
                usage_date=day,
                billing_period=day.strftime("%Y-%m"),
                delivery_id=delivery_id,
                manifest=(notes or {}).get(day, ""),
                source_files=source_files,
                row_count=int(row_counts.get(day, 0)),
                unblended_cost=sum((a.unblended_cost for a in accts.values()), Decimal(0)),
                effective_cost=sum((a.effective_cost for a in accts.values()), Decimal(0)),
                schema_hash=schema_hash(pl.read_parquet_schema(staged.staged_path(day))),
                raw_file=str(staged.target(day)),
                accounts=accts,
            )
        )
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
                    (
                        *key,
                        e.billing_period,
                        e.delivery_id,
                        e.manifest,
                        json.dumps(e.source_files),
                        e.row_count,
                        str(e.unblended_cost),
                        str(e.effective_cost),
                        e.schema_hash,
                        e.raw_file,
                        now,
                    ),
                )
                con.executemany(
                    "INSERT INTO ingested_day_accounts VALUES (?,?,?,?,?,?)",
                    [
                        (*key, acct, t.row_count, str(t.unblended_cost), str(t.effective_cost))
                        for acct, t in e.accounts.items()
                    ],
                )

    def day(self, source: str, day: dt.date) -> DayEntry | None:
        with self._connect() as con:
            row = con.execute(
                "SELECT * FROM ingested_days WHERE source=? AND usage_date=?", (source, day.isoformat())
            ).fetchone()
            if row is None:
                return None
            accts = con.execute(
                "SELECT account_id, row_count, unblended_cost, effective_cost "
                "FROM ingested_day_accounts WHERE source=? AND usage_date=?",
                (source, day.isoformat()),
            ).fetchall()
        return DayEntry(
            source=row[0],
            usage_date=dt.date.fromisoformat(row[1]),
            billing_period=row[2],
            delivery_id=row[3],
            manifest=row[4],
            source_files=tuple(json.loads(row[5])),
            row_count=row[6],
            unblended_cost=Decimal(row[7]),
            effective_cost=Decimal(row[8]),
            schema_hash=row[9],
            raw_file=row[10],
            ingested_at=row[11],
            accounts={a: AccountTotals(n, Decimal(u), Decimal(f)) for a, n, u, f in accts},
        )

    def accounts_on(self, source: str, day: dt.date) -> set[str] | None:
        """Accounts with line items on ``day``; None when the day was never ingested."""
        entry = self.day(source, day)
        return None if entry is None else {a for a, t in entry.accounts.items() if t.row_count}

    def hold(self, source: str, day: dt.date, check_name: str, reason: str) -> None:
        """A blocking raw check failed on ``day``: no later run builds it into the marts until the
        check passes again (``release``)."""
        with self._connect() as con:
            con.execute(
                "INSERT OR REPLACE INTO held_days VALUES (?,?,?,?,?)",
                (
                    source,
                    day.isoformat(),
                    check_name,
                    reason[:500],
                    dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                ),
            )

    def release(self, source: str, day: dt.date, check_name: str) -> None:
        with self._connect() as con:
            con.execute(
                "DELETE FROM held_days WHERE source=? AND usage_date=? AND check_name=?",
                (source, day.isoformat(), check_name),
            )

    def held(self, source: str, days: Iterable[dt.date] | None = None) -> dict[dt.date, str]:
        """Held days (all, or those among ``days``) and why, check by check."""
        with self._connect() as con:
            rows = con.execute(
                "SELECT usage_date, check_name, reason FROM held_days WHERE source=? "
                "ORDER BY usage_date, check_name",
                (source,),
            ).fetchall()
        wanted = None if days is None else {d.isoformat() for d in days}
        out: dict[dt.date, str] = {}
        for day, check, reason in rows:
            if wanted is None or day in wanted:
                d = dt.date.fromisoformat(day)
                out[d] = "; ".join(filter(None, [out.get(d, ""), f"{check}: {reason}"]))
        return out
