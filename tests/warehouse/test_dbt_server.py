"""The warm dbt (warehouse/dbt_server.py, issue 17 item 5): a run's dbt invocations fork from a
dbt loaded while its first steps work. These tests hold it to what a cold dbt does: the same
output and exit codes, no worker outliving a killed or interrupted client, a cold dbt when no
server answers, and the server gone with the run."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import dagster as dg
import pytest

from finops_dagster.defs.warehouse.project import GUARDED_DBT, dbt_project, ensure_manifest
from finops_dagster.defs.warehouse.resources import FinopsDbtResource
from finops_dagster.warehouse.dbt_server import SERVER_ENV, WarmDbt
from finops_dagster.warehouse.lake_paths import parsed_for
from tests.waiting import process_gone, wait_for

PROJECT = str(dbt_project.project_dir)
SLOW_QUERY = "select sum(a.range * b.range) from range(300000) a, range(300000) b"


@pytest.fixture
def warm(tmp_path):
    environment = {
        "FINOPS_DATA_DIR": str(tmp_path),
        "FINOPS_RAW_LAKE_DIR": str(tmp_path / "raw"),
        "FINOPS_WAREHOUSE_PATH": str(tmp_path / "warehouse.duckdb"),
    }
    ensure_manifest()  # the warm-up reads the project's last partial parse
    server = WarmDbt.start(Path(PROJECT), environment)
    wait_for(lambda: Path(server.socket).exists(), 120, "the warm dbt", every=0.05)
    yield server, environment
    server.stop()


def _dbt(args: list[str], environment: dict, target: Path, socket: str | None) -> subprocess.Popen:
    env = {**os.environ, **environment}
    env.pop(SERVER_ENV, None)
    if socket:
        env[SERVER_ENV] = socket
    return subprocess.Popen(
        [
            str(GUARDED_DBT),
            *args,
            "--project-dir",
            PROJECT,
            "--profiles-dir",
            PROJECT,
            "--target-path",
            str(target),
        ],
        env=env,
        cwd=PROJECT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _workers(server: WarmDbt) -> list[int]:
    log = (server.folder / "server.log").read_text()
    return [int(line.split()[1].rstrip(":")) for line in log.splitlines() if line.startswith("worker ")]


def test_a_warm_dbt_answers_as_a_cold_one(warm, tmp_path):
    server, environment = warm
    # its warm-up's parse is kept as this lake's: a data folder's first build parses beside the
    # ingest, not in its first dbt step
    assert parsed_for(Path(PROJECT) / "target", environment).exists()
    listing = ["ls", "--select", "fct_daily_cost+", "--resource-type", "model", "--output", "name", "--quiet"]
    # fresh target folders: each parses the project in full, the static parser's Rust thread
    # pool included, which must start afresh in a fork (a worker once waited on it forever)
    cold = _dbt(listing, environment, tmp_path / "cold", None).communicate()[0]
    warm_out = _dbt(listing, environment, tmp_path / "warm", server.socket).communicate()[0]
    assert warm_out == cold and "fct_daily_cost" in cold.split()
    assert len(_workers(server)) == 1  # the second ran in a worker forked from the server

    bad = ["ls", "--no-such-flag"]
    cold_bad, warm_bad = (_dbt(bad, environment, tmp_path / "b", s) for s in (None, server.socket))
    cold_bad.communicate(), warm_bad.communicate()
    assert warm_bad.returncode == cold_bad.returncode == 2
    assert len(_workers(server)) == 2


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGINT])
def test_no_worker_outlives_a_killed_or_interrupted_client(warm, tmp_path, signum):
    """dagster-dbt interrupts dbt with SIGINT when a run is terminated; a run worker killed
    with -9 takes finops-dbt with it (PR_SET_PDEATHSIG): either way its worker must stop, or it
    would go on holding the warehouse's lock."""
    server, environment = warm
    client = _dbt(["show", "--inline", SLOW_QUERY], environment, tmp_path / "t", server.socket)
    worker = wait_for(lambda: _workers(server), 60, "the worker", every=0.05)[0]
    time.sleep(2)  # inside DuckDB's query by now
    assert not process_gone(worker)
    client.send_signal(signum)
    output = client.communicate(timeout=60)[0]
    wait_for(lambda: process_gone(worker), 10, "the worker to stop", every=0.05)
    if signum == signal.SIGKILL:
        assert client.returncode == -9
    else:
        assert client.returncode == 2 and "KeyboardInterrupt" in output  # dbt's own interrupt
    again = _dbt(
        ["ls", "--select", "fct_daily_cost", "--output", "name", "--quiet"],
        environment,
        tmp_path / "t",
        server.socket,
    )
    assert "fct_daily_cost" in again.communicate()[0]  # the server serves the next one


def test_a_client_that_comes_while_the_server_warms_waits_for_it(tmp_path):
    """In a one-day refresh the first dbt step starts before the server is warm: a cold dbt
    beside the warming server made the step 6.8 s instead of 3.5 s (the two competed for the
    cores). The client waits in the listener's queue and a worker serves it."""
    environment = {"FINOPS_WAREHOUSE_PATH": str(tmp_path / "w.duckdb")}
    ensure_manifest()
    server = WarmDbt.start(Path(PROJECT), environment)
    try:
        assert not Path(server.socket).exists()  # still warming
        client = _dbt(
            ["ls", "--select", "fct_daily_cost", "--output", "name", "--quiet"],
            environment,
            tmp_path / "t",
            server.socket,
        )
        assert "fct_daily_cost" in client.communicate(timeout=120)[0].split()
        assert client.returncode == 0 and len(_workers(server)) == 1
    finally:
        server.stop()


def test_without_a_warm_server_finops_dbt_runs_dbt_cold(tmp_path):
    gone = str(tmp_path / "no-server.sock")
    out = _dbt(["ls", "--select", "fct_daily_cost", "--output", "name", "--quiet"], {}, tmp_path / "t", gone)
    assert "fct_daily_cost" in out.communicate()[0].split() and out.returncode == 0


def test_a_run_forks_its_dbt_invocations_from_its_warm_dbt_and_stops_it(tmp_path):
    seen: dict = {}

    @dg.asset
    def two_invocations(dbt: FinopsDbtResource) -> None:
        server = dbt._warm
        wait_for(lambda: Path(server.socket).exists(), 120, "the warm dbt", every=0.05)
        for _ in range(2):
            invocation = dbt.cli(["ls", "--select", "fct_daily_cost"], manifest=ensure_manifest())
            list(invocation.stream_raw_events())
            assert invocation.is_successful()
        seen.update(server=server, workers=_workers(server))

    resource = FinopsDbtResource(
        project_dir=dbt_project,
        dbt_executable=str(GUARDED_DBT),
        environment={"FINOPS_WAREHOUSE_PATH": str(tmp_path / "w.duckdb")},
        warm_start=True,
    )
    assert dg.materialize([two_invocations], resources={"dbt": resource}).success
    assert len(seen["workers"]) == 2
    assert seen["server"].process.poll() is not None and not seen["server"].folder.exists()
    assert SERVER_ENV not in os.environ


def test_a_run_whose_socket_cannot_be_made_runs_dbt_cold(tmp_path, monkeypatch):
    """A Unix socket's path holds 107 bytes: under a longer TMPDIR the run goes on, cold."""
    import tempfile

    deep = tmp_path / ("d" * 100)
    deep.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(deep))

    @dg.asset
    def one_invocation(dbt: FinopsDbtResource) -> None:
        assert dbt._warm is None
        invocation = dbt.cli(["ls", "--select", "fct_daily_cost"], manifest=ensure_manifest())
        list(invocation.stream_raw_events())
        assert invocation.is_successful()

    resource = FinopsDbtResource(project_dir=dbt_project, dbt_executable=str(GUARDED_DBT), warm_start=True)
    result = dg.materialize([one_invocation], resources={"dbt": resource})
    assert result.success
    assert list(deep.iterdir()) == []  # nothing left behind


def test_the_server_of_a_run_killed_with_9_goes_and_takes_its_folder(tmp_path):
    """No teardown runs in a run worker killed with -9: its end of the pipe closes with it, and
    the server must leave nothing behind (each such run left a folder in /tmp before)."""
    server = WarmDbt.start(Path(PROJECT), {"FINOPS_WAREHOUSE_PATH": str(tmp_path / "w.duckdb")})
    wait_for(lambda: Path(server.socket).exists(), 120, "the warm dbt", every=0.05)
    os.close(server._parent_end)  # what the kernel does when the run process dies
    server.process.wait(timeout=30)
    assert not server.folder.exists()
