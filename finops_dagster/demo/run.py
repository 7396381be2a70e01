"""Materialize every demo asset on a persistent Dagster instance and verify the outcome.

The demo knows what it planted, so "success" is exact: every run succeeds, every check passes
except the planted ones, each planted failure is caught, and the mart totals equal the
generator's truth to the cent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

import dagster as dg

from finops_dagster.demo import catalog as C
from finops_dagster.operations import range_tags, run_cur_sync, run_job
from finops_dagster.settings import Settings

PLANTED_CHECK = ("raw_cur_line_items", "cur_day_gap")


@dataclass
class DemoReport:
    runs: list[tuple[str, bool, str]] = field(default_factory=list)
    caught: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    totals: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems and all(ok for _, ok, _ in self.runs)

    def render(self) -> str:
        lines = ["", "demo result:"]
        lines += [f"  run {name}: {'ok' if ok else 'FAILED'} ({run_id})" for name, ok, run_id in self.runs]
        lines.append(f"  totals: {self.totals}")
        lines += [f"  planted and caught: {c}" for c in self.caught]
        lines += [f"  PROBLEM: {p}" for p in self.problems]
        lines.append(
            "  => " + ("all assets materialized, all checks as expected" if self.ok else "the demo FAILED")
        )
        return "\n".join(lines)


def demo_days(truth: dict) -> list[str]:
    start, end = dt.date.fromisoformat(truth["start"]), dt.date.fromisoformat(truth["end"])
    return [(start + dt.timedelta(days=i)).isoformat() for i in range((end - start).days + 1)]


def run_demo(
    settings: Settings,
    truth: dict,
    instance: dg.DagsterInstance | None = None,
    redeliver: Callable[[], dict] | None = None,
    progress: Callable[[str], None] | None = None,
) -> DemoReport:
    """Materialize the demo window, then (with ``redeliver``) restate a month and sync it."""
    from finops_dagster.definitions import build_definitions

    defs = build_definitions(settings)
    instance = instance or dg.DagsterInstance.get()
    days = demo_days(truth)
    window = range_tags(days[0], days[-1])
    report = DemoReport()
    check_evals: list[dg.AssetCheckEvaluation] = []

    def step(job: str, tags: dict | None = None) -> bool:
        result = run_job(defs, instance, job, tags, progress)
        report.runs.append((job, result.success, result.run_id))
        check_evals.extend(result.get_asset_check_evaluations())
        if not result.success:
            report.problems.append(f"{job} failed; see run {result.run_id} in the UI")
        return result.success

    if not (
        step("cur_ingest_job", window)
        and step("sources_job", window)
        and step("reference_job")
        and step("warehouse_views_job")
        and step("daily_cost_job", window)
        and step("marts_job")
    ):
        return report
    planted = None
    if redeliver is not None:
        planted = redeliver()
        for period, result in run_cur_sync(defs, instance, progress):
            report.runs.append(
                (f"cur_refresh_job {period.billing_period} ({period.status})", result.success, result.run_id)
            )
            check_evals.extend(result.get_asset_check_evaluations())
            if not result.success:
                report.problems.append(f"sync of {period.billing_period} failed ({result.run_id})")
                return report
    if not step("cur_sync_status_job"):
        return report

    _verify_checks(defs, instance, days, truth, check_evals, report)
    _verify_totals(settings, truth, planted, report)
    _verify_insights(settings, report)
    return report


def planted_check_failures(truth: dict) -> dict[tuple[str, str, str], str]:
    """(asset, check, day) -> why: exactly the per-day check failures the demo planted."""
    missing = truth["planted"]["missing_day"]
    recon = ("fct_cost_reconciliation", "fct_cost_reconciliation_agreement")
    planted = {
        (*PLANTED_CHECK, missing["date"]): f"account {missing['account']} has no line items",
        (
            "raw_business_requests",
            "business_requests_day_present",
            truth["planted"]["missing_requests_day"],
        ): "the request feed has no rows that day",
        (*recon, missing["date"]): f"Cost Explorer has account {missing['account']}'s costs, CUR does not",
    }
    for d in C.CE_DRIFT:
        if d["status"] == "mismatch":
            planted[(*recon, str(d["date"]))] = (
                f"Cost Explorer differs by ${d['usd']} on {d['service']} of {d['account']}"
            )
    return planted


def _verify_checks(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    days: list[str],
    truth: dict,
    evals: list[dg.AssetCheckEvaluation],
    report: DemoReport,
) -> None:
    planted = planted_check_failures(truth)
    graph = defs.resolve_asset_graph()
    partitioned = sorted(
        (k for k in graph.asset_check_keys if graph.get_check_spec(k).partitions_def),
        key=lambda k: k.to_user_string(),
    )
    infos = instance.event_log_storage.get_asset_check_partition_info(partitioned)
    ran = {
        k.asset_key.to_user_string() for k in partitioned if instance.get_materialized_partitions(k.asset_key)
    }
    status = {
        (
            i.check_key.asset_key.to_user_string(),
            i.check_key.name,
            i.partition_key,
        ): i.latest_execution_status.value
        for i in infos
        if i.partition_key
    }
    for key in partitioned:
        for day in days:
            ident = (key.asset_key.to_user_string(), key.name, day)
            got = status.get(ident, "NOT RUN")
            want = "FAILED" if ident in planted else "SUCCEEDED"
            if got == "NOT RUN" and ident[0] not in ran:
                continue  # an asset this demo run did not materialize
            if got == want and ident in planted:
                report.caught.append(f"check {ident[0]}:{ident[1]} failed on {day} ({planted[ident]})")
            elif got != want:
                report.problems.append(f"check {ident[0]}:{ident[1]} on {day}: {got}, expected {want}")
    partitioned_names = {k.name for k in partitioned}
    for ev in evals:  # unpartitioned checks (dbt tests) must all pass
        if ev.check_name not in partitioned_names and not ev.passed:
            report.problems.append(f"check {ev.asset_key.to_user_string()}:{ev.check_name} failed")


def _verify_totals(settings: Settings, truth: dict, planted: dict | None, report: DemoReport) -> None:
    import duckdb

    deltas = {
        (c["date"], c["account"], c["service_code"]): Decimal(c["delta"])
        for c in (planted or {}).get("changes", [])
    }
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        rows, billed, effective = con.execute(
            "select sum(line_item_count), sum(billed_cost), sum(effective_cost) from fct_daily_cost"
        ).fetchone()
        diffs = {
            (str(d), a, s): c
            for d, a, s, c in con.execute(
                "select usage_date, sub_account_id, service_code, billed_cost_change "
                "from fct_cur_restatements"
            ).fetchall()
        }
    extra = sum(deltas.values(), Decimal(0))
    want = (
        truth["total_rows"] + len(deltas),
        Decimal(truth["total_unblended"]) + extra,
        Decimal(truth["total_effective"]) + extra,
    )
    got = (int(rows), Decimal(billed), Decimal(effective))
    report.totals = (
        f"{got[0]} line items, billed ${got[1]:,.2f}, effective ${got[2]:,.2f} "
        f"(truth: {want[0]}, ${want[1]:,.2f}, ${want[2]:,.2f})"
    )
    if (
        got[0] != want[0]
        or abs(got[1] - want[1]) >= Decimal("0.005")
        or abs(got[2] - want[2]) >= Decimal("0.005")
    ):
        report.problems.append("fct_daily_cost totals differ from the generator's truth")
    if planted:
        if diffs != deltas:
            report.problems.append(f"fct_cur_restatements {diffs} differs from the planted {deltas}")
        else:
            report.caught.append(
                f"restatement of {planted['period']} (delivery "
                f"{planted['delivery_id'][:8]}): {len(diffs)} planted changes "
                "found in fct_cur_restatements"
            )


def planted_alerts() -> dict[str, str]:
    """alert id -> why: exactly the insight alerts the demo planted (no other may fire)."""
    spike, unbilled = C.SPIKE, C.UNBILLED
    scope, value, month = C.PLANTED_BUDGET_BREACH
    anomaly = f"anomaly:{spike['from']}:{spike['resource_id']}:{spike['usage_type']}:increase"
    audit = f"audit:{unbilled['from']:%Y-%m}:{unbilled['account']}:{unbilled['product_code']}:unbilled_usage"
    return {
        anomaly: f"the ~$4,000/day {spike['usage_type']} spike from {spike['from']}",
        audit: f"${C.UNBILLED_USD} of {unbilled['usage_type']} never billed",
        f"budget:{scope}:{value}:{month}": f"the {scope} {value} budget, forecast over it in {month}",
    }


def _verify_insights(settings: Settings, report: DemoReport) -> None:
    import polars as pl

    path = settings.exports_dir / "insight_alerts.parquet"
    got = set(pl.read_parquet(path)["alert_id"]) if path.exists() else set()
    want = planted_alerts()
    for alert_id, why in want.items():
        if alert_id in got:
            report.caught.append(f"insight alert ({alert_id.split(':')[0]}): {why}")
        else:
            report.problems.append(f"planted insight alert missing: {alert_id} ({why})")
    report.problems += [f"unexpected insight alert (a false positive): {a}" for a in sorted(got - set(want))]
