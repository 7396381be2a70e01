"""The demo's business data as CSV files (and, for tests, loaded into PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from finops_dagster.demo import catalog as C


def frames(start: dt.date = C.DEMO_START, end: dt.date = C.DEMO_END) -> dict[str, pl.DataFrame]:
    days = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
    requests = [
        {"usage_date": d, "customer_id": cust, "service": svc, "request_count": n}
        for d in days
        if d != C.MISSING_REQUESTS_DAY
        for svc, shares in C.REQUEST_SHARES.items()
        for cust, n in shares.items()
    ]
    return {
        "customers": pl.DataFrame(
            [
                {"customer_id": k, "name": v[0], "mrr": f"{v[1]}.00", "currency": "USD"}
                for k, v in C.CUSTOMERS.items()
            ]
        ),
        "requests": pl.DataFrame(requests),
        "budgets": pl.DataFrame(
            [
                {"scope_type": t, "scope_value": v, "monthly_budget": f"{b}.00", "currency": "USD"}
                for t, v, b in C.BUDGETS
            ]
        ),
        "shared_rules": pl.DataFrame([{"service_tag": s, "split_by": "requests"} for s in C.SHARED_SERVICES]),
    }


def write_csv(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, df in frames().items():
        df.write_csv(folder / f"{name}.csv")
    return folder


def load_postgres(url: str, schema: str) -> None:
    """Create ``schema`` and load every dataset into it (replacing what was there)."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.begin() as con:
        con.execute(sa.text(f'drop schema if exists "{schema}" cascade'))
        con.execute(sa.text(f'create schema "{schema}"'))
    for name, df in frames().items():
        df.to_pandas().to_sql(name, engine, schema=schema, index=False)
    engine.dispose()
