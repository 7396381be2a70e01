"""CloudWatch day-range ingestion: discovery, batched GetMetricData -> raw lake days -> ledger."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from finops_dagster.lake.ledger import DayEntry, Ledger, api_delivery_id, day_entries
from finops_dagster.lake.raw_lake import RawLake
from finops_dagster.sources.cloudwatch import age_bands, discover, fetch

SOURCE = "cloudwatch"
log = logging.getLogger(__name__)


def ingest_cloudwatch_days(
    clients: list[tuple[Any, str]],
    lake: RawLake,
    ledger: Ledger,
    days: list[dt.date],
    now: dt.datetime,
    progress: Callable[[str], None] = log.info,
) -> list[DayEntry]:
    """``clients``: (client, account) pairs, one per linked account (``account_clients``)."""
    import polars as pl

    start = dt.datetime.combine(days[0], dt.time())
    end = dt.datetime.combine(days[-1] + dt.timedelta(days=1), dt.time())
    kept = {d for a, b, _ in age_bands(start, end, now) for d in _days(a, b)}
    frames = []
    for client, account in clients:
        metrics = discover(client)
        progress(
            f"CloudWatch {account}: discovered {len(metrics)} metrics in "
            f"{len({m['Namespace'] for m in metrics})} namespaces"
        )
        frames.append(fetch(client, metrics, start, end, now, progress, account))
    df = pl.concat(frames)
    return lake.write_days(
        SOURCE,
        df.lazy(),
        days,
        ledger,
        lambda staged: day_entries(
            SOURCE,
            staged,
            dict(df.group_by("usage_date").len().iter_rows()),
            api_delivery_id(),
            ("ListMetrics", "GetMetricData"),
            notes={d: "beyond CloudWatch retention" for d in days if d not in kept},
        ),
    )


def _days(a: dt.datetime, b: dt.datetime) -> list[dt.date]:
    return [(a + dt.timedelta(days=i)).date() for i in range((b - a).days)]
