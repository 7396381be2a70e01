"""Read access to the marts for the API: an in-memory DuckDB holding a copy of each mart's
Parquet export (data/exports/<mart>.parquet), reloaded when the export file changes.

Reading the exports, not the warehouse file, means the API never holds DuckDB's file lock (a
long-lived reader would block every dbt run) and always serves the last complete build: exports
are immutable versions (warehouse/exports.py), and a changed one (new inode) is loaded into a
new table before queries switch to it, so a query never meets a table being replaced (that race
answered 13 of 6,736 requests with a 500 while exports were replaced). Cached answers are
bounded in bytes, not entries. Every statement is fixed text with bound parameters; identifiers come from the
endpoint specs, never from a request.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import threading
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from finops_dagster.warehouse.exports import current_version


class MartNotBuilt(LookupError):
    """The mart's export does not exist yet (marts_job has not run)."""


@dataclass(frozen=True)
class Filter:
    param: str  # query parameter
    column: str  # mart column
    op: str = "="


@dataclass(frozen=True)
class Query:
    mart: str
    select: str  # fixed SQL select list (or aggregate) over the mart
    filters: tuple[Filter, ...]
    order_by: str
    group_by: str = ""


class MartReader:
    def __init__(self, exports_dir: Path, cache_bytes: int = 64 * 2**20) -> None:
        import duckdb

        self.exports_dir = exports_dir
        # tiny queries: one DuckDB thread each is faster than fanning out, and leaves the other
        # core to the web server
        self._con = duckdb.connect(":memory:", config={"threads": 1})
        # DuckDB's first statement with bound parameters imports pandas, numpy and pyarrow (to
        # tell a DataFrame parameter from a value): 0.23 s, paid here at the worker's start
        # instead of by its first request (a cold /costs/trend took 0.3 s at 20M line items)
        self._con.execute("select ? as warm", [0]).fetchall()
        self._lock = threading.Lock()
        self._loaded: dict[str, tuple[int, int, int]] = {}  # mart -> (inode, mtime_ns, size)
        self._tables: dict[str, list[str]] = {}  # mart -> its loaded tables, newest last
        self._versions = itertools.count(1)
        self._currency: tuple[Any, str | None] = (None, None)
        # answers keyed by the statement, its parameters and the export's version: a new export
        # changes the key, so a cached page is never stale; bounded in bytes, oldest dropped first
        self._answers: dict[tuple, tuple[list[dict], int, int]] = {}
        self.cache_bytes = cache_bytes
        self._cached_bytes = 0

    def _table(self, mart: str) -> tuple[tuple[int, int, int], str]:
        """The export's version and the table holding it (a new table per version; the two
        previous ones are kept for queries still running on them)."""
        path = self.exports_dir / f"{mart}.parquet"
        try:
            st = path.stat()
        except FileNotFoundError:
            raise MartNotBuilt(f"mart {mart} has no export yet: run marts_job") from None
        version = (st.st_ino, st.st_mtime_ns, st.st_size)
        with self._lock:
            if self._loaded.get(mart) != version:
                table = f"{mart}__v{next(self._versions)}"
                source = current_version(self.exports_dir, mart)
                self._con.execute(f"create table {table} as select * from read_parquet('{source}')")
                self._loaded[mart] = version
                tables = self._tables.setdefault(mart, [])
                tables.append(table)
                for old in tables[:-3]:
                    self._con.execute(f"drop table if exists {old}")
                del tables[:-3]
            return version, self._tables[mart][-1]

    def page(self, q: Query, params: dict[str, Any], limit: int, offset: int) -> tuple[list[dict], int]:
        """One page of rows and the total row count, for the filters that are set."""
        version, table = self._table(q.mart)
        where, args = [], []
        for f in q.filters:
            value = params.get(f.param)
            if value is not None:
                where.append(f"{f.column} {f.op} ?")
                args.append(value)
        clause = (" where " + " and ".join(where)) if where else ""
        group = f" group by {q.group_by}" if q.group_by else ""
        base = f"select {q.select} from {table}{clause}{group}"
        sql = f"select *, count(*) over () as _total from ({base}) order by {q.order_by} limit ? offset ?"
        key = (q.mart, version, sql, tuple(args), limit, offset)
        if (hit := self._answers.get(key)) is not None:
            return hit[0], hit[1]
        cur = self._con.cursor()  # one cursor per request: DuckDB cursors are thread-safe
        try:
            rel = cur.execute(sql, [*args, limit, offset])
            names = [d[0] for d in rel.description]
            fetched = rel.fetchall()
            if fetched:
                total = fetched[0][-1]
            else:  # past the last page: the count alone
                total = cur.execute(f"select count(*) from ({base})", args).fetchone()[0]
        finally:
            cur.close()
        rows = [dict(zip(names[:-1], map(_json_value, r[:-1]), strict=True)) for r in fetched]
        size = len(json.dumps(rows, default=str)) + 200  # what the answer costs to keep
        with self._lock:
            if size <= self.cache_bytes // 4:  # a huge page is answered, not cached
                while self._answers and self._cached_bytes + size > self.cache_bytes:
                    _, _, dropped = self._answers.pop(next(iter(self._answers)))
                    self._cached_bytes -= dropped
                self._answers[key] = (rows, int(total), size)
                self._cached_bytes += size
        return rows, int(total)

    def currency(self) -> str | None:
        """The currency every cost mart reports in (fct_daily_cost's billing_currency, read from
        its small per-day summary fct_cost_trend: loading fct_daily_cost itself made the first
        request of an API over 20M line items take 1.1 s); None before the marts are exported.
        Amounts in any other currency are only ever served by /api/v1/costs/other-currencies,
        with their currency on each row."""
        try:
            version, table = self._table("fct_cost_trend")
        except MartNotBuilt:
            return None
        if self._currency[0] != version:
            with self._con.cursor() as cur:
                found = cur.execute(f"select distinct billing_currency from {table}").fetchall()
            self._currency = (version, ",".join(sorted(str(r[0]) for r in found)) or None)
        return self._currency[1]

    @property
    def cached_bytes(self) -> int:
        return self._cached_bytes


def _json_value(v: Any) -> Any:
    if isinstance(v, Decimal):  # money stays exact: a decimal string, never a float
        return format(v.normalize(), "f") if v else "0"
    if isinstance(v, dt.date | dt.datetime):
        return v.isoformat()
    return v
