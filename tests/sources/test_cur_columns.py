"""Real column variety handled once, in the normalizer (issue 13, item 3): each test names the
quirk of real exports it covers."""

import polars as pl
import pytest

from finops_dagster.sources import cur_columns
from finops_dagster.sources.cur import CurExport, delivery_schema, iter_delivery
from finops_dagster.sources.cur_formats import column_plan, normalize
from tests.sources import real_exports as rx


def _batches(root, period, tmp_path) -> pl.DataFrame:
    export = CurExport(str(root), tmp_path / "cache")
    paths = export.fetch_delivery(export.delivery(period), lambda m: None)
    return pl.concat(list(iter_delivery(paths, 1_000, lambda m: None, delivery_schema(paths))))


def test_athena_text_rates_with_empty_strings_are_numbers(tmp_path):
    """Athena Parquet keeps line_item_unblended_rate and reservation_normalized_units_per_reservation
    as text, "" when empty: read as numbers, "" is null."""
    root = rx.athena_2018(tmp_path)
    raw = pl.read_parquet(sorted((root / "athena-report" / "year=2018" / "month=10").glob("*.parquet")))
    assert (
        raw.schema["line_item_unblended_rate"] == pl.String and (raw["line_item_unblended_rate"] == "").any()
    )
    df = _batches(root, "2018-10", tmp_path)
    assert df.schema["line_item_unblended_rate"] == pl.Float64
    assert df.schema["reservation_normalized_units_per_reservation"] == pl.Float64
    rifee = df.filter(pl.col("line_item_line_item_type") == "RIFee")
    assert rifee["line_item_unblended_rate"].to_list() == [None]
    assert set(
        df.filter(pl.col("line_item_line_item_type") == "DiscountedUsage")[
            "reservation_normalized_units_per_reservation"
        ]
    ) == {4.0}


def test_a_value_that_is_not_a_number_names_the_column():
    frame = pl.DataFrame({"line_item_unblended_rate": ["0.1", "twelve"]})
    with pytest.raises(pl.exceptions.InvalidOperationError, match="line_item_unblended_rate"):
        normalize(frame)


def test_columns_older_exports_lack_are_typed_nulls(tmp_path):
    """2018: no Savings Plans columns, no line_item_net_unblended_cost. CSV report with resource
    ids and tags switched off: no line_item_resource_id, no resource_tags."""
    df = _batches(rx.athena_2018(tmp_path / "a"), "2018-10", tmp_path)
    for name, dtype in cur_columns.CONTRACT.items():
        assert df.schema[name] == dtype, name
    assert df["savings_plan_savings_plan_a_r_n"].null_count() == df.height
    assert df["line_item_net_unblended_cost"].null_count() == df.height
    csv = _batches(rx.legacy_csv_2023(tmp_path / "c"), "2023-11", tmp_path)
    assert csv["line_item_resource_id"].null_count() == csv.height
    assert csv.schema["resource_tags"] == cur_columns.TAG_MAP
    assert csv["resource_tags"].map.len().sum() == 0


def test_region_and_region_code_together(tmp_path):
    """A legacy CSV with both product/region and product/regionCode (a DuplicateError before)."""
    df = _batches(rx.legacy_csv_2023(tmp_path), "2023-11", tmp_path)
    assert set(df["product_region"]) == set(df["product_region_code"]) == {"eu-west-1"}
    older = normalize(pl.DataFrame({"product/region": ["us-east-1"]}))
    assert older["product_region_code"].to_list() == ["us-east-1"]  # the code where only region exists


def test_text_that_looks_numeric_stays_text(tmp_path):
    """pricing/RateCode, pricing/RateId, product/feeCode, product/feeDescription are text in AWS's
    dictionary, whatever their names or values look like."""
    df = _batches(rx.legacy_csv_2023(tmp_path), "2023-11", tmp_path)
    for name in ("pricing_rate_code", "pricing_rate_id", "product_fee_code", "product_fee_description"):
        assert df.schema[name] == pl.String, name
    assert set(df["pricing_rate_id"]) == {"1234567890"}
    assert "2JE46CBZYW8NSVU7.JRTCKXETXF.6EN2CT7" in set(df["pricing_rate_code"])
    assert "Lambda-GB-Second-ARM" in set(df["product_fee_code"])


def test_account_ids_keep_their_leading_zeros(tmp_path):
    df = _batches(rx.legacy_csv_2023(tmp_path), "2023-11", tmp_path)
    assert set(df["bill_payer_account_id"]) == {"012345678901"}
    integer = normalize(pl.DataFrame({"bill_payer_account_id": [12345678901]}))
    assert integer["bill_payer_account_id"].to_list() == ["012345678901"]


def test_collisions_follow_the_documented_rule_and_are_reported():
    """Two source columns that normalize to one name (synthetic: a file mixing spellings): the
    one already spelled that way wins, the other keeps its data under <name>__<source>."""
    plan = column_plan(
        ["product/instanceType", "product_instance_type", "resourceTags/user:team", "resource_tags_user_team"]
    )
    assert plan.renames == {"product/instanceType": "product_instance_type__product_instanceType"}
    assert plan.tags == {"resourceTags/user:team": "user_team", "resource_tags_user_team": "user_team__2"}
    assert len(plan.collisions) == 2 and "product_instance_type" in plan.collisions[0]
    df = normalize(pl.DataFrame({"product/instanceType": ["a"], "product_instance_type": ["b"]}))
    assert df["product_instance_type"].to_list() == ["b"]
    assert df["product_instance_type__product_instanceType"].to_list() == ["a"]


def test_cur2_product_attributes_from_the_product_map(tmp_path):
    """A real CUR 2.0 export carries product name, region and instance type only in the product
    map: staging's columns come from there."""
    df = _batches(rx.cur2_product_map(tmp_path), "2025-03", tmp_path)
    assert set(df["product_product_name"]) == {"Amazon Elastic Compute Cloud"}
    assert set(df["product_region_code"]) == {"us-east-2"}
    assert set(df["product_instance_type"]) == {"t3.micro"}


def test_athena_timestamps_in_ms_and_utc_become_naive_utc(tmp_path):
    root = rx.athena_2018(tmp_path)
    for period in ("2018-10", "2018-11"):
        df = _batches(root, period, tmp_path)
        assert df.schema["line_item_usage_start_date"] == pl.Datetime("us")
        assert df["usage_date"].min().isoformat() == f"{period}-01"


def test_legacy_tag_columns_fold_into_the_map(tmp_path):
    df = _batches(rx.athena_2018(tmp_path), "2018-11", tmp_path)
    keys = set(df.select(pl.col("resource_tags").map.keys().explode().drop_nulls()).to_series())
    assert keys == {"user_cost_center", "user_department", "user_name", "user_workload"}
