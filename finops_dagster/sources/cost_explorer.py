"""Cost Explorer source: daily costs, forecasts and cost categories, paged, rate-limited, resumable.

- Every HTTP request (retries included) passes a client-side limiter of 5 requests/second,
  hooked into botocore's ``before-send`` event; botocore's adaptive retry mode and our own
  backoff absorb ThrottlingException / LimitExceededException.
- Each page is persisted as it arrives (the page, then the token for the next), so a run killed
  mid-pagination resumes from the last saved token: no page is fetched twice or skipped.
- Cross-account: each configured role ARN is assumed through STS and queried separately.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from finops_dagster.sources.aws_calls import AwsCallError, RateLimiter, call
from finops_dagster.sources.cur_rules import MONEY

CostExplorerError = AwsCallError  # what callers catch: the message names service and operation
__all__ = ["CostExplorerError", "RateLimiter", "call"]

log = logging.getLogger(__name__)

METRICS = ("UnblendedCost", "AmortizedCost", "NetUnblendedCost", "BlendedCost", "UsageQuantity")
COLUMNS = {
    "UnblendedCost": "unblended_cost",
    "AmortizedCost": "amortized_cost",
    "NetUnblendedCost": "net_unblended_cost",
    "BlendedCost": "blended_cost",
    "UsageQuantity": "usage_quantity",
}
# One raw row per day x query x group; the amounts are exact decimals (MONEY) once parsed.
DAILY_SCHEMA = {
    "usage_date": pl.Date,
    "source_account": pl.String,
    "query": pl.String,
    "group_1_type": pl.String,
    "group_1": pl.String,
    "group_2_type": pl.String,
    "group_2": pl.String,
    "estimated": pl.Boolean,
}


def parse_group_by(spec: str) -> list[dict[str, str]]:
    """``"SERVICE,LINKED_ACCOUNT"`` / ``"TAG:team"`` / ``"COST_CATEGORY:Env"`` -> GroupBy (max 2)."""
    out = []
    for part in filter(None, (p.strip() for p in spec.split(","))):
        kind, _, key = part.partition(":")
        out.append({"Type": kind, "Key": key} if key else {"Type": "DIMENSION", "Key": kind})
    if len(out) > 2:
        raise ValueError(f"{spec!r}: Cost Explorer accepts at most 2 GroupBy entries per call")
    return out


def make_client(
    limiter: RateLimiter, role_arn: str | None = None, session: Any = None, max_attempts: int = 10
) -> tuple[Any, str]:
    """A rate-limited ``ce`` client (for ``role_arn`` if given) and the account it reads."""
    from botocore.config import Config

    from finops_dagster.sources.aws_calls import account_session

    session, account = account_session(role_arn, session)
    client = session.client(
        "ce",
        region_name="us-east-1",
        config=Config(retries={"mode": "adaptive", "total_max_attempts": max_attempts}),
    )
    client.meta.events.register("before-send.ce.*", limiter.acquire)
    return client, account


@dataclass
class PagedQuery:
    """A GetCostAndUsage query whose pages are saved under ``state_dir`` as they arrive."""

    client: Any
    state_dir: Path
    request: dict

    @property
    def folder(self) -> Path:
        digest = hashlib.sha256(json.dumps(self.request, sort_keys=True).encode()).hexdigest()[:16]
        return self.state_dir / digest

    def pages(self, progress: Callable[[str], None] = log.info) -> list[dict]:
        folder = self.folder
        folder.mkdir(parents=True, exist_ok=True)
        saved = sorted(folder.glob("page-*.json"))
        token_file = folder / "next_token"
        if saved and not token_file.exists():
            return [json.loads(p.read_text()) for p in saved]  # complete from an earlier run
        token = token_file.read_text() if token_file.exists() else None
        if saved:
            progress(f"resuming Cost Explorer pagination after {len(saved)} saved page(s)")
        n = len(saved)
        while True:
            req = dict(self.request, **({"NextPageToken": token} if token else {}))
            page = call(self.client, "get_cost_and_usage", **req)
            page.pop("ResponseMetadata", None)
            n += 1
            _atomic_write(folder / f"page-{n:05d}.json", json.dumps(page))
            token = page.get("NextPageToken")
            if not token:
                token_file.unlink(missing_ok=True)
                break
            _atomic_write(token_file, token)
        return [json.loads(p.read_text()) for p in sorted(folder.glob("page-*.json"))]

    def forget(self) -> None:
        """Drop the saved pages once their rows are durably in the raw lake."""
        shutil.rmtree(self.folder, ignore_errors=True)


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)


def daily_request(
    start: dt.date, end: dt.date, group_by: list[dict[str, str]], metrics: tuple[str, ...] = METRICS
) -> dict:
    req: dict = {
        "TimePeriod": {"Start": start.isoformat(), "End": end.isoformat()},
        "Granularity": "DAILY",
        "Metrics": list(metrics),
    }
    if group_by:
        req["GroupBy"] = group_by
    return req


def rows_from_pages(pages: list[dict], query: str, account: str) -> pl.DataFrame:
    """One row per day x group; amounts are exact decimals (Cost Explorer sends strings)."""
    records = []
    for page in pages:
        kinds = [f"{g['Type']}:{g['Key']}" for g in page.get("GroupDefinitions", [])]
        for day in page["ResultsByTime"]:
            groups = day.get("Groups") or [{"Keys": [], "Metrics": day.get("Total", {})}]
            for g in groups:
                keys = list(g["Keys"]) + [None, None]
                rec = {
                    "usage_date": dt.date.fromisoformat(day["TimePeriod"]["Start"]),
                    "source_account": account,
                    "query": query,
                    "group_1_type": kinds[0] if kinds else None,
                    "group_1": keys[0],
                    "group_2_type": kinds[1] if len(kinds) > 1 else None,
                    "group_2": keys[1],
                    "estimated": bool(day.get("Estimated", False)),
                }
                for metric, col in COLUMNS.items():
                    rec[col] = g["Metrics"].get(metric, {}).get("Amount")
                records.append(rec)
    schema = {**DAILY_SCHEMA, **dict.fromkeys(COLUMNS.values(), pl.String)}
    df = pl.DataFrame(records, schema=schema, orient="row")
    return df.with_columns([pl.col(c).cast(MONEY) for c in COLUMNS.values()])


def forecast(client: Any, start: dt.date, end: dt.date, account: str) -> pl.DataFrame:
    """GetCostForecast (unblended, daily, 80 % interval) for [start, end)."""
    resp = call(
        client,
        "get_cost_forecast",
        TimePeriod={"Start": start.isoformat(), "End": end.isoformat()},
        Metric="UNBLENDED_COST",
        Granularity="DAILY",
        PredictionIntervalLevel=80,
    )
    rows = [
        {
            "forecast_date": dt.date.fromisoformat(r["TimePeriod"]["Start"]),
            "source_account": account,
            "mean": r["MeanValue"],
            "lower_80": r.get("PredictionIntervalLowerBound"),
            "upper_80": r.get("PredictionIntervalUpperBound"),
        }
        for r in resp.get("ForecastResultsByTime", [])
    ]
    return pl.DataFrame(
        rows,
        schema={
            "forecast_date": pl.Date,
            "source_account": pl.String,
            "mean": pl.String,
            "lower_80": pl.String,
            "upper_80": pl.String,
        },
    ).with_columns([pl.col(c).cast(MONEY) for c in ("mean", "lower_80", "upper_80")])


def cost_categories(client: Any, start: dt.date, end: dt.date, account: str) -> pl.DataFrame:
    """Cost category definitions and the values each had in [start, end)."""
    rows, token = [], None
    while True:
        resp = call(client, "list_cost_category_definitions", **({"NextToken": token} if token else {}))
        for ref in resp.get("CostCategoryReferences", []):
            values = call(
                client,
                "get_cost_categories",
                CostCategoryName=ref["Name"],
                TimePeriod={"Start": start.isoformat(), "End": end.isoformat()},
            ).get("CostCategoryValues", [])
            rows += [
                {
                    "source_account": account,
                    "cost_category": ref["Name"],
                    "cost_category_arn": ref["CostCategoryArn"],
                    "value": v,
                }
                for v in values
            ]
        token = resp.get("NextToken")
        if not token:
            break
    return pl.DataFrame(
        rows,
        schema={
            "source_account": pl.String,
            "cost_category": pl.String,
            "cost_category_arn": pl.String,
            "value": pl.String,
        },
    )
