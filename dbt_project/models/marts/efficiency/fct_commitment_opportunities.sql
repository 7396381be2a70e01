-- A Compute Savings Plan sized to the stable floor of on-demand EC2 spend, per account. The
-- baseline is the 10th percentile of daily spend over var commitment_lookback_days, counting only
-- instances with no pending optimization (waste, rightsizing or schedule): commit after you
-- optimize, never to capacity about to go away. Stable = daily coefficient of variation under
-- var commitment_max_cv. The discount is var savings_plan_discount_pct (1-year, no upfront).
with bounds as (
    select max(usage_date) as as_of_date from {{ ref('int_cur__on_demand_compute_daily') }}
),

pending as (
    select resource_id from {{ ref('fct_waste') }}
    union all
    select resource_id from {{ ref('fct_rightsizing_candidates') }}
    union all
    select resource_id from {{ ref('fct_workload_schedules') }} where is_schedulable
),

daily as (
    select s.usage_date, s.sub_account_id, sum(s.on_demand_cost) as on_demand_cost
    from {{ ref('int_cur__on_demand_compute_daily') }} as s
    cross join bounds
    where s.usage_date > {{ dbt.dateadd('day', -var('commitment_lookback_days'), 'bounds.as_of_date') }}
        and s.resource_id not in (select p.resource_id from pending as p)
    group by s.usage_date, s.sub_account_id
),

baseline as (
    select sub_account_id,
        count(*)                                                as days_observed,
        cast({{ percentile('on_demand_cost', 0.1) }} as {{ money_type() }}) as baseline_daily_cost,
        round(coalesce({{ stable_stddev('on_demand_cost') }} / nullif({{ stable_avg('on_demand_cost') }}, 0), 0), 6) as daily_cost_cv
    from daily
    group by sub_account_id
)

select
    baseline.sub_account_id,
    bounds.as_of_date,
    'Compute Savings Plan, 1 year, no upfront'                  as commitment_type,
    baseline.days_observed,
    cast(baseline.daily_cost_cv as double)                      as daily_cost_cv,
    baseline.daily_cost_cv <= {{ var('commitment_max_cv') }} as is_stable,
    cast(baseline.baseline_daily_cost / 24 as {{ money_type() }}) as baseline_on_demand_hourly_cost,
    cast(baseline.baseline_daily_cost / 24 * (100 - {{ var('savings_plan_discount_pct') }}) / 100
         as {{ money_type() }})                                 as recommended_hourly_commitment,
    cast(baseline.baseline_daily_cost / 24 * {{ var('savings_plan_discount_pct') }} / 100 * {{ hours_per_month() }}
         as {{ money_type() }})                                 as monthly_savings,
    cast(baseline.baseline_daily_cost / 24 * {{ var('savings_plan_discount_pct') }} / 100 * 8760
         as {{ money_type() }})                                 as annual_savings,
    100 - {{ var('savings_plan_discount_pct') }}            as break_even_utilization_pct,
    cast(round(12 * (100 - {{ var('savings_plan_discount_pct') }}) / 100.0, 2) as double) as all_upfront_break_even_months
from baseline
cross join bounds
where baseline.baseline_daily_cost > 0
    and baseline.daily_cost_cv <= {{ var('commitment_max_cv') }}
