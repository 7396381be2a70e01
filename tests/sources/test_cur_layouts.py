"""Every layout AWS delivers is found from the export root alone (issue 13, item 2)."""

import json
import re
import shutil

import pytest

from finops_dagster.sources.cur import CurError, CurExport
from finops_dagster.sources.cur_inspect import inspect_export
from tests.sources import real_exports as rx


def _found(root, tmp_path):
    return CurExport(str(root), tmp_path / "cache").discovery()


def test_athena_layout_without_manifest(tmp_path):
    """<report>/<report>/year=2018/month=10/<report>-00001.snappy.parquet, no manifest at all:
    each month folder is a delivery, its id a digest of the files (a re-delivery changes it)."""
    found = _found(rx.athena_2018(tmp_path), tmp_path)
    assert found.layouts == ["athena"] and not found.problems
    assert sorted(found.deliveries) == ["2018-10", "2018-11", "2018-12"]
    oct_ = found.deliveries["2018-10"]
    assert [k.rsplit("/", 1)[1] for k in oct_.data_files] == [
        "athena-report-00001.snappy.parquet",
        "athena-report-00002.snappy.parquet",
    ]
    assert oct_.delivery_id.startswith("files-")
    assert found.data_files == 6 and found.status == "READY"  # the status file is not data
    assert "athena" in found.describe() and "data status READY" in found.describe()


def test_athena_layout_with_manifest_uses_its_assembly(tmp_path):
    found = _found(rx.athena_2018(tmp_path, with_manifest=True), tmp_path)
    assert {p: (m.layout, m.delivery_id) for p, m in found.deliveries.items()} == {
        "2018-10": ("athena", "athena-10-assembly"),
        "2018-11": ("athena", "athena-11-assembly"),
        "2018-12": ("athena", "athena-12-assembly"),
    }


def test_athena_data_status_updating_holds_every_period(tmp_path):
    """cost_and_usage_data_status = UPDATING: AWS is rewriting the report, nothing is ingested."""
    root = rx.athena_2018(tmp_path, status="UPDATING")
    export = CurExport(str(root), tmp_path / "cache")
    found = export.discovery()
    assert not found.deliveries and sorted(found.problems) == ["2018-10", "2018-11", "2018-12"]
    with pytest.raises(CurError, match="cost_and_usage_data_status.parquet says UPDATING"):
        export.delivery("2018-11")


def test_legacy_create_new_and_overwrite(tmp_path):
    """Report versioning "create new": data in <period>/<assemblyId>/, the period's manifest
    beside it (the copy inside the assembly folder is not a second delivery); "overwrite": the
    files beside the manifest."""
    created = _found(rx.legacy_csv_2023(tmp_path / "new"), tmp_path)
    assert created.layouts == ["legacy_create_new"] and not created.problems
    m = created.deliveries["2023-11"]
    assert m.delivery_id == "b1e2c3d4-5678-4abc-9def-0123456789ab"
    assert all(k.startswith("20231101-20231201/b1e2c3d4") for k in m.data_files)
    over = _found(rx.legacy_csv_2023(tmp_path / "over", overwrite=True), tmp_path)
    assert over.layouts == ["legacy_overwrite"]
    assert [k.count("/") for k in over.deliveries["2023-11"].data_files] == [1, 1]


def test_root_above_the_report_finds_it(tmp_path):
    """The URL may name the bucket prefix above the report: keys stay relative to that root."""
    rx.legacy_csv_2023(tmp_path)
    found = _found(tmp_path / "billing", tmp_path)
    assert sorted(found.deliveries) == ["2023-11"]


def test_files_without_a_usable_delivery_are_named_not_missing(tmp_path):
    """CUR 2.0 data without its manifest (still being written, or deleted) is an error that
    names the files, never a "missing" period."""
    root = rx.cur2_product_map(tmp_path)
    shutil.rmtree(root / "metadata")
    export = CurExport(str(root), tmp_path / "cache")
    found = export.discovery()
    assert not found.deliveries
    assert "data files but no manifest for 2025-03" in found.problems["2025-03"]
    assert "cur2-00001.snappy.parquet" in found.problems["2025-03"]


def test_manifest_entries_never_leave_the_root(tmp_path):
    root = rx.legacy_csv_2023(tmp_path)
    manifest = root / "20231101-20231201" / "legacy-report-Manifest.json"
    doc = json.loads(manifest.read_text())
    doc["reportKeys"] = ["billing/legacy-report/../../../etc/passwd.csv.gz"]
    manifest.write_text(json.dumps(doc))
    with pytest.raises(CurError, match="outside the export root"):
        CurExport(str(root), tmp_path / "cache").delivery("2023-11")


def test_manifest_listing_a_file_twice_is_refused(tmp_path):
    root = rx.legacy_csv_2023(tmp_path)
    manifest = root / "20231101-20231201" / "legacy-report-Manifest.json"
    doc = json.loads(manifest.read_text())
    doc["reportKeys"] = doc["reportKeys"][:1] * 2
    manifest.write_text(json.dumps(doc))
    export = CurExport(str(root), tmp_path / "cache")
    with pytest.raises(CurError, match="lists the same data file more than once"):
        export.fetch_delivery(export.delivery("2023-11"))


def test_malformed_manifest_entries(tmp_path):
    root = rx.legacy_csv_2023(tmp_path)
    manifest = root / "20231101-20231201" / "legacy-report-Manifest.json"
    doc = json.loads(manifest.read_text())
    doc["reportKeys"] = [42]
    manifest.write_text(json.dumps(doc))
    with pytest.raises(CurError, match="dataFiles/reportKeys must be strings"):
        CurExport(str(root), tmp_path / "cache").delivery("2023-11")


def test_inspect_reports_layout_periods_columns_tags_and_problems(tmp_path):
    text, ok = inspect_export(str(rx.athena_2018(tmp_path)), tmp_path / "cache")
    assert ok, text
    assert "layout athena: 3 billing period(s)" in text
    # rows per period, never the export's total (775): matched as a count, as a delivery id
    # (a hash of the temporary path) can hold those digits
    assert "2018-10: athena" in text and not re.search(r"\b775 rows", text)
    assert "contract columns absent (typed nulls): line_item_net_unblended_cost" in text
    assert "savings_plan_savings_plan_a_r_n" in text  # before Savings Plans existed
    assert "tag keys: user_cost_center, user_department, user_name" in text
    assert "vs 2018-10: columns +['product_database_engine']" in text
    assert "tag keys +['user_workload']" in text and "-['user_name']" in text
    assert "numeric columns stored as text" in text and "line_item_unblended_rate" in text
    assert "FINOPS_HISTORY_START=2018-10" in text


def test_inspect_of_an_empty_folder_says_no_export(tmp_path):
    (tmp_path / "empty").mkdir()
    text, ok = inspect_export(str(tmp_path / "empty"), tmp_path / "cache")
    assert not ok and "no export found under" in text
