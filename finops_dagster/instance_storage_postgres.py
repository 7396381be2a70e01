"""dagster-postgres's event log storage with the pool slot claim of instance_storage.py."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dagster_postgres.event_log import PostgresEventLogStorage
from dagster_postgres.utils import get_token_provider_from_config, pg_url_from_config

from finops_dagster.instance_storage import OneClaimPerSlot


class PoolSafePostgresEventLogStorage(OneClaimPerSlot, PostgresEventLogStorage):
    """PostgreSQL (FINOPS_DAGSTER_PG_URL), as dagster-postgres's own."""

    @classmethod
    def from_config_value(
        cls, inst_data: Any, config_value: Mapping[str, Any]
    ) -> PoolSafePostgresEventLogStorage:
        return cls(
            inst_data=inst_data,
            postgres_url=pg_url_from_config(config_value),
            should_autocreate_tables=config_value.get("should_autocreate_tables", True),
            token_provider=get_token_provider_from_config(config_value),
        )
