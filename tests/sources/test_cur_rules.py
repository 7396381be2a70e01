"""The effective cost sum the ledger and the conservation checks use: the same DECIMAL, to the
last of its ten places, as the sum of the per-line CASE, for every line item type AWS bills
(Savings Plans and Reserved Instance fees, negations, RI fees with an ARN, Compute Savings Plans
refunds), with null amounts, absent optional columns and a null line item type."""

import numpy as np
import polars as pl
import pytest

from finops_dagster.sources.cur_rules import _OPTIONAL_NUMERIC, MONEY, cost_sums, effective_cost

TYPES = [
    "Usage",
    "DiscountedUsage",
    "SavingsPlanCoveredUsage",
    "SavingsPlanNegation",
    "SavingsPlanUpfrontFee",
    "SavingsPlanRecurringFee",
    "RIFee",
    "Fee",
    "Refund",
    "Credit",
    "Tax",
    None,
]
MONEY_COLUMNS = (*_OPTIONAL_NUMERIC, "line_item_unblended_cost")


def _lines(n: int = 20_000, seed: int = 7, drop: tuple[str, ...] = ()) -> pl.DataFrame:
    rng = np.random.default_rng(seed)

    def amounts() -> list[float | None]:
        # doubles with more digits than DECIMAL(38,10) keeps, some negative, some null
        values = rng.normal(0, 50, n) * 10.0 ** rng.integers(-6, 4, n)
        return [None if m else float(v) for v, m in zip(values, rng.random(n) < 0.2, strict=True)]

    frame = pl.DataFrame(
        {
            "account": rng.choice(["111111111111", "222222222222", "333333333333"], n),
            "line_item_line_item_type": rng.choice(np.array(TYPES, dtype=object), n),
            "line_item_product_code": rng.choice(["AmazonEC2", "ComputeSavingsPlans"], n),
            "reservation_reservation_a_r_n": rng.choice(
                np.array(
                    [None, "", "arn:aws:ec2:us-east-1:111111111111:reserved-instances/r-1"], dtype=object
                ),
                n,
            ),
            **{name: pl.Series(amounts(), dtype=pl.Float64) for name in MONEY_COLUMNS},
        }
    )
    return frame.drop(list(drop))


def _reference(frame: pl.DataFrame) -> pl.Expr:
    """The rule spelled out as a per-line CASE, each money column cast before it is used (the
    Cloud Intelligence Dashboards' rule; dbt's int_cur__line_items_costed is the SQL of it)."""

    def m(name: str) -> pl.Expr:
        return pl.col(name).cast(MONEY).fill_null(0) if name in frame.columns else pl.lit(0, MONEY)

    t = pl.col("line_item_line_item_type")
    arn = (
        pl.col("reservation_reservation_a_r_n").fill_null("")
        if "reservation_reservation_a_r_n" in frame.columns
        else pl.lit("")
    )
    zero = pl.lit(0, MONEY)
    return (
        pl.when(t == "SavingsPlanCoveredUsage")
        .then(m("savings_plan_savings_plan_effective_cost"))
        .when(t == "SavingsPlanRecurringFee")
        .then(m("savings_plan_total_commitment_to_date") - m("savings_plan_used_commitment"))
        .when(t.is_in(["SavingsPlanNegation", "SavingsPlanUpfrontFee"]))
        .then(zero)
        .when(t == "DiscountedUsage")
        .then(m("reservation_effective_cost"))
        .when(t == "RIFee")
        .then(
            m("reservation_unused_amortized_upfront_fee_for_billing_period")
            + m("reservation_unused_recurring_fee")
        )
        .when(
            ((t == "Fee") & (arn != ""))
            | ((t == "Refund") & (pl.col("line_item_product_code") == "ComputeSavingsPlans"))
        )
        .then(zero)
        .otherwise(m("line_item_unblended_cost"))
    )


def _per_line(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.group_by("account").agg(effective_cost=_reference(frame).sum()).sort("account")


def test_the_per_line_effective_cost_is_the_rule():
    frame = _lines()
    rule = frame.select(got=effective_cost(frame.schema), want=_reference(frame))
    assert rule["got"].dtype == MONEY and rule["got"].equals(rule["want"], check_names=False)


@pytest.mark.parametrize(
    "drop",
    [
        (),
        ("savings_plan_used_commitment", "reservation_unused_recurring_fee", "reservation_reservation_a_r_n"),
    ],
    ids=["every column", "optional columns absent (a CUR before Savings Plans)"],
)
def test_the_sum_is_the_per_line_cases_to_the_last_decimal(drop):
    frame = _lines(drop=drop)
    fast = cost_sums(frame.lazy(), ["account"]).collect().sort("account")
    assert fast["effective_cost"].dtype == MONEY
    assert fast.select("account", "effective_cost").equals(_per_line(frame))
    assert fast["row_count"].sum() == frame.height


def test_money_not_delivered_as_doubles_is_cast_as_it_is():
    frame = _lines(n=2_000).with_columns(pl.col("reservation_effective_cost").cast(pl.Decimal(38, 4)))
    fast = cost_sums(frame.lazy(), ["account"]).collect().sort("account")
    assert fast.select("account", "effective_cost").equals(_per_line(frame))


def test_a_group_of_only_zero_cost_types_sums_to_zero():
    frame = pl.DataFrame(
        {
            "account": ["1", "1"],
            "line_item_line_item_type": ["SavingsPlanNegation", "SavingsPlanUpfrontFee"],
            "line_item_product_code": ["AmazonEC2", "AmazonEC2"],
            "line_item_unblended_cost": [-3.5, 100.0],
        }
    )
    fast = cost_sums(frame.lazy(), ["account"]).collect()
    assert fast["effective_cost"][0] == 0 and fast["effective_cost"].dtype == MONEY
