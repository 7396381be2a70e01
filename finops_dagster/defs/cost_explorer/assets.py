"""Cost Explorer: daily costs per day partition, the forecast, and cost categories."""

import datetime as dt

import dagster as dg

from finops_dagster.console import reporter
from finops_dagster.lake.cost_explorer_ingest import SOURCE, ingest_cost_explorer_days
from finops_dagster.lake.optional_sources import unavailable
from finops_dagster.partitions import daily_partitions
from finops_dagster.resources import CostExplorerResource, CurExportResource, LakeResource
from finops_dagster.selections import DAILY, REFERENCE, raw_tags
from finops_dagster.sources.cost_explorer import CostExplorerError, cost_categories, forecast

_COMMON = dict(group_name="ingestion", kinds={"python", "polars", "parquet"}, owners=["team:finops-platform"])
_TAGS = {"source": "cost_explorer"}


@dg.asset(
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    tags={**_TAGS, **raw_tags(DAILY, follows_cur=True)},
    **_COMMON,
)
def raw_cost_explorer_daily(
    context: dg.AssetExecutionContext, cost_explorer: CostExplorerResource, lake: LakeResource
) -> dg.MaterializeResult:
    """GetCostAndUsage at DAILY granularity (unblended, amortized, net, blended, usage) for each
    configured GroupBy set and account, with Cost Explorer's Estimated flag per row. Pages are
    saved as they arrive, so a killed run resumes where it stopped."""
    days = [dt.date.fromisoformat(pk) for pk in context.partition_keys]
    if not cost_explorer.enabled:
        return lake.skip_source(SOURCE, "not_configured", "FINOPS_COST_EXPLORER=off", context)
    try:
        entries = ingest_cost_explorer_days(
            cost_explorer.clients(),
            lake.raw_lake(),
            lake.ledger(),
            days,
            cost_explorer.group_by,
            cost_explorer.state_path,
            progress=reporter(context),
        )
    except Exception as exc:
        if (why := unavailable(exc)) is not None:
            return lake.skip_source(SOURCE, *why, context, days=f"{days[0]}..{days[-1]}")
        if isinstance(exc, CostExplorerError):
            raise dg.Failure(description=str(exc), metadata={"days": f"{days[0]}..{days[-1]}"}) from exc
        raise
    lake.source_ok(SOURCE)
    total = sum(e.unblended_cost for e in entries)
    return dg.MaterializeResult(
        metadata={
            "rows": sum(e.row_count for e in entries),
            "days": len(entries),
            "unblended_cost": dg.MetadataValue.float(float(round(total, 2))),
            "unblended_cost_exact": str(total),
            "queries": ", ".join(cost_explorer.group_by),
            "accounts": ", ".join(sorted({a for e in entries for a in e.accounts})),
        }
    )


def _optional(cost_explorer: CostExplorerResource, read):
    """``read()``, or ``(state, reason)`` when Cost Explorer is off or out of reach."""
    if not cost_explorer.enabled:
        return "not_configured", "FINOPS_COST_EXPLORER=off"
    try:
        return read()
    except Exception as exc:
        if (why := unavailable(exc)) is not None:
            return why
        raise


def _write(lake: LakeResource, name: str, frame) -> str:
    return lake.write_raw_file(name, frame)


@dg.asset(tags={**_TAGS, **raw_tags(REFERENCE)}, **_COMMON)
def raw_cost_explorer_forecast(
    cost_explorer: CostExplorerResource, cur: CurExportResource, lake: LakeResource
) -> dg.MaterializeResult:
    """Cost Explorer's own month-end forecast (GetCostForecast, 80 % interval) from the day
    after ``as_of`` to the end of that month, per account."""
    import polars as pl

    start = cur.as_of_date() + dt.timedelta(days=1)
    end = (start.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    frame = _optional(
        cost_explorer,
        lambda: pl.concat([forecast(c, start, end, acct) for c, acct in cost_explorer.clients()]),
    )
    if isinstance(frame, tuple):
        return lake.skip_source(SOURCE, *frame)
    frame = frame.with_columns(as_of=pl.lit(cur.as_of_date()))
    return dg.MaterializeResult(
        metadata={
            "path": _write(lake, "cost_explorer_forecast", frame),
            "days": frame.height,
            "forecast_total": dg.MetadataValue.float(float(frame["mean"].sum() or 0)),
            "window": f"{start}..{end - dt.timedelta(days=1)}",
        }
    )


@dg.asset(tags={**_TAGS, **raw_tags(REFERENCE)}, **_COMMON)
def raw_cost_categories(
    cost_explorer: CostExplorerResource, cur: CurExportResource, lake: LakeResource
) -> dg.MaterializeResult:
    """Cost category definitions (ListCostCategoryDefinitions) and their values over the last
    90 days (GetCostCategories), for allocation by cost category."""
    import polars as pl

    end = cur.as_of_date() + dt.timedelta(days=1)
    frame = _optional(
        cost_explorer,
        lambda: pl.concat(
            [
                cost_categories(c, end - dt.timedelta(days=90), end, acct)
                for c, acct in cost_explorer.clients()
            ]
        ),
    )
    if isinstance(frame, tuple):
        return lake.skip_source(SOURCE, *frame)
    return dg.MaterializeResult(
        metadata={
            "path": _write(lake, "cost_categories", frame),
            "categories": ", ".join(sorted(set(frame["cost_category"]))) or "none",
            "values": frame.height,
        }
    )


@dg.asset_check(asset=raw_cost_explorer_daily, partitions_def=daily_partitions)
def cost_explorer_day_complete(
    context: dg.AssetCheckExecutionContext, lake: LakeResource
) -> dg.AssetCheckResult:
    """Every account and GroupBy set returned rows for the day (an empty day is a gap)."""
    from finops_dagster.checks import evaluate_days
    from finops_dagster.quality.results import DayResult

    raw, status = lake.raw_lake(), lake.source_status(SOURCE)

    def day(pk: str) -> DayResult:
        d = dt.date.fromisoformat(pk)
        if not status.available:  # an absent enrichment is reported, never a failure
            return DayResult(True, {"status": status.line()})
        if not raw.has_day(SOURCE, d):
            return DayResult(False, {"reason": f"{d}: no raw file"})
        df = raw.scan_day(SOURCE, d).collect()
        combos = df.select("source_account", "query").unique().height
        return DayResult(
            df.height > 0,
            {"rows": df.height, "account_queries": combos, "estimated_rows": int(df["estimated"].sum())},
        )

    return evaluate_days(context, dg.AssetKey("raw_cost_explorer_daily"), "cost_explorer_day_complete", day)
