"""Dagster's event log storage, with a pool slot that only one step can claim.

The one-slot ``warehouse`` pool is what keeps two runs off the DuckDB file at once. Dagster 1.12
claims a slot in two statements: it selects a free slot (``FOR UPDATE SKIP LOCKED``), then sets
that slot's run and step ``WHERE id = <the slot>``. SQLite ignores ``FOR UPDATE``, and PostgreSQL
storage runs it in autocommit, where the row lock ends with the select. Two run workers asking
at the same moment both read the same free slot, both update it, and both are told CLAIMED: two
overlapping backfills then ran dbt together and one failed on DuckDB's file lock
(tests/defs/test_concurrency.py, about one start in five here).

The claim below updates the slot only while it is still free (``AND step_key IS NULL``): the
database serializes the two updates and the second one changes no row, so its step stays
queued and claims the slot when the first step frees it, as with any blocked step.
dagster.yaml names these classes (finops_dagster/instance.py writes it); PostgreSQL's is in
instance_storage_postgres.py, which only an instance on PostgreSQL imports (dagster-postgres: 0.4 s).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from dagster._core.storage.event_log import SqliteEventLogStorage  # the storage classes dagster.yaml names
from dagster._core.storage.event_log.schema import ConcurrencySlotsTable
from dagster._utils.concurrency import ConcurrencySlotStatus

SLOTS = ConcurrencySlotsTable


def take_free_slot(conn: sa.Connection, slot_id: int, run_id: str, step_key: str) -> bool:
    """Give the slot to the step if no step holds it: False when another claim got there first."""
    taken = conn.execute(
        SLOTS.update()
        .values(run_id=run_id, step_key=step_key)
        .where(SLOTS.c.id == slot_id, SLOTS.c.step_key.is_(None))
    )
    return bool(taken.rowcount)


class OneClaimPerSlot:
    """Replaces SqlEventLogStorage._claim_concurrency_slot (the safeguard behind the queue)."""

    def _claim_concurrency_slot(
        self, concurrency_key: str, run_id: str, step_key: str
    ) -> ConcurrencySlotStatus:
        with self.index_connection() as conn:  # type: ignore[attr-defined]
            free = conn.execute(
                sa.select(SLOTS.c.id)
                .where(
                    SLOTS.c.concurrency_key == concurrency_key,
                    SLOTS.c.step_key.is_(None),
                    SLOTS.c.deleted.is_(False),
                )
                .limit(1)
            ).fetchone()
            if free is None or not take_free_slot(conn, free[0], run_id, step_key):
                return ConcurrencySlotStatus.BLOCKED
        return ConcurrencySlotStatus.CLAIMED


class PoolSafeSqliteEventLogStorage(OneClaimPerSlot, SqliteEventLogStorage):
    """SQLite under DAGSTER_HOME (history/runs/), as Dagster's default."""

    @classmethod
    def from_config_value(
        cls, inst_data: Any, config_value: Mapping[str, Any]
    ) -> PoolSafeSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)
