"""Restatement diffs: what a new delivery of an already ingested billing period changed.

Line item ids are not stable across deliveries, so deliveries are never merged row by row; the
diff is computed on sums per day x account x service, before the new delivery's days are
swapped in, and kept as its own small Parquet table for analysts (fct_cur_restatements).
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from finops_dagster.lake.raw_lake import RawLake
from finops_dagster.sources.cur_rules import MONEY

KEYS = ["usage_date", "line_item_usage_account_id", "line_item_product_code"]
SCHEMA = {
    "billing_period": pl.String,
    "old_delivery_id": pl.String,
    "new_delivery_id": pl.String,
    "usage_date": pl.Date,
    "sub_account_id": pl.String,
    "service_code": pl.String,
    "old_unblended_cost": MONEY,
    "new_unblended_cost": MONEY,
    "old_effective_cost": MONEY,
    "new_effective_cost": MONEY,
    "detected_at": pl.Datetime("us"),
}


def ensure_table(lake: RawLake) -> None:
    """dbt reads restatements/*/*.parquet: an empty file keeps the glob valid before any diff."""
    lake.ensure_schema("cur_restatements", SCHEMA)


def diff(
    old: pl.DataFrame, new: pl.DataFrame, period: str, old_delivery: str, new_delivery: str
) -> pl.DataFrame:
    """Cells whose unblended or effective sum changed (sums from ``cost_sums`` over KEYS)."""
    cols = ["unblended_cost", "effective_cost"]
    joined = old.select(*KEYS, *cols).join(
        new.select(*KEYS, *cols), on=KEYS, how="full", coalesce=True, suffix="_new"
    )
    return (
        joined.select(
            billing_period=pl.lit(period),
            old_delivery_id=pl.lit(old_delivery),
            new_delivery_id=pl.lit(new_delivery),
            usage_date="usage_date",
            sub_account_id="line_item_usage_account_id",
            service_code="line_item_product_code",
            old_unblended_cost=pl.col("unblended_cost").fill_null(0).cast(MONEY),
            new_unblended_cost=pl.col("unblended_cost_new").fill_null(0).cast(MONEY),
            old_effective_cost=pl.col("effective_cost").fill_null(0).cast(MONEY),
            new_effective_cost=pl.col("effective_cost_new").fill_null(0).cast(MONEY),
            detected_at=pl.lit(dt.datetime.now(dt.UTC).replace(tzinfo=None)),
        )
        .filter(
            (pl.col("old_unblended_cost") != pl.col("new_unblended_cost"))
            | (pl.col("old_effective_cost") != pl.col("new_effective_cost"))
        )
        .sort("usage_date", "sub_account_id", "service_code")
    )


def target(lake: RawLake, period: str, new_delivery: str) -> str:
    """Where a period's restatement by ``new_delivery`` lives (written by the delivery's commit;
    one file per delivery, never replaced, so S3 needs no pointer for it)."""
    return f"{lake.folder_location('cur_restatements')}/billing_period={period}/{new_delivery}.parquet"
