{{ config(materialized="ephemeral") }}
-- Usage cost per resource per day (billed, effective, list), the cost side of efficiency.
select
    resource_id,
    usage_date,
    max(sub_account_id)     as sub_account_id,
    max(instance_type)      as instance_type,
    sum(billed_cost)        as billed_cost,
    sum(effective_cost)     as effective_cost,
    sum(list_cost)          as list_cost
from {{ ref('fct_daily_cost') }}
where resource_id is not null and charge_category = 'Usage'
group by resource_id, usage_date
