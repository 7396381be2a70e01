-- The smallest (cheapest) type of the same family whose vCPUs cover the window's p95 CPU plus
-- headroom (var rightsizing_headroom_pct). Only CPU is observed, so a candidate must have fewer
-- vCPUs than today: memory-bound downsizes need memory metrics. Waste is excluded (stop it instead).
with eligible as (
    select w.*,
        w.p95_cpu_pct / 100 * w.vcpu * (1 + {{ var('rightsizing_headroom_pct') }} / 100.0) as required_vcpu
    from {{ ref('efficiency_resource_window') }} as w
    where w.avg_cpu_pct >= {{ var('waste_cpu_threshold_pct') }} and w.family is not null
),

options as (
    select e.*,
        t.instance_type                 as target_instance_type,
        t.vcpu                          as target_vcpu,
        t.on_demand_hourly_usd          as target_hourly_usd,
        row_number() over (partition by e.resource_id order by t.on_demand_hourly_usd, t.vcpu) as rank_by_price
    from eligible as e
    inner join {{ ref('instance_types') }} as t
        on e.family = t.family and e.required_vcpu <= t.vcpu and e.vcpu > t.vcpu
        and e.on_demand_hourly_usd > t.on_demand_hourly_usd
)

select
    resource_id,
    sub_account_id,
    tag_team,
    tag_environment,
    as_of_date,
    instance_type                       as current_instance_type,
    vcpu                                as current_vcpu,
    target_instance_type,
    target_vcpu,
    avg_cpu_pct,
    p95_cpu_pct,
    required_vcpu,
    on_demand_hourly_usd                as current_hourly_usd,
    target_hourly_usd,
    monthly_effective_cost              as current_monthly_cost,
    cast(monthly_effective_cost * (1 - target_hourly_usd / on_demand_hourly_usd) as {{ money_type() }})
                                        as monthly_savings,
    round(100 * (0.4 * avg_data_completeness
                 + 0.3 * least(1.0, days_observed / {{ var('efficiency_lookback_days') }}.0)
                 + 0.3 * (1 - least(1.0, daily_cpu_cv))), 1) as confidence_score
from options
where rank_by_price = 1
