-- Total optimization potential per category and account; each resource counts in one category
-- (waste excludes it from rightsizing and schedules, and commitments exclude all three).
with opportunities as (
    select 'idle_resources' as category, sub_account_id, resource_id, monthly_savings from {{ ref('fct_waste') }}
    union all
    select 'rightsizing' as category, sub_account_id, resource_id, monthly_savings from {{ ref('fct_rightsizing_candidates') }}
    union all
    select 'workload_schedules' as category, sub_account_id, resource_id,
        sum(monthly_savings) as monthly_savings
    from {{ ref('fct_workload_schedules') }} where is_schedulable
    group by sub_account_id, resource_id
    union all
    select 'commitments' as category, sub_account_id, cast(null as {{ dbt.type_string() }}) as resource_id,
        monthly_savings
    from {{ ref('fct_commitment_opportunities') }}
)

select
    category,
    sub_account_id,
    count(*)                                            as opportunity_count,
    cast(sum(monthly_savings) as {{ money_type() }})    as monthly_savings,
    cast(sum(monthly_savings) * 12 as {{ money_type() }}) as annual_savings
from opportunities
group by category, sub_account_id
