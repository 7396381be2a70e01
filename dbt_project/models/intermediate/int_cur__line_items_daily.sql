{{ day_partitioned() }}
-- The window's costed line items, every currency, summed once per day at the finest grain any
-- daily model reads: fct_daily_cost, its tags, the reconciliation, other currencies and the usage
-- aggregates all roll up from here instead of each scanning (and casting, and costing) the raw
-- line items again. Sums of DECIMAL money roll up exactly; per-line facts (quantity x rate, the
-- auditor's flags) are decided per line before anything is summed.
with lines as (
    select *,
        cast(coalesce(usage_quantity, 0) as {{ money_type() }})                 as quantity_exact,
        charge_period_start < billing_period_start                              as is_late_billed,
        charge_category = 'Usage' and coalesce(usage_quantity, 0) > 0 and effective_cost = 0
            and public_on_demand_rate > 0 and line_item_type = 'Usage'          as is_unbilled,
        charge_category = 'Usage' and coalesce(usage_quantity, 0) = 0
            and effective_cost <> 0                                             as is_without_usage
    from {{ ref('int_cur__line_items_costed') }}
    where {{ partition_window('usage_date') }}
),

summed as (  -- tag_* are functions of tags: read from the summed rows, not from every line (2 s a 20M month)
    select
        usage_date, billing_period_start, billing_account_id, sub_account_id, service_code, service_name,
        resource_id, charge_category, line_item_type, usage_type, region_id, instance_type,
        billing_currency, public_on_demand_rate, tags, cost_category_team, cost_category_environment,
        is_late_billed, is_unbilled, is_without_usage,
        min(charge_period_start)                    as first_charge_period_start,
        sum(unblended_cost)                         as unblended_cost,
        sum(effective_cost)                         as effective_cost,
        sum(public_on_demand_cost)                  as public_on_demand_cost,
        sum(net_unblended_cost)                     as net_unblended_cost,
        sum(blended_cost)                           as blended_cost,
        sum(amortization_true_up)                   as amortization_true_up,
        sum(upfront_fee)                            as upfront_fee,
        sum(usage_quantity)                         as usage_quantity,
        sum(quantity_exact)                         as quantity_exact,
        count(*)                                    as line_item_count
    from lines
    group by usage_date, billing_period_start, billing_account_id, sub_account_id, service_code,
        service_name, resource_id, charge_category, line_item_type, usage_type, region_id, instance_type,
        billing_currency, public_on_demand_rate, tags, cost_category_team, cost_category_environment,
        is_late_billed, is_unbilled, is_without_usage
)

select
    usage_date, billing_period_start, billing_account_id, sub_account_id, service_code, service_name,
    resource_id, charge_category, line_item_type, usage_type, region_id, instance_type,
    billing_currency, public_on_demand_rate, tags,
    {{ tag_columns('tags') }},
    cost_category_team, cost_category_environment, is_late_billed, is_unbilled, is_without_usage,
    first_charge_period_start, unblended_cost, effective_cost, public_on_demand_cost, net_unblended_cost,
    blended_cost, amortization_true_up, upfront_fee, usage_quantity, quantity_exact,
    -- the rate is a key of the group: rate x the group's exact quantity is the sum of its lines'
    -- quantity x rate to the last decimal, without a 128-bit product per line (0.2 s a 20M month)
    quantity_exact * public_on_demand_rate      as public_cost,
    line_item_count
from summed
