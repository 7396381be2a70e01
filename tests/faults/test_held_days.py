"""A day whose blocking raw checks failed is never built into the marts by a later run (issue 14,
F2: the ingest run failed its uniqueness check, a later daily_cost_job served the doubled day)."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import polars as pl
import pytest

from finops_dagster.defs.cur.checks import _holding
from finops_dagster.defs.warehouse.assets import _refuse_held_days
from finops_dagster.defs.warehouse.project import rotate_target_dirs
from finops_dagster.lake.ledger import Ledger
from finops_dagster.quality import cur_days
from finops_dagster.resources import LakeResource

DAY = dt.date(2026, 9, 17)


def test_a_day_failing_a_blocking_check_is_held_until_it_passes(tmp_path):
    lake = LakeResource(data_dir=str(tmp_path))
    raw, ledger = lake.raw_lake(), lake.ledger()
    rows = pl.DataFrame(
        {"identity_line_item_id": ["a", "a"], "identity_time_interval": ["t", "t"], "usage_date": [DAY, DAY]}
    )
    raw.write_days("cur", rows.lazy(), [DAY])  # a day doubled behind the ingest's back
    holding = _holding(
        ledger, "cur_unique_line_items", lambda days: {d: cur_days.unique_line_items(raw, d) for d in days}
    )

    def check(key: str):
        return holding([key])[key]

    assert not check(DAY.isoformat()).passed
    assert list(ledger.held("cur")) == [DAY]

    with pytest.raises(dg.Failure, match=r"2026-09-17: cur_unique_line_items"):
        _refuse_held_days(lake, ["2026-09-16", "2026-09-17"])  # the daily marts of the window
    with pytest.raises(dg.Failure, match="held out of the marts"):
        _refuse_held_days(lake)  # and the unpartitioned marts
    _refuse_held_days(lake, ["2026-09-16"])  # other windows build

    raw.write_days("cur", rows.head(1).lazy(), [DAY])  # re-ingested
    assert check(DAY.isoformat()).passed
    assert ledger.held("cur") == {}
    _refuse_held_days(lake)


def test_dbt_artefacts_are_rotated(tmp_path):
    for i in range(25):
        run = tmp_path / f"dbt_models-{i:07d}-abcdef0"
        run.mkdir()
        # a build that builds no view writes no JSON artefacts (--no-write-json), only its log
        (run / ("run_results.json" if i % 2 else "dbt.log")).write_text("{}")
    (tmp_path / "manifest.json").write_text("{}")
    removed = rotate_target_dirs(tmp_path, keep=20)
    assert len(removed) == 5 and len(list(tmp_path.glob("dbt_models-*"))) == 20
    assert (tmp_path / "manifest.json").exists()


def test_the_ledger_counts_what_it_holds(tmp_path):
    ledger = Ledger(tmp_path / "l.sqlite")
    ledger.hold("cur", DAY, "a", "x")
    ledger.hold("cur", DAY, "b", "y")
    assert ledger.held("cur", [DAY]) == {DAY: "a: x; b: y"}
    assert ledger.held("cur", [DAY + dt.timedelta(days=1)]) == {}
