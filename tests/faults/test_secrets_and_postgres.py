"""Secrets stay secret and PostgreSQL blips are survived (issue 14, F8 and "one dropped PostgreSQL
connection fails a whole run")."""

from __future__ import annotations

import threading
import time
import uuid

import dagster as dg
import pytest
import sqlalchemy as sa

from finops_dagster.definitions import build_definitions
from finops_dagster.demo.business_data import load_postgres
from finops_dagster.redact import redact
from finops_dagster.settings import BUSINESS_ENV, Settings
from finops_dagster.sources.business import BusinessDataError, BusinessSource
from tests.conftest import PG_SERVER

PG = f"{PG_SERVER}/test"


def test_the_business_url_reaches_the_ui_as_a_variable_name(tmp_path, demo, monkeypatch):
    secret_url = "postgresql+psycopg2://app:hunter2@db.internal:5432/biz"
    monkeypatch.setenv(BUSINESS_ENV, secret_url)
    defs = build_definitions(
        Settings(data_dir=tmp_path, cur_export_url=demo["export_root"], business_url=secret_url)
    )
    business = defs.resources["business"]
    assert isinstance(business.url, dg.EnvVar) and business.url.env_var_name == BUSINESS_ENV
    assert "hunter2" not in repr(business) and "hunter2" not in repr(defs.resources)


@pytest.mark.parametrize(
    "text",
    [
        "could not connect postgresql+psycopg2://app:hunter2@db.internal:5432/biz",
        "posting to https://hooks.slack.com/services/T0/B0/hunter2 failed",
        "unknown url type: 'hooks.slack.com/services/T0/B0/hunter2'",
        "postgresql://app:p@ss:hunter2@db/biz",
    ],
)
def test_urls_are_redacted_in_every_message(text):
    assert "hunter2" not in redact(text)


def test_a_wrong_password_error_names_no_password():
    src = BusinessSource("postgresql+psycopg2://postgres:hunter2@127.0.0.1:1/test")
    with pytest.raises(BusinessDataError) as err:
        src.read("customers")
    assert "hunter2" not in str(err.value) and "OperationalError" in str(err.value)


def test_a_dropped_connection_is_retried():
    """The server kills the session in the middle of the query (as a restart, a failover or an
    idle-connection reaper does); the read goes through on a new connection."""
    schema = f"finops_drop_{uuid.uuid4().hex[:8]}"
    load_postgres(PG, schema)
    admin = sa.create_engine(PG, isolation_level="AUTOCOMMIT")
    with admin.connect() as con:  # a slow table: the query is still running when it is killed
        con.execute(sa.text(f'alter table "{schema}".customers rename to customers_data'))
        con.execute(
            sa.text(
                f'create view "{schema}".customers as select c.* from '
                f'"{schema}".customers_data c, (select pg_sleep(1.5)) s'
            )
        )
    killed = []

    def kill_once() -> None:
        time.sleep(0.7)
        with admin.connect() as con:
            killed.extend(
                con.execute(
                    sa.text(
                        "select pg_terminate_backend(pid) from pg_stat_activity "
                        "where query like '%customers%' "
                        "and pid <> pg_backend_pid() and state = 'active'"
                    )
                ).scalars()
            )

    try:
        thread = threading.Thread(target=kill_once)
        thread.start()
        customers = BusinessSource(f"{PG}?schema={schema}").read("customers")
        thread.join()
        assert killed == [True]
        assert customers.height == 3
    finally:
        with admin.connect() as con:
            con.execute(sa.text(f'drop schema "{schema}" cascade'))
        admin.dispose()
