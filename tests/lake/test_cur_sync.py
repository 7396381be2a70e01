import datetime as dt
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from finops_dagster.demo.aws import upload_tree
from finops_dagster.demo.generator import DemoConfig, generate, restate
from finops_dagster.lake.cur_ingest import SOURCE, ingest_cur_days
from finops_dagster.lake.cur_sync import day_ranges, sync_plan
from finops_dagster.lake.ledger import Ledger
from finops_dagster.lake.raw_lake import RawLake
from finops_dagster.sources.cur import CurExport
from tests.conftest import days_between

AS_OF = dt.date(2026, 10, 31)


@pytest.fixture
def world(demo, tmp_path, s3):
    """A private demo export (local files mirrored to a fresh S3 bucket) and an empty lake."""
    cfg = DemoConfig(out_dir=tmp_path / "demo")
    generate(cfg)
    bucket = f"sync-{tmp_path.name.lower().replace('_', '-')[-40:]}"
    upload_tree(s3, cfg.export_root.parents[1], bucket)
    export = CurExport(f"s3://{bucket}/cur/finops-demo-export", tmp_path / "cache")
    return cfg, bucket, export, RawLake(tmp_path / "raw"), Ledger(tmp_path / "ledger.sqlite")


def _run_plan(export, raw, ledger):
    plan = sync_plan(export, ledger, "2026-08", AS_OF)
    todo = [d for p in plan for d in p.days_to_ingest]
    for first, last in day_ranges(todo):
        ingest_cur_days(export, raw, ledger, days_between(str(first), str(last)))
    return plan


def test_first_sync_ingests_everything_then_nothing(world):
    _, _, export, raw, ledger = world
    plan = _run_plan(export, raw, ledger)
    assert [p.status for p in plan] == ["new", "new", "new"]
    again = sync_plan(export, ledger, "2026-08", AS_OF)
    assert [p.status for p in again] == ["up_to_date"] * 3
    assert all(not p.days_to_ingest for p in again)


def test_restated_month_changes_exactly_the_planted_cells(world, s3):
    cfg, bucket, export, raw, ledger = world
    _run_plan(export, raw, ledger)
    before = {d: ledger.day(SOURCE, d) for d in days_between("2026-08-01", "2026-08-31")}
    planted = restate(cfg)
    upload_tree(s3, cfg.export_root.parents[1], bucket)

    plan = sync_plan(export, ledger, "2026-08", AS_OF)
    assert [(p.billing_period, p.status) for p in plan] == [
        ("2026-08", "restated"),
        ("2026-09", "up_to_date"),
        ("2026-10", "up_to_date"),
    ]
    result = ingest_cur_days(export, raw, ledger, list(plan[0].days_to_ingest))
    assert [r.changed_cells for r in result.restatements] == [2]

    diff = pl.read_parquet(result.restatements[0].path)
    got = {
        (str(r["usage_date"]), r["sub_account_id"], r["service_code"]): r["new_unblended_cost"]
        - r["old_unblended_cost"]
        for r in diff.iter_rows(named=True)
    }
    want = {(c["date"], c["account"], c["service_code"]): Decimal(c["delta"]) for c in planted["changes"]}
    assert got == want
    assert set(diff["new_delivery_id"]) == {planted["delivery_id"]}
    for day, old in before.items():
        new = ledger.day(SOURCE, day)
        assert new.delivery_id == planted["delivery_id"]
        delta = sum((v for (d, _, _), v in want.items() if d == str(day)), Decimal(0))
        assert new.unblended_cost - old.unblended_cost == delta, day
    # the replaced month holds the new delivery's rows only: no double counting
    assert (
        raw.scan_day(SOURCE, dt.date(2026, 8, 20)).select(pl.len()).collect().item()
        == before[dt.date(2026, 8, 20)].row_count + 1
    )


def test_missing_period_and_missing_days_are_found_and_backfilled(world, s3, demo):
    cfg, bucket, export, raw, ledger = world
    key = "cur/finops-demo-export/metadata/BILLING_PERIOD=2026-09/finops-demo-export-Manifest.json"
    s3.delete_object(Bucket=bucket, Key=key)
    ingest_cur_days(export, raw, ledger, days_between("2026-08-01", "2026-08-20"))

    plan = {p.billing_period: p for p in sync_plan(export, ledger, "2026-08", AS_OF)}
    # its data files are there without a manifest: a named problem, not a "missing" period
    assert plan["2026-09"].status == "unusable"
    assert "data files but no manifest for 2026-09" in plan["2026-09"].problem
    assert "finops-demo-export-00001.snappy.parquet" in plan["2026-09"].problem
    assert plan["2026-08"].status == "incomplete"
    assert plan["2026-08"].days_to_ingest == tuple(days_between("2026-08-21", "2026-08-31"))
    assert plan["2026-10"].status == "new"

    s3.upload_file(str(cfg.export_root.parents[1] / key), bucket, key)  # the late delivery lands
    _run_plan(export, raw, ledger)
    final = sync_plan(export, ledger, "2026-08", AS_OF)
    assert [p.status for p in final] == ["up_to_date"] * 3
    assert (
        sum(ledger.day(SOURCE, d).row_count for d in days_between("2026-08-01", "2026-10-31"))
        == demo["total_rows"]
    )  # every line item of the demo


def test_the_open_month_and_the_configured_start(world):
    _, _, export, _, ledger = world
    plan = sync_plan(export, ledger, "2026-07", dt.date(2026, 11, 3))
    statuses = {p.billing_period: (p.status, p.expected_days) for p in plan}
    assert statuses["2026-07"] == ("missing_delivery", 31)
    assert statuses["2026-11"] == ("missing_delivery", 3)


def test_legacy_csv_and_cur2_give_identical_totals(demo, tmp_path):
    legacy = generate(DemoConfig(out_dir=tmp_path / "legacy", flavor="legacy"))
    days = days_between("2026-08-01", "2026-10-31")
    ledgers = {}
    for name, root in (("cur2", demo["export_root"]), ("legacy", legacy["export_root"])):
        ledgers[name] = Ledger(tmp_path / f"{name}.sqlite")
        ingest_cur_days(
            CurExport(root, tmp_path / f"cache-{name}"),
            RawLake(tmp_path / f"raw-{name}"),
            ledgers[name],
            days,
        )
    for d in days:
        a, b = ledgers["cur2"].day(SOURCE, d), ledgers["legacy"].day(SOURCE, d)
        assert (a.row_count, a.unblended_cost, a.effective_cost, a.accounts) == (
            b.row_count,
            b.unblended_cost,
            b.effective_cost,
            b.accounts,
        ), d
    # the normalized raw rows are the same, tags included (CSV cannot tell '' from null;
    # staging reads both as null with nullif)
    day = dt.date(2026, 9, 18)
    frames = [RawLake(tmp_path / f"raw-{n}").scan_day(SOURCE, day).collect() for n in ("cur2", "legacy")]
    cols = sorted(set(frames[0].columns) & set(frames[1].columns))
    assert set(frames[0].columns) == set(frames[1].columns)
    a, b = (
        f.select(cols)
        .with_columns(
            pl.col("resource_tags")
            .cast(pl.List(pl.Struct({"key": pl.String, "value": pl.String})))
            .list.sort(),
            pl.col(pl.String).replace("", None),
        )
        .sort("identity_line_item_id")
        for f in frames
    )
    assert a.equals(b)
    assert Path(tmp_path / "raw-legacy" / "cur").exists()
