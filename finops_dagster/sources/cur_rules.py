"""Effective (amortized) cost per line item type, as AWS's Cloud Intelligence Dashboards compute it.

This Polars version feeds the ingestion ledger; the dbt model ``int_cur__line_items_costed``
implements the same table in SQL. The conservation checks compare the two, so a mistake in
either shows up as a failed check instead of a silently wrong dollar.
"""

from __future__ import annotations

import polars as pl

MONEY = pl.Decimal(38, 10)

_OPTIONAL_NUMERIC = (
    "savings_plan_savings_plan_effective_cost",
    "savings_plan_total_commitment_to_date",
    "savings_plan_used_commitment",
    "savings_plan_amortized_upfront_commitment_for_billing_period",
    "reservation_effective_cost",
    "reservation_amortized_upfront_fee_for_billing_period",
    "reservation_unused_amortized_upfront_fee_for_billing_period",
    "reservation_unused_recurring_fee",
)


def _money(name: str, schema: pl.Schema) -> pl.Expr:
    if name not in schema:
        return pl.lit(0, MONEY)
    return pl.col(name).cast(MONEY).fill_null(0)


def _text(name: str, schema: pl.Schema) -> pl.Expr:
    return pl.col(name).fill_null("") if name in schema else pl.lit("")


def effective_cost(schema: pl.Schema) -> pl.Expr:
    m = {n: _money(n, schema) for n in (*_OPTIONAL_NUMERIC, "line_item_unblended_cost")}
    t = pl.col("line_item_line_item_type")
    ri_fee = (t == "Fee") & (_text("reservation_reservation_a_r_n", schema) != "")
    sp_refund = (t == "Refund") & (pl.col("line_item_product_code") == "ComputeSavingsPlans")
    return (
        pl.when(t == "SavingsPlanCoveredUsage")
        .then(m["savings_plan_savings_plan_effective_cost"])
        .when(t == "SavingsPlanRecurringFee")
        .then(m["savings_plan_total_commitment_to_date"] - m["savings_plan_used_commitment"])
        .when(t.is_in(["SavingsPlanNegation", "SavingsPlanUpfrontFee"]))
        .then(pl.lit(0, MONEY))
        .when(t == "DiscountedUsage")
        .then(m["reservation_effective_cost"])
        .when(t == "RIFee")
        .then(
            m["reservation_unused_amortized_upfront_fee_for_billing_period"]
            + m["reservation_unused_recurring_fee"]
        )
        .when(ri_fee | sp_refund)
        .then(pl.lit(0, MONEY))
        .otherwise(m["line_item_unblended_cost"])
    )


def cost_sums(lf: pl.LazyFrame, by: list[str]) -> pl.LazyFrame:
    """Row count and exact unblended / effective sums per group (DECIMAL(38,10))."""
    schema = lf.collect_schema()
    return lf.group_by(by).agg(
        row_count=pl.len(),
        unblended_cost=_money("line_item_unblended_cost", schema).sum(),
        effective_cost=effective_cost(schema).sum(),
    )
