"""Per-day checks of the cost mart against the ingestion ledger."""

import datetime as dt
from collections.abc import Callable

import dagster as dg

from finops_dagster.checks import evaluate_days
from finops_dagster.partitions import daily_partitions
from finops_dagster.quality import cur_days
from finops_dagster.resources import LakeResource

FCT = dg.AssetKey("fct_daily_cost")


def _per_day(context: dg.AssetCheckExecutionContext, lake: LakeResource, name: str,
             check: Callable) -> dg.AssetCheckResult:
    """Run ``check(connection, ledger, day)`` for every day of the run on one read-only connection."""
    ledger = lake.ledger()
    with lake.warehouse_reader() as con:
        return evaluate_days(context, FCT, name,
                             lambda pk: check(con, ledger, dt.date.fromisoformat(pk)))


@dg.asset_check(asset=FCT, partitions_def=daily_partitions, pool="warehouse", blocking=True)
def fct_daily_cost_conservation(context: dg.AssetCheckExecutionContext,
                                lake: LakeResource) -> dg.AssetCheckResult:
    """Line items and billed/effective cost of the day equal the ledger's, to the cent."""
    return _per_day(context, lake, "fct_daily_cost_conservation", cur_days.mart_conservation)


@dg.asset_check(asset=FCT, partitions_def=daily_partitions, pool="warehouse")
def fct_daily_cost_amortization_invariant(context: dg.AssetCheckExecutionContext,
                                          lake: LakeResource) -> dg.AssetCheckResult:
    """Over the day's billing period: billed = effective + true-up + upfront fees."""
    return _per_day(context, lake, "fct_daily_cost_amortization_invariant",
                    cur_days.amortization_invariant)
