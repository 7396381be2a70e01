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
from finops_dagster.settings import DEMO_BUCKET, DEMO_EXPORT, DEMO_PREFIX


@pytest.fixture(scope="session")
def demo(tmp_path_factory) -> dict:
    """The deterministic demo export (seed 42) and its ground truth."""
    return generate(DemoConfig(out_dir=tmp_path_factory.mktemp("demo")))


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
