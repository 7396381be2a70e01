"""Analysts query the marts without holding the warehouse's lock: data/exports/marts.duckdb has a
view per export and is replaced under an open connection without disturbing it (issue 14: the
README's advice to open the warehouse read-only made the next dbt run fail on the file lock)."""

from decimal import Decimal

import duckdb
import polars as pl

from finops_dagster.warehouse.exports import publish_frame, write_analyst_database


def test_the_analyst_database_is_views_over_the_exports(tmp_path):
    exports = tmp_path / "exports"
    publish_frame(
        exports, "fct_waste", pl.DataFrame({"resource_id": ["i-1"], "monthly_savings": [Decimal("1.50")]})
    )
    path = write_analyst_database(exports)
    analyst = duckdb.connect(str(path))  # a read-write connection: it locks only this file
    assert analyst.execute("select monthly_savings from fct_waste").fetchall() == [(Decimal("1.50"),)]

    publish_frame(
        exports,
        "fct_waste",
        pl.DataFrame({"resource_id": ["i-1", "i-2"], "monthly_savings": [Decimal("1.50")] * 2}),
    )
    publish_frame(exports, "budget_status", pl.DataFrame({"scope_value": ["dev"]}))
    write_analyst_database(exports)  # the next export, while the analyst is connected
    assert analyst.execute("select count(*) from fct_waste").fetchone()[0] == 2  # the name: current
    analyst.close()
    with duckdb.connect(str(path), read_only=True) as again:
        assert {
            r[0] for r in again.execute("select view_name from duckdb_views() where not internal").fetchall()
        } == {"fct_waste", "budget_status"}
