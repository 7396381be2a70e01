"""The warehouse's views read the raw lake by absolute path, fixed when dbt created them. After
the data folder moved they went on reading the old folder (or failed), and only the conservation
check noticed, without saying why. Before every dbt build the views' paths are compared with the
lake's current place, and views that point elsewhere are rebuilt first."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from finops_dagster.lake.object_store import dbt_process_environment

_READ = re.compile(r"read_parquet\(\s*\[?\s*'([^']+)'")


def stale_lake_paths(warehouse: Path, raw_dir: Path | str) -> list[str]:
    """Paths the warehouse's views read that are not under ``raw_dir`` (the lake's location: a
    folder or an s3:// URL; empty: all current)."""
    import duckdb

    if not warehouse.exists():
        return []
    with duckdb.connect(str(warehouse), read_only=True) as con:
        sqls = [r[0] for r in con.execute("select sql from duckdb_views() where not internal").fetchall()]
    here = str(raw_dir) if str(raw_dir).startswith("s3://") else str(Path(raw_dir).resolve())
    return sorted({p for sql in sqls for p in _READ.findall(sql or "") if not p.startswith(here)})


def rebuild_views(
    dbt_executable: str, project_dir: Path, environment: dict[str, str], names: list[str] | None = None
) -> Path:
    """dbt build of the views (and seeds) ``names``, else of every view, without tests, with the
    current lake path (``environment``: the dbt resource's, Settings.dbt_environment); returns its
    run results. It starts from the project's last partial parse and leaves its own as the next
    one: in a build from nothing this is the run's first dbt, and without them both it and the
    build after it parsed the whole project (3.9 s each at 20M on two cores)."""
    target = project_dir / "target"
    own = target / "views-refresh"
    own.mkdir(parents=True, exist_ok=True)
    seed_partial_parse(target, own, environment)
    proc = subprocess.run(
        [
            dbt_executable,
            "build",
            "--quiet",
            "--exclude-resource-type",
            "test",
            "unit_test",
            "--select",
            *(names or ["config.materialized:view"]),
            "--project-dir",
            str(project_dir),
            "--profiles-dir",
            str(project_dir),
            "--target-path",
            "target/views-refresh",
        ],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **dbt_process_environment(environment)},
    )
    if proc.returncode:
        raise RuntimeError(f"rebuilding the warehouse views failed:\n{(proc.stdout + proc.stderr)[-2000:]}")
    keep_partial_parse(own, target, environment)
    return own / "run_results.json"


# dbt parses the whole project again (3-4 s here) when an env var dbt_project.yml reads has
# another value than at the last parse (its project_env_vars hash), and where the lake lies is
# one: with one partial parse for all, a build in a second data folder (the benchmark's build
# from nothing, the tests, the demo beside a real lake) threw the first folder's away and both
# parsed from scratch. Each lake keeps its own.
PROJECT_ENV = ("FINOPS_RAW_LAKE_DIR", "FINOPS_RAW_LAKE_URL")
KEEP_LAKES = 8


def parsed_for(target: Path, environment: Mapping[str, str]) -> Path:
    """Where the partial parse made with ``environment``'s lake is kept."""
    key = hashlib.sha256("\0".join(environment.get(k, "") for k in PROJECT_ENV).encode()).hexdigest()
    return target / "partial-parse" / f"{key[:16]}.msgpack"


def seed_partial_parse(target: Path, into: Path, environment: Mapping[str, str]) -> None:
    """Before an invocation whose target folder is ``into``: the lake's last partial parse (else
    the project's last one), so dbt parses only what changed."""
    kept = parsed_for(target, environment)
    _replace(kept if kept.exists() else target / "partial_parse.msgpack", into / "partial_parse.msgpack")


def keep_partial_parse(source: Path, target: Path, environment: Mapping[str, str]) -> None:
    """After an invocation (its target folder ``source``): its partial parse serves the next one
    on the same lake, and is the project's last one (dagster-dbt's default for invocations that
    were not seeded)."""
    parsed = source / "partial_parse.msgpack"
    if parsed.exists():
        _replace(parsed, parsed_for(target, environment))
        _replace(parsed, target / "partial_parse.msgpack")
        kept = sorted((target / "partial-parse").glob("*.msgpack"), key=lambda p: p.stat().st_mtime)
        for old in kept[:-KEEP_LAKES]:  # 1.1 MB each; every test's lake is a new one
            old.unlink(missing_ok=True)


def _replace(source: Path, destination: Path) -> None:
    """A copy swapped in with one rename: a dbt starting at that moment reads the old file or the
    new one, never half of one."""
    if not source.exists():
        return
    destination.parent.mkdir(parents=True, exist_ok=True)
    tmp = destination.with_name(f".{destination.name}.{os.getpid()}")
    shutil.copyfile(source, tmp)
    tmp.replace(destination)


def record_path(warehouse: Path) -> Path:
    """Which SQL each warehouse view was last built from (dbt's checksum per view)."""
    return warehouse.with_name(warehouse.name + ".views.json")


VIEWS = ("view", "ephemeral")  # read through: an ephemeral model is inlined, a view queried
# what a job that builds no views needs in place, built once and again only when its SQL (or
# CSV) changes: the views, and the seeds (static tables, nothing upstream of them)
STATIC = ("view", "seed")


def read_through_views(manifest: Mapping[str, Any], start: list[str]) -> tuple[list[str], list[str]]:
    """The views and seeds, and the sources, that the nodes ``start`` read, directly or through
    views and ephemeral models, in the order found (the ``start`` nodes themselves left out)."""
    seen, views, sources, todo = set(start), [], [], list(start)
    while todo:
        for parent in manifest["parent_map"].get(todo.pop(0), []):
            if parent in seen:
                continue
            seen.add(parent)
            kind = manifest["nodes"].get(parent, {}).get("config", {}).get("materialized")
            if parent.startswith("source."):
                sources.append(parent)
            elif kind == "seed":
                views.append(parent)
            elif kind in VIEWS:
                todo.append(parent)
                if kind == "view":
                    views.append(parent)
    return views, sources


def upstream_views(manifest: Mapping[str, Any], models: set[str]) -> set[str]:
    """The views and seeds (by name) that ``models`` read, directly or through other views, and
    that are not among ``models`` themselves: what a build of ``models`` needs in place."""
    project = manifest["metadata"].get("project_name", "finops")
    ids = sorted({f"model.{project}.{m}" for m in models} & set(manifest["nodes"]))
    return {manifest["nodes"][u]["name"] for u in read_through_views(manifest, ids)[0]}


def source_views(manifest: Mapping[str, Any], models: set[str]) -> set[str]:
    """Every view and seed of the project (by name) that reads no table dbt builds, only
    sources, seeds and such views, but ``models``: what any dbt step can put in place, so the
    views only Python assets read (stg_business__budgets) exist on a new warehouse too."""
    nodes, parents = manifest["nodes"], manifest["parent_map"]

    def over_sources(uid: str) -> bool:
        kind = nodes.get(uid, {}).get("config", {}).get("materialized")
        if uid.startswith("source.") or kind == "seed":
            return True
        return kind in VIEWS and all(over_sources(p) for p in parents.get(uid, []))

    return {
        n["name"]
        for uid, n in nodes.items()
        if uid.startswith(("model.", "seed."))  # not a hook or an analysis
        and n.get("config", {}).get("materialized") in STATIC
        and n["name"] not in models
        and over_sources(uid)
    }


def changed_views(warehouse: Path, manifest: dict, names: set[str]) -> list[str]:
    """Views and seeds among ``names`` missing from the warehouse, or built from other SQL (or
    CSV) than the project's now (a deploy changed them since): a refresh that skips the views
    must rebuild these first."""
    import duckdb

    if not names:
        return []
    built: set[str] = set()
    if warehouse.exists():
        with duckdb.connect(str(warehouse), read_only=True) as con:
            built = {
                r[0]
                for r in con.execute(
                    "select view_name from duckdb_views() where not internal "
                    "union all select table_name from duckdb_tables()"
                ).fetchall()
            }
    recorded = _recorded(warehouse)
    now = {n["name"]: n["checksum"]["checksum"] for n in manifest["nodes"].values() if n["name"] in names}
    return sorted(n for n in names if n not in built or recorded.get(n) != now.get(n))


def record_built_views(warehouse: Path, manifest: dict, run_results: Path) -> list[str]:
    """After a dbt invocation: the checksum of every view and seed it built successfully."""
    if not run_results.exists():
        return []
    results = json.loads(run_results.read_text())["results"]
    built = [
        r["unique_id"]
        for r in results
        if r["status"] == "success"
        and manifest["nodes"].get(r["unique_id"], {}).get("config", {}).get("materialized") in STATIC
    ]
    if not built:
        return []
    path, recorded = record_path(warehouse), _recorded(warehouse)
    recorded.update(
        {manifest["nodes"][u]["name"]: manifest["nodes"][u]["checksum"]["checksum"] for u in built}
    )
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(recorded, indent=1, sort_keys=True))
    tmp.replace(path)
    return built


def _recorded(warehouse: Path) -> dict[str, str]:
    path = record_path(warehouse)
    return json.loads(path.read_text()) if path.exists() else {}
