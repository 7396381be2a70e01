"""The typed dictionary of CUR columns: what each known column is, whatever the export.

AWS's data dictionaries (legacy CUR and CUR 2.0) fix the meaning of every column, but not how an
export stores it: the Athena integration keeps rates and several reservation quantities as
text (``""`` when empty), CSV is all text, an old report lacks Savings Plans columns, a narrow
one has no resource ids or tags. So the type is decided here, by name, from this dictionary, and
never from a pattern in the name (``pricing/RateCode`` and ``product/feeCode`` are text).
Columns not listed are text. Columns of ``CONTRACT`` that an export lacks are added as typed
nulls, so staging reads the same columns from a 2018 report and a CUR 2.0 export.
"""

from __future__ import annotations

import polars as pl

TAG_MAP = pl.Map(pl.String, pl.String)
TIMESTAMP = pl.Datetime("us")  # naive UTC: CUR usage dates are UTC

# Numeric columns of the legacy and CUR 2.0 dictionaries (CUR 2.0 / Athena spelling).
NUMERIC = frozenset(
    {
        # line item
        "line_item_usage_amount",
        "line_item_normalization_factor",
        "line_item_normalized_usage_amount",
        "line_item_unblended_rate",
        "line_item_unblended_cost",
        "line_item_blended_rate",
        "line_item_blended_cost",
        "line_item_net_unblended_rate",
        "line_item_net_unblended_cost",
        # pricing
        "pricing_public_on_demand_cost",
        "pricing_public_on_demand_rate",
        # reservations
        "reservation_amortized_upfront_cost_for_usage",
        "reservation_amortized_upfront_fee_for_billing_period",
        "reservation_effective_cost",
        "reservation_normalized_units_per_reservation",
        "reservation_number_of_reservations",
        "reservation_recurring_fee_for_usage",
        "reservation_total_reserved_normalized_units",
        "reservation_total_reserved_units",
        "reservation_units_per_reservation",
        "reservation_unused_amortized_upfront_fee_for_billing_period",
        "reservation_unused_normalized_unit_quantity",
        "reservation_unused_quantity",
        "reservation_unused_recurring_fee",
        "reservation_upfront_value",
        "reservation_net_amortized_upfront_cost_for_usage",
        "reservation_net_amortized_upfront_fee_for_billing_period",
        "reservation_net_effective_cost",
        "reservation_net_recurring_fee_for_usage",
        "reservation_net_unused_amortized_upfront_fee_for_billing_period",
        "reservation_net_unused_recurring_fee",
        "reservation_net_upfront_value",
        # savings plans
        "savings_plan_amortized_upfront_commitment_for_billing_period",
        "savings_plan_recurring_commitment_for_billing_period",
        "savings_plan_savings_plan_effective_cost",
        "savings_plan_savings_plan_rate",
        "savings_plan_total_commitment_to_date",
        "savings_plan_used_commitment",
        "savings_plan_net_amortized_upfront_commitment_for_billing_period",
        "savings_plan_net_recurring_commitment_for_billing_period",
        "savings_plan_net_savings_plan_effective_cost",
        # legacy discount/* columns
        "discount_total_discount",
        "discount_bundled_discount",
        "discount_edp_discount",
        "discount_private_rate_discount",
        "discount_spp_discount",
        # split cost allocation data
        "split_line_item_split_cost",
        "split_line_item_unused_cost",
        "split_line_item_net_split_cost",
        "split_line_item_net_unused_cost",
        "split_line_item_public_on_demand_split_cost",
        "split_line_item_public_on_demand_unused_cost",
        "split_line_item_reserved_usage",
        "split_line_item_actual_usage",
        "split_line_item_split_usage",
        "split_line_item_split_usage_ratio",
    }
)

TIMESTAMPS = frozenset(
    {
        "bill_billing_period_start_date",
        "bill_billing_period_end_date",
        "line_item_usage_start_date",
        "line_item_usage_end_date",
    }
)

# CUR 2.0 map columns (CSV delivers them as JSON text); legacy exports are folded into the first
# two by the normalizer.
MAPS = frozenset({"resource_tags", "cost_category", "product", "discount"})

ACCOUNT_IDS = frozenset({"bill_payer_account_id", "line_item_usage_account_id"})

# Every raw CUR day holds these (typed nulls when the export lacks them): what staging, the cost
# rules and the checks read.
CONTRACT: dict[str, pl.DataType] = {
    name: (
        pl.Float64
        if name in NUMERIC
        else TIMESTAMP
        if name in TIMESTAMPS
        else TAG_MAP
        if name in MAPS
        else pl.String
    )
    for name in (
        "identity_line_item_id",
        "identity_time_interval",
        "bill_billing_period_start_date",
        "bill_billing_period_end_date",
        "bill_payer_account_id",
        "line_item_usage_account_id",
        "line_item_line_item_type",
        "line_item_usage_start_date",
        "line_item_usage_end_date",
        "line_item_product_code",
        "line_item_usage_type",
        "line_item_operation",
        "line_item_resource_id",
        "line_item_currency_code",
        "line_item_usage_amount",
        "line_item_unblended_cost",
        "line_item_net_unblended_cost",
        "line_item_blended_cost",
        "pricing_public_on_demand_cost",
        "pricing_public_on_demand_rate",
        "product_product_name",
        "product_region_code",
        "product_instance_type",
        "savings_plan_savings_plan_a_r_n",
        "savings_plan_savings_plan_effective_cost",
        "savings_plan_total_commitment_to_date",
        "savings_plan_used_commitment",
        "savings_plan_amortized_upfront_commitment_for_billing_period",
        "reservation_reservation_a_r_n",
        "reservation_effective_cost",
        "reservation_amortized_upfront_fee_for_billing_period",
        "reservation_unused_amortized_upfront_fee_for_billing_period",
        "reservation_unused_recurring_fee",
        "resource_tags",
        "cost_category",
    )
}

# Contract columns that an export may carry under another name, tried in order when absent:
# older legacy reports have ``product/region`` (the code) but no ``product/regionCode``; CUR 2.0
# keeps product attributes only in its ``product`` map.
FALLBACKS: dict[str, tuple[str, ...]] = {
    "product_region_code": ("product_region", "product['region_code']", "product['region']"),
    "product_product_name": ("product['product_name']",),
    "product_instance_type": ("product['instance_type']",),
}


def dtype(name: str) -> pl.DataType:
    """The warehouse-facing type of a normalized column name (text unless the dictionary says)."""
    if name in NUMERIC:
        return pl.Float64
    if name in TIMESTAMPS:
        return TIMESTAMP
    if name in MAPS:
        return TAG_MAP
    return pl.String


def kind(name: str) -> str:
    """``number`` / ``timestamp`` / ``map`` / ``text``: how ``inspect`` and the docs describe it."""
    return {pl.Float64: "number", TIMESTAMP: "timestamp", TAG_MAP: "map"}.get(dtype(name), "text")
