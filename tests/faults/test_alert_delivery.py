"""Alerts arrive exactly once at a deduplicating receiver whatever the webhook does: slow,
dropping the connection after processing, redirecting, two processes flushing together, or the
poster killed between POST and "mark sent" (issue 14, F7)."""

from __future__ import annotations

import threading
import time

from finops_dagster.alerts import Alert, AlertOutbox
from tests.alerts.receiver import webhook_receiver
from tests.faults.conftest import run_child


def _outbox(tmp_path, url, **kw) -> AlertOutbox:
    return AlertOutbox(tmp_path / "alerts.sqlite", url, retry_seconds=0, **kw)


def test_a_slow_webhook_is_unknown_then_retried_with_the_same_key(tmp_path):
    with webhook_receiver() as hook:
        hook.mode, hook.slow_seconds = "slow", 3
        outbox = _outbox(tmp_path, hook.url, timeout=0.5)
        started = time.monotonic()
        assert outbox.raise_alert(Alert("s1", "anomaly", "spike")) == "unknown"
        assert time.monotonic() - started < 2  # the client gave up after its timeout
        hook.mode = "ok"
        assert outbox.deliver_due() == {"sent": 1}
        assert len(hook.received) == 2 and hook.keys == ["s1", "s1"]
        assert list(hook.shown) == ["s1"]


def test_a_slow_webhook_never_holds_a_tick_for_long(tmp_path):
    with webhook_receiver() as hook:
        hook.mode, hook.slow_seconds = "slow", 5
        outbox = _outbox(tmp_path, hook.url, timeout=0.5, budget_seconds=1.5)
        for i in range(10):
            outbox.record(Alert(f"t{i}", "anomaly", f"alert {i}"))
        started = time.monotonic()
        counts = outbox.deliver_due()
        assert time.monotonic() - started < 3
        assert counts["unknown"] in (3, 4) and counts["deferred"] == 10 - counts["unknown"]


def test_a_dropped_connection_after_processing_is_shown_once(tmp_path):
    with webhook_receiver() as hook:
        hook.mode = "drop"
        outbox = _outbox(tmp_path, hook.url)
        assert outbox.raise_alert(Alert("d1", "budget", "over")) == "unknown"
        hook.mode = "ok"
        assert outbox.deliver_due() == {"sent": 1}
        assert list(hook.shown) == ["d1"] and outbox.states() == {"d1": "sent"}


def test_a_redirect_is_not_delivery(tmp_path):
    with webhook_receiver() as hook:
        hook.mode = "redirect"
        outbox = _outbox(tmp_path, hook.url)
        assert outbox.raise_alert(Alert("r1", "auditor", "unbilled")) == "retry"
        assert hook.received == [] and outbox.states() == {"r1": "retry"}
        hook.mode = "ok"
        assert outbox.deliver_due() == {"sent": 1}
        assert list(hook.shown) == ["r1"] and len(hook.received) == 1


def test_a_refusal_fails_at_once_and_is_not_retried(tmp_path):
    with webhook_receiver() as hook:
        hook.mode = "refuse"
        outbox = _outbox(tmp_path, hook.url)
        assert outbox.raise_alert(Alert("x1", "auditor", "bad payload")) == "failed"
        assert outbox.deliver_due() == {} and hook.attempts == 1


def test_two_processes_flushing_together_post_each_alert_once(tmp_path):
    with webhook_receiver() as hook:
        hook.mode, hook.slow_seconds = "slow", 0.05
        first = _outbox(tmp_path, hook.url, budget_seconds=60)
        for i in range(30):
            first.record(Alert(f"c{i}", "anomaly", f"alert {i}"))
        second = _outbox(tmp_path, hook.url, budget_seconds=60)  # another daemon, same outbox
        results = []
        threads = [
            threading.Thread(target=lambda o=o: results.append(o.deliver_due())) for o in (first, second)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sum(r.get("sent", 0) for r in results) == 30
        assert len(hook.received) == 30 and len(set(hook.keys)) == 30


def test_killed_between_post_and_mark_sent_the_retry_is_deduplicated(tmp_path):
    with webhook_receiver() as hook:
        code = (
            f"from pathlib import Path\nfrom finops_dagster.alerts import Alert, AlertOutbox\n"
            f"AlertOutbox(Path({str(tmp_path / 'alerts.sqlite')!r}), {hook.url!r}, timeout=1, "
            f"lease_seconds=2).raise_alert(Alert('k1', 'anomaly', 'spike'))\n"
        )
        proc = run_child(code, "alert:after_post")
        assert proc.returncode == -9, proc.stderr[-2000:]
        assert hook.keys == ["k1"]  # posted, never marked sent
        outbox = _outbox(tmp_path, hook.url, timeout=1, lease_seconds=2)
        assert outbox.deliver_due() == {}  # the dead poster's lease still holds
        time.sleep(2.2)
        assert outbox.deliver_due() == {"sent": 1}
        assert hook.keys == ["k1", "k1"] and list(hook.shown) == ["k1"]
        assert outbox.deliver_due() == {}
