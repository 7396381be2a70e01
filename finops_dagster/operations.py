"""Running the platform's jobs from Python: the CLI's ``sync`` and the demo use these."""

from __future__ import annotations

import dagster as dg

from finops_dagster.lake.cur_sync import PeriodStatus, day_ranges


def range_tags(first: str, last: str) -> dict[str, str]:
    return {"dagster/asset_partition_range_start": first,
            "dagster/asset_partition_range_end": last}


def run_job(defs: dg.Definitions, instance: dg.DagsterInstance, job: str,
            tags: dict[str, str] | None = None) -> dg.ExecuteInProcessResult:
    return defs.resolve_job_def(job).execute_in_process(
        instance=instance, tags=tags or {}, raise_on_error=False)


def cur_sync_plan(defs: dg.Definitions) -> list[PeriodStatus]:
    from finops_dagster.lake.cur_sync import sync_plan

    cur, lake = defs.resources["cur"], defs.resources["lake"]
    return sync_plan(cur.export(), lake.ledger(), cur.history_start, cur.as_of_date())


def run_cur_sync(defs: dg.Definitions, instance: dg.DagsterInstance
                 ) -> list[tuple[PeriodStatus, dg.ExecuteInProcessResult]]:
    """What the sensor does, synchronously: one cur_refresh_job run per contiguous day range
    of every new, restated or incomplete billing period."""
    done = []
    for period in cur_sync_plan(defs):
        for first, last in day_ranges(list(period.days_to_ingest)):
            done.append((period, run_job(defs, instance, "cur_refresh_job",
                                         range_tags(first.isoformat(), last.isoformat()))))
    return done
