{{ config(materialized="ephemeral") }}
-- Usage cost per resource per day (billed, effective, list), the cost side of efficiency: rolled
-- up from the day aggregates in the reporting currency, as fct_daily_cost is (an intermediate
-- model reads intermediate models, never a mart).
select
    resource_id,
    usage_date,
    max(sub_account_id)         as sub_account_id,
    max(instance_type)          as instance_type,
    sum(unblended_cost)         as billed_cost,
    sum(effective_cost)         as effective_cost,
    sum(public_on_demand_cost)  as list_cost
from {{ ref('int_cur__line_items_daily') }}
where resource_id is not null and charge_category = 'Usage'
    and billing_currency = {{ reporting_currency() }}
group by resource_id, usage_date
