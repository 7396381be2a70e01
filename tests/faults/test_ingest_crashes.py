"""kill -9 at every step of a restated delivery's ingest: afterwards lake, ledger and restatement
record are the state before or the state after, never a mix, and the next run completes it
(issue 14, F5: the day files were swapped, the ledger kept the old sums and the restatement record
was rewritten with 0 rows)."""

from __future__ import annotations

import shutil

import pytest

from finops_dagster.demo.generator import restate
from finops_dagster.lake import journal
from finops_dagster.lake.cur_ingest import ingest_cur_days
from finops_dagster.lake.ledger import Ledger
from finops_dagster.lake.raw_lake import RawLake
from finops_dagster.sources.cur import CurExport
from tests.conftest import days_between
from tests.faults.conftest import lake_state, run_child, staging_left

AUGUST = days_between("2026-08-01", "2026-08-31")
INGEST = """
import datetime as dt, sys
from pathlib import Path
from finops_dagster.lake.cur_ingest import ingest_cur_days
from finops_dagster.lake.ledger import Ledger
from finops_dagster.lake.raw_lake import RawLake
from finops_dagster.sources.cur import CurExport
data, export = Path(sys.argv[1]), sys.argv[2]
days = [dt.date(2026, 8, 1) + dt.timedelta(days=i) for i in range(31)]
ingest_cur_days(CurExport(export, data / "cache"), RawLake(data / "raw"), Ledger(data / "ledger.sqlite"),
                days, progress=lambda m: None)
"""


def _ingest(data, export) -> None:
    ingest_cur_days(
        CurExport(str(export), data / "cache"),
        RawLake(data / "raw"),
        Ledger(data / "ledger.sqlite"),
        AUGUST,
        progress=lambda m: None,
    )


@pytest.fixture
def states(restatable, tmp_path):
    """August ingested from the first delivery; the export then re-delivers it (2 cells change).
    Returns the data folder ready for the crashing run, and the states before and after."""
    data = tmp_path / "data"
    _ingest(data, restatable.export_root)
    before = lake_state(data)
    restate(restatable)
    clean = tmp_path / "clean"
    shutil.copytree(data, clean)
    _ingest(clean, restatable.export_root)
    after = lake_state(clean)
    after = {**after, "ledger": [r[:-1] + (r[-1].replace(str(clean), str(data)),) for r in after["ledger"]]}
    assert after != before and len(after["restatements"]) == 1
    return data, restatable.export_root, before, after


@pytest.mark.parametrize(
    "point, committed",
    [
        ("cur:staged", False),  # day files staged, nothing decided
        ("commit:before_journal", False),  # diff done, restatement staged
        ("commit:after_journal", True),  # the commit point passed, nothing applied
        ("commit:mid_swap", True),  # one day file swapped, 30 not (the F5 split)
        ("commit:before_ledger", True),  # every file swapped, ledger still old
        ("commit:before_cleanup", True),  # all applied, staging left behind
    ],
)
def test_kill_9_during_a_restated_ingest_leaves_before_or_after(states, point, committed):
    data, export, before, after = states
    proc = run_child(
        INGEST.replace("sys.argv[1]", repr(str(data))).replace("sys.argv[2]", repr(str(export))), point
    )
    assert proc.returncode == -9, proc.stderr[-2000:]
    assert staging_left(data)  # the dead process left its staging folder

    done = journal.recover(data / "raw", Ledger(data / "ledger.sqlite"))  # what the next start does
    assert len(done) == 1 and ("rolled forward" if committed else "dropped") in done[0]
    assert lake_state(data) == (after if committed else before)
    assert staging_left(data) == []

    _ingest(data, export)  # the next run: the restatement record keeps its 2 changed cells
    state = lake_state(data)
    assert state == after
    assert [len(rows) for rows in state["restatements"].values()] == [2]


def test_a_live_ingest_staging_folder_is_never_recovered(states):
    """Recovery skips a staging folder whose owner is alive (its lock is held)."""
    data, _, before, _ = states
    staged = RawLake(data / "raw").stage_days("cur", [], AUGUST[:1])
    try:
        assert journal.recover(data / "raw", Ledger(data / "ledger.sqlite")) == []
        assert staged.staging.exists()
    finally:
        staged.discard()
    assert lake_state(data) == before and staging_left(data) == []


def test_two_ingests_of_the_same_days_at_once_leave_the_state_after(states):
    """Two syncs racing on one lake (a sensor run and a manual backfill): commits take turns,
    each is whole, the result is the clean run's."""
    import subprocess
    import sys

    from tests.faults.conftest import PROJECT

    data, export, _, after = states
    code = INGEST.replace("sys.argv[1]", repr(str(data))).replace("sys.argv[2]", repr(str(export)))
    env = {**__import__("os").environ, "PYTHONPATH": str(PROJECT)}
    procs = [
        subprocess.Popen([sys.executable, "-c", code], env=env, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-2000:]
    assert lake_state(data) == after and staging_left(data) == []
