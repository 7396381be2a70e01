"""Resources: where the lake, ledger and warehouse live, and where CUR is read from."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import dagster as dg

from finops_dagster.lake.contract import LakeContract
from finops_dagster.lake.ledger import Ledger
from finops_dagster.lake.raw_lake import RawLake
from finops_dagster.settings import DUCKDB_MEMORY_LIMIT, DUCKDB_THREADS, duckdb_config
from finops_dagster.sources.cur import CurExport


class LakeResource(dg.ConfigurableResource):
    """The data folder: raw Parquet lake, ingestion ledger and DuckDB warehouse file."""

    data_dir: str
    raw_lake_url: str = ""  # FINOPS_RAW_LAKE_URL: s3://bucket/prefix; empty: <data_dir>/raw
    duckdb_memory_limit: str = DUCKDB_MEMORY_LIMIT  # FINOPS_DUCKDB_MEMORY_LIMIT
    duckdb_threads: int = DUCKDB_THREADS  # FINOPS_DUCKDB_THREADS
    warehouse_engine: str = "duckdb"  # FINOPS_WAREHOUSE_ENGINE: which engine dbt builds on

    @property
    def root(self) -> Path:
        return Path(self.data_dir)

    @property
    def contract(self) -> LakeContract:
        """Where every raw dataset lies (lake/contract.py): the one place paths into the lake
        are spelled."""
        return LakeContract(self.root / "raw", self.raw_lake_url)

    def raw_lake(self) -> RawLake:
        return RawLake(self.contract.root, self.raw_lake_url)

    def ledger(self) -> Ledger:
        return Ledger(self.root / "ledger.sqlite")

    def gx_verdicts_path(self) -> Path:
        """Great Expectations' verdicts on raw CUR day profiles (quality/cur_expectations.py)."""
        return self.root / "cache" / "gx_verdicts.json"

    def backtest_cache(self) -> Path:
        """The forecast backtest's month replays (memo.py)."""
        return self.root / "cache" / "backtest"

    def write_raw_file(self, name: str, frame: Any) -> str:
        """An unpartitioned raw dataset (a forecast, a definitions list): one file, replaced whole."""
        return self.raw_lake().write_file(name, frame)

    def read_raw_file(self, name: str) -> Any:
        """The one-file dataset as a Polars frame, None when it was never written."""
        return self.raw_lake().read_file(name)

    @property
    def exports_dir(self) -> Path:
        """Where every mart and insight is exported as Parquet (what the API and BI tools read)."""
        return self.root / "exports"

    @property
    def warehouse_path(self) -> Path:
        return self.root / "warehouse.duckdb"

    def source_status(self, source: str):
        """What the last run of an optional source found (ok / not_configured / no_access / ...)."""
        from finops_dagster.lake import optional_sources

        return optional_sources.status(self.contract.root, source)

    def skip_source(
        self, source: str, state: str, reason: str, context: Any = None, **metadata: Any
    ) -> dg.MaterializeResult:
        """Record that an optional source was skipped, and the successful materialization that
        says so in the UI: an absent enrichment never fails a run."""
        from finops_dagster.lake import optional_sources

        status = optional_sources.record(self.contract.root, source, state, reason)
        if context is not None:
            context.log.warning(status.line())
        return dg.MaterializeResult(metadata={"status": f"skipped: {state}", "reason": reason, **metadata})

    def source_ok(self, source: str) -> None:
        from finops_dagster.lake import optional_sources

        optional_sources.record(self.contract.root, source, "ok")

    def ensure_readable(self) -> list[str]:
        """Empty files of their schema for optional sources with no data yet (dbt reads them)."""
        from finops_dagster.lake import optional_sources

        return optional_sources.ensure_readable(self.raw_lake())

    def warehouse_reader(self):
        """A read-only DuckDB connection: only dbt writes the warehouse. On Spark, DuckDB views
        over the Parquet files of Spark's tables (warehouse/spark_reader.py): the same SQL works."""
        import duckdb

        from finops_dagster.warehouse.engine import SPARK, spark_warehouse

        if self.warehouse_engine == SPARK:
            from finops_dagster.defs.warehouse.project import ensure_manifest
            from finops_dagster.warehouse.spark_reader import spark_reader

            return spark_reader(
                spark_warehouse(self.root), manifest=ensure_manifest(), config=self.duckdb_config()
            )
        return duckdb.connect(str(self.warehouse_path), read_only=True, config=self.duckdb_config())

    def duckdb_config(self) -> dict[str, str]:
        """The memory ceiling and threads every DuckDB connection on the warehouse opens with."""
        return duckdb_config(self.duckdb_memory_limit, self.duckdb_threads)


DELIVERY_LAG_DAYS = 1


class CurExportResource(dg.ConfigurableResource):
    """A CUR 2.0 export root: ``s3://bucket/prefix/export`` or a local folder of that layout.

    S3 credentials and endpoint come from boto3's standard chain (AWS_PROFILE, role,
    AWS_ENDPOINT_URL_S3, ...), never from this config.
    """

    export_url: str
    cache_dir: str
    history_start: str = "2026-08"  # first billing period covered (FINOPS_HISTORY_START)
    as_of: str = ""
    finalization_days: int = 5  # the previous month is re-read daily for this many days
    max_shrink: float = 0.25  # a re-delivery losing more of a closed period is held (FINOPS_MAX_SHRINK)
    allow_shrink: str = ""  # periods allowed to shrink anyway (FINOPS_ALLOW_SHRINK=2026-08,...)

    def export(self) -> CurExport:
        return CurExport(self.export_url, Path(self.cache_dir))

    def shrink_guard(self):
        from finops_dagster.lake.cur_ingest import ShrinkGuard

        return ShrinkGuard(
            self.max_shrink, frozenset(p for p in self.allow_shrink.split(",") if p), self.as_of_date()
        )

    def as_of_date(self) -> dt.date:
        """The last day the export can contain: FINOPS_AS_OF (the demo pins the end of its
        data), else yesterday (UTC). AWS delivers the current month with about a day's lag, so
        today is never complete and a new month has no delivery on its first day."""
        if self.as_of:
            return dt.date.fromisoformat(self.as_of)
        return dt.datetime.now(dt.UTC).date() - dt.timedelta(days=DELIVERY_LAG_DAYS)


class CostExplorerResource(dg.ConfigurableResource):
    """Cost Explorer queries: GroupBy sets (max 2 keys each), accounts (role ARNs), limits.

    ``group_by`` entries look like ``SERVICE,LINKED_ACCOUNT``, ``TAG:team`` or
    ``COST_CATEGORY:Environment``. With no ``role_arns`` (FINOPS_COST_EXPLORER_ROLE_ARNS) the
    default credentials are used.
    """

    enabled: bool = True  # FINOPS_COST_EXPLORER=off: never called (CUR alone is a complete setup)
    group_by: list[str] = ["SERVICE,LINKED_ACCOUNT", "TAG:team"]
    role_arns: list[str] = []
    max_requests_per_second: int = 5
    max_attempts: int = 10
    state_dir: str

    @property
    def state_path(self) -> Path:
        return Path(self.state_dir)

    def clients(self) -> list[tuple[Any, str]]:
        from finops_dagster.sources.cost_explorer import RateLimiter, make_client

        limiter = RateLimiter(self.max_requests_per_second)
        return [
            make_client(limiter, role, max_attempts=self.max_attempts) for role in (self.role_arns or [None])
        ]


class CloudWatchResource(dg.ConfigurableResource):
    """CloudWatch reads (region and endpoint from boto3's chain), rate-limited client-side."""

    enabled: bool = True  # FINOPS_CLOUDWATCH=off: never called (efficiency marts stay empty)
    role_arns: list[str] = []  # FINOPS_CLOUDWATCH_ROLE_ARNS: one role per linked account
    max_requests_per_second: int = 20
    max_attempts: int = 10

    def clients(self) -> list[tuple[Any, str]]:
        """(client, account) per linked account: each account keeps its own metrics."""
        from finops_dagster.sources.aws_calls import RateLimiter
        from finops_dagster.sources.cloudwatch import account_clients

        return account_clients(RateLimiter(self.max_requests_per_second), self.role_arns, self.max_attempts)


class BusinessDataResource(dg.ConfigurableResource):
    """Where business data lives: a folder of CSV/Parquet or a ``postgresql+psycopg2://`` URL
    (give the URL through an environment variable: it may hold a password). Empty: not
    configured, the business assets are skipped and shared cost stays unallocated."""

    url: str = ""

    def source(self):
        from finops_dagster.sources.business import BusinessSource

        return BusinessSource(self.url)


class AlertResource(dg.ConfigurableResource):
    """Where alerts go: a Slack-compatible incoming webhook (FINOPS_ALERT_WEBHOOK_URL; empty =
    alerts are only recorded in the outbox) and the outbox that makes delivery exactly-once."""

    webhook_url: str = ""
    outbox_path: str
    retry_seconds: float = 30.0  # first wait before a failed post is retried (doubles each time)

    def outbox(self):
        from finops_dagster.alerts import AlertOutbox

        return AlertOutbox(Path(self.outbox_path), self.webhook_url, retry_seconds=self.retry_seconds)
