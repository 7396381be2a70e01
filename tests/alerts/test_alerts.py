"""Alerts reach a Slack-compatible webhook exactly once, with retries, and wait in the outbox
when no webhook is configured; a failed run raises one."""

import dagster as dg
import pytest

from finops_dagster.alerts import Alert, AlertError, AlertOutbox
from finops_dagster.definitions import build_definitions
from finops_dagster.defs.alerts.sensors import run_failure_alert_sensor
from finops_dagster.resources import AlertResource
from finops_dagster.settings import Settings
from tests.alerts.receiver import webhook_receiver


def test_each_alert_is_delivered_once_with_retries(tmp_path):
    with webhook_receiver() as hook:
        hook.fail_next = 2  # the webhook is down for two attempts
        outbox = AlertOutbox(tmp_path / "alerts.sqlite", hook.url, backoff_seconds=0.01)
        assert outbox.raise_alert(Alert("a1", "anomaly", "EC2 up $4,000")) == "sent"
        assert hook.attempts == 3 and hook.received == [{"text": "EC2 up $4,000"}]
        restarted = AlertOutbox(tmp_path / "alerts.sqlite", hook.url)  # a new process
        assert restarted.raise_alert(Alert("a1", "anomaly", "EC2 up $4,000")) == "duplicate"
        assert len(hook.received) == 1


def test_without_a_webhook_alerts_wait_in_the_outbox(tmp_path):
    outbox = AlertOutbox(tmp_path / "alerts.sqlite")
    assert outbox.raise_alert(Alert("b1", "budget", "dev over budget")) == "pending"
    assert [a.alert_id for a in outbox.pending()] == ["b1"]
    with webhook_receiver() as hook:
        assert AlertOutbox(tmp_path / "alerts.sqlite", hook.url).flush() == 1
        assert hook.received == [{"text": "dev over budget"}]
    assert outbox.pending() == []


def test_a_refusing_webhook_is_a_clear_error_and_the_alert_stays_pending(tmp_path):
    outbox = AlertOutbox(tmp_path / "alerts.sqlite", "http://127.0.0.1:9/unreachable", max_attempts=2,
                         backoff_seconds=0.01)
    with pytest.raises(AlertError, match="unreachable for alert c1 after 2 attempts"):
        outbox.raise_alert(Alert("c1", "auditor", "unbilled usage"))
    assert [a.alert_id for a in outbox.pending()] == ["c1"]


def test_a_failed_run_alerts_once(tmp_path, demo):
    settings = Settings(data_dir=tmp_path, cur_export_url=demo["export_root"], as_of="2026-10-31")
    with dg.instance_for_test() as instance, webhook_receiver() as hook:
        defs = build_definitions(settings)  # while the instance is alive (definitions resolve it)
        result = defs.resolve_job_def("cur_ingest_job").execute_in_process(
            instance=instance, partition_key="2026-11-02", raise_on_error=False)
        assert not result.success
        alerts = AlertResource(webhook_url=hook.url, outbox_path=str(tmp_path / "alerts.sqlite"))
        for _ in range(2):  # a second tick (or a restarted daemon) sees the same failure
            context = dg.build_run_status_sensor_context(
                sensor_name="run_failure_alert_sensor", dagster_instance=instance,
                dagster_run=result.dagster_run, dagster_event=result.get_run_failure_event(),
                resources={"alerts": alerts}).for_run_failure()
            run_failure_alert_sensor(context)
        (post,) = hook.received
        assert "job `cur_ingest_job` for 2026-11-02" in post["text"]
        assert result.run_id[:8] in post["text"]
