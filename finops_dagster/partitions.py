"""The one partitioning of the platform: a UTC usage day, from the configured history start.

A billing period (month) is a range of day partitions. The first one is the history start
(``FINOPS_HISTORY_START=YYYY-MM``, read once by ``Settings``): partitions are part of the asset
graph's identity, so ``build_definitions`` fixes the start before the domain folders are loaded,
and the defs modules read ``daily_partitions`` from here while they load. Loading definitions
again with another start (a test, the CLI on another export) loads the domain modules afresh.
"""

from __future__ import annotations

import functools
import sys

import dagster as dg

DEFAULT_HISTORY_START = "2026-08"  # the demo's first billing period
_current = {"start": DEFAULT_HISTORY_START}


@functools.cache
def partitions_from(history_start: str) -> dg.DailyPartitionsDefinition:
    """Day partitions from the first day of ``history_start`` (YYYY-MM) to today (included)."""
    return dg.DailyPartitionsDefinition(
        start_date=f"{history_start}-01", timezone="UTC", end_offset=1
    )  # today's partition exists


def configure(history_start: str) -> None:
    """Set the start the domain modules build their partitions from; modules loaded with another
    start are dropped so the next load builds them with this one."""
    if history_start != _current["start"]:
        _current["start"] = history_start
        forget_loaded_defs()


def forget_loaded_defs() -> None:
    """Drop the domain modules, so the next load builds their definitions afresh (from a new
    partition start, or for another warehouse engine's pools)."""
    for name in [m for m in sys.modules if m.startswith("finops_dagster.defs.")]:
        del sys.modules[name]


def history_start() -> str:
    return _current["start"]


def __getattr__(name: str) -> dg.DailyPartitionsDefinition:
    if name == "daily_partitions":
        return partitions_from(_current["start"])
    raise AttributeError(name)
