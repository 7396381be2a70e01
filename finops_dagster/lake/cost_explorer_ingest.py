"""Cost Explorer day-range ingestion: paged queries -> raw lake days -> ledger.

Each configured GroupBy set is one query per account (Cost Explorer allows at most two GroupBy
entries a call). Every set covers the same spend, so the ledger's totals come from the first
set only; the others are kept for analysis, never summed with it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl

from finops_dagster.lake.ledger import AccountTotals, DayEntry, Ledger, api_delivery_id, day_entries
from finops_dagster.lake.raw_lake import RawLake
from finops_dagster.sources.cost_explorer import PagedQuery, daily_request, parse_group_by, rows_from_pages

SOURCE = "cost_explorer"
log = logging.getLogger(__name__)


def ingest_cost_explorer_days(
    clients: list[tuple[Any, str]],
    lake: RawLake,
    ledger: Ledger,
    days: list[dt.date],
    group_bys: list[str],
    state_dir: Path,
    progress: Callable[[str], None] = log.info,
) -> list[DayEntry]:
    start, end = days[0], days[-1] + dt.timedelta(days=1)
    queries, frames = [], []
    for client, account in clients:
        for spec in group_bys:
            query = PagedQuery(client, state_dir / account, daily_request(start, end, parse_group_by(spec)))
            pages = query.pages(progress)
            frame = rows_from_pages(pages, spec, account)
            progress(f"Cost Explorer {account} [{spec}]: {len(pages)} page(s), {frame.height} rows")
            queries.append(query)
            frames.append(frame)
    df = pl.concat(frames)
    first = df.filter(pl.col("query") == group_bys[0])
    accounts: dict[dt.date, dict[str, AccountTotals]] = {}
    for r in (
        first.group_by("usage_date", "source_account")
        .agg(
            row_count=pl.len(),
            unblended=pl.col("unblended_cost").sum(),
            amortized=pl.col("amortized_cost").sum(),
        )
        .iter_rows(named=True)
    ):
        accounts.setdefault(r["usage_date"], {})[r["source_account"]] = AccountTotals(
            r["row_count"], Decimal(r["unblended"]), Decimal(r["amortized"])
        )
    entries = lake.write_days(
        SOURCE,
        df.lazy(),
        days,
        ledger,
        lambda staged: day_entries(
            SOURCE,
            staged,
            dict(df.group_by("usage_date").len().iter_rows()),
            api_delivery_id(),
            tuple(f"GetCostAndUsage {q}" for q in group_bys),
            accounts,
        ),
    )
    for query in queries:
        query.forget()
    return entries
