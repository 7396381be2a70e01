"""Each dbt var's default lives in one place, dbt_project.yml (issue 18's house cleaning:
savings_plan_discount_pct was repeated five times as an inline default, so changing the
project's value left the models on the old one wherever a `--vars` override was absent)."""

import re

import yaml

from finops_dagster.defs.warehouse.project import dbt_project

INLINE_DEFAULT = re.compile(r"var\(\s*'(\w+)'\s*,")


def test_no_model_repeats_a_project_var_default():
    root = dbt_project.project_dir
    project_vars = set(yaml.safe_load((root / "dbt_project.yml").read_text())["vars"])
    repeated = sorted(
        f"{path.relative_to(root)}: {name}"
        for folder in ("models", "macros", "tests")
        for path in (root / folder).rglob("*.sql")
        for name in INLINE_DEFAULT.findall(path.read_text())
        if name in project_vars
    )
    assert repeated == []
