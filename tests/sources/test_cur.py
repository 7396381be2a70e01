import json

import polars as pl
import pytest

from finops_dagster.sources.cur import CurError, CurExport


def test_local_and_s3_list_the_same_deliveries(demo, s3_export, tmp_path):
    local = CurExport(demo["export_root"], tmp_path / "cache").manifests()
    remote = CurExport(s3_export, tmp_path / "cache").manifests()
    assert sorted(local) == sorted(remote) == ["2026-08", "2026-09", "2026-10"]
    for period, m in remote.items():
        assert m.delivery_id == demo["billing_periods"][period]["execution_id"]
        assert m.data_files == local[period].data_files
        assert len(m.columns) == 44  # with the resource_tags and cost_category maps


def test_s3_files_are_cached_by_etag(s3_export, demo, tmp_path):
    export = CurExport(s3_export, tmp_path / "cache")
    manifest = export.manifests()["2026-08"]
    first = export.fetch_delivery(manifest)
    stamps = [p.stat().st_mtime_ns for p in first]
    second = export.fetch_delivery(manifest)
    assert first == second and stamps == [p.stat().st_mtime_ns for p in second]
    rows = pl.scan_parquet(first).select(pl.len()).collect().item()
    assert rows == demo["billing_periods"]["2026-08"]["rows"]


def _first_file(export_root, period="2026-09"):
    return sorted((export_root / "data" / f"BILLING_PERIOD={period}").glob("*.parquet"))[0]


def test_corrupt_parquet_names_the_file(local_export, tmp_path):
    bad = _first_file(local_export)
    bad.write_bytes(b"PAR1 this is not parquet")
    export = CurExport(str(local_export), tmp_path)
    with pytest.raises(CurError, match=rf"{bad.name}: not a readable Parquet file"):
        export.fetch_delivery(export.manifests()["2026-09"])


def test_corrupt_parquet_on_s3_names_the_object(s3, s3_export, tmp_path):
    bucket, prefix = s3_export[5:].split("/", 1)
    key = f"{prefix}/data/BILLING_PERIOD=2026-09/finops-demo-export-00001.snappy.parquet"
    s3.put_object(Bucket=bucket, Key=key, Body=b"garbage")
    export = CurExport(s3_export, tmp_path)
    with pytest.raises(CurError, match=rf"s3://{bucket}/{key}: not a readable Parquet file"):
        export.fetch_delivery(export.manifests()["2026-09"])


def test_manifest_naming_a_missing_file(s3, s3_export, tmp_path):
    bucket, prefix = s3_export[5:].split("/", 1)
    key = f"{prefix}/data/BILLING_PERIOD=2026-09/finops-demo-export-00002.snappy.parquet"
    s3.delete_object(Bucket=bucket, Key=key)
    export = CurExport(s3_export, tmp_path)
    # found when the export is read: the period has no usable delivery, the others are unaffected
    assert sorted(export.manifests()) == ["2026-08", "2026-10"]
    with pytest.raises(
        CurError,
        match=rf"2026-09: .*Manifest.json lists data file s3://{bucket}/{key}, "
        "which does not exist under the export root",
    ):
        export.delivery("2026-09")


def test_unexpected_columns_name_the_file_and_columns(local_export, tmp_path):
    path = _first_file(local_export)
    pl.read_parquet(path).with_columns(surprise_column=pl.lit(1)).write_parquet(path)
    export = CurExport(str(local_export), tmp_path)
    with pytest.raises(
        CurError,
        match=rf"{path.name}: columns differ from the manifest: "
        r"unexpected \['surprise_column'\]",
    ):
        export.fetch_delivery(export.manifests()["2026-09"])


def test_missing_required_column(local_export, tmp_path):
    path = _first_file(local_export)
    pl.read_parquet(path).drop("line_item_unblended_cost").write_parquet(path)
    export = CurExport(str(local_export), tmp_path)
    with pytest.raises(CurError, match="required columns missing: line_item_unblended_cost"):
        export.fetch_delivery(export.manifests()["2026-09"])


def test_malformed_manifest(local_export, tmp_path):
    manifest = next((local_export / "metadata" / "BILLING_PERIOD=2026-10").glob("*Manifest.json"))
    manifest.write_text("{not json")
    export = CurExport(str(local_export), tmp_path)
    assert sorted(export.manifests()) == ["2026-08", "2026-09"]  # one bad manifest blocks one period
    with pytest.raises(CurError, match=r"Manifest.json: manifest is not valid JSON"):
        export.delivery("2026-10")


def test_manifest_without_files(local_export, tmp_path):
    manifest = next((local_export / "metadata" / "BILLING_PERIOD=2026-10").glob("*Manifest.json"))
    manifest.write_text(json.dumps({"executionId": "x", "dataFiles": []}))
    with pytest.raises(CurError, match="manifest lacks dataFiles"):
        CurExport(str(local_export), tmp_path).delivery("2026-10")


def test_csv_gz_delivery_reads_like_parquet(demo, csv_export, tmp_path):
    from finops_dagster.sources.cur import iter_delivery

    sums = []
    for truth in (demo, csv_export):
        export = CurExport(truth["export_root"], tmp_path / "cache")
        paths = export.fetch_delivery(export.manifests()["2026-09"], lambda m: None)
        batches = list(iter_delivery(paths, batch_rows=1_000, progress=lambda m: None))
        assert max(b.height for b in batches) <= 2_000  # bounded batches, also for csv.gz
        sums.append(
            pl.concat(batches)
            .select(
                pl.len(),
                pl.col("line_item_unblended_cost").sum().round(8),
                pl.col("resource_tags").map.len().sum(),
                pl.col("cost_category").map.len().sum(),
                pl.col("line_item_usage_start_date").max(),
                pl.col("usage_date").n_unique(),
            )
            .row(0)
        )
    assert sums[0] == sums[1]
    assert sums[0][0] == demo["billing_periods"]["2026-09"]["rows"] == 14_710
    assert sums[0][5] == 30  # every day of September has line items


def test_csv_gz_header_is_validated_before_reading(csv_export, tmp_path):
    import gzip
    import shutil

    root = tmp_path / "export"
    shutil.copytree(csv_export["export_root"], root)
    bad = sorted((root / "data" / "BILLING_PERIOD=2026-09").glob("*.csv.gz"))[0]
    lines = gzip.decompress(bad.read_bytes()).split(b"\n")
    lines[0] = lines[0].replace(b"line_item_unblended_cost,", b"")
    bad.write_bytes(gzip.compress(b"\n".join(lines)))
    export = CurExport(str(root), tmp_path / "cache")
    with pytest.raises(CurError, match=rf"{bad.name}: required columns missing: line_item_unblended_cost"):
        export.fetch_delivery(export.manifests()["2026-09"], lambda m: None)


def test_csv_gz_progress_estimates_the_rows(csv_export):
    """gzip records no row count (its size field wraps at 4 GB), so the percent in the
    progress log comes from the first MBs' rows per compressed byte."""
    from pathlib import Path

    from finops_dagster.sources.cur_formats import _estimated_rows

    path = sorted(Path(csv_export["export_root"]).glob("data/BILLING_PERIOD=2026-09/*.csv.gz"))[0]
    rows = pl.scan_csv(path).select(pl.len()).collect().item()
    assert rows == 10_000
    assert _estimated_rows(path, path.stat().st_size) == pytest.approx(rows, rel=0.01)
    assert _estimated_rows(path, path.stat().st_size, sample=64 << 10) == pytest.approx(rows, rel=0.2)
