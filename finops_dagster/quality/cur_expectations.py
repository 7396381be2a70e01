"""Column expectations on one raw CUR day, run with Great Expectations.

Great Expectations takes 6-13 s to import here, so it is imported inside the function, never
when the code location loads.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import logging
import os
import sys
import threading
from pathlib import Path

import polars as pl

from finops_dagster.lake.cur_ingest import SOURCE
from finops_dagster.lake.raw_lake import RawLake
from finops_dagster.memo import code_digest
from finops_dagster.quality.results import DayResult
from finops_dagster.sources.cur import REQUIRED_COLUMNS

ALLOWED_CURRENCIES = ("USD",)


_GX_LOCK = threading.Lock()


def warm_up() -> threading.Thread:
    """Import Great Expectations in the background (about 2.3 s of imports: altair, scipy ...),
    so the check that follows the ingest in the same run finds it loaded; a one-day refresh
    otherwise spent a seventh of its time on this import.

    sqlalchemy's ORM is imported here first, on the calling thread (0.2-0.3 s). Great Expectations
    imports it, and half way through that import the ORM has already registered its inspection
    hook for every object. The run's own SQL (Dagster's storage binding a parameter) then called
    into the half-imported module from the main thread and failed the step: "partially
    initialized module 'sqlalchemy.orm.exc' has no attribute 'UnmappedClassError'" (CI,
    2026-12-07)."""
    import sqlalchemy.orm  # noqa: F401

    thread = threading.Thread(target=_gx, name="great-expectations-import", daemon=True)
    thread.start()
    return thread


def _gx():
    with _GX_LOCK:  # the warm-up thread and the check may ask at once: one import, one context
        return _gx_context()


@functools.cache
def _gx_context():
    """One quiet ephemeral context per process, with one data asset every validation reuses (a
    data asset per day kept each day's frame alive: 2.2 GB after 31 days at 20M rows a month)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")  # no phoning home from checks
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    # Great Expectations imports pyspark whenever it is installed (the spark dbt target installs
    # it): seconds more per process, and pyspark's Spark Connect module exits a process whose
    # __main__ has no __file__ (a pytest-xdist worker, a run worker). These checks validate
    # pandas frames, so Great Expectations is shown no pyspark (a None entry in sys.modules makes
    # its import fail, which it takes as "Spark not installed").
    hide = "pyspark" not in sys.modules
    if hide:
        sys.modules["pyspark"] = None  # type: ignore[assignment]
    try:
        import great_expectations as gx
    finally:
        if hide:
            del sys.modules["pyspark"]

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = {"globally": False}
    batches = (
        context.data_sources.add_or_update_pandas("raw_cur")
        .add_dataframe_asset("cur_day_profiles")
        .add_batch_definition_whole_dataframe("day")
    )
    return gx, batches


def column_expectations(
    lake: RawLake, day: dt.date, currencies: tuple[str, ...] = ALLOWED_CURRENCIES
) -> DayResult:
    return column_expectations_days(lake, [day], currencies)[day]


def column_expectations_days(
    lake: RawLake,
    days: list[dt.date],
    currencies: tuple[str, ...] = ALLOWED_CURRENCIES,
    verdicts: Path | None = None,
) -> dict[dt.date, DayResult]:
    """The suite on every day of a range, from one streaming pass over the range's day files.

    The pass reduces each day to its distinct profiles: per required column whether the value is
    there (the currency's value itself), whether usage starts inside its billing period, and the
    rows of each profile. Great Expectations validates each day's profiles, a handful of rows: a
    value is null or outside its set in a profile iff it is in some line item of the day, so the
    verdicts are the suite's on the full rows, while memory stays a few rows per day whatever the
    data's size (pandas copies of 650k-row days took 34 s and grew to 2.2 GB over a month). Days
    with the same profiles (every clean day) share one validation.

    ``verdicts`` (a JSON file) keeps each validation's verdict, keyed by the profile rows, the
    suite's code and the Great Expectations version: Great Expectations' import and context cost
    3.1 s of CPU per process, a fifth of a one-day refresh, to validate the same handful of rows
    every clean day produces. A profile seen before takes its verdict from the file and Great
    Expectations is not imported; a new one (a damaged day, a new column set) is validated.
    """
    cache = _VerdictCache(verdicts, currencies)
    results = {
        d: DayResult(False, {"reason": f"{d}: no raw file"}) for d in days if not lake.has_day(SOURCE, d)
    }
    present: dict[dt.date, list[str]] = {}
    scans = []
    for d in days:
        if d in results:
            continue
        lf = lake.scan_day(SOURCE, d)
        names = lf.collect_schema().names()
        present[d] = [c for c in REQUIRED_COLUMNS if c in names]
        scans.append(lf.select(_day=pl.lit(d), **_profile(names)).group_by(pl.all()).agg(_rows=pl.len()))
    # one query; each day aggregated on its own (grouping the union of the raw days instead held
    # 3.3 GB at 20M line items a month, against 0.25 GB this way)
    profiles = pl.concat(scans).collect(engine="streaming") if scans else pl.DataFrame()
    verdicts: dict[str, tuple[tuple[bool, int, list[str]], str]] = {}  # key: (verdict, how)
    for d, columns in present.items():
        day = profiles.filter(pl.col("_day") == d)
        frame = day.select(*columns, "usage_in_period")
        # days whose profiles are the same rows get the same verdict: Great Expectations runs once
        # for them (a validation is ~80 ms of Python, 2.4 s of a clean month's 31 days)
        key = cache.key(columns, frame.sort(pl.all(), nulls_last=True).rows())
        if key not in verdicts:
            verdict = cache.get(key)
            if verdict is not None:
                verdicts[key] = verdict, "remembered: the same profiles were validated before"
            else:
                gx, batches = _gx()
                verdict = _validate(gx, batches, frame.to_pandas(), columns, currencies)
                cache.put(key, verdict)
                verdicts[key] = verdict, "validated now"
        (passed, expectations, failed), how = verdicts[key]
        results[d] = DayResult(
            passed,
            {
                "rows": int(day["_rows"].sum()),
                "expectations": expectations,
                "failed_expectations": ", ".join(failed) or "none",
                "verdict": how,
            },
        )
    cache.save()
    return {d: results[d] for d in days}


class _VerdictCache:
    """Verdicts of earlier validations (see column_expectations_days), at most ``LIMIT``, the
    most recently used kept. A missing or unreadable file is an empty cache; concurrent runs may
    each write theirs (the file is replaced whole, a lost entry is validated again)."""

    LIMIT = 256

    def __init__(self, path: Path | None, currencies: tuple[str, ...]) -> None:
        self.path, self.changed = path, False
        self.entries: dict[str, list] = {}
        if path is not None and path.exists():
            try:
                self.entries = json.loads(path.read_text())
            except (OSError, ValueError):
                self.entries = {}
        # this module's code and Great Expectations' version: a change to either invalidates every verdict
        self.suite = json.dumps([_suite_code(), list(currencies), list(REQUIRED_COLUMNS)])

    def key(self, columns: list[str], rows: list[tuple]) -> str:
        text = json.dumps([self.suite, columns, rows], default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    def get(self, key: str) -> tuple[bool, int, list[str]] | None:
        if self.path is None or key not in self.entries:
            return None
        self.entries[key] = self.entries.pop(key)  # most recently used last
        self.changed = True
        passed, expectations, failed = self.entries[key]
        return bool(passed), int(expectations), list(failed)

    def put(self, key: str, verdict: tuple[bool, int, list[str]]) -> None:
        self.entries[key], self.changed = list(verdict), True

    def save(self) -> None:
        if self.path is None or not self.changed:
            return
        kept = dict(list(self.entries.items())[-self.LIMIT :])
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(kept))
        os.replace(tmp, self.path)


@functools.cache
def _suite_code() -> str:
    return code_digest([Path(__file__)], ("great_expectations",))


CURRENCY = "line_item_currency_code"


def _validate(
    gx, batches, df, columns: list[str], currencies: tuple[str, ...]
) -> tuple[bool, int, list[str]]:
    """The suite on one day's profiles: passed, expectations evaluated, the failed ones."""
    suite = gx.ExpectationSuite(name="raw_cur_day")
    for col in REQUIRED_COLUMNS:
        suite.add_expectation(gx.expectations.ExpectColumnToExist(column=col))
        if col in columns:
            suite.add_expectation(gx.expectations.ExpectColumnValuesToNotBeNull(column=col))
    suite.add_expectation(
        gx.expectations.ExpectColumnValuesToBeInSet(column="usage_in_period", value_set=[True])
    )
    if CURRENCY in columns:
        suite.add_expectation(
            gx.expectations.ExpectColumnValuesToBeInSet(column=CURRENCY, value_set=list(currencies))
        )
    result = batches.get_batch(batch_parameters={"dataframe": df}).validate(suite)
    failed = [
        f"{r.expectation_config.type}({r.expectation_config.kwargs.get('column')})"
        for r in result.results
        if not r.success
    ]
    return bool(result.success), len(result.results), failed


def _profile(names: list[str]) -> dict[str, pl.Expr]:
    """Per line item: True where a required value is there (null where it is not; the currency's
    own value), and whether usage starts inside the billing period. Absent columns are null
    here and left out of that day's batch, where ExpectColumnToExist fails."""
    exprs = {
        c: (
            pl.col(c).cast(pl.String)
            if c == CURRENCY
            else pl.when(pl.col(c).is_not_null()).then(pl.lit(True))
        )
        if c in names
        else pl.lit(None, dtype=pl.String if c == CURRENCY else pl.Boolean)
        for c in REQUIRED_COLUMNS
    }
    start = pl.col("bill_billing_period_start_date")
    end = (
        pl.col("bill_billing_period_end_date")
        if "bill_billing_period_end_date" in names
        else start.dt.offset_by("1mo")
    )
    usage = pl.col("line_item_usage_start_date")
    exprs["usage_in_period"] = (usage >= start) & (usage < end)
    return exprs
