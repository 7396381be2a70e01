"""The one partitioning of the platform: a UTC usage day.

A billing period (month) is a range of day partitions. The start is a constant, not an
environment variable, because partitions are part of the asset graph's identity: changing it
changes which partitions exist for every asset.
"""

import dagster as dg

PARTITION_START = "2026-08-01"

daily_partitions = dg.DailyPartitionsDefinition(
    start_date=PARTITION_START, timezone="UTC", end_offset=1  # today's partition exists
)
