"""The lake contract (issue 18): one object names every raw dataset's folder and layout; the
ingest modules write through it, and every dbt source reads a folder it names."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from finops_dagster.defs.business.assets import SOURCE as BUSINESS_REQUESTS
from finops_dagster.defs.warehouse.project import ensure_manifest
from finops_dagster.lake import cloudwatch_ingest, cost_explorer_ingest, cur_ingest
from finops_dagster.lake.contract import DAILY, DATASETS, LakeContract
from finops_dagster.lake.raw_lake import RawLake


def test_every_dbt_source_reads_a_folder_the_contract_names():
    manifest = json.loads(ensure_manifest().read_text())
    # the layout decides how dbt reads a folder on S3: pointers per day, one pointer, or a listing
    sources = {
        f"{s['source_name']}.{s['name']}": (s["meta"].get("lake_folder"), s["meta"].get("lake_layout", DAILY))
        for s in manifest["sources"].values()
    }
    named = {d.dbt_source: (d.folder, d.layout) for d in DATASETS.values() if d.dbt_source}
    assert sources == named


def test_every_ingest_writes_a_dataset_of_the_contract():
    for name in (
        cur_ingest.SOURCE,
        cur_ingest.RESTATEMENTS,
        cost_explorer_ingest.SOURCE,
        cloudwatch_ingest.SOURCE,
        BUSINESS_REQUESTS,
    ):
        assert name in DATASETS, name


def test_paths_follow_the_root(tmp_path):
    lake = RawLake(tmp_path / "raw")
    day = dt.date(2026, 9, 2)
    assert lake.day_path("cur", day) == tmp_path / "raw" / "cur" / "usage_date=2026-09-02" / "data.parquet"
    assert LakeContract(Path("/x")).file("customers") == Path("/x/business/customers/data.parquet")
    with pytest.raises(KeyError, match="not a dataset of the raw lake"):
        lake.day_path("cur_typo", day)
    with pytest.raises(ValueError, match="one file"):
        LakeContract(Path("/x")).day_file("customers", day)
