"""Cost Explorer, CloudWatch and business data are enrichments: CUR alone is a complete setup.

A source that is not configured, or that this machine cannot reach or is not allowed to read, is
*skipped*: its asset records why (``raw/_status/<source>.json``) and succeeds, the marts build
from what exists, and the CLI and the UI say "Cost Explorer: no access (no AWS credentials) —
skipped" instead of failing every run. Any other error (bad data, throttling that outlasts the
retries) still fails the run: that is a real problem, not an absent source.

dbt reads every source through a glob or a file path, and DuckDB fails on a glob that matches
nothing; ``ensure_readable`` gives each source an empty file of its schema until real data lands.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import polars as pl

from finops_dagster.lake.raw_lake import RawLake

SOURCES = {"cost_explorer": "Cost Explorer", "cloudwatch": "CloudWatch", "business": "business data"}
NO_ACCESS_CODES = {
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "ExpiredToken",
    "ExpiredTokenException",
    "AuthFailure",
    "SignatureDoesNotMatch",
    "InvalidSignatureException",
    "OptInRequired",
    "DataUnavailableException",
}


@dataclass(frozen=True)
class SourceStatus:
    source: str
    state: str  # ok | not_configured | no_access | unreachable
    reason: str = ""
    updated_at: str = ""

    @property
    def available(self) -> bool:
        return self.state == "ok"

    def line(self) -> str:
        name = SOURCES.get(self.source, self.source)
        if self.available:
            return f"{name}: ok"
        return f"{name}: {self.state.replace('_', ' ')} ({self.reason}) — skipped"


def unavailable(exc: BaseException) -> tuple[str, str] | None:
    """``(state, reason)`` when ``exc`` (or what caused it) means the source cannot be reached or
    read from here; None for any other failure."""
    from botocore.exceptions import (
        ClientError,
        ConnectTimeoutError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
        PartialCredentialsError,
    )

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, (NoCredentialsError, PartialCredentialsError)):
            return "no_access", "no AWS credentials"
        if isinstance(seen, NoRegionError):
            return "not_configured", "no AWS region"
        if isinstance(seen, ClientError):
            code = seen.response.get("Error", {}).get("Code", "")
            if code in NO_ACCESS_CODES:
                return "no_access", f"{code}: {seen.response.get('Error', {}).get('Message', '')}"[:200]
        if isinstance(seen, (EndpointConnectionError, ConnectTimeoutError)):
            return "unreachable", str(seen)[:200]
        seen = seen.__cause__ or seen.__context__
    return None


def _status_path(raw_root: Path, source: str) -> Path:
    return raw_root / "_status" / f"{source}.json"


def record(raw_root: Path, source: str, state: str, reason: str = "") -> SourceStatus:
    status = SourceStatus(source, state, reason, dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
    path = _status_path(raw_root, source)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(status)))
    tmp.replace(path)
    return status


def status(raw_root: Path, source: str) -> SourceStatus:
    """The source's last recorded state; a source never run is ``not_configured`` (never read)."""
    path = _status_path(raw_root, source)
    if not path.exists():
        return SourceStatus(source, "not_configured", "never ingested")
    return SourceStatus(**json.loads(path.read_text()))


def _schemas() -> dict[str, dict[str, pl.DataType]]:
    from finops_dagster.sources.business import DATASETS
    from finops_dagster.sources.cloudwatch import SCHEMA as CLOUDWATCH
    from finops_dagster.sources.cost_explorer import COLUMNS, DAILY_SCHEMA
    from finops_dagster.sources.cur_rules import MONEY

    return {
        "cost_explorer": {**DAILY_SCHEMA, **dict.fromkeys(COLUMNS.values(), MONEY)},
        "cloudwatch": CLOUDWATCH,
        "business_requests": DATASETS["requests"],
        "customers": DATASETS["customers"],
        "budgets": DATASETS["budgets"],
        "shared_rules": DATASETS["shared_rules"],
    }


def ensure_readable(lake: RawLake) -> list[str]:
    """Write an empty file of its schema for every optional source dbt reads that has none yet
    (partitioned sources keep theirs in ``_schema/``, beside the day folders). Returns the
    datasets it wrote one for, for the run's log."""
    return [name for name, schema in _schemas().items() if lake.ensure_schema(name, schema)]
