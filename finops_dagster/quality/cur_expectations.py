"""Column expectations on one raw CUR day, run with Great Expectations.

Great Expectations takes 6-13 s to import here, so it is imported inside the function, never
when the code location loads.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import os

import polars as pl

from finops_dagster.lake.cur_ingest import SOURCE
from finops_dagster.lake.raw_lake import RawLake
from finops_dagster.quality.results import DayResult
from finops_dagster.sources.cur import REQUIRED_COLUMNS

ALLOWED_CURRENCIES = ("USD",)


@functools.cache
def _gx():
    """One quiet ephemeral context per process (each new one makes a temp docs site)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")  # no phoning home from checks
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    import great_expectations as gx

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = {"globally": False}
    return gx, context


def column_expectations(lake: RawLake, day: dt.date,
                        currencies: tuple[str, ...] = ALLOWED_CURRENCIES) -> DayResult:
    gx, context = _gx()
    if not lake.has_day(SOURCE, day):
        return DayResult(False, {"reason": f"{day}: no raw file"})
    lf = lake.scan_day(SOURCE, day)
    names = lf.collect_schema().names()
    present = [c for c in REQUIRED_COLUMNS if c in names]
    df = lf.select(
        *present,
        usage_start=pl.col("line_item_usage_start_date"),
        period_start=pl.col("bill_billing_period_start_date"),
        period_end=pl.col("bill_billing_period_end_date") if "bill_billing_period_end_date" in names
        else pl.col("bill_billing_period_start_date").dt.offset_by("1mo"),
    ).with_columns(
        usage_in_period=(pl.col("usage_start") >= pl.col("period_start"))
        & (pl.col("usage_start") < pl.col("period_end"))
    ).collect().to_pandas()

    batch = (context.data_sources.add_or_update_pandas("raw_cur")
             .add_dataframe_asset(f"cur_{day}")
             .add_batch_definition_whole_dataframe("day")
             .get_batch(batch_parameters={"dataframe": df}))
    suite = gx.ExpectationSuite(name=f"raw_cur_{day}")
    for col in REQUIRED_COLUMNS:
        suite.add_expectation(gx.expectations.ExpectColumnToExist(column=col))
        if col in present:
            suite.add_expectation(gx.expectations.ExpectColumnValuesToNotBeNull(column=col))
    suite.add_expectation(gx.expectations.ExpectColumnValuesToBeInSet(
        column="usage_in_period", value_set=[True]))
    if "line_item_currency_code" in present:
        suite.add_expectation(gx.expectations.ExpectColumnValuesToBeInSet(
            column="line_item_currency_code", value_set=list(currencies)))
    result = batch.validate(suite)
    failed = [
        f"{r.expectation_config.type}({r.expectation_config.kwargs.get('column')})"
        for r in result.results if not r.success
    ]
    return DayResult(bool(result.success), {
        "rows": len(df), "expectations": len(result.results),
        "failed_expectations": ", ".join(failed) or "none",
    })
