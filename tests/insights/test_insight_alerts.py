"""Insight alerts: exactly the planted ones, visible as metadata without a webhook, and posted by
the sensor once each across ticks and restarts, with retries."""

import dagster as dg
import polars as pl

from finops_dagster.defs.insights.sensors import insight_alert_sensor
from finops_dagster.demo.run import planted_alerts
from finops_dagster.resources import AlertResource, LakeResource
from tests.alerts.receiver import webhook_receiver


def test_the_alerts_are_exactly_the_planted_ones_and_visible_as_metadata(pipeline):
    settings, instance, *_ = pipeline
    alerts = pl.read_parquet(settings.data_dir / "exports" / "insight_alerts.parquet")
    assert set(alerts["alert_id"]) == set(planted_alerts())
    assert sorted(alerts["kind"]) == ["anomaly", "auditor", "budget"]
    event = instance.get_latest_materialization_event(dg.AssetKey("insight_alerts"))
    meta = event.asset_materialization.metadata
    assert (
        meta["alerts"].value,
        meta["audit_candidates"].value,
        meta["audit_auto_resolved"].value,
        meta["audit_open"].value,
    ) == (3, 9, 8, 1)
    assert "WriteRequestUnits" in meta["alert_texts"].value


def _tick(settings, outbox_path, url: str, cursor: str | None = None) -> tuple[dg.SkipReason, str]:
    context = dg.build_sensor_context(
        cursor=cursor,
        resources={
            "lake": LakeResource(data_dir=str(settings.data_dir)),
            "alerts": AlertResource(webhook_url=url, outbox_path=str(outbox_path), retry_seconds=0),
        },
    )
    return insight_alert_sensor(context), context.cursor


def test_the_sensor_posts_each_alert_once_across_ticks_and_restarts(pipeline, tmp_path):
    settings, *_ = pipeline
    outbox = tmp_path / "alerts.sqlite"
    with webhook_receiver() as hook:
        hook.fail_next = 2  # the webhook is down for the first two attempts: retried next tick
        skip, cursor = _tick(settings, outbox, hook.url)
        assert skip.skip_message == "3 recorded, 2 retry, 1 sent" and len(hook.received) == 1
        skip, _ = _tick(settings, outbox, hook.url, cursor)  # the next tick: the retries go out
        assert skip.skip_message == "2 sent" and len(hook.received) == 3
        skip, _ = _tick(settings, outbox, hook.url)  # a restarted daemon without its cursor
        assert skip.skip_message == "3 known" and len(hook.received) == 3
        assert len(set(hook.keys)) == 3
    texts = [p["text"] for p in hook.received]
    assert any("critical cost increase from 2026-10-26" in t for t in texts)
    assert any("unbilled_usage" in t and "$52.50 of usage never billed" in t for t in texts)
    assert any("budget account 111111111111 2026-11" in t for t in texts)


def test_without_a_webhook_alerts_wait_and_are_sent_once_one_is_configured(pipeline, tmp_path):
    settings, *_ = pipeline
    outbox = tmp_path / "alerts.sqlite"
    skip, cursor = _tick(settings, outbox, "")
    assert skip.skip_message == "3 recorded"
    with webhook_receiver() as hook:
        _tick(settings, outbox, hook.url, cursor)  # same file: flushes what is pending
        _tick(settings, outbox, hook.url, cursor)
        assert len(hook.received) == 3
