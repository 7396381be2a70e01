-- Per EC2 instance per day: CPU statistics over its hours, network, and how complete the metrics
-- are (hours with data / 24), plus the active hours that day.
select
    {{ dbt.hash(dbt.concat(["resource_id", "'|'", "cast(usage_date as " ~ dbt.type_string() ~ ")"])) }} as utilization_key,
    resource_id,
    usage_date,
    max(iso_weekday)                                        as iso_weekday,
    round({{ stable_avg('cpu_avg_pct') }}, 6)                as avg_cpu_pct,
    {{ percentile('cpu_avg_pct', 0.5) }}                    as p50_cpu_pct,
    {{ percentile('cpu_avg_pct', 0.95) }}                   as p95_cpu_pct,
    max(cpu_max_pct)                                        as max_cpu_pct,
    round({{ stable_avg('network_in_avg_bytes') }}, 3)       as avg_network_in_bytes,
    count(cpu_avg_pct)                                      as hours_observed,
    cast(count(cpu_avg_pct) as double) / 24                 as data_completeness,
    cast(sum(case when cpu_avg_pct >= {{ var('active_cpu_pct') }} then 1 else 0 end) as bigint) as active_hours
from {{ ref('int_cloudwatch__ec2_hourly') }}
group by resource_id, usage_date
