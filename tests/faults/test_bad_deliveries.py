"""Bad deliveries lose nothing: an emptied or shrunken re-delivery of a closed month is held with
an explicit override, a 0-byte manifest blocks only its own period (issue 14, F6)."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest

from finops_dagster.demo.generator import restate
from finops_dagster.lake.cur_ingest import ShrinkGuard, ingest_cur_days
from finops_dagster.lake.ledger import Ledger
from finops_dagster.lake.raw_lake import RawLake
from finops_dagster.sources.cur import CurError, CurExport
from tests.conftest import days_between
from tests.faults.conftest import lake_state

AUGUST = days_between("2026-08-01", "2026-08-31")
AS_OF = dt.date(2026, 10, 31)


def _ingest(data, export, days=AUGUST, guard=None):
    return ingest_cur_days(
        CurExport(str(export), data / "cache"),
        RawLake(data / "raw"),
        Ledger(data / "ledger.sqlite"),
        days,
        progress=lambda m: None,
        guard=guard,
    )


def _redeliver(cfg, keep: float) -> str:
    """Re-deliver August (a new delivery id) keeping only ``keep`` of its line items (0: every
    file empty, with its columns)."""
    delivery = restate(cfg)["delivery_id"]
    for path in sorted((cfg.export_root / "data" / "BILLING_PERIOD=2026-08").glob("*.parquet")):
        frame = pl.read_parquet(path)
        frame.head(int(frame.height * keep)).write_parquet(path)
    return delivery


@pytest.mark.parametrize("keep", [0.0, 0.5])
def test_a_shrinking_redelivery_of_a_closed_month_is_held_until_allowed(restatable, tmp_path, keep):
    data = tmp_path / "data"
    _ingest(data, restatable.export_root)
    before = lake_state(data)
    delivery = _redeliver(restatable, keep)
    with pytest.raises(
        CurError,
        match=rf"billing period 2026-08 held: its re-delivery {delivery} has "
        r"\d+ line item\(s\) on 2026-08-01..2026-08-31 where the lake holds "
        r"\d+ \(\d+% fewer; the limit is FINOPS_MAX_SHRINK=25%\); nothing was "
        r"replaced.*FINOPS_ALLOW_SHRINK=2026-08",
    ):
        _ingest(data, restatable.export_root, guard=ShrinkGuard(0.25, frozenset(), AS_OF))
    assert lake_state(data) == before

    _ingest(data, restatable.export_root, guard=ShrinkGuard(0.25, frozenset({"2026-08"}), AS_OF))
    ledger = Ledger(data / "ledger.sqlite")
    rows = sum(ledger.day("cur", d).row_count for d in AUGUST)
    assert ledger.day("cur", AUGUST[0]).delivery_id == delivery
    assert (rows == 0) == (keep == 0.0) and rows < sum(r[3] for r in before["ledger"])


def test_an_open_month_may_shrink(restatable, tmp_path):
    """The guard is for closed periods: the month being delivered is rewritten as AWS likes."""
    data = tmp_path / "data"
    _ingest(data, restatable.export_root)
    _redeliver(restatable, 0.5)
    _ingest(data, restatable.export_root, guard=ShrinkGuard(0.25, frozenset(), dt.date(2026, 8, 20)))


def test_a_zero_byte_manifest_blocks_only_its_own_period(restatable, tmp_path):
    manifest = (
        restatable.export_root / "metadata" / "BILLING_PERIOD=2026-09" / "finops-demo-export-Manifest.json"
    )
    manifest.write_bytes(b"")
    data = tmp_path / "data"
    october = days_between("2026-10-01", "2026-10-31")
    result = _ingest(data, restatable.export_root, october)
    assert len(result.entries) == 31 and sum(e.row_count for e in result.entries) > 0
    with pytest.raises(CurError, match=r"2026-09.*Manifest.json") as err:
        _ingest(data, restatable.export_root, days_between("2026-09-01", "2026-09-30"))
    assert "2026-10" not in str(err.value).split("requested days")[0]
    assert json.dumps(lake_state(data)["ledger"]).count("2026-09-") == 0
