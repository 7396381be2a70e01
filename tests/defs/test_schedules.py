"""Schedules evaluated at awkward instants request exactly the right day partitions."""

import datetime as dt

import dagster as dg
import pytest

from finops_dagster.definitions import build_definitions
from finops_dagster.settings import Settings

UTC = dt.UTC


def at(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=UTC)


@pytest.fixture(scope="module")
def all_defs(tmp_path_factory) -> dict[int, dg.Definitions]:
    """Definitions with a 5- and a 7-day finalization window, built before any instance is
    opened (a closed test instance cannot be the load context of a later build)."""
    root = tmp_path_factory.mktemp("schedules")
    built = {
        days: build_definitions(
            Settings(data_dir=root, cur_export_url=str(root / "export"), finalization_days=days)
        )
        for days in (7, 5)
    }
    for d in built.values():
        d.get_repository_def()  # resolved now, not lazily inside a later test's instance
    return built


@pytest.fixture(scope="module")
def defs(all_defs) -> dg.Definitions:
    return all_defs[5]


def _keys(defs: dg.Definitions, name: str, when: dt.datetime) -> tuple[str, str] | str:
    """The (first, last) day partition a schedule requests at ``when``, or its skip reason."""
    schedule = defs.resolve_schedule_def(name)
    with dg.instance_for_test() as instance:
        ctx = dg.build_schedule_context(
            instance=instance,
            scheduled_execution_time=when,
            repository_def=defs.get_repository_def(),
            resources={"cur": defs.resources["cur"]},
        )
        result = schedule.evaluate_tick(ctx)
        if result.skip_message:
            return result.skip_message
        (request,) = result.run_requests
    tags = request.tags
    first, last = tags["dagster/asset_partition_range_start"], tags["dagster/asset_partition_range_end"]
    keys = defs.resolve_job_def(schedule.job_name).partitions_def.get_partition_keys_in_range(
        dg.PartitionKeyRange(first, last)
    )
    assert keys[0] == first and keys[-1] == last  # both ends are real partitions of the job
    return first, last


@pytest.mark.parametrize(
    ("name", "when", "want"),
    [
        # the current month every 6 hours
        ("current_month_schedule", at(2026, 9, 1, 0, 0), ("2026-09-01", "2026-09-01")),
        ("current_month_schedule", at(2026, 9, 30, 18, 0), ("2026-09-01", "2026-09-30")),
        ("current_month_schedule", at(2028, 2, 29, 6, 0), ("2028-02-01", "2028-02-29")),
        ("current_month_schedule", at(2027, 1, 1, 0, 0), ("2027-01-01", "2027-01-01")),
        # the previous month daily during the first 5 days
        ("previous_month_finalization_schedule", at(2026, 9, 1, 3, 0), ("2026-08-01", "2026-08-31")),
        ("previous_month_finalization_schedule", at(2026, 9, 5, 3, 0), ("2026-08-01", "2026-08-31")),
        ("previous_month_finalization_schedule", at(2028, 3, 1, 3, 0), ("2028-02-01", "2028-02-29")),
        ("previous_month_finalization_schedule", at(2027, 1, 1, 3, 0), ("2026-12-01", "2026-12-31")),
        # Cost Explorer: yesterday's month to yesterday
        ("cost_explorer_daily_schedule", at(2027, 1, 1, 4, 17), ("2026-12-01", "2026-12-31")),
        ("cost_explorer_daily_schedule", at(2028, 2, 29, 4, 17), ("2028-02-01", "2028-02-28")),
        ("cost_explorer_daily_schedule", at(2026, 9, 30, 4, 17), ("2026-09-01", "2026-09-29")),
        # CloudWatch's recent hours: yesterday and today
        ("cloudwatch_recent_hours_schedule", at(2027, 1, 1, 0, 10), ("2026-12-31", "2027-01-01")),
        ("cloudwatch_recent_hours_schedule", at(2028, 3, 1, 23, 10), ("2028-02-29", "2028-03-01")),
    ],
)
def test_schedule_requests_exactly_these_days(defs, name, when, want):
    assert _keys(defs, name, when) == want


def test_finalization_window_ends_after_the_configured_days(all_defs):
    skip = _keys(all_defs[5], "previous_month_finalization_schedule", at(2026, 9, 6, 3, 0))
    assert "first 5 days" in skip
    assert _keys(all_defs[7], "previous_month_finalization_schedule", at(2026, 9, 7, 3, 0)) == (
        "2026-08-01",
        "2026-08-31",
    )


def test_schedules_ship_stopped_with_their_crons(defs):
    crons = {s.name: (s.cron_schedule, s.default_status) for s in defs.schedules}
    stopped = dg.DefaultScheduleStatus.STOPPED
    assert crons == {
        "current_month_schedule": ("0 */6 * * *", stopped),
        "previous_month_finalization_schedule": ("0 3 * * *", stopped),
        "cost_explorer_daily_schedule": ("17 4 * * *", stopped),
        "cloudwatch_recent_hours_schedule": ("10 * * * *", stopped),
    }


def test_month_refresh_job_builds_a_new_warehouse_in_one_run(demo, local_export, tmp_path):
    """What the schedules run, on a data folder with nothing in it but the reference data: one
    run from the CUR files to the exports. The job builds no view and no seed (new data needs
    neither); its dbt steps put missing ones in place. Before, the seeds and the views over
    reference sources were never built: the daily models failed on cost_explorer_services,
    budget_status on stg_business__budgets."""
    from decimal import Decimal

    import duckdb

    from finops_dagster.demo.business_data import write_csv
    from finops_dagster.operations import range_tags, run_job

    write_csv(tmp_path / "demo" / "business")
    settings = Settings(
        data_dir=tmp_path,
        cur_export_url=str(local_export),
        history_start="2026-09",
        as_of="2026-10-31",
        cost_explorer=False,
        cloudwatch=False,
    )
    defs = build_definitions(settings)
    with dg.DagsterInstance.ephemeral() as instance:
        assert run_job(defs, instance, "reference_job", None).success
        result = run_job(defs, instance, "month_refresh_job", range_tags("2026-09-16", "2026-09-18"))
    assert result.success
    built = {e.asset_key.path[-1] for e in result.get_asset_materialization_events()}
    assert {"fct_daily_cost", "budget_status", "mart_exports"} <= built
    assert not built & {"stg_cur__line_items", "cost_explorer_services"}  # put in place, not selected
    days = ("2026-09-16", "2026-09-17", "2026-09-18")
    truth = sum(Decimal(t["unblended"]) for t in demo["daily"] if t["date"] in days)
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        billed = con.execute("select sum(billed_cost) from fct_daily_cost").fetchone()[0]
        services = con.execute("select count(*) from cost_explorer_services").fetchone()[0]
    assert billed == truth
    assert services > 0
