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
from isal import igzip, isal_zlib

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


def csv_gz_to_parquet(source: Path, target: Path, progress: Callable[[str], None] = log.info,
                      chunk: int = 16 << 20) -> int:
    """Stream a csv.gz into a normalized Parquet file; returns the row count.

    The file is decompressed in chunks to a temporary CSV beside the target, then Polars'
    streaming CSV reader normalizes and writes it: memory stays bounded whatever the size, and
    parsing uses every core. A truncated or corrupt file raises ``CurFormatError`` and leaves
    nothing behind (both temporary files are removed; the target appears only when complete).
    """
    names = read_csv_header(source)
    total = source.stat().st_size or 1
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp_csv = target.with_name(target.name + ".csv.part")
    tmp = target.with_name(target.name + ".part")
    try:
        # ISA-L's gzip decoder: the same format, about 4x faster than zlib's on this machine
        with open(source, "rb") as raw, igzip.IGzipFile(fileobj=raw) as fh, open(tmp_csv, "wb") as out:
            next_report = 0.25
            while block := fh.read(chunk):
                out.write(block)
                done = raw.tell() / total
                if done >= next_report:
                    progress(f"{source.name}: decompressed {raw.tell() / 1e6:.0f}/{total / 1e6:.0f} MB"
                             f" ({done:.0%})")
                    next_report = done + 0.25
        lf = pl.scan_csv(tmp_csv, schema={n: _csv_type(n) for n in names}, has_header=True)
        normalize(lf).sink_parquet(tmp, compression="lz4")  # a local cache: speed over size
        rows = pl.scan_parquet(tmp).select(pl.len()).collect().item()
        tmp.replace(target)
        return rows
    except (OSError, EOFError, zlib.error, isal_zlib.error) as exc:
        raise CurFormatError(f"truncated or corrupt csv.gz ({exc})") from exc
    except pl.exceptions.PolarsError as exc:
        raise CurFormatError(f"invalid CSV content ({str(exc).splitlines()[0]})") from exc
    finally:
        tmp_csv.unlink(missing_ok=True)
        tmp.unlink(missing_ok=True)
