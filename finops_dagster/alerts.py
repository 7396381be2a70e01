"""Alerts to a Slack-compatible incoming webhook, each delivered exactly once.

Every alert has a stable id (a run id, an anomaly key...). The outbox (SQLite beside the
ledger) records each alert when it is raised and marks it sent once the webhook answered 2xx,
so a restart, a re-run or a second sensor tick never posts it twice, and an alert raised while
the webhook was down or unconfigured stays visible (and is sent by the next ``flush``).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sqlite3
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)


class AlertError(Exception):
    """An alert was not delivered: the webhook refused it (a 4xx other than 429: a wrong URL or
    payload, not retried) or stayed unreachable through every retry. It stays pending."""


@dataclass(frozen=True)
class Alert:
    alert_id: str
    kind: str  # run_failure, anomaly, auditor, budget
    text: str


class AlertOutbox:
    def __init__(self, path: Path, webhook_url: str = "", max_attempts: int = 4,
                 backoff_seconds: float = 0.5, timeout: float = 10.0) -> None:
        self.path, self.webhook_url = path, webhook_url
        self.max_attempts, self.backoff, self.timeout = max_attempts, backoff_seconds, timeout
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.execute("create table if not exists alerts (alert_id text primary key, kind text not null, "
                       "text text not null, raised_at text not null, sent_at text)")

    def _db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30)

    def raise_alert(self, alert: Alert) -> str:
        """Record the alert and deliver it: 'sent', 'duplicate' (already sent), or 'pending'
        (no webhook configured; kept in the outbox)."""
        now = dt.datetime.now(dt.UTC).isoformat()
        with self._db() as db:
            db.execute("insert or ignore into alerts (alert_id, kind, text, raised_at) values (?, ?, ?, ?)",
                       (alert.alert_id, alert.kind, alert.text, now))
            sent = db.execute("select sent_at from alerts where alert_id = ?",
                              (alert.alert_id,)).fetchone()[0]
        if sent:
            return "duplicate"
        if not self.webhook_url:
            return "pending"
        self._post(alert)
        with self._db() as db:
            db.execute("update alerts set sent_at = ? where alert_id = ?",
                       (dt.datetime.now(dt.UTC).isoformat(), alert.alert_id))
        return "sent"

    def pending(self) -> list[Alert]:
        with self._db() as db:
            rows = db.execute("select alert_id, kind, text from alerts where sent_at is null "
                              "order by raised_at").fetchall()
        return [Alert(*r) for r in rows]

    def flush(self) -> int:
        """Send every pending alert (after an outage or once a webhook is configured)."""
        return sum(self.raise_alert(a) == "sent" for a in self.pending())

    def _post(self, alert: Alert) -> None:
        body = json.dumps({"text": alert.text}).encode()
        for attempt in range(1, self.max_attempts + 1):
            req = urllib.request.Request(self.webhook_url, data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(req, timeout=self.timeout):
                    return
            except urllib.error.HTTPError as exc:
                if 400 <= exc.code < 500 and exc.code != 429:
                    raise AlertError(f"webhook refused alert {alert.alert_id}: HTTP {exc.code}") from exc
                error: Exception = exc
            except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
                error = exc
            if attempt == self.max_attempts:
                raise AlertError(f"webhook unreachable for alert {alert.alert_id} after "
                                 f"{attempt} attempts: {error}") from error
            log.warning("alert %s: attempt %d failed (%s), retrying", alert.alert_id, attempt, error)
            time.sleep(self.backoff * 2 ** (attempt - 1))
