"""A warehouse run killed with -9 heals by itself (issue 14, F1): under `dagster dev` (webserver,
daemon, the shipped dagster.yaml), the run worker dies while it holds the one-slot warehouse pool;
run monitoring marks it failed and frees the slot, and the next warehouse run succeeds with no
manual step. Before, it stayed STARTED and every later warehouse job waited for ever."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import dagster as dg
import pytest
import requests
from dagster_graphql import DagsterGraphQLClient

from tests.faults.conftest import PROJECT
from tests.ui.server import dagster_dev
from tests.waiting import process_gone, wait_for


def test_a_run_killed_with_9_frees_the_warehouse_for_the_next_run(pipeline, tmp_path):
    settings, *_ = pipeline
    marker = tmp_path / "crashed-once"
    env = {
        "FINOPS_AS_OF": "2026-10-31",
        "FINOPS_CUR_EXPORT_URL": settings.cur_export_url,
        "FINOPS_CRASH_AT": "warehouse:dbt:hang",
        "FINOPS_CRASH_ONCE": str(marker),
        "FINOPS_RUN_MONITOR_SECONDS": "3",
    }
    with dagster_dev(settings.data_dir, tmp_path / "home", env) as url:
        client = DagsterGraphQLClient("127.0.0.1", port_number=int(url.rsplit(":", 1)[1]))
        first = client.submit_job_execution("warehouse_views_job")
        text = wait_for(lambda: marker.exists() and marker.read_text(), 240, "the first run to hang")
        pid = int(text.split("pid ")[1].split()[0])
        os.kill(pid, signal.SIGKILL)  # the worker dies holding the warehouse slot

        second = client.submit_job_execution("warehouse_views_job")
        status = wait_for(
            lambda: (s := client.get_run_status(second).value) in ("SUCCESS", "FAILURE") and s,
            300,
            "the second run to finish",
        )
        assert status == "SUCCESS"
        assert client.get_run_status(first).value == "FAILURE"
        # dagster.yaml retries a run whose worker died once: that retry must finish too, here and
        # successfully, or it outlives this UI and holds the warehouse for the tests that follow
        retry = _launched_retry(url, first, tmp_path / "home")
        status = wait_for(
            lambda: (s := client.get_run_status(retry).value) in ("SUCCESS", "FAILURE") and s,
            300,
            "the retry to finish",
        )
        assert status == "SUCCESS"


def _launched_retry(url: str, run_id: str, home, timeout: float = 120) -> str:
    """The retry the daemon launches for ``run_id``. Dagster's retry daemon can lose one: it reads
    new run-failure events by id, and the instance stores the event before the run's FAILURE
    status and its will_retry tag (handle_new_event). A daemon tick in between finds a run neither
    failed nor tagged, decides not to retry it (auto_run_reexecution.should_retry) and moves its
    cursor past the event for good. Seen once in CI (2026-12-07); that case is reported as an
    expected failure, anything else that launches no retry fails."""
    try:
        return wait_for(
            lambda: _retry_of(url, run_id), timeout, f"the killed run {run_id}'s retry to be launched"
        )
    except AssertionError:
        if not _retry_lost_to_the_daemon_race(run_id, home):
            raise
    pytest.xfail(
        f"Dagster's retry daemon passed run {run_id}'s failure event before the run was marked "
        "failed and tagged will_retry: the upstream race, no retry"
    )


def _retry_lost_to_the_daemon_race(run_id: str, home) -> bool:
    """The daemon's failure cursor is at or past the run's failure event, and the run, tagged
    will_retry, has no retry: the race _launched_retry describes."""
    with dg.DagsterInstance.from_config(str(home)) as instance:
        run = instance.get_run_by_id(run_id)
        failures = instance.event_log_storage.get_logs_for_all_runs_by_log_id(
            after_cursor=-1, dagster_event_type=dg.DagsterEventType.RUN_FAILURE
        )
        failed_at = next((i for i, e in failures.items() if e.run_id == run_id), None)
        key = "EVENT_LOG_CONSUMER_CURSOR-PIPELINE_FAILURE"
        cursor = instance.daemon_cursor_storage.get_cursor_values({key}).get(key)
    return (
        run is not None
        and run.tags.get("dagster/will_retry") == "true"
        and "dagster/auto_retry_run_id" not in run.tags
        and failed_at is not None
        and cursor is not None
        and int(cursor) >= failed_at
    )


def _retry_of(url: str, run_id: str) -> str | None:
    """The run the daemon launched to retry ``run_id`` (tag dagster/parent_run_id), if any yet."""
    query = "query($f: RunsFilter) { runsOrError(filter: $f) { ... on Runs { results { runId } } } }"
    reply = requests.post(
        f"{url}/graphql",
        timeout=30,
        json={
            "query": query,
            "variables": {"f": {"tags": [{"key": "dagster/parent_run_id", "value": run_id}]}},
        },
    )
    results = reply.json()["data"]["runsOrError"]["results"]
    return results[0]["runId"] if results else None


def test_dbt_dies_with_the_process_that_started_it(tmp_path):
    """finops-dbt (what the dbt assets run) is killed by the kernel when its parent dies."""
    guard = os.path.join(os.path.dirname(sys.executable), "finops-dbt")
    pidfile = tmp_path / "child.pid"
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            (
                "import subprocess, sys, time\n"
                f"p = subprocess.Popen([{guard!r}, '300'])\n"
                f"open({str(pidfile)!r}, 'w').write(str(p.pid))\n"
                "time.sleep(300)\n"
            ),
        ],
        env={**os.environ, "FINOPS_DBT_EXECUTABLE": "/bin/sleep", "PYTHONPATH": str(PROJECT)},
    )
    child = int(wait_for(lambda: pidfile.exists() and pidfile.read_text(), 60, "the child to start"))
    time.sleep(1)
    assert "sleep" in open(f"/proc/{child}/cmdline").read()  # the guard became the program
    parent.kill()
    parent.wait()
    wait_for(lambda: process_gone(child), 10, "the child to die")
