"""Running the platform's jobs from Python: the CLI's ``sync`` and the demo use these."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import dagster as dg

from finops_dagster.lake.cur_sync import PeriodStatus, day_ranges, expected_days, sync_plan


def range_tags(first: str, last: str) -> dict[str, str]:
    return {"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last}


def range_request(first: str, last: str, reason: str = "") -> dg.RunRequest:
    """A schedule's run of a single-run range of day partitions."""
    return dg.RunRequest(tags={**range_tags(first, last), **({"finops/reason": reason} if reason else {})})


def run_job(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    job: str,
    tags: dict[str, str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> dg.ExecuteInProcessResult:
    """Run ``job`` in this process; with ``progress``, one line when it ends (what, how long)."""
    from finops_dagster.console import Stopwatch, new_step

    watch = Stopwatch()
    new_step()
    result = defs.resolve_job_def(job).execute_in_process(
        instance=instance, tags=tags or {}, raise_on_error=False
    )
    if progress is not None:
        window = "..".join(
            filter(
                None,
                (
                    (tags or {}).get("dagster/asset_partition_range_start"),
                    (tags or {}).get("dagster/asset_partition_range_end"),
                ),
            )
        )
        progress(
            f"    {job}{' ' + window if window else ''}: "
            f"{'ok' if result.success else 'FAILED'} in {watch} (run {result.run_id[:8]})"
        )
    return result


def cur_sync_plan(defs: dg.Definitions) -> list[PeriodStatus]:
    cur, lake = defs.resources["cur"], defs.resources["lake"]
    return sync_plan(cur.export(), lake.ledger(), cur.history_start, cur.as_of_date())


def run_cur_sync(
    defs: dg.Definitions, instance: dg.DagsterInstance, progress: Callable[[str], None] | None = None
) -> list[tuple[PeriodStatus, dg.ExecuteInProcessResult]]:
    """What the sensor does, synchronously: one cur_refresh_job run per contiguous day range
    of every new, restated or incomplete billing period."""
    done = []
    for period in cur_sync_plan(defs):
        for first, last in day_ranges(list(period.days_to_ingest)):
            done.append(
                (
                    period,
                    run_job(
                        defs,
                        instance,
                        "cur_refresh_job",
                        range_tags(first.isoformat(), last.isoformat()),
                        progress,
                    ),
                )
            )
    return done


def failure_cause(result: dg.ExecuteInProcessResult) -> str:
    """The first failure of a run in one line: the step and its message (not a stack trace)."""
    for event in result.all_events:
        if event.event_type_value == "STEP_FAILURE" and event.step_failure_data:
            data = event.step_failure_data
            error = data.error
            while error is not None and error.cause is not None:  # the user code's own error
                error = error.cause
            text = (
                data.user_failure_data.description
                if data.user_failure_data and data.user_failure_data.description
                else error.message
                if error
                else ""
            )
            text = " ".join(line.strip() for line in text.strip().splitlines()[:6]) or "failed"
            return f"{event.step_key}: {text[:400]}"
    for ev in result.get_asset_check_evaluations():
        if not ev.passed and ev.severity == dg.AssetCheckSeverity.ERROR:
            return f"check {ev.check_name} failed"
    return "failed (see the run in the UI)"


@dataclass
class SyncSummary:
    """What ``finops-dagster sync`` found, did and could not do, one line each."""

    lines: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)

    def say(self, line: str, progress: Callable[[str], None]) -> None:
        self.lines.append(line)
        progress(line)


def sync_export(
    defs: dg.Definitions, instance: dg.DagsterInstance, progress: Callable[[str], None] = print
) -> SyncSummary:
    """From an export root to the cost marts: ingest every new, restated or incomplete billing
    period (with Cost Explorer's view of the same days when it is reachable), build the
    warehouse if it is not built yet, then report gaps and what each optional source did."""
    from finops_dagster.lake.optional_sources import SOURCES
    from finops_dagster.quality.cur_days import gap

    summary = SyncSummary()
    cur, lake = defs.resources["cur"], defs.resources["lake"]
    export, ledger, as_of = cur.export(), lake.ledger(), cur.as_of_date()
    found = export.discovery()
    summary.say(f"export {export.url}: {found.describe()}", progress)
    if found.empty:
        summary.failures.append(found.nothing_found(export.url))
        return summary
    early = sorted(p for p in found.deliveries if p < cur.history_start)
    if early:
        summary.say(
            f"  ignored: deliveries before FINOPS_HISTORY_START={cur.history_start}: "
            f"{', '.join(early)} (set FINOPS_HISTORY_START={early[0]} to include them)",
            progress,
        )
    plan = sync_plan(export, ledger, cur.history_start, as_of, found)
    for period in plan:
        if period.status == "unusable":
            summary.failures.append(f"{period.billing_period}: {period.problem}")
            summary.say(f"  {period.billing_period}: FAILED {period.problem}", progress)
        elif period.status == "missing_delivery":
            summary.findings.append(f"{period.billing_period}: no delivery in the export")
            summary.say(f"  {period.billing_period}: missing (no delivery in the export)", progress)
        elif not period.days_to_ingest:
            summary.say(
                f"  {period.billing_period}: up to date ({period.ingested_days} days, "
                f"delivery {period.delivery_id})",
                progress,
            )
        else:
            summary.say(
                f"  {period.billing_period}: {period.status}, {len(period.days_to_ingest)} "
                f"day(s) to ingest (delivery {period.delivery_id})",
                progress,
            )
    todo = sorted(d for p in plan for d in p.days_to_ingest)
    fresh = not _has_table(lake, "stg_cur__line_items")
    for first, last in day_ranges(todo):  # one range run across months, as a UI backfill does
        window = range_tags(first.isoformat(), last.isoformat())
        # a new warehouse is built in the demo's order (every view before the marts); an
        # existing one is refreshed for the range with everything downstream of it
        jobs = ["cur_ingest_job", "sources_job"] if fresh else ["cur_refresh_job"]
        for job in jobs:
            result = run_job(defs, instance, job, window, progress)
            if not result.success:
                cause = failure_cause(result)
                summary.failures.append(f"{first}..{last} {job}: {cause}")
                summary.say(
                    f"  FAILED {job} {first}..{last}: {cause} (run {result.run_id}; the "
                    "next sync retries it)",
                    progress,
                )
                break
        else:
            summary.say(
                f"  ingested {first}..{last} ({len([d for d in todo if first <= d <= last])} day(s))",
                progress,
            )
    if not summary.failures and _marts_stale(instance, lake):
        days = sorted(
            d
            for p in plan
            for d in expected_days(p.billing_period, as_of)
            if ledger.day("cur", d) is not None
        )
        if days:
            for job, tags in (
                ("warehouse_views_job", None),
                ("daily_cost_job", range_tags(days[0].isoformat(), days[-1].isoformat())),
                ("marts_job", None),
            ):
                result = run_job(defs, instance, job, tags, progress)
                if not result.success:
                    cause = failure_cause(result)
                    summary.failures.append(f"{job}: {cause}")
                    summary.say(f"  FAILED {job}: {cause} (run {result.run_id})", progress)
                    break
            else:
                summary.say(f"  warehouse built: {days[0]}..{days[-1]}", progress)
    gaps = [
        (d, r.metadata)
        for p in plan
        if p.status != "unusable"
        for d in expected_days(p.billing_period, as_of)
        if ledger.day("cur", d) is not None and not (r := gap(ledger, d, as_of)).passed
    ]
    for first, last in day_ranges([d for d, _ in gaps]):
        why = next(m for d, m in gaps if d == first)
        text = why.get("reason") or f"accounts without line items: {why.get('missing_accounts')}"
        summary.findings.append(f"gap {first}..{last}: {text}")
        summary.say(f"  GAP {first}..{last}: {text}", progress)
    for source in SOURCES:
        summary.say(f"  {lake.source_status(source).line()}", progress)
    current = not summary.failures and not _marts_stale(instance, lake)
    summary.say(f"  marts: {'current' if current else 'NOT current'} ({lake.warehouse_path})", progress)
    return summary


def _marts_stale(instance: dg.DagsterInstance, lake) -> bool:
    """No marts yet, or CUR days ingested after the marts were last exported (a failed or
    interrupted build): the next sync builds them again."""
    if not _has_table(lake, "fct_daily_cost"):
        return True
    raw = instance.get_latest_materialization_event(dg.AssetKey("raw_cur_line_items"))
    for last in ("mart_exports", "insight_alerts"):  # the marts job's last steps
        built = instance.get_latest_materialization_event(dg.AssetKey(last))
        if built is None or (raw is not None and raw.timestamp > built.timestamp):
            return True
    return False


def _has_table(lake, name: str) -> bool:
    import duckdb

    if not lake.warehouse_path.exists():
        return False
    try:
        with duckdb.connect(str(lake.warehouse_path), read_only=True) as con:
            return bool(
                con.execute(
                    "select count(*) from information_schema.tables where table_name = ?", [name]
                ).fetchone()[0]
            )
    except duckdb.Error:
        return False
