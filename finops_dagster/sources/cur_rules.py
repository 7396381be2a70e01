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


def effective_cost_sum(schema: pl.Schema) -> pl.Expr:
    """``effective_cost(schema).sum()``, the same decimal to the last digit, at a third of the work.

    The CASE of ``effective_cost`` casts each of its nine money columns to DECIMAL in every row
    (a when/then evaluates every branch), and the casts were nearly all of it: 3.0 s for a 20M
    line item month, summed three times in a re-delivered period (the ingest, the restatement
    diff, the conservation check). Here each row picks its doubles first and casts three: the
    term that stands alone or comes first, the one added (RIFee's recurring part) and the one
    subtracted (a Savings Plan fee's used commitment). Every term is the same DECIMAL as before
    and decimal sums are exact, so the total is identical (tests/sources/test_cur_rules.py).
    """
    names = (*_OPTIONAL_NUMERIC, "line_item_unblended_cost")
    if any(schema.get(n, pl.Float64) != pl.Float64 for n in names):
        return effective_cost(schema).sum()  # not the doubles CUR delivers: cast each as it is
    t = pl.col("line_item_line_item_type")
    none = pl.lit(None, pl.Float64)

    def col(name: str) -> pl.Expr:
        return pl.col(name) if name in schema else none

    ri_fee = (t == "Fee") & (_text("reservation_reservation_a_r_n", schema) != "")
    sp_refund = (t == "Refund") & (pl.col("line_item_product_code") == "ComputeSavingsPlans")
    first = (
        pl.when(t == "SavingsPlanCoveredUsage")
        .then(col("savings_plan_savings_plan_effective_cost"))
        .when(t == "SavingsPlanRecurringFee")
        .then(col("savings_plan_total_commitment_to_date"))
        .when(t.is_in(["SavingsPlanNegation", "SavingsPlanUpfrontFee"]))
        .then(none)
        .when(t == "DiscountedUsage")
        .then(col("reservation_effective_cost"))
        .when(t == "RIFee")
        .then(col("reservation_unused_amortized_upfront_fee_for_billing_period"))
        .when(ri_fee | sp_refund)
        .then(none)
        .otherwise(col("line_item_unblended_cost"))
    )
    added = pl.when(t == "RIFee").then(col("reservation_unused_recurring_fee")).otherwise(none)
    subtracted = (
        pl.when(t == "SavingsPlanRecurringFee").then(col("savings_plan_used_commitment")).otherwise(none)
    )
    return sum_money(first) + sum_money(added) - sum_money(subtracted)


def sum_money(expr: pl.Expr) -> pl.Expr:
    """The exact DECIMAL sum of doubles (each cast once; nulls count as 0)."""
    return expr.cast(MONEY).sum().fill_null(pl.lit(0, MONEY))


def cost_sums(lf: pl.LazyFrame, by: list[str]) -> pl.LazyFrame:
    """Row count and exact unblended / effective sums per group (DECIMAL(38,10))."""
    schema = lf.collect_schema()
    return lf.group_by(by).agg(
        row_count=pl.len(),
        unblended_cost=_money("line_item_unblended_cost", schema).sum(),
        effective_cost=effective_cost_sum(schema),
    )
