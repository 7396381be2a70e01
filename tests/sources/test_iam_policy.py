"""The shipped IAM policy grants exactly the read actions the sources call, nothing more."""

import json
from pathlib import Path

POLICY = Path(__file__).parents[2] / "docs" / "iam" / "finops-dagster-read-policy.json"


def test_policy_is_least_privilege():
    doc = json.loads(POLICY.read_text())
    actions = set()
    for st in doc["Statement"]:
        assert st["Effect"] == "Allow"
        acts = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        actions |= set(acts)
    assert actions == {
        "ce:GetCostAndUsage",
        "ce:GetCostForecast",
        "ce:GetDimensionValues",
        "ce:GetTags",
        "ce:GetCostCategories",
        "ce:ListCostCategoryDefinitions",
        "s3:ListBucket",
        "s3:GetObject",
        "cloudwatch:ListMetrics",
        "cloudwatch:GetMetricData",
        "sts:AssumeRole",
    }
    s3 = [st for st in doc["Statement"] if str(st["Action"]).startswith("s3")]
    assert all("CUR_BUCKET" in st["Resource"] for st in s3)  # scoped to the CUR bucket/prefix
    assert not any(a.endswith("*") for a in actions)
