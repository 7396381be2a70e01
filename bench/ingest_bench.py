"""CUR ingest benchmark: a 20M-line-item month, Parquet and csv.gz, against a bare reference.

    uv run python bench/ingest_bench.py [--rows 20000000] [--work DIR]

Each measurement runs in a fresh process that reports its own wall time and peak RSS; results
go to docs/benchmarks.md. Run on demand, not in the test suite (it takes several minutes).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PERIOD = "2026-08"
ROWS_PER_SCALE = 14_137  # CUR rows per fleet copy in a 31-day month of the demo generator


def _child(kind: str, export: str, work: str) -> dict:
    """Run one measurement in a fresh interpreter; it prints a JSON line with its numbers.
    Dirty pages left by the previous step (generation, the last run's day files) are flushed
    first: their write-back competed for the two cores and cost a later run up to 40 %."""
    os.sync()
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--export", export, "--work", work],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def child(kind: str, export: str, work: Path) -> None:
    import shutil

    import polars as pl

    from finops_dagster.lake.cur_ingest import ingest_cur_days
    from finops_dagster.lake.ledger import Ledger
    from finops_dagster.lake.raw_lake import RawLake
    from finops_dagster.sources.cur import CurExport

    shutil.rmtree(work / kind, ignore_errors=True)
    (work / kind).mkdir(parents=True)
    files = sorted(Path(export).glob(f"data/BILLING_PERIOD={PERIOD}/*"))
    start = time.perf_counter()
    if kind == "bare":  # plain Polars scan-and-write of the same files
        pl.scan_parquet(files).sink_parquet(work / kind / "out.parquet")
        rows = pl.scan_parquet(files).select(pl.len()).collect().item()
    else:
        days = [dt.date(2026, 8, 1) + dt.timedelta(days=i) for i in range(31)]
        result = ingest_cur_days(
            CurExport(export, work / kind / "cache"),
            RawLake(work / kind / "raw"),
            Ledger(work / kind / "ledger.sqlite"),
            days,
            progress=lambda m: None,
        )
        rows = sum(e.row_count for e in result.entries)
    seconds = time.perf_counter() - start
    # VmHWM, not ru_maxrss: ru_maxrss survives exec and would report the parent's peak
    hwm = next(ln for ln in Path("/proc/self/status").read_text().splitlines() if ln.startswith("VmHWM"))
    rss_mb = int(hwm.split()[1]) / 1024
    print(
        json.dumps(
            {
                "kind": kind,
                "rows": rows,
                "seconds": seconds,
                "rss_mb": rss_mb,
                "input_mb": sum(f.stat().st_size for f in files) / 1e6,
                "files": len(files),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=20_100_000)
    parser.add_argument("--work", default="/tmp/finops-bench")
    parser.add_argument("--child")
    parser.add_argument("--export")
    parser.add_argument("--reuse", action="store_true", help="keep exports generated earlier")
    args = parser.parse_args()
    work = Path(args.work)
    if args.child:
        return child(args.child, args.export, work)

    from finops_dagster.demo.generator import DemoConfig, generate

    scale = max(1, round(args.rows / ROWS_PER_SCALE))
    exports = {}
    for fmt in ("parquet", "csv.gz"):
        cfg = DemoConfig(
            out_dir=work / f"export-{fmt}", scale=scale, rows_per_file=2_000_000, periods=(PERIOD,)
        )
        if not (args.reuse and (cfg.out_dir / "truth.json").exists()):
            t = time.perf_counter()
            truth = generate(cfg, fmt=fmt)
            print(
                f"generated {truth['total_rows']} rows as {fmt} in {time.perf_counter() - t:.0f}s", flush=True
            )
        exports[fmt] = str(cfg.export_root)
    # the month twice over as one csv.gz file of 1.5 GB: memory must not grow with a file's size
    exports["csv.gz-one-file"] = one_file_copy(
        Path(exports["csv.gz"]), work / "export-csv.gz-one-file", reuse=args.reuse
    )
    results = [
        _child("bare", exports["parquet"], str(work)),
        _child("parquet", exports["parquet"], str(work)),
        _child("csv.gz", exports["csv.gz"], str(work)),
        _child("csv.gz-one-file", exports["csv.gz-one-file"], str(work)),
    ]
    for r in results:
        r["rows_per_s"] = r["rows"] / r["seconds"]
        print(json.dumps(r), flush=True)
    write_report(results)


def one_file_copy(export: Path, target: Path, reuse: bool, copies: int = 2) -> str:
    """The delivery's csv.gz files joined into one (one header), ``copies`` times over so the
    file passes 1 GB compressed, with its manifest rewritten to list that file. The generator
    holds a file's rows in memory, so it cannot write a 40M-row file itself; this streams."""
    import gzip
    import shutil

    data = target / "data" / f"BILLING_PERIOD={PERIOD}"
    out = data / "finops-demo-export-00001.csv.gz"
    manifest_rel = next(export.glob(f"metadata/BILLING_PERIOD={PERIOD}/*Manifest.json")).relative_to(export)
    if reuse and (target / manifest_rel).exists():
        return str(target)
    t = time.perf_counter()
    shutil.rmtree(target, ignore_errors=True)
    data.mkdir(parents=True)
    sources = sorted(export.glob(f"data/BILLING_PERIOD={PERIOD}/*.csv.gz")) * copies
    with gzip.open(out, "wb", compresslevel=1) as sink:
        for i, src in enumerate(sources):
            with gzip.open(src, "rb") as fh:
                header = fh.readline()
                if i == 0:
                    sink.write(header)
                shutil.copyfileobj(fh, sink, 16 << 20)
    doc = json.loads((export / manifest_rel).read_text())
    prefix = doc["dataFiles"][0].split("/data/")[0]
    doc["dataFiles"] = [f"{prefix}/data/BILLING_PERIOD={PERIOD}/{out.name}"]
    (target / manifest_rel).parent.mkdir(parents=True)
    (target / manifest_rel).write_text(json.dumps(doc))
    print(
        f"joined {len(sources)} csv.gz files ({copies} copies) into one "
        f"({out.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t:.0f}s",
        flush=True,
    )
    return str(target)


def write_report(results: list[dict]) -> None:
    bare, parquet, csv, one_file = results
    ratio = parquet["rows_per_s"] / bare["rows_per_s"]

    def verdict(ok: bool) -> str:
        return "met" if ok else "**missed**"

    lines = [
        "# Benchmarks",
        "",
        f"Measured {dt.date.today()} on this project's 2-core machine ({platform.machine()}, "
        f"Python {platform.python_version()}) with `bench/ingest_bench.py`: one billing period of "
        f"{parquet['rows']:,} CUR 2.0 line items (43 columns), a multi-file delivery "
        f"({parquet['files']} Parquet files, {parquet['input_mb']:.0f} MB; {csv['files']} csv.gz "
        f"files, {csv['input_mb']:.0f} MB). Each run is a fresh process; peak RSS is its own.",
        "",
        "| run | rows/s | seconds | peak RSS | target | status |",
        "|---|---|---|---|---|---|",
        f"| bare reference: Polars scan_parquet -> sink_parquet | {bare['rows_per_s']:,.0f} | "
        f"{bare['seconds']:.1f} | {bare['rss_mb']:,.0f} MB | | |",
        f"| ingest Parquet (validate, sums per file, split into 31 day files, ledger) | "
        f"{parquet['rows_per_s']:,.0f} ({ratio:.0%} of bare) | "
        f"{parquet['seconds']:.1f} | {parquet['rss_mb']:,.0f} MB | >= 70 % of bare, <= 1.5 GB | "
        f"speed {verdict(ratio >= 0.7)}, memory {verdict(parquet['rss_mb'] <= 1536)} |",
        f"| ingest csv.gz (decompressed and parsed as a stream, then as above) | "
        f"{csv['rows_per_s']:,.0f} | {csv['seconds']:.1f} | {csv['rss_mb']:,.0f} MB | "
        f">= 400,000 rows/s, <= 1.5 GB | speed {verdict(csv['rows_per_s'] >= 400_000)}, "
        f"memory {verdict(csv['rss_mb'] <= 1536)} |",
        f"| the month twice over as one csv.gz file ({one_file['rows']:,} rows, "
        f"{one_file['input_mb']:,.0f} MB) | "
        f"{one_file['rows_per_s']:,.0f} | {one_file['seconds']:.1f} | {one_file['rss_mb']:,.0f} MB | "
        f"<= 1.5 GB whatever the file size | memory {verdict(one_file['rss_mb'] <= 1536)} |",
        "",
        "How the ingest gets there, and what was tried (same data, same machine):",
        "",
        "- One read serves everything: each file's row groups are decoded by Polars one at a",
        "  time (bounded memory), normalized, summed per day x account x service for the ledger",
        "  and the restatement diff, split by day, and handed to a background writer thread that",
        "  appends them to one staged Parquet file per day; the days are swapped in only after the",
        "  restatement diff has read the old ones. Decoding the next row group overlaps encoding",
        "  the last (pyarrow and Polars release the GIL). Row-group statistics are written only for",
        "  the columns readers filter on (`usage_date`, account, service): min/max of all 44",
        "  columns cost about 15 % of the write. Batches reach the writer in Polars' own string",
        "  layout (Arrow string views, no copy): converting to large strings and encoding those",
        "  was 0.66 s per 500k rows against 0.38 s, and took the Parquet ingest from 73-82 % to",
        "  over 90 % of bare.",
        "- Before (2026-11-23, 37 % of bare): a separate streaming pass for the sums decoded",
        "  everything twice, pyarrow's `iter_batches` decoded single-threaded and the writes",
        "  were synchronous.",
        "- Polars' partitioned sink (`sink_parquet(pl.PartitionBy(...))`) ran at 70 % of bare but",
        "  peaked at 5.4 GB and grew with the delivery (it holds whole days); whole-delivery",
        "  `collect_batches` held 3.9 GB. Both fail the bounded-memory rule.",
        "- csv.gz: Polars' streaming CSV reader decompresses and parses each file on both cores",
        "  (numeric columns typed up front) and hands over batches of 65k rows; tag and cost",
        "  category JSON is decoded once per distinct text (a few hundred per file) and joined",
        "  back, instead of once per row; then the batches take the Parquet path above (sums, day",
        "  files). A damaged file is found part way through, after earlier rows were staged, and",
        "  the staged days are dropped, so the lake keeps what it had. With 131k-row batches a",
        "  20M-row file peaked at 1.5 GB (the reader keeps several batches in flight); with 65k",
        "  at 1.1 GB, at the same speed. One file of 1.5 GB runs as fast as eleven of 55 MB, so a",
        "  file's size costs neither speed nor memory. Run to run the multi-file csv.gz ingest took",
        "  37-42 s (480-540k rows/s) with the page cache flushed before each run; without the flush",
        "  a run right after generating the data was up to 40 % slower.",
        "- Before (2026-11-30, 269-281k rows/s): each file was gunzipped to a temporary CSV, parsed,",
        "  cached as LZ4 Parquet and read again. Measured per 2M-row file: writing the 1.2 GB",
        "  temporary CSV cost 2.6 s against 0.3 s to decompress it, and the cache round trip",
        "  another 2 s. Decompressing with ISA-L into a reused buffer and parsing each run of",
        "  complete records with `read_csv` reached 309k rows/s: finding a record boundary outside",
        "  quotes needs a pass over every byte (0.45 s a file) and each run is copied once more.",
        "  Per-row JSON decoding of the tags was 0.85 s a file, a third of the parse.",
        "",
        "For scale: FinOps Foundation's focus-converter took 19 s and 3.8 GB to convert 1M CUR "
        "rows on this machine.",
        "",
    ]
    doc = ROOT / "docs" / "benchmarks.md"
    report = "\n".join(lines)
    old = doc.read_text() if doc.exists() else ""
    mark = "<!-- api-bench:start -->"  # keep the API benchmark's section (bench/api_bench.py)
    doc.write_text(report + (old[old.index(mark) :] if mark in old else ""))
    print(doc.read_text())


if __name__ == "__main__":
    main()
