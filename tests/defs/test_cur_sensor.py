"""The CUR delivery sensor requests exactly the days of new or restated deliveries, once."""

import json

import dagster as dg

from finops_dagster.defs.cur.sync import cur_delivery_sensor
from finops_dagster.demo.generator import DemoConfig, generate, restate
from finops_dagster.lake.cur_ingest import ingest_cur_days
from finops_dagster.resources import CurExportResource, LakeResource
from tests.conftest import days_between


def _evaluate(resources, cursor=None):
    with dg.instance_for_test() as instance:
        ctx = dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources)
        return cur_delivery_sensor(ctx)


def test_sensor_requests_new_then_restated_days(tmp_path):
    cfg = DemoConfig(out_dir=tmp_path / "demo")
    generate(cfg)
    cur = CurExportResource(
        export_url=str(cfg.export_root), cache_dir=str(tmp_path / "cache"), as_of="2026-10-31"
    )
    lake = LakeResource(data_dir=str(tmp_path / "data"))
    resources = {"cur": cur, "lake": lake}

    first = _evaluate(resources)
    ranges = [
        (r.tags["dagster/asset_partition_range_start"], r.tags["dagster/asset_partition_range_end"])
        for r in first.run_requests
    ]
    assert ranges == [
        ("2026-08-01", "2026-08-31"),
        ("2026-09-01", "2026-09-30"),
        ("2026-10-01", "2026-10-31"),
    ]
    assert len({r.run_key for r in first.run_requests}) == 3

    ingest_cur_days(cur.export(), lake.raw_lake(), lake.ledger(), days_between("2026-08-01", "2026-10-31"))
    assert _evaluate(resources, first.cursor).run_requests == []  # nothing new: no run

    planted = restate(cfg)
    again = _evaluate(resources, first.cursor)
    assert [
        (
            r.tags["finops/cur_status"],
            r.tags["dagster/asset_partition_range_start"],
            r.tags["dagster/asset_partition_range_end"],
        )
        for r in again.run_requests
    ] == [("restated", "2026-08-01", "2026-08-31")]
    assert again.run_requests[0].run_key == f"2026-08:{planted['delivery_id']}:2026-08-01:2026-08-31"
    assert json.loads(again.cursor)["2026-08"] == planted["delivery_id"]
