"""Raw CUR line items, one partition per UTC usage day."""

import datetime as dt
from decimal import Decimal

import dagster as dg

from finops_dagster.console import reporter
from finops_dagster.lake.cur_ingest import ingest_cur_days
from finops_dagster.partitions import daily_partitions
from finops_dagster.resources import CurExportResource, LakeResource
from finops_dagster.selections import CUR, raw_tags
from finops_dagster.sources.cur import CurError


def window_days(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> list[dt.date]:
    return [dt.date.fromisoformat(pk) for pk in context.partition_keys]


_COMMON = dict(
    group_name="ingestion",
    kinds={"polars", "parquet", "s3"},
    owners=["team:finops-platform"],
    tags={"source": "cur", **raw_tags(CUR)},
)


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            "raw_cur_line_items",
            **_COMMON,
            description=(
                "Every CUR line item of the day, normalized to CUR 2.0 names, in "
                "raw/cur/usage_date=D/data.parquet. A range run reads each billing period's current "
                "delivery once and swaps each day's file atomically; the ledger records files, "
                "delivery id, rows and cost sums per day, so a re-run or a restated delivery "
                "replaces days instead of adding to them."
            ),
        ),
        dg.AssetSpec(
            "raw_cur_restatements",
            **_COMMON,
            description=(
                "When a billing period is re-delivered, the day x account x service cells whose cost "
                "changed (old and new sums), computed before the old days are replaced."
            ),
        ),
    ],
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    name="raw_cur",
)
def raw_cur(context: dg.AssetExecutionContext, cur: CurExportResource, lake: LakeResource):
    """Ingest the CUR days of the partition window (see the asset descriptions)."""
    days = window_days(context)
    if _runs_check(context, "cur_column_expectations") and not lake.gx_verdicts_path().exists():
        from finops_dagster.quality.cur_expectations import warm_up

        # its import overlaps the ingest instead of following it; with verdicts remembered, the
        # check most likely needs no Great Expectations at all, and the import's 3 s of CPU
        # would only slow the ingest (a one-day ingest: 1.7 s alone, 3.4 s beside it)
        warm_up()
    try:
        result = ingest_cur_days(
            cur.export(),
            lake.raw_lake(),
            lake.ledger(),
            days,
            progress=reporter(context),
            guard=cur.shrink_guard(),
        )
    except CurError as exc:
        raise dg.Failure(
            description=str(exc), metadata={"days": f"{days[0]}..{days[-1]}", "export": cur.export_url}
        ) from exc
    entries = result.entries
    unblended = sum((e.unblended_cost for e in entries), Decimal(0))
    effective = sum((e.effective_cost for e in entries), Decimal(0))
    per_day = "\n".join(
        f"| {e.usage_date} | {e.row_count} | {e.unblended_cost:.2f} | {e.effective_cost:.2f} | "
        f"{len(e.accounts)} | {e.delivery_id} |"
        for e in entries
    )
    files = sorted({f for e in entries for f in e.source_files})
    yield dg.MaterializeResult(
        asset_key="raw_cur_restatements",
        metadata={
            "restated_periods": len(result.restatements),
            "changed_cells": sum(r.changed_cells for r in result.restatements),
            "files": ", ".join(r.path for r in result.restatements) or "none",
        },
    )
    yield dg.MaterializeResult(
        asset_key="raw_cur_line_items",
        metadata={
            "rows": sum(e.row_count for e in entries),
            "unblended_cost": dg.MetadataValue.float(float(round(unblended, 2))),
            "effective_cost": dg.MetadataValue.float(float(round(effective, 2))),
            "unblended_cost_exact": str(unblended),
            "effective_cost_exact": str(effective),
            "days": len(entries),
            "deliveries": ", ".join(sorted({f"{e.billing_period}: {e.delivery_id}" for e in entries})),
            "restatements": ", ".join(
                f"{r.billing_period}: {r.new_delivery_id} replaced {', '.join(r.old_delivery_ids)} "
                f"({r.changed_cells} cells changed)"
                for r in result.restatements
            )
            or "none",
            "source_files": dg.MetadataValue.md("\n".join(f"- `{f}`" for f in files)),
            "rows_outside_billing_period": result.outside_period or "none",
            "per_day": dg.MetadataValue.md(
                "| day | rows | unblended | effective | accounts | delivery |\n|---|---|---|---|---|---|\n"
                + per_day
            ),
        },
    )
    if len(entries) > 1:  # a range run: each day's own figures on its partition page
        for e in entries:
            context.log_event(
                dg.AssetMaterialization(
                    asset_key="raw_cur_line_items",
                    partition=e.usage_date.isoformat(),
                    metadata={
                        "rows": e.row_count,
                        "unblended_cost": dg.MetadataValue.float(float(round(e.unblended_cost, 2))),
                        "effective_cost": dg.MetadataValue.float(float(round(e.effective_cost, 2))),
                        "unblended_cost_exact": str(e.unblended_cost),
                        "effective_cost_exact": str(e.effective_cost),
                        "accounts": ", ".join(sorted(a for a, t in e.accounts.items() if t.row_count))
                        or "none",
                        "delivery": f"{e.billing_period}: {e.delivery_id}",
                        "source_files": dg.MetadataValue.md("\n".join(f"- `{f}`" for f in e.source_files)),
                        "range_run": f"{days[0]}..{days[-1]} ({len(entries)} days; range totals on the run)",
                    },
                )
            )


def _runs_check(context: dg.AssetExecutionContext, name: str) -> bool:
    """Whether this run also executes the raw CUR check ``name`` (None: every check of the
    selected assets)."""
    selected = context.run.asset_check_selection
    return selected is None or any(key.name == name for key in selected)
