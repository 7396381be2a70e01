"""Per-day checks of the raw CUR layer (each day's result shows on its partition)."""

import datetime as dt
from collections.abc import Callable

import dagster as dg

from finops_dagster.checks import evaluate_days
from finops_dagster.partitions import daily_partitions
from finops_dagster.quality import cur_days
from finops_dagster.quality.results import DayResult
from finops_dagster.resources import CurExportResource, LakeResource

RAW = dg.AssetKey("raw_cur_line_items")


def _day(pk: str) -> dt.date:
    return dt.date.fromisoformat(pk)


@dg.asset_check(asset=RAW, partitions_def=daily_partitions)
def cur_day_gap(context: dg.AssetCheckExecutionContext, lake: LakeResource,
                cur: CurExportResource) -> dg.AssetCheckResult:
    """Fails when an account has line items on the ingested days around a day but none on it,
    and on every day without line items of a closed billing period whose data stops early."""
    ledger, as_of = lake.ledger(), cur.as_of_date()
    return evaluate_days(context, RAW, "cur_day_gap", lambda pk: cur_days.gap(ledger, _day(pk), as_of))


def _holding(ledger, check_name: str, evaluate: Callable[[dt.date], DayResult]) -> Callable[[str], DayResult]:
    """A blocking check's failure holds the day (no later run builds it into the marts, see
    defs/warehouse/assets.py) until the check passes on it again."""
    def run(pk: str) -> DayResult:
        result = evaluate(_day(pk))
        if result.passed:
            ledger.release("cur", _day(pk), check_name)
        else:
            reason = "; ".join(f"{k}: {v}" for k, v in result.metadata.items())
            ledger.hold("cur", _day(pk), check_name, reason or "failed")
        return result
    return run


@dg.asset_check(asset=RAW, partitions_def=daily_partitions, blocking=True)
def cur_raw_conservation(context: dg.AssetCheckExecutionContext,
                         lake: LakeResource) -> dg.AssetCheckResult:
    """Raw file rows and unblended/effective sums equal the ledger's, to the cent."""
    raw, ledger = lake.raw_lake(), lake.ledger()
    return evaluate_days(context, RAW, "cur_raw_conservation", _holding(
        ledger, "cur_raw_conservation", lambda day: cur_days.raw_conservation(raw, ledger, day)))


@dg.asset_check(asset=RAW, partitions_def=daily_partitions, blocking=True)
def cur_unique_line_items(context: dg.AssetCheckExecutionContext,
                          lake: LakeResource) -> dg.AssetCheckResult:
    """No (identity_line_item_id, identity_time_interval) appears twice in a day."""
    raw = lake.raw_lake()
    return evaluate_days(context, RAW, "cur_unique_line_items", _holding(
        lake.ledger(), "cur_unique_line_items", lambda day: cur_days.unique_line_items(raw, day)))


@dg.asset_check(asset=RAW, partitions_def=daily_partitions)
def cur_column_expectations(context: dg.AssetCheckExecutionContext,
                            lake: LakeResource) -> dg.AssetCheckResult:
    """Great Expectations: required columns present and not null, usage inside its billing
    period, currency in the declared set."""
    from finops_dagster.quality.cur_expectations import column_expectations

    raw = lake.raw_lake()
    return evaluate_days(context, RAW, "cur_column_expectations",
                         lambda pk: column_expectations(raw, _day(pk)))


@dg.asset_check(asset=RAW, partitions_def=daily_partitions)
def cur_schema_drift(context: dg.AssetCheckExecutionContext, lake: LakeResource) -> dg.AssetCheckResult:
    """Columns that appeared or vanished since the previous ingested day (a warning, not a
    crash: CUR column sets change from month to month)."""
    raw = lake.raw_lake()
    return evaluate_days(context, RAW, "cur_schema_drift",
                         lambda pk: cur_days.schema_drift(raw, _day(pk)),
                         severity=dg.AssetCheckSeverity.WARN)
