"""Posts the insight alerts (anomalies, open billing discrepancies, budget breaches) to the
webhook through the same exactly-once outbox as run failure alerts."""

import dagster as dg
import polars as pl

from finops_dagster.alerts import Alert
from finops_dagster.resources import AlertResource, LakeResource


@dg.sensor(
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Records each new row of insight_alerts once in the outbox (ids are stable across "
    "runs and restarts), then posts what is due within a few seconds; alerts whose "
    "post failed or timed out are retried on later ticks.",
)
def insight_alert_sensor(
    context: dg.SensorEvaluationContext, lake: LakeResource, alerts: AlertResource
) -> dg.SkipReason:
    path = lake.exports_dir / "insight_alerts.parquet"
    outbox = alerts.outbox()
    stamp = str(path.stat().st_mtime_ns) if path.exists() else ""
    counts: dict[str, int] = {}
    if stamp and stamp != context.cursor:
        for row in pl.read_parquet(path).iter_rows(named=True):
            state = outbox.record(Alert(row["alert_id"], row["kind"], row["text"]))
            key = "recorded" if state == "new" else "known"
            counts[key] = counts.get(key, 0) + 1
        context.update_cursor(stamp)
    for outcome, n in outbox.deliver_due().items():
        counts[outcome] = counts.get(outcome, 0) + n
        if outcome in ("failed", "unknown", "retry"):
            context.log.warning(f"{n} alert(s) {outcome}; see data/alerts.sqlite (last_error)")
    return dg.SkipReason(", ".join(f"{v} {k}" for k, v in counts.items()) or "no alert due")
