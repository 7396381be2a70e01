"""One staging contract for every CUR flavour: CUR 2.0 or legacy names, Parquet or csv.gz.

- CUR 2.0: snake case names, ``resource_tags`` a MAP (Parquet) or JSON text (CSV).
- Legacy CUR (CSV): ``lineItem/UnblendedCost`` names, one ``resourceTags/user:team`` column a tag.
- Legacy CUR (Athena Parquet): snake case names, one ``resource_tags_user_team`` column a tag.

All become CUR 2.0 names with a ``resource_tags`` MAP; CSV text becomes doubles and timestamps.
csv.gz files are streamed: decompressed and parsed in bounded batches (progress logged), each
batch normalized like a Parquet row group, so the rest of the pipeline sees one shape.
"""

from __future__ import annotations

import gzip
import logging
import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from finops_dagster.sources import cur_columns
from finops_dagster.sources.cur_columns import CONTRACT, MAPS, TAG_MAP, TIMESTAMP

log = logging.getLogger(__name__)

_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


class CurFormatError(Exception):
    pass


def snake(name: str) -> str:
    return _CAMEL.sub("_", name).lower()


def legacy_name(name: str) -> str:
    """``lineItem/UnblendedCost`` -> ``line_item_unblended_cost`` (the Athena rule AWS uses)."""
    category, _, rest = name.partition("/")
    return f"{snake(category)}_{snake(rest)}"


def _tag_key(column: str) -> str | None:
    if column.startswith("resourceTags/"):
        return column.split("/", 1)[1].replace(":", "_")
    if column.startswith("resource_tags_"):
        return column[len("resource_tags_") :]
    return None


def _category_key(column: str) -> str | None:
    if column.startswith("costCategory/"):
        return column.split("/", 1)[1]
    if column.startswith("cost_category_"):  # the Athena spelling of legacy cost categories
        return column[len("cost_category_") :]
    return None


@dataclass(frozen=True)
class ColumnPlan:
    """How an export's column names become the lake's: renames, folded maps, collisions."""

    renames: dict[str, str]
    tags: dict[str, str]  # source column -> tag key (folded into resource_tags)
    categories: dict[str, str]  # source column -> cost category name (folded into cost_category)
    collisions: tuple[str, ...]  # one text per resolved collision, for reports


def column_plan(names: list[str]) -> ColumnPlan:
    """The documented collision rule: when several source columns normalize to one name, the
    column already spelled that way wins, else the first in file order; each other one keeps
    its data under ``<name>__<source spelling>``, and the collision is reported. Tag and cost
    category columns whose keys collide are resolved the same way (``<key>__2``...)."""
    tags: dict[str, str] = {}
    categories: dict[str, str] = {}
    targets: dict[str, list[str]] = {}
    for c in names:
        if (k := _tag_key(c)) is not None:
            tags[c] = k
        elif c not in MAPS and (k := _category_key(c)) is not None:
            categories[c] = k
        else:
            targets.setdefault(legacy_name(c) if "/" in c else c, []).append(c)
    renames, collisions = {}, []
    for target, sources in targets.items():
        winner = target if target in sources else sources[0]
        if winner != target:
            renames[winner] = target
        for other in sources:
            if other != winner:
                renames[other] = f"{target}__{re.sub(r'[^0-9A-Za-z]+', '_', other).strip('_')}"
                collisions.append(
                    f"{other!r} and {winner!r} both normalize to {target!r}: kept "
                    f"{winner!r}, {other!r} is {renames[other]!r}"
                )
    for folded, label in ((tags, "tag"), (categories, "cost category")):
        seen: dict[str, str] = {}
        for c, k in list(folded.items()):
            if k in seen:
                n = 2
                while f"{k}__{n}" in seen:
                    n += 1
                folded[c] = f"{k}__{n}"
                collisions.append(
                    f"{label} columns {seen[k]!r} and {c!r} both give key {k!r}: {c!r} is key {folded[c]!r}"
                )
            seen[folded[c]] = c
    return ColumnPlan(renames, tags, categories, tuple(collisions))


def _fold(columns: dict[str, str], target: str) -> pl.Expr:
    """One-column-per-key (legacy) -> one MAP column, empty values dropped."""
    return (
        pl.concat_list(
            [pl.struct(key=pl.lit(k), value=pl.col(c).cast(pl.String)) for c, k in columns.items()]
        )
        .list.filter(pl.element().struct.field("value").fill_null("") != "")
        .cast(TAG_MAP)
        .alias(target)
    )


def _typed(name: str, dtype: pl.DataType) -> pl.Expr | None:
    """The expression that gives ``name`` its dictionary type, or None when it has it already.

    ``""`` (and blanks) are null in numeric and timestamp columns: the Athena integration keeps
    empty rates as ``""``. A value that is not a number still fails, naming the column."""
    want = cur_columns.dtype(name)
    col = pl.col(name)
    if dtype == want:
        return None
    if want == TAG_MAP:
        if dtype == pl.String:
            blank = col.str.strip_chars() == ""
            return pl.when(blank).then(None).otherwise(col).str.json_decode(TAG_MAP).alias(name)
        return col.cast(TAG_MAP)
    if dtype == pl.String and want in (pl.Float64, TIMESTAMP):
        text = pl.when(col.str.strip_chars() == "").then(None).otherwise(col)
        if want == pl.Float64:
            return text.cast(pl.Float64).alias(name)
        return (
            text.str.strip_suffix("Z")
            .str.replace(" ", "T", literal=True)
            .str.strptime(TIMESTAMP, "%Y-%m-%dT%H:%M:%S%.f")
            .alias(name)
        )
    if want == TIMESTAMP and isinstance(dtype, pl.Datetime):
        if dtype.time_zone:
            col = col.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
        return col.cast(TIMESTAMP)
    if want == pl.String and dtype.is_integer() and name in cur_columns.ACCOUNT_IDS:
        return col.cast(pl.String).str.zfill(12)  # an integer account id lost its leading zeros
    return col.cast(want)


def normalize(frame: pl.LazyFrame | pl.DataFrame) -> pl.LazyFrame | pl.DataFrame:
    """Any CUR flavour -> the lake's shape: CUR 2.0 names (collisions resolved by
    ``column_plan``), tag and cost category columns folded into maps, every known column typed
    from the dictionary (``cur_columns``), unknown columns as text, and every ``CONTRACT``
    column present (a typed null, or its documented fallback, when the export lacks it)."""
    schema = frame.collect_schema() if isinstance(frame, pl.LazyFrame) else frame.schema
    plan = column_plan(schema.names())
    if plan.tags:
        frame = frame.with_columns(_fold(plan.tags, "__tags")).drop(list(plan.tags))
    if plan.categories:
        frame = frame.with_columns(_fold(plan.categories, "__categories")).drop(list(plan.categories))
    if plan.renames:
        frame = frame.rename(plan.renames)
    if plan.tags:  # an export cannot carry both a resource_tags map and tag columns; the map wins
        frame = (
            frame.rename({"__tags": "resource_tags"})
            if "resource_tags" not in plan.renames.values() and "resource_tags" not in schema
            else frame.drop("__tags")
        )
    if plan.categories:
        frame = (
            frame.rename({"__categories": "cost_category"})
            if "cost_category" not in plan.renames.values() and "cost_category" not in schema
            else frame.drop("__categories")
        )
    schema = frame.collect_schema() if isinstance(frame, pl.LazyFrame) else frame.schema
    if isinstance(frame, pl.DataFrame):
        frame = _decode_json_maps(frame)
        schema = frame.schema
    exprs = [e for name, dt_ in schema.items() if (e := _typed(name, dt_)) is not None]
    if exprs:
        frame = frame.with_columns(exprs)
    names = set(schema.names())
    missing = [c for c in CONTRACT if c not in names]
    if missing:
        frame = frame.with_columns([_fallback(c, names) for c in missing])
    return frame


def _fallback(name: str, present: set[str]) -> pl.Expr:
    """An absent contract column: the first non-null of its documented alternatives the export
    has (``cur_columns.FALLBACKS``), else a typed null (an empty map for maps)."""
    dtype = CONTRACT[name]
    options = []
    for alt in cur_columns.FALLBACKS.get(name, ()):
        mapped, _, key = alt.partition("[")
        if mapped in present:
            options.append(pl.col(mapped).map.get(key.strip("]'")) if key else pl.col(mapped))
    if options:
        return pl.coalesce([o.cast(dtype) for o in options]).alias(name)
    if dtype == TAG_MAP:
        empty = pl.lit([], pl.List(pl.Struct({"key": pl.String, "value": pl.String})))
        return empty.cast(TAG_MAP).alias(name)
    return pl.lit(None, dtype).alias(name)


def normalized_schema(schema: dict[str, pl.DataType]) -> pl.Schema:
    """The columns and types a file of ``schema`` becomes after ``normalize``."""
    return normalize(pl.LazyFrame(schema=schema)).collect_schema()


def delivered_names(names: list[str]) -> set[str]:
    """The CUR 2.0 names of the columns a file really has (before contract columns are filled)."""
    plan = column_plan(names)
    out = {plan.renames.get(c, c) for c in names if c not in plan.tags and c not in plan.categories}
    maps = {"resource_tags"} if plan.tags else set()
    return out | maps | ({"cost_category"} if plan.categories else set())


def normalized_names(names: list[str]) -> set[str]:
    """The column names ``names`` become after ``normalize``."""
    return set(normalized_schema({n: pl.String for n in names}))


def conform(frame: pl.DataFrame, schema: pl.Schema) -> pl.DataFrame:
    """``frame`` with exactly ``schema``'s columns, in its order: what a file of the period
    lacks is a typed null, so every batch of a delivery has the delivery's union of columns."""
    if frame.schema == schema:
        return frame
    have = frame.schema
    return frame.select(
        [
            (pl.col(n).cast(t) if have[n] != t else pl.col(n)) if n in have else pl.lit(None, t).alias(n)
            for n, t in schema.items()
        ]
    )


def read_csv_header(path: Path) -> list[str]:
    """Column names from the first line of a csv.gz, without decompressing the rest."""
    try:
        with gzip.open(path, "rt", newline="") as fh:
            import csv

            return next(csv.reader([fh.readline()]))
    except (OSError, EOFError, zlib.error, StopIteration) as exc:
        raise CurFormatError(f"not a readable csv.gz file ({exc})") from exc


def _csv_type(column: str) -> pl.DataType:
    """Let the CSV reader parse numbers itself (one pass; an empty field is null) instead of
    casting text later; which columns are numbers is the dictionary's call, not the name's."""
    name = legacy_name(column) if "/" in column else column
    if _tag_key(column) is None and name in cur_columns.NUMERIC:
        return pl.Float64
    return pl.String


def _decode_json_maps(frame: pl.DataFrame) -> pl.DataFrame:
    """Tag and cost category JSON -> maps, decoding each distinct text once: a file holds a
    few hundred distinct tag sets over millions of rows, and JSON decoding per row was a
    third of the CSV path's time."""
    for name in cur_columns.MAPS:
        if frame.schema.get(name) != pl.String:
            continue
        lookup = pl.DataFrame({name: frame.get_column(name).unique()}).with_columns(
            pl.when(pl.col(name).str.strip_chars() == "")
            .then(None)
            .otherwise(pl.col(name))
            .str.json_decode(TAG_MAP)
            .alias("_map")
        )
        decoded = frame.select(name).join(lookup, on=name, how="left", maintain_order="left")
        frame = frame.with_columns(decoded.get_column("_map").alias(name))
    return frame


def _estimated_rows(source: Path, size: int, sample: int = 16 << 20) -> float:
    """Rows in a csv.gz, estimated from its first ``sample`` uncompressed bytes: the reader
    streams, so progress in percent needs a total, and gzip does not record one (its size
    field wraps at 4 GB). Rows per compressed byte of the sample, times the file's size."""
    inflate = zlib.decompressobj(31)
    with open(source, "rb") as fh:
        head = fh.read(sample)  # compressed bytes: at least what ``sample`` inflated bytes need
    try:
        lines = inflate.decompress(head, sample).count(b"\n")
    except zlib.error:
        return float("inf")  # damaged; the reader names the problem
    consumed = len(head) - len(inflate.unconsumed_tail)
    return max(lines * size / max(consumed, 1), 1.0)


def iter_csv_gz(
    source: Path, batch_rows: int, progress: Callable[[str], None] = log.info
) -> Iterator[pl.DataFrame]:
    """A csv.gz file's rows, normalized, in batches of about ``batch_rows`` rows.

    Polars' streaming CSV reader decompresses and parses on every core with numeric columns
    typed up front; memory stays bounded whatever the file's size (measured: 535 MB for a
    2M-row file, 662 MB for 10M rows). No temporary file and no cache: writing the 20x larger
    uncompressed CSV to disk cost more than decompressing and parsing it. A truncated or
    corrupt file raises ``CurFormatError`` part way through, so callers stage what they write
    (the raw lake's ``stage_days`` does).
    """
    names = read_csv_header(source)
    size = source.stat().st_size
    expected = _estimated_rows(source, size)
    lf = pl.scan_csv(source, schema={n: _csv_type(n) for n in names}, has_header=True)
    rows, next_report = 0, 1_000_000
    try:
        for batch in lf.collect_batches(chunk_size=batch_rows):
            rows += batch.height
            if rows >= next_report:
                done = min(rows / expected, 0.99)
                progress(
                    f"{source.name}: parsed {rows} rows, about {done * size / 1e6:.0f}/"
                    f"{size / 1e6:.0f} MB compressed ({done:.0%}, estimated)"
                )
                next_report = rows + 1_000_000
            yield normalize(batch)
    except (OSError, EOFError, zlib.error) as exc:
        raise CurFormatError(f"truncated or corrupt csv.gz ({exc})") from exc
    except pl.exceptions.PolarsError as exc:
        raise CurFormatError(f"invalid CSV content ({str(exc).splitlines()[0]})") from exc
