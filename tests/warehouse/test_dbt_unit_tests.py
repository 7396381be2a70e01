"""The dbt unit tests (effective cost per line item type, Cost Explorer service names, the billing
period in fct_daily_cost's key, allocation shares, anomaly causes, rightsizing, commitments) run
here, on the demo's warehouse: production builds leave them out (finops_dagster/defs/warehouse/
assets.py, BUILD) since they test the SQL, not the day's data."""

import json
import os
import subprocess

from finops_dagster.defs.warehouse.project import DBT_EXECUTABLE, dbt_project, ensure_manifest


def test_every_dbt_unit_test_passes(pipeline, tmp_path):
    settings, *_ = pipeline
    env = {
        **os.environ,
        "FINOPS_WAREHOUSE_PATH": str(settings.warehouse_path),
        "FINOPS_RAW_LAKE_DIR": str(settings.raw_lake_dir),
    }
    proc = subprocess.run(
        [
            DBT_EXECUTABLE,
            "test",
            "--select",
            "test_type:unit",
            "--project-dir",
            str(dbt_project.project_dir),
            "--profiles-dir",
            str(dbt_project.profiles_dir),
            "--target-path",
            str(tmp_path),
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    results = [
        r
        for r in json.loads((tmp_path / "run_results.json").read_text())["results"]
        if r["unique_id"].startswith("unit_test.")
    ]  # not the on-run-start hook
    declared = json.loads(ensure_manifest().read_text())["unit_tests"]
    assert len(results) == len(declared) >= 7 and all(r["status"] == "pass" for r in results)
