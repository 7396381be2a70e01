"""kill -9 of a dbt build in the middle of the incremental day models, then a re-run: each mart is
its state before or after, never a window half deleted (issue 14 item 10: "kill -9 at each point
of a dbt build")."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time

import duckdb

from finops_dagster.defs.warehouse.project import GUARDED_DBT, dbt_project

MARTS = {
    "fct_daily_cost": "billed_cost",
    "fct_daily_cost_tags": "billed_cost",
    "fct_cost_reconciliation": "cur_unblended_cost",
    "fct_cost_allocation": "billed_cost",
    "fct_other_currency_cost": "billed_cost",
    "fct_cost_trend": "billed_cost",
    "int_cur__usage_and_credits_daily": "effective_cost",
    "int_cost__resource_daily": "effective_cost",
}
WINDOW = json.dumps({"min_date": "2026-08-01", "max_date": "2026-11-01", "cost_explorer_available": True})


def _snapshot(warehouse) -> dict:
    """Rows and money of every incremental mart, per day: a window half deleted would show."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return {
            m: con.execute(
                f"select usage_date, count(*), cast(sum({money}) as varchar) from {m} group by 1 order by 1"
            ).fetchall()
            for m, money in MARTS.items()
        }


def _dbt(data, target) -> subprocess.Popen:
    env = {
        **os.environ,
        "FINOPS_DATA_DIR": str(data),
        "FINOPS_RAW_LAKE_DIR": str(data / "raw"),
        "FINOPS_WAREHOUSE_PATH": str(data / "warehouse.duckdb"),
    }
    return subprocess.Popen(
        [
            str(GUARDED_DBT),
            "run",
            "--select",
            "config.materialized:incremental",
            "--vars",
            WINDOW,
            "--project-dir",
            str(dbt_project.project_dir),
            "--profiles-dir",
            str(dbt_project.profiles_dir),
            "--target-path",
            str(target),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_a_dbt_build_killed_mid_way_leaves_each_mart_whole(pipeline, tmp_path):
    settings, *_ = pipeline
    data = tmp_path / "data"
    data.mkdir()
    shutil.copytree(settings.raw_lake_dir, data / "raw", ignore=shutil.ignore_patterns("_staging"))
    shutil.copy(settings.warehouse_path, data / "warehouse.duckdb")
    before = _snapshot(data / "warehouse.duckdb")

    proc = _dbt(data, tmp_path / "target")
    seen = []
    deadline = time.monotonic() + 300
    for line in proc.stdout:  # kill it while it rebuilds the marts' windows
        seen.append(line)
        if "START sql incremental model" in line and len([s for s in seen if "START sql incr" in s]) >= 2:
            time.sleep(0.3)
            proc.send_signal(signal.SIGKILL)
            break
        assert time.monotonic() < deadline, "".join(seen[-20:])
    proc.wait()
    assert proc.returncode == -9, "".join(seen[-20:])
    assert _snapshot(data / "warehouse.duckdb") == before  # every mart whole: same data, old or new

    again = _dbt(data, tmp_path / "target")
    out, _ = again.communicate(timeout=600)
    assert again.returncode == 0, out[-3000:]
    assert _snapshot(data / "warehouse.duckdb") == before
