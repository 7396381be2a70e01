"""``python -m finops_dagster.demo.moto_launcher -H host -p port``: moto's server, with an
indexed GetMetricData.

moto answers each metric query by looping over every period of the window and scanning every
datapoint in it, so a day of 1-minute periods over the demo's metrics takes minutes. This
launcher replaces that loop, for metric-stat queries only, with one pass that indexes the
datapoints by metric and buckets them by period; results (statistics, timestamps, labels)
are the same. Everything else is moto, over real HTTP.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from moto.cloudwatch import models

_original = models.CloudWatchBackend.get_metric_data


def _key(dimensions: Any) -> tuple:
    return tuple(sorted((d.name, d.value) for d in dimensions))


def get_metric_data(
    self,
    queries: list[dict[str, Any]],
    start_time: datetime,
    end_time: datetime,
    scan_by: str = "TimestampAscending",
) -> list[dict]:
    if any("MetricStat" not in q for q in queries) or start_time >= end_time:
        return _original(self, queries, start_time, end_time, scan_by)
    start_time, end_time = start_time.replace(microsecond=0), end_time.replace(microsecond=0)
    by_metric: dict[tuple, dict[tuple, list]] = defaultdict(lambda: defaultdict(list))
    for md in self.get_all_metrics():
        if start_time <= md.timestamp < end_time:
            by_metric[(md.namespace, md.name)][_key(md.dimensions)].append(md)
    results = []
    for query in queries:
        stat_def = query["MetricStat"]
        metric, stat, unit = stat_def["Metric"], stat_def["Stat"], stat_def.get("Unit")
        period = int(stat_def["Period"])
        series = by_metric.get((metric["Namespace"], metric["MetricName"]), {})
        dims = tuple(sorted((d["Name"], d["Value"]) for d in metric.get("Dimensions", [])))
        data = series.get(dims, []) if dims else [md for mds in series.values() for md in mds]
        buckets: dict[int, list] = defaultdict(list)
        for md in data:
            if not unit or md.unit == unit:
                buckets[int((md.timestamp - start_time).total_seconds() // period)].append(md)
        values, stamps = [], []
        for k in sorted(buckets, reverse=scan_by == "TimestampDescending"):
            stats = models.Statistics([stat], start_time + timedelta(seconds=k * period))
            stats.metric_data = buckets[k]
            values.append(stats.get_statistics_for_type(stat))
            stamps.append(stats.timestamp)
        if query.get("ReturnData", True):
            results.append(
                {
                    "id": query["Id"],
                    "values": values,
                    "timestamps": stamps,
                    "label": query.get("Label") or f"{metric['MetricName']} {stat}",
                    "status_code": "Complete",
                }
            )
    return results


def main(argv: list[str]) -> None:
    from moto.server import main as moto_main

    models.CloudWatchBackend.get_metric_data = get_metric_data
    moto_main(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
