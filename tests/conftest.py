"""Shared fixtures: the demo export (generated once) and a real moto S3 server over HTTP."""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
from pathlib import Path

import boto3
import pytest

from finops_dagster.demo.aws import aws_environ, moto_server, upload_tree
from finops_dagster.demo.generator import DemoConfig, generate
from finops_dagster.settings import DEMO_BUCKET, DEMO_EXPORT, DEMO_PREFIX, Settings
from finops_dagster.warehouse import dagster_dbt_light

# dagster-dbt as the code location imports it (without dbt-core in-process), whichever test
# module imports it first; tests/warehouse/test_dagster_dbt_light.py compares it with the usual
dagster_dbt_light.load()

SLOW_FILES = (
    "test_cli_sync.py",
    "test_backfill.py",  # whole CLI runs, the UI in Chromium
    "test_forecast_calibration.py",  # ~150 ETS fits
    # the insights' accuracy on planted data: a full dbt parse and build each
    "test_anomaly_shapes.py",
    "test_schedule_safety.py",
    "test_billing_audit_causes.py",
    "test_duckdb_limits.py",  # dbt twice, and a 3M-line-item build that spills to disk
    "test_vanished_day.py",
)  # two dbt builds of four models


def pytest_sessionstart(session) -> None:
    """PostgreSQL installed but stopped is started (and its `test` database created), so `make
    test` needs no manual step on a machine set up as the README says."""
    from tests.postgres import ensure_postgres

    state = ensure_postgres()
    if state not in ("running", "started"):
        print(f"\nwarning: {state}; the PostgreSQL tests will fail")


def pytest_collection_modifyitems(items) -> None:
    """``-m "not pipeline"`` is the fast inner loop (README, `make test-fast`): the tests that need
    the full demo pipeline, a real sync or the UI are marked here, from their fixtures and files,
    so a new test is classified without anyone remembering to."""
    for item in items:
        if {"pipeline", "warehouse"} & set(getattr(item, "fixturenames", ())) or item.path.name in SLOW_FILES:
            item.add_marker(pytest.mark.pipeline)


@pytest.fixture(scope="session")
def demo(tmp_path_factory) -> dict:
    """The deterministic demo export (seed 42) and its ground truth."""
    return generate(DemoConfig(out_dir=tmp_path_factory.mktemp("demo")))


@pytest.fixture(scope="session")
def csv_export(tmp_path_factory) -> dict:
    """The same demo export delivered as CUR 2.0 csv.gz files."""
    return generate(DemoConfig(out_dir=tmp_path_factory.mktemp("csv")), fmt="csv.gz")


@pytest.fixture(scope="session")
def moto_endpoint():
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def aws_env(moto_endpoint):
    mp = pytest.MonkeyPatch()
    for key, value in aws_environ(moto_endpoint).items():
        mp.setenv(key, value)
    yield moto_endpoint
    mp.undo()


@pytest.fixture
def s3(aws_env):
    return boto3.client("s3")


_bucket_counter = iter(range(10_000))
PG_SERVER = "postgresql+psycopg2://postgres@127.0.0.1:5432"


@pytest.fixture
def s3_export(s3, demo) -> str:
    """A fresh bucket holding the demo export; tests may damage it freely."""
    bucket = f"{DEMO_BUCKET}-{next(_bucket_counter)}"
    upload_tree(s3, Path(demo["export_root"]).parents[1], bucket)
    return f"s3://{bucket}/{DEMO_PREFIX}/{DEMO_EXPORT}"


@pytest.fixture
def local_export(demo, tmp_path) -> Path:
    """A private copy of the demo export folder, for tests that damage files."""
    target = tmp_path / "export"
    shutil.copytree(demo["export_root"], target)
    return target


def days_between(start: str, end: str) -> list[dt.date]:
    a, b = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    return [a + dt.timedelta(days=i) for i in range((b - a).days + 1)]


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="session")
def pipeline(tmp_path_factory, request):
    """The demo exactly as `finops-dagster demo` runs it: every source through its real protocol
    (moto S3/CloudWatch/STS, the Cost Explorer endpoint), every mart built, a restated month
    re-delivered to S3 and synced, on a real (SQLite) Dagster instance. Shared by the pipeline
    and mart tests: building it is the expensive part of the suite."""
    import dagster as dg

    from finops_dagster.demo.business_data import write_csv
    from finops_dagster.demo.environment import demo_endpoints
    from finops_dagster.demo.run import run_demo
    from finops_dagster.instance import prepare_home

    root = tmp_path_factory.mktemp("e2e")
    cfg = DemoConfig(out_dir=root / "demo")
    truth = generate(cfg)
    write_csv(root / "demo" / "business")
    with demo_endpoints(cfg, progress=lambda m: None) as endpoints:
        settings = Settings(data_dir=root, as_of="2026-10-31", cur_export_url=endpoints.cur_export_url)
        # a real instance home (the shipped dagster.yaml, SQLite): the UI tests open it after
        home = prepare_home(root, {"DAGSTER_HOME": str(root / "dagster_home")})
        with dg.DagsterInstance.from_config(str(home)) as instance:
            report = run_demo(settings, truth, instance, redeliver=endpoints.redeliver)
            build = _start_spark_if_selected(request, settings, tmp_path_factory) if report.ok else None
            try:
                yield settings, instance, report, truth
            finally:
                if build is not None:
                    build.stop()


def _start_spark_if_selected(request, settings, tmp_path_factory):
    """When the Spark tests are in this session, their whole-project Spark build (the suite's
    longest step, ~3.5 min) starts now, on the pristine demo lake, and runs while the other
    pipeline tests do; tests/warehouse/test_spark_target.py waits for it."""
    from tests.engines import SPARK_BUILD, start_spark_build

    if not any("test_spark_target.py" in item.nodeid for item in request.session.items):
        return None
    started = start_spark_build(settings, tmp_path_factory)
    request.config.stash[SPARK_BUILD] = started
    return started[2]


@pytest.fixture(scope="session")
def warehouse(pipeline):
    """A read-only query function over the demo's warehouse: ``warehouse(sql, *params)``."""
    import duckdb

    settings, _, report, _ = pipeline
    assert report.ok, report.render()

    def query(sql: str, *params) -> list[tuple]:
        with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
            return con.execute(sql, list(params)).fetchall()

    return query


def mart_names() -> set[str]:
    """The marts of the dbt project (models under models/marts), from its manifest: tests count
    against this instead of a number edited by hand whenever a mart is added."""
    import json

    from finops_dagster.defs.warehouse.project import ensure_manifest

    manifest = json.loads(ensure_manifest().read_text())
    return {
        n["name"]
        for n in manifest["nodes"].values()
        if n["resource_type"] == "model"
        and n["fqn"][1] == "marts"
        and n["config"]["materialized"] != "ephemeral"
    }  # a mart's helper is not a mart


def mart_snapshot(settings: Settings) -> dict[str, list[tuple]]:
    """Every mart's rows, sorted: equal snapshots mean no mart row changed."""
    import duckdb

    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        names = [
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables "
                "where table_name like 'fct_%' or table_name like 'dim_%'"
            ).fetchall()
        ]
        return {n: con.execute(f"select * from {n} order by all").fetchall() for n in names}


@pytest.fixture
def pg_database():
    """A fresh database on the local PostgreSQL server, dropped afterwards."""
    import uuid

    import sqlalchemy as sa

    name = f"finops_dagster_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as con:
        con.execute(sa.text(f'create database "{name}"'))
    yield f"{PG_SERVER}/{name}"
    with admin.connect() as con:
        con.execute(sa.text(f'drop database "{name}" with (force)'))
    admin.dispose()


@pytest.fixture(autouse=True)
def live_instance_context():
    """Loading definitions reads Dagster's *current* defs-state storage, a context variable an
    instance sets while it is open; a test that opened and disposed an instance can leave it
    pointing at a dead one. Each test starts inside a live ephemeral instance instead."""
    import dagster as dg

    with dg.DagsterInstance.ephemeral() as instance:
        yield instance


@pytest.fixture
def restatable(demo, tmp_path) -> DemoConfig:
    """A private copy of the demo's files, so a test can re-deliver (restate) a period."""
    out = tmp_path / "demo"
    shutil.copytree(Path(demo["export_root"]).parents[3], out)
    cfg = DemoConfig(out_dir=out)
    assert cfg.export_root.exists(), cfg.export_root
    return cfg
