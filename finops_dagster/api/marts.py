"""Read access to the marts for the API: an in-memory DuckDB holding a copy of each mart's
Parquet export (data/exports/<mart>.parquet), reloaded when the export file changes.

Reading the exports, not the warehouse file, means the API never holds DuckDB's file lock (a
long-lived reader would block every dbt run) and always serves the last complete build: exports
are replaced atomically, and a changed file (new inode, mtime or size) is reloaded before the
next query. Every statement is fixed text with bound parameters; identifiers come from the
endpoint specs, never from a request.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any


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
    def __init__(self, exports_dir: Path) -> None:
        import duckdb

        self.exports_dir = exports_dir
        # tiny queries: one DuckDB thread each is faster than fanning out, and leaves the other
        # core to the web server
        self._con = duckdb.connect(":memory:", config={"threads": 1})
        self._lock = threading.Lock()
        self._loaded: dict[str, tuple[int, int, int]] = {}  # mart -> (inode, mtime_ns, size)
        # answers keyed by the statement, its parameters and the export's version: a new export
        # changes the key, so a cached page is never stale; bounded, oldest dropped first
        self._answers: dict[tuple, tuple[list[dict], int]] = {}
        self.cache_size = 4096

    def _table(self, mart: str) -> tuple[int, int, int]:
        path = self.exports_dir / f"{mart}.parquet"
        try:
            st = path.stat()
        except FileNotFoundError:
            raise MartNotBuilt(f"mart {mart} has no export yet ({path}): run marts_job") from None
        version = (st.st_ino, st.st_mtime_ns, st.st_size)
        if self._loaded.get(mart) == version:
            return version
        with self._lock:
            if self._loaded.get(mart) != version:
                self._con.execute(f"create or replace table {mart} as select * from read_parquet('{path}')")
                self._loaded[mart] = version
        return version

    def page(self, q: Query, params: dict[str, Any], limit: int, offset: int) -> tuple[list[dict], int]:
        """One page of rows and the total row count, for the filters that are set."""
        version = self._table(q.mart)
        where, args = [], []
        for f in q.filters:
            value = params.get(f.param)
            if value is not None:
                where.append(f"{f.column} {f.op} ?")
                args.append(value)
        clause = (" where " + " and ".join(where)) if where else ""
        group = f" group by {q.group_by}" if q.group_by else ""
        base = f"select {q.select} from {q.mart}{clause}{group}"
        sql = (f"select *, count(*) over () as _total from ({base}) "
               f"order by {q.order_by} limit ? offset ?")
        key = (q.mart, version, sql, tuple(args), limit, offset)
        if (hit := self._answers.get(key)) is not None:
            return hit
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
        answer = (rows, int(total))
        with self._lock:
            if len(self._answers) >= self.cache_size:
                self._answers.pop(next(iter(self._answers)), None)
            self._answers[key] = answer
        return answer


def _json_value(v: Any) -> Any:
    if isinstance(v, Decimal):  # money stays exact: a decimal string, never a float
        return format(v.normalize(), "f") if v else "0"
    if isinstance(v, dt.date | dt.datetime):
        return v.isoformat()
    return v
