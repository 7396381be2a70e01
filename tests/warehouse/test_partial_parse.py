"""Each lake keeps its own partial parse (warehouse/lake_paths.py): dbt parses the whole project
again when FINOPS_RAW_LAKE_DIR, which dbt_project.yml reads, has another value than at the last
parse, so runs on two data folders threw each other's parse away (3-4 s per dbt start)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from finops_dagster.defs.warehouse.project import DBT_EXECUTABLE, dbt_project, ensure_manifest
from finops_dagster.warehouse.lake_paths import KEEP_LAKES, keep_partial_parse, parsed_for, seed_partial_parse

PROJECT = Path(dbt_project.project_dir)


def _ls(environment: dict[str, str], target: Path) -> list[str]:
    """A dbt ls in ``target``; the names of dbt's parse events (full or partial)."""
    proc = subprocess.run(
        [DBT_EXECUTABLE, "ls", "--select", "fct_daily_cost", "--log-format", "json"]
        + ["--project-dir", str(PROJECT), "--profiles-dir", str(PROJECT), "--target-path", str(target)],
        env={**os.environ, **environment},
        capture_output=True,
        text=True,
        check=True,
    )
    names = [json.loads(line)["info"]["name"] for line in proc.stdout.splitlines() if line.startswith("{")]
    return [n for n in names if "Parse" in n or "Parsing" in n]


def test_two_lakes_keep_their_own_partial_parse(tmp_path):
    ensure_manifest()
    target = tmp_path / "target"  # a private project target: the real one serves other tests
    target.mkdir()
    lakes = [{"FINOPS_RAW_LAKE_DIR": str(tmp_path / name / "raw")} for name in ("a", "b")]
    for i, lake in enumerate(lakes):  # first parse for each lake: from scratch
        run = tmp_path / f"first-{i}"
        _ls(lake, run)
        keep_partial_parse(run, target, lake)
    assert parsed_for(target, lakes[0]) != parsed_for(target, lakes[1])
    assert all(parsed_for(target, lake).exists() for lake in lakes)

    # the project's last parse is lake b's: lake a's own makes its next dbt skip the parse
    again = tmp_path / "again"
    seed_partial_parse(target, again, lakes[0])
    assert (again / "partial_parse.msgpack").read_bytes() == parsed_for(target, lakes[0]).read_bytes()
    events = _ls(lakes[0], again)
    assert "UnableToPartialParse" not in events, events

    # what each did before: the project's last parse, made on the other lake, is thrown away
    other = tmp_path / "other"
    other.mkdir()
    (other / "partial_parse.msgpack").write_bytes((target / "partial_parse.msgpack").read_bytes())
    assert "UnableToPartialParse" in _ls(lakes[0], other)


def test_the_kept_parses_are_bounded(tmp_path):
    source, target = tmp_path / "run", tmp_path / "target"
    source.mkdir()
    (source / "partial_parse.msgpack").write_bytes(b"parsed")
    for i in range(KEEP_LAKES + 3):
        keep_partial_parse(source, target, {"FINOPS_RAW_LAKE_DIR": f"/lake/{i}"})
        os.utime(parsed_for(target, {"FINOPS_RAW_LAKE_DIR": f"/lake/{i}"}), (i, i))
    kept = sorted(p.name for p in (target / "partial-parse").glob("*.msgpack"))
    assert len(kept) == KEEP_LAKES
    assert parsed_for(target, {"FINOPS_RAW_LAKE_DIR": f"/lake/{KEEP_LAKES + 2}"}).name in kept
    assert parsed_for(target, {"FINOPS_RAW_LAKE_DIR": "/lake/0"}).name not in kept
