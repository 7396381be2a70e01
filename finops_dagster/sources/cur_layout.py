"""Which CUR layout an export root holds, and each billing period's current delivery.

AWS has delivered cost and usage reports in four layouts, and a user gives only the root URL:

- ``cur2``: CUR 2.0 / Data Exports, ``data/BILLING_PERIOD=YYYY-MM/`` and
  ``metadata/BILLING_PERIOD=YYYY-MM/<export>-Manifest.json`` (``executionId``, ``dataFiles``).
- ``legacy_create_new``: legacy CUR with report versioning "create new report":
  ``YYYYMMDD-YYYYMMDD/<assemblyId>/<report>-N.csv.gz`` (or Parquet), the period's current
  manifest in ``YYYYMMDD-YYYYMMDD/<report>-Manifest.json`` (``assemblyId``, ``reportKeys``).
- ``legacy_overwrite``: "overwrite existing report": the data files beside that manifest.
- ``athena``: legacy Parquet with the Athena integration, ``<report>/year=YYYY/month=M/*.parquet``
  with or without period manifests; ``cost_and_usage_data_status/`` says READY or UPDATING.

Discovery is plain Python over a listing (key, etag, size) so local folders and S3 behave the
same. Manifest entries are matched to listed keys by path suffix, so an entry can never name a
file outside the root. A period whose files exist but form no usable delivery is a problem that
names the files, never "missing".
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field

CUR2_MANIFEST = re.compile(r"(?:^|/)metadata/BILLING_PERIOD=(\d{4})-(\d{2})/[^/]*Manifest\.json$")
CUR2_DATA = re.compile(r"(?:^|/)data/BILLING_PERIOD=(\d{4})-(\d{2})/")
LEGACY_MANIFEST = re.compile(r"(?:^|/)((\d{4})(\d{2})01-\d{8})/([^/]*)-Manifest\.json$")
LEGACY_DATA = re.compile(r"(?:^|/)(\d{4})(\d{2})01-\d{8}/")
ATHENA_DATA = re.compile(r"(?:^|/)year=(\d{4})/month=(\d{1,2})/[^/]+$")
STATUS_FILE = re.compile(r"(?:^|/)cost_and_usage_data_status/[^/]*\.parquet$")
DATA_SUFFIXES = (".parquet", ".csv.gz")


class LayoutError(Exception):
    """A delivery that cannot be used; the message names the files and what to do."""


@dataclass(frozen=True)
class StoredObject:
    key: str  # relative to the export root
    etag: str
    size: int


@dataclass(frozen=True)
class Manifest:
    """One billing period's current delivery (from a manifest, or from an Athena month folder)."""

    billing_period: str  # YYYY-MM
    delivery_id: str  # executionId (CUR 2.0), assemblyId (legacy) or a digest of the files
    manifest_key: str  # the manifest, or the month folder when there is none
    etag: str
    data_files: tuple[str, ...]  # keys relative to the export root
    columns: tuple[str, ...]  # declared by the manifest; empty when it declares none
    layout: str = "cur2"


@dataclass
class Discovery:
    layouts: list[str] = field(default_factory=list)
    deliveries: dict[str, Manifest] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)  # period -> what is wrong, with files
    data_files: int = 0
    data_bytes: int = 0
    status: str = ""  # cost_and_usage_data_status where the export has one (READY / UPDATING)

    @property
    def empty(self) -> bool:
        return not self.deliveries and not self.problems

    @staticmethod
    def nothing_found(url: str) -> str:
        return (
            f"no export found under {url} (looked for CUR 2.0 metadata/BILLING_PERIOD=YYYY-MM/"
            "*-Manifest.json, legacy YYYYMMDD-YYYYMMDD/*-Manifest.json and Athena "
            "year=YYYY/month=M/*.parquet); point the URL at the export or report folder"
        )

    def describe(self) -> str:
        layout = ", ".join(self.layouts) or "none"
        return (
            f"layout {layout}: {len(self.deliveries)} billing period(s) with a delivery, "
            f"{self.data_files} data file(s), {self.data_bytes / 1e6:.1f} MB"
            + (f", data status {self.status}" if self.status else "")
        )


def _period(year: str, month: str) -> str:
    return f"{int(year):04d}-{int(month):02d}"


def period_bounds(period: str) -> tuple[dt.date, dt.date]:
    """First day of the billing period (``YYYY-MM``) and first day of the next (exclusive end)."""
    y, m = map(int, period.split("-"))
    start = dt.date(y, m, 1)
    return start, start + dt.timedelta(days=calendar.monthrange(y, m)[1])


def discover(
    objects: list[StoredObject],
    read_text: Callable[[str], str],
    describe: Callable[[str], str],
    read_status: Callable[[str], str] | None = None,
) -> Discovery:
    found = Discovery()
    data = [o for o in objects if o.key.endswith(DATA_SUFFIXES) and not STATUS_FILE.search(o.key)]
    found.data_files, found.data_bytes = len(data), sum(o.size for o in data)
    used: set[str] = set()

    def add(m: Manifest) -> None:
        other = found.deliveries.get(m.billing_period)
        if other is not None and other.manifest_key != m.manifest_key:
            found.problems[m.billing_period] = (
                f"two deliveries for {m.billing_period}: {describe(other.manifest_key)} and "
                f"{describe(m.manifest_key)}; point FINOPS_CUR_EXPORT_URL at one export or report"
            )
            return
        found.deliveries[m.billing_period] = m
        used.update(m.data_files)
        if m.layout not in found.layouts:
            found.layouts.append(m.layout)

    for o in objects:
        if match := CUR2_MANIFEST.search(o.key):
            period = _period(*match.groups())
            try:
                add(_parse(o, period, "cur2", read_text, describe, data))
            except LayoutError as exc:
                found.problems[period] = str(exc)
        elif (match := LEGACY_MANIFEST.search(o.key)) and _is_period_manifest(o.key, match):
            period = _period(match.group(2), match.group(3))
            try:
                add(_parse(o, period, "legacy", read_text, describe, data))
            except LayoutError as exc:
                found.problems[period] = str(exc)

    months: dict[str, list[StoredObject]] = {}
    for o in data:
        if o.key not in used and (match := ATHENA_DATA.search(o.key)):
            months.setdefault(_period(*match.groups()), []).append(o)
    for period, files in sorted(months.items()):
        if period in found.deliveries or period in found.problems:
            continue
        files.sort(key=lambda o: o.key)
        digest = hashlib.sha256("\n".join(f"{o.key}:{o.etag}" for o in files).encode()).hexdigest()
        folder = files[0].key.rsplit("/", 1)[0]
        add(
            Manifest(
                period, f"files-{digest[:16]}", folder, digest[:16], tuple(o.key for o in files), (), "athena"
            )
        )

    statuses = [o.key for o in objects if STATUS_FILE.search(o.key)]
    if statuses and read_status is not None:
        found.status = read_status(statuses[0])
        if found.status.upper() == "UPDATING":
            for period, m in list(found.deliveries.items()):
                if m.layout == "athena":
                    found.problems[period] = (
                        f"{describe(statuses[0])} says UPDATING: AWS is rewriting the report; "
                        "sync again when it says READY"
                    )
                    del found.deliveries[period]

    orphans: set[str] = set()
    for o in data:  # files that no usable delivery covers
        if o.key in used:
            continue
        match = CUR2_DATA.search(o.key) or LEGACY_DATA.search(o.key) or ATHENA_DATA.search(o.key)
        if not match or (period := _period(*match.groups()[:2])) in found.deliveries:
            continue
        if period not in found.problems:
            orphans.add(period)
            found.problems[period] = (
                f"data files but no manifest for {period} (a delivery still being written, or a "
                f"manifest deleted): {describe(o.key)}"
            )
        elif period in orphans and found.problems[period].count(", ") < 5:
            found.problems[period] += f", {describe(o.key)}"
    return found


def _is_period_manifest(key: str, match: re.Match) -> bool:
    """The period folder's manifest (the current delivery), not an assembly folder's copy."""
    return key[match.start(1) :].count("/") == 1


def _parse(
    obj: StoredObject,
    period: str,
    layout: str,
    read_text: Callable[[str], str],
    describe: Callable[[str], str],
    data: list[StoredObject],
) -> Manifest:
    where = describe(obj.key)
    try:
        doc = json.loads(read_text(obj.key))
    except json.JSONDecodeError as exc:
        raise LayoutError(f"{where}: manifest is not valid JSON ({exc})") from exc
    if not isinstance(doc, dict):
        raise LayoutError(f"{where}: manifest is not a JSON object")
    files = doc.get("dataFiles") or doc.get("reportKeys")
    delivery = doc.get("executionId") or doc.get("assemblyId")
    if not isinstance(files, list) or not files or not delivery:
        raise LayoutError(f"{where}: manifest lacks dataFiles/reportKeys or executionId/assemblyId")
    if not all(isinstance(f, str) for f in files):
        raise LayoutError(f"{where}: manifest dataFiles/reportKeys must be strings")
    columns = tuple(
        f"{c['category']}/{c['name']}" if c.get("category") else c["name"]
        for c in doc.get("columns", [])
        if isinstance(c, dict) and "name" in c
    )
    keys = tuple(_locate(f, where, data, describe) for f in files)
    if layout == "legacy":
        folder = obj.key.rsplit("/", 1)[0]
        if any("year=" in k for k in keys):
            layout = "athena"
        elif all(k.rsplit("/", 1)[0] == folder for k in keys):
            layout = "legacy_overwrite"
        else:
            layout = "legacy_create_new"
    return Manifest(period, str(delivery), obj.key, obj.etag, keys, columns, layout)


def _locate(entry: str, where: str, data: list[StoredObject], describe: Callable[[str], str]) -> str:
    """A manifest entry (``s3://bucket/key`` or a bucket key) as a key under the root: the listed
    data file whose path the entry ends with. Entries never reach outside the root."""
    path = entry.split("://", 1)[1].split("/", 1)[-1] if "://" in entry else entry.lstrip("/")
    best = ""
    for o in data:
        if (path == o.key or path.endswith("/" + o.key)) and len(o.key) > len(best):
            best = o.key
    if not best:
        name = path.rsplit("/", 1)[-1]
        if ".." in path.split("/"):
            raise LayoutError(f"{where} lists data file {entry}, which is outside the export root")
        if not name.endswith(DATA_SUFFIXES):
            raise LayoutError(
                f"{where} lists {entry}: unsupported CUR data file (Parquet or csv.gz expected)"
            )
        anchor = CUR2_DATA.search(path) or LEGACY_DATA.search(path)
        shown = describe(path[anchor.start() :].lstrip("/")) if anchor else entry
        raise LayoutError(f"{where} lists data file {shown}, which does not exist under the export root")
    return best
