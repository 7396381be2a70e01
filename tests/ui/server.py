"""`dagster dev` (webserver + daemon) on a free localhost port, for tests that use the UI."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from finops_dagster.demo.aws import free_port, wait_for_http
from finops_dagster.instance import prepare_home
from finops_dagster.settings import PROJECT_ROOT
from tests.debian import apt_install

CHROMIUM = "/usr/bin/chromium"


def ensure_chromium() -> str:
    """Debian's chromium (Playwright never downloads a browser here); installed when missing."""
    if not Path(CHROMIUM).exists():
        apt_install("chromium", "chromium-driver")
    return CHROMIUM


@contextmanager
def dagster_dev(
    data_dir: Path, home: Path, environ: dict[str, str], timeout: float = 240, daemon: bool = True
) -> Iterator[str]:
    """Start the UI and daemon for ``data_dir`` with the instance at ``home``; yields its URL.
    Without ``daemon`` only the webserver runs: a UI to look at, with no sensor or schedule
    launching runs meanwhile."""
    home = prepare_home(data_dir, {**environ, "DAGSTER_HOME": str(home)})
    port = free_port()
    env = {**os.environ, **environ, "DAGSTER_HOME": str(home), "FINOPS_DATA_DIR": str(data_dir)}
    dagster = str(Path(sys.executable).with_name("dagster"))
    log = open(home / "dagster_dev.log", "wb")  # noqa: SIM115 - closed below
    argv = [dagster, "dev", "-w", str(PROJECT_ROOT / "workspace.yaml"), "-h", "127.0.0.1", "-p", str(port)]
    if not daemon:
        argv = [
            str(Path(sys.executable).with_name("dagster-webserver")),
            "-w",
            str(PROJECT_ROOT / "workspace.yaml"),
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ]
    proc = subprocess.Popen(
        argv,
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=lambda: (
            signal.signal(signal.SIGINT, signal.SIG_DFL),
            signal.signal(signal.SIGTERM, signal.SIG_DFL),
        ),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(
            f"{url}/server_info", proc, timeout, f"dagster dev did not start: see {home / 'dagster_dev.log'}"
        )
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        try:  # run workers (and their dbt) outlive dagster dev: none may hold the warehouse after
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        log.close()
        shutil.rmtree(home / "storage" / "tmp", ignore_errors=True)
