"""Per-day checks of the raw CUR layer (each day's result shows on its partition)."""

import datetime as dt
from collections.abc import Callable

import dagster as dg

from finops_dagster.checks import evaluate_days, evaluate_range, over_days
from finops_dagster.partitions import daily_partitions
from finops_dagster.quality import cur_days
from finops_dagster.quality.results import DayResult
from finops_dagster.resources import CurExportResource, LakeResource

RAW = dg.AssetKey("raw_cur_line_items")


def _day(pk: str) -> dt.date:
    return dt.date.fromisoformat(pk)


@dg.asset_check(asset=RAW, partitions_def=daily_partitions)
def cur_day_gap(
    context: dg.AssetCheckExecutionContext, lake: LakeResource, cur: CurExportResource
) -> dg.AssetCheckResult:
    """Fails when an account has line items on the ingested days around a day but none on it,
    and on every day without line items of a closed billing period whose data stops early."""
    ledger, as_of = lake.ledger(), cur.as_of_date()
    return evaluate_days(context, RAW, "cur_day_gap", lambda pk: cur_days.gap(ledger, _day(pk), as_of))


def _holding(
    ledger, check_name: str, evaluate: Callable[[list[dt.date]], dict[dt.date, DayResult]]
) -> Callable[[list[str]], dict[str, DayResult]]:
    """A blocking check's failure holds the day (no later run builds it into the marts, see
    defs/warehouse/assets.py) until the check passes on it again."""

    def run(days: list[dt.date]) -> dict[dt.date, DayResult]:
        results = evaluate(days)
        for day, result in results.items():
            if result.passed:
                ledger.release("cur", day, check_name)
            else:
                reason = "; ".join(f"{k}: {v}" for k, v in result.metadata.items())
                ledger.hold("cur", day, check_name, reason or "failed")
        return results

    return over_days(run)


@dg.asset_check(asset=RAW, partitions_def=daily_partitions, blocking=True)
def cur_raw_conservation(context: dg.AssetCheckExecutionContext, lake: LakeResource) -> dg.AssetCheckResult:
    """Raw file rows and unblended/effective sums equal the ledger's, to the cent."""
    raw, ledger = lake.raw_lake(), lake.ledger()
    return evaluate_range(
        context,
        RAW,
        "cur_raw_conservation",
        _holding(
            ledger, "cur_raw_conservation", lambda days: cur_days.raw_conservation_days(raw, ledger, days)
        ),
    )


@dg.asset_check(asset=RAW, partitions_def=daily_partitions, blocking=True)
def cur_unique_line_items(context: dg.AssetCheckExecutionContext, lake: LakeResource) -> dg.AssetCheckResult:
    """No (identity_line_item_id, identity_time_interval) appears twice in a day."""
    raw = lake.raw_lake()  # day by day: a range's identities at once would not fit in bounded memory
    return evaluate_range(
        context,
        RAW,
        "cur_unique_line_items",
        _holding(
            lake.ledger(),
            "cur_unique_line_items",
            lambda days: {d: cur_days.unique_line_items(raw, d) for d in days},
        ),
    )


@dg.asset_check(asset=RAW, partitions_def=daily_partitions)
def cur_column_expectations(
    context: dg.AssetCheckExecutionContext, lake: LakeResource
) -> dg.AssetCheckResult:
    """Great Expectations: required columns present and not null, usage inside its billing
    period, currency in the declared set (the range's days profiled in one pass)."""
    from finops_dagster.quality.cur_expectations import column_expectations_days

    raw, verdicts = lake.raw_lake(), lake.gx_verdicts_path()
    return evaluate_range(
        context,
        RAW,
        "cur_column_expectations",
        over_days(lambda days: column_expectations_days(raw, days, verdicts=verdicts)),
    )


@dg.asset_check(asset=RAW, partitions_def=daily_partitions)
def cur_schema_drift(context: dg.AssetCheckExecutionContext, lake: LakeResource) -> dg.AssetCheckResult:
    """Columns that appeared or vanished since the previous ingested day (a warning, not a
    crash: CUR column sets change from month to month)."""
    raw = lake.raw_lake()
    return evaluate_range(
        context,
        RAW,
        "cur_schema_drift",
        over_days(lambda days: cur_days.schema_drift_days(raw, days)),
        severity=dg.AssetCheckSeverity.WARN,
    )
