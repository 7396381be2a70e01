"""dbt's generic tests of a day-partitioned model check the partition window's days only
(macros/test_window.sql): a one-day refresh no longer tests the whole history again (issue 17
item 2, "a day costs a day"), while a table model's tests, and a build without a window, still
cover every row."""

from __future__ import annotations

import subprocess

import duckdb

from tests.dbt_run import run_dbt


def _dbt_test(root, select: str, window: tuple[str, str] | None) -> subprocess.CompletedProcess:
    first, last = window or ("", "")
    return run_dbt(
        root, ["test", "--select", select], {"FINOPS_DBT_MIN_DATE": first, "FINOPS_DBT_MAX_DATE": last}
    )


def test_generic_tests_of_a_day_partitioned_model_check_the_window(tmp_path):
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        # fct_daily_cost (incremental by day) with a repeated cost_key on 2026-08-02 only
        con.execute(
            "create table fct_daily_cost as select * from (values "
            "('k1', date '2026-08-01'), ('k2', date '2026-08-02'), ('k2', date '2026-08-02'), "
            "('k3', date '2026-08-03')) t(cost_key, usage_date)"
        )
        # fct_billing_audit (a table model) with a null key on a day outside the window
        con.execute(
            "create table fct_billing_audit as select * from (values ('a1', date '2026-08-03'), "
            "(null, date '2026-08-01')) t(audit_id, usage_date)"
        )
    select = "unique_fct_daily_cost_cost_key"
    assert _dbt_test(tmp_path, select, ("2026-08-03", "2026-08-04")).returncode == 0, "other days: not tested"
    failed = _dbt_test(tmp_path, select, ("2026-08-02", "2026-08-03"))
    assert failed.returncode == 1 and "1 of 1 FAIL 1 unique_fct_daily_cost_cost_key" in failed.stdout
    compiled = next(
        (tmp_path / "target" / "compiled").rglob("unique_fct_daily_cost_cost_key.sql")
    ).read_text()
    assert "usage_date >= cast('2026-08-02' as date)" in compiled
    assert _dbt_test(tmp_path, select, None).returncode == 1, "no window (a plain dbt build): every day"
    table = _dbt_test(tmp_path, "not_null_fct_billing_audit_audit_id", ("2026-08-03", "2026-08-04"))
    assert "FAIL 1 not_null_fct_billing_audit_audit_id" in table.stdout, "a table model's tests: every row"
