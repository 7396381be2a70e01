"""Which engine dbt builds the warehouse on: DuckDB (the default) or Spark.

DuckDB's warehouse is one file with one writer, so every step that writes or reads it during a
build holds a slot of the ``warehouse`` pool (one slot, ``dagster.yaml``). Spark takes
concurrent jobs, and the Python readers (per-day checks, exports, insights) read its tables'
Parquet files through DuckDB views without locking anything (``spark_reader``), so on Spark no
step takes the pool. The pool is part of each asset's definition, so ``build_definitions`` fixes
the engine before the domain folders load, as it fixes the partitions' start.
"""

from __future__ import annotations

from pathlib import Path

from finops_dagster.partitions import forget_loaded_defs

DUCKDB, SPARK = "duckdb", "spark"
ENGINES = (DUCKDB, SPARK)
WAREHOUSE_POOL = "warehouse"
_current = {"engine": DUCKDB}


def configure(engine: str) -> None:
    """Set the engine the domain modules declare their pools for; modules loaded for another
    engine are dropped so the next load declares them afresh."""
    if engine not in ENGINES:
        raise ValueError(f"unknown warehouse engine {engine!r}: one of {', '.join(ENGINES)}")
    if engine != _current["engine"]:
        _current["engine"] = engine
        forget_loaded_defs()


def current() -> str:
    return _current["engine"]


def pool() -> str | None:
    """The pool a step touching the warehouse takes: the one-slot pool on DuckDB, none on Spark."""
    return WAREHOUSE_POOL if _current["engine"] == DUCKDB else None


def spark_warehouse(data_dir: Path) -> Path:
    """Where Spark keeps the warehouse's tables (and its Derby metastore beside them)."""
    return data_dir / "spark" / "warehouse"
