"""Moving the data folder keeps working: the warehouse's views are found reading the old lake and
rebuilt on the new one before the next dbt build (issue 14: "after the data folder is moved, the
dbt views read the old folder's lake and only the conservation check notices")."""

from __future__ import annotations

import dataclasses
import shutil

import duckdb

from finops_dagster.defs.warehouse.project import DBT_EXECUTABLE, dbt_project
from finops_dagster.lake.ledger import Ledger
from finops_dagster.warehouse.lake_paths import rebuild_views, stale_lake_paths
from tests.conftest import days_between


def test_views_of_a_moved_data_folder_are_found_and_rebuilt(pipeline, tmp_path, monkeypatch):
    settings, *_ = pipeline
    moved = tmp_path / "moved"
    moved.mkdir()
    shutil.copytree(settings.raw_lake_dir, moved / "raw", ignore=shutil.ignore_patterns("_staging"))
    shutil.copy(settings.warehouse_path, moved / "warehouse.duckdb")
    assert stale_lake_paths(settings.warehouse_path, settings.raw_lake_dir) == []

    stale = stale_lake_paths(moved / "warehouse.duckdb", moved / "raw")
    assert stale and all(p.startswith(str(settings.raw_lake_dir)) for p in stale)

    # nothing in the environment says where the lake is: the moved folder's settings do
    for name in ("FINOPS_RAW_LAKE_DIR", "FINOPS_WAREHOUSE_PATH", "FINOPS_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    environment = dataclasses.replace(settings, data_dir=moved).dbt_environment()
    assert environment["FINOPS_RAW_LAKE_DIR"] == str(moved / "raw")
    rebuild_views(DBT_EXECUTABLE, dbt_project.project_dir, environment)
    assert stale_lake_paths(moved / "warehouse.duckdb", moved / "raw") == []
    with duckdb.connect(str(moved / "warehouse.duckdb"), read_only=True) as con:
        rows = con.execute("select count(*) from stg_cur__line_items").fetchone()[0]
    ledger = Ledger(settings.ledger_path)  # every line item the lake holds, read from the new place
    assert rows == sum(
        e.row_count for d in days_between("2026-08-01", "2026-10-31") if (e := ledger.day("cur", d))
    )
