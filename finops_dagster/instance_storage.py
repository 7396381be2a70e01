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

import os
import weakref
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from dagster._core.storage.event_log import SqliteEventLogStorage  # the storage classes dagster.yaml names
from dagster._core.storage.event_log.schema import ConcurrencySlotsTable
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
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
    """SQLite under DAGSTER_HOME (history/runs/), as Dagster's default, keeping its connections.

    Dagster's SQLite event log builds a new engine for every connection: each event opens and
    closes two SQLite files and compiles its statements afresh (the compiled cache lives on the
    engine). Storing one event cost 6.5 ms here, 1.6 of them in commits; a range run writes one
    "materialization planned" event per asset per day before its first step (1,558 for a month
    of month_refresh_job: 9.9 s). Here each shard keeps one engine and one open connection, for
    the index and the few runs last written (a webserver reads many runs' files: no file stays
    open for each). All use is still serialized by Dagster's lock, as before; a forked child
    drops the parent's connections and opens its own.
    """

    KEEP_OPEN = 4  # the index shard and the runs last touched

    def __init__(self, base_dir: str, inst_data: Any = None) -> None:
        self._engines: OrderedDict[str, sa.Engine] = OrderedDict()
        super().__init__(base_dir, inst_data)
        this = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: (s := this()) and s._forget_engines(close=False))

    @classmethod
    def from_config_value(
        cls, inst_data: Any, config_value: Mapping[str, Any]
    ) -> PoolSafeSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    @contextmanager
    def _connect(self, shard: str) -> Iterator[sa.Connection]:
        with self._db_lock:
            engine = self._engines.pop(shard, None)
            if engine is None:
                engine = sa.create_engine(
                    self.conn_string_for_shard(shard),
                    pool_size=1,
                    max_overflow=0,
                    # one thread at a time under the lock, but not always the thread that opened it
                    connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
                )
            self._engines[shard] = engine  # the most recently used last
            while len(self._engines) > self.KEEP_OPEN:
                self._engines.popitem(last=False)[1].dispose()
            if shard not in self._initialized_dbs:  # once per file: on an engine of its own, as
                # Dagster's creation of the file opens more than one connection
                first = sa.create_engine(
                    self.conn_string_for_shard(shard),
                    poolclass=sa.NullPool,
                    connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
                )
                self._initdb(first)
                first.dispose()
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def _forget_engines(self, close: bool = True) -> None:
        """Drop every kept connection (``close=False`` in a forked child: the parent's to close)."""
        engines, self._engines = list(self._engines.values()), OrderedDict()
        for engine in engines:
            engine.dispose(close=close)

    def wipe(self) -> None:
        with self._db_lock:  # wipe deletes the run files: no connection may stay on one
            self._forget_engines()
        super().wipe()

    def upgrade(self) -> None:
        with self._db_lock:
            self._forget_engines()
        super().upgrade()

    def dispose(self) -> None:
        with self._db_lock:
            self._forget_engines()
        super().dispose()
