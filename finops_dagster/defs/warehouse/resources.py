"""The dbt resource the dbt assets run with."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dagster_dbt import DbtCliResource
from dagster_dbt.core.dbt_cli_invocation import DbtCliInvocation

from finops_dagster.lake.object_store import dbt_process_environment
from finops_dagster.settings import temporary_environ


class FinopsDbtResource(DbtCliResource):
    """dagster-dbt's resource without the in-process dbt adapter.

    Before every invocation dagster-dbt opens a dbt Core adapter in the run process (1.5 s of dbt
    imports and macro loading in a fresh run worker) for one purpose: fetching row counts or
    column metadata after the build (``fetch_row_counts`` / ``fetch_column_metadata``), which this
    project does not ask for; dbt itself runs as a child process either way. Without the adapter
    the invocation is what the Fusion engine gets (``adapter=None``), which dagster-dbt supports.
    tests/defs/test_dbt_resource.py fails if dagster-dbt renames the hook this overrides.
    """

    # Where dbt finds the raw lake and the warehouse (Settings.dbt_environment): handed to each
    # dbt process, not written into the code location's environment, so a code location built
    # for one data folder never points dbt at another.
    environment: dict[str, str] = {}

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:  # noqa: ARG002
        return None

    def cli(self, args: Sequence[str], **kwargs: Any) -> DbtCliInvocation:
        # dagster-dbt copies os.environ into the dbt process when it starts it, inside cli()
        with temporary_environ(dbt_process_environment(self.environment)):
            return super().cli(args, **kwargs)
