"""The Dagster instance's home: SQLite under DAGSTER_HOME by default, PostgreSQL (dagster-postgres)
when FINOPS_DAGSTER_PG_URL gives a URL.

The project's dagster.yaml is the template; the storage block is added when the variable is set.
A dagster.yaml that someone wrote by hand (without our first line) is never touched.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

from finops_dagster.settings import PROJECT_ROOT

PG_URL_ENV = "FINOPS_DAGSTER_PG_URL"
MONITOR_ENV = "FINOPS_RUN_MONITOR_SECONDS"
MANAGED_MARKER = "# Managed by finops-dagster"
POSTGRES_STORAGE = f"""
# {PG_URL_ENV} is set: runs, events, schedules and backfills live in PostgreSQL (dagster-postgres;
# the event log's pool slot claim from finops_dagster/instance_storage.py).
run_storage:
  module: dagster_postgres.run_storage
  class: PostgresRunStorage
  config:
    postgres_url:
      env: {PG_URL_ENV}
event_log_storage:
  module: finops_dagster.instance_storage_postgres
  class: PoolSafePostgresEventLogStorage
  config:
    postgres_url:
      env: {PG_URL_ENV}
schedule_storage:
  module: dagster_postgres.schedule_storage
  class: PostgresScheduleStorage
  config:
    postgres_url:
      env: {PG_URL_ENV}
"""
SQLITE_EVENT_LOG = """
# Events in SQLite under DAGSTER_HOME, where Dagster keeps them by default, with a pool slot claim
# two run workers cannot both win (finops_dagster/instance_storage.py).
event_log_storage:
  module: finops_dagster.instance_storage
  class: PoolSafeSqliteEventLogStorage
  config:
    base_dir: {base_dir}
"""


def instance_yaml(environ: Mapping[str, str], home: Path) -> str:
    text = f"{MANAGED_MARKER} (rewritten on every start; remove this line to manage it yourself)\n"
    text += (PROJECT_ROOT / "dagster.yaml").read_text()
    if environ.get(MONITOR_ENV):  # how soon a dead run is found (tests use a few seconds)
        seconds = int(environ[MONITOR_ENV])
        text = text.replace("poll_interval_seconds: 30", f"poll_interval_seconds: {seconds}")
        text = text.replace(
            "free_slots_after_run_end_seconds: 15",
            f"free_slots_after_run_end_seconds: {max(1, seconds // 2)}",
        )
    if environ.get(PG_URL_ENV):
        url = environ[PG_URL_ENV]
        if not url.startswith("postgresql+psycopg2://"):
            raise ValueError(
                f"{PG_URL_ENV} must be a postgresql+psycopg2:// URL (got {url.split(':')[0]}://...)"
            )
        text += POSTGRES_STORAGE
    else:  # Dagster's default folder for it (history/runs/ under the home)
        text += SQLITE_EVENT_LOG.format(base_dir=json.dumps(str(home / "history" / "runs")))
    return text


def prepare_home(data_dir: Path, environ: Mapping[str, str] | None = None) -> Path:
    """DAGSTER_HOME (default <data>/dagster_home) with the storage the environment asks for."""
    env = os.environ if environ is None else environ
    home = Path(env.get("DAGSTER_HOME") or data_dir / "dagster_home").resolve()
    home.mkdir(parents=True, exist_ok=True)
    target = home / "dagster.yaml"
    if not target.exists() or target.read_text().startswith(MANAGED_MARKER):
        target.write_text(instance_yaml(env, home))
    return home
