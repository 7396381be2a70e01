"""Run failures raise an alert through the same outbox and webhook as the insight alerts."""

import dagster as dg

from finops_dagster.alerts import Alert
from finops_dagster.resources import AlertResource


@dg.run_failure_sensor(default_status=dg.DefaultSensorStatus.RUNNING, monitor_all_code_locations=False)
def run_failure_alert_sensor(context: dg.RunFailureSensorContext, alerts: AlertResource) -> None:
    """Posts each failed run once (keyed by run id), naming the job, partitions and error."""
    run = context.dagster_run
    window = run.tags.get("dagster/partition") or "..".join(
        filter(
            None,
            (
                run.tags.get("dagster/asset_partition_range_start"),
                run.tags.get("dagster/asset_partition_range_end"),
            ),
        )
    )
    text = (
        f":rotating_light: finops-dagster run failed: job `{run.job_name}`"
        + (f" for {window}" if window else "")
        + f" (run {run.run_id[:8]})\n"
        + (context.failure_event.message or "")[:500]
    )
    outbox = alerts.outbox()
    state = outbox.record(Alert(f"run_failure:{run.run_id}", "run_failure", text))
    delivered = outbox.deliver_due()  # a few seconds at most; what is left goes on a later tick
    context.log.info(f"run failure alert for {run.run_id}: {state}; delivery {delivered or 'none due'}")
