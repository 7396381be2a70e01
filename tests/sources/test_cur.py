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


def test_s3_files_are_cached_by_etag(s3_export, tmp_path):
    export = CurExport(s3_export, tmp_path / "cache")
    manifest = export.manifests()["2026-08"]
    first = export.fetch_delivery(manifest)
    stamps = [p.stat().st_mtime_ns for p in first]
    second = export.fetch_delivery(manifest)
    assert first == second and stamps == [p.stat().st_mtime_ns for p in second]
    assert pl.scan_parquet(first).select(pl.len()).collect().item() == 15319


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
    with pytest.raises(CurError, match=rf"Manifest.json lists data file s3://{bucket}/{key}, "
                                       "which does not exist"):
        export.fetch_delivery(export.manifests()["2026-09"])


def test_unexpected_columns_name_the_file_and_columns(local_export, tmp_path):
    path = _first_file(local_export)
    pl.read_parquet(path).with_columns(surprise_column=pl.lit(1)).write_parquet(path)
    export = CurExport(str(local_export), tmp_path)
    with pytest.raises(CurError, match=rf"{path.name}: columns differ from the manifest: "
                                       r"unexpected \['surprise_column'\]"):
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
    with pytest.raises(CurError, match=r"Manifest.json: manifest is not valid JSON"):
        CurExport(str(local_export), tmp_path).manifests()


def test_manifest_without_files(local_export, tmp_path):
    manifest = next((local_export / "metadata" / "BILLING_PERIOD=2026-10").glob("*Manifest.json"))
    manifest.write_text(json.dumps({"executionId": "x", "dataFiles": []}))
    with pytest.raises(CurError, match="manifest lacks dataFiles"):
        CurExport(str(local_export), tmp_path).manifests()


@pytest.fixture(scope="module")
def csv_export(tmp_path_factory):
    from finops_dagster.demo.generator import DemoConfig, generate

    return generate(DemoConfig(out_dir=tmp_path_factory.mktemp("csv")), fmt="csv.gz")


def test_csv_gz_delivery_reads_like_parquet(demo, csv_export, tmp_path):
    from finops_dagster.sources.cur import scan_delivery

    sums = []
    for truth in (demo, csv_export):
        export = CurExport(truth["export_root"], tmp_path / "cache")
        paths = export.fetch_delivery(export.manifests()["2026-09"], lambda m: None)
        sums.append(scan_delivery(paths).select(
            pl.len(), pl.col("line_item_unblended_cost").sum().round(8),
            pl.col("resource_tags").map.len().sum()).collect().row(0))
    assert sums[0] == sums[1]


def test_truncated_csv_gz_names_the_file_and_caches_nothing(csv_export, tmp_path):
    import shutil

    root = tmp_path / "export"
    shutil.copytree(csv_export["export_root"], root)
    bad = sorted((root / "data" / "BILLING_PERIOD=2026-09").glob("*.csv.gz"))[0]
    bad.write_bytes(bad.read_bytes()[: bad.stat().st_size // 2])
    export = CurExport(str(root), tmp_path / "cache")
    with pytest.raises(CurError, match=rf"{bad.name}: truncated or corrupt csv.gz"):
        export.fetch_delivery(export.manifests()["2026-09"], lambda m: None)
    assert not list((tmp_path / "cache").rglob("*.part"))  # nothing half-written
    cached = list((tmp_path / "cache").rglob("*.parquet"))
    assert len(cached) <= 1  # at most the intact sibling file, converted in parallel
    for path in cached:
        assert pl.read_parquet(path).height == 4_710  # the second September file, whole
