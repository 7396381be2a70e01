"""The raw lake on S3 (issue 18, item 2), on the moto server over HTTP with real boto3, DuckDB
httpfs (installed offline from its PyPI wheel) and Polars' object store.

S3 has no rename: a day is a new immutable object and a pointer per day says which object is
current. These tests check what that must guarantee: the demo's CUR lands there exactly (the
ledger and the per-day raw checks agree), a re-delivered period switches each day from old to
new at its pointer (a reader never sees a day half replaced, nor both objects), a kill -9 mid
swap is rolled forward, old objects wait for vacuum, and dbt builds the marts from the lake.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import uuid
from decimal import Decimal

import duckdb
import polars as pl
import pytest

from finops_dagster.defs.warehouse.project import DBT_EXECUTABLE
from finops_dagster.demo.generator import restate
from finops_dagster.lake import journal, optional_sources
from finops_dagster.lake.cur_ingest import SOURCE, ingest_cur_days
from finops_dagster.lake.ledger import Ledger
from finops_dagster.lake.object_store import ObjectLake, dbt_process_environment
from finops_dagster.lake.raw_lake import RawLake
from finops_dagster.quality.cur_days import raw_conservation_days
from finops_dagster.settings import DBT_PROJECT_DIR, Settings
from finops_dagster.sources.cur import CurExport
from tests.conftest import days_between
from tests.faults.conftest import run_child, staging_left

ALL_DAYS = days_between("2026-08-01", "2026-10-31")
AUGUST = days_between("2026-08-01", "2026-08-31")


@pytest.fixture
def lake_url(s3) -> str:
    bucket = f"lake-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    return f"s3://{bucket}/finops/raw"


def _ingest(export_root, data, url, days):
    return ingest_cur_days(
        CurExport(str(export_root), data / "cache"),
        RawLake(data / "raw", url),
        Ledger(data / "ledger.sqlite"),
        days,
        progress=lambda m: None,
    )


def test_cur_on_s3_equals_the_truth_and_dbt_builds_from_it(demo, s3_export, lake_url, tmp_path):
    data = tmp_path / "data"
    entries = _ingest(s3_export, data, lake_url, ALL_DAYS).entries
    raw, ledger = RawLake(data / "raw", lake_url), Ledger(data / "ledger.sqlite")
    assert sum(e.row_count for e in entries) == demo["total_rows"]
    assert sum(e.unblended_cost for e in entries) == Decimal(demo["total_unblended"])

    # each day is one object its pointer names, recorded in the ledger; none lies on local disk
    current = raw.remote.current_days("cur")
    assert sorted(current) == ALL_DAYS
    assert ledger.day(SOURCE, ALL_DAYS[40]).raw_file == current[ALL_DAYS[40]]
    assert current[ALL_DAYS[40]].startswith(f"{lake_url}/cur/usage_date=2026-09-10/")
    assert not (data / "raw" / "cur").exists()
    # the raw checks read the objects (Polars over S3): every day holds what the ledger says
    results = raw_conservation_days(raw, ledger, ALL_DAYS)
    assert all(r.passed for r in results.values()), [r.metadata for r in results.values() if not r.passed][:2]

    # dbt (target duckdb_s3: httpfs + a secret from boto3's chain) builds the daily mart from S3
    assert set(optional_sources.ensure_readable(raw)) == {
        "cost_explorer",
        "cloudwatch",
        "business_requests",
        "customers",
        "budgets",
        "shared_rules",
    }
    settings = Settings(data_dir=data, cur_export_url=str(s3_export), raw_lake_url=lake_url)
    env = {**os.environ, **dbt_process_environment(settings.dbt_environment())}
    args = [
        "build",
        "--select",
        "+fct_daily_cost",
        "--exclude-resource-type",
        "unit_test",
        "--indirect-selection",
        "cautious",
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--target-path",
        str(tmp_path / "target"),
    ]
    proc = subprocess.run(
        [DBT_EXECUTABLE, *args], env=env, capture_output=True, text=True, check=False, cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        rows, billed, effective = con.execute(
            "select sum(line_item_count), sum(billed_cost), sum(effective_cost) from fct_daily_cost"
        ).fetchone()
        views = dict(
            con.execute(
                "select view_name, sql from duckdb_views() where schema_name = 'finops_raw'"
            ).fetchall()
        )
    assert (rows, billed, effective) == (
        demo["total_rows"],
        Decimal(demo["total_unblended"]),
        Decimal(demo["total_effective"]),
    )
    # the raw view lists exactly the current objects: no folder listing, no superseded object
    assert sorted(current.values()) == sorted(u for u in current.values() if u in views["line_items"])
    assert views["line_items"].count("s3://") == len(current)


def test_a_redelivered_period_switches_each_day_at_its_pointer(restatable, lake_url, tmp_path, monkeypatch):
    data = tmp_path / "data"
    _ingest(restatable.export_root, data, lake_url, AUGUST)
    raw, ledger = RawLake(data / "raw", lake_url), Ledger(data / "ledger.sqlite")
    old = raw.remote.current_days("cur")
    restate(restatable)

    # a second reader, just before each pointer flips: the day is whole and old (its objects
    # agree with the ledger, which the commit replaces only after every pointer)
    reader, real_point, seen = RawLake(tmp_path / "reader", lake_url), ObjectLake.point, []

    def watched(self, url):
        day = dt.date.fromisoformat(url.split("usage_date=")[1][:10])
        seen.append(
            (
                day,
                raw_conservation_days(reader, ledger, [day])[day].passed,
                reader.day_location(SOURCE, day) == old[day],
            )
        )
        real_point(self, url)

    monkeypatch.setattr(ObjectLake, "point", watched)
    result = _ingest(restatable.export_root, data, lake_url, AUGUST)
    monkeypatch.undo()
    assert [d for d, _, _ in seen] == AUGUST and all(ok and was_old for _, ok, was_old in seen)
    new = raw.remote.current_days("cur")
    assert set(new) == set(AUGUST) and not set(new.values()) & set(old.values())
    assert all(r.passed for r in raw_conservation_days(reader, ledger, AUGUST).values())
    assert len(result.restatements) == 1

    # the restatement diff is its own object (one per delivery, never replaced)
    diff = raw.remote.list(raw.folder_location("cur_restatements") + "/billing_period=2026-08/")
    assert len(diff) == 1
    assert pl.read_parquet(diff[0], storage_options=raw.remote.polars_options()).height == 2
    # superseded objects stay for readers that bound them, until vacuum's retention has passed
    day_folder = f"{lake_url}/cur/usage_date=2026-08-05/"
    assert len(raw.remote.list(day_folder)) == 2
    assert raw.remote.vacuum("cur") == []
    assert sorted(raw.remote.vacuum("cur", retention=dt.timedelta(0))) == sorted(old.values())
    assert raw.remote.list(day_folder) == [new[dt.date(2026, 8, 5)]]


INGEST = """
import datetime as dt
from pathlib import Path
from finops_dagster.lake.cur_ingest import ingest_cur_days
from finops_dagster.lake.ledger import Ledger
from finops_dagster.lake.raw_lake import RawLake
from finops_dagster.sources.cur import CurExport
data = Path(DATA)
days = [dt.date(2026, 8, 1) + dt.timedelta(days=i) for i in range(31)]
ingest_cur_days(CurExport(EXPORT, data / "cache"), RawLake(data / "raw", URL),
                Ledger(data / "ledger.sqlite"), days, progress=lambda m: None)
"""


def test_kill_9_mid_swap_on_s3_is_rolled_forward(restatable, lake_url, tmp_path):
    data = tmp_path / "data"
    _ingest(restatable.export_root, data, lake_url, AUGUST)
    raw, ledger = RawLake(data / "raw", lake_url), Ledger(data / "ledger.sqlite")
    old, old_delivery = raw.remote.current_days("cur"), ledger.day(SOURCE, AUGUST[0]).delivery_id
    restate(restatable)
    code = (
        INGEST.replace("DATA", repr(str(data)))
        .replace("EXPORT", repr(str(restatable.export_root)))
        .replace("URL", repr(lake_url))
    )
    proc = run_child(code, "commit:mid_swap")  # one day's object and pointer published, 30 not
    assert proc.returncode == -9, proc.stderr[-2000:]
    mid = raw.remote.current_days("cur")
    assert sum(mid[d] != old[d] for d in AUGUST) == 1 and staging_left(data)

    done = journal.recover(data / "raw", ledger)
    assert len(done) == 1 and "rolled forward" in done[0]
    after = raw.remote.current_days("cur")
    assert all(after[d] != old[d] for d in AUGUST) and staging_left(data) == []
    assert ledger.day(SOURCE, AUGUST[0]).delivery_id != old_delivery
    assert all(r.passed for r in raw_conservation_days(raw, ledger, AUGUST).values())
