"""finops-dagster: FinOps data platform for AWS."""
