"""`finops-dagster sync` takes a user from an export URL to fct_daily_cost with configuration only:
no AWS credentials, no Cost Explorer, CloudWatch or business data (issue 13, "done when").

Each test runs the real command in a fresh process, exactly as a user would, on an export
dropped unchanged into its AWS folder layout.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.sources import real_exports as rx

FINOPS = str(Path(sys.executable).with_name("finops-dagster"))


def _env(export: Path, data: Path, history: str, as_of: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "FINOPS_", "DAGSTER_"))}
    return env | {
        "FINOPS_CUR_EXPORT_URL": str(export),
        "FINOPS_DATA_DIR": str(data),
        "FINOPS_HISTORY_START": history,
        "FINOPS_AS_OF": as_of,
        # no credentials anywhere: not in the environment, files or the instance metadata service
        "AWS_CONFIG_FILE": "/nonexistent",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def _sync(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([FINOPS, "sync", *args], env=env, capture_output=True, text=True, timeout=900)


def _summary(proc: subprocess.CompletedProcess) -> str:
    """What the command says (its own lines, not Dagster's event log)."""
    return "\n".join(line for line in proc.stdout.splitlines() if " - dagster - " not in line)


def _mart_totals(data: Path) -> tuple[int, float, float]:
    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as con:
        rows, billed, effective = con.execute(
            "select sum(line_item_count), sum(billed_cost), sum(effective_cost) from fct_daily_cost"
        ).fetchone()
    return int(rows), float(billed), float(effective)


def _source_files(root: Path, suffix: str) -> list[Path]:
    return sorted(p for p in root.rglob(f"*{suffix}") if "cost_and_usage_data_status" not in str(p))


def test_2018_athena_and_2023_csv_exports_go_in_with_configuration_only(tmp_path):
    """Both "done when" exports, synced side by side (two processes, as two users would): the
    2018 Athena-layout Parquet export exits 0 with the source's totals; the 2023 legacy CSV one
    names the days after its data stops as gaps."""
    athena = rx.athena_2018(tmp_path / "bucket-2018")
    csv = rx.legacy_csv_2023(tmp_path / "bucket-2023")
    env_2018 = _env(athena, tmp_path / "data-2018", "2018-10", "2018-12-31")
    env_2023 = _env(csv, tmp_path / "data-2023", "2023-11", "2023-12-31")
    logs = [(tmp_path / f"sync-{n}.out", tmp_path / f"sync-{n}.err") for n in (2018, 2023)]
    procs = []
    for env, (out, err) in zip((env_2018, env_2023), logs, strict=True):
        with out.open("w") as fo, err.open("w") as fe:  # files, not pipes: neither blocks the other
            procs.append(subprocess.Popen([FINOPS, "sync"], env=env, stdout=fo, stderr=fe, text=True))
    for proc in procs:
        proc.wait(timeout=900)
    results = [
        subprocess.CompletedProcess(p.args, p.returncode, out.read_text(), err.read_text())
        for p, (out, err) in zip(procs, logs, strict=True)
    ]

    out = _summary(results[0])
    assert results[0].returncode == 0, out + results[0].stderr[-3000:]
    assert "layout athena: 3 billing period(s)" in out
    assert "Cost Explorer: no access (no AWS credentials) — skipped" in out
    assert "everything asked for was built" in out and "marts: current" in out
    # quiet by default: a line per step and job run; Dagster's events and dbt in the log file
    assert len(results[0].stdout.splitlines()) < 60 and "STEP_START" not in results[0].stdout
    # long steps say where they are: the delivery read (MB, rows, percent), dbt's models
    assert re.search(
        r"s  CUR 2018-1\d: read file (\d+)/\1 \([\d.]+/[\d.]+ MB, \d+ rows, 100%\)", results[0].stdout
    )
    assert re.search(r"s  dbt build: (\d+)/\1 models \(100%\)", results[0].stdout)
    assert "cur_ingest_job 2018-10-01..2018-12-31: ok in" in results[0].stdout
    (log,) = (tmp_path / "data-2018" / "logs").glob("sync-*.log")
    assert "STEP_START" in log.read_text() and str(log) in results[0].stdout
    rows, billed, effective = _mart_totals(tmp_path / "data-2018")
    want = rx.source_totals(_source_files(athena, ".parquet"))
    assert rows == want[0]
    assert billed == pytest.approx(want[1], abs=1e-6) and effective == pytest.approx(want[2], abs=1e-6)
    with duckdb.connect(str(tmp_path / "data-2018" / "warehouse.duckdb"), read_only=True) as con:
        keys = {k for (k,) in con.execute("select distinct tag_key from fct_daily_cost_tags").fetchall()}
        status = {s for (s,) in con.execute("select distinct status from fct_cost_reconciliation").fetchall()}
        partitions = con.execute("select min(usage_date), max(usage_date) from fct_daily_cost").fetchone()
    assert keys == {"user_cost_center", "user_department", "user_name", "user_workload"}
    assert status == {"cost_explorer_absent"}
    assert [str(d) for d in partitions] == ["2018-10-01", "2018-12-31"]

    out = _summary(results[1])
    assert results[1].returncode == 0, out + results[1].stderr[-3000:]
    assert "layout legacy_create_new" in out
    assert "GAP 2023-11-15..2023-11-30: no line items on 2023-11-15 in closed billing period 2023-11" in out
    assert "FINDING gap 2023-11-15..2023-11-30" in out
    assert "2023-12: missing (no delivery in the export)" in out  # as of 2023-12-31, December is due
    rows, billed, effective = _mart_totals(tmp_path / "data-2023")
    want = rx.source_totals(_source_files(csv, ".csv.gz"))
    assert rows == want[0]
    assert billed == pytest.approx(want[1], abs=1e-6) and effective == pytest.approx(want[2], abs=1e-6)

    before = _mart_totals(tmp_path / "data-2018")
    again = _sync(env_2018)  # idempotent: nothing to do, nothing rebuilt, still exit 0
    assert again.returncode == 0, _summary(again)
    assert "2018-11: up to date (30 days" in _summary(again)
    assert _mart_totals(tmp_path / "data-2018") == before
    strict = _sync(env_2023, "--strict")
    assert strict.returncode == 1  # findings fail the command only when asked to


def test_sync_without_an_export_says_so(tmp_path):
    (tmp_path / "empty").mkdir()
    proc = _sync(_env(tmp_path / "empty", tmp_path / "data", "2023-11", "2023-12-31"))
    assert proc.returncode == 1
    assert f"no export found under {tmp_path / 'empty'}" in _summary(proc)


def test_inspect_command(tmp_path):
    export = rx.legacy_csv_2023(tmp_path / "bucket")
    proc = subprocess.run(
        [FINOPS, "inspect", str(export)],
        capture_output=True,
        text=True,
        timeout=300,
        env=_env(export, tmp_path / "data", "2023-11", "2023-12-31"),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (
        "2023-11: legacy_create_new, delivery b1e2c3d4-5678-4abc-9def-0123456789ab, 2 file(s)" in proc.stdout
    )
    assert "~" in proc.stdout  # csv.gz rows are an estimate
    assert "line_item_resource_id" in proc.stdout  # resource ids switched off: a typed null
    assert not (tmp_path / "data" / "raw").exists()  # inspect writes nothing
