"""Per-day check results inside range runs.

In a single-run backfill a check cannot return a result per partition, so each day's result
is logged in the run as an AssetCheckEvaluation carrying its partition (how the UI shows it per
day), and the check returns one summary result for the whole range. Logged through the op
context, each evaluation carries the run id: runless reports (run id '') collide in the event
log's unique key when the same partition is checked again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

import dagster as dg

# not exported at the top level; the type AssetCheckEvaluation's target field takes
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationTargetMaterializationData as TargetMaterialization,
)

from finops_dagster.quality.results import DayResult


def evaluate_days(
    context: dg.AssetCheckExecutionContext,
    asset_key: dg.AssetKey,
    check_name: str,
    evaluate: Callable[[str], DayResult],
    severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR,
) -> dg.AssetCheckResult:
    """A check evaluated day by day (memory bounded by a day: e.g. uniqueness of line items)."""
    return evaluate_range(
        context, asset_key, check_name, lambda keys: {pk: evaluate(pk) for pk in keys}, severity
    )


def evaluate_range(
    context: dg.AssetCheckExecutionContext,
    asset_key: dg.AssetKey,
    check_name: str,
    evaluate: Callable[[list[str]], Mapping[str, DayResult]],
    severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR,
) -> dg.AssetCheckResult:
    """A check evaluated for the whole range at once (one pass over the range's data), each
    day's result still logged on its own partition."""
    targets = latest_materializations(context.instance, asset_key, context.partition_keys)
    results = dict(evaluate(list(context.partition_keys)))
    for pk in context.partition_keys:
        result = results[pk]
        context.op_execution_context.log_event(
            dg.AssetCheckEvaluation(
                asset_key=asset_key,
                check_name=check_name,
                passed=result.passed,
                metadata=result.metadata,
                severity=severity,
                partition=pk,
                target_materialization_data=targets.get(pk),
            )
        )
    return summarize(asset_key, check_name, results, severity)


def over_days(
    evaluate: Callable[[list[dt.date]], Mapping[dt.date, DayResult]],
) -> Callable[[list[str]], dict[str, DayResult]]:
    """A range check written over dates, for ``evaluate_range`` (day partition keys are ISO dates)."""

    def run(keys: list[str]) -> dict[str, DayResult]:
        return {d.isoformat(): r for d, r in evaluate([dt.date.fromisoformat(k) for k in keys]).items()}

    return run


def latest_materializations(
    instance: dg.DagsterInstance, asset_key: dg.AssetKey, partition_keys: list[str]
) -> dict[str, TargetMaterialization]:
    """Each partition's latest materialization, the target its check result is about. The UI
    counts a partition's check result only when it targets the partition's latest
    materialization; without a target every day of a range run showed "Missing"."""
    wanted, found, cursor = set(partition_keys), {}, None
    while wanted - set(found):
        page = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=asset_key, asset_partitions=sorted(wanted - set(found))),
            limit=1000,
            cursor=cursor,
        )
        for record in page.records:
            pk = record.partition_key
            if pk in wanted and pk not in found:  # records come newest first
                found[pk] = TargetMaterialization(
                    storage_id=record.storage_id, run_id=record.run_id, timestamp=record.timestamp
                )
        if not page.has_more:
            break
        cursor = page.cursor
    return found


def summarize(
    asset_key: dg.AssetKey, check_name: str, results: Mapping[str, DayResult], severity: dg.AssetCheckSeverity
) -> dg.AssetCheckResult:
    failed = sorted(pk for pk, r in results.items() if not r.passed)
    meta: dict[str, Any] = {
        "days_checked": len(results),
        "days_failed": len(failed),
        "failed_days": ", ".join(failed) or "none",
    }
    if len(results) == 1:
        meta.update(next(iter(results.values())).metadata)
    return dg.AssetCheckResult(
        asset_key=asset_key, check_name=check_name, passed=not failed, severity=severity, metadata=meta
    )
