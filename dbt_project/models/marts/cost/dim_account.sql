-- One row per linked account seen in the bill, with its dominant environment tag.
with days as (
    select sub_account_id, billing_account_id, usage_date, tag_environment, effective_cost
    from {{ ref('fct_daily_cost') }}
),

environment as (
    select sub_account_id, tag_environment,
        row_number() over (partition by sub_account_id order by sum(effective_cost) desc, tag_environment) as rank_by_cost
    from days
    where tag_environment is not null
    group by sub_account_id, tag_environment
)

select
    days.sub_account_id,
    max(days.billing_account_id)    as billing_account_id,
    max(environment.tag_environment) as primary_environment,
    min(days.usage_date)            as first_usage_date,
    max(days.usage_date)            as last_usage_date,
    count(distinct days.usage_date) as days_with_cost,
    sum(days.effective_cost)        as total_effective_cost
from days
left join environment
    on days.sub_account_id = environment.sub_account_id and environment.rank_by_cost = 1
group by days.sub_account_id
