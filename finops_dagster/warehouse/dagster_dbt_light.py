"""dagster-dbt without dbt-core in the code location's process.

Importing dagster-dbt imports dbt-core (1.2-1.6 s here: dbt's adapters, contracts and node
types), and every process that loads the code location pays it: each run worker before its
first step (a third of a one-day refresh's start-up), ``dagster dev`` on every reload, each test
process. dagster-dbt uses dbt-core in-process for two things only: the dbt adapter it opens
before an invocation, which this project switches off (FinopsDbtResource), and evaluating the
``select`` / ``exclude`` strings of ``@dbt_assets`` against the manifest. dbt itself always runs
as a child process.

dagster-dbt also runs where no dbt-core is installed (the dbt Fusion set-up): it then uses its
own stand-ins for dbt's enums. Imported here with dbt-core out of sight, it runs that way. What is
left is the selection: dagster-dbt evaluates it with dbt-core as before, but in a child process,
once per manifest, and the result is kept beside the manifest (target/dagster_dbt_selections.json);
a code location load reads it from there. A process that imported dagster-dbt before this module
(a test that imports it first) keeps the ordinary dagster-dbt, which selects in-process: both
ways give the same unique ids (tests/warehouse/test_dagster_dbt_light.py).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

Spec = tuple[str, str, str]  # (select, exclude, selector), as @dbt_assets takes them

_HIDDEN = "dbt.version"  # dagster_dbt.compat decides "no dbt-core" when this import fails
_CHILD = """
import json, sys
from dagster_dbt.utils import select_unique_ids
manifest = json.loads(open(sys.argv[1], "rb").read())
specs = json.loads(sys.argv[2])
out = {"|".join(s): select_unique_ids(*(x or None for x in s), None, manifest) for s in specs}
print(json.dumps({k: sorted(v) for k, v in out.items()}))
"""


def load() -> bool:
    """Import dagster-dbt without dbt-core, unless the process has one of them already; True
    when this process's dagster-dbt selects through the cached selections."""
    if "dagster_dbt" not in sys.modules and _HIDDEN not in sys.modules:
        sys.modules[_HIDDEN] = None  # type: ignore[assignment]  # import fails: ImportError
        try:
            import dagster_dbt  # noqa: F401
            import dagster_dbt.asset_utils  # noqa: F401
            import dagster_dbt.dbt_manifest_asset_selection  # noqa: F401
        finally:
            if sys.modules.get(_HIDDEN, 0) is None:
                del sys.modules[_HIDDEN]  # dbt-core importable again for whoever needs it
    from dagster_dbt import asset_utils, compat, dbt_manifest_asset_selection

    if compat.DBT_PYTHON_VERSION is not None:
        return False
    asset_utils.select_unique_ids = select_unique_ids
    dbt_manifest_asset_selection.select_unique_ids = select_unique_ids
    return True


def selections_path(manifest: Path) -> Path:
    return manifest.with_name("dagster_dbt_selections.json")


def prepare(manifest: Path, specs: Iterable[Spec]) -> dict[str, list[str]]:
    """The unique ids each of ``specs`` selects in ``manifest``, as dagster-dbt with dbt-core
    selects them; evaluated in a child process when the manifest changed since, else read."""
    specs = [tuple(x or "" for x in s) for s in specs]
    digest = hashlib.sha256(manifest.read_bytes()).hexdigest()
    cache = selections_path(manifest)
    known = _read(cache, digest)
    if all("|".join(s) in known for s in specs):
        return known
    with open(manifest.with_name(".parse.lock"), "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # test workers on a fresh checkout: evaluate once
        known = _read(cache, digest)
        missing = [s for s in specs if "|".join(s) not in known]
        if missing:
            proc = subprocess.run(
                [sys.executable, "-c", _CHILD, str(manifest), json.dumps(missing)],
                capture_output=True,
                text=True,
                check=False,
                env={**os.environ, "PYTHONWARNINGS": "ignore"},
            )
            if proc.returncode:
                raise RuntimeError(f"evaluating the dbt selections {missing} failed:\n{proc.stderr[-2000:]}")
            known.update(json.loads(proc.stdout.strip().splitlines()[-1]))
            tmp = cache.with_name(f".{cache.name}.{os.getpid()}")
            tmp.write_text(json.dumps({"manifest": digest, "selections": known}))
            tmp.replace(cache)
    return known


def _read(cache: Path, digest: str) -> dict[str, list[str]]:
    try:
        data = json.loads(cache.read_text())
    except (OSError, ValueError):
        return {}
    return dict(data["selections"]) if data.get("manifest") == digest else {}


# by the manifest's dbt invocation id: its file, and the selections prepared for it
_MANIFESTS: dict[str, tuple[Path, dict[str, list[str]]]] = {}


def register(manifest: Path, specs: Iterable[Spec]) -> None:
    """Say which file the manifest dagster-dbt reads came from, and prepare the selections the
    dbt assets will ask for (read once here, not once per @dbt_assets)."""
    from dagster_dbt.dbt_manifest import read_manifest_path  # cached: the dict dagster-dbt uses

    _MANIFESTS[_invocation(read_manifest_path(manifest.resolve()))] = (manifest, prepare(manifest, specs))


def _invocation(manifest_json: Mapping[str, Any]) -> str:
    return str(manifest_json.get("metadata", {}).get("invocation_id"))


def select_unique_ids(
    select: str, exclude: str, selector: str, project: Any, manifest_json: Mapping[str, Any]
) -> set[str]:
    """dagster_dbt.utils.select_unique_ids, answered from the prepared selections."""
    del project
    registered = _MANIFESTS.get(_invocation(manifest_json))
    if registered is None:
        raise RuntimeError(
            "dagster-dbt was handed a dbt manifest that dagster_dbt_light.register() was not told "
            "about (see defs/warehouse/assets.py)"
        )
    manifest, known = registered
    key = "|".join((select or "", exclude or "", selector or ""))
    if key not in known:  # a selection register() was not given: evaluated (and kept) now
        known.update(prepare(manifest, [(select, exclude, selector)]))
    return set(known[key])
