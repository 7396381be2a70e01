"""A refresh builds no views, so the views its models read are checked first: missing ones and
ones built from other SQL than the project's now (a deploy changed them) are rebuilt."""

import json

import duckdb

from finops_dagster.warehouse.lake_paths import (
    changed_views,
    record_built_views,
    record_path,
    source_views,
    upstream_views,
)


def _manifest(checksum: str = "v1") -> dict:
    def node(name: str, materialized: str, checksum: str = "x") -> dict:
        return {"name": name, "config": {"materialized": materialized}, "checksum": {"checksum": checksum}}

    return {
        "metadata": {"project_name": "finops"},
        "nodes": {
            "model.finops.stg": node("stg", "view", checksum),
            "model.finops.costed": node("costed", "view"),
            "model.finops.daily": node("daily", "incremental"),
            "model.finops.mart": node("mart", "table"),
            "model.finops.window": node("window", "ephemeral"),
            "model.finops.report": node("report", "table"),
            "seed.finops.prices": node("prices", "seed"),
            "model.finops.budgets": node("budgets", "view"),  # read by a Python asset alone
            "model.finops.usage": node("usage", "view"),  # over the day table
            "operation.finops.hook": node("hook", "view"),
        },
        "parent_map": {
            "model.finops.stg": ["source.finops.raw.items"],
            "model.finops.costed": ["model.finops.stg"],
            "model.finops.daily": ["model.finops.costed"],
            "model.finops.mart": ["model.finops.daily", "model.finops.stg", "seed.finops.prices"],
            "model.finops.window": ["model.finops.costed", "model.finops.mart"],
            "model.finops.report": ["model.finops.window"],
            "model.finops.budgets": ["source.finops.raw.budgets"],
            "model.finops.usage": ["model.finops.daily"],
        },
    }


def test_the_views_a_build_needs_are_those_upstream_through_views():
    m = _manifest()
    assert upstream_views(m, {"daily"}) == {"stg", "costed"}
    assert upstream_views(m, {"mart"}) == {"stg", "prices"}  # not through the day table; its seed
    assert upstream_views(m, {"report"}) == {"costed", "stg"}  # through an ephemeral model
    assert upstream_views(m, {"daily", "costed", "stg"}) == set()  # built by the step itself


def test_every_step_can_put_in_place_the_views_and_seeds_over_sources_alone():
    """A job that builds no view still gets the views only Python assets read (budgets) on a
    new warehouse; a view over a day table (usage) waits for the step that follows that table."""
    assert source_views(_manifest(), {"stg"}) == {"costed", "prices", "budgets"}


def test_a_missing_seed_is_found_and_a_built_one_recorded(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    m = _manifest()
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create view stg as select 1 as x")
    assert changed_views(warehouse, m, {"prices"}) == ["prices"]
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create table prices as select 1.5 as usd")  # a seed is a table
    results = tmp_path / "run_results.json"
    results.write_text(json.dumps({"results": [{"unique_id": "seed.finops.prices", "status": "success"}]}))
    assert record_built_views(warehouse, m, results) == ["seed.finops.prices"]
    assert changed_views(warehouse, m, {"prices"}) == []


def test_missing_or_changed_views_are_found_and_recorded_ones_are_not(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    m = _manifest()
    assert changed_views(warehouse, m, {"stg", "costed"}) == ["costed", "stg"]  # no warehouse yet
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create view stg as select 1 as x")
        con.execute("create view costed as select * from stg")
    assert changed_views(warehouse, m, {"stg", "costed"}) == ["costed", "stg"]  # never recorded
    results = tmp_path / "run_results.json"
    results.write_text(
        json.dumps(
            {
                "results": [
                    {"unique_id": "model.finops.stg", "status": "success"},
                    {"unique_id": "model.finops.costed", "status": "success"},
                    {"unique_id": "model.finops.daily", "status": "success"},  # not a view
                ]
            }
        )
    )
    assert record_built_views(warehouse, m, results) == ["model.finops.stg", "model.finops.costed"]
    assert json.loads(record_path(warehouse).read_text()) == {"costed": "x", "stg": "v1"}
    assert changed_views(warehouse, m, {"stg", "costed"}) == []
    assert changed_views(warehouse, _manifest(checksum="v2"), {"stg", "costed"}) == ["stg"]  # new SQL
    with duckdb.connect(str(warehouse)) as con:
        con.execute("drop view costed")
    assert changed_views(warehouse, m, {"stg", "costed"}) == ["costed"]  # dropped
