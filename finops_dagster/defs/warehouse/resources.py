"""The dbt resource the dbt assets run with."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliResource
from dagster_dbt.core.dbt_cli_invocation import DbtCliInvocation
from pydantic import PrivateAttr

from finops_dagster.lake.object_store import dbt_process_environment
from finops_dagster.settings import temporary_environ
from finops_dagster.warehouse.dbt_server import SERVER_ENV, WarmDbt
from finops_dagster.warehouse.lake_paths import seed_partial_parse


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
    # a run forks its dbt invocations from a dbt loaded while the run's first steps work
    # (warehouse/dbt_server.py); DuckDB only: Spark's adapter starts a JVM per process
    warm_start: bool = False
    _warm: WarmDbt | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        super().setup_for_execution(context)
        if self.warm_start:
            try:
                self._warm = WarmDbt.start(Path(self.project_dir), self.environment)
            except OSError as exc:  # e.g. a TMPDIR too long for a Unix socket's path
                if context.log:
                    context.log.warning(f"no warm dbt for this run ({exc}): each dbt step starts cold")

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:  # noqa: ARG002
        if self._warm is not None:
            self._warm.stop()
            self._warm = None

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:  # noqa: ARG002
        return None

    def warm_environment(self) -> dict[str, str]:
        """``environment`` plus, while this run's warm dbt is up, its socket: what any dbt process
        of the run (dagster-dbt's, or a view rebuild's) is started with, so it forks warm."""
        if self._warm is None:
            return dict(self.environment)
        return {**self.environment, SERVER_ENV: self._warm.socket}

    def cli(self, args: Sequence[str], **kwargs: Any) -> DbtCliInvocation:
        # dagster-dbt copies os.environ into the dbt process when it starts it, inside cli()
        with temporary_environ(dbt_process_environment(self.warm_environment())):
            # the invocation starts from its lake's partial parse (warehouse/lake_paths.py), put
            # in its folder before dagster-dbt would copy the project's last one there
            target = Path(
                kwargs.pop("target_path", None) or self._get_unique_target_path(context=kwargs.get("context"))
            )
            project = Path(self.project_dir)
            seed_partial_parse(
                project / "target", target if target.is_absolute() else project / target, self.environment
            )
            return super().cli(args, target_path=target, **kwargs)
