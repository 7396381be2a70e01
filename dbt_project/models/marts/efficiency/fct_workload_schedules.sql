-- When each instance works, by weekday and hour of day, over the lookback window (an hour is
-- active when its mean CPU reaches var active_cpu_pct), and whether stopping it outside that
-- time is safe to recommend. Only where a schedule is safe (issue 16: production ETL busy at
-- night and an oversized production instance were offered):
-- * non-production only: the environment tag (else the Environment cost category) is one of
--   var schedule_environments;
-- * on the business calendar: on weekdays the instance works only within
--   var schedule_business_start_hour..var schedule_business_end_hour (UTC) and is idle at least
--   var schedule_min_idle_hours; weekends are either idle or treated like weekdays;
-- * with a confidence: the share of observed days that kept to the proposed running window, at
--   least var schedule_min_confidence.
-- Savings are the hours outside the running window at the instance's effective hourly rate.
-- Waste is excluded (stop it for good instead).
{%- set active = var('active_cpu_pct') %}
with window_hours as (
    select h.resource_id, h.usage_date, h.iso_weekday, h.hour_of_day, h.cpu_avg_pct
    from {{ ref('int_cloudwatch__ec2_hourly') }} as h
    inner join {{ ref('efficiency_resource_window') }} as w on h.resource_id = w.resource_id
    where h.usage_date > {{ dbt.dateadd('day', -var('efficiency_lookback_days'), 'w.as_of_date') }}
        and h.cpu_avg_pct is not null
),

hours as (
    select resource_id, iso_weekday, hour_of_day, {{ stable_avg('cpu_avg_pct') }} as cpu_avg_pct
    from window_hours
    group by resource_id, iso_weekday, hour_of_day
),

weekdays as (
    select resource_id, iso_weekday,
        cast(sum(case when cpu_avg_pct >= {{ active }} then 1 else 0 end) as bigint) as active_hours,
        min(case when cpu_avg_pct >= {{ active }} then hour_of_day end) as first_active_hour,
        max(case when cpu_avg_pct >= {{ active }} then hour_of_day end) as last_active_hour
    from hours
    group by resource_id, iso_weekday
),

running_window as (  -- the hours the instance keeps running: the widest span any workday uses
    select resource_id,
        min(case when iso_weekday <= 5 then first_active_hour end)  as start_hour,
        max(case when iso_weekday <= 5 then last_active_hour end)   as end_hour,
        max(case when iso_weekday > 5 then active_hours end)        as weekend_active_hours
    from weekdays
    group by resource_id
),

days as (  -- each observed day: did it keep to the running window (weekends idle if proposed)?
    select d.resource_id, d.usage_date,
        sum(case when d.cpu_avg_pct >= {{ active }}
                  and (d.iso_weekday > 5 and coalesce(r.weekend_active_hours, 0) = 0
                       or r.start_hour is null
                       or d.hour_of_day < r.start_hour or d.hour_of_day > r.end_hour)
            then 1 else 0 end) as active_outside
    from window_hours as d
    inner join running_window as r on d.resource_id = r.resource_id
    group by d.resource_id, d.usage_date
),

confidence as (
    select resource_id,
        cast(sum(case when active_outside = 0 then 1 else 0 end) as double) / count(*) as schedule_confidence
    from days
    group by resource_id
),

resources as (
    select w.resource_id, w.sub_account_id, w.instance_type, w.tag_team, w.tag_environment,
        w.monthly_effective_cost, r.start_hour, r.end_hour, c.schedule_confidence,
        lower(coalesce(w.tag_environment, w.cost_category_environment, '')) in (
            {%- for env in var('schedule_environments') %}'{{ env }}'{% if not loop.last %}, {% endif %}{% endfor -%}
        ) as is_non_production,
        -- the running window sits inside the business day and leaves the night idle
        r.start_hour is not null
            and r.start_hour >= {{ var('schedule_business_start_hour') }}
            and r.end_hour < {{ var('schedule_business_end_hour') }}
            and 24 - (r.end_hour - r.start_hour + 1) >= {{ var('schedule_min_idle_hours') }}
            as on_business_calendar
    from {{ ref('efficiency_resource_window') }} as w
    inner join running_window as r on w.resource_id = r.resource_id
    inner join confidence as c on w.resource_id = c.resource_id
    where w.avg_cpu_pct >= {{ var('waste_cpu_threshold_pct') }}
),

scored as (
    select resources.*,
        is_non_production and on_business_calendar
            and schedule_confidence >= {{ var('schedule_min_confidence') }} as is_schedulable
    from resources
)

select
    {{ dbt.hash(dbt.concat(["d.resource_id", "'|'", "cast(d.iso_weekday as " ~ dbt.type_string() ~ ")"])) }}
                                                as schedule_key,
    d.resource_id,
    r.sub_account_id,
    r.instance_type,
    r.tag_team,
    r.tag_environment,
    d.iso_weekday,
    d.active_hours,
    24 - d.active_hours                         as idle_hours,
    d.first_active_hour,
    d.last_active_hour,
    r.is_schedulable,
    round(r.schedule_confidence, 4)             as schedule_confidence,
    case when not r.is_non_production then 'production or untagged environment'
         when not r.on_business_calendar then 'active at night or idle too briefly'
         when r.schedule_confidence < {{ var('schedule_min_confidence') }} then 'irregular: too few days keep to the window'
         end                                    as not_schedulable_reason,
    cast(r.monthly_effective_cost / {{ hours_per_month() }} as {{ money_type() }}) as effective_hourly_cost,
    cast(case when r.is_schedulable
         then r.monthly_effective_cost / {{ hours_per_month() }}
              * (case when d.active_hours = 0 then 24 else 24 - (d.last_active_hour - d.first_active_hour + 1) end)
              * {{ hours_per_month() }} / 168
         else 0 end as {{ money_type() }})      as monthly_savings
from weekdays as d
inner join scored as r on d.resource_id = r.resource_id
