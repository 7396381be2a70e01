"""Per-day checks of the daily marts: against the ingestion ledger, across sources, and the
conservation of every allocated dollar."""

import datetime as dt
from collections.abc import Callable

import dagster as dg

from finops_dagster.checks import evaluate_days, evaluate_range, over_days
from finops_dagster.partitions import daily_partitions
from finops_dagster.quality import cur_days, marts
from finops_dagster.quality.results import DayResult
from finops_dagster.resources import LakeResource
from finops_dagster.warehouse import engine

FCT = dg.AssetKey("fct_daily_cost")
RECONCILIATION = dg.AssetKey("fct_cost_reconciliation")
ALLOCATION = dg.AssetKey("fct_cost_allocation")


def _per_day(
    context: dg.AssetCheckExecutionContext,
    lake: LakeResource,
    asset: dg.AssetKey,
    name: str,
    check: Callable[..., DayResult],
) -> dg.AssetCheckResult:
    """Run ``check(connection, day)`` for every day of the run on one read-only connection."""
    with lake.warehouse_reader() as con:
        return evaluate_days(context, asset, name, lambda pk: check(con, dt.date.fromisoformat(pk)))


def _over_range(
    context: dg.AssetCheckExecutionContext,
    lake: LakeResource,
    asset: dg.AssetKey,
    name: str,
    check: Callable[..., dict[dt.date, DayResult]],
    with_ledger: bool = False,
) -> dg.AssetCheckResult:
    """Run ``check(connection, [ledger,] days)`` once for the run's days on one read-only
    connection; each day's result is still logged on its own partition."""
    ledger = lake.ledger() if with_ledger else None
    with lake.warehouse_reader() as con:
        args = (con, ledger) if with_ledger else (con,)
        return evaluate_range(context, asset, name, over_days(lambda days: check(*args, days)))


@dg.asset_check(asset=FCT, partitions_def=daily_partitions, pool=engine.pool(), blocking=True)
def fct_daily_cost_conservation(
    context: dg.AssetCheckExecutionContext, lake: LakeResource
) -> dg.AssetCheckResult:
    """Line items and billed/effective cost of the day equal the ledger's, to the cent (one
    query for the run's range)."""
    return _over_range(
        context, lake, FCT, "fct_daily_cost_conservation", cur_days.mart_conservation_days, with_ledger=True
    )


@dg.asset_check(asset=FCT, partitions_def=daily_partitions, pool=engine.pool())
def fct_daily_cost_amortization_invariant(
    context: dg.AssetCheckExecutionContext, lake: LakeResource
) -> dg.AssetCheckResult:
    """Over the day's billing period: billed = effective + true-up + upfront fees."""
    return _over_range(
        context,
        lake,
        FCT,
        "fct_daily_cost_amortization_invariant",
        cur_days.amortization_invariant_days,
        with_ledger=True,
    )


@dg.asset_check(asset=RECONCILIATION, partitions_def=daily_partitions, pool=engine.pool())
def fct_cost_reconciliation_agreement(
    context: dg.AssetCheckExecutionContext, lake: LakeResource
) -> dg.AssetCheckResult:
    """CUR and Cost Explorer agree on every finalized day x account x service (estimated days
    and differences within tolerance are reported, not failed; without Cost Explorer, CUR alone,
    each day reports that and passes)."""
    ce = lake.source_status("cost_explorer")
    if not ce.available:
        return evaluate_days(
            context,
            RECONCILIATION,
            "fct_cost_reconciliation_agreement",
            lambda pk: DayResult(True, {"status": ce.line()}),
        )
    return _per_day(
        context, lake, RECONCILIATION, "fct_cost_reconciliation_agreement", marts.reconciliation_agreement
    )


@dg.asset_check(asset=ALLOCATION, partitions_def=daily_partitions, pool=engine.pool(), blocking=True)
def fct_cost_allocation_conservation(
    context: dg.AssetCheckExecutionContext, lake: LakeResource
) -> dg.AssetCheckResult:
    """Allocated + unallocated = the day's total cost, billed and effective, to the cent (two
    queries for the run's range)."""
    return _over_range(
        context, lake, ALLOCATION, "fct_cost_allocation_conservation", marts.allocation_conservation_days
    )
