"""The demo's indexed GetMetricData answers exactly as moto's own implementation does."""

import datetime as dt

import boto3
from moto import mock_aws
from moto.cloudwatch.models import cloudwatch_backends

from finops_dagster.demo.moto_launcher import _original, get_metric_data


@mock_aws
def test_indexed_get_metric_data_matches_moto():
    client = boto3.client("cloudwatch", region_name="us-east-1")
    base = dt.datetime(2026, 10, 20)
    client.put_metric_data(
        Namespace="AWS/EC2",
        MetricData=[
            {
                "MetricName": "CPUUtilization",
                "Dimensions": [{"Name": "InstanceId", "Value": f"i-{i}"}],
                "Timestamp": base + dt.timedelta(minutes=7 * k),
                "Value": float(i * 10 + k % 13),
            }
            for i in range(4)
            for k in range(300)
        ],
    )
    backend = cloudwatch_backends["123456789012"]["us-east-1"]
    queries = [
        {
            "Id": f"q{i}{s}",
            "MetricStat": {
                "Metric": {
                    "Namespace": "AWS/EC2",
                    "MetricName": "CPUUtilization",
                    "Dimensions": [{"Name": "InstanceId", "Value": f"i-{i}"}],
                },
                "Period": p,
                "Stat": s,
            },
        }
        for i in range(4)
        for s in ("Average", "Maximum", "Minimum")
        for p in (60, 3600)
    ]
    start, end = base, base + dt.timedelta(days=1)
    assert get_metric_data(backend, queries, start, end) == _original(backend, queries, start, end)
