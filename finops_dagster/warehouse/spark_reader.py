"""The warehouse Spark built, read through DuckDB: what the per-day checks, exports and insights
query when the engine is Spark (``FINOPS_WAREHOUSE_ENGINE=spark``).

Every table is a view over its Parquet files (partition folders such as ``usage_date=...``
become columns again), so the readers run the same SQL on both engines and never lock Spark's
tables. A table Spark left without rows has no file to take its columns from: its view gets the
columns of the mart's dbt contract, and no rows.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any


def contract_columns(manifest: Path) -> dict[str, list[tuple[str, str]]]:
    """Each contracted model's columns and types, from dbt's manifest (parsed once per manifest
    version: a reader is opened for every check of a run, the manifest is over 1 MB)."""
    return _contract_columns(manifest, manifest.stat().st_mtime_ns)


@functools.lru_cache(maxsize=2)
def _contract_columns(manifest: Path, _version: int) -> dict[str, list[tuple[str, str]]]:
    nodes = json.loads(manifest.read_text())["nodes"].values()
    return {
        n["name"]: [(c["name"], c["data_type"]) for c in n["columns"].values() if c.get("data_type")]
        for n in nodes
        if n["resource_type"] == "model" and n["config"].get("contract", {}).get("enforced")
    }


def spark_reader(
    warehouse: Path,
    schema: str = "finops",
    manifest: Path | None = None,
    config: dict[str, str] | None = None,
) -> Any:
    """An in-memory DuckDB connection with one view per table of Spark's ``schema``."""
    import duckdb

    folder = warehouse / f"{schema}.db"
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: Spark has not built the warehouse yet (run the dbt build)")
    contracts = contract_columns(manifest) if manifest else {}
    con = duckdb.connect(config=config or {})
    for table in sorted(p for p in folder.iterdir() if p.is_dir()):
        files = sorted(str(p) for p in table.rglob("*.parquet"))
        if files:
            source = f"read_parquet({files!r}, hive_partitioning = true, union_by_name = true)"
        elif table.name in contracts:
            cols = ", ".join(f'cast(null as {t}) as "{c}"' for c, t in contracts[table.name])
            source = f"(select {cols}) limit 0"
        else:
            continue
        con.execute(f'create view "{table.name}" as select * from {source}')
    return con
