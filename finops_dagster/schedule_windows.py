"""Which day partitions each schedule refreshes, as plain date arithmetic (tested at the
awkward instants: month start and end, leap days, New Year)."""

from __future__ import annotations

import datetime as dt


def _utc_day(t: dt.datetime) -> dt.date:
    return (t.astimezone(dt.UTC) if t.tzinfo else t).date()


def current_month(t: dt.datetime) -> tuple[dt.date, dt.date]:
    """The first day of ``t``'s month through ``t``'s day: CUR redelivers the month to date
    several times a day, so every day of it may have changed."""
    today = _utc_day(t)
    return today.replace(day=1), today


def previous_month_if_finalizing(t: dt.datetime, finalization_days: int) -> tuple[dt.date, dt.date] | None:
    """The whole previous month while ``t`` is in the first ``finalization_days`` days of a
    month (AWS finalizes the invoice early in the next month), else None."""
    today = _utc_day(t)
    if today.day > finalization_days:
        return None
    last = today.replace(day=1) - dt.timedelta(days=1)
    return last.replace(day=1), last


def cost_explorer_days(t: dt.datetime) -> tuple[dt.date, dt.date]:
    """Yesterday's month through yesterday: Cost Explorer's month-to-date figures stay
    estimated and move until the month closes; today has no complete data yet."""
    yesterday = _utc_day(t) - dt.timedelta(days=1)
    return yesterday.replace(day=1), yesterday


def recent_hours(t: dt.datetime) -> tuple[dt.date, dt.date]:
    """Yesterday and today: CloudWatch keeps filling the last hours."""
    today = _utc_day(t)
    return today - dt.timedelta(days=1), today
