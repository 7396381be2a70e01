"""Business data: customers and MRR, per-customer request counts, budgets, shared-resource rules.

From a folder of CSV / Parquet files (``customers.csv`` or ``customers.parquet`` ...) or a
PostgreSQL database (``postgresql+psycopg2://...``; tables of the same names, optionally in
the schema given as ``?schema=``). Every dataset is validated: a missing column, a value of the
wrong type or a negative amount is an error naming the file or table, the row and the column.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit, urlunsplit

import polars as pl

from finops_dagster.redact import redact
from finops_dagster.sources.cur_rules import MONEY

log = logging.getLogger(__name__)

DATASETS: dict[str, dict[str, pl.DataType]] = {
    "customers": {"customer_id": pl.String, "name": pl.String, "mrr": MONEY, "currency": pl.String},
    "requests": {
        "usage_date": pl.Date,
        "customer_id": pl.String,
        "service": pl.String,
        "request_count": pl.Int64,
    },
    "budgets": {
        "scope_type": pl.String,
        "scope_value": pl.String,
        "monthly_budget": MONEY,
        "currency": pl.String,
        "cost_basis": pl.String,
        "threshold_pct": pl.Float64,
    },
    "shared_rules": {"service_tag": pl.String, "split_by": pl.String},
}
NON_NEGATIVE = {"mrr", "request_count", "monthly_budget"}
# Budgets as AWS Budgets users state them: a scope (the organization, an account, team, service,
# a cost category value or a tag value), a cost basis and the share of the budget that alerts.
SCOPES = {"organization", "account", "team", "service"}
SCOPE_PREFIXES = ("cost_category:", "tag:")
COST_BASES = {"amortized", "unblended", "net"}
OPTIONAL = {"budgets": {"cost_basis": "amortized", "threshold_pct": "100"}}  # absent column: default


def _convert(col: str, dtype: pl.DataType) -> pl.Expr:
    """Text to the dataset's type; a value that does not convert becomes null (then reported)."""
    if dtype == pl.Date:
        return pl.col(col).str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)
    return pl.col(col).str.strip_chars().cast(dtype, strict=False)


def _query(engine, statement, params: dict, attempts: int = 3, pause: float = 1.0) -> tuple[list, list]:
    """Rows and column names; a connection the server or network dropped (OperationalError) is
    retried on a new connection, so one blip does not fail a whole run."""
    import sqlalchemy as sa

    for attempt in range(1, attempts + 1):
        try:
            with engine.connect() as con:
                result = con.execute(statement, params)
                return [dict(r._mapping) for r in result], list(result.keys())
        except sa.exc.OperationalError as exc:
            if attempt == attempts:
                raise
            log.warning("business data: connection lost (%s), retrying", redact(str(exc).splitlines()[0]))
            engine.dispose()
            time.sleep(pause * attempt)
    raise AssertionError("unreachable")


class BusinessDataError(Exception):
    """Business data failed validation; the message names the file/table, row and column."""


class BusinessSource:
    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sql = url.startswith("postgresql")

    def _where(self, name: str) -> str:
        if self.is_sql:
            return f"table {self._schema()}.{name}" if self._schema() else f"table {name}"
        return str(self._file(name))

    def _schema(self) -> str | None:
        return parse_qs(urlsplit(self.url).query).get("schema", [None])[0]

    def _file(self, name: str) -> Path:
        for ext in (".parquet", ".csv"):
            path = Path(self.url) / f"{name}{ext}"
            if path.exists():
                return path
        return Path(self.url) / f"{name}.csv"

    def _raw(self, name: str, start: dt.date | None, end: dt.date | None) -> pl.DataFrame:
        if self.is_sql:
            import sqlalchemy as sa

            parts = urlsplit(self.url)
            # the password comes from the URL, PGPASSWORD or ~/.pgpass (libpq reads both)
            engine = sa.create_engine(urlunsplit(parts._replace(query="")), pool_pre_ping=True)
            table = f'"{self._schema()}"."{name}"' if self._schema() else f'"{name}"'
            sql, params = f"select * from {table}", {}
            if start is not None:
                sql += " where usage_date >= :start and usage_date < :end"
                params = {"start": start, "end": end}
            try:
                rows, cols = _query(engine, sa.text(sql), params)
            except sa.exc.SQLAlchemyError as exc:
                raise BusinessDataError(
                    f"{self._where(name)}: {exc.__class__.__name__}: {redact(str(exc).splitlines()[0])}"
                ) from exc
            finally:
                engine.dispose()
            return pl.DataFrame(rows, schema=cols, orient="row", infer_schema_length=None).with_columns(
                pl.all().cast(pl.String)
            )
        path = self._file(name)
        if not path.exists():
            raise BusinessDataError(f"{path}: file not found (expected {name}.csv or .parquet)")
        try:
            df = pl.read_parquet(path) if path.suffix == ".parquet" else pl.read_csv(path, infer_schema=False)
        except Exception as exc:
            raise BusinessDataError(f"{path}: unreadable ({exc})") from exc
        df = df.with_columns(pl.all().cast(pl.String))
        if start is not None and "usage_date" in df.columns:
            df = df.filter(pl.col("usage_date") >= str(start), pl.col("usage_date") < str(end))
        return df

    def read(self, name: str, start: dt.date | None = None, end: dt.date | None = None) -> pl.DataFrame:
        """One dataset, typed and validated (``start``/``end`` filter dated datasets)."""
        schema = DATASETS[name]
        df = self._raw(name, start, end)
        where = self._where(name)
        optional = OPTIONAL.get(name, {})
        df = df.with_columns(
            [pl.lit(default).alias(col) for col, default in optional.items() if col not in df.columns]
        )
        df = df.with_columns([pl.col(col).fill_null(default) for col, default in optional.items()])
        missing = [c for c in schema if c not in df.columns]
        if missing:
            raise BusinessDataError(f"{where}: missing column(s) {', '.join(missing)}")
        df = df.select(list(schema)).with_row_index("row", offset=1)
        typed = df.with_columns([_convert(c, t) for c, t in schema.items()])
        for col, dtype in schema.items():
            bad = typed.filter(
                pl.col(col).is_null() & df[col].is_not_null()
                | df[col].is_null() & (col in ("customer_id", "usage_date"))
            )
            if bad.height:
                row = bad["row"][0]
                value = df.filter(pl.col("row") == row)[col].item()
                raise BusinessDataError(f"{where}: row {row}, column {col}: {value!r} is not a valid {dtype}")
            if col in NON_NEGATIVE:
                neg = typed.filter(pl.col(col) < 0)
                if neg.height:
                    raise BusinessDataError(
                        f"{where}: row {neg['row'][0]}, column {col}: negative value {neg[col][0]}"
                    )
        if name == "budgets":
            scoped = pl.col("scope_type").is_in(list(SCOPES))
            for prefix in SCOPE_PREFIXES:
                scoped = scoped | (
                    pl.col("scope_type").str.starts_with(prefix)
                    & (pl.col("scope_type").str.len_chars() > len(prefix))
                )
            checks = [
                (
                    "scope_type",
                    ~scoped,
                    f"is not one of {sorted(SCOPES)} or {', '.join(p + '<name>' for p in SCOPE_PREFIXES)}",
                ),
                (
                    "cost_basis",
                    ~pl.col("cost_basis").is_in(list(COST_BASES)),
                    f"is not one of {sorted(COST_BASES)}",
                ),
                (
                    "threshold_pct",
                    ~pl.col("threshold_pct").is_between(0, 1000, closed="right"),
                    "is not a share of the budget in (0, 1000] %",
                ),
            ]
            for col, bad, why in checks:
                wrong = typed.filter(bad)
                if wrong.height:
                    raise BusinessDataError(
                        f"{where}: row {wrong['row'][0]}, column {col}: {wrong[col][0]!r} {why}"
                    )
        return typed.drop("row")

    def requests(self, start: dt.date, end: dt.date, customers: pl.DataFrame) -> pl.DataFrame:
        """Request counts in [start, end) whose customers all exist."""
        df = self.read("requests", start, end)
        unknown = df.filter(~pl.col("customer_id").is_in(customers["customer_id"].implode()))
        if unknown.height:
            raise BusinessDataError(
                f"{self._where('requests')}: unknown customer_id "
                f"{unknown['customer_id'][0]!r} on {unknown['usage_date'][0]}"
            )
        return df
