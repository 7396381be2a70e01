-- int_cost__resource_daily moves usage cost into per-resource day totals that the efficiency
-- marts read: per day its billed, effective and list cost equal fct_daily_cost's usage rows that
-- name a resource, to the last decimal. Returns the days that differ.
with resources as (
    select usage_date, sum(billed_cost) as billed_cost, sum(effective_cost) as effective_cost,
        sum(list_cost) as list_cost
    from {{ ref('int_cost__resource_daily') }}
    where {{ partition_window('usage_date') }}
    group by usage_date
),

daily as (
    select usage_date, sum(billed_cost) as billed_cost, sum(effective_cost) as effective_cost,
        sum(list_cost) as list_cost
    from {{ ref('fct_daily_cost') }}
    where charge_category = 'Usage' and resource_id is not null
        and {{ partition_window('usage_date') }}
    group by usage_date
)

select coalesce(r.usage_date, d.usage_date) as usage_date,
    r.effective_cost as resource_cost, d.effective_cost as daily_cost
from resources as r
full outer join daily as d on r.usage_date = d.usage_date
where coalesce(r.billed_cost, 0) <> coalesce(d.billed_cost, 0)
    or coalesce(r.effective_cost, 0) <> coalesce(d.effective_cost, 0)
    or coalesce(r.list_cost, 0) <> coalesce(d.list_cost, 0)
