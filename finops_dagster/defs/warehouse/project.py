"""The dbt project, its manifest and the one translator every dbt asset uses."""

import fcntl
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg

from finops_dagster.selections import VIEW
from finops_dagster.settings import DBT_PROJECT_DIR
from finops_dagster.warehouse import dagster_dbt_light
from finops_dagster.warehouse.lake_paths import VIEWS, read_through_views

LIGHT = dagster_dbt_light.load()  # before dagster_dbt is imported: see warehouse/dagster_dbt_light.py
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtProject  # noqa: E402

DBT_EXECUTABLE = str(Path(sys.executable).with_name("dbt"))
# what the dbt assets run: dbt that dies with the run worker (warehouse/dbt_guard.py)
GUARDED_DBT = Path(sys.executable).with_name("finops-dbt")

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def ensure_manifest(project: DbtProject = dbt_project) -> Path:
    """The dbt assets are built from target/manifest.json: parse on a fresh checkout, and again
    when a model, macro, seed or the project file changed since (a stale manifest silently
    left new models and seeds out of the asset graph).

    Processes that load the code location at once (test workers, run workers on a fresh
    checkout) parse one at a time under a file lock, each into its own folder, and the manifest
    is swapped in with one rename: a reader never sees half of it (two xdist workers on a clean
    clone did: "unexpected content after document")."""
    manifest = Path(project.manifest_path)
    if manifest.exists() and not _changed_since(project, manifest.stat().st_mtime):
        return manifest
    manifest.parent.mkdir(parents=True, exist_ok=True)
    with open(manifest.parent / ".parse.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if manifest.exists() and not _changed_since(project, manifest.stat().st_mtime):
            return manifest  # another process parsed while this one waited
        private = manifest.parent / f".parse-{os.getpid()}"
        try:
            subprocess.run(
                [
                    DBT_EXECUTABLE,
                    "parse",
                    "--quiet",
                    "--project-dir",
                    str(project.project_dir),
                    "--profiles-dir",
                    str(project.profiles_dir),
                    "--target-path",
                    str(private),
                ],
                check=True,
            )
            os.replace(private / "manifest.json", manifest)
        finally:
            shutil.rmtree(private, ignore_errors=True)
    return manifest


def _changed_since(project: DbtProject, mtime: float) -> bool:
    root = Path(project.project_dir)
    files = [
        root / "dbt_project.yml",
        *(
            p
            for folder in ("models", "macros", "seeds", "tests")
            for p in (root / folder).rglob("*")
            if p.is_file()
        ),
    ]
    return any(p.stat().st_mtime > mtime for p in files if p.exists())


def rotate_target_dirs(target: Path, keep: int = 20) -> list[Path]:
    """dagster-dbt writes each invocation's artefacts to target/<asset>-<run>-<hash>/ (2-4.5 MB
    each, without bound): keep the newest ``keep``."""
    runs = sorted(
        (
            p
            for p in target.glob("*-*-*")
            if (p / "dbt.log").exists() or (p / "run_results.json").exists() or (p / "manifest.json").exists()
        ),
        key=lambda p: p.stat().st_mtime,
    )
    old = runs[:-keep] if keep else runs
    for path in old:
        shutil.rmtree(path, ignore_errors=True)
    return old


_GROUPS = {"staging": "staging", "intermediate": "intermediate"}


class FinopsDbtTranslator(DagsterDbtTranslator):
    """Groups follow the dbt folders (marts/<domain> -> <domain>) and a ``layer`` tag names the
    folder (staging / intermediate / marts / seed), so jobs can build views before the marts."""

    def __init__(self) -> None:
        super().__init__(settings=DagsterDbtTranslatorSettings(enable_code_references=False))

    def get_asset_spec(
        self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None
    ) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        if props.get("resource_type") == "seed":
            return spec.replace_attributes(
                group_name="reference", owners=["team:finops-platform"], tags={**spec.tags, "layer": "seed"}
            )
        if props.get("resource_type") != "model":
            return spec
        fqn = props.get("fqn", [])
        folder = fqn[1] if len(fqn) > 2 else "warehouse"
        group = fqn[2] if folder == "marts" and len(fqn) > 3 else _GROUPS.get(folder, folder)
        materialized = props.get("config", {}).get("materialized")
        tags = {**spec.tags, "layer": folder, **({VIEW: "true"} if materialized in VIEWS else {})}
        spec = spec.replace_attributes(group_name=group, owners=["team:finops-platform"], tags=tags)
        if materialized != "incremental":
            return spec
        # A day-partitioned model reads its sources through views, which are rebuilt only when
        # their SQL changes (the dbt assets' _readable), not in every refresh: its own edge to
        # those sources keeps a refresh's order (ingest, then the day's models) without them.
        sources = [
            self.get_asset_key(manifest["sources"][s]) for s in read_through_views(manifest, [unique_id])[1]
        ]
        return spec.merge_attributes(deps=[s for s in sources if s not in {d.asset_key for d in spec.deps}])


translator = FinopsDbtTranslator()
