"""The demo's CloudWatch metrics, put into a (moto) CloudWatch endpoint with PutMetricData."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import polars as pl

from finops_dagster.demo import catalog as C


def cpu_series(name: str, start: dt.date, end: dt.date, seed: int = 42) -> pl.DataFrame:
    """Hourly CPU % for one instance over [start, end], deterministic for the seed."""
    pattern, level = C.CPU_PROFILES.get(name.split("-copy")[0], C.DEFAULT_CPU_PROFILE)
    hours = pl.datetime_range(
        dt.datetime.combine(start, dt.time()), dt.datetime.combine(end, dt.time(23)), "1h", eager=True
    )
    hod = hours.dt.hour().to_numpy()
    rng = np.random.default_rng(sum(map(ord, name)) + seed)  # str hash() is salted per process
    noise = rng.normal(0, 0.5, len(hours))
    if pattern == "idle":
        values = level + noise * 0.5
    elif pattern == "business_hours":
        weekday = (hours.dt.weekday() <= 5).to_numpy()  # 1 = Monday .. 7 = Sunday
        on = (hod >= 9) & (hod < 17) & weekday
        values = np.where(on, level + noise * 4, 0.5 + np.abs(noise) * 0.2)
    elif pattern == "steady":
        values = level + noise
    else:
        values = level + 15 * np.sin((hod - 6) / 24 * 2 * np.pi) + noise * 3
    return pl.DataFrame({"timestamp": hours, "value": np.clip(values, 0.0, 100.0).round(3)})


def put_demo_metrics(client: Any, fleet: pl.DataFrame, start: dt.date, end: dt.date, seed: int = 42) -> int:
    """EC2 CPU and network hourly per instance, one daily value for each other namespace."""
    data: list[dict] = []
    for name, instance_id in fleet.select("name", "resource_id").iter_rows():
        series = cpu_series(name, start, end, seed)
        dims = [{"Name": "InstanceId", "Value": instance_id}]
        for ts, value in series.iter_rows():
            data.append(
                {
                    "MetricName": "CPUUtilization",
                    "Dimensions": dims,
                    "Timestamp": ts,
                    "Value": value,
                    "Unit": "Percent",
                    "_ns": "AWS/EC2",
                }
            )
            data.append(
                {
                    "MetricName": "NetworkIn",
                    "Dimensions": dims,
                    "Timestamp": ts,
                    "Value": round(value * 1.2e6, 1),
                    "Unit": "Bytes",
                    "_ns": "AWS/EC2",
                }
            )
    day = start
    while day <= end:
        for ns, metric, dim, value, level in C.OTHER_METRICS:
            data.append(
                {
                    "MetricName": metric,
                    "Dimensions": [{"Name": dim, "Value": value}],
                    "Timestamp": dt.datetime.combine(day, dt.time(12)),
                    "Value": level,
                    "_ns": ns,
                }
            )
        day += dt.timedelta(days=1)
    by_ns: dict[str, list[dict]] = {}
    for d in data:
        by_ns.setdefault(d.pop("_ns"), []).append(d)
    for ns, items in by_ns.items():
        for i in range(0, len(items), 1000):
            client.put_metric_data(Namespace=ns, MetricData=items[i : i + 1000])
    return len(data)
