-- EC2 CPU and network per instance per hour, whatever period the datapoints came at (1 min for
-- recent days, 5 min or 1 h for older ones): the common grain every efficiency mart starts from.
select
    resource_id,
    usage_date,
    cast(extract(hour from metric_timestamp) as integer)                                  as hour_of_day,
    {{ iso_weekday('usage_date') }}                                                        as iso_weekday,
    {{ stable_avg("case when metric_name = 'CPUUtilization' and stat = 'Average' then metric_value end") }} as cpu_avg_pct,
    max(case when metric_name = 'CPUUtilization' and stat = 'Maximum' then metric_value end) as cpu_max_pct,
    {{ stable_avg("case when metric_name = 'NetworkIn' and stat = 'Average' then metric_value end") }} as network_in_avg_bytes
from {{ ref('stg_cloudwatch__metrics') }}
where namespace = 'AWS/EC2'
group by resource_id, usage_date, cast(extract(hour from metric_timestamp) as integer)
