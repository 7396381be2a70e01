{{ day_partitioned() }}
-- The usage (without the Savings Plan negation lines, which repeat the covered quantity at zero
-- effective cost) and credits the insight and efficiency marts read, per day at the finest grain
-- anomaly root causes, the billing auditor and the commitment opportunities need. Incremental by
-- day like fct_daily_cost and rolled up from the same day aggregates (int_cur__line_items_daily),
-- so the unpartitioned marts never read line items. The auditor's per-line facts (unbilled,
-- charged without usage, billed a period late) and the public rate were decided per line there,
-- so quantity x rate stays exact.
select
    usage_date, billing_period_start, sub_account_id, service_code, usage_type, region_id,
    resource_id, line_item_type, charge_category, public_on_demand_rate,
    coalesce(tag_team, cost_category_team)      as team,
    tag_customer                                as customer,
    tag_service,
    is_late_billed, is_unbilled, is_without_usage,
    min(first_charge_period_start)              as first_charge_period_start,
    sum(usage_quantity)                         as usage_quantity,
    sum(quantity_exact)                         as quantity_exact,
    sum(effective_cost)                         as effective_cost,
    sum(unblended_cost)                         as unblended_cost,
    sum(public_cost)                            as public_cost,
    cast(sum(line_item_count) as {{ dbt.type_bigint() }}) as line_item_count
from {{ ref('int_cur__line_items_daily') }}
where {{ partition_window('usage_date') }}
    and billing_currency = {{ reporting_currency() }}
    and (line_item_type in ('Usage', 'DiscountedUsage', 'SavingsPlanCoveredUsage')
         or charge_category = 'Credit')
group by usage_date, billing_period_start, sub_account_id, service_code, usage_type, region_id,
    resource_id, line_item_type, charge_category, public_on_demand_rate,
    coalesce(tag_team, cost_category_team), tag_customer, tag_service,
    is_late_billed, is_unbilled, is_without_usage
