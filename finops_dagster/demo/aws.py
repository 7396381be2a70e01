"""Local AWS endpoints for the offline demo and the tests: a moto server in its own process.

Real boto3 clients talk HTTP to it through the standard ``AWS_ENDPOINT_URL_<SERVICE>``
variables, so the code under test is the production code path.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def moto_server(port: int | None = None, timeout: float = 30.0) -> Iterator[str]:
    """Start ``moto_server`` on 127.0.0.1 and yield its endpoint URL; stop it on exit."""
    port = port or free_port()
    endpoint = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "finops_dagster.demo.moto_launcher", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_http(f"{endpoint}/moto-api/", proc, timeout, f"moto server did not start on {endpoint}")
        yield endpoint
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def wait_for_http(url: str, proc: subprocess.Popen, timeout: float, failure: str) -> None:
    """Poll ``url`` until it answers; raise ``failure`` if ``proc`` dies or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(failure) from None
            time.sleep(0.2)


def aws_environ(endpoint: str) -> dict[str, str]:
    """Variables that point every boto3 client at ``endpoint`` with throwaway credentials."""
    return {**FAKE_CREDENTIALS, "AWS_ENDPOINT_URL": endpoint, "AWS_ENDPOINT_URL_S3": endpoint}


def upload_tree(s3_client, local_bucket_dir: Path, bucket: str) -> int:
    """Upload a local mirror of a bucket (as the demo writes it); returns the object count."""
    existing = {b["Name"] for b in s3_client.list_buckets().get("Buckets", [])}
    if bucket not in existing:
        s3_client.create_bucket(Bucket=bucket)
    count = 0
    for path in sorted(local_bucket_dir.rglob("*")):
        if path.is_file():
            s3_client.upload_file(str(path), bucket, path.relative_to(local_bucket_dir).as_posix())
            count += 1
    return count
