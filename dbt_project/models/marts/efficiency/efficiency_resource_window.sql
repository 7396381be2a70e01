{{ config(materialized="ephemeral") }}
-- Each EC2 instance over the efficiency lookback window (var efficiency_lookback_days, ending on
-- the last day with metrics): utilization statistics, evidence quality, cost and its instance
-- specs. Waste, rightsizing and schedules all read this one model so they agree. Means and
-- deviations use stable_avg / stable_stddev: a re-run must not change a mart row.
with bounds as (
    select max(usage_date) as as_of_date from {{ ref('fct_resource_utilization') }}
),

daily as (
    select u.*
    from {{ ref('fct_resource_utilization') }} as u
    cross join bounds
    where u.usage_date > {{ dbt.dateadd('day', -var('efficiency_lookback_days'), 'bounds.as_of_date') }}
),

hourly as (
    select h.resource_id,
        round({{ stable_avg('h.cpu_avg_pct') }}, 6) as avg_cpu_pct,
        round({{ percentile('h.cpu_avg_pct', 0.95) }}, 6) as p95_cpu_pct,
        max(h.cpu_max_pct)                          as max_cpu_pct
    from {{ ref('int_cloudwatch__ec2_hourly') }} as h
    cross join bounds
    where h.usage_date > {{ dbt.dateadd('day', -var('efficiency_lookback_days'), 'bounds.as_of_date') }}
        and h.cpu_avg_pct is not null
    group by h.resource_id
),

evidence as (
    select resource_id,
        count(*)                                    as days_observed,
        round({{ stable_avg('data_completeness') }}, 6) as avg_data_completeness,
        round(coalesce({{ stable_stddev('avg_cpu_pct') }} / nullif({{ stable_avg('avg_cpu_pct') }}, 0), 0), 6) as daily_cpu_cv
    from daily
    group by resource_id
),

cost as (
    select c.resource_id,
        count(*)                                    as cost_days,
        sum(c.effective_cost)                       as window_effective_cost
    from {{ ref('int_cost__resource_daily') }} as c
    cross join bounds
    where c.usage_date > {{ dbt.dateadd('day', -var('efficiency_lookback_days'), 'bounds.as_of_date') }}
        and c.usage_date <= bounds.as_of_date
    group by c.resource_id
)

select
    hourly.resource_id,
    resource.sub_account_id,
    resource.instance_type,
    resource.tag_team,
    resource.tag_service,
    resource.tag_environment,
    resource.cost_category_environment,
    types.family,
    types.vcpu,
    types.memory_gib,
    types.on_demand_hourly_usd,
    bounds.as_of_date,
    hourly.avg_cpu_pct,
    hourly.p95_cpu_pct,
    hourly.max_cpu_pct,
    evidence.days_observed,
    evidence.avg_data_completeness,
    evidence.daily_cpu_cv,
    cast(cost.window_effective_cost / cost.cost_days * {{ hours_per_month() }} / 24 as {{ money_type() }})
        as monthly_effective_cost
from hourly
cross join bounds
inner join evidence on hourly.resource_id = evidence.resource_id
inner join cost on hourly.resource_id = cost.resource_id
inner join {{ ref('dim_resource') }} as resource on hourly.resource_id = resource.resource_id
left join {{ ref('instance_types') }} as types on resource.instance_type = types.instance_type
