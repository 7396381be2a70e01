{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='usage_date',
        on_schema_change='fail',
    )
}}
-- The line items the insight and efficiency marts read, summed once per day: usage (without the
-- Savings Plan negation lines, which repeat the covered quantity at zero effective cost) and
-- credits, at the finest grain anomaly root causes, the billing auditor and the commitment
-- opportunities need. Incremental by day like fct_daily_cost, so a run scans only its window's
-- line items and the unpartitioned marts never read line items. The auditor's per-line facts
-- (unbilled, charged without usage, billed a period late) are grouping columns, decided per line
-- before anything is summed; the public rate is one too, so quantity x rate stays exact.
with lines as (
    select
        usage_date, billing_period_start, sub_account_id, service_code, usage_type, region_id,
        resource_id, line_item_type, charge_category, public_on_demand_rate, charge_period_start,
        coalesce(tag_team, cost_category_team)                                  as team,
        tag_customer                                                            as customer,
        tag_service,
        usage_quantity, effective_cost, unblended_cost,
        charge_period_start < billing_period_start                              as is_late_billed,
        charge_category = 'Usage' and coalesce(usage_quantity, 0) > 0 and effective_cost = 0
            and public_on_demand_rate > 0 and line_item_type = 'Usage'          as is_unbilled,
        charge_category = 'Usage' and coalesce(usage_quantity, 0) = 0
            and effective_cost <> 0                                             as is_without_usage
    from {{ ref('int_cur__line_items_reported') }}
    where {{ partition_window('usage_date') }}
        and (line_item_type in ('Usage', 'DiscountedUsage', 'SavingsPlanCoveredUsage')
             or charge_category = 'Credit')
)

select
    usage_date, billing_period_start, sub_account_id, service_code, usage_type, region_id,
    resource_id, line_item_type, charge_category, public_on_demand_rate, team, customer, tag_service,
    is_late_billed, is_unbilled, is_without_usage,
    min(charge_period_start)                                                    as first_charge_period_start,
    sum(usage_quantity)                                                         as usage_quantity,
    sum(cast(coalesce(usage_quantity, 0) as {{ money_type() }}))                as quantity_exact,
    sum(effective_cost)                                                         as effective_cost,
    sum(unblended_cost)                                                         as unblended_cost,
    sum(cast(coalesce(usage_quantity, 0) as {{ money_type() }}) * public_on_demand_rate) as public_cost,
    count(*)                                                                    as line_item_count
from lines
group by usage_date, billing_period_start, sub_account_id, service_code, usage_type, region_id,
    resource_id, line_item_type, charge_category, public_on_demand_rate, team, customer, tag_service,
    is_late_billed, is_unbilled, is_without_usage
