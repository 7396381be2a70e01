"""DuckDB's memory ceiling, threads and spill folder come from configuration and reach every
engine that aggregates the lake: dbt through profiles.yml, the Python readers through
LakeResource (issue 17 item 3: "DuckDB memory_limit, threads and a spill directory set in the
profile from configuration")."""

from __future__ import annotations

import os
import subprocess

import pytest

from finops_dagster.defs.warehouse.project import DBT_EXECUTABLE, dbt_project
from finops_dagster.resources import LakeResource
from finops_dagster.settings import Settings


def test_limits_are_read_once_and_refused_when_malformed(tmp_path):
    settings = Settings.from_env({"FINOPS_DATA_DIR": str(tmp_path), "FINOPS_DUCKDB_MEMORY_LIMIT": "512MB",
                                  "FINOPS_DUCKDB_THREADS": "1"})
    assert settings.duckdb_config() == {"memory_limit": "512MB", "threads": "1",
                                        "preserve_insertion_order": "false",
                                        "temp_directory": str(tmp_path / "cache" / "duckdb")}
    assert Settings.from_env({"FINOPS_DATA_DIR": str(tmp_path)}).duckdb_memory_limit == "1GB"
    with pytest.raises(ValueError, match="FINOPS_DUCKDB_MEMORY_LIMIT='lots'"):
        Settings.from_env({"FINOPS_DATA_DIR": str(tmp_path), "FINOPS_DUCKDB_MEMORY_LIMIT": "lots"})
    with pytest.raises(ValueError, match="FINOPS_DUCKDB_THREADS='0'"):
        Settings.from_env({"FINOPS_DATA_DIR": str(tmp_path), "FINOPS_DUCKDB_THREADS": "0"})


def test_dbt_and_the_python_readers_open_duckdb_with_the_configured_limits(tmp_path):
    settings = Settings.from_env({"FINOPS_DATA_DIR": str(tmp_path), "FINOPS_DUCKDB_MEMORY_LIMIT": "768MB",
                                  "FINOPS_DUCKDB_THREADS": "1"})
    saved = dict(os.environ)
    try:
        settings.export_to_environ()
        env = dict(os.environ)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    query = ("select current_setting('memory_limit') as m, current_setting('threads') as t, "
             "current_setting('temp_directory') as d")
    proc = subprocess.run(
        [DBT_EXECUTABLE, "show", "--inline", query, "--output", "json", "--log-format", "text",
         "--project-dir", str(dbt_project.project_dir), "--profiles-dir", str(dbt_project.profiles_dir),
         "--target-path", str(tmp_path / "target")], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert '"m": "732.4 MiB"' in proc.stdout  # DuckDB reports 768 MB in MiB
    assert '"t": 1' in proc.stdout and f'"d": "{tmp_path / "cache" / "duckdb"}"' in proc.stdout

    lake = LakeResource(data_dir=str(tmp_path), duckdb_memory_limit="768MB", duckdb_threads=1)
    import duckdb

    duckdb.connect(str(lake.warehouse_path)).close()  # dbt show left no file; make one to read
    with lake.warehouse_reader() as con:
        assert con.execute("select current_setting('memory_limit'), current_setting('threads')"
                           ).fetchone() == ("732.4 MiB", 1)
