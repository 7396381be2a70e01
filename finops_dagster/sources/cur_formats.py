"""One staging contract for every CUR flavour: CUR 2.0 or legacy names, Parquet or csv.gz.

- CUR 2.0: snake case names, ``resource_tags`` a MAP (Parquet) or JSON text (CSV).
- Legacy CUR (CSV): ``lineItem/UnblendedCost`` names, one ``resourceTags/user:team`` column a tag.
- Legacy CUR (Athena Parquet): snake case names, one ``resource_tags_user_team`` column a tag.

All become CUR 2.0 names with a ``resource_tags`` MAP; CSV text becomes doubles and timestamps.
csv.gz files are converted once to Parquet in the cache by a streaming reader (bounded memory,
progress logged), so the rest of the pipeline reads Parquet only.
"""

from __future__ import annotations

import gzip
import logging
import re
import zlib
from collections.abc import Callable
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


def normalize(frame: pl.LazyFrame | pl.DataFrame) -> pl.LazyFrame | pl.DataFrame:
    """Rename to CUR 2.0 names, fold tag columns into one map, type CSV text columns."""
    schema = frame.collect_schema() if isinstance(frame, pl.LazyFrame) else frame.schema
    tags = {c: k for c in schema.names() if (k := _tag_key(c))}
    renames = {}
    for c in schema.names():
        if c in tags:
            continue
        new = legacy_name(c) if "/" in c else c
        if new in _ALIASES and _ALIASES[new] not in schema:
            new = _ALIASES[new]
        if new != c:
            renames[c] = new
    if tags:
        frame = frame.with_columns(
            pl.concat_list([pl.struct(key=pl.lit(k), value=pl.col(c).cast(pl.String))
                            for c, k in tags.items()])
            .list.filter(pl.element().struct.field("value").fill_null("") != "")
            .cast(TAG_MAP).alias("resource_tags")).drop(list(tags))
    if renames:
        frame = frame.rename(renames)
    exprs: list[pl.Expr] = []
    schema = frame.collect_schema() if isinstance(frame, pl.LazyFrame) else frame.schema
    for name, dtype in schema.items():
        if dtype != pl.String:
            continue
        if name == "resource_tags":
            exprs.append(pl.col(name).str.json_decode(TAG_MAP))
        elif name.endswith("_date") and "commitment" not in name:
            exprs.append(pl.col(name).str.strip_suffix("Z").str.to_datetime(time_unit="us"))
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


def csv_gz_to_parquet(source: Path, target: Path, progress: Callable[[str], None] = log.info,
                      block_size: int = 64 << 20) -> int:
    """Stream a csv.gz into a normalized Parquet file; returns the row count.

    Reads in blocks with pyarrow's multi-threaded CSV reader, so memory is a few blocks
    whatever the file size. Writes to a temporary name and renames: a truncated or corrupt
    file never leaves a half-converted Parquet behind.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    names = read_csv_header(source)
    total = source.stat().st_size
    tmp = target.with_name(target.name + ".part")
    target.parent.mkdir(parents=True, exist_ok=True)
    rows = 0
    writer = None
    schema = None
    try:
        with open(source, "rb") as raw, gzip.GzipFile(fileobj=raw) as fh:
            reader = pacsv.open_csv(
                fh, read_options=pacsv.ReadOptions(block_size=block_size),
                convert_options=pacsv.ConvertOptions(
                    column_types={n: pa.string() for n in names}, strings_can_be_null=True))
            next_report = 0.1
            for batch in reader:
                frame = normalize(pl.from_arrow(pa.Table.from_batches([batch])))
                table = frame.to_arrow()
                if writer is None:
                    schema = table.schema
                    writer = pq.ParquetWriter(tmp, schema, compression="zstd")
                writer.write_table(table.cast(schema))
                rows += batch.num_rows
                done = raw.tell() / total if total else 1.0
                if done >= next_report:
                    progress(f"{source.name}: {raw.tell() / 1e6:.0f}/{total / 1e6:.0f} MB "
                             f"compressed, {rows} rows, {done:.0%}")
                    next_report = done + 0.1
        if writer is None:
            pl.DataFrame({n: [] for n in names}, schema={n: pl.String for n in names}).pipe(
                normalize).write_parquet(tmp)
        else:
            writer.close()
            writer = None
        tmp.replace(target)
        return rows
    except (OSError, EOFError, zlib.error, pa.ArrowInvalid) as exc:
        raise CurFormatError(f"truncated or corrupt csv.gz after {rows} rows ({exc})") from exc
    finally:
        if writer is not None:
            writer.close()
        tmp.unlink(missing_ok=True)
