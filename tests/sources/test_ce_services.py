"""Cost Explorer's SERVICE names for CUR lines (the cost_explorer_services seed), as the demo's
Cost Explorer endpoint applies them in Python; the reconciliation mart applies the same file in
SQL (its dbt unit test uses the same examples). Real quirk: Cost Explorer splits EC2 into
"Amazon Elastic Compute Cloud - Compute" and "EC2 - Other" and reports tax as "Tax"."""

import polars as pl

from finops_dagster.sources.ce_services import cost_explorer_service, rules

# product code, line item type, usage type, CUR product name -> Cost Explorer SERVICE, rule hit
EXAMPLES = [
    ("AmazonS3", "Tax", "", "Amazon Simple Storage Service", "Tax", 10),
    (
        "AmazonEC2",
        "Usage",
        "BoxUsage:m5.large",
        "Amazon Elastic Compute Cloud",
        "Amazon Elastic Compute Cloud - Compute",
        20,
    ),
    (
        "AmazonEC2",
        "SavingsPlanCoveredUsage",
        "USE2-BoxUsage:c5.xlarge",
        "Amazon Elastic Compute Cloud",
        "Amazon Elastic Compute Cloud - Compute",
        20,
    ),
    (
        "AmazonEC2",
        "Usage",
        "SpotUsage:c5.large",
        "Amazon Elastic Compute Cloud",
        "Amazon Elastic Compute Cloud - Compute",
        21,
    ),
    (
        "AmazonEC2",
        "Usage",
        "DedicatedUsage:m5.large",
        "Amazon Elastic Compute Cloud",
        "Amazon Elastic Compute Cloud - Compute",
        22,
    ),
    (
        "AmazonEC2",
        "Usage",
        "HostUsage:m5",
        "Amazon Elastic Compute Cloud",
        "Amazon Elastic Compute Cloud - Compute",
        23,
    ),
    (
        "AmazonEC2",
        "RIFee",
        "HeavyUsage:m5.large",
        "Amazon Elastic Compute Cloud",
        "Amazon Elastic Compute Cloud - Compute",
        24,
    ),
    ("AmazonEC2", "Usage", "EBS:VolumeUsage.gp3", "Amazon Elastic Compute Cloud", "EC2 - Other", 29),
    ("AmazonEC2", "Usage", "NatGateway-Hours", "Amazon Elastic Compute Cloud", "EC2 - Other", 29),
    ("AmazonEC2", "Usage", None, "Amazon Elastic Compute Cloud", "EC2 - Other", 29),
    ("AWSELB", "Usage", "LoadBalancerUsage", "Elastic Load Balancing", "Amazon Elastic Load Balancing", 30),
    (
        "AmazonRDS",
        "Usage",
        "InstanceUsage:db.t3.micro",
        "Amazon Relational Database Service",
        "Amazon Relational Database Service",
        99,
    ),
    (
        "ComputeSavingsPlans",
        "SavingsPlanRecurringFee",
        "ComputeSP:1yrNoUpfront",
        "Savings Plans for AWS Compute usage",
        "Savings Plans for AWS Compute usage",
        99,
    ),
]


def test_every_rule_names_its_example_as_cost_explorer_does():
    frame = pl.DataFrame([e[:4] for e in EXAMPLES], orient="row", schema=["p", "t", "u", "n"])
    got = frame.select(cost_explorer_service(pl.col("p"), pl.col("t"), pl.col("u"), pl.col("n")))
    assert got.to_series().to_list() == [e[4] for e in EXAMPLES]


def test_the_examples_cover_every_rule_of_the_seed():
    assert {e[5] for e in EXAMPLES} == set(rules()["rule_order"])
    assert rules()["mapping_version"].n_unique() == 1
