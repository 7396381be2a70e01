"""``finops-dbt``: dbt, bound to the life of the process that started it.

dagster-dbt runs dbt as a child process. When the run worker was killed (kill -9, OOM), the
orphaned dbt went on writing the warehouse, holding DuckDB's lock, while the next run started.
This wrapper asks the kernel to kill it when its parent dies (Linux ``PR_SET_PDEATHSIG``, kept
across ``exec``), then becomes dbt. ``FINOPS_DBT_EXECUTABLE`` names another dbt to run.

``finops-dbt --version`` answers from the installed package metadata instead: dagster-dbt runs
``dbt --version`` before every invocation, and dbt's own answer costs 2.4 s here (dbt imports and
a look-up of the latest release on PyPI, which an offline machine waits on).

When the run started a warm dbt (``FINOPS_DBT_SERVER``, warehouse/dbt_server.py), the build is
forked from it instead of starting dbt cold.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from pathlib import Path

PR_SET_PDEATHSIG = 1


def die_with_parent() -> bool:
    """Deliver SIGKILL to this process when its parent dies; False where the kernel lacks it."""
    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            return False
    except (OSError, AttributeError):
        return False
    if os.getppid() != parent:  # the parent died before the request took effect
        os.kill(os.getpid(), signal.SIGKILL)
    return True


def installed_version() -> str:
    """What ``dbt --version`` reports first (dagster-dbt reads the first x.y.z of it)."""
    from importlib.metadata import version

    return f"Core:\n  - installed: {version('dbt-core')}\n\nPlugins:\n  - duckdb: {version('dbt-duckdb')}"


def main() -> None:
    other = os.environ.get("FINOPS_DBT_EXECUTABLE")
    if not other and sys.argv[1:] == ["--version"]:
        print(installed_version())
        return
    target = other or str(Path(sys.executable).with_name("dbt"))
    die_with_parent()
    if not other:
        from finops_dagster.warehouse.dbt_server import run_warm

        code = run_warm(sys.argv[1:])  # forked from the run's warm dbt, when it has one
        if code is not None:
            sys.exit(code)
    os.execv(target, [target, *sys.argv[1:]])


if __name__ == "__main__":
    main()
