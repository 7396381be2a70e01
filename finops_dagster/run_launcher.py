"""The default run launcher, plus the health check run monitoring needs to find dead runs.

Dagster's DefaultRunLauncher starts each run worker as a local process but cannot tell whether it
is still alive, so a run killed with -9 (or by the OOM killer) stayed STARTED forever and kept
its slot in the one-slot ``warehouse`` pool: every later warehouse job waited for ever. This
launcher answers the monitoring daemon's question from the worker's pid (the engine event
"Started process for run (pid: N)"): gone (or a zombie) means FAILED, the daemon marks the run
failed and frees its pool slots (``run_monitoring`` in dagster.yaml). Single machine only: the
pid is looked up on the daemon's host, where ``dagster dev`` / the daemon launch the workers.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from dagster._core.launcher import CheckRunHealthResult, WorkerStatus  # the launcher API's types


def worker_pid(instance: dg.DagsterInstance, run_id: str) -> int | None:
    """The pid of the run's worker process, from its engine events (the latest one wins)."""
    pid = None
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
        event = entry.dagster_event
        data = getattr(event, "event_specific_data", None) if event else None
        meta = getattr(data, "metadata", None) or {}
        if "pid" in meta:  # "Started process for run (pid: N)", "Executing steps in process (pid: N)"
            pid = int(meta["pid"].value)
    return pid


def alive(pid: int) -> bool:
    """A live, non-zombie process (a killed worker not yet reaped by its parent is a zombie)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


class MonitoredRunLauncher(dg.DefaultRunLauncher):
    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: dg.DagsterRun) -> CheckRunHealthResult:
        pid = worker_pid(self._instance, run.run_id)
        if pid is None:  # not started yet, or started elsewhere: never fail a run on a guess
            return CheckRunHealthResult(WorkerStatus.RUNNING, "no worker pid recorded")
        if alive(pid):
            return CheckRunHealthResult(WorkerStatus.RUNNING)
        return CheckRunHealthResult(
            WorkerStatus.FAILED,
            f"the run worker (pid {pid}) is gone: killed (kill -9, OOM) or crashed "
            "without reporting; the run is marked failed and its pool slots freed",
        )
