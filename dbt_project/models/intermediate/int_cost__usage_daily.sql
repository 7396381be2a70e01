-- Usage cost per day at the grain root-cause analysis needs (usage type, region, resource, tags),
-- from the day aggregates (Savings Plan negation lines are left out there: they repeat the
-- covered usage's quantity at zero effective cost). Team falls back to the cost category, as
-- allocation does.
select
    usage_date,
    sub_account_id,
    service_code,
    usage_type,
    region_id,
    resource_id,
    team,
    customer,
    tag_service,
    sum(effective_cost)                     as effective_cost,
    sum(usage_quantity)                     as usage_quantity
from {{ ref('int_cur__usage_and_credits_daily') }}
where charge_category = 'Usage'
group by usage_date, sub_account_id, service_code, usage_type, region_id, resource_id, team,
    customer, tag_service
