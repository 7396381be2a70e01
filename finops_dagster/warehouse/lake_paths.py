"""The warehouse's views read the raw lake by absolute path, fixed when dbt created them. After
the data folder moved they went on reading the old folder (or failed), and only the conservation
check noticed, without saying why. Before every dbt build the views' paths are compared with the
lake's current place, and views that point elsewhere are rebuilt first."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from finops_dagster.lake.object_store import dbt_process_environment

_READ = re.compile(r"read_parquet\(\s*\[?\s*'([^']+)'")


def stale_lake_paths(warehouse: Path, raw_dir: Path | str) -> list[str]:
    """Paths the warehouse's views read that are not under ``raw_dir`` (the lake's location: a
    folder or an s3:// URL; empty: all current)."""
    import duckdb

    if not warehouse.exists():
        return []
    with duckdb.connect(str(warehouse), read_only=True) as con:
        sqls = [r[0] for r in con.execute("select sql from duckdb_views() where not internal").fetchall()]
    here = str(raw_dir) if str(raw_dir).startswith("s3://") else str(Path(raw_dir).resolve())
    return sorted({p for sql in sqls for p in _READ.findall(sql or "") if not p.startswith(here)})


def rebuild_views(dbt_executable: str, project_dir: Path, environment: dict[str, str]) -> None:
    """dbt run of the views alone (staging / intermediate), with the current lake path
    (``environment``: the dbt resource's, Settings.dbt_environment)."""
    proc = subprocess.run(
        [
            dbt_executable,
            "run",
            "--quiet",
            "--select",
            "config.materialized:view",
            "--project-dir",
            str(project_dir),
            "--profiles-dir",
            str(project_dir),
            "--target-path",
            "target/views-refresh",
        ],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **dbt_process_environment(environment)},
    )
    if proc.returncode:
        raise RuntimeError(f"rebuilding the warehouse views failed:\n{(proc.stdout + proc.stderr)[-2000:]}")
