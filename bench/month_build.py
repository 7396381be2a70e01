"""Month build benchmark: raw CUR files to every mart and export, job by job.

    uv run python bench/month_build.py [--rows 2000000,20000000] [--months 1] [--work DIR] [--reuse]

For each size: generate the months (the demo generator, Parquet), then run the jobs a sync runs
(cur_ingest_job, sources_job, warehouse_views_job, daily_cost_job, marts_job) each in a fresh
process on one persistent Dagster instance (as the daemon's run workers do), then a one-day
refresh inside the last month (ingest, daily marts and the unpartitioned marts for that day),
once job by job in fresh processes and once as one run of cur_refresh_job (the day's ingest and
everything downstream of it, one code-location load: what the sync sensor and `finops-dagster
sync` run for a re-delivered day), then the demo's restatement of the first period (a new
delivery id) refreshed as one cur_refresh_job run over the period, then a bare DuckDB query
producing fct_daily_cost's aggregation from the same raw lake, then the same months built from
nothing again as the schedules build them (reference_job, then one month_refresh_job run over
every day, in a second data folder). Each process reports its wall
time, the part spent loading the code location, its own peak RSS and the largest child's
(dbt runs as a child). Cost Explorer and CloudWatch are off: the build reads CUR and the demo's
business files. Results go to docs/benchmarks.md; run on demand, not in the test suite.
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

from finops_dagster.sources.cur_layout import period_bounds

ROOT = Path(__file__).resolve().parents[1]
ROWS_PER_SCALE = 14_137  # CUR rows per fleet copy in a 31-day month of the demo generator
FIRST_PERIOD = "2026-08"
JOBS = ("cur_ingest_job", "sources_job", "warehouse_views_job", "daily_cost_job", "marts_job")
WINDOWED = {"cur_ingest_job", "sources_job", "daily_cost_job", "cur_refresh_job", "month_refresh_job"}
REFRESH = ("cur_ingest_job", "daily_cost_job", "marts_job")  # what a one-day refresh runs


def _periods(months: int) -> tuple[str, ...]:
    first = dt.date.fromisoformat(f"{FIRST_PERIOD}-01")
    return tuple(
        f"{first.year + (first.month - 1 + i) // 12}-{(first.month - 1 + i) % 12 + 1:02d}"
        for i in range(months)
    )


def _env(data: Path, export: str, periods: tuple[str, ...]) -> dict[str, str]:
    end = period_bounds(periods[-1])[1]
    return {
        **os.environ,
        "FINOPS_DATA_DIR": str(data),
        "FINOPS_CUR_EXPORT_URL": export,
        "FINOPS_HISTORY_START": periods[0],
        "FINOPS_AS_OF": (end + dt.timedelta(days=3)).isoformat(),
        "FINOPS_COST_EXPLORER": "off",
        "FINOPS_CLOUDWATCH": "off",
        "DAGSTER_HOME": str(data / "dagster_home"),
        "PYTHONPATH": str(ROOT),
    }


def _measure(argv: list[str], env: dict[str, str]) -> dict:
    """One measurement in a fresh interpreter; it prints its numbers as the last JSON line.
    Dirty pages of the previous step are flushed first so their write-back does not compete."""
    os.sync()
    proc = subprocess.run([sys.executable, __file__, *argv], env=env, capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"{' '.join(argv)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


PROBE = """import time
def f():
    s = time.perf_counter(); x = 0
    for i in range(3_000_000): x += i * i
    return time.perf_counter() - s
print(min(f() for _ in range(5)))"""


def cpu_probe() -> tuple[float, float]:
    """How fast the machine is right now: a fixed Python loop (best of five, ms) in one process,
    then in two at once (the slower of the two). The virtual machines these numbers come from
    drift by 40 % within an hour; the probe beside each size says which speed it ran at."""
    alone = float(subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True).stdout)
    pair = [
        subprocess.Popen([sys.executable, "-c", PROBE], stdout=subprocess.PIPE, text=True) for _ in range(2)
    ]
    both = max(float(p.communicate()[0]) for p in pair)
    return alone * 1000, both * 1000


def _peaks() -> dict[str, float]:
    # VmHWM, not ru_maxrss, for this process: ru_maxrss survives exec and reports the parent's
    hwm = next(ln for ln in Path("/proc/self/status").read_text().splitlines() if ln.startswith("VmHWM"))
    return {
        "rss_mb": int(hwm.split()[1]) / 1024,
        "child_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }


def child_job(job: str, first: str, last: str) -> None:
    start = time.perf_counter()
    import dagster as dg

    from finops_dagster.definitions import build_definitions
    from finops_dagster.instance import prepare_home
    from finops_dagster.operations import range_tags, run_job
    from finops_dagster.settings import Settings

    settings = Settings.from_env()
    prepare_home(settings.data_dir)
    defs = build_definitions(settings)
    instance = dg.DagsterInstance.get()
    loaded = time.perf_counter()
    result = run_job(defs, instance, job, range_tags(first, last) if job in WINDOWED else None)
    end = time.perf_counter()
    print(
        json.dumps(
            {
                "job": job,
                "ok": result.success,
                "seconds": end - start,
                "load_seconds": loaded - start,
                **_peaks(),
            }
        )
    )


def child_bare(raw: str) -> None:
    """fct_daily_cost's grain and sums, straight from the raw day files in one DuckDB query."""
    import duckdb

    start = time.perf_counter()
    with duckdb.connect() as con:
        rows = con.execute(f"""
            select count(*) from (
            select cast(line_item_usage_start_date as date) as usage_date, bill_billing_period_start_date,
                bill_payer_account_id, line_item_usage_account_id, line_item_product_code,
                line_item_resource_id,
                case when line_item_line_item_type in ('Usage', 'DiscountedUsage',
                    'SavingsPlanCoveredUsage', 'SavingsPlanNegation') then 'Usage'
                    when line_item_line_item_type in ('RIFee', 'SavingsPlanRecurringFee',
                    'SavingsPlanUpfrontFee', 'Fee') then 'Purchase'
                    when line_item_line_item_type = 'Tax' then 'Tax'
                    when line_item_line_item_type in ('Credit', 'Refund') then 'Credit'
                    else 'Adjustment' end as charge_category,
                sum(cast(line_item_unblended_cost as decimal(38, 10))) as billed_cost,
                sum(cast(line_item_net_unblended_cost as decimal(38, 10))) as net_billed_cost,
                sum(line_item_usage_amount) as usage_quantity, count(*) as line_items
            from read_parquet('{raw}/**/*.parquet', union_by_name = true)
            group by all)""").fetchone()[0]
    print(
        json.dumps(
            {
                "job": "bare DuckDB fct_daily_cost aggregation",
                "ok": True,
                "rows": rows,
                "seconds": time.perf_counter() - start,
                "load_seconds": 0,
                **_peaks(),
            }
        )
    )


def run_size(rows: int, months: int, work: Path, reuse: bool) -> dict:
    from finops_dagster.demo.business_data import write_csv
    from finops_dagster.demo.generator import DemoConfig, generate

    periods = _periods(months)
    probe_before = cpu_probe()
    scale = max(1, round(rows / ROWS_PER_SCALE))
    base = work / f"{rows // 1_000_000}M-x{months}"
    cfg = DemoConfig(out_dir=base / "demo", scale=scale, rows_per_file=2_000_000, periods=periods)
    if not (reuse and (cfg.out_dir / "truth.json").exists()):
        t = time.perf_counter()
        truth = generate(cfg)
        print(
            f"generated {truth['total_rows']:,} line items ({months} month(s)) in "
            f"{time.perf_counter() - t:.0f}s",
            flush=True,
        )
    truth = json.loads((cfg.out_dir / "truth.json").read_text())
    data = base / "data"
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    write_csv(data / "demo" / "business")  # the demo's requests, customers, budgets
    env = _env(data, str(cfg.export_root), periods)
    first = f"{periods[0]}-01"
    last_start, next_start = period_bounds(periods[-1])
    last = next_start - dt.timedelta(days=1)
    steps = []
    for job in JOBS:
        steps.append(_measure(["--child", job, first, last.isoformat()], env))
        print(f"  {rows:,} x {months}: {json.dumps(steps[-1])}", flush=True)
    day = (last_start + dt.timedelta(days=14)).isoformat()
    refresh = []
    for job in REFRESH:
        refresh.append(_measure(["--child", job, day, day], env))
        print(f"  refresh {day}: {json.dumps(refresh[-1])}", flush=True)
    # what the sync sensor and `finops-dagster sync` run for a re-delivered day: one run of
    # cur_refresh_job (the day's ingest and everything downstream of it) in one process
    one_run = {
        **_measure(["--child", "cur_refresh_job", day, day], env),
        "job": "cur_refresh_job (one run, as the sync sensor runs it)",
    }
    print(f"  refresh {day} as one run: {json.dumps(one_run)}", flush=True)
    redelivered = _redelivered(cfg, env)
    print(f"  {json.dumps(redelivered)}", flush=True)
    bare = _measure(["--bare", str(data / "raw" / "cur")], env)
    print(f"  {json.dumps(bare)}", flush=True)
    scheduled = _scheduled_build(base / "data-scheduled", str(cfg.export_root), periods, first, last)
    return {
        "probe": (probe_before, cpu_probe()),
        "rows": truth["total_rows"],
        "requested": rows,
        "months": months,
        "steps": steps,
        "refresh": refresh,
        "refresh_run": one_run,
        "refresh_day": day,
        "redelivered": redelivered,
        "bare": bare,
        "scheduled": scheduled,
    }


def _scheduled_build(data: Path, export: str, periods: tuple[str, ...], first: str, last: dt.date) -> list:
    """The same months built from nothing as the schedules build them: reference_job, then one
    month_refresh_job run over every day (sources, seeds, views, daily marts, marts, exports)."""
    from finops_dagster.demo.business_data import write_csv

    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    write_csv(data / "demo" / "business")
    env = _env(data, export, periods)
    steps = []
    for job in ("reference_job", "month_refresh_job"):
        steps.append(_measure(["--child", job, first, last.isoformat()], env))
        steps[-1]["job"] = f"as the schedules build it: {job}" + (
            " (one run)" if job != "reference_job" else ""
        )
        print(f"  {json.dumps(steps[-1])}", flush=True)
    return steps


def _redelivered(cfg, env: dict[str, str]) -> dict:
    """The demo's restatement of its first period (a new delivery id, the planted changed lines)
    refreshed as the sync sensor does: one cur_refresh_job run over the period's days. The
    export's files are put back afterwards, so a --reuse run starts from the first delivery."""
    from finops_dagster.demo.generator import restate

    export = cfg.export_root
    kept = export.with_name(export.name + ".before-redelivery")
    shutil.rmtree(kept, ignore_errors=True)
    shutil.copytree(export, kept)
    try:
        period = restate(cfg)["period"]
        start, end = period_bounds(period)
        last = (end - dt.timedelta(days=1)).isoformat()
        step = _measure(["--child", "cur_refresh_job", start.isoformat(), last], env)
    finally:
        shutil.rmtree(export)
        kept.rename(export)
    days = (end - start).days
    return {**step, "job": f"re-delivered period {period}: cur_refresh_job over its {days} days, one run"}


def write_report(results: list[dict], section_name: str = "month-build") -> None:
    load = os.getloadavg()
    title = "Month build" + ("" if section_name == "month-build" else f" ({section_name})")
    out = [
        f"## {title} (bench/month_build.py)",
        "",
        f"Measured {dt.date.today()} on {platform.machine()} ({os.cpu_count()} cores), Python "
        f"{platform.python_version()}, load average {load[0]:.1f} when the report was written. "
        "Each job runs in a fresh process on one persistent Dagster instance ("
        + ("PostgreSQL, `FINOPS_DAGSTER_PG_URL`" if os.environ.get("FINOPS_DAGSTER_PG_URL") else "SQLite")
        + "), as the "
        "daemon's run workers run them; the refresh also as one run of cur_refresh_job (what the "
        "sync sensor runs for a re-delivered day). Cost Explorer and CloudWatch off. *load* is the "
        "code location's start-up inside the job's wall time; peak RSS is the job process's own and its "
        "largest child's (dbt). Reproduce: `uv run python bench/month_build.py --rows "
        + ",".join(str(r["requested"]) for r in results)
        + (f" --months {results[0]['months']}" if results[0]["months"] > 1 else "")
        + (f" --section {section_name}" if section_name != "month-build" else "")
        + "`"
        + (
            " with `FINOPS_DAGSTER_PG_URL` set to an empty database"
            if os.environ.get("FINOPS_DAGSTER_PG_URL")
            else ""
        )
        + ".",
        "",
        "CPU probe (bench/month_build.py `cpu_probe`: a fixed Python loop, one process / two at once; "
        "about 125 / 130 ms when this machine is quiet and fast): "
        + "; ".join(
            f"{r['rows']:,} line items: {b[0]:.0f} / {b[1]:.0f} ms before, {a[0]:.0f} / {a[1]:.0f} ms after"
            for r in results
            for b, a in [r["probe"]]
        )
        + ".",
        "",
    ]
    out += [
        "| line items | months | job | wall | load | peak RSS (job / dbt) | ok |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        refresh = [*r["refresh"], r["refresh_run"]]
        for s in [
            *r["steps"],
            *[{**s, "job": f"one-day refresh {r['refresh_day']}: {s['job']}"} for s in refresh],
            r["redelivered"],
            *r.get("scheduled", []),
            r["bare"],
        ]:
            out.append(
                f"| {r['rows']:,} | {r['months']} | {s['job']} | {s['seconds']:.1f} s | "
                f"{s['load_seconds']:.1f} s | {s['rss_mb']:,.0f} / {s['child_rss_mb']:,.0f} MB | "
                f"{'yes' if s['ok'] else 'FAILED'} |"
            )
    out += [
        "",
        "| line items | months | full build, job by job | its work (wall - load) | full build as the "
        "schedules run it | one-day refresh | its work | as one run (cur_refresh_job) | re-delivered "
        "period | highest peak RSS | bare DuckDB aggregation |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:

        def total(steps, key="seconds"):
            return sum(s[key] for s in steps)

        peak = max(
            max(s["rss_mb"], s["child_rss_mb"])
            for s in [*r["steps"], *r["refresh"], r["refresh_run"], r["redelivered"], *r.get("scheduled", [])]
        )
        scheduled = f"{total(r['scheduled']):.0f} s" if r.get("scheduled") else "-"
        out.append(
            f"| {r['rows']:,} | {r['months']} | {total(r['steps']):.0f} s | "
            f"{total(r['steps']) - total(r['steps'], 'load_seconds'):.0f} s | {scheduled} | "
            f"{total(r['refresh']):.0f} s | "
            f"{total(r['refresh']) - total(r['refresh'], 'load_seconds'):.0f} s | "
            f"{r['refresh_run']['seconds']:.0f} s | {r['redelivered']['seconds']:.0f} s | "
            f"{peak:,.0f} MB | {r['bare']['seconds']:.1f} s, {r['bare']['rss_mb']:,.0f} MB |"
        )
    write_section(section_name, "\n".join(out) + "\n")


def write_section(section_name: str, section: str) -> None:
    """Replace (or append) the section between its markers in docs/benchmarks.md."""
    doc = ROOT / "docs" / "benchmarks.md"
    text = doc.read_text()
    begin, end = f"<!-- {section_name}:start -->", f"<!-- {section_name}:end -->"
    block = f"{begin}\n{section}{end}"
    if begin in text:
        text = text[: text.index(begin)] + block + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    doc.write_text(text)
    print(section)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", default="2000000,20000000", help="line items per month, comma separated")
    parser.add_argument("--months", type=int, default=1)
    parser.add_argument("--work", default="/tmp/finops-month")
    parser.add_argument("--reuse", action="store_true", help="keep exports generated earlier")
    parser.add_argument("--child", nargs=3, metavar=("JOB", "FIRST", "LAST"))
    parser.add_argument("--bare")
    parser.add_argument("--section", default="month-build", help="docs/benchmarks.md section to (re)write")
    args = parser.parse_args()
    if args.child:
        return child_job(*args.child)
    if args.bare:
        return child_bare(args.bare)
    results = [run_size(int(r), args.months, Path(args.work), args.reuse) for r in args.rows.split(",")]
    write_report(results, args.section)


if __name__ == "__main__":
    main()
