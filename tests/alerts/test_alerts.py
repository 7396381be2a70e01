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


def test_each_alert_is_delivered_once_with_retries_across_ticks(tmp_path):
    with webhook_receiver() as hook:
        hook.fail_next = 2  # the webhook is down for two attempts
        outbox = AlertOutbox(tmp_path / "alerts.sqlite", hook.url, retry_seconds=0)
        assert outbox.raise_alert(Alert("a1", "anomaly", "EC2 up $4,000")) == "retry"
        assert outbox.deliver_due() == {"retry": 1}  # the next tick
        assert outbox.deliver_due() == {"sent": 1}
        assert hook.attempts == 3 and hook.received == [{"text": "EC2 up $4,000"}]
        assert hook.keys == ["a1"]  # the idempotency key is the alert id
        restarted = AlertOutbox(tmp_path / "alerts.sqlite", hook.url)  # a new process
        assert restarted.raise_alert(Alert("a1", "anomaly", "EC2 up $4,000")) == "duplicate"
        assert restarted.deliver_due() == {}
        assert len(hook.received) == 1


def test_without_a_webhook_alerts_wait_in_the_outbox(tmp_path):
    outbox = AlertOutbox(tmp_path / "alerts.sqlite")
    assert outbox.raise_alert(Alert("b1", "budget", "dev over budget")) == "pending"
    assert [a.alert_id for a in outbox.pending()] == ["b1"]
    with webhook_receiver() as hook:
        assert AlertOutbox(tmp_path / "alerts.sqlite", hook.url).flush() == 1
        assert hook.received == [{"text": "dev over budget"}]
    assert outbox.pending() == []


def test_an_unreachable_webhook_is_retried_a_bounded_number_of_times(tmp_path):
    outbox = AlertOutbox(
        tmp_path / "alerts.sqlite",
        "http://127.0.0.1:9/services/T0/B0/SECRET",
        max_attempts=3,
        retry_seconds=0,
    )
    assert outbox.raise_alert(Alert("c1", "auditor", "unbilled usage")) == "retry"
    assert outbox.deliver_due() == {"retry": 1}
    assert outbox.deliver_due() == {"failed": 1}
    assert outbox.deliver_due() == {}  # given up: no tight loop, the alert stays visible
    assert [a.alert_id for a in outbox.pending()] == ["c1"]
    with outbox._db() as db:  # noqa: SLF001
        (error,) = db.execute("select last_error from alerts").fetchone()
    assert "gave up after 3 attempts" in error and "SECRET" not in error


def test_a_webhook_url_without_scheme_is_refused_without_printing_it(tmp_path):
    with pytest.raises(AlertError, match="must start with https://") as err:
        AlertOutbox(tmp_path / "alerts.sqlite", "hooks.slack.com/services/T0/B0/SECRET")
    assert "SECRET" not in str(err.value)


def test_a_failed_run_alerts_once(tmp_path, demo):
    settings = Settings(data_dir=tmp_path, cur_export_url=demo["export_root"], as_of="2026-10-31")
    with dg.instance_for_test() as instance, webhook_receiver() as hook:
        defs = build_definitions(settings)  # while the instance is alive (definitions resolve it)
        result = defs.resolve_job_def("cur_ingest_job").execute_in_process(
            instance=instance, partition_key="2026-11-02", raise_on_error=False
        )
        assert not result.success
        alerts = AlertResource(webhook_url=hook.url, outbox_path=str(tmp_path / "alerts.sqlite"))
        for _ in range(2):  # a second tick (or a restarted daemon) sees the same failure
            context = dg.build_run_status_sensor_context(
                sensor_name="run_failure_alert_sensor",
                dagster_instance=instance,
                dagster_run=result.dagster_run,
                dagster_event=result.get_run_failure_event(),
                resources={"alerts": alerts},
            ).for_run_failure()
            run_failure_alert_sensor(context)
        (post,) = hook.received
        assert "job `cur_ingest_job` for 2026-11-02" in post["text"]
        assert result.run_id[:8] in post["text"]
