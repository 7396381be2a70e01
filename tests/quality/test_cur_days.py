import datetime as dt

import polars as pl
import pytest

from finops_dagster.lake.cur_ingest import SOURCE, ingest_cur_days
from finops_dagster.lake.ledger import Ledger
from finops_dagster.lake.raw_lake import RawLake
from finops_dagster.quality import cur_days
from finops_dagster.quality.cur_expectations import column_expectations
from finops_dagster.sources.cur import CurExport
from tests.conftest import days_between

ALL_DAYS = days_between("2026-08-01", "2026-10-31")
DAY = dt.date(2026, 9, 18)


@pytest.fixture(scope="module")
def ingested(demo, tmp_path_factory):
    root = tmp_path_factory.mktemp("lake")
    raw, ledger = RawLake(root / "raw"), Ledger(root / "ledger.sqlite")
    ingest_cur_days(CurExport(demo["export_root"], root / "cache"), raw, ledger, ALL_DAYS)
    return raw, ledger


@pytest.fixture
def september(demo, tmp_path):
    """A private lake of three September days, for tests that tamper with a day file."""
    raw, ledger = RawLake(tmp_path / "raw"), Ledger(tmp_path / "ledger.sqlite")
    ingest_cur_days(
        CurExport(demo["export_root"], tmp_path / "cache"),
        raw,
        ledger,
        days_between("2026-09-17", "2026-09-19"),
    )
    return raw, ledger


def _rewrite(raw: RawLake, day, fn):
    path = raw.day_path(SOURCE, day)
    fn(pl.read_parquet(path)).write_parquet(path)


def test_gap_fails_exactly_on_the_planted_day(ingested, demo):
    _, ledger = ingested
    failed = {d: cur_days.gap(ledger, d) for d in ALL_DAYS if not cur_days.gap(ledger, d).passed}
    assert list(failed) == [dt.date(2026, 9, 17)]
    assert failed[dt.date(2026, 9, 17)].metadata["missing_accounts"] == "222222222222"


def test_clean_days_pass_every_raw_check(ingested):
    raw, ledger = ingested
    for day in ALL_DAYS:
        assert cur_days.raw_conservation(raw, ledger, day).passed, day
        assert cur_days.unique_line_items(raw, day).passed, day


def test_conservation_catches_a_lost_row(september):
    raw, ledger = september
    _rewrite(raw, DAY, lambda df: df.slice(1))
    result = cur_days.raw_conservation(raw, ledger, DAY)
    assert not result.passed
    assert result.metadata["raw_rows"] == result.metadata["ledger_rows"] - 1


def test_uniqueness_catches_a_duplicated_line_item(september):
    raw, _ = september
    _rewrite(raw, DAY, lambda df: pl.concat([df, df.head(2)]))
    result = cur_days.unique_line_items(raw, DAY)
    assert not result.passed and result.metadata["duplicate_line_items"] == 2


def test_great_expectations_pass_on_clean_day(september):
    raw, _ = september
    result = column_expectations(raw, DAY)
    assert result.passed, result.metadata
    assert result.metadata["rows"] == 494


def test_great_expectations_catch_null_currency_and_out_of_period_usage(september):
    raw, _ = september

    def damage(df: pl.DataFrame) -> pl.DataFrame:
        df = df.with_columns(
            line_item_currency_code=pl.when(pl.int_range(pl.len()) == 0)
            .then(pl.lit("EUR"))
            .otherwise("line_item_currency_code")
        )
        return df.with_columns(
            bill_billing_period_start_date=pl.when(pl.int_range(pl.len()) == 1)
            .then(pl.datetime(2026, 10, 1))
            .otherwise("bill_billing_period_start_date"),
            line_item_usage_account_id=pl.when(pl.int_range(pl.len()) == 2)
            .then(None)
            .otherwise("line_item_usage_account_id"),
        )

    _rewrite(raw, DAY, damage)
    result = column_expectations(raw, DAY)
    assert not result.passed
    failed = result.metadata["failed_expectations"]
    assert "expect_column_values_to_be_in_set(line_item_currency_code)" in failed
    assert "expect_column_values_to_be_in_set(usage_in_period)" in failed
    assert "expect_column_values_to_not_be_null(line_item_usage_account_id)" in failed


def test_great_expectations_over_a_range_judge_each_day_and_validate_equal_profiles_once(
    september, monkeypatch
):
    """Clean days reduce to the same profile rows, so they share one validation (Great
    Expectations' ~80 ms of Python a day); a damaged day between them still gets its own."""
    from finops_dagster.quality import cur_expectations

    raw, _ = september
    _rewrite(
        raw,
        DAY,
        lambda df: df.with_columns(
            line_item_currency_code=pl.when(pl.int_range(pl.len()) == 0)
            .then(pl.lit("EUR"))
            .otherwise("line_item_currency_code")
        ),
    )
    validations = []
    real = cur_expectations._validate
    monkeypatch.setattr(cur_expectations, "_validate", lambda *a: validations.append(a[3]) or real(*a))
    days = days_between("2026-09-17", "2026-09-19")
    results = cur_expectations.column_expectations_days(raw, days)
    assert [results[d].passed for d in days] == [True, False, True]
    assert results[DAY].metadata["failed_expectations"] == (
        "expect_column_values_to_be_in_set(line_item_currency_code)"
    )
    assert results[days[0]].metadata["failed_expectations"] == "none"
    assert results[days[0]].metadata["rows"] != results[days[2]].metadata["rows"]  # each day's own
    assert len(validations) == 2


def test_great_expectations_verdicts_are_remembered_across_runs(september, monkeypatch, tmp_path):
    """A one-day refresh re-validates the profiles every clean day produces: the verdict of the
    same profiles comes from the file, without Great Expectations; a day with a new profile (a
    foreign currency) is validated, and its failure is remembered too."""
    from finops_dagster.quality import cur_expectations

    raw, _ = september
    verdicts = tmp_path / "cache" / "gx_verdicts.json"
    days = days_between("2026-09-17", "2026-09-19")
    first = cur_expectations.column_expectations_days(raw, days, verdicts=verdicts)
    assert verdicts.exists()
    assert {first[d].metadata["verdict"] for d in days} == {"validated now"}

    def refuse(*args):
        raise AssertionError("Great Expectations ran on profiles validated before")

    monkeypatch.setattr(cur_expectations, "_validate", refuse)
    again = cur_expectations.column_expectations_days(raw, days, verdicts=verdicts)
    assert {d: r.passed for d, r in again.items()} == {d: r.passed for d, r in first.items()}
    assert again[DAY].metadata["expectations"] == first[DAY].metadata["expectations"]
    assert again[DAY].metadata["verdict"].startswith("remembered")

    monkeypatch.undo()
    _rewrite(raw, DAY, lambda df: df.with_columns(line_item_currency_code=pl.lit("EUR")))
    foreign = cur_expectations.column_expectations(raw, DAY)  # no file: validated
    assert not foreign.passed
    changed = cur_expectations.column_expectations_days(raw, [DAY], verdicts=verdicts)[DAY]
    assert not changed.passed and changed.metadata["verdict"] == "validated now"
    monkeypatch.setattr(cur_expectations, "_validate", refuse)
    remembered = cur_expectations.column_expectations_days(raw, [DAY], verdicts=verdicts)[DAY]
    assert not remembered.passed
    assert remembered.metadata["failed_expectations"] == changed.metadata["failed_expectations"]
    verdicts.write_text("{not json")  # a damaged file is an empty cache, not a failed check
    monkeypatch.undo()
    assert not cur_expectations.column_expectations_days(raw, [DAY], verdicts=verdicts)[DAY].passed


def test_uniqueness_on_a_hash_collision_counts_exactly(september, monkeypatch):
    """A day whose identity hashes collide (simulated) is counted exactly: no false repeat."""
    raw, _ = september
    monkeypatch.setattr(cur_days, "identities_hash_apart", lambda lf: False)
    result = cur_days.unique_line_items(raw, DAY)
    assert result.passed and result.metadata["duplicate_line_items"] == 0


def test_tag_keys_read_as_a_dictionary_equal_every_lines_keys(tmp_path):
    """CUR 2.0's resource_tags MAP: keys spread over row groups, null and empty maps, and a
    dictionary that holds a key no line uses (a writer may keep one) must not report it."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    maps = pa.array(
        [
            [("user_team", "a")],
            None,
            [],
            [("user_env", "prod"), ("user_team", "b")],
            [("aws_created_by", "x")],
        ],
        type=pa.map_(pa.string(), pa.string()),
    )
    path = tmp_path / "day.parquet"
    pq.write_table(pa.table({"resource_tags": maps, "n": list(range(5))}), path, row_group_size=2)
    assert cur_days.map_keys(path, "resource_tags") == {"user_team", "user_env", "aws_created_by"}
    assert cur_days.map_keys(path, "cost_category") == set()  # a CUR without the column

    unused = pa.DictionaryArray.from_arrays(
        pa.array([0, 0], pa.int32()), pa.array(["user_team", "user_gone"])
    )
    entries = pa.StructArray.from_arrays(
        [unused, pa.array(["a", "b"])],
        fields=[pa.field("key", unused.type, nullable=False), pa.field("value", pa.string())],
    )
    tags = pa.MapArray.from_arrays(pa.array([0, 1, 2], pa.int32()), entries.field(0), entries.field(1))
    pq.write_table(pa.table({"resource_tags": tags}), path)
    assert cur_days.map_keys(path, "resource_tags") == {"user_team"}
    assert pl.read_parquet(path)["resource_tags"].map.keys().explode().unique().to_list() == ["user_team"]


def test_per_day_work_runs_two_days_at_once_and_keeps_their_order():
    """The range checks read two days at a time (one day's query or read uses one core)."""
    import threading

    both = threading.Barrier(2, timeout=30)  # broken unless the first two days overlap

    def work(i: int) -> int:
        if i < 2:
            both.wait()
        return i * 10

    assert cur_days.per_day(work, [0, 1, 2, 3, 4]) == [0, 10, 20, 30, 40]
    assert cur_days.per_day(work, [7]) == [70]
