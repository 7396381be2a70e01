"""Two overlapping backfills of the warehouse at once: the one-slot `warehouse` pool serializes
every step that touches the DuckDB file, so both finish, no lock error, no changed row."""

import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg

from finops_dagster.instance import prepare_home
from finops_dagster.operations import range_tags
from finops_dagster.settings import PROJECT_ROOT
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
    """Two range runs in two processes (as the daemon launches them), started together."""
    settings, *_ = pipeline
    before = mart_snapshot(settings)
    home = prepare_home(tmp_path, {"DAGSTER_HOME": str(tmp_path / "home")})
    # the instance's storage exists before runs start (as under dagster dev / the daemon); two
    # processes creating a fresh SQLite storage at once would both stamp its schema version
    dg.DagsterInstance.from_config(str(home)).dispose()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "FINOPS_DATA_DIR": str(settings.data_dir),
        "FINOPS_AS_OF": "2026-10-31",
        "FINOPS_CUR_EXPORT_URL": settings.cur_export_url,
    }
    dagster = str(Path(sys.executable).with_name("dagster"))
    procs = [
        subprocess.Popen(
            [
                dagster,
                "job",
                "execute",
                "-m",
                "finops_dagster.definitions",
                "-j",
                "daily_cost_job",
                "--tags",
                json.dumps(range_tags(*r)),
            ],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for r in (("2026-09-10", "2026-09-20"), ("2026-09-15", "2026-09-25"))
    ]
    outputs = [p.communicate(timeout=600)[0].decode() for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs[0][-3000:] + outputs[1][-3000:]
    assert "lock" not in "".join(outputs).lower().replace("blocked by limit", "")
    instance = dg.DagsterInstance.from_config(str(home))
    try:
        runs = instance.get_run_records()
        assert len(runs) == 2 and all(r.dagster_run.is_success for r in runs)
        a, b = (_step_windows(instance, r.dagster_run.run_id) for r in runs)
        assert a and b
        for s1, e1 in a:  # no step of one run overlaps a step of the other
            assert all(e1 <= s2 or e2 <= s1 for s2, e2 in b)
    finally:
        instance.dispose()
    assert "Step blocked by limit for pool warehouse" in "".join(outputs)  # the pool did the queueing
    assert mart_snapshot(settings) == before
