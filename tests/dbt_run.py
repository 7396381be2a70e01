"""Build one dbt model on a warehouse file that holds only its inputs: how the insight and
efficiency tests run the real SQL on planted data of their own, independent of the demo."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from finops_dagster.defs.warehouse.project import DBT_EXECUTABLE, dbt_project


def run_dbt(
    root: Path, command: list[str], environ: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """``dbt <command>`` against ``root/warehouse.duckdb`` (its lake in ``root/raw``)."""
    env = {
        **os.environ,
        "FINOPS_WAREHOUSE_PATH": str(root / "warehouse.duckdb"),
        "FINOPS_DATA_DIR": str(root),
        "FINOPS_RAW_LAKE_DIR": str(root / "raw"),
        **(environ or {}),
    }
    return subprocess.run(
        [
            DBT_EXECUTABLE,
            *command,
            "--project-dir",
            str(dbt_project.project_dir),
            "--profiles-dir",
            str(dbt_project.profiles_dir),
            "--target-path",
            str(root / "target"),
        ],
        env=env,
        capture_output=True,
        text=True,
    )


def build_model(root: Path, model: str, environ: dict[str, str] | None = None) -> None:
    """``dbt run --select model`` against ``root/warehouse.duckdb``; fails with dbt's output."""
    proc = run_dbt(root, ["run", "--select", model], environ)
    assert proc.returncode == 0, proc.stdout[-3000:]


# what int_cur__line_items_daily reads from int_cur__line_items_costed, for planted lines that
# leave a column out
COSTED_DEFAULTS = {
    "billing_account_id": "'000000000000'",
    "service_name": "service_code",
    "resource_id": "null::varchar",
    "instance_type": "null::varchar",
    "region_id": "'us-east-1'",
    "usage_type": "''",
    "billing_currency": "'USD'",
    "tags": "map()::map(varchar, varchar)",
    "tag_team": "null::varchar",
    "tag_service": "null::varchar",
    "tag_customer": "null::varchar",
    "tag_environment": "null::varchar",
    "cost_category_team": "null::varchar",
    "cost_category_environment": "null::varchar",
    "public_on_demand_rate": "cast(0 as decimal(38, 10))",
    "charge_period_start": "cast(usage_date as timestamp)",
    **{
        money: "cast(0 as decimal(38, 10))"
        for money in (
            "public_on_demand_cost",
            "net_unblended_cost",
            "blended_cost",
            "amortization_true_up",
            "upfront_fee",
        )
    },
}


def create_costed_lines(con, select_sql: str) -> None:
    """``int_cur__line_items_costed`` as a table of the planted lines, the columns they leave out
    filled with neutral values, so the real day aggregates (int_cur__line_items_daily) and every
    model after them run on them."""
    con.execute(f"create temp view planted as {select_sql}")
    have = {r[0] for r in con.execute("describe planted").fetchall()}
    extra = ", ".join(f"{sql} as {name}" for name, sql in COSTED_DEFAULTS.items() if name not in have)
    con.execute(
        f"create table int_cur__line_items_costed as select *{', ' + extra if extra else ''} from planted"
    )
