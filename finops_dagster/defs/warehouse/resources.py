"""The dbt resource the dbt assets run with."""

from __future__ import annotations

from collections.abc import Sequence

from dagster_dbt import DbtCliResource


class FinopsDbtResource(DbtCliResource):
    """dagster-dbt's resource without the in-process dbt adapter.

    Before every invocation dagster-dbt opens a dbt Core adapter in the run process (1.5 s of dbt
    imports and macro loading in a fresh run worker) for one purpose: fetching row counts or
    column metadata after the build (``fetch_row_counts`` / ``fetch_column_metadata``), which this
    project does not ask for; dbt itself runs as a child process either way. Without the adapter
    the invocation is what the Fusion engine gets (``adapter=None``), which dagster-dbt supports.
    tests/defs/test_dbt_resource.py fails if dagster-dbt renames the hook this overrides.
    """

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:  # noqa: ARG002
        return None
