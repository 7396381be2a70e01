"""Business data from files and from the local PostgreSQL server, with bad input."""

import datetime as dt
import uuid

import polars as pl
import pytest

from finops_dagster.demo.business_data import load_postgres, write_csv
from finops_dagster.sources.business import BusinessDataError, BusinessSource

PG = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
OCT = (dt.date(2026, 10, 1), dt.date(2026, 11, 1))


@pytest.fixture
def folder(tmp_path):
    return write_csv(tmp_path / "business")


def _check(src: BusinessSource):
    customers = src.read("customers")
    assert customers.sort("customer_id")["mrr"].to_list() == [2400, 1500, 90]
    reqs = src.requests(*OCT, customers)
    assert reqs.height == 30 * 9  # 31 days, one missing, 9 customer x service pairs
    assert dt.date(2026, 10, 12) not in set(reqs["usage_date"])
    db = (
        reqs.filter(pl.col("service") == "shared-db")
        .group_by("customer_id")
        .agg(pl.col("request_count").sum())
        .sort("customer_id")
    )
    assert db["request_count"].to_list() == [150000, 90000, 60000]
    assert src.read("budgets").height == 5
    assert set(src.read("shared_rules")["service_tag"]) == {"shared-db", "shared-cache", "shared-cdn"}


def test_files(folder):
    _check(BusinessSource(str(folder)))


def test_postgres():
    schema = f"finops_test_{uuid.uuid4().hex[:8]}"
    load_postgres(PG, schema)
    try:
        _check(BusinessSource(f"{PG}?schema={schema}"))
    finally:
        import sqlalchemy as sa

        engine = sa.create_engine(PG)
        with engine.begin() as con:
            con.execute(sa.text(f'drop schema "{schema}" cascade'))
        engine.dispose()


def test_postgres_missing_table_is_clear():
    with pytest.raises(BusinessDataError, match=r"table nope\.customers: ProgrammingError"):
        BusinessSource(f"{PG}?schema=nope").read("customers")


@pytest.mark.parametrize(
    "name,edit,message",
    [
        ("customers", lambda t: t.replace("2400.00", "lots"), r"customers.csv: row 1, column mrr: 'lots'"),
        ("customers", lambda t: t.replace("1500.00", "-1500.00"), r"row 2, column mrr: negative"),
        (
            "requests",
            lambda t: t.replace("2026-10-05,acme,", "2026-10-05,umbrella,", 1),
            r"unknown customer_id .umbrella. on 2026-10-05",
        ),
        ("budgets", lambda t: t.replace("team,", "squad,"), r"column scope_type: 'squad'"),
        ("budgets", lambda t: t.replace("monthly_budget", "budget"), r"missing column\(s\) monthly_budget"),
    ],
)
def test_bad_input_names_file_row_and_column(folder, name, edit, message):
    path = folder / f"{name}.csv"
    path.write_text(edit(path.read_text()))
    src = BusinessSource(str(folder))
    with pytest.raises(BusinessDataError, match=message):
        if name == "requests":
            src.requests(*OCT, src.read("customers"))
        else:
            src.read(name)
