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
from pathlib import Path

import polars as pl

log = logging.getLogger(__name__)

TAG_MAP = pl.Map(pl.String, pl.String)
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")
_NUMERIC = re.compile(r"(_cost|_rate|_amount|_fee|commitment|_quantity|_units)")
_ALIASES = {"product_region": "product_region_code"}


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
        return column[len("resource_tags_"):]
    return None


def _category_key(column: str) -> str | None:
    return column.split("/", 1)[1] if column.startswith("costCategory/") else None


def _fold(columns: dict[str, str], target: str) -> pl.Expr:
    """One-column-per-key (legacy) -> one MAP column, empty values dropped."""
    return (pl.concat_list([pl.struct(key=pl.lit(k), value=pl.col(c).cast(pl.String))
                            for c, k in columns.items()])
            .list.filter(pl.element().struct.field("value").fill_null("") != "")
            .cast(TAG_MAP).alias(target))


def normalize(frame: pl.LazyFrame | pl.DataFrame) -> pl.LazyFrame | pl.DataFrame:
    """Rename to CUR 2.0 names, fold tag and cost category columns into maps (``resource_tags``,
    ``cost_category``; an empty map when the export has none), type CSV text columns."""
    schema = frame.collect_schema() if isinstance(frame, pl.LazyFrame) else frame.schema
    tags = {c: k for c in schema.names() if (k := _tag_key(c))}
    categories = {c: k for c in schema.names() if (k := _category_key(c))}
    renames = {}
    for c in schema.names():
        if c in tags or c in categories:
            continue
        new = legacy_name(c) if "/" in c else c
        if new in _ALIASES and _ALIASES[new] not in schema:
            new = _ALIASES[new]
        if new != c:
            renames[c] = new
    if tags:
        frame = frame.with_columns(_fold(tags, "resource_tags")).drop(list(tags))
    if categories:
        frame = frame.with_columns(_fold(categories, "cost_category")).drop(list(categories))
    elif "cost_category" not in schema:
        frame = frame.with_columns(pl.lit([], pl.List(pl.Struct({"key": pl.String, "value": pl.String})))
                                   .cast(TAG_MAP).alias("cost_category"))
    if renames:
        frame = frame.rename(renames)
    exprs: list[pl.Expr] = []
    schema = frame.collect_schema() if isinstance(frame, pl.LazyFrame) else frame.schema
    for name, dtype in schema.items():
        if dtype != pl.String:
            continue
        if name in ("resource_tags", "cost_category"):
            exprs.append(pl.col(name).str.json_decode(TAG_MAP))
        elif name.endswith("_date") and "commitment" not in name:
            exprs.append(pl.col(name).str.strip_suffix("Z").str.replace(" ", "T", literal=True)
                         .str.strptime(pl.Datetime("us"), "%Y-%m-%dT%H:%M:%S%.f"))
        elif _NUMERIC.search(name):
            exprs.append(pl.col(name).cast(pl.Float64))
    return frame.with_columns(exprs) if exprs else frame


def normalized_names(names: list[str]) -> set[str]:
    """The column names ``names`` become after ``normalize``."""
    return set(normalize(pl.LazyFrame(schema={n: pl.String for n in names})).collect_schema())


def read_csv_header(path: Path) -> list[str]:
    """Column names from the first line of a csv.gz, without decompressing the rest."""
    try:
        with gzip.open(path, "rt", newline="") as fh:
            import csv

            return next(csv.reader([fh.readline()]))
    except (OSError, EOFError, zlib.error, StopIteration) as exc:
        raise CurFormatError(f"not a readable csv.gz file ({exc})") from exc


def _csv_type(column: str) -> pl.DataType:
    """Let the CSV reader parse numbers itself (one pass) instead of casting text later."""
    name = legacy_name(column) if "/" in column else column
    if _tag_key(column) is None and _NUMERIC.search(name) and not name.endswith("_date"):
        return pl.Float64
    return pl.String


def _decode_json_maps(frame: pl.DataFrame) -> pl.DataFrame:
    """Tag and cost category JSON -> maps, decoding each distinct text once: a file holds a
    few hundred distinct tag sets over millions of rows, and JSON decoding per row was a
    third of the CSV path's time."""
    for name in ("resource_tags", "cost_category"):
        if frame.schema.get(name) != pl.String:
            continue
        lookup = pl.DataFrame({name: frame.get_column(name).unique()}).with_columns(
            pl.col(name).str.json_decode(TAG_MAP).alias("_map"))
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


def iter_csv_gz(source: Path, batch_rows: int,
                progress: Callable[[str], None] = log.info) -> Iterator[pl.DataFrame]:
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
                progress(f"{source.name}: parsed {rows} rows, about {done * size / 1e6:.0f}/"
                         f"{size / 1e6:.0f} MB compressed ({done:.0%}, estimated)")
                next_report = rows + 1_000_000
            yield normalize(_decode_json_maps(batch))
    except (OSError, EOFError, zlib.error) as exc:
        raise CurFormatError(f"truncated or corrupt csv.gz ({exc})") from exc
    except pl.exceptions.PolarsError as exc:
        raise CurFormatError(f"invalid CSV content ({str(exc).splitlines()[0]})") from exc
