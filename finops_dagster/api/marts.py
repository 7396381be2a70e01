"""Read access to the marts for the API: an in-memory DuckDB whose only objects are views over
the Parquet exports (data/exports/<mart>.parquet).

Reading the exports, not the warehouse file, means the API never holds DuckDB's file lock (a
long-lived reader would block every dbt run) and always serves the last complete build: exports
are replaced atomically. Every statement is fixed text with bound parameters; identifiers come
from the endpoint specs, never from a request.
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
        self._con = duckdb.connect(":memory:")
        self._lock = threading.Lock()
        self._views: set[str] = set()

    def _view(self, mart: str) -> None:
        path = self.exports_dir / f"{mart}.parquet"
        if not path.exists():
            raise MartNotBuilt(f"mart {mart} has no export yet ({path}): run marts_job")
        with self._lock:
            if mart not in self._views:
                self._con.execute(f"create or replace view {mart} as select * from read_parquet('{path}')")
                self._views.add(mart)

    def page(self, q: Query, params: dict[str, Any], limit: int, offset: int) -> tuple[list[dict], int]:
        """One page of rows and the total row count, for the filters that are set."""
        self._view(q.mart)
        where, args = [], []
        for f in q.filters:
            value = params.get(f.param)
            if value is not None:
                where.append(f"{f.column} {f.op} ?")
                args.append(value)
        clause = (" where " + " and ".join(where)) if where else ""
        group = f" group by {q.group_by}" if q.group_by else ""
        base = f"select {q.select} from {q.mart}{clause}{group}"
        cur = self._con.cursor()  # one cursor per request: DuckDB cursors are thread-safe
        try:
            total = cur.execute(f"select count(*) from ({base})", args).fetchone()[0]
            rel = cur.execute(f"{base} order by {q.order_by} limit ? offset ?", [*args, limit, offset])
            names = [d[0] for d in rel.description]
            rows = [dict(zip(names, map(_json_value, r), strict=True)) for r in rel.fetchall()]
        finally:
            cur.close()
        return rows, int(total)


def _json_value(v: Any) -> Any:
    if isinstance(v, Decimal):  # money stays exact: a decimal string, never a float
        return format(v.normalize(), "f") if v else "0"
    if isinstance(v, dt.date | dt.datetime):
        return v.isoformat()
    return v
