"""Money is never summed across currencies (issue 14, F3: 100 line items in EUR were accepted and
the API's trend and allocation totals added them into USD). The EUR line items are reported in
fct_other_currency_cost with their currency; every cost mart and API total is USD only and says
so; conservation from the lake to the marts still holds to the cent."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl
from fastapi.testclient import TestClient

from finops_dagster.api.app import create_app
from finops_dagster.defs.warehouse.project import DBT_EXECUTABLE, dbt_project
from finops_dagster.lake import optional_sources
from finops_dagster.lake.cur_ingest import ingest_cur_days
from finops_dagster.lake.ledger import Ledger
from finops_dagster.lake.raw_lake import RawLake
from finops_dagster.quality.cur_days import mart_conservation
from finops_dagster.sources.cur import CurExport
from finops_dagster.warehouse.exports import export_marts
from tests.conftest import days_between

SEPTEMBER = days_between("2026-09-01", "2026-09-30")


def _dbt(data: Path, *args: str) -> None:
    env = {
        **os.environ,
        "FINOPS_DATA_DIR": str(data),
        "FINOPS_RAW_LAKE_DIR": str(data / "raw"),
        "FINOPS_WAREHOUSE_PATH": str(data / "warehouse.duckdb"),
    }
    env.pop("FINOPS_CURRENCY", None)
    proc = subprocess.run(
        [
            DBT_EXECUTABLE,
            *args,
            "--project-dir",
            str(dbt_project.project_dir),
            "--profiles-dir",
            str(dbt_project.profiles_dir),
            "--target-path",
            str(data / "dbt_target"),
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout[-3000:]


def test_a_second_currency_is_reported_never_added(restatable, tmp_path):
    part = sorted((restatable.export_root / "data" / "BILLING_PERIOD=2026-09").glob("*.parquet"))[0]
    frame = pl.read_parquet(part)
    eur = pl.int_range(pl.len()) < 100
    frame.with_columns(
        line_item_currency_code=pl.when(eur).then(pl.lit("EUR")).otherwise("line_item_currency_code")
    ).write_parquet(part)
    data = tmp_path / "data"
    raw, ledger = RawLake(data / "raw"), Ledger(data / "ledger.sqlite")
    ingest_cur_days(
        CurExport(str(restatable.export_root), data / "cache"),
        raw,
        ledger,
        SEPTEMBER,
        progress=lambda m: None,
    )
    optional_sources.ensure_readable(RawLake(data / "raw"))
    lake = (
        pl.scan_parquet(str(data / "raw" / "cur" / "*" / "*.parquet"))
        .group_by("line_item_currency_code")
        .agg(pl.len(), pl.col("line_item_unblended_cost").sum())
        .collect()
    )
    truth = {
        r["line_item_currency_code"]: (r["len"], r["line_item_unblended_cost"])
        for r in lake.iter_rows(named=True)
    }
    assert truth["EUR"][0] == 100

    window = json.dumps({"min_date": "2026-09-01", "max_date": "2026-10-01"})
    _dbt(data, "run", "--select", "+fct_cost_trend", "+fct_other_currency_cost", "--vars", window)
    with duckdb.connect(str(data / "warehouse.duckdb")) as con:
        usd = con.execute(
            "select sum(line_item_count), sum(billed_cost), "
            "string_agg(distinct billing_currency) from fct_daily_cost"
        ).fetchone()
        other = con.execute(
            "select billing_currency, sum(line_item_count), sum(billed_cost) "
            "from fct_other_currency_cost group by 1"
        ).fetchall()
        assert usd[0] == truth["USD"][0] and usd[2] == "USD"
        assert abs(usd[1] - Decimal(str(truth["USD"][1]))) < Decimal("0.01")
        assert [(c, n) for c, n, _ in other] == [("EUR", 100)]
        assert abs(other[0][2] - Decimal(str(truth["EUR"][1]))) < Decimal("0.01")
        eur_days = [
            r[0] for r in con.execute("select distinct usage_date from fct_other_currency_cost").fetchall()
        ]
        for day in eur_days:  # the lake's every line item is in one of the two marts, to the cent
            assert mart_conservation(con, ledger, day).passed
        export_marts(con, ["fct_daily_cost", "fct_cost_trend", "fct_other_currency_cost"], data / "exports")

    client = TestClient(create_app(data / "exports"))
    trend = client.get("/api/v1/costs/trend", params={"limit": 1000}).json()
    assert trend["currency"] == "USD"
    assert abs(
        sum(Decimal(r["billed_cost"]) for r in trend["data"]) - Decimal(str(truth["USD"][1]))
    ) < Decimal("0.01")
    others = client.get("/api/v1/costs/other-currencies", params={"limit": 1000}).json()
    assert {r["billing_currency"] for r in others["data"]} == {"EUR"} and others["currency"] is None
    assert sum(r["line_item_count"] for r in others["data"]) == 100
    assert dt.date.fromisoformat(others["data"][0]["usage_date"]) in eur_days
