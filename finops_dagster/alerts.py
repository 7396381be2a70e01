"""Alerts to a Slack-compatible incoming webhook: recorded once, delivered once.

What is guaranteed (docs/reliability.md):
- Every alert has a stable id (a run id, an anomaly key...). ``record`` stores it in the outbox
  (SQLite beside the ledger) once, whatever the number of runs, ticks or restarts.
- Only one process posts a given alert at a time: a delivery first takes a lease on the row
  (an atomic UPDATE); two sensors or two daemons flushing together never post it twice.
- Every post carries ``Idempotency-Key: <alert id>``. A post whose outcome is unknown (timeout or
  connection dropped after the request was sent, or a kill between the POST and "mark sent") is
  retried later with the same key: a receiver that deduplicates on it shows the alert exactly
  once; one that does not may show it twice in that one case, never more.
- Only a 2xx answer is success. A 3xx is not followed (a POST redirected becomes a GET that drops
  the alert) and counts as a failed attempt; 4xx other than 429 is a refusal (``failed`` at
  once, named in the sensor log); 429, 5xx, timeouts and unreachable webhooks are retried across
  ticks with exponential backoff, at most ``max_attempts`` times, then ``failed``.
- One post waits at most ``timeout`` seconds and ``deliver_due`` stops starting posts after
  ``budget_seconds``: a slow webhook cannot hold a sensor tick for long.
- No URL is ever printed whole (``redact``): the webhook's path is its secret.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import socket
import sqlite3
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from finops_dagster.faults import crash_point
from finops_dagster.redact import redact

log = logging.getLogger(__name__)
_COLUMNS = {
    "state": "text not null default 'pending'",
    "attempts": "integer not null default 0",
    "next_attempt_at": "real",
    "lease_owner": "text",
    "lease_until": "real",
    "last_error": "text",
}


class AlertError(Exception):
    """The webhook URL is unusable (no scheme, not http/https)."""


@dataclass(frozen=True)
class Alert:
    alert_id: str
    kind: str  # run_failure, anomaly, auditor, budget
    text: str


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # noqa: ANN002, ANN003 - urllib's signature
        return None  # urllib then raises HTTPError with the 3xx code


_OPENER = urllib.request.build_opener(_NoRedirect)


def check_webhook_url(url: str) -> str:
    if url and not url.startswith(("https://", "http://")):
        raise AlertError(
            f"FINOPS_ALERT_WEBHOOK_URL must start with https:// (got {redact(url)!r} without a scheme)"
        )
    return url


class AlertOutbox:
    def __init__(
        self,
        path: Path,
        webhook_url: str = "",
        max_attempts: int = 6,
        retry_seconds: float = 30.0,
        timeout: float = 3.0,
        budget_seconds: float = 5.0,
        lease_seconds: float = 60.0,
    ) -> None:
        self.path, self.webhook_url = path, check_webhook_url(webhook_url)
        self.lease = max(lease_seconds, timeout + 1)  # a dead holder's lease expires after this
        self.max_attempts, self.retry_seconds = max_attempts, retry_seconds
        self.timeout, self.budget = timeout, budget_seconds
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{id(self)}"
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.execute(
                "create table if not exists alerts (alert_id text primary key, kind text not null, "
                "text text not null, raised_at text not null, sent_at text)"
            )
            have = {r[1] for r in db.execute("pragma table_info(alerts)")}
            for name, decl in _COLUMNS.items():  # outboxes written by an earlier version
                if name not in have:
                    db.execute(f"alter table alerts add column {name} {decl}")
            db.execute("update alerts set state = 'sent' where sent_at is not null and state != 'sent'")

    def _db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30, isolation_level=None)

    def record(self, alert: Alert) -> str:
        """Store the alert once: 'new', or its current state ('sent', 'pending', 'unknown', ...)."""
        with self._db() as db:
            cur = db.execute(
                "insert or ignore into alerts (alert_id, kind, text, raised_at) values (?, ?, ?, ?)",
                (alert.alert_id, alert.kind, alert.text, dt.datetime.now(dt.UTC).isoformat()),
            )
            if cur.rowcount:
                return "new"
            return db.execute("select state from alerts where alert_id = ?", (alert.alert_id,)).fetchone()[0]

    def raise_alert(self, alert: Alert) -> str:
        """Record and try to deliver now: 'sent', 'duplicate' (sent before), 'pending' (no webhook,
        or another process holds it), 'unknown' / 'retry' (a later tick retries) or 'failed'."""
        if self.record(alert) == "sent":
            return "duplicate"
        if not self.webhook_url:
            return "pending"
        return self._deliver(alert.alert_id) or "pending"

    def pending(self) -> list[Alert]:
        with self._db() as db:
            rows = db.execute(
                "select alert_id, kind, text from alerts where sent_at is null order by raised_at"
            ).fetchall()
        return [Alert(*r) for r in rows]

    def states(self) -> dict[str, str]:
        with self._db() as db:
            return dict(db.execute("select alert_id, state from alerts order by raised_at").fetchall())

    def deliver_due(self, budget_seconds: float | None = None) -> dict[str, int]:
        """Post the alerts whose turn has come (new, or retry time reached), until the time budget
        is spent; what is left waits for the next tick. Returns counts per outcome."""
        counts: dict[str, int] = {}
        if not self.webhook_url:
            return counts
        deadline = time.monotonic() + (self.budget if budget_seconds is None else budget_seconds)
        with self._db() as db:
            due = [
                r[0]
                for r in db.execute(
                    "select alert_id from alerts where sent_at is null and state != 'failed' and "
                    "(next_attempt_at is null or next_attempt_at <= ?) order by raised_at",
                    (time.time(),),
                )
            ]
        for alert_id in due:
            if time.monotonic() >= deadline:
                counts["deferred"] = counts.get("deferred", 0) + 1
                continue
            outcome = self._deliver(alert_id)
            if outcome:
                counts[outcome] = counts.get(outcome, 0) + 1
        return counts

    def flush(self) -> int:
        """Deliver every due alert (after an outage or once a webhook is configured)."""
        return self.deliver_due(budget_seconds=3600).get("sent", 0)

    def _deliver(self, alert_id: str) -> str | None:
        """One attempt under a lease; None when the alert is not ours to post now."""
        now = time.time()
        with self._db() as db:
            claimed = db.execute(
                "update alerts set lease_owner = ?, lease_until = ? where alert_id = ? and sent_at is null "
                "and state != 'failed' and (lease_until is null or lease_until < ?) "
                "and (next_attempt_at is null or next_attempt_at <= ?)",
                (self.owner, now + self.lease, alert_id, now, now),
            ).rowcount
            if not claimed:
                return None
            text, attempts = db.execute(
                "select text, attempts from alerts where alert_id = ?", (alert_id,)
            ).fetchone()
        outcome, error = self._post(alert_id, text)
        crash_point("alert:after_post")
        attempts += 1
        with self._db() as db:
            if outcome == "sent":
                db.execute(
                    "update alerts set state = 'sent', sent_at = ?, attempts = ?, lease_owner = null, "
                    "lease_until = null, last_error = null where alert_id = ?",
                    (dt.datetime.now(dt.UTC).isoformat(), attempts, alert_id),
                )
                return "sent"
            if outcome != "failed" and attempts >= self.max_attempts:
                outcome, error = "failed", f"gave up after {attempts} attempts; last: {error}"
            wait = self.retry_seconds * 2 ** (attempts - 1)
            db.execute(
                "update alerts set state = ?, attempts = ?, next_attempt_at = ?, lease_owner = null, "
                "lease_until = null, last_error = ? where alert_id = ?",
                (outcome, attempts, time.time() + wait, error, alert_id),
            )
        log.warning("alert %s: %s (%s)", alert_id, outcome, error)
        return outcome

    def _post(self, alert_id: str, text: str) -> tuple[str, str]:
        """('sent' | 'unknown' | 'retry' | 'failed', error)."""
        req = urllib.request.Request(
            self.webhook_url,
            data=json.dumps({"text": text}).encode(),
            method="POST",
            headers={"Content-Type": "application/json", "Idempotency-Key": alert_id},
        )
        try:
            with _OPENER.open(req, timeout=self.timeout) as resp:
                resp.read()
                return "sent", ""
        except urllib.error.HTTPError as exc:
            what = f"HTTP {exc.code}"
            if 300 <= exc.code < 400:
                return "retry", f"{what}: a redirect is not delivery (not followed; fix the webhook URL)"
            if 400 <= exc.code < 500 and exc.code != 429:
                return "failed", f"{what}: the webhook refused the alert"
            return "retry", what
        except TimeoutError as exc:
            return "unknown", f"no answer within {self.timeout:g} s ({exc}); the post may have arrived"
        except urllib.error.URLError as exc:
            reason = exc.reason
            if isinstance(reason, TimeoutError | socket.timeout):
                return "unknown", f"no answer within {self.timeout:g} s; the post may have arrived"
            if isinstance(reason, ConnectionRefusedError | socket.gaierror):
                return "retry", f"webhook unreachable: {redact(str(reason))}"
            return "unknown", f"connection failed after sending: {redact(str(reason))}"
        except (ConnectionError, OSError) as exc:  # dropped after the request went out
            return "unknown", f"connection dropped: {redact(str(exc))}"
