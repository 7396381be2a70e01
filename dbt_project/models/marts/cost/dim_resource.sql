-- One row per resource with a cost: where it lives, what it is and who owns it (latest tags).
with resources as (
    select * from {{ ref('fct_daily_cost') }}
    where resource_id is not null
),

latest as (
    select resource_id, max(usage_date) as last_usage_date
    from resources
    group by resource_id
)

select
    resources.resource_id,
    max(resources.sub_account_id)                   as sub_account_id,
    max(resources.service_code)                     as service_code,
    max(resources.instance_type)                    as instance_type,
    max(resources.region_id)                        as region_id,
    min(resources.usage_date)                       as first_seen_date,
    max(latest.last_usage_date)                     as last_seen_date,
    max(case when resources.usage_date = latest.last_usage_date then resources.tag_team end)        as tag_team,
    max(case when resources.usage_date = latest.last_usage_date then resources.tag_service end)     as tag_service,
    max(case when resources.usage_date = latest.last_usage_date then resources.tag_customer end)    as tag_customer,
    max(case when resources.usage_date = latest.last_usage_date then resources.tag_environment end) as tag_environment,
    max(case when resources.usage_date = latest.last_usage_date then resources.cost_category_environment end)
                                                    as cost_category_environment,
    sum(resources.effective_cost)                   as total_effective_cost
from resources
inner join latest on resources.resource_id = latest.resource_id
group by resources.resource_id
