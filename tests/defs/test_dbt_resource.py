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
    invocation = dbt.cli(
        ["ls", "--select", "fct_daily_cost", "--resource-type", "model"],
        manifest=ensure_manifest(),
        raise_on_error=True,
    )
    lines = list(invocation.stream_raw_events())
    assert invocation.is_successful() and invocation.adapter is None
    assert any("fct_daily_cost" in str(e.raw_event) for e in lines)


def test_dbt_gets_the_lake_from_the_resource_not_the_environment(tmp_path, monkeypatch):
    """Issue 18: the code location writes nothing into its environment; each dbt process gets
    the settings' lake and warehouse from the resource, so dbt reads the data folder the code
    location was built for, wherever it moved."""
    import os

    from finops_dagster.definitions import build_definitions
    from finops_dagster.settings import Settings

    monkeypatch.delenv("FINOPS_RAW_LAKE_DIR", raising=False)
    before = dict(os.environ)
    settings = Settings(data_dir=tmp_path / "elsewhere", cur_export_url=str(tmp_path / "export"))
    defs = build_definitions(settings)
    assert dict(os.environ) == before
    dbt = defs.resources["dbt"]
    assert dbt.environment["FINOPS_RAW_LAKE_DIR"] == str(tmp_path / "elsewhere" / "raw")
    invocation = dbt.cli(
        ["ls", "--select", "source:raw_cur.line_items", "--output", "json", "--output-keys", "name"],
        manifest=ensure_manifest(),
        raise_on_error=True,
    )
    list(invocation.stream_raw_events())
    assert invocation.process.args and invocation.is_successful()
    assert "FINOPS_RAW_LAKE_DIR" not in os.environ  # restored after the process started
