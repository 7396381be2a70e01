"""A day that a re-delivered billing period no longer holds leaves the marts (issue 17's refresh
path). dbt's delete+insert by usage_date deletes only the days its new rows hold: rebuilding a window in
which one day has become empty kept that day's old rows and cost in fct_daily_cost and every
incremental model after it. Each incremental model now clears its window first (macro
clear_window). Checked: without the pre-hook the second assertion fails (2026-09-02 kept $5)."""

from __future__ import annotations

from decimal import Decimal

import duckdb

from tests.dbt_run import build_model, create_costed_lines

MODELS = "int_cur__line_items_daily fct_daily_cost fct_daily_cost_tags fct_cost_trend"


def _lines(days: list[str]) -> str:
    return " union all ".join(
        f"select date '{d}' as usage_date, date '2026-09-01' as billing_period_start, "
        f"'111111111111' as sub_account_id, 'AmazonEC2' as service_code, 'i-1' as resource_id, "
        f"'Usage' as line_item_type, 'Usage' as charge_category, 1.0::double as usage_quantity, "
        f"map(['user_team'], ['core']) as tags, 'core' as tag_team, "
        f"cast(5 as decimal(38, 10)) as unblended_cost, cast(5 as decimal(38, 10)) as effective_cost"
        for d in days
    )


def _per_day(path) -> dict[str, tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        return {
            str(r[0]): r[1:]
            for r in con.execute(
                "select d.usage_date, sum(d.billed_cost), sum(d.line_item_count), "
                "(select sum(billed_cost) from fct_daily_cost_tags t where t.usage_date = d.usage_date), "
                "(select sum(billed_cost) from fct_cost_trend c where c.usage_date = d.usage_date) "
                "from fct_daily_cost d group by d.usage_date order by 1"
            ).fetchall()
        }


def test_a_day_emptied_by_a_redelivery_leaves_every_incremental_model(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        create_costed_lines(con, _lines(["2026-09-01", "2026-09-02", "2026-09-03"]))
    build_model(tmp_path, MODELS)
    five = (Decimal(5), 1, Decimal(5), Decimal(5))
    assert _per_day(path) == {"2026-09-01": five, "2026-09-02": five, "2026-09-03": five}

    with duckdb.connect(str(path)) as con:  # the re-delivery: 09-02 holds nothing any more
        con.execute("drop table int_cur__line_items_costed")
        create_costed_lines(con, _lines(["2026-09-01", "2026-09-03"]))
    build_model(tmp_path, MODELS, {"FINOPS_DBT_MIN_DATE": "2026-09-01", "FINOPS_DBT_MAX_DATE": "2026-09-04"})
    assert _per_day(path) == {"2026-09-01": five, "2026-09-03": five}
