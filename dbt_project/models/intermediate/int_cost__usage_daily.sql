-- Usage cost per day at the grain root-cause analysis needs (usage type, region, resource, tags).
-- Savings Plan negation lines are left out: they repeat the covered usage's quantity at zero
-- effective cost. Team falls back to the cost category, as allocation does.
select
    usage_date,
    sub_account_id,
    service_code,
    usage_type,
    region_id,
    resource_id,
    coalesce(tag_team, cost_category_team)  as team,
    tag_customer                            as customer,
    tag_service,
    sum(effective_cost)                     as effective_cost,
    sum(usage_quantity)                     as usage_quantity
from {{ ref('int_cur__line_items_reported') }}
where charge_category = 'Usage' and line_item_type <> 'SavingsPlanNegation'
group by usage_date, sub_account_id, service_code, usage_type, region_id, resource_id,
    coalesce(tag_team, cost_category_team), tag_customer, tag_service
