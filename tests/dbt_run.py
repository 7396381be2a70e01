"""Build one dbt model on a warehouse file that holds only its inputs: how the insight and
efficiency tests run the real SQL on planted data of their own, independent of the demo."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from finops_dagster.defs.warehouse.project import DBT_EXECUTABLE, dbt_project


def build_model(root: Path, model: str, environ: dict[str, str] | None = None) -> None:
    """``dbt run --select model`` against ``root/warehouse.duckdb``; fails with dbt's output."""
    env = {**os.environ, "FINOPS_WAREHOUSE_PATH": str(root / "warehouse.duckdb"),
           "FINOPS_DATA_DIR": str(root), "FINOPS_RAW_LAKE_DIR": str(root / "raw"), **(environ or {})}
    proc = subprocess.run(
        [DBT_EXECUTABLE, "run", "--select", model, "--project-dir", str(dbt_project.project_dir),
         "--profiles-dir", str(dbt_project.profiles_dir), "--target-path", str(root / "target")],
        env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:]
