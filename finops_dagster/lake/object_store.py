"""The raw lake on S3 (``FINOPS_RAW_LAKE_URL=s3://bucket/prefix``): immutable objects, one
pointer per day.

S3 has no rename, and a reader globbing a day folder while a writer replaces its file would see
both files or neither. So a day's data is never overwritten: each commit uploads a new object
``<folder>/usage_date=D/<commit id>.parquet`` and then replaces the day's pointer
``<folder>/_current/usage_date=D.json`` (one PUT: S3 makes it visible whole and at once, and
every later read sees it). Readers follow the pointers, never the folder listing, so they see
the old day or the new one. A one-file dataset works the same way with one pointer
(``<folder>/_current.json``); restatement diffs are immutable already (one object per
delivery) and are read by listing.

A superseded object stays until ``vacuum`` removes it after a retention (a dbt invocation
bound its views to the objects it found at its start, and may read them for minutes).

Credentials and endpoint come from boto3's standard chain (AWS_PROFILE, a role,
AWS_ENDPOINT_URL_S3, ...); DuckDB (httpfs, installed offline from its PyPI wheel) and Polars
are handed the same values.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CURRENT = "_current"
_DAY_OBJECT = re.compile(r"^(?P<folder>.+)/usage_date=(?P<day>\d{4}-\d{2}-\d{2})/[^/]+\.parquet$")


def is_s3(location: str | Path) -> bool:
    return str(location).startswith("s3://")


def split_url(url: str) -> tuple[str, str]:
    """``s3://bucket/a/b`` -> (``bucket``, ``a/b``)."""
    if not is_s3(url):
        raise ValueError(f"{url!r} is not an s3:// URL")
    bucket, _, key = url[len("s3://") :].partition("/")
    if not bucket:
        raise ValueError(f"{url!r} names no bucket")
    return bucket, key.strip("/")


@dataclass(frozen=True)
class ObjectLake:
    """The lake's root on S3; every path below is a URL ``s3://bucket/prefix/...``."""

    url: str

    @functools.cached_property
    def session(self) -> Any:
        import boto3

        return boto3.session.Session()

    @functools.cached_property
    def client(self) -> Any:
        from botocore.config import Config

        # room for the pointer reads done in parallel (current_days)
        return self.session.client("s3", config=Config(max_pool_connections=32))

    def folder_url(self, folder: str) -> str:
        return f"{self.url.rstrip('/')}/{folder}"

    def day_object(self, folder: str, day: dt.date, commit_id: str) -> str:
        return f"{self.folder_url(folder)}/usage_date={day.isoformat()}/{commit_id}.parquet"

    def file_object(self, folder: str, commit_id: str) -> str:
        return f"{self.folder_url(folder)}/data-{commit_id}.parquet"

    # ---- writing -------------------------------------------------------------------------
    def upload(self, local: Path, url: str) -> None:
        """Idempotent: the same file to the same immutable name (a re-applied journal)."""
        bucket, key = split_url(url)
        self.client.upload_file(str(local), bucket, key)

    def put_frame(self, frame: Any, url: str, publish: bool) -> None:
        """A Polars frame as the object ``url`` (through a temporary file), then its pointer
        when ``publish``: the one-file datasets and the empty schema files."""
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            local = Path(tmp) / "data.parquet"
            frame.write_parquet(local)
            if publish:
                self.publish(local, url)
            else:
                self.upload(local, url)

    def publish(self, local: Path, url: str) -> None:
        """Upload ``local`` as the immutable ``url``, then point its day (or its one-file
        dataset) at it: the pointer's PUT is the moment readers switch."""
        self.upload(local, url)
        self.point(url)

    def point(self, url: str) -> None:
        bucket, key = split_url(pointer_of(url))
        body = json.dumps({"object": url, "published_at": dt.datetime.now(dt.UTC).isoformat()})
        self.client.put_object(Bucket=bucket, Key=key, Body=body.encode(), ContentType="application/json")

    # ---- reading -------------------------------------------------------------------------
    def current(self, pointer_url: str) -> str | None:
        """The object a pointer names, or None when there is no pointer."""
        bucket, key = split_url(pointer_url)
        try:
            body = self.client.get_object(Bucket=bucket, Key=key)["Body"].read()
        except self.client.exceptions.NoSuchKey:
            return None
        return json.loads(body)["object"]

    def current_day(self, folder: str, day: dt.date) -> str | None:
        return self.current(f"{self.folder_url(folder)}/{CURRENT}/usage_date={day.isoformat()}.json")

    def current_file(self, folder: str) -> str | None:
        return self.current(f"{self.folder_url(folder)}/{CURRENT}.json")

    def current_days(self, folder: str) -> dict[dt.date, str]:
        """Every day's current object (one LIST, then the pointers read in parallel)."""
        pointers = self.list(f"{self.folder_url(folder)}/{CURRENT}/")
        days = [dt.date.fromisoformat(u.rsplit("usage_date=", 1)[1][:10]) for u in pointers]
        with ThreadPoolExecutor(max_workers=16) as pool:
            objects = list(pool.map(self.current, pointers))
        return {d: o for d, o in zip(days, objects, strict=True) if o}

    def list(self, prefix_url: str) -> list[str]:
        bucket, prefix = split_url(prefix_url)
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return [f"s3://{bucket}/{o['Key']}" for page in pages for o in page.get("Contents", [])]

    def exists(self, url: str) -> bool:
        bucket, key = split_url(url)
        try:
            self.client.head_object(Bucket=bucket, Key=key)
        except self.client.exceptions.ClientError:
            return False
        return True

    # ---- housekeeping --------------------------------------------------------------------
    def vacuum(
        self, folder: str, retention: dt.timedelta = dt.timedelta(days=1), now: dt.datetime | None = None
    ) -> list[str]:
        """Delete the day objects no pointer names that were superseded longer ago than
        ``retention``; returns them. Objects of a commit still being published (uploaded, pointer
        not yet written) are younger than any sensible retention and stay."""
        now = now or dt.datetime.now(dt.UTC)
        live = set(self.current_days(folder).values())
        bucket, prefix = split_url(self.folder_url(folder) + "/")
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        doomed = [
            o["Key"]
            for page in pages
            for o in page.get("Contents", [])
            if _DAY_OBJECT.match(o["Key"])
            and f"s3://{bucket}/{o['Key']}" not in live
            and now - o["LastModified"] >= retention
        ]
        for start in range(0, len(doomed), 1000):
            self.client.delete_objects(
                Bucket=bucket,
                Delete={"Objects": [{"Key": k} for k in doomed[start : start + 1000]], "Quiet": True},
            )
        return [f"s3://{bucket}/{k}" for k in doomed]

    # ---- what other readers need ---------------------------------------------------------
    def credentials(self) -> dict[str, str]:
        """What boto3's chain resolved (key, secret, token, region, endpoint): handed to DuckDB
        and Polars, which do not read AWS profiles or roles themselves."""
        creds = self.session.get_credentials()
        frozen = creds.get_frozen_credentials() if creds else None
        return {
            "key_id": getattr(frozen, "access_key", "") or "",
            "secret": getattr(frozen, "secret_key", "") or "",
            "session_token": getattr(frozen, "token", "") or "",
            "region": self.client.meta.region_name or "us-east-1",
            "endpoint_url": self.client.meta.endpoint_url,
        }

    def polars_options(self) -> dict[str, str]:
        c = self.credentials()
        options = {
            "aws_access_key_id": c["key_id"],
            "aws_secret_access_key": c["secret"],
            "aws_region": c["region"],
            "aws_endpoint_url": c["endpoint_url"],
            "aws_allow_http": "true" if c["endpoint_url"].startswith("http://") else "false",
        }
        if c["session_token"]:
            options["aws_session_token"] = c["session_token"]
        return options

    def duckdb_environment(self) -> dict[str, str]:
        """The S3 secret's fields for a dbt process (profiles.yml's secret): passed in the
        process environment, never written to a file."""
        c = self.credentials()
        endpoint = c["endpoint_url"]
        host = re.sub(r"^https?://", "", endpoint).rstrip("/")
        return {
            "FINOPS_S3_KEY_ID": c["key_id"],
            "FINOPS_S3_SECRET": c["secret"],
            "FINOPS_S3_SESSION_TOKEN": c["session_token"],
            "FINOPS_S3_REGION": c["region"],
            "FINOPS_S3_ENDPOINT": host,
            "FINOPS_S3_USE_SSL": "false" if endpoint.startswith("http://") else "true",
            "FINOPS_S3_URL_STYLE": "vhost" if host.endswith("amazonaws.com") else "path",
        }


def pointer_of(url: str) -> str:
    """The pointer an immutable object is published under: its day's, or its dataset's."""
    m = _DAY_OBJECT.match(url)
    if m:
        return f"{m['folder']}/{CURRENT}/usage_date={m['day']}.json"
    folder, _, name = url.rpartition("/")
    if not name.startswith("data-"):
        raise ValueError(f"{url}: neither a day object nor a one-file dataset's object")
    return f"{folder}/{CURRENT}.json"


def httpfs_extension() -> Path:
    """The httpfs build the ``duckdb-extension-httpfs`` wheel ships for this DuckDB."""
    import duckdb
    import duckdb_extension_httpfs

    path = (
        Path(duckdb_extension_httpfs.__file__).parent
        / "extensions"
        / f"v{duckdb.__version__}"
        / "httpfs.duckdb_extension"
    )
    if not path.exists():
        raise RuntimeError(
            f"{path} is missing: duckdb-extension-httpfs must match DuckDB "
            f"{duckdb.__version__} (pyproject.toml pins both)"
        )
    return path


def install_httpfs(con: Any) -> None:
    """Install httpfs from the wheel (DuckDB cannot download it here) and load it. Installing
    copies it into DuckDB's extension folder, where dbt's own connections then autoload it."""
    con.execute(f"install '{httpfs_extension()}'")
    con.execute("load httpfs")


def dbt_process_environment(environment: dict[str, str]) -> dict[str, str]:
    """A dbt process's environment: on an S3 lake, httpfs installed where dbt's DuckDB autoloads
    it and the credentials boto3's chain resolves now (short-lived role credentials stay fresh;
    they live in the child's environment only)."""
    url = environment.get("FINOPS_RAW_LAKE_URL", "")
    if not url:
        return environment
    import duckdb

    with duckdb.connect() as con:
        install_httpfs(con)
    return {**environment, **ObjectLake(url).duckdb_environment()}
