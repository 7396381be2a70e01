"""The raw lake's contract: every dataset's folder and layout, named once.

The ingest modules, the Dagster resources and dbt all find the raw data through this: the
Python side through ``LakeContract`` (``RawLake`` writes and reads day files by dataset name),
dbt through one environment variable, ``FINOPS_RAW_LAKE_DIR`` (the root), which the dbt
resource hands to every dbt invocation, and each dbt source's ``meta.lake_folder`` (one of the
folders below; tests/lake/test_contract.py fails if they drift apart). Nothing else spells a
path into the lake, so the data folder can move: the next dbt invocation reads the new place.

Layouts: a *daily* dataset is one Parquet file per UTC usage day,
``<root>/<folder>/usage_date=YYYY-MM-DD/data.parquet`` (empty optional sources keep an empty
file of their schema in ``<folder>/_schema/``); a *period* dataset is one file per billing period
and delivery, ``<root>/<folder>/billing_period=YYYY-MM/<delivery id>.parquet`` (the restatement
diffs); a *single* dataset is one file replaced whole, ``<root>/<folder>/data.parquet``. All are
what DuckDB globs (``<folder>/**/*.parquet``) and Spark discovers as partitions.

On S3 (``url``: ``FINOPS_RAW_LAKE_URL=s3://bucket/prefix``) the folders are the same under the
URL, but a day or a one-file dataset is an immutable object named by its commit, and a pointer
says which is current (lake/object_store.py); the local root then holds only what is being
staged and the commit journal.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

DAILY, PERIODS, SINGLE = "daily", "periods", "single"


@dataclass(frozen=True)
class Dataset:
    folder: str  # under the lake root
    layout: str  # DAILY, PERIODS or SINGLE
    dbt_source: str = ""  # "<source>.<table>" of the dbt source reading it; empty: Python only


DATASETS: dict[str, Dataset] = {
    "cur": Dataset("cur", DAILY, "raw_cur.line_items"),
    "cur_restatements": Dataset("cur_restatements", PERIODS, "raw_cur.restatements"),
    "cost_explorer": Dataset("cost_explorer", DAILY, "raw_cost_explorer.daily"),
    "cloudwatch": Dataset("cloudwatch", DAILY, "raw_cloudwatch.metrics"),
    "business_requests": Dataset("business_requests", DAILY, "raw_business.requests"),
    "customers": Dataset("business/customers", SINGLE, "raw_business.customers"),
    "budgets": Dataset("business/budgets", SINGLE, "raw_business.budgets"),
    "shared_rules": Dataset("business/shared_rules", SINGLE, "raw_business.shared_rules"),
    "cost_explorer_forecast": Dataset("cost_explorer_forecast", SINGLE),
    "cost_categories": Dataset("cost_categories", SINGLE),
}


def dataset(name: str) -> Dataset:
    try:
        return DATASETS[name]
    except KeyError:
        raise KeyError(
            f"{name!r} is not a dataset of the raw lake (finops_dagster/lake/contract.py "
            f"names {', '.join(sorted(DATASETS))})"
        ) from None


@dataclass(frozen=True)
class LakeContract:
    """Where the raw lake is: the root every dataset's folder hangs from (``url`` on S3)."""

    root: Path
    url: str = ""

    @property
    def remote(self):
        """The S3 lake (an ``ObjectLake``), or None when the lake is the local folder."""
        from finops_dagster.lake.object_store import ObjectLake

        return ObjectLake(self.url) if self.url else None

    @property
    def location(self) -> str:
        """Where readers find the data: the S3 URL, else the local root."""
        return self.url or str(self.root)

    def folder(self, name: str) -> Path:
        return self.root / dataset(name).folder

    def day_file(self, name: str, day: dt.date) -> Path:
        if dataset(name).layout != DAILY:
            raise ValueError(f"{name} is one file, not one per day")
        return self.folder(name) / f"usage_date={day.isoformat()}" / "data.parquet"

    def file(self, name: str) -> Path:
        if dataset(name).layout != SINGLE:
            raise ValueError(f"{name} is one file per day, not one file")
        return self.folder(name) / "data.parquet"

    def dbt_environment(self) -> dict[str, str]:
        """What every dbt invocation needs to find the lake (profiles.yml, dbt_project.yml); on
        S3 also the target that reads it. The credentials are added by each dbt process's start
        (object_store.dbt_process_environment), so they never sit in a resource's config."""
        env = {"FINOPS_RAW_LAKE_DIR": str(self.root)}
        if self.url:
            env |= {"FINOPS_RAW_LAKE_URL": self.url, "FINOPS_DBT_TARGET": "duckdb_s3"}
        return env
