"""The code location loads, and its asset graph is what we expect (nothing rots silently)."""

import dagster as dg
import pytest

from finops_dagster.definitions import build_definitions, defs
from finops_dagster.settings import Settings
from finops_dagster.warehouse import engine

ASSET_KEYS = [
    "budget_status",
    "cost_explorer_services",
    "cost_forecast",
    "cur_sync_status",
    "dim_account",
    "dim_resource",
    "dim_service",
    "fct_billing_audit",
    "fct_commitment_opportunities",
    "fct_cost_allocation",
    "fct_cost_anomalies",
    "fct_cost_reconciliation",
    "fct_cost_trend",
    "fct_cur_restatements",
    "fct_customer_unit_economics",
    "fct_daily_cost",
    "fct_daily_cost_tags",
    "fct_other_currency_cost",
    "fct_portfolio_summary",
    "fct_resource_efficiency",
    "fct_resource_utilization",
    "fct_rightsizing_candidates",
    "fct_service_cost_report",
    "fct_tag_coverage",
    "fct_waste",
    "fct_workload_schedules",
    "forecast_backtest",
    "insight_alerts",
    "instance_types",
    "int_cloudwatch__ec2_hourly",
    "int_cost__resource_daily",
    "int_cost__usage_daily",
    "int_cur__line_items_costed",
    "int_cur__line_items_daily",
    "int_cur__on_demand_compute_daily",
    "int_cur__usage_and_credits_daily",
    "mart_exports",
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
    "stg_business__budgets",
    "stg_business__customers",
    "stg_business__requests",
    "stg_business__shared_rules",
    "stg_cloudwatch__metrics",
    "stg_cost_explorer__daily_costs",
    "stg_cur__line_items",
]

PARTITIONED_CHECKS = [
    "fct_cost_allocation:fct_cost_allocation_conservation",
    "fct_cost_reconciliation:fct_cost_reconciliation_agreement",
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


def _single_node_dbt_tests() -> list[str]:
    import json

    from finops_dagster.defs.warehouse.project import ensure_manifest

    nodes = json.loads(ensure_manifest().read_text())["nodes"].values()
    return [
        n["unique_id"]
        for n in nodes
        if n["resource_type"] == "test"
        and len({d for d in n["depends_on"]["nodes"] if d.split(".")[0] in ("model", "seed")}) == 1
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
    # + the sync check + every dbt data test on one model or seed, counted from the manifest (a
    # test spanning two models, like the tags conservation one, runs in the build, not as a check)
    assert len(checks) == len(PARTITIONED_CHECKS) + 1 + len(_single_node_dbt_tests())


def test_the_decorated_entry_point_is_a_dagster_definitions(tmp_path, monkeypatch):
    monkeypatch.setenv("FINOPS_DATA_DIR", str(tmp_path))
    assert isinstance(defs.load_fn(), dg.Definitions)


def test_assets_are_readable_in_the_ui(tmp_path):
    graph = _defs(tmp_path).resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.group_name in {
            "ingestion",
            "reference",
            "staging",
            "intermediate",
            "cost",
            "efficiency",
            "allocation",
            "insights",
            "exports",
        }, key
        assert node.owners == ["team:finops-platform"], key
        assert node.description, key
    raw, fct = graph.get(dg.AssetKey("raw_cur_line_items")), graph.get(dg.AssetKey("fct_daily_cost"))
    assert raw.partitions_def == fct.partitions_def
    assert raw.backfill_policy == fct.backfill_policy == dg.BackfillPolicy.single_run()
    assert dg.AssetKey("raw_cur_line_items") in graph.get(dg.AssetKey("stg_cur__line_items")).parent_keys
    daily = {
        "fct_daily_cost",
        "fct_daily_cost_tags",
        "fct_cost_reconciliation",
        "fct_cost_allocation",
        "fct_other_currency_cost",
        "fct_cost_trend",
    }
    for key in graph.get_all_asset_keys():  # exactly the incremental marts follow the day partitions
        if key.path[-1].startswith(("fct_", "dim_")):
            assert (graph.get(key).partitions_def is not None) == (key.path[-1] in daily), key
    # the efficiency marts read CloudWatch through the ephemeral window model
    waste = graph.get(dg.AssetKey("fct_waste"))
    assert dg.AssetKey("fct_resource_utilization") in waste.parent_keys


def test_history_start_sets_every_day_partition(tmp_path):
    """FINOPS_HISTORY_START moves the first day partition of every partitioned asset, check and
    job (a 2018 export needs 2018 partitions); loading again with another start rebuilds them."""
    import pytest

    from finops_dagster import partitions

    settings = Settings.from_env({"FINOPS_DATA_DIR": str(tmp_path), "FINOPS_HISTORY_START": "2018-10"})
    assert settings.history_start == "2018-10"
    try:
        old = build_definitions(settings)
        graph = old.resolve_asset_graph()
        for key in ("raw_cur_line_items", "fct_daily_cost", "raw_cost_explorer_daily"):
            pdef = graph.get(dg.AssetKey(key)).partitions_def
            assert pdef.get_first_partition_key() == "2018-10-01", key
        assert old.resolve_job_def("cur_refresh_job").partitions_def.get_first_partition_key() == "2018-10-01"
        spec = graph.get_check_spec(dg.AssetCheckKey(dg.AssetKey("raw_cur_line_items"), "cur_day_gap"))
        assert spec.partitions_def.get_first_partition_key() == "2018-10-01"
    finally:
        back = build_definitions(Settings(data_dir=tmp_path, cur_export_url=str(tmp_path)))
    assert partitions.history_start() == "2026-08"
    assert (
        back.resolve_asset_graph()
        .get(dg.AssetKey("raw_cur_line_items"))
        .partitions_def.get_first_partition_key()
        == "2026-08-01"
    )
    for bad in ("2018", "2018-13", "18-10", "2012-01"):
        with pytest.raises(ValueError, match="FINOPS_HISTORY_START"):
            Settings.from_env({"FINOPS_HISTORY_START": bad})


def test_role_arns_per_linked_account_reach_the_resources(tmp_path):
    roles = "arn:aws:iam::444455556666:role/finops-read, arn:aws:iam::777788889999:role/finops-read"
    settings = Settings.from_env(
        {
            "FINOPS_DATA_DIR": str(tmp_path),
            "FINOPS_CLOUDWATCH_ROLE_ARNS": roles,
            "FINOPS_COST_EXPLORER_ROLE_ARNS": roles.split(",")[0],
        }
    )
    resources = build_definitions(settings).resources
    assert resources["cloudwatch"].role_arns == [r.strip() for r in roles.split(",")]
    assert resources["cost_explorer"].role_arns == ["arn:aws:iam::444455556666:role/finops-read"]
    with pytest.raises(ValueError, match="FINOPS_CLOUDWATCH_ROLE_ARNS: '444455556666' is not an IAM role"):
        Settings.from_env({"FINOPS_CLOUDWATCH_ROLE_ARNS": "444455556666"})


def test_jobs_select_other_domains_by_tag_and_keep_their_assets(tmp_path):
    """Issue 18 (house cleaning): jobs and schedules live beside the assets of their domain, and a
    job reaches into another domain by the raw tag its assets carry (finops_dagster/selections.py),
    never by an asset-key string that a rename would silently break."""
    import re
    from pathlib import Path

    defs_dir = Path(__file__).resolve().parents[2] / "finops_dagster" / "defs"
    by_string = [
        str(p.relative_to(defs_dir))
        for p in defs_dir.rglob("*.py")
        if re.search(r"AssetSelection\.assets\(\s*['\"]", p.read_text())
    ]
    assert by_string == []
    repo = build_definitions(Settings(data_dir=tmp_path, cur_export_url=str(tmp_path))).get_repository_def()

    def keys(job: str) -> set[str]:
        return {k.to_user_string() for k in repo.get_job(job).asset_layer.selected_asset_keys}

    assert keys("cur_ingest_job") == {"raw_cur_line_items", "raw_cur_restatements"}
    assert keys("sources_job") == {
        "raw_cost_explorer_daily",
        "raw_cloudwatch_metrics",
        "raw_business_requests",
    }
    assert keys("reference_job") == {
        "raw_cost_explorer_forecast",
        "raw_cost_categories",
        "raw_customers",
        "raw_budgets",
        "raw_shared_resource_rules",
    }
    refresh = keys("cur_refresh_job")
    assert {"raw_cur_line_items", "raw_cost_explorer_daily", "fct_daily_cost", "mart_exports"} <= refresh
    assert "raw_cloudwatch_metrics" not in refresh
    # views read the lake when queried: a refresh rebuilds none (only changed SQL needs that,
    # handled before the day's models run), which saved a dbt invocation of 6 s at 20M rows
    assert not refresh & {"stg_cur__line_items", "int_cur__line_items_costed", "fct_cur_restatements"}
    graph = repo.asset_graph
    # so the day's models run after the ingest without the views between them in the job
    assert (
        dg.AssetKey("raw_cur_line_items") in graph.get(dg.AssetKey("int_cur__line_items_daily")).parent_keys
    )
    assert (
        dg.AssetKey("raw_cost_explorer_daily")
        in graph.get(dg.AssetKey("fct_cost_reconciliation")).parent_keys
    )
    assert keys("month_refresh_job") >= refresh | keys("sources_job")
    assert not keys("month_refresh_job") & {"stg_cur__line_items", "stg_business__budgets", "instance_types"}
    # the views job builds every view and seed a later dbt step would otherwise put in place cold
    from finops_dagster.defs.warehouse.assets import _manifest
    from finops_dagster.warehouse.lake_paths import source_views

    assert source_views(_manifest(), set()) <= keys("warehouse_views_job")
    assert {s.name: s.job_name for s in repo.schedule_defs} == {
        "cloudwatch_recent_hours_schedule": "cloudwatch_job",
        "cost_explorer_daily_schedule": "cost_explorer_job",
        "current_month_schedule": "month_refresh_job",
        "previous_month_finalization_schedule": "month_refresh_job",
    }


def _pools(settings: Settings) -> dict[str, set]:
    defs = build_definitions(settings)
    pools: dict[str, set] = {"assets": set(), "checks": set()}
    for item in [*(defs.assets or []), *(defs.asset_checks or [])]:
        node = getattr(item, "node_def", None)
        if node is not None:
            pools["checks" if isinstance(item, dg.AssetChecksDefinition) else "assets"].add(node.pool)
    return pools


def test_the_warehouse_pool_applies_to_duckdb_only(tmp_path):
    """DuckDB's warehouse is one file with one writer, so every step touching it holds the
    one-slot pool; Spark takes concurrent runs and its readers lock nothing (issue 18, item 5)."""
    duck = Settings(data_dir=tmp_path, cur_export_url=str(tmp_path / "export"))
    spark = Settings(data_dir=tmp_path, cur_export_url=str(tmp_path / "export"), warehouse_engine="spark")
    try:
        assert _pools(duck) == {"assets": {None, "warehouse"}, "checks": {None, "warehouse"}}
        assert _pools(spark) == {"assets": {None}, "checks": {None}}
        # Spark's views live in its metastore, which the missing-or-changed view check does
        # not read: its refresh rebuilds them, DuckDB's does not
        refresh = build_definitions(spark).get_repository_def().get_job("cur_refresh_job")
        assert dg.AssetKey("stg_cur__line_items") in refresh.asset_layer.selected_asset_keys
        assert spark.dbt_environment()["FINOPS_DBT_TARGET"] == "spark"
        assert "FINOPS_DBT_TARGET" not in duck.dbt_environment()
    finally:
        engine.configure(engine.DUCKDB)  # the default engine for the tests after this one
    with pytest.raises(ValueError, match="FINOPS_WAREHOUSE_ENGINE='hive'"):
        Settings.from_env({"FINOPS_WAREHOUSE_ENGINE": "hive"})
    with pytest.raises(ValueError, match="does not follow the S3"):
        Settings.from_env({"FINOPS_WAREHOUSE_ENGINE": "spark", "FINOPS_RAW_LAKE_URL": "s3://lake/raw"})


def test_loading_the_code_location_imports_nothing_it_does_not_use(tmp_path):
    """Every run worker, every `dagster dev` reload and every test loads the code location, so
    what it imports is paid again and again (issue 17, item 5). Great Expectations and
    statsmodels are imported inside the checks and assets that use them. `load_from_defs_folder`
    also imports every library registered as a Dagster component plugin, to list component
    types that nothing here reads: dagster-aws, a dependency nothing used, cost 0.7 s of each
    load until it was dropped. A new plugin library should be a deliberate choice."""
    import importlib.metadata
    import subprocess
    import sys

    probe = (
        "import sys; from pathlib import Path\n"
        "from finops_dagster.definitions import build_definitions\n"
        "from finops_dagster.settings import Settings\n"
        "build_definitions(Settings(data_dir=Path(sys.argv[1]), cur_export_url=sys.argv[1]))\n"
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    loaded = set(
        subprocess.run(
            [sys.executable, "-c", probe, str(tmp_path)], capture_output=True, text=True, check=True
        ).stdout.split()
    )
    assert not loaded & {"great_expectations", "statsmodels", "scipy", "sklearn", "pandas"}
    plugins = {
        e.value.split(".")[0]
        for e in importlib.metadata.entry_points(group="dagster_dg_cli.registry_modules")
    }
    assert plugins == {"dagster", "dagster_dbt"}
