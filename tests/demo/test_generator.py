import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import polars as pl

from finops_dagster.demo import catalog
from finops_dagster.demo.generator import DemoConfig, generate


def test_layout_is_the_cur2_s3_layout(demo):
    root = Path(demo["export_root"])
    for period, info in demo["billing_periods"].items():
        manifest = root / "metadata" / f"BILLING_PERIOD={period}" / "finops-demo-export-Manifest.json"
        doc = json.loads(manifest.read_text())
        assert doc["executionId"] == info["execution_id"]
        assert doc["billingPeriod"]["start"].startswith(f"{period}-01")
        assert len(doc["dataFiles"]) == 2  # multi-file delivery
        for url in doc["dataFiles"]:
            assert url.startswith("s3://finops-demo-billing/cur/finops-demo-export/data/")
            assert (root / url.split("finops-demo-export/", 1)[1]).is_file()


def test_content_matches_the_spec(demo):
    df = pl.read_parquet(Path(demo["export_root"]) / "data" / "*" / "*.parquet")
    # 45,248 fleet and service lines + 92 Athena days + the insight plants (6 spike days, 7 unbilled
    # days, 1 next-period charge, 1 one-off credit)
    assert df.height == demo["total_rows"] == 45248 + 92 + 6 + 7 + 1 + 1
    assert df["line_item_usage_account_id"].n_unique() == 3
    services = set(df.filter(pl.col("line_item_line_item_type") == "Usage")["line_item_product_code"])
    assert len(services) == 9
    assert set(df["line_item_line_item_type"]) == {
        "Usage",
        "DiscountedUsage",
        "RIFee",
        "SavingsPlanCoveredUsage",
        "SavingsPlanNegation",
        "SavingsPlanRecurringFee",
        "Credit",
        "Tax",
    }
    assert df.schema["resource_tags"] == pl.Map(pl.String, pl.String)
    ec2 = df.filter(
        pl.col("line_item_product_code") == "AmazonEC2", pl.col("line_item_line_item_type") == "Usage"
    )
    assert ec2["line_item_usage_start_date"].dt.hour().n_unique() == 24  # hourly usage
    untagged = df.filter(pl.col("resource_tags").map.len() == 0)
    assert untagged["line_item_unblended_cost"].sum() > 0
    assert df.select(pl.struct("identity_line_item_id", "identity_time_interval").is_unique().all()).item()


def test_planted_missing_day(demo):
    df = pl.read_parquet(Path(demo["export_root"]) / "data" / "BILLING_PERIOD=2026-09" / "*.parquet")
    day = df.filter(pl.col("line_item_usage_start_date").dt.date() == dt.date(2026, 9, 17))
    assert set(day["line_item_usage_account_id"]) == {"111111111111", "333333333333"}
    assert demo["planted"]["missing_day"] == {"account": "222222222222", "date": "2026-09-17"}


def test_truth_sums_are_exact_and_consistent(demo):
    daily = demo["daily"]
    assert sum(Decimal(d["unblended"]) for d in daily) == Decimal(demo["total_unblended"])
    assert Decimal(demo["total_unblended"]) == Decimal("63002.29223200")
    assert Decimal(demo["total_effective"]) == Decimal("63455.85076000")
    assert sum(d["rows"] for d in daily) == demo["total_rows"]


def test_deterministic_for_a_seed(demo, tmp_path):
    again = generate(DemoConfig(out_dir=tmp_path))
    assert again["daily"] == demo["daily"]
    assert again["billing_periods"] == demo["billing_periods"]


def test_scale_multiplies_the_fleet(tmp_path):
    truth = generate(DemoConfig(out_dir=tmp_path, scale=3, periods=("2026-08",)))
    base_ec2_hours = len(catalog.INSTANCES) * 24 * 31
    assert truth["total_rows"] > 3 * base_ec2_hours


def test_restatement_keeps_every_line_and_adds_the_planted_ones(tmp_path):
    """The re-delivery streams the first delivery's files (the 60M-line-item benchmark ran out of
    memory reading them whole): every line of it kept, the planted lines added, a new delivery id,
    files of at most rows_per_file lines, and no set-aside copy left in the export."""
    from finops_dagster.demo.generator import restate

    cfg = DemoConfig(out_dir=tmp_path, periods=("2026-08",), rows_per_file=4000)
    first = generate(cfg)
    period = cfg.export_root / "data" / "BILLING_PERIOD=2026-08"
    before = pl.read_parquet(sorted(period.glob("*.parquet")))
    truth = restate(cfg)
    after = pl.read_parquet(sorted(period.glob("*.parquet")))
    assert truth["delivery_id"] != first["billing_periods"]["2026-08"]["execution_id"]
    assert after.height == before.height + len(catalog.RESTATEMENT["lines"])
    assert all(pl.read_parquet(f).height <= 4000 for f in period.glob("*.parquet"))
    key = ["identity_line_item_id", "identity_time_interval"]
    assert after.join(before, on=key, how="anti").height == len(catalog.RESTATEMENT["lines"])
    assert sorted(p.name for p in period.parent.iterdir()) == ["BILLING_PERIOD=2026-08"]
    added = after.join(before, on=key, how="anti")["line_item_unblended_cost"].sum()
    assert round(added, 2) == -120 + 3_550_000_000 / catalog.UNITS_PER_USD
