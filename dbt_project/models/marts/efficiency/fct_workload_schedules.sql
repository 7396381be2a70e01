-- When each instance works, by weekday and hour of day, over the lookback window: an hour is
-- active when its mean CPU reaches var active_cpu_pct. Instances idle at least
-- var schedule_min_idle_hours every day are schedulable, and stopping them while idle saves
-- the idle hours at their effective hourly rate. Waste is excluded (stop it for good instead).
with hours as (
    select h.resource_id, h.iso_weekday, h.hour_of_day, {{ stable_avg('h.cpu_avg_pct') }} as cpu_avg_pct
    from {{ ref('int_cloudwatch__ec2_hourly') }} as h
    inner join {{ ref('int_efficiency__resource_window') }} as w on h.resource_id = w.resource_id
    where h.usage_date > {{ dbt.dateadd('day', -var('efficiency_lookback_days', 30), 'w.as_of_date') }}
        and h.cpu_avg_pct is not null
    group by h.resource_id, h.iso_weekday, h.hour_of_day
),

weekdays as (
    select resource_id, iso_weekday,
        cast(sum(case when cpu_avg_pct >= {{ var('active_cpu_pct', 5) }} then 1 else 0 end) as bigint) as active_hours,
        min(case when cpu_avg_pct >= {{ var('active_cpu_pct', 5) }} then hour_of_day end) as first_active_hour,
        max(case when cpu_avg_pct >= {{ var('active_cpu_pct', 5) }} then hour_of_day end) as last_active_hour
    from hours
    group by resource_id, iso_weekday
),

resources as (
    select w.*, min(d.active_hours) over (partition by d.resource_id) as min_daily_active_hours
    from weekdays as d
    inner join {{ ref('int_efficiency__resource_window') }} as w on d.resource_id = w.resource_id
    where w.avg_cpu_pct >= {{ var('waste_cpu_threshold_pct', 5) }}
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
    24 - r.min_daily_active_hours >= {{ var('schedule_min_idle_hours', 8) }} as is_schedulable,
    cast(r.monthly_effective_cost / {{ hours_per_month() }} as {{ money_type() }}) as effective_hourly_cost,
    cast(case when 24 - r.min_daily_active_hours >= {{ var('schedule_min_idle_hours', 8) }}
         then r.monthly_effective_cost / {{ hours_per_month() }} * (24 - d.active_hours) * {{ hours_per_month() }} / 168
         else 0 end as {{ money_type() }})      as monthly_savings
from weekdays as d
inner join (select distinct resource_id, sub_account_id, instance_type, tag_team, tag_environment,
                   monthly_effective_cost, min_daily_active_hours from resources) as r
    on d.resource_id = r.resource_id
