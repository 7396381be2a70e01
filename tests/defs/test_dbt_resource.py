"""What each dbt invocation costs before dbt starts (issue 17, item 5): dagster-dbt ran
``dbt --version`` (2.4 s: dbt's imports and a PyPI look-up) and opened a dbt Core adapter in the
run process (1.5 s) before every invocation, four times in a build and twice in a one-day refresh.
``finops-dbt --version`` answers from package metadata and the resource skips the adapter."""

from __future__ import annotations

import re
import subprocess
from importlib.metadata import version

from dagster_dbt import DbtCliResource

from finops_dagster.defs.warehouse.project import DBT_EXECUTABLE, GUARDED_DBT, dbt_project, ensure_manifest
from finops_dagster.defs.warehouse.resources import FinopsDbtResource


def test_finops_dbt_reports_the_version_dbt_itself_reports():
    ours = subprocess.run([str(GUARDED_DBT), "--version"], capture_output=True, text=True, check=True).stdout
    theirs = subprocess.run([DBT_EXECUTABLE, "--version"], capture_output=True, text=True, check=True).stdout
    first = re.compile(r"(\d+\.\d+\.\d+)")  # what dagster-dbt reads (DbtCliResource._cli_version)
    assert first.search(ours).group(1) == first.search(theirs).group(1) == version("dbt-core")


def test_invocations_run_without_the_in_process_adapter():
    # the hook overridden: if dagster-dbt renames it, the 1.5 s come back silently
    assert "_initialize_dbt_core_adapter" in vars(DbtCliResource)
    dbt = FinopsDbtResource(project_dir=dbt_project, dbt_executable=str(GUARDED_DBT))
    invocation = dbt.cli(["ls", "--select", "fct_daily_cost", "--resource-type", "model"],
                         manifest=ensure_manifest(), raise_on_error=True)
    lines = list(invocation.stream_raw_events())
    assert invocation.is_successful() and invocation.adapter is None
    assert any("fct_daily_cost" in str(e.raw_event) for e in lines)
