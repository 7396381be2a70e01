"""``finops-dagster inspect URL``: what an export holds and what ingesting it would hit.

Reads only headers, footers and manifests (a csv.gz's first MBs for its row estimate; on S3 the
files are fetched into the same ETag cache ``sync`` uses, so nothing is downloaded twice) and
writes nothing to the lake, the ledger or the warehouse.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from finops_dagster.sources import cur_columns
from finops_dagster.sources.cur import REQUIRED_COLUMNS, CurError, CurExport
from finops_dagster.sources.cur_formats import (
    CurFormatError,
    _estimated_rows,
    _tag_key,
    column_plan,
    delivered_names,
    read_csv_header,
)


@dataclass
class PeriodReport:
    period: str
    layout: str
    delivery: str
    files: int
    bytes: int
    rows: int
    rows_estimated: bool
    columns: set[str] = field(default_factory=set)
    tag_keys: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _names_and_rows(path: Path) -> tuple[list[str], int, bool, dict]:
    if path.name.endswith(".csv.gz"):
        names = read_csv_header(path)
        return names, int(_estimated_rows(path, path.stat().st_size)), True, {}
    meta = pq.read_metadata(path)
    schema = pl.read_parquet_schema(path)
    return list(schema), meta.num_rows, False, dict(schema)


def _map_keys(path: Path, column: str) -> set[str]:
    """Keys of a CUR 2.0 map column in the file's first row group (a sample, not a scan)."""
    try:
        first = pq.ParquetFile(path).read_row_group(0, columns=[column])
        keys = pl.from_arrow(first).select(pl.col(column).map.keys().explode().drop_nulls().unique())
        return set(keys.to_series())
    except Exception:  # noqa: BLE001 - a sample only; the ingest reports real damage
        return set()


def inspect_period(export: CurExport, manifest) -> PeriodReport:
    report = PeriodReport(
        manifest.billing_period, manifest.layout, manifest.delivery_id, len(manifest.data_files), 0, 0, False
    )
    for key in manifest.data_files:
        where = export.describe(key)
        try:
            path = export.store.fetch(key)
            names, rows, estimated, types = _names_and_rows(path)
        except FileNotFoundError:
            report.problems.append(f"{where}: listed but does not exist")
            continue
        except (CurFormatError, OSError, Exception) as exc:  # noqa: BLE001 - reported per file
            report.problems.append(f"{where}: unreadable ({str(exc).splitlines()[0]})")
            continue
        report.bytes += path.stat().st_size
        report.rows += rows
        report.rows_estimated |= estimated
        delivered = delivered_names(names)
        report.columns |= delivered
        missing = [c for c in REQUIRED_COLUMNS if c not in delivered]
        if missing:
            report.problems.append(
                f"{where}: required columns missing: {', '.join(missing)} "
                "(the period cannot be ingested; is this a cost and usage report?)"
            )
        plan = column_plan(names)
        report.notes += [f"{where}: collision: {c}" for c in plan.collisions]
        report.tag_keys |= {k for c in names if (k := _tag_key(c))}
        if "resource_tags" in types:
            report.tag_keys |= _map_keys(path, "resource_tags")
        text_numbers = sorted(
            plan.renames.get(c, c)
            for c, t in types.items()
            if t == pl.String and plan.renames.get(c, c) in cur_columns.NUMERIC
        )
        if text_numbers:
            report.notes.append(
                f'{where}: numeric columns stored as text ("" becomes null): {", ".join(text_numbers)}'
            )
    return report


def inspect_export(url: str, cache_dir: Path, history_start: str | None = None) -> tuple[str, bool]:
    """The report as text, and whether the export can be ingested as it is."""
    export = CurExport(url, cache_dir)
    found = export.discovery()
    out = [f"export {export.url}", f"  {found.describe()}"]
    ok = True
    if found.empty:
        out.append(f"  PROBLEM: {found.nothing_found(export.url)}")
        return "\n".join(out), False
    contract = set(cur_columns.CONTRACT)
    previous: PeriodReport | None = None
    for period in sorted(set(found.deliveries) | set(found.problems)):
        if period in found.problems:
            ok = False
            out.append(f"\n{period}: PROBLEM {found.problems[period]}")
            continue
        try:
            r = inspect_period(export, found.deliveries[period])
        except CurError as exc:
            ok = False
            out.append(f"\n{period}: PROBLEM {exc}")
            continue
        approx = "~" if r.rows_estimated else ""
        out.append(
            f"\n{period}: {r.layout}, delivery {r.delivery}, {r.files} file(s), "
            f"{r.bytes / 1e6:.1f} MB, {approx}{r.rows:,} rows"
        )
        absent = sorted(contract - r.columns - {"resource_tags", "cost_category"})
        known = cur_columns.NUMERIC | cur_columns.TIMESTAMPS | contract | cur_columns.MAPS
        out.append(
            f"  columns: {len(r.columns)}; contract columns absent (typed nulls): "
            f"{', '.join(absent) or 'none'}"
        )
        extra = sorted(c for c in r.columns if c not in known)
        out.append(f"  other columns, kept as text: {len(extra)}")
        out.append(f"  tag keys: {', '.join(sorted(r.tag_keys)) or 'none'}")
        if previous is not None:
            added, gone = sorted(r.columns - previous.columns), sorted(previous.columns - r.columns)
            tags_added = sorted(r.tag_keys - previous.tag_keys)
            tags_gone = sorted(previous.tag_keys - r.tag_keys)
            if added or gone or tags_added or tags_gone:
                out.append(
                    f"  vs {previous.period}: columns +{added or '[]'} -{gone or '[]'}; "
                    f"tag keys +{tags_added or '[]'} -{tags_gone or '[]'} (unioned by name)"
                )
        out += [f"  note: {n}" for n in r.notes]
        for p in r.problems:
            ok = False
            out.append(f"  PROBLEM: {p}")
        previous = r
    periods = sorted(found.deliveries)
    if periods:
        out.append(
            f"\nto ingest: FINOPS_CUR_EXPORT_URL={export.url} FINOPS_HISTORY_START={periods[0]} "
            f"FINOPS_AS_OF=<last day to treat as today, e.g. the last day of {periods[-1]}> "
            "finops-dagster sync"
        )
        if history_start and history_start > periods[0]:
            out.append(
                f"  note: FINOPS_HISTORY_START={history_start} skips {periods[0]}..; "
                "set it to the first period you want"
            )
    return "\n".join(out), ok
