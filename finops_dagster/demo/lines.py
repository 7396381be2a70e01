"""The demo's non-EC2 line items: daily services, monthly charges and the planted insight facts.

Integer 1e-8 USD units throughout, as in the generator, so the truth stays exact.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from finops_dagster.demo import catalog as C


def daily_services(day: dt.date, rng: np.random.Generator) -> pl.DataFrame:
    """One line per daily resource: the +-10 % noise is in the usage quantity at a fixed unit
    rate (except the planted price change), weekends scaled by the resource's weekend share."""
    res = C.DAILY_RESOURCES
    noise = rng.integers(90, 111, size=len(res))  # +-10 % around the mean, in percent
    start = dt.datetime.combine(day, dt.time())
    rows = []
    for r, n in zip(res, noise, strict=True):
        n = int(n)
        shift = C.BOUNDARY_SHIFT
        shifted = r.resource_id == shift["resource_id"] and day in shift["unbilled_days"]
        n = 100 if shifted else n
        week = r.weekend_pct if day.weekday() >= 5 else 100
        price = (
            C.PRICE_CHANGE["pct"]
            if (r.resource_id == C.PRICE_CHANGE["resource_id"] and day >= C.PRICE_CHANGE["from"])
            else 100
        )
        cost = r.daily_units * n * week * price // 1_000_000
        rate = r.daily_units // 24 * price // 100
        rows.append(
            {
                "account": r.account,
                "product_code": r.product_code,
                "resource_id": r.resource_id,
                "usage_type": r.usage_type,
                "usage_amount": 24 * n * week / 10_000,
                "unblended_u": 0 if shifted else cost,
                "rate_u": 0 if shifted else rate,
                "list_u": cost,
                "list_rate_u": rate,
                "tags": [{"key": k, "value": v} for k, v in r.tags.items()],
            }
        )
    return pl.DataFrame(
        rows, schema_overrides={"tags": pl.List(pl.Struct({"key": pl.String, "value": pl.String}))}
    ).with_columns(
        line_item_type=pl.lit("Usage"),
        effective_u="unblended_u",
        start=pl.lit(start),
        end=pl.lit(start + dt.timedelta(days=1)),
    )


def planted_lines(day: dt.date) -> pl.DataFrame:
    """The insight plants: the cost spike, the unbilled usage and the boundary-shifted charge."""
    start = dt.datetime.combine(day, dt.time())
    rows = []
    for plant in (C.SPIKE, C.UNBILLED):
        if plant["from"] <= day <= plant["to"]:
            public = round(plant["quantity"] * plant["rate_units"])
            billed = public if plant is C.SPIKE else 0
            rows.append(
                {
                    "account": plant["account"],
                    "product_code": plant["product_code"],
                    "resource_id": plant["resource_id"],
                    "usage_type": plant["usage_type"],
                    "usage_amount": plant["quantity"],
                    "unblended_u": billed,
                    "rate_u": plant["rate_units"] if billed else 0,
                    "list_u": public,
                    "list_rate_u": plant["rate_units"],
                    "tags": [{"key": k, "value": v} for k, v in plant.get("tags", {}).items()],
                }
            )
    shift = C.BOUNDARY_SHIFT
    if day == shift["billed_on"]:
        resource = next(r for r in C.DAILY_RESOURCES if r.resource_id == shift["resource_id"])
        rows.append(
            {
                "account": resource.account,
                "product_code": resource.product_code,
                "resource_id": resource.resource_id,
                "usage_type": resource.usage_type,
                "usage_amount": 0.0,
                "unblended_u": resource.daily_units * len(shift["unbilled_days"]),
                "rate_u": 0,
                "list_u": 0,
                "list_rate_u": 0,
                "tags": [{"key": k, "value": v} for k, v in resource.tags.items()],
            }
        )
    if not rows:
        return pl.DataFrame()
    return pl.DataFrame(
        rows, schema_overrides={"tags": pl.List(pl.Struct({"key": pl.String, "value": pl.String}))}
    ).with_columns(
        line_item_type=pl.lit("Usage"),
        effective_u="unblended_u",
        start=pl.lit(start),
        end=pl.lit(start + dt.timedelta(days=1)),
    )


def monthly_lines(day: dt.date, period_end: dt.date, scale: int) -> pl.DataFrame:
    """RIFee and Tax on the period's first day, the planted credits (the 15th, one-off)."""
    start = dt.datetime.combine(day, dt.time())
    end = dt.datetime.combine(period_end, dt.time())
    rows: list[dict] = []
    if day.day == 1:
        hours = (period_end - day).days * 24
        reserved = 3 * scale  # 2 running c5.large per copy + RI_UNUSED_UNITS idle
        unused = C.RI_UNUSED_UNITS * scale * hours
        rows.append(
            {
                "account": "111111111111",
                "product_code": "AmazonEC2",
                "line_item_type": "RIFee",
                "usage_type": "HeavyUsage:c5.large",
                "usage_amount": float(reserved * hours),
                "resource_id": "arn:aws:ec2:us-east-1:111111111111:reserved-instances/demo-ri-1",
                "unblended_u": reserved * hours * C.RI_RECURRING_UNITS,
                "ri_amort_u": reserved * hours * C.RI_AMORTIZED_UPFRONT_UNITS,
                "ri_unused_amort_u": unused * C.RI_AMORTIZED_UPFRONT_UNITS,
                "ri_unused_rec_u": unused * C.RI_RECURRING_UNITS,
                "effective_u": unused * (C.RI_AMORTIZED_UPFRONT_UNITS + C.RI_RECURRING_UNITS),
                "true_up_u": -reserved * hours * C.RI_AMORTIZED_UPFRONT_UNITS,
            }
        )
        for account, units in C.TAX_UNITS.items():
            rows.append(
                {
                    "account": account,
                    "product_code": "AmazonEC2",
                    "line_item_type": "Tax",
                    "usage_type": "",
                    "usage_amount": 0.0,
                    "resource_id": "",
                    "unblended_u": units * scale,
                    "effective_u": units * scale,
                }
            )
    if day.day == C.CREDIT["day"]:
        rows.append(
            {
                "account": C.CREDIT["account"],
                "product_code": "AmazonEC2",
                "line_item_type": "Credit",
                "usage_type": "",
                "usage_amount": 0.0,
                "resource_id": "",
                "unblended_u": C.CREDIT["units"] * scale,
                "effective_u": C.CREDIT["units"] * scale,
            }
        )
    if day == C.BENIGN_CREDIT["date"]:
        rows.append(
            {
                "account": C.BENIGN_CREDIT["account"],
                "product_code": C.BENIGN_CREDIT["product_code"],
                "line_item_type": "Credit",
                "usage_type": "",
                "usage_amount": 0.0,
                "resource_id": "",
                "unblended_u": C.BENIGN_CREDIT["units"],
                "effective_u": C.BENIGN_CREDIT["units"],
            }
        )
    if not rows:
        return pl.DataFrame()
    return pl.DataFrame(rows).with_columns(start=pl.lit(start), end=pl.lit(end))
