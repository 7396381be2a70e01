-- Instances whose average CPU over the lookback window is under var waste_cpu_threshold_pct:
-- candidates to stop or terminate, with what they cost a month at the effective (amortized) rate.
select
    resource_id,
    sub_account_id,
    instance_type,
    tag_team,
    tag_service,
    tag_environment,
    as_of_date,
    avg_cpu_pct,
    max_cpu_pct,
    days_observed,
    avg_data_completeness,
    monthly_effective_cost                          as monthly_cost,
    monthly_effective_cost                          as monthly_savings,
    'stop or terminate'                             as recommendation
from {{ ref('efficiency_resource_window') }}
where avg_cpu_pct < {{ var('waste_cpu_threshold_pct') }}
