"""Two run workers that both read the warehouse pool's one slot as free: one gets it, the other
waits. With Dagster's own claim both were told CLAIMED and both ran dbt on the DuckDB file
(tests/defs/test_concurrency.py failed on DuckDB's lock about one start in five)."""

import threading

import dagster as dg
import pytest

from finops_dagster import instance_storage
from finops_dagster.instance import PG_URL_ENV, prepare_home

POOL = "warehouse"


@pytest.fixture(params=["sqlite", "postgres"])
def home(request, tmp_path, monkeypatch):
    environ = {"DAGSTER_HOME": str(tmp_path / "home")}
    if request.param == "postgres":
        url = request.getfixturevalue("pg_database")
        monkeypatch.setenv(PG_URL_ENV, url)
        environ[PG_URL_ENV] = url
    return str(prepare_home(tmp_path, environ)), request.param


def test_the_instance_uses_the_pool_safe_event_log(home):
    path, kind = home
    with dg.DagsterInstance.from_config(path) as instance:
        storage = instance.event_log_storage
        assert isinstance(storage, instance_storage.OneClaimPerSlot)
        assert (
            type(storage).__name__
            == f"PoolSafe{'Postgres' if kind == 'postgres' else 'Sqlite'}EventLogStorage"
        )
        assert type(instance.run_storage).__name__ == (
            "PostgresRunStorage" if kind == "postgres" else "SqliteRunStorage"
        )
        assert storage.supports_global_concurrency_limits


def test_a_slot_two_claims_read_as_free_goes_to_one_of_them(home, monkeypatch):
    path, _ = home
    first, second = dg.DagsterInstance.from_config(path), dg.DagsterInstance.from_config(path)
    try:
        first.event_log_storage.set_concurrency_slots(POOL, 1)
        # both claims select the free slot before either takes it: the interleaving that let two
        # overlapping backfills into the pool at once
        both_selected = threading.Barrier(2, timeout=30)
        take = instance_storage.take_free_slot

        def take_after_both_selected(conn, slot_id, run_id, step_key):
            both_selected.wait()
            return take(conn, slot_id, run_id, step_key)

        monkeypatch.setattr(instance_storage, "take_free_slot", take_after_both_selected)
        results: dict[str, str] = {}

        def claim(instance: dg.DagsterInstance, run_id: str) -> None:
            status = instance.event_log_storage._claim_concurrency_slot(POOL, run_id, "dbt_models")
            results[run_id] = status.value

        threads = [
            threading.Thread(target=claim, args=(i, r)) for i, r in ((first, "run-a"), (second, "run-b"))
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert sorted(results.values()) == ["BLOCKED", "CLAIMED"]
        winner = next(r for r, s in results.items() if s == "CLAIMED")
        slots = first.event_log_storage.get_concurrency_info(POOL)
        assert [(s.run_id, s.step_key) for s in slots.claimed_slots] == [(winner, "dbt_models")]

        # the slot freed, the other claim gets it
        monkeypatch.setattr(instance_storage, "take_free_slot", take)
        first.event_log_storage.free_concurrency_slot_for_step(winner, "dbt_models")
        loser = ({"run-a", "run-b"} - {winner}).pop()
        assert second.event_log_storage._claim_concurrency_slot(POOL, loser, "dbt_models").value == "CLAIMED"
    finally:
        first.dispose()
        second.dispose()
