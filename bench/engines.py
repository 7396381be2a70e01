"""The dbt project on DuckDB and on Spark (local mode) over the same raw lake (issue 18).

    uv run python bench/engines.py [--rows 2000000] [--work DIR] [--reuse]

For each size: the month generated and ingested as bench/month_build.py does it (cur_ingest_job
and sources_job, Cost Explorer and CloudWatch off), then `dbt build` of the whole project (models,
seeds and data tests; the dbt unit tests excluded, as in production) from an empty warehouse,
once with the duckdb target and once with the spark target (session method, `local[2]`, the
profile's defaults: 1 GB driver heap). Each build runs in a fresh process; peak RSS is the
highest sum over its process tree (dbt and, on Spark, the JVM), sampled every 0.25 s.
Results go to docs/benchmarks.md; run on demand.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import month_build  # noqa: E402 - the month's generation and ingest, shared

ROOT = month_build.ROOT


def _tree_rss_mb(root: int) -> float:
    """Resident memory of ``root`` and all its descendants now (Spark's JVM is a grandchild that
    dbt never waits for, so the children's rusage does not see it)."""
    parents, rss = {}, {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(stat.parent.name)
        parents[pid], rss[pid] = int(fields[1]), int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
    tree, frontier = {root}, [root]
    while frontier:
        frontier = [p for p, parent in parents.items() if parent in frontier and p not in tree]
        tree.update(frontier)
    return sum(rss.get(p, 0) for p in tree) / 2**20


def child_dbt(target: str, raw: str, work: str) -> None:
    """One `dbt build` of the whole project; prints wall time and the process tree's peak RSS
    (sampled every 0.25 s: dbt and, on Spark, the JVM it starts)."""
    work_dir = Path(work)
    shutil.rmtree(work_dir, ignore_errors=True)
    work_dir.mkdir(parents=True)
    project = ROOT / "dbt_project"
    env = {
        **os.environ,
        "FINOPS_RAW_LAKE_DIR": raw,
        "FINOPS_WAREHOUSE_PATH": str(work_dir / "warehouse.duckdb"),
        "FINOPS_SPARK_WAREHOUSE_DIR": str(work_dir / "warehouse"),
    }
    start = time.perf_counter()
    log = open(work_dir / "dbt.out", "w+")  # noqa: SIM115 - read back below
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("dbt")),
            "build",
            "--target",
            target,
            "--exclude-resource-type",
            "unit_test",
            "--project-dir",
            str(project),
            "--profiles-dir",
            str(project),
            "--target-path",
            str(work_dir / "target"),
            "--log-path",
            str(work_dir / "logs"),
        ],
        cwd=work_dir,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    peak = 0.0
    while proc.poll() is None:
        peak = max(peak, _tree_rss_mb(proc.pid))
        time.sleep(0.25)
    seconds = time.perf_counter() - start
    log.seek(0)
    out = log.read()
    done = next((ln for ln in out.splitlines()[::-1] if "Done. PASS=" in ln), out[-300:])
    waited = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "target": target,
                "ok": proc.returncode == 0,
                "seconds": seconds,
                "summary": done.split("Done. ")[-1].strip(),
                "peak_rss_mb": max(peak, waited),
            }
        )
    )


def run_size(rows: int, work: Path, reuse: bool) -> dict:
    from finops_dagster.demo.business_data import write_csv
    from finops_dagster.demo.generator import DemoConfig, generate

    periods = month_build._periods(1)
    base = work / f"{rows // 1_000_000}M"
    cfg = DemoConfig(
        out_dir=base / "demo",
        scale=max(1, round(rows / month_build.ROWS_PER_SCALE)),
        rows_per_file=2_000_000,
        periods=periods,
    )
    if not (reuse and (cfg.out_dir / "truth.json").exists()):
        generate(cfg)
    truth = json.loads((cfg.out_dir / "truth.json").read_text())
    data = base / "data"
    env = month_build._env(data, str(cfg.export_root), periods)
    if not (reuse and (data / "raw" / "cur").is_dir()):
        shutil.rmtree(data, ignore_errors=True)
        data.mkdir(parents=True)
        write_csv(data / "demo" / "business")
        first, end = month_build.period_bounds(periods[0])
        for job in ("cur_ingest_job", "sources_job"):
            month_build._measure(
                ["--child", job, first.isoformat(), (end - dt.timedelta(days=1)).isoformat()], env
            )
    # what the dbt assets do before every build: optional sources with no data (Cost Explorer and
    # CloudWatch are off here) get an empty file of their schema
    from finops_dagster.lake.optional_sources import ensure_readable
    from finops_dagster.lake.raw_lake import RawLake

    ensure_readable(RawLake(data / "raw"))
    builds = []
    for target in ("duckdb", "spark"):
        os.sync()
        proc = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child-dbt",
                target,
                str(data / "raw"),
                str(base / f"build-{target}"),
            ],
            env=env,
            capture_output=True,
            text=True,
        )
        if proc.returncode:
            raise SystemExit(f"{target} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        builds.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        print(f"  {truth['total_rows']:,}: {json.dumps(builds[-1])}", flush=True)
    return {"rows": truth["total_rows"], "requested": rows, "builds": builds}


def write_report(results: list[dict], section_name: str = "engines") -> None:
    load = os.getloadavg()
    title = "DuckDB and Spark" + ("" if section_name == "engines" else f" ({section_name})")
    out = [
        f"## {title} (bench/engines.py)",
        "",
        f"Measured {dt.date.today()} on {platform.machine()} ({os.cpu_count()} cores), Python "
        f"{platform.python_version()}, load average {load[0]:.1f} when the report was written: "
        "`dbt build` of the whole project (models, seeds, data tests) from an empty warehouse over "
        "the same raw lake of one month, DuckDB (`memory_limit` 1 GB, 2 threads) against Spark "
        "local mode (`local[2]`, session method, 1 GB driver heap). Peak RSS: the highest sum over "
        "the build's process tree (dbt, and Spark's JVM), sampled every 0.25 s. Reproduce: `uv run python "
        "bench/engines.py --rows "
        + ",".join(str(r["requested"]) for r in results)
        + (f" --section {section_name}" if section_name != "engines" else "")
        + "`.",
        "",
        "| line items | engine | wall | peak RSS | dbt result |",
        "|---|---|---|---|---|",
    ]
    for r in results:
        for b in r["builds"]:
            result = b["summary"] if b["ok"] else f"FAILED: {b['summary']}"
            out.append(
                f"| {r['rows']:,} | {b['target']} | {b['seconds']:.0f} s | "
                f"{b['peak_rss_mb']:,.0f} MB | {result} |"
            )
    month_build.write_section(section_name, "\n".join(out) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", default="2000000", help="line items of the month, comma separated")
    parser.add_argument("--work", default="/tmp/finops-engines")
    parser.add_argument("--reuse", action="store_true", help="keep the lake built earlier")
    parser.add_argument("--child-dbt", nargs=3, metavar=("TARGET", "RAW", "WORK"))
    parser.add_argument("--section", default="engines", help="docs/benchmarks.md section to (re)write")
    args = parser.parse_args()
    if args.child_dbt:
        return child_dbt(*args.child_dbt)
    write_report([run_size(int(r), Path(args.work), args.reuse) for r in args.rows.split(",")], args.section)


if __name__ == "__main__":
    main()
