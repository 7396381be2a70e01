"""Posts the insight alerts (anomalies, open billing discrepancies, budget breaches) to the
webhook through the same exactly-once outbox as run failure alerts."""

import dagster as dg
import polars as pl

from finops_dagster.alerts import Alert, AlertError
from finops_dagster.resources import AlertResource, LakeResource


@dg.sensor(minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Posts each new row of insight_alerts once (ids are stable across runs and "
                       "restarts) and retries alerts left pending by an unreachable webhook.")
def insight_alert_sensor(context: dg.SensorEvaluationContext, lake: LakeResource,
                         alerts: AlertResource) -> dg.SkipReason:
    path = lake.exports_dir / "insight_alerts.parquet"
    outbox = alerts.outbox()
    stamp = str(path.stat().st_mtime_ns) if path.exists() else ""
    counts = {"sent": 0, "duplicate": 0, "pending": 0, "failed": 0}
    if stamp and stamp != context.cursor:
        for row in pl.read_parquet(path).iter_rows(named=True):
            try:
                counts[outbox.raise_alert(Alert(row["alert_id"], row["kind"], row["text"]))] += 1
            except AlertError as exc:  # stays pending in the outbox; the next tick retries
                context.log.warning(str(exc))
                counts["failed"] += 1
        if not counts["failed"]:
            context.update_cursor(stamp)
    elif outbox.webhook_url and outbox.pending():
        try:
            counts["sent"] += outbox.flush()
        except AlertError as exc:
            context.log.warning(str(exc))
            counts["failed"] += 1
    return dg.SkipReason(", ".join(f"{v} {k}" for k, v in counts.items()) + " alert(s)")
