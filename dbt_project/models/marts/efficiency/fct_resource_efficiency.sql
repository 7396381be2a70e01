-- What each instance-day cost against the CPU it used: cost per used vCPU-hour and a 0-100
-- utilization score (p95 CPU against the target utilization, var target_cpu_pct).
select
    u.utilization_key,
    u.resource_id,
    u.usage_date,
    c.sub_account_id,
    c.instance_type,
    t.vcpu,
    c.effective_cost,
    c.billed_cost,
    u.avg_cpu_pct,
    u.p95_cpu_pct,
    u.data_completeness,
    u.avg_cpu_pct / 100 * t.vcpu * 24                                       as cpu_hours_used,
    cast(c.effective_cost / nullif(cast(u.avg_cpu_pct / 100 * t.vcpu * 24 as {{ money_type() }}), 0)
         as {{ money_type() }})                                             as cost_per_cpu_hour,
    least(100, round(100 * u.p95_cpu_pct / {{ var('target_cpu_pct') }}, 1)) as utilization_score
from {{ ref('fct_resource_utilization') }} as u
inner join {{ ref('int_cost__resource_daily') }} as c
    on u.resource_id = c.resource_id and u.usage_date = c.usage_date
left join {{ ref('instance_types') }} as t on c.instance_type = t.instance_type
