"""``finops-dagster``: the demo end to end, the demo generator, and the Dagster UI.

finops-dagster demo [--no-ui]    generate, materialize every asset for the demo window,
                                 verify against the planted truth, then start the UI
finops-dagster generate --out D  write a demo CUR export (--scale for benchmarks)
finops-dagster inspect [URL]     describe an export without ingesting it
finops-dagster sync              ingest the export (FINOPS_CUR_EXPORT_URL), build the marts
finops-dagster ui                start the Dagster UI on the existing data
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
from pathlib import Path

from finops_dagster.console import log_file, quiet
from finops_dagster.settings import PROJECT_ROOT, Settings

log = logging.getLogger("finops_dagster")

ENVIRONMENT_HELP = """environment:
  FINOPS_CUR_EXPORT_URL   export root: local folder or s3://bucket/prefix (default: the demo export)
  FINOPS_DATA_DIR         where the raw lake, ledger and warehouse.duckdb live (default ./data)
  FINOPS_HISTORY_START    first billing period covered, YYYY-MM (default 2026-08); day partitions
                          start on its first day
  FINOPS_AS_OF            the last day the export can contain, YYYY-MM-DD: gaps and expected
                          periods stop there (default: yesterday, UTC: AWS's delivery lag)
  FINOPS_COST_EXPLORER    auto (default: used when reachable) or off
  FINOPS_CLOUDWATCH       auto (default) or off
  FINOPS_CLOUDWATCH_ROLE_ARNS, FINOPS_COST_EXPLORER_ROLE_ARNS
                          IAM role ARNs (comma-separated), one per linked account to read
  FINOPS_BUSINESS_URL     business data folder or postgresql+psycopg2:// URL (default: none);
                          keep the password in PGPASSWORD or ~/.pgpass, not in the URL
  FINOPS_MAX_SHRINK       share of a closed month a re-delivery may lose before it is held (0.25)
  FINOPS_ALLOW_SHRINK     billing periods (YYYY-MM,...) whose held re-delivery may go ahead
  FINOPS_API_TOKEN        bearer token of `serve` (required when --host is not loopback)
  AWS_PROFILE, AWS_ENDPOINT_URL_S3, ...  boto3's usual chain for S3 exports and AWS APIs
"""


def _prepare_home(settings: Settings) -> Path:
    from finops_dagster.instance import prepare_home

    home = prepare_home(settings.data_dir)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def cmd_generate(args: argparse.Namespace) -> int:
    from finops_dagster.demo.generator import DemoConfig, generate

    truth = generate(
        DemoConfig(
            out_dir=Path(args.out).resolve(),
            seed=args.seed,
            scale=args.scale,
            rows_per_file=args.rows_per_file,
        ),
        fmt=args.format,
    )
    print(f"wrote {truth['total_rows']} line items to {truth['export_root']}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from finops_dagster.demo.business_data import write_csv
    from finops_dagster.demo.environment import demo_endpoints
    from finops_dagster.demo.generator import DemoConfig, generate
    from finops_dagster.demo.run import run_demo

    settings = Settings.from_env()
    from finops_dagster.partitions import DEFAULT_HISTORY_START

    # the demo's "today" and first month, whatever a real export's settings say
    settings = replace(settings, as_of=settings.as_of or "2026-10-31", history_start=DEFAULT_HISTORY_START)
    _prepare_home(settings)
    log_path = log_file(settings.data_dir, "demo")
    print(
        f"demo: Dagster's events and dbt's output go to {log_path}"
        + (" (--verbose: here)" if args.verbose else ""),
        flush=True,
    )
    with contextlib.ExitStack() as endpoints_alive:  # the AWS endpoints outlive the quiet part
        with quiet(log_path, args.verbose) as say:
            say(f"[1/4] generating the demo data under {settings.demo_dir}")
            cfg = DemoConfig(out_dir=settings.demo_dir, seed=args.seed)
            truth = generate(cfg)
            write_csv(settings.demo_dir / "business")
            say("[2/4] starting the local AWS endpoints (moto: S3, CloudWatch, STS; Cost Explorer)")
            endpoints = endpoints_alive.enter_context(demo_endpoints(cfg, progress=lambda m: None))
            settings = replace(settings, cur_export_url=endpoints.cur_export_url)
            settings.export_to_environ()
            say(
                f"[3/4] materializing every asset for {truth['start']}..{truth['end']}, then "
                "re-delivering 2026-08 (a restatement) and syncing it (about 3 min)"
            )
            report = run_demo(settings, truth, redeliver=endpoints.redeliver, progress=say)
        print(report.render(), flush=True)
        if not report.ok:
            return 1
        if args.no_ui:
            return 0
        ui_log = None if args.verbose else log_file(settings.data_dir, "ui")
        print(
            f"[4/4] starting the Dagster UI: open http://{args.host}:{args.port}/assets "
            "(asset graph, day partitions, checks); the local AWS endpoints stay up for "
            f"re-runs from the UI; Ctrl-C stops everything" + (f" (UI log: {ui_log})" if ui_log else ""),
            flush=True,
        )
        return _run_ui_child(args, ui_log)


def _dagster_dev_argv(args: argparse.Namespace) -> list[str]:
    dagster = str(Path(sys.executable).with_name("dagster"))
    return [dagster, "dev", "-w", str(PROJECT_ROOT / "workspace.yaml"), "-h", args.host, "-p", str(args.port)]


def _ui_environ() -> dict[str, str]:
    """dagster dev's environment: its SupersessionWarning ("use dg dev") silenced: `dg` comes
    with dagster-dg-cli and a dg project layout this project does not use yet."""
    warnings = ",".join(filter(None, [os.environ.get("PYTHONWARNINGS"), "ignore::Warning:click.core"]))
    return {**os.environ, "PYTHONWARNINGS": warnings}


def _run_ui_child(args: argparse.Namespace, log_path: Path | None = None) -> int:
    """dagster dev as a child process, so this process keeps the demo endpoints alive. It runs
    in DAGSTER_HOME (from the project folder it warned that the project's dagster.yaml, the
    template, is ignored); its output goes to ``log_path`` unless --verbose."""
    import subprocess

    log = open(log_path, "ab") if log_path is not None else None  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        _dagster_dev_argv(args),
        cwd=os.environ.get("DAGSTER_HOME", PROJECT_ROOT),
        env=_ui_environ(),
        stdout=log,
        stderr=subprocess.STDOUT if log else None,
        preexec_fn=_default_signals,
    )

    def stop(signum, frame):  # noqa: ARG001
        proc.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        return proc.wait()
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=30)
        if log is not None:
            log.close()


def _default_signals() -> None:
    # A non-interactive parent may have set SIGINT/SIGTERM to ignored; dagster dev inherits that.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def cmd_sync(args: argparse.Namespace) -> int:
    """Ingest every new, restated or incomplete billing period, build the cost marts, report
    gaps and optional sources; exit 1 when anything asked for was not built."""
    import dagster as dg

    from finops_dagster.definitions import build_definitions
    from finops_dagster.operations import sync_export

    settings = Settings.from_env()
    settings.export_to_environ()
    _prepare_home(settings)
    print(
        f"sync: export {settings.cur_export_url}, history from {settings.history_start}, "
        f"as of {settings.as_of or 'yesterday (UTC; AWS delivers with about a day of lag)'}, "
        f"data in {settings.data_dir}",
        flush=True,
    )
    log_path = log_file(settings.data_dir, "sync")
    print(
        f"sync: Dagster's events and dbt's output go to {log_path}"
        + (" (--verbose: here)" if args.verbose else ""),
        flush=True,
    )
    with quiet(log_path, args.verbose) as say:
        defs = build_definitions(settings)
        with dg.DagsterInstance.get() as instance:
            summary = sync_export(defs, instance, progress=say)
    print("\nsummary:")
    for line in summary.failures:
        print(f"  FAILED {line}")
    for line in summary.findings:
        print(f"  FINDING {line}")
    if not summary.failures:
        print("  everything asked for was built")
    return 1 if summary.failures or (args.strict and summary.findings) else 0


def cmd_inspect(args: argparse.Namespace) -> int:
    from finops_dagster.sources.cur_inspect import inspect_export

    settings = Settings.from_env()
    text, ok = inspect_export(args.url or settings.cur_export_url, settings.cache_dir, settings.history_start)
    print(text)
    return 0 if ok else 1


def cmd_ui(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    settings.export_to_environ()
    _prepare_home(settings)
    url = f"http://{args.host}:{args.port}"
    print(
        f"starting the Dagster UI: open {url}/assets (asset graph, day partitions, checks); Ctrl-C stops it",
        flush=True,
    )
    _default_signals()
    os.chdir(os.environ["DAGSTER_HOME"])  # not the project folder: its dagster.yaml is a template
    argv = _dagster_dev_argv(args)
    os.execve(argv[0], argv, _ui_environ())
    return 0  # not reached


def _loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to any interface


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings = Settings.from_env()
    exports = settings.exports_dir
    if not _loopback(args.host) and not settings.api_token:
        print(
            f"serve --host {args.host} would expose every cost figure to the network without "
            "authentication: set FINOPS_API_TOKEN (clients send 'Authorization: Bearer <token>') "
            "or bind to 127.0.0.1",
            file=sys.stderr,
        )
        return 2
    print(
        f"read-only API over {exports} ({args.workers} worker(s)): http://{args.host}:{args.port}/docs",
        flush=True,
    )
    settings.export_to_environ()  # each worker builds the app from the environment
    uvicorn.run(
        "finops_dagster.api.app:app_from_environment",
        factory=True,
        host=args.host,
        port=args.port,
        log_level="warning",
        workers=args.workers,
        access_log=False,
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    parser = argparse.ArgumentParser(prog="finops-dagster")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="offline demo end to end, then the UI")
    demo.add_argument("--no-ui", action="store_true", help="stop after the run; exit 1 on failure")
    demo.add_argument(
        "--verbose",
        action="store_true",
        help="Dagster's events and dbt's output on the terminal, not in data/logs/",
    )
    demo.add_argument("--seed", type=int, default=42)
    demo.set_defaults(func=cmd_demo)

    gen = sub.add_parser("generate", help="write a demo CUR 2.0 export")
    gen.add_argument("--out", required=True)
    gen.add_argument("--seed", type=int, default=42)
    gen.add_argument("--scale", type=int, default=1, help="multiplies the EC2 fleet")
    gen.add_argument("--rows-per-file", type=int, default=10_000)
    gen.add_argument("--format", choices=["parquet", "csv.gz"], default="parquet")
    gen.set_defaults(func=cmd_generate)

    sync = sub.add_parser(
        "sync",
        help="ingest new, restated and missing CUR days, build the cost marts, report gaps",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=ENVIRONMENT_HELP,
    )
    sync.add_argument(
        "--verbose",
        action="store_true",
        help="Dagster's events and dbt's output on the terminal, not in data/logs/",
    )
    sync.add_argument(
        "--strict", action="store_true", help="also exit 1 on findings (gaps, missing billing periods)"
    )
    sync.set_defaults(func=cmd_sync)

    inspect = sub.add_parser(
        "inspect",
        help="describe a CUR export (layout, periods, files, columns, tags, problems) without ingesting",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=ENVIRONMENT_HELP,
    )
    inspect.add_argument(
        "url",
        nargs="?",
        help="export root: local folder or s3://bucket/prefix (default FINOPS_CUR_EXPORT_URL)",
    )
    inspect.set_defaults(func=cmd_inspect)

    ui = sub.add_parser("ui", help="start the Dagster UI")
    ui.set_defaults(func=cmd_ui)

    serve = sub.add_parser("serve", help="start the read-only HTTP API over the marts")
    serve.add_argument(
        "--workers",
        type=int,
        default=2,
        help="uvicorn worker processes, each with its own in-memory copy of the marts "
        "(default 2: one uncached query is ~3 ms of CPU, a second process doubles "
        "throughput on two cores)",
    )
    serve.set_defaults(func=cmd_serve)

    for p, port in ((demo, 3000), (ui, 3000), (serve, 8000)):
        p.add_argument("--host", default="127.0.0.1")
        p.add_argument("--port", type=int, default=port)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
