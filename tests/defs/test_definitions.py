"""The code location loads, and its asset graph is what we expect (nothing rots silently)."""

import dagster as dg

from finops_dagster.definitions import build_definitions, defs
from finops_dagster.settings import Settings

ASSET_KEYS = [
    "cur_sync_status",
    "fct_cur_restatements",
    "fct_daily_cost",
    "int_cur__line_items_costed",
    "raw_budgets",
    "raw_business_requests",
    "raw_cloudwatch_metrics",
    "raw_cost_categories",
    "raw_cost_explorer_daily",
    "raw_cost_explorer_forecast",
    "raw_cur_line_items",
    "raw_cur_restatements",
    "raw_customers",
    "raw_shared_resource_rules",
    "stg_cur__line_items",
]

PARTITIONED_CHECKS = [
    "fct_daily_cost:fct_daily_cost_amortization_invariant",
    "fct_daily_cost:fct_daily_cost_conservation",
    "raw_business_requests:business_requests_day_present",
    "raw_cost_explorer_daily:cost_explorer_day_complete",
    "raw_cur_line_items:cur_column_expectations",
    "raw_cur_line_items:cur_day_gap",
    "raw_cur_line_items:cur_raw_conservation",
    "raw_cur_line_items:cur_schema_drift",
    "raw_cur_line_items:cur_unique_line_items",
]


def _defs(tmp_path) -> dg.Definitions:
    return build_definitions(Settings(data_dir=tmp_path, cur_export_url=str(tmp_path / "export")))


def test_definitions_load_and_asset_keys_snapshot(tmp_path):
    graph = _defs(tmp_path).resolve_asset_graph()
    assert sorted(k.to_user_string() for k in graph.get_all_asset_keys()) == ASSET_KEYS
    checks = graph.asset_check_keys
    partitioned = sorted(k.to_user_string() for k in checks if graph.get_check_spec(k).partitions_def)
    assert partitioned == PARTITIONED_CHECKS
    assert "cur_sync_status:cur_sync_complete" in {k.to_user_string() for k in checks}
    assert len(checks) == len(PARTITIONED_CHECKS) + 1 + 13  # + sync check + dbt tests


def test_the_decorated_entry_point_is_a_dagster_definitions(tmp_path, monkeypatch):
    monkeypatch.setenv("FINOPS_DATA_DIR", str(tmp_path))
    assert isinstance(defs.load_fn(), dg.Definitions)


def test_assets_are_readable_in_the_ui(tmp_path):
    graph = _defs(tmp_path).resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.group_name in {"ingestion", "staging", "intermediate", "cost"}, key
        assert node.owners == ["team:finops-platform"], key
        assert node.description, key
    raw, fct = graph.get(dg.AssetKey("raw_cur_line_items")), graph.get(dg.AssetKey("fct_daily_cost"))
    assert raw.partitions_def == fct.partitions_def
    assert raw.backfill_policy == fct.backfill_policy == dg.BackfillPolicy.single_run()
    assert dg.AssetKey("raw_cur_line_items") in graph.get(dg.AssetKey("stg_cur__line_items")).parent_keys
