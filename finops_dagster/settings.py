"""Settings read from the environment once, when the code location loads or the CLI starts.

Everything else receives these values explicitly, so no module reads ``os.environ`` at
import time and tests can build a ``Settings`` by hand.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from finops_dagster.partitions import DEFAULT_HISTORY_START

PROJECT_ROOT = Path(__file__).resolve().parents[1]
WEBHOOK_ENV = "FINOPS_ALERT_WEBHOOK_URL"
BUSINESS_ENV = "FINOPS_BUSINESS_URL"
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
# DuckDB per process: with dbt, Python and Arrow on top, a step stays under 2 GB peak RSS, and a
# bigger history spills to disk instead of growing (issue 17). Raise it on a bigger machine.
DUCKDB_MEMORY_LIMIT = "1GB"
DUCKDB_THREADS = 2


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    cur_export_url: str
    history_start: str = DEFAULT_HISTORY_START  # YYYY-MM: first billing period, first day partition
    as_of: str = ""  # YYYY-MM-DD: the "today" of gap detection; empty = the real UTC today
    business_url: str = ""  # folder or postgresql+psycopg2:// URL; empty = the demo's folder
    finalization_days: int = 5  # days of a month the previous month is still re-read daily
    alert_webhook_url: str = ""  # Slack-compatible incoming webhook; empty = outbox only
    cost_explorer: bool = True  # FINOPS_COST_EXPLORER=off: CUR alone (no Cost Explorer calls)
    cloudwatch: bool = True  # FINOPS_CLOUDWATCH=off: no CloudWatch calls
    cloudwatch_role_arns: tuple[str, ...] = ()  # FINOPS_CLOUDWATCH_ROLE_ARNS: a role per account
    cost_explorer_role_arns: tuple[str, ...] = ()  # FINOPS_COST_EXPLORER_ROLE_ARNS
    max_shrink: float = 0.25  # FINOPS_MAX_SHRINK: share of a closed period a re-delivery may lose
    allow_shrink: str = ""  # FINOPS_ALLOW_SHRINK: periods (YYYY-MM,...) allowed to shrink anyway
    api_token: str = field(default="", repr=False)  # FINOPS_API_TOKEN: bearer token of the API
    api_cache_mb: int = 64  # FINOPS_API_CACHE_MB: cached answers per API worker, in MB
    duckdb_memory_limit: str = DUCKDB_MEMORY_LIMIT  # FINOPS_DUCKDB_MEMORY_LIMIT: spill to disk past it
    duckdb_threads: int = DUCKDB_THREADS  # FINOPS_DUCKDB_THREADS: DuckDB worker threads per process
    raw_lake_url: str = ""  # FINOPS_RAW_LAKE_URL: s3://bucket/prefix; empty = <data_dir>/raw
    warehouse_engine: str = "duckdb"  # FINOPS_WAREHOUSE_ENGINE: duckdb or spark (warehouse/engine.py)
    dbt_warm_start: bool = True  # FINOPS_DBT_WARM_START=off: every dbt invocation starts cold

    @property
    def business_source(self) -> str:
        """FINOPS_BUSINESS_URL, else the demo's business folder when the data folder holds the
        demo, else empty: business data not configured."""
        if self.business_url:
            return self.business_url
        demo = self.demo_dir / "business"
        return str(demo) if demo.is_dir() else ""

    @property
    def raw_lake_dir(self) -> Path:
        return self.data_dir / "raw"

    @property
    def ledger_path(self) -> Path:
        return self.data_dir / "ledger.sqlite"

    @property
    def warehouse_path(self) -> Path:
        return self.data_dir / "warehouse.duckdb"

    @property
    def exports_dir(self) -> Path:
        """The marts and insights as Parquet: what the API serves (LakeResource.exports_dir)."""
        return self.data_dir / "exports"

    @property
    def cache_dir(self) -> Path:
        return self.data_dir / "cache"

    def duckdb_config(self) -> dict[str, str]:
        """For the warehouse file: DuckDB spills to ``warehouse.duckdb.tmp/`` beside it."""
        return duckdb_config(self.duckdb_memory_limit, self.duckdb_threads)

    @property
    def demo_dir(self) -> Path:
        return self.data_dir / "demo"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        """FINOPS_DATA_DIR (default ./data under the project), FINOPS_CUR_EXPORT_URL,
        FINOPS_HISTORY_START (first billing period covered, YYYY-MM; the day partitions start on
        its first day; FINOPS_CUR_START_PERIOD is read as its older name) and FINOPS_AS_OF.

        The CUR export URL is the export root (``s3://bucket/prefix/export-name`` or a local
        folder with the same layout); by default the demo export inside the data folder.
        """
        env = os.environ if environ is None else environ
        data_dir = Path(env.get("FINOPS_DATA_DIR") or PROJECT_ROOT / "data").resolve()
        default_export = data_dir / "demo" / "s3" / DEMO_BUCKET / DEMO_PREFIX / DEMO_EXPORT
        return cls(
            data_dir=data_dir,
            cur_export_url=env.get("FINOPS_CUR_EXPORT_URL") or str(default_export),
            history_start=parse_history_start(
                env.get("FINOPS_HISTORY_START") or env.get("FINOPS_CUR_START_PERIOD") or DEFAULT_HISTORY_START
            ),
            as_of=env.get("FINOPS_AS_OF") or "",
            business_url=env.get(BUSINESS_ENV) or "",
            finalization_days=int(env.get("FINOPS_FINALIZATION_DAYS") or 5),
            alert_webhook_url=env.get(WEBHOOK_ENV) or "",
            cost_explorer=_switch(env, "FINOPS_COST_EXPLORER"),
            cloudwatch=_switch(env, "FINOPS_CLOUDWATCH"),
            cloudwatch_role_arns=_role_arns(env, "FINOPS_CLOUDWATCH_ROLE_ARNS"),
            cost_explorer_role_arns=_role_arns(env, "FINOPS_COST_EXPLORER_ROLE_ARNS"),
            max_shrink=_share(env, "FINOPS_MAX_SHRINK", 0.25),
            api_token=env.get("FINOPS_API_TOKEN") or "",
            api_cache_mb=int(env.get("FINOPS_API_CACHE_MB") or 64),
            duckdb_memory_limit=_memory_limit(env.get("FINOPS_DUCKDB_MEMORY_LIMIT") or DUCKDB_MEMORY_LIMIT),
            duckdb_threads=_positive_int(env, "FINOPS_DUCKDB_THREADS", DUCKDB_THREADS),
            raw_lake_url=_lake_url(env.get("FINOPS_RAW_LAKE_URL") or ""),
            warehouse_engine=(env.get("FINOPS_WAREHOUSE_ENGINE") or "duckdb").strip().lower(),
            dbt_warm_start=_switch(env, "FINOPS_DBT_WARM_START"),
            allow_shrink=",".join(
                parse_history_start(p) for p in (env.get("FINOPS_ALLOW_SHRINK") or "").split(",") if p.strip()
            ),
        )

    def __post_init__(self) -> None:
        from finops_dagster.warehouse.engine import ENGINES, SPARK

        if self.warehouse_engine not in ENGINES:
            raise ValueError(
                f"FINOPS_WAREHOUSE_ENGINE={self.warehouse_engine!r}: expected one of {', '.join(ENGINES)}"
            )
        if self.warehouse_engine == SPARK and self.raw_lake_url:
            raise ValueError(
                "FINOPS_WAREHOUSE_ENGINE=spark with FINOPS_RAW_LAKE_URL: Spark does not follow the S3 "
                "lake's day pointers yet (docs/s3-lake.md); use DuckDB, or a local lake with Spark"
            )

    @property
    def spark_warehouse_dir(self) -> Path:
        from finops_dagster.warehouse.engine import spark_warehouse

        return spark_warehouse(self.data_dir)

    def dbt_environment(self) -> dict[str, str]:
        """What a dbt process needs to find the lake (the lake contract's root) and the warehouse,
        and DuckDB's limits (profiles.yml, dbt_project.yml); on Spark, its target and warehouse."""
        from finops_dagster.lake.contract import LakeContract
        from finops_dagster.warehouse.engine import SPARK

        env = {
            **LakeContract(self.raw_lake_dir, self.raw_lake_url).dbt_environment(),
            "FINOPS_WAREHOUSE_PATH": str(self.warehouse_path),
            "FINOPS_DUCKDB_MEMORY_LIMIT": self.duckdb_memory_limit,
            "FINOPS_DUCKDB_THREADS": str(self.duckdb_threads),
        }
        if self.warehouse_engine == SPARK:
            env |= {"FINOPS_DBT_TARGET": "spark", "FINOPS_SPARK_WAREHOUSE_DIR": str(self.spark_warehouse_dir)}
        return env

    def export_to_environ(self) -> None:
        """For the processes the CLI starts (dagster dev, run workers): they read the same
        settings back with ``from_env``. The code location itself never writes the environment."""
        os.environ["FINOPS_DATA_DIR"] = str(self.data_dir)
        os.environ["FINOPS_RAW_LAKE_DIR"] = str(self.raw_lake_dir)
        if self.raw_lake_url:
            os.environ["FINOPS_RAW_LAKE_URL"] = self.raw_lake_url
        os.environ["FINOPS_WAREHOUSE_ENGINE"] = self.warehouse_engine
        os.environ["FINOPS_WAREHOUSE_PATH"] = str(self.warehouse_path)
        os.environ["FINOPS_CUR_EXPORT_URL"] = self.cur_export_url
        os.environ["FINOPS_HISTORY_START"] = self.history_start
        os.environ["FINOPS_DUCKDB_MEMORY_LIMIT"] = self.duckdb_memory_limit
        os.environ["FINOPS_DUCKDB_THREADS"] = str(self.duckdb_threads)
        if self.as_of:
            os.environ["FINOPS_AS_OF"] = self.as_of
        if self.business_url:  # read back through an EnvVar: the UI shows its name, not the URL
            os.environ[BUSINESS_ENV] = self.business_url


@contextmanager
def temporary_environ(values: dict[str, str]) -> Iterator[None]:
    """Variables for what starts inside (a dbt process, boto3 clients), restored afterwards:
    jobs run in-process share this process's environment."""
    previous = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def duckdb_config(
    memory_limit: str = DUCKDB_MEMORY_LIMIT, threads: int = DUCKDB_THREADS, temp_dir: Path | None = None
) -> dict[str, str]:
    """DuckDB's memory ceiling and threads: every connection that aggregates the lake opens with
    these (dbt through profiles.yml), so no step's memory grows with the data; past the limit
    DuckDB spills to disk instead of taking the machine's memory: beside a database file
    (``<file>.tmp/``), or to ``temp_dir`` for an in-memory connection."""
    config = {"memory_limit": memory_limit, "threads": str(threads), "preserve_insertion_order": "false"}
    if temp_dir is not None:  # DuckDB makes the folder itself, only when it spills
        temp_dir.parent.mkdir(parents=True, exist_ok=True)
        config["temp_directory"] = str(temp_dir)
    return config


def _memory_limit(value: str) -> str:
    if not re.fullmatch(r"\d+(\.\d+)?\s*([KMGT]i?B)", value.strip(), re.IGNORECASE):
        raise ValueError(f"FINOPS_DUCKDB_MEMORY_LIMIT={value!r}: expected a size such as 1536MB or 4GB")
    return value.strip()


def _positive_int(env, name: str, default: int) -> int:
    value = (env.get(name) or str(default)).strip()
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{name}={value!r}: expected a whole number of at least 1")
    return int(value)


def _switch(env, name: str) -> bool:
    value = (env.get(name) or "auto").strip().lower()
    if value not in ("auto", "on", "off", "true", "false", "1", "0"):
        raise ValueError(f"{name}={value!r}: expected auto (default: used when reachable) or off")
    return value not in ("off", "false", "0")


def _role_arns(env, name: str) -> tuple[str, ...]:
    arns = tuple(a.strip() for a in (env.get(name) or "").split(",") if a.strip())
    for arn in arns:
        parts = arn.split(":")
        if len(parts) < 6 or parts[2] != "iam" or not parts[4].isdigit() or not parts[5].startswith("role/"):
            raise ValueError(f"{name}: {arn!r} is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)")
    return arns


def _share(env, name: str, default: float) -> float:
    text = env.get(name) or ""
    try:
        value = float(text.rstrip("%")) / (100 if text.endswith("%") else 1) if text else default
    except ValueError:
        value = -1
    if not 0 <= value <= 1:
        raise ValueError(f"{name}={text!r}: expected a share between 0 and 1 (or 0%-100%)")
    return value


def parse_history_start(text: str) -> str:
    """``YYYY-MM`` from 2013 on (AWS's first cost and usage reports); anything else is an error
    naming the variable, raised when the settings are read, not deep inside a run."""
    match = re.fullmatch(r"(\d{4})-(\d{1,2})", text.strip())
    if not match or not (2013 <= int(match.group(1)) <= 2100 and 1 <= int(match.group(2)) <= 12):
        raise ValueError(
            f"FINOPS_HISTORY_START={text!r}: expected the first billing period as YYYY-MM (e.g. 2018-10)"
        )
    return f"{int(match.group(1)):04d}-{int(match.group(2)):02d}"


DEMO_BUCKET = "finops-demo-billing"
DEMO_PREFIX = "cur"
DEMO_EXPORT = "finops-demo-export"


def _lake_url(value: str) -> str:
    """FINOPS_RAW_LAKE_URL: an ``s3://bucket[/prefix]`` URL, or empty for the local folder."""
    value = value.strip().rstrip("/")
    if value and not re.fullmatch(r"s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/[^\s]*)?", value):
        raise ValueError(
            f"FINOPS_RAW_LAKE_URL={value!r}: expected s3://bucket/prefix (or unset for the local raw folder)"
        )
    return value
