"""An engineer's backfill, as they do it: the Dagster UI in headless Chromium launches a 3-day
backfill of the cost assets from the partitions page; the daemon runs it; the days show
materialized with their checks. The instance stores everything in PostgreSQL (the local
server), and after the UI and daemon stop, a new instance finds the whole history."""

import dagster as dg
from playwright.sync_api import sync_playwright

from finops_dagster.instance import PG_URL_ENV
from finops_dagster.settings import PROJECT_ROOT
from tests.ui.server import dagster_dev, ensure_chromium
from tests.waiting import wait_for

DAYS = ["2026-09-16", "2026-09-17", "2026-09-18"]
ASSET = dg.AssetKey("fct_daily_cost")


def test_backfill_three_days_from_the_partitions_page(pipeline, pg_database, tmp_path, monkeypatch):
    settings, *_ = pipeline
    monkeypatch.setenv(PG_URL_ENV, pg_database)
    home = tmp_path / "dagster_home"  # a fresh instance: no history yet
    env = {
        "FINOPS_AS_OF": "2026-10-31",
        "FINOPS_CUR_EXPORT_URL": settings.cur_export_url,
        PG_URL_ENV: pg_database,
    }
    with dagster_dev(settings.data_dir, home, env) as url:
        backfill_id = _backfill_in_the_ui(url, home)
    with dg.DagsterInstance.from_config(str(home)) as restarted:  # UI and daemon are gone
        assert type(restarted.run_storage).__name__ == "PostgresRunStorage"
        assert restarted.get_backfill(backfill_id).status.value in ("COMPLETED", "COMPLETED_SUCCESS")
        assert restarted.get_materialized_partitions(ASSET) == set(DAYS)
        assert len(restarted.get_run_records()) >= 1


def _backfill_in_the_ui(url: str, home) -> str:
    shots = PROJECT_ROOT / "test-artifacts"  # screenshots kept for a look after the run (gitignored)
    shots.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=ensure_chromium(), headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(f"{url}/assets/fct_daily_cost?view=partitions")
        skip = page.get_by_role("button", name="Skip")  # the first-visit community dialog
        skip.click(timeout=30_000)
        page.get_by_role("button", name="Materialize…").click()
        confirm = page.get_by_role("button", name="Confirm")  # "upstream not materialized yet"
        try:
            confirm.click(timeout=5_000)
        except Exception:  # noqa: BLE001 - the warning only shows on an instance without history
            pass
        dialog = page.get_by_role("dialog")
        dialog.get_by_role("button", name="Show all partitions").click()
        selection = dialog.locator("input").first
        selection.fill(f"[{DAYS[0]}...{DAYS[-1]}]")
        selection.press("Enter")
        dialog.get_by_text("3 partitions").wait_for(timeout=10_000)
        page.screenshot(path=str(shots / "backfill_launch_dialog.png"))
        dialog.get_by_role("button", name="Launch backfill").click()
        dialog.wait_for(state="hidden", timeout=30_000)

        with dg.DagsterInstance.from_config(str(home)) as instance:
            wait_for(instance.get_backfills, 60, "the backfill to be created", every=2)
            page.screenshot(path=str(shots / "backfill_launched.png"))

            def done():
                backfills = instance.get_backfills()
                return backfills and backfills[0].status.value in (
                    "COMPLETED",
                    "COMPLETED_SUCCESS",
                    "COMPLETED_FAILED",
                    "FAILED",
                )

            wait_for(done, 420, "the backfill to finish", every=2)
            backfill = instance.get_backfills()[0]
            assert backfill.status.value in ("COMPLETED", "COMPLETED_SUCCESS"), backfill.status
            assert instance.get_materialized_partitions(ASSET) == set(DAYS)
            check = dg.AssetCheckKey(ASSET, "fct_daily_cost_conservation")
            status = {
                i.partition_key: i.latest_execution_status.value
                for i in instance.event_log_storage.get_asset_check_partition_info([check])
                if i.partition_key
            }
            assert status == dict.fromkeys(DAYS, "SUCCEEDED")
            backfill_id = backfill.backfill_id

        page.goto(f"{url}/assets/fct_daily_cost?view=partitions")
        page.get_by_text("Materialized (3)").wait_for(timeout=30_000)
        page.screenshot(path=str(shots / "backfill_partitions_materialized.png"), full_page=True)
        browser.close()
    assert (shots / "backfill_partitions_materialized.png").stat().st_size > 10_000
    return backfill_id
