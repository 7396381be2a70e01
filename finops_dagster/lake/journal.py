"""One commit for everything a delivery changes: day files, ledger rows, restatement record.

A delivery is staged in ``raw/_staging/<id>/`` (day files, extra files such as the restatement
diff); nothing there is visible to a reader. Committing writes ``journal.json`` (the day files'
targets, the extra files' targets and the ledger entries) with one atomic rename: that rename is
the commit point. The journal is then applied (files renamed into place, ledger rows replaced in
one SQLite transaction) and the staging folder removed. On an S3 lake (lake/object_store.py)
applying uploads each day as a new immutable object and then flips the day's pointer; both are
idempotent, so rolling a journal forward again is safe there too.

A process killed at any moment leaves one of two states, and ``recover`` (run before every
ingest) finishes the job: no journal yet, the staging folder is dropped (the lake, ledger and
restatements are as before); a journal, it is applied again (each step is idempotent: a file
already moved is skipped, ledger rows are replaced), so lake, ledger and restatements are as
after. A staging folder whose owner is alive is never touched: the owner holds an advisory lock
on it, which the kernel releases when the owner dies, however it dies.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import shutil
import threading
import uuid
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from finops_dagster.faults import crash_point
from finops_dagster.lake.object_store import ObjectLake, is_s3

if TYPE_CHECKING:
    from finops_dagster.lake.ledger import DayEntry, Ledger
    from finops_dagster.lake.raw_lake import RawLake

JOURNAL = "journal.json"
OWNER = ".owner"
_local = threading.local()


@contextlib.contextmanager
def commit_lock(raw_root: Path) -> Iterator[None]:
    """Commits (and recovery) on one lake, one at a time across processes; re-entrant within a
    thread, so an ingest can hold it from its restatement diff through its commit."""
    depth = getattr(_local, "depth", {})
    _local.depth = depth
    key = str(raw_root.resolve())
    if depth.get(key):
        depth[key] += 1
        try:
            yield
        finally:
            depth[key] -= 1
        return
    raw_root.mkdir(parents=True, exist_ok=True)
    with open(raw_root / ".commit.lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        depth[key] = 1
        try:
            yield
        finally:
            depth[key] = 0
            fcntl.flock(fh, fcntl.LOCK_UN)


class StagedDays:
    """Day files written but not yet visible: ``commit`` makes them (with the ledger entries and
    any extra files) the lake's state in one step, ``discard`` drops them."""

    def __init__(self, lake: RawLake, source: str, staging: Path, days: list[dt.date], owner) -> None:
        self.lake, self.source, self.staging, self.days = lake, source, staging, days
        self._owner = owner  # the locked owner file, held until commit / discard
        self.extras: list[tuple[str, Path]] = []

    @classmethod
    def create(cls, lake: RawLake, source: str, days: list[dt.date]) -> StagedDays:
        """A new staging folder, locked before ``recover`` can see it (it is created under a
        hidden name, locked, then renamed)."""
        name = uuid.uuid4().hex
        fresh = lake.root / "_staging" / f".new-{name}"
        fresh.mkdir(parents=True)
        owner = open(fresh / OWNER, "a+")  # noqa: SIM115 - held until commit / discard
        fcntl.flock(owner, fcntl.LOCK_EX | fcntl.LOCK_NB)
        staging = fresh.with_name(name)
        fresh.rename(staging)
        return cls(lake, source, staging, days, owner)

    def staged_path(self, day: dt.date) -> Path:
        return self.staging / f"{day.isoformat()}.parquet"

    def target(self, day: dt.date) -> str:
        """Where the day goes: its file, or on S3 a new object named by this commit."""
        return self.lake.day_target(self.source, day, self.staging.name)

    def stage_extra(self, target: str) -> Path:
        """A path to write a file that becomes ``target`` at the commit (the restatement diff)."""
        name = f"extra-{len(self.extras)}{Path(target).suffix}"
        self.extras.append((name, target))
        return self.staging / name

    def commit(self, ledger: Ledger | None = None, entries: Sequence[DayEntry] = ()) -> dict[dt.date, str]:
        """Write the journal (the commit point), then apply it."""
        from finops_dagster.lake.ledger import entry_to_json

        journal = {
            "source": self.source,
            "days": {d.isoformat(): self.target(d) for d in self.days},
            "extras": [[name, target] for name, target in self.extras],
            "ledger": [entry_to_json(e) for e in entries],
        }
        try:
            with commit_lock(self.lake.root):
                crash_point("commit:before_journal")
                tmp = self.staging / f"{JOURNAL}.tmp"
                tmp.write_text(json.dumps(journal))
                with open(tmp) as fh:
                    os.fsync(fh.fileno())
                tmp.replace(self.staging / JOURNAL)
                crash_point("commit:after_journal")
                _apply(self.staging, journal, ledger)
        finally:
            self._release()
        try:  # housekeeping after the commit: a failure (say, no delete permission) loses nothing
            self.lake.vacuum(self.source)
        except Exception as exc:  # noqa: BLE001
            warnings.warn(
                f"vacuuming {self.source} in {self.lake.contract.location} failed: {exc}", stacklevel=2
            )
        return {d: self.target(d) for d in self.days}

    def discard(self) -> None:
        self._release()
        shutil.rmtree(self.staging, ignore_errors=True)

    def _release(self) -> None:
        if not self._owner.closed:
            self._owner.close()


def _apply(staging: Path, journal: dict, ledger: Ledger | None) -> None:
    """Idempotent: every step can run again after a crash in the middle of it."""
    from finops_dagster.lake.ledger import entry_from_json

    moves = [(staging / f"{day}.parquet", target, True) for day, target in journal["days"].items()]
    moves += [(staging / name, target, False) for name, target in journal["extras"]]
    for i, (src, target, is_day) in enumerate(moves):
        if is_s3(target):  # upload the immutable object, then (a day) flip its pointer
            if is_day:
                ObjectLake(target).publish(src, target)
            else:
                ObjectLake(target).upload(src, target)
        elif src.exists():
            Path(target).parent.mkdir(parents=True, exist_ok=True)
            src.replace(target)
        if i == 0:
            crash_point("commit:mid_swap")
    crash_point("commit:before_ledger")
    if journal["ledger"]:
        if ledger is None:
            raise RuntimeError(f"{staging}: the journal holds ledger rows but no ledger was given")
        ledger.record_days([entry_from_json(e) for e in journal["ledger"]])
    crash_point("commit:before_cleanup")
    shutil.rmtree(staging, ignore_errors=True)


def recover(raw_root: Path, ledger: Ledger | None) -> list[str]:
    """Finish or drop every commit a dead process left; returns what was done, one line each."""
    staging_root = raw_root / "_staging"
    if not staging_root.is_dir():
        return []
    done = []
    with commit_lock(raw_root):
        for staging in sorted(p for p in staging_root.iterdir() if p.is_dir()):
            if staging.name.startswith(".new-"):  # died between mkdir and rename: never used
                if dt.datetime.now().timestamp() - staging.stat().st_mtime > 3600:
                    shutil.rmtree(staging, ignore_errors=True)
                continue
            owner = staging / OWNER
            with open(owner, "a+") as fh:
                try:
                    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # its owner is alive and still writing
                journal_path = staging / JOURNAL
                if journal_path.exists():
                    journal = json.loads(journal_path.read_text())
                    _apply(staging, journal, ledger)
                    done.append(
                        f"rolled forward the interrupted commit {staging.name} of "
                        f"{journal['source']} ({len(journal['days'])} day(s))"
                    )
                else:
                    shutil.rmtree(staging, ignore_errors=True)
                    done.append(f"dropped the uncommitted staging folder {staging.name}")
    return done
