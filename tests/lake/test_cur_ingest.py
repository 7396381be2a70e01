from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from finops_dagster.lake.cur_ingest import SOURCE, ingest_cur_days
from finops_dagster.lake.ledger import Ledger
from finops_dagster.lake.raw_lake import RawLake
from finops_dagster.sources.cur import CurError, CurExport
from tests.conftest import days_between, file_digest

ALL_DAYS = days_between("2026-08-01", "2026-10-31")
SEPTEMBER = days_between("2026-09-01", "2026-09-30")


@pytest.fixture
def lake(tmp_path):
    return RawLake(tmp_path / "raw"), Ledger(tmp_path / "ledger.sqlite")


def _snapshot(raw: RawLake, ledger: Ledger, days):
    return {
        d: (
            file_digest(raw.day_path(SOURCE, d)),
            ledger.day(SOURCE, d).row_count,
            ledger.day(SOURCE, d).unblended_cost,
            ledger.day(SOURCE, d).delivery_id,
        )
        for d in days
    }


def test_s3_ingest_equals_the_truth_per_day_and_account(demo, s3_export, lake, tmp_path):
    raw, ledger = lake
    entries = ingest_cur_days(CurExport(s3_export, tmp_path / "cache"), raw, ledger, ALL_DAYS).entries
    assert len(entries) == 92
    assert sum(e.row_count for e in entries) == demo["total_rows"]
    assert sum(e.unblended_cost for e in entries) == Decimal(demo["total_unblended"])
    assert sum(e.effective_cost for e in entries) == Decimal(demo["total_effective"])
    for t in demo["daily"]:
        import datetime as dt

        acct = ledger.day(SOURCE, dt.date.fromisoformat(t["date"])).accounts[t["account"]]
        assert (acct.row_count, acct.unblended_cost, acct.effective_cost) == (
            t["rows"],
            Decimal(t["unblended"]),
            Decimal(t["effective"]),
        ), t
    sep17 = ledger.day(SOURCE, SEPTEMBER[16])
    assert set(sep17.accounts) == {"111111111111", "333333333333"}
    assert sep17.delivery_id == demo["billing_periods"]["2026-09"]["execution_id"]
    assert len(sep17.source_files) == 2 and sep17.source_files[0].startswith("s3://")


def test_rerun_is_idempotent(s3_export, lake, tmp_path):
    raw, ledger = lake
    export = CurExport(s3_export, tmp_path / "cache")
    ingest_cur_days(export, raw, ledger, SEPTEMBER)
    before = _snapshot(raw, ledger, SEPTEMBER)
    ingest_cur_days(export, raw, ledger, SEPTEMBER[10:13])  # a partial re-run
    ingest_cur_days(export, raw, ledger, SEPTEMBER)
    assert _snapshot(raw, ledger, SEPTEMBER) == before
    assert not list((raw.root / "_staging").glob("*"))  # no leftovers


@pytest.mark.parametrize("damage", ["corrupt", "missing", "extra_column"])
def test_bad_input_keeps_ingested_days(damage, s3, s3_export, lake, tmp_path):
    raw, ledger = lake
    export = CurExport(s3_export, tmp_path / "cache")
    ingest_cur_days(export, raw, ledger, SEPTEMBER)
    before = _snapshot(raw, ledger, SEPTEMBER)

    bucket, prefix = s3_export[5:].split("/", 1)
    key = f"{prefix}/data/BILLING_PERIOD=2026-09/finops-demo-export-00002.snappy.parquet"
    if damage == "corrupt":
        s3.put_object(Bucket=bucket, Key=key, Body=b"PAR1" + b"\0" * 100)
    elif damage == "missing":
        s3.delete_object(Bucket=bucket, Key=key)
    else:
        import polars as pl

        path = tmp_path / "extra.parquet"
        pl.read_parquet(raw.day_path(SOURCE, SEPTEMBER[0])).with_columns(new_col=pl.lit("x")).write_parquet(
            path
        )
        s3.upload_file(str(path), bucket, key)
    with pytest.raises(CurError, match=rf"s3://{bucket}/{key}"):
        ingest_cur_days(export, raw, ledger, SEPTEMBER)
    assert _snapshot(raw, ledger, SEPTEMBER) == before


def test_undelivered_period_is_a_clear_error(s3_export, lake, tmp_path):
    raw, ledger = lake
    with pytest.raises(CurError, match="no CUR delivery for billing period 2026-11"):
        ingest_cur_days(CurExport(s3_export, tmp_path), raw, ledger, days_between("2026-10-30", "2026-11-02"))
    assert ledger.day(SOURCE, days_between("2026-10-30", "2026-10-30")[0]) is None


@pytest.mark.parametrize(
    "damage, message",
    [
        ("truncated", "truncated or corrupt csv.gz"),
        ("checksum", "truncated or corrupt csv.gz .*checksum"),
        ("bad_number", "invalid CSV content .*line_item_unblended_cost"),
    ],
)
def test_damaged_csv_gz_fails_part_way_and_keeps_ingested_days(damage, message, csv_export, lake, tmp_path):
    """A csv.gz is only known to be damaged when the reader gets there, after earlier files'
    rows were written: those writes are staged and dropped, the lake keeps its days."""
    import csv
    import gzip
    import io
    import shutil

    raw, ledger = lake
    root = tmp_path / "export"
    shutil.copytree(csv_export["export_root"], root)
    export = CurExport(str(root), tmp_path / "cache")
    ingest_cur_days(export, raw, ledger, SEPTEMBER)
    before = _snapshot(raw, ledger, SEPTEMBER)
    assert (
        sum(ledger.day(SOURCE, d).row_count for d in SEPTEMBER)
        == csv_export["billing_periods"]["2026-09"]["rows"]
    )

    bad = sorted((root / "data" / "BILLING_PERIOD=2026-09").glob("*.csv.gz"))[1]  # the last file
    data = bytearray(bad.read_bytes())
    if damage == "truncated":
        data = data[: len(data) // 2]
    elif damage == "checksum":
        data[-6] ^= 0xFF  # the gzip trailer's CRC-32: the text decompresses, the check fails
    else:
        rows = list(csv.reader(io.StringIO(gzip.decompress(bytes(data)).decode())))
        rows[-1][rows[0].index("line_item_unblended_cost")] = "twelve"  # the last line item
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(rows)
        data = gzip.compress(out.getvalue().encode())
    bad.write_bytes(bytes(data))
    with pytest.raises(CurError, match=rf"{bad.name}: {message}"):
        ingest_cur_days(export, raw, ledger, SEPTEMBER, progress=lambda m: None)
    assert _snapshot(raw, ledger, SEPTEMBER) == before
    assert not list((raw.root / "_staging").glob("*"))  # staged rows dropped
    assert not list((tmp_path / "cache").rglob("*"))  # local files: nothing copied or converted


@pytest.mark.parametrize("order", ["by_usage", "shuffled"])
def test_a_one_day_ingest_reads_only_the_row_groups_that_can_hold_it(local_export, tmp_path, order):
    """Issue 17 item 4: "a one-day ingest reads only what it needs of the delivery (row-group
    statistics on the usage date), not the whole period". September's files rewritten in small
    row groups. In usage order, re-ingesting one day reads a few of them; shuffled (AWS does not
    document the row order of a delivery, so a row group may span the whole month) every group
    is read. Either way the day commits exactly what a full-month ingest commits for it. On the
    period's first day the window is open to the past: usage dated before the period is kept on
    that day, so its row groups are read too."""
    import datetime as dt

    import pyarrow.parquet as pq

    paths = sorted(local_export.glob("data/BILLING_PERIOD=2026-09/*.parquet"))
    sizes = [pq.ParquetFile(p).metadata.num_rows for p in paths]
    month = pl.concat([pl.read_parquet(p) for p in paths], how="diagonal_relaxed")
    month = (
        month.sort("line_item_usage_start_date")
        if order == "by_usage"
        else month.sample(fraction=1.0, shuffle=True, seed=7)
    )  # every file spans the month
    offset = 0
    for path, size in zip(paths, sizes, strict=True):  # the same files, the same sizes
        pq.write_table(month.slice(offset, size).to_arrow(), path, row_group_size=200)
        offset += size
    full_raw, full_ledger = RawLake(tmp_path / "full" / "raw"), Ledger(tmp_path / "full" / "ledger.sqlite")
    ingest_cur_days(CurExport(str(local_export), tmp_path / "c1"), full_raw, full_ledger, SEPTEMBER)

    def rows_read(days):
        root = tmp_path / str(days[0])
        raw, ledger, lines = RawLake(root / "raw"), Ledger(root / "ledger.sqlite"), []
        ingest_cur_days(
            CurExport(str(local_export), root / "cache"), raw, ledger, days, progress=lines.append
        )
        for day in days:
            got, want = ledger.day(SOURCE, day), full_ledger.day(SOURCE, day)
            assert (got.row_count, got.unblended_cost, got.effective_cost, got.accounts) == (
                want.row_count,
                want.unblended_cost,
                want.effective_cost,
                want.accounts,
            ), day
        # "read file i/n (..., N rows, ...)": N counts the period's rows read so far
        return max(int(line.split(" rows, ")[0].rsplit(", ", 1)[1]) for line in lines if " rows, " in line)

    total = sum(full_ledger.day(SOURCE, d).row_count for d in SEPTEMBER)
    for day in (dt.date(2026, 9, 17), dt.date(2026, 9, 1)):  # equal entries asserted inside
        read = rows_read([day])
        if order == "by_usage":
            assert read < total / 5, (day, read, total)
        else:
            assert read == total, (day, read, total)


def test_duplicate_identities_are_counted_day_by_day_and_the_diff_file_is_skipped(tmp_path):
    """The duplicate check aggregates one staged day at a time (one aggregate over a 3-month
    range of 20M line items a month ran out of DuckDB's 1 GB): equal identities share their
    time interval and so their day file. A staged restatement diff has no identity columns."""
    from finops_dagster.lake.cur_validation import duplicate_identities

    def day(name: str, ids: list[str]) -> Path:
        path = tmp_path / name
        pl.DataFrame(
            {
                "identity_line_item_id": ids,
                "identity_time_interval": ["2026-08-01T00:00:00Z/2026-08-02T00:00:00Z"] * len(ids),
                "line_item_unblended_cost": [1.0] * len(ids),
            }
        ).write_parquet(path)
        return path

    files = [
        day("2026-08-01.parquet", ["a", "b", "b", "c", "c", "c"]),  # b twice, c three times: 3 extra
        day("2026-08-02.parquet", ["a", "d"]),  # "a" again, but another day's file: its own line item
        tmp_path / "extra-0.parquet",
    ]
    pl.DataFrame({"sub_account_id": ["1"], "old_cost": [1.0]}).write_parquet(files[-1])
    extra, examples = duplicate_identities(files, tmp_path / "spill")
    assert extra == 3
    assert [(i, n) for i, _, n in examples] == [("c", 3), ("b", 2)]
    assert duplicate_identities(files[1:], tmp_path / "spill") == (0, [])


def test_identities_that_hash_apart_prove_no_repeat_and_a_collision_falls_back_to_the_exact_count(
    tmp_path, monkeypatch
):
    """Distinct hashes prove distinct identities, so clean days skip the exact count; equal
    hashes may be a collision, so the exact count decides (a collision is simulated: the fast
    path answers 'maybe' for every day, and a clean day still counts no repeat)."""
    from finops_dagster.lake import cur_validation

    ids = {"identity_time_interval": ["2026-08-01T00:00:00Z/2026-08-02T00:00:00Z"] * 3}
    clean = pl.LazyFrame({"identity_line_item_id": ["a", "b", "c"], **ids})
    repeat = pl.LazyFrame({"identity_line_item_id": ["a", "b", "b"], **ids})
    assert cur_validation.identities_hash_apart(clean)
    assert not cur_validation.identities_hash_apart(repeat)
    path = tmp_path / "2026-08-01.parquet"
    clean.collect().write_parquet(path)
    monkeypatch.setattr(cur_validation, "identities_hash_apart", lambda lf: False)
    assert cur_validation.duplicate_identities([path], tmp_path / "spill") == (0, [])
