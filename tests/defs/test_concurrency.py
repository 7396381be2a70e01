"""Two overlapping backfills of the warehouse at once: the one-slot `warehouse` pool serializes
every step that touches the DuckDB file, so both finish, no lock error, no changed row."""

import threading

import dagster as dg

from finops_dagster.definitions import build_definitions
from finops_dagster.instance import prepare_home
from finops_dagster.operations import range_tags
from tests.conftest import mart_snapshot


def _step_windows(instance: dg.DagsterInstance, run_id: str) -> list[tuple[float, float]]:
    """(start, end) timestamps of each step of a run that holds the warehouse pool."""
    starts: dict[str, float] = {}
    windows = []
    for record in instance.all_logs(run_id):
        event = record.dagster_event
        if event is None or not event.step_key:
            continue
        if event.event_type_value == "STEP_START":
            starts[event.step_key] = record.timestamp
        elif event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE") and event.step_key in starts:
            windows.append((starts[event.step_key], record.timestamp))
    return windows


def test_overlapping_backfills_share_the_warehouse_without_conflict(pipeline, tmp_path):
    settings, *_ = pipeline
    before = mart_snapshot(settings)
    home = prepare_home(tmp_path, {"DAGSTER_HOME": str(tmp_path / "home")})
    defs = build_definitions(settings)
    job = defs.resolve_job_def("daily_cost_job")
    results: dict[str, dg.ExecuteInProcessResult] = {}
    instance = dg.DagsterInstance.from_config(str(home))
    try:
        def backfill(first: str, last: str) -> None:
            results[first] = job.execute_in_process(instance=instance, tags=range_tags(first, last),
                                                    raise_on_error=False)

        threads = [threading.Thread(target=backfill, args=r)
                   for r in (("2026-09-10", "2026-09-20"), ("2026-09-15", "2026-09-25"))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert all(r.success for r in results.values()), [
            str(e.event_specific_data) for r in results.values() for e in r.all_events
            if e.event_type_value == "STEP_FAILURE"]
        a, b = (_step_windows(instance, r.run_id) for r in results.values())
        assert a and b
        for s1, e1 in a:  # no step of one run overlaps a step of the other
            assert all(e1 <= s2 or e2 <= s1 for s2, e2 in b)
    finally:
        instance.dispose()
    assert mart_snapshot(settings) == before
