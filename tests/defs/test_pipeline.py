"""End to end through Dagster: S3 over HTTP (moto) -> raw lake -> dbt -> per-day checks."""

import datetime as dt
from decimal import Decimal

import dagster as dg
import duckdb

from finops_dagster.definitions import build_definitions
from finops_dagster.defs.warehouse.project import dbt_project
from finops_dagster.lake.ledger import Ledger
from tests.conftest import mart_names, mart_snapshot

RANGE = {
    "dagster/asset_partition_range_start": "2026-09-16",
    "dagster/asset_partition_range_end": "2026-09-18",
}


def _mart_days(settings) -> dict:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        rows = con.execute(
            "select usage_date, sum(line_item_count), sum(billed_cost), "
            "sum(effective_cost), count(*) from fct_daily_cost group by 1"
        ).fetchall()
    return {r[0]: r[1:] for r in rows}


def test_demo_window_materializes_with_exact_totals(pipeline):
    settings, _, report, demo = pipeline
    assert report.ok, report.render()
    assert [name for name, ok, _ in report.runs if ok] == [
        "cur_ingest_job",
        "sources_job",
        "reference_job",
        "warehouse_views_job",
        "daily_cost_job",
        "marts_job",
        "cur_refresh_job 2026-08 (restated)",
        "cur_sync_status_job",
    ]
    days = _mart_days(settings)
    assert len(days) == 92
    restated = {"2026-08-20": Decimal("-120"), "2026-08-05": Decimal("35.5")}
    assert sum(v[0] for v in days.values()) == demo["total_rows"] + 2
    assert sum(v[1] for v in days.values()) == Decimal(demo["total_unblended"]) - Decimal("84.5")
    assert sum(v[2] for v in days.values()) == Decimal(demo["total_effective"]) - Decimal("84.5")
    by_day = {}
    for t in demo["daily"]:
        by_day[t["date"]] = by_day.get(t["date"], Decimal(0)) + Decimal(t["unblended"])
    for day, (_, billed, _, _) in days.items():
        assert billed == by_day[day.isoformat()] + restated.get(day.isoformat(), 0), day


def test_restatement_diffs_are_a_mart(pipeline):
    settings, _, report, _ = pipeline
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        rows = con.execute(
            "select usage_date, sub_account_id, service_code, billed_cost_change "
            "from fct_cur_restatements order by 1"
        ).fetchall()
    assert [(str(d), a, s, c) for d, a, s, c in rows] == [
        ("2026-08-05", "333333333333", "AmazonS3", Decimal("35.5")),
        ("2026-08-20", "111111111111", "AmazonEC2", Decimal("-120")),
    ]


def test_other_sources_landed_with_exact_values(pipeline):
    settings, _, _, demo = pipeline
    import polars as pl

    from finops_dagster.lake.ledger import Ledger

    ledger = Ledger(settings.ledger_path)
    ce = ledger.day("cost_explorer", dt.date(2026, 9, 18))
    truth = sum(Decimal(t["unblended"]) for t in demo["daily"] if t["date"] == "2026-09-18")
    assert ce.unblended_cost == truth
    cw = pl.read_parquet(settings.raw_lake_dir / "cloudwatch" / "usage_date=2026-09-18" / "data.parquet")
    assert (
        cw.filter(
            pl.col("namespace") == "AWS/EC2",
            pl.col("metric_name") == "CPUUtilization",
            pl.col("stat") == "Average",
        ).height
        == 16 * 24
    )
    assert set(cw["period_seconds"]) == {300}  # 43 days old on the demo's "today"
    reqs = pl.read_parquet(
        settings.raw_lake_dir / "business_requests" / "usage_date=2026-09-18" / "data.parquet"
    )
    assert reqs["request_count"].sum() == 3 * 10000  # three shared services, 10k a day each
    forecast = pl.read_parquet(settings.raw_lake_dir / "cost_explorer_forecast" / "data.parquet")
    assert forecast.height == 30 and forecast["forecast_date"].min() == dt.date(2026, 11, 1)
    assert ledger.day("business_requests", dt.date(2026, 10, 12)).row_count == 0


def test_every_partition_shows_its_checks_and_the_gap_is_caught(pipeline):
    _, instance, report, _ = pipeline
    assert set(report.caught) == {
        "check raw_cur_line_items:cur_day_gap failed on 2026-09-17 (account 222222222222 has no line items)",
        "check raw_business_requests:business_requests_day_present failed on 2026-10-12 "
        "(the request feed has no rows that day)",
        "check fct_cost_reconciliation:fct_cost_reconciliation_agreement failed on 2026-09-10 "
        "(Cost Explorer differs by $7.00 on AmazonRDS of 222222222222)",
        "check fct_cost_reconciliation:fct_cost_reconciliation_agreement failed on 2026-09-17 "
        "(Cost Explorer has account 222222222222's costs, CUR does not)",
        "restatement of 2026-08 (delivery 6b633777): 2 planted changes found in fct_cur_restatements",
        "insight alert (anomaly): the ~$4,000/day WriteRequestUnits spike from 2026-10-26",
        "insight alert (audit): $52.50 of Requests-Tier1 never billed",
        "insight alert (budget): the account 111111111111 budget, forecast over it in 2026-11",
    }
    gap = dg.AssetCheckKey(dg.AssetKey("raw_cur_line_items"), "cur_day_gap")
    infos = {
        i.partition_key: i.latest_execution_status.value
        for i in instance.event_log_storage.get_asset_check_partition_info([gap])
        if i.partition_key
    }
    assert len(infos) == 92
    assert {d for d, s in infos.items() if s == "FAILED"} == {"2026-09-17"}
    assert instance.get_materialized_partitions(dg.AssetKey("fct_daily_cost")) >= {"2026-09-17"}


def test_rerunning_partitions_changes_no_mart_row(pipeline):
    settings, instance, _, _ = pipeline
    before = mart_snapshot(settings)
    assert set(before) == mart_names()
    # every mart has rows, but the demo bills in one currency: nothing to report in another
    assert [k for k, rows in before.items() if not rows] == ["fct_other_currency_cost"]
    defs = build_definitions(settings)
    for job, tags in (
        ("cur_ingest_job", RANGE),
        ("sources_job", RANGE),
        ("daily_cost_job", RANGE),
        ("marts_job", None),
    ):
        result = defs.resolve_job_def(job).execute_in_process(instance=instance, tags=tags)
        assert result.success, job
    after = mart_snapshot(settings)
    changed = {
        k: (sorted(set(before[k]) - set(after[k]))[:2], sorted(set(after[k]) - set(before[k]))[:2])
        for k in before
        if before[k] != after[k]
    }
    assert changed == {}


def test_materialization_metadata_shows_rows_costs_and_files(pipeline):
    """A day's partition page shows that day's figures, though it was ingested in a range run."""
    settings, instance, _, _ = pipeline
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey("raw_cur_line_items"), asset_partitions=["2026-09-17"]),
        limit=1,
    ).records
    meta = records[0].asset_materialization.metadata
    entry = Ledger(settings.ledger_path).day("cur", dt.date(2026, 9, 17))
    assert meta["rows"].value == entry.row_count > 0
    assert meta["unblended_cost_exact"].value == str(entry.unblended_cost)
    assert meta["accounts"].value == "111111111111, 333333333333"  # the planted gap: 222... absent
    sept = "s3://finops-demo-billing/cur/finops-demo-export/data/BILLING_PERIOD=2026-09/"
    assert sept in meta["source_files"].value
    assert "days; range totals on the run" in meta["range_run"].value


def test_undelivered_day_fails_the_run_with_a_clear_message(pipeline):
    settings, instance, _, _ = pipeline
    defs = build_definitions(settings)
    result = defs.resolve_job_def("cur_ingest_job").execute_in_process(
        instance=instance, partition_key="2026-11-02", raise_on_error=False
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "no CUR delivery for billing period 2026-11" in str(failure.event_specific_data)


def test_dbt_parses_only_what_changed_between_runs(pipeline):
    """The day window reaches dbt as environment variables read only when dbt executes, and each
    run keeps its partial parse for the next (issue 17 item 5): the restated month's daily build
    parsed nothing again. Before, changed --vars made every daily run parse the whole project,
    and then env vars read while parsing re-parsed the 11 windowed files (about 1 s) whenever
    the window changed, twice a refresh (the daily step sets it, the marts step does not)."""
    _, _, report, _ = pipeline
    run_id = next(r for name, _, r in report.runs if name.startswith("cur_refresh_job"))
    logs = list((dbt_project.project_dir / "target").glob(f"dbt_daily_models-{run_id[:7]}-*/dbt.log"))
    assert logs, f"no dbt log of run {run_id}"
    log = logs[0].read_text()
    assert "Unable to do partial parsing" not in log
    assert "Partial parsing: updated file" not in log
    assert "skipping parsing" in log  # "Partial parsing enabled, no changes found, skipping parsing"
    assert (
        "usage_date >= cast('2026-08-01' as date)"
        in (  # yet the window reached the SQL
            logs[0].parent / "compiled" / "finops" / "models" / "marts" / "cost" / "fct_daily_cost.sql"
        ).read_text()
    )


def test_a_refresh_rebuilds_missing_or_changed_views_before_the_day_models(pipeline):
    """cur_refresh_job builds no view (new data needs none), so the views its day models read
    are checked first: one dropped and one whose recorded SQL differs from the project's are
    rebuilt, with the others they read, and the refresh goes through."""
    import json

    from finops_dagster.warehouse.lake_paths import changed_views, record_path

    settings, instance, _, _ = pipeline
    with duckdb.connect(str(settings.warehouse_path)) as con:
        con.execute("drop view int_cur__line_items_costed")
    record = record_path(settings.warehouse_path)
    recorded = json.loads(record.read_text())
    record.write_text(json.dumps({**recorded, "stg_cur__line_items": "the SQL of an older deploy"}))

    day = {
        "dagster/asset_partition_range_start": "2026-10-05",
        "dagster/asset_partition_range_end": "2026-10-05",
    }
    result = (
        build_definitions(settings)
        .resolve_job_def("cur_refresh_job")
        .execute_in_process(instance=instance, tags=day)
    )
    assert result.success
    said = [
        e.user_message
        for e in instance.all_logs(result.run_id)
        if "views missing or with new SQL" in e.user_message
    ]
    assert said and "int_cur__line_items_costed, stg_cur__line_items;" in said[0]
    manifest = json.loads((dbt_project.project_dir / "target" / "manifest.json").read_text())
    assert (
        changed_views(
            settings.warehouse_path, manifest, {"int_cur__line_items_costed", "stg_cur__line_items"}
        )
        == []
    )
