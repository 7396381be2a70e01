"""The same dbt project on two engines, compared table for table (issue 18).

Spark writes each table as Parquet under its warehouse folder (one folder per table, partition
folders for the day-partitioned ones); DuckDB reads those files next to its own tables, so the
comparison needs no second Spark session. Rows are matched after sorting on every column that
is neither money nor floating point; money must agree within half a cent and floating point
within 1e-6 relative (or, for values rounded to 2 places, the 0.01 a rounding may flip). Spark
keeps 6 decimals of a product or quotient of two DECIMAL(38, 10) (its decimal rules), DuckDB
more, so a line's ``quantity x rate`` can differ by $0.0000005 before anything is summed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from finops_dagster.settings import DBT_PROJECT_DIR
from finops_dagster.warehouse.engine import spark_warehouse
from tests.debian import apt_install

MONEY_TOLERANCE = Decimal("0.005")
SPARK_BUILD = pytest.StashKey[tuple]()  # (work, lake, SparkBuild) once the session started it


def ensure_java() -> str:
    """Debian's OpenJDK 17 (what pyspark 4 runs on), installed when missing, as Chromium is."""
    if not shutil.which("java"):
        apt_install("openjdk-17-jre-headless")
    return shutil.which("java") or "/usr/bin/java"


class SparkBuild:
    """``dbt build --target spark`` of the whole project over ``raw_lake`` (session method, Spark
    local mode), its warehouse, metastore and logs under ``work``, run in the background: the
    suite starts it as soon as the demo pipeline is built (tests/conftest.py), so the longest
    step of the suite overlaps the other pipeline tests instead of following them."""

    def __init__(self, raw_lake: Path, work: Path, *args: str) -> None:
        ensure_java()
        self.work, self.log = work, work / "build.out"
        env = {
            **os.environ,
            "FINOPS_RAW_LAKE_DIR": str(raw_lake),
            "FINOPS_SPARK_WAREHOUSE_DIR": str(spark_warehouse(work)),
        }
        dbt = str(Path(sys.executable).with_name("dbt"))
        args = (
            "build",
            "--target",
            "spark",
            "--exclude-resource-type",
            "unit_test",
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            str(work / "target"),
            "--log-path",
            str(work / "logs"),
            *args,
        )
        with self.log.open("w") as out:
            self.proc = subprocess.Popen(
                [dbt, *args], cwd=work, env=env, stdout=out, stderr=subprocess.STDOUT, text=True
            )

    def wait(self, timeout: float = 1800) -> subprocess.CompletedProcess:
        self.proc.wait(timeout=timeout)
        return subprocess.CompletedProcess(self.proc.args, self.proc.returncode, self.log.read_text(), "")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def start_spark_build(settings, tmp_path_factory) -> tuple[Path, Path, SparkBuild]:
    """A copy of the demo pipeline's raw lake and ledger in a new data folder (the lake moved:
    Spark's raw views follow FINOPS_RAW_LAKE_DIR), and the Spark build over it, started."""
    work = tmp_path_factory.mktemp("spark")
    lake = work / "raw"
    shutil.copytree(settings.raw_lake_dir, lake, ignore=shutil.ignore_patterns("_staging"))
    shutil.copy(settings.ledger_path, work / "ledger.sqlite")  # a data folder Dagster can run on
    return work, lake, SparkBuild(lake, work)


def compare_engines(duckdb_file: Path, spark_dir: Path, schema: str = "finops") -> dict[str, str]:
    """Every table of the DuckDB warehouse against Spark's table of the same name: {table:
    difference} (empty: equal row for row)."""
    import duckdb

    problems: dict[str, str] = {}
    con = duckdb.connect()
    con.execute(f"attach '{duckdb_file}' as w (read_only)")
    tables = [
        r[0]
        for r in con.execute(
            "select table_name from duckdb_tables() where database_name = 'w' order by 1"
        ).fetchall()
    ]
    for table in tables:
        folder = spark_dir / f"{schema}.db" / table
        cols = con.execute(
            "select column_name, data_type from duckdb_columns() where database_name = 'w' "
            "and table_name = ? order by column_index",
            [table],
        ).fetchall()
        ours = _rows(con, f"w.main.{table}", cols)
        if not folder.is_dir():
            problems[table] = "not built on Spark"
            continue
        files = [str(p) for p in folder.rglob("*.parquet")]
        theirs = (
            _rows(con, f"read_parquet({files!r}, hive_partitioning = true, union_by_name = true)", cols)
            if files
            else []
        )
        if len(ours) != len(theirs):
            problems[table] = f"{len(ours)} rows on DuckDB, {len(theirs)} on Spark"
            continue
        kinds = [_kind(t) for _, t in cols]
        for a, b in zip(ours, theirs, strict=True):
            bad = [c for (c, _), k, x, y in zip(cols, kinds, a, b, strict=True) if not _same(k, x, y)]
            if bad:
                problems[table] = (
                    f"first differing row: {dict(zip([c for c, _ in cols], a, strict=True))} "
                    f"vs {dict(zip([c for c, _ in cols], b, strict=True))} (columns {bad})"
                )
                break
    return problems


def _kind(data_type: str) -> str:
    if data_type.startswith("DECIMAL"):
        return "money"
    return "float" if data_type in ("DOUBLE", "FLOAT") else "exact"


def _rows(con, relation: str, cols: list[tuple[str, str]]) -> list[tuple]:
    """Rows sorted on the exact columns first: a money column a rounding apart cannot reorder them.
    Maps are compared as sorted entries (Spark and DuckDB keep different key orders)."""

    def expr(name: str, data_type: str) -> str:
        q = f'"{name}"'
        if data_type.startswith("MAP"):
            return f"cast(list_sort(map_entries({q})) as varchar)"
        if data_type.startswith("TIMESTAMP"):
            return f"cast({q} as timestamp)"
        return f"cast({q} as {data_type})"

    select = ", ".join(expr(n, t) for n, t in cols)
    exact = [str(i + 1) for i, (_, t) in enumerate(cols) if _kind(t) == "exact"]
    rest = [str(i + 1) for i, (_, t) in enumerate(cols) if _kind(t) != "exact"]
    order = ", ".join(exact + [f"round({i}, 2)" for i in rest]) or "1"
    return con.execute(f"select {select} from {relation} order by {order}").fetchall()


def _same(kind: str, x, y) -> bool:
    if x is None or y is None:
        return x is None and y is None
    if kind == "money":
        return abs(Decimal(x) - Decimal(y)) <= MONEY_TOLERANCE
    if kind == "float":
        if abs(x - y) <= 1e-6 * max(1.0, abs(x), abs(y)):
            return True
        # a value both engines rounded to 2 places may land a hundredth apart
        return round(x, 2) == x and round(y, 2) == y and abs(x - y) <= 0.0100001
    return x == y
