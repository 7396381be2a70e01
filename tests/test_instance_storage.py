"""The instance's event log storage (finops_dagster/instance_storage.py). Two run workers that both
read the warehouse pool's one slot as free: one gets it, the other waits (with Dagster's own claim
both were told CLAIMED and both ran dbt on the DuckDB file: tests/defs/test_concurrency.py failed
on DuckDB's lock about one start in five). SQLite's connections are kept, not opened per event."""

import contextlib
import os
import threading
import time
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.events.log import EventLogEntry

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


def _log(run_id: str, message: str) -> EventLogEntry:
    return EventLogEntry(
        error_info=None,
        level="INFO",
        user_message=message,
        run_id=run_id,
        timestamp=time.time(),
        step_key=None,
        job_name=None,
        dagster_event=None,
    )


def _open_db_files(folder: Path) -> set[str]:
    """The SQLite files this process holds open in ``folder`` (not their -wal / -shm)."""
    paths = set()
    for fd in Path("/proc/self/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith(str(folder)) and target.removesuffix(" (deleted)").endswith(".db"):
                paths.add(target)
    return paths


def test_sqlite_keeps_a_few_connections_open_and_each_event_is_kept(tmp_path):
    """Each shard's connection stays open (a run's events no longer open two files each), for a
    handful of files at most, after a fork too and after a wipe."""
    home = prepare_home(tmp_path, {"DAGSTER_HOME": str(tmp_path / "home")})
    folder = (home / "history" / "runs").resolve()
    with dg.DagsterInstance.from_config(str(home)) as instance:
        storage = instance.event_log_storage
        runs = [f"run{i}" for i in range(10)]
        for run_id in runs:
            for n in range(3):
                storage.store_event(_log(run_id, f"{run_id} event {n}"))
        assert all(len(storage.get_logs_for_run(r)) == 3 for r in runs)
        kept = _open_db_files(folder)
        assert str(folder / "run9.db") in kept and len(kept) <= storage.KEEP_OPEN

        pid = os.fork()  # a forked child writes through its own connections, not its parent's
        if pid == 0:
            code = 1
            try:
                storage.store_event(_log("run9", "from the child"))
                code = 0
            finally:
                os._exit(code)
        assert os.waitpid(pid, 0)[1] == 0
        storage.store_event(_log("run9", "from the parent"))
        messages = [e.user_message for e in storage.get_logs_for_run("run9")]
        assert messages[-2:] == ["from the child", "from the parent"]

        storage.wipe()  # deletes the run files: nothing stays open on a deleted file
        assert _open_db_files(folder) <= {str(folder / "index.db")}
        storage.store_event(_log("run0", "after the wipe"))
        assert [e.user_message for e in storage.get_logs_for_run("run0")] == ["after the wipe"]
