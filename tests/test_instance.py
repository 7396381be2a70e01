"""Dagster's storage: SQLite by default, PostgreSQL (the local server) when configured; history
survives a restart of the instance."""

import dagster as dg
import pytest
import yaml

from finops_dagster.definitions import build_definitions
from finops_dagster.instance import PG_URL_ENV, instance_yaml, prepare_home
from finops_dagster.operations import range_tags
from finops_dagster.settings import Settings
from tests.conftest import PG_SERVER as SERVER


def test_sqlite_is_the_default_and_postgres_is_opt_in(tmp_path):
    default = yaml.safe_load(instance_yaml({}, tmp_path))
    assert "storage" not in default and default["concurrency"]["pools"]["default_limit"] == 1
    # Dagster's SQLite folder for events, with the pool-safe claim (tests/test_instance_storage.py)
    assert default["event_log_storage"]["config"] == {"base_dir": str(tmp_path / "history" / "runs")}
    assert default["event_log_storage"]["class"] == "PoolSafeSqliteEventLogStorage"
    pg = yaml.safe_load(instance_yaml({PG_URL_ENV: f"{SERVER}/x"}, tmp_path))
    for key in ("run_storage", "event_log_storage", "schedule_storage"):
        assert pg[key]["config"] == {"postgres_url": {"env": PG_URL_ENV}}
    assert pg["event_log_storage"]["class"] == "PoolSafePostgresEventLogStorage"
    with pytest.raises(ValueError, match="postgresql\\+psycopg2://"):
        instance_yaml({PG_URL_ENV: "postgresql://postgres@127.0.0.1/x"}, tmp_path)
    hand_written = tmp_path / "own"
    hand_written.mkdir()
    (hand_written / "dagster.yaml").write_text("telemetry: {enabled: false}\n")
    prepare_home(tmp_path, {"DAGSTER_HOME": str(hand_written), PG_URL_ENV: f"{SERVER}/x"})
    assert (hand_written / "dagster.yaml").read_text() == "telemetry: {enabled: false}\n"


def test_postgres_storage_keeps_partitions_and_checks_across_a_restart(
    tmp_path, demo, pg_database, monkeypatch
):
    monkeypatch.setenv(PG_URL_ENV, pg_database)
    home = prepare_home(tmp_path, {PG_URL_ENV: pg_database})
    settings = Settings(data_dir=tmp_path, cur_export_url=demo["export_root"], as_of="2026-10-31")
    days = ["2026-09-16", "2026-09-17", "2026-09-18"]
    key = dg.AssetKey("raw_cur_line_items")
    gap = dg.AssetCheckKey(key, "cur_day_gap")

    instance = dg.DagsterInstance.from_config(str(home))
    try:
        # built while this instance is alive: loading definitions resolves the current instance
        defs = build_definitions(settings)
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        result = defs.resolve_job_def("cur_ingest_job").execute_in_process(
            instance=instance, tags=range_tags(days[0], days[-1])
        )
        assert result.success
        run_id = result.run_id
    finally:
        instance.dispose()

    restarted = dg.DagsterInstance.from_config(str(home))  # a new process would see the same
    try:
        assert restarted.get_run_by_id(run_id).is_success
        assert restarted.get_materialized_partitions(key) == set(days)
        status = {
            i.partition_key: i.latest_execution_status.value
            for i in restarted.event_log_storage.get_asset_check_partition_info([gap])
            if i.partition_key
        }
        assert status == {"2026-09-16": "SUCCEEDED", "2026-09-17": "FAILED", "2026-09-18": "SUCCEEDED"}
        # each day's result targets that day's latest materialization: what the UI's Partitions
        # view needs to show it (without a target every day of a range run was "Missing")
        assert all(
            i.is_current
            for i in restarted.event_log_storage.get_asset_check_partition_info([gap])
            if i.partition_key
        )
    finally:
        restarted.dispose()
