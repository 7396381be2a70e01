"""Line items are scanned once per day built (issue 17, item 1): in the dbt graph only the day
aggregates (int_cur__line_items_daily, incremental by day) read the costed line items; every
other model reads aggregates. A model that reads the line-item views again (as five daily
models and the reporting-currency lookup did, the lookup over the whole history) fails here."""

from __future__ import annotations

import json

from finops_dagster.defs.warehouse.project import ensure_manifest

LINE_ITEM_VIEWS = {"model.finops.stg_cur__line_items", "model.finops.int_cur__line_items_costed"}


def test_only_the_day_aggregates_read_the_line_items():
    nodes = json.loads(ensure_manifest().read_text())["nodes"]
    readers = {
        name: node
        for name, node in nodes.items()
        if node["resource_type"] == "model" and LINE_ITEM_VIEWS & set(node["depends_on"]["nodes"])
    }
    assert set(readers) == {
        "model.finops.int_cur__line_items_costed",
        "model.finops.int_cur__line_items_daily",
    }
    daily = readers["model.finops.int_cur__line_items_daily"]
    assert daily["config"]["materialized"] == "incremental"
    assert "partition_window" in daily["raw_code"]  # scans its window only


def test_intermediate_models_read_no_mart():
    """dbt's layering (staging -> intermediate -> marts; issue 18's house cleaning):
    int_cost__resource_daily read fct_daily_cost (it reads the day aggregates now), and the
    efficiency window, built on two efficiency marts, moved to marts/efficiency/."""
    nodes = json.loads(ensure_manifest().read_text())["nodes"]
    marts = {n for n, node in nodes.items() if node["resource_type"] == "model" and node["fqn"][1] == "marts"}
    reading = {
        node["name"]: sorted(nodes[m]["name"] for m in set(node["depends_on"]["nodes"]) & marts)
        for node in nodes.values()
        if node["resource_type"] == "model" and node["fqn"][1] in ("staging", "intermediate")
    }
    assert {k: v for k, v in reading.items() if v} == {}
