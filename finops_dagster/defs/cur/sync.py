"""CUR smart sync in Dagster: a status report, its completeness check, and the sensor that
runs exactly the days of each new, restated or incomplete billing period."""

import json

import dagster as dg

from finops_dagster.lake.cur_sync import PeriodStatus, day_ranges, sync_plan
from finops_dagster.partitions import daily_partitions
from finops_dagster.resources import CurExportResource, LakeResource
from finops_dagster.selections import CUR, follows_cur, raw_assets, views
from finops_dagster.warehouse import engine

cur_refresh_job = dg.define_asset_job(
    "cur_refresh_job",
    # DuckDB: no view (the dbt step rebuilds a view only if missing or changed, _readable);
    # Spark's views live in its metastore, which that check does not read: rebuilt every time
    selection=(raw_assets(CUR) | follows_cur()).downstream()
    - (views() if engine.current() == engine.DUCKDB else dg.AssetSelection.assets()),
    partitions_def=daily_partitions,
    description="Re-ingest CUR days (and Cost Explorer's view of the same days, which a "
    "restatement changes too) and rebuild everything downstream for them: the day rows of the "
    "incremental marts, the unpartitioned marts, exports, insights and the sync report (what "
    "the sync sensor runs). No dbt view is rebuilt: views read the lake when queried (one whose "
    "SQL changed is rebuilt before the day's models; on Spark the views are rebuilt).",
)


def _plan(cur: CurExportResource, lake: LakeResource) -> list[PeriodStatus]:
    return sync_plan(cur.export(), lake.ledger(), cur.history_start, cur.as_of_date())


def _table(plan: list[PeriodStatus]) -> str:
    rows = [
        f"| {p.billing_period} | {p.status} | {p.delivery_id or '-'} | {p.ingested_days}/"
        f"{p.expected_days} | {len(p.days_to_ingest)} |"
        for p in plan
    ]
    return (
        "| billing period | status | current delivery | days ingested | days to ingest |\n"
        "|---|---|---|---|---|\n" + "\n".join(rows)
    )


@dg.asset(
    deps=["raw_cur_line_items"],
    group_name="ingestion",
    kinds={"python"},
    owners=["team:finops-platform"],
    check_specs=[
        dg.AssetCheckSpec(
            "cur_sync_complete",
            asset="cur_sync_status",
            description="No billing period without a delivery since the configured start, none whose "
            "files form no usable delivery, and no delivered day left to ingest.",
        )
    ],
)
def cur_sync_status(cur: CurExportResource, lake: LakeResource) -> dg.MaterializeResult:
    """Every billing period since the configured start versus the ledger: up to date, new,
    restated (a new delivery id), incomplete (days not ingested), missing (no delivery) or
    unusable (files that form no delivery, named)."""
    plan = _plan(cur, lake)
    missing = [p.billing_period for p in plan if p.status == "missing_delivery"]
    unusable = {p.billing_period: p.problem for p in plan if p.status == "unusable"}
    pending = [p.billing_period for p in plan if p.days_to_ingest]
    return dg.MaterializeResult(
        metadata={
            "periods": dg.MetadataValue.md(_table(plan)),
            "missing_billing_periods": ", ".join(missing) or "none",
            "periods_to_sync": ", ".join(pending) or "none",
            "days_to_ingest": sum(len(p.days_to_ingest) for p in plan),
            "as_of": str(cur.as_of_date()),
            "unusable_periods": dg.MetadataValue.md(
                "\n".join(f"- {p}: {why}" for p, why in unusable.items()) or "none"
            ),
        },
        check_results=[
            dg.AssetCheckResult(
                check_name="cur_sync_complete",
                passed=not missing and not pending and not unusable,
                metadata={
                    "missing_billing_periods": ", ".join(missing) or "none",
                    "unusable_periods": ", ".join(unusable) or "none",
                    "periods_to_sync": ", ".join(pending) or "none",
                },
            )
        ],
    )


@dg.sensor(job=cur_refresh_job, minimum_interval_seconds=300, default_status=dg.DefaultSensorStatus.STOPPED)
def cur_delivery_sensor(
    context: dg.SensorEvaluationContext, cur: CurExportResource, lake: LakeResource
) -> dg.SensorResult:
    """A new or changed CUR manifest (or days never ingested) runs exactly those days.

    The run key is the period, delivery id and day range, so one delivery is never run twice;
    the cursor keeps the delivery id last requested per period.
    """
    seen = json.loads(context.cursor) if context.cursor else {}
    requests = []
    for p in _plan(cur, lake):
        for first, last in day_ranges(list(p.days_to_ingest)):
            key = f"{p.billing_period}:{p.delivery_id}:{first}:{last}"
            requests.append(
                dg.RunRequest(
                    run_key=key,
                    tags={
                        "dagster/asset_partition_range_start": first.isoformat(),
                        "dagster/asset_partition_range_end": last.isoformat(),
                        "finops/billing_period": p.billing_period,
                        "finops/cur_status": p.status,
                        "finops/delivery_id": p.delivery_id or "",
                    },
                )
            )
        if p.delivery_id:
            seen[p.billing_period] = p.delivery_id
    return dg.SensorResult(run_requests=requests, cursor=json.dumps(seen, sort_keys=True))
