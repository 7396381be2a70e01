"""Analysts' ways in: dbt's docs site builds with every mart documented, and every mart is
exported to Parquet with the warehouse's rows."""

import json
import os
import subprocess

import polars as pl

from finops_dagster.defs.warehouse.project import DBT_EXECUTABLE, dbt_project
from tests.conftest import mart_names


def test_dbt_docs_generate_documents_every_mart_column(pipeline, tmp_path):
    settings, *_ = pipeline
    env = {
        **os.environ,
        "FINOPS_WAREHOUSE_PATH": str(settings.warehouse_path),
        "FINOPS_RAW_LAKE_DIR": str(settings.raw_lake_dir),
    }
    subprocess.run(
        [
            DBT_EXECUTABLE,
            "docs",
            "generate",
            "--quiet",
            "--project-dir",
            str(dbt_project.project_dir),
            "--profiles-dir",
            str(dbt_project.profiles_dir),
            "--target-path",
            str(tmp_path),
        ],
        check=True,
        env=env,
    )
    catalog = json.loads((tmp_path / "catalog.json").read_text())
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    marts = {
        n["name"]: n
        for n in manifest["nodes"].values()
        if n["resource_type"] == "model"
        and n["fqn"][1] == "marts"
        and n["config"]["materialized"] != "ephemeral"
    }  # a mart's helper is not a mart
    assert set(marts) == mart_names() and len(marts) >= 20
    for name, node in marts.items():
        assert node["description"], name
        assert node["config"]["contract"]["enforced"], name
        built = catalog["nodes"][node["unique_id"]]["columns"]
        assert set(built) == set(node["columns"]), name  # every column documented, none stale
        assert all(c["description"] for c in node["columns"].values()), name


def test_every_mart_is_exported_to_parquet(pipeline, warehouse):
    settings, *_ = pipeline
    exported = sorted(p.stem for p in (settings.data_dir / "exports").glob("*.parquet"))
    insights = ["budget_status", "cost_forecast", "forecast_backtest", "insight_alerts"]  # Python assets
    assert set(exported) == mart_names() | set(insights) and "fct_cost_allocation" in exported
    assert set(insights) <= set(exported)
    for name in sorted(set(exported) - set(insights)):
        assert (
            pl.read_parquet(settings.data_dir / "exports" / f"{name}.parquet").height
            == warehouse(f"select count(*) from {name}")[0][0]
        ), name
    money = pl.read_parquet(settings.data_dir / "exports" / "fct_daily_cost.parquet").schema["billed_cost"]
    assert money == pl.Decimal(38, 10)


def test_the_warehouse_dbt_creates_is_in_duckdb_15_storage(pipeline, warehouse):
    """profiles.yml's storage_compatibility_version: tables write 20-30 % faster in DuckDB 1.5's
    format; the analysts' marts.duckdb stays in the default one, which older DuckDB opens."""
    import duckdb

    settings, *_ = pipeline
    assert warehouse("select tags['storage_version'] from duckdb_databases() where not internal") == [
        ("v1.5.0+",)
    ]
    with duckdb.connect(str(settings.data_dir / "exports" / "marts.duckdb"), read_only=True) as con:
        assert con.execute(
            "select tags['storage_version'] from duckdb_databases() where not internal"
        ).fetchall() == [("v1.0.0+",)]
