"""The Dagster code location: domain folders under defs/ plus resources built from Settings."""

import os
from pathlib import Path

import dagster as dg

from finops_dagster import partitions
from finops_dagster.resources import (
    AlertResource,
    BusinessDataResource,
    CloudWatchResource,
    CostExplorerResource,
    CurExportResource,
    LakeResource,
)
from finops_dagster.settings import BUSINESS_ENV, WEBHOOK_ENV, Settings
from finops_dagster.warehouse import engine


def build_definitions(settings: Settings | None = None) -> dg.Definitions:
    """The whole code location; the demo and the tests call this with their own Settings."""
    settings = settings or Settings.from_env()
    partitions.configure(settings.history_start)  # before the domain folders build their partitions
    engine.configure(settings.warehouse_engine)  # ... and declare their pools
    from finops_dagster.defs.warehouse.project import DBT_EXECUTABLE, GUARDED_DBT, dbt_project
    from finops_dagster.defs.warehouse.resources import FinopsDbtResource

    resources = {
        "lake": LakeResource(
            data_dir=str(settings.data_dir),
            raw_lake_url=settings.raw_lake_url,
            warehouse_engine=settings.warehouse_engine,
            duckdb_memory_limit=settings.duckdb_memory_limit,
            duckdb_threads=settings.duckdb_threads,
        ),
        "cur": CurExportResource(
            export_url=settings.cur_export_url,
            cache_dir=str(settings.cache_dir),
            history_start=settings.history_start,
            as_of=settings.as_of,
            finalization_days=settings.finalization_days,
            max_shrink=settings.max_shrink,
            allow_shrink=settings.allow_shrink,
        ),
        "cost_explorer": CostExplorerResource(
            state_dir=str(settings.data_dir / "state" / "cost_explorer"),
            enabled=settings.cost_explorer,
            role_arns=list(settings.cost_explorer_role_arns),
        ),
        "cloudwatch": CloudWatchResource(
            enabled=settings.cloudwatch, role_arns=list(settings.cloudwatch_role_arns)
        ),
        # a database URL may hold a password: an EnvVar, so the UI and run storage show its name
        "business": BusinessDataResource(
            url=_secret(BUSINESS_ENV, settings.business_url)
            if settings.business_url
            else settings.business_source
        ),
        "dbt": FinopsDbtResource(
            project_dir=dbt_project,
            dbt_executable=str(GUARDED_DBT) if GUARDED_DBT.exists() else DBT_EXECUTABLE,
            environment=settings.dbt_environment(),
            warm_start=settings.warehouse_engine == engine.DUCKDB and settings.dbt_warm_start,
        ),
        # the webhook URL is a secret: an EnvVar, so the UI shows its name, never its value
        "alerts": AlertResource(
            webhook_url=_secret(WEBHOOK_ENV, settings.alert_webhook_url)
            if settings.alert_webhook_url
            else "",
            outbox_path=str(settings.data_dir / "alerts.sqlite"),
        ),
    }
    return dg.Definitions.merge(
        dg.load_from_defs_folder(path_within_project=Path(__file__).parent),
        dg.Definitions(resources=resources, executor=dg.in_process_executor),
    )


def _secret(name: str, value: str) -> dg.EnvVar | str:
    """A secret the environment holds reaches the resources as an EnvVar (the UI and the run
    storage show its name, never its value); one given in code (a test's or the demo's Settings)
    as itself, since nothing writes it into the environment for an EnvVar to find."""
    return dg.EnvVar(name) if os.environ.get(name) == value else value


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions()
