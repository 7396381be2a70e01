"""Exports rewrite only the marts that changed (issue 17 item 2: "the exports rewrite only the
marts that changed"): an unchanged mart keeps its export file, so the API and BI extracts
reload nothing after a refresh that did not move it; a changed cent is a new export."""

from __future__ import annotations

from decimal import Decimal

import duckdb
import polars as pl

from finops_dagster.warehouse.exports import export_marts


def test_only_changed_marts_get_a_new_export(tmp_path):
    con = duckdb.connect()
    con.execute(
        "create table fct_a as select i, cast(i * 1.25 as decimal(38, 10)) as cost from range(1000) t(i)"
    )
    con.execute("create table fct_b as select i, 'x' || i as name from range(10) t(i)")
    exports = tmp_path / "exports"
    written: list[str] = []
    assert export_marts(con, ["fct_a", "fct_b"], exports, written) == {"fct_a": 1000, "fct_b": 10}
    assert written == ["fct_a", "fct_b"]
    inodes = {m: (exports / f"{m}.parquet").stat().st_ino for m in ("fct_a", "fct_b")}

    written.clear()  # a rebuild that changed nothing, rows in another order
    con.execute("create or replace table fct_a as select * from fct_a order by i desc")
    export_marts(con, ["fct_a", "fct_b"], exports, written)
    assert written == [] and {m: (exports / f"{m}.parquet").stat().st_ino for m in inodes} == inodes

    con.execute("update fct_a set cost = cost + 0.01 where i = 500")  # one cent moved
    export_marts(con, ["fct_a", "fct_b"], exports, written)
    assert written == ["fct_a"]
    assert (exports / "fct_b.parquet").stat().st_ino == inodes["fct_b"]
    assert pl.read_parquet(exports / "fct_a.parquet").filter(pl.col("i") == 500)["cost"][0] == Decimal(
        "625.0100000000"
    )

    (exports / "fct_b.parquet").unlink()  # an export removed by hand is written again
    written.clear()
    export_marts(con, ["fct_a", "fct_b"], exports, written)
    assert written == ["fct_b"]
