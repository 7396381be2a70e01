"""The code location's dagster-dbt without dbt-core in-process (warehouse/dagster_dbt_light.py)
builds the same dbt assets and checks as the usual dagster-dbt, and a run worker loads it
without importing dbt-core."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from finops_dagster.defs.warehouse.assets import EXCLUDE_INCREMENTAL, INCREMENTAL, MANIFEST
from finops_dagster.warehouse import dagster_dbt_light

# prints the dbt assets' keys and check keys of a freshly loaded code location, and whether
# dbt-core was imported; FIRST=1 imports dagster_dbt before the code location does (the usual way)
_SNAPSHOT = """
import json, os, sys
if os.environ.get("FIRST"):
    import dagster_dbt
from finops_dagster.definitions import build_definitions
from finops_dagster.defs.warehouse.project import LIGHT
defs = build_definitions()
out = {"light": LIGHT, "dbt_core_imported": any(m == "dbt" or m.startswith("dbt.") for m in sys.modules)}
for name in ("dbt_daily_models", "dbt_models"):
    a = next(a for a in defs.assets if getattr(a, "node_def", None) is not None and a.node_def.name == name)
    out[name] = {"keys": sorted(k.to_user_string() for k in a.keys),
                 "checks": sorted(c.to_user_string() for c in a.check_keys)}
print(json.dumps(out))
"""


def _snapshot(tmp_path: Path, first: bool) -> dict:
    env = {"FINOPS_DATA_DIR": str(tmp_path / "data"), "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run(
        [sys.executable, "-c", _SNAPSHOT],
        capture_output=True,
        text=True,
        env={**os.environ, **env, **({"FIRST": "1"} if first else {})},
        check=True,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_the_light_code_location_has_the_usual_dbt_assets_and_imports_no_dbt_core(tmp_path):
    light, usual = _snapshot(tmp_path, first=False), _snapshot(tmp_path, first=True)
    assert (light["light"], light["dbt_core_imported"]) == (True, False)
    assert (usual["light"], usual["dbt_core_imported"]) == (False, True)
    assert light["dbt_daily_models"] == usual["dbt_daily_models"]
    assert light["dbt_models"] == usual["dbt_models"]
    assert "fct_daily_cost" in light["dbt_daily_models"]["keys"]
    assert "dim_account" in light["dbt_models"]["keys"] and light["dbt_models"]["checks"]


def test_selections_are_evaluated_once_per_manifest(tmp_path, monkeypatch):
    manifest = tmp_path / "manifest.json"
    manifest.write_bytes(MANIFEST.read_bytes())
    specs = [(INCREMENTAL, "", ""), EXCLUDE_INCREMENTAL]
    first = dagster_dbt_light.prepare(manifest, specs)
    daily = set(first[f"{INCREMENTAL}||"])
    assert "model.finops.int_cur__line_items_daily" in daily
    assert "model.finops.dim_account" in set(first["|".join(EXCLUDE_INCREMENTAL)]) - daily

    def no_child(*args, **kwargs):
        raise AssertionError("evaluated again for an unchanged manifest")

    monkeypatch.setattr(dagster_dbt_light.subprocess, "run", no_child)
    assert dagster_dbt_light.prepare(manifest, specs) == first
    data = json.loads(manifest.read_text())
    data["metadata"]["invocation_id"] = "another-parse"
    manifest.write_text(json.dumps(data))
    with pytest.raises(AssertionError, match="evaluated again"):
        dagster_dbt_light.prepare(manifest, specs)  # a new manifest: its selections anew


def test_an_unknown_manifest_is_refused_not_selected_from_a_stale_cache():
    with pytest.raises(RuntimeError, match="was not told about"):
        dagster_dbt_light.select_unique_ids("fqn:*", "", "", None, {"metadata": {"invocation_id": "x"}})
