-- Per application service (user:service tag; 'untagged' otherwise) over the last 30 days up to
-- the latest day: total, daily average, trend against the prior 30 days, the top 5 cost drivers
-- (resource or charge) and the cost per request where the business data counts requests.
with bounds as (
    select max(usage_date) as as_of_date from {{ ref('fct_daily_cost') }}
),

cost as (
    select coalesce(c.tag_service, 'untagged') as application_service, c.service_code,
        coalesce(c.resource_id, c.charge_category) as cost_driver, c.effective_cost,
        c.usage_date > {{ dbt.dateadd('day', -30, 'b.as_of_date') }} as in_last_30
    from {{ ref('fct_daily_cost') }} as c
    cross join bounds as b
    where c.usage_date > {{ dbt.dateadd('day', -60, 'b.as_of_date') }}
),

drivers as (
    select application_service, cost_driver, max(service_code) as service_code,
        sum(effective_cost) as driver_cost,
        row_number() over (partition by application_service order by sum(effective_cost) desc, cost_driver) as driver_rank
    from cost
    where in_last_30
    group by application_service, cost_driver
),

top_drivers as (
    select application_service,
        {{ dbt.listagg(dbt.concat(["cost_driver", "' ('", "service_code", "'): $'",
                                   "cast(cast(driver_cost as decimal(18, 2)) as " ~ dbt.type_string() ~ ")"]),
                       "'; '", "order by driver_rank") }} as top_cost_drivers
    from drivers
    where driver_rank <= 5
    group by application_service
),

totals as (
    select application_service,
        sum(case when in_last_30 then effective_cost else 0 end)     as last_30_days_cost,
        sum(case when not in_last_30 then effective_cost else 0 end) as prior_30_days_cost
    from cost
    group by application_service
),

requests as (
    select r.service_tag, cast(sum(r.request_count) as bigint) as last_30_days_requests
    from {{ ref('stg_business__requests') }} as r
    cross join bounds as b
    where r.usage_date > {{ dbt.dateadd('day', -30, 'b.as_of_date') }} and r.usage_date <= b.as_of_date
    group by r.service_tag
)

select
    totals.application_service,
    bounds.as_of_date,
    totals.last_30_days_cost,
    cast(totals.last_30_days_cost / 30 as {{ money_type() }})       as daily_average_cost,
    totals.prior_30_days_cost,
    round(cast(100 * (totals.last_30_days_cost - totals.prior_30_days_cost)
               / nullif(totals.prior_30_days_cost, 0) as double), 2) as trend_pct,
    top_drivers.top_cost_drivers,
    requests.last_30_days_requests,
    cast(totals.last_30_days_cost / nullif(requests.last_30_days_requests, 0) as {{ money_type() }})
                                                                    as cost_per_request
from totals
cross join bounds
left join top_drivers on totals.application_service = top_drivers.application_service
left join requests on totals.application_service = requests.service_tag
