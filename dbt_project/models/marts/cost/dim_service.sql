-- One row per AWS service (CUR product code) with its FOCUS service name.
select
    service_code,
    max(service_name)               as service_name,
    min(usage_date)                 as first_usage_date,
    max(usage_date)                 as last_usage_date,
    count(distinct sub_account_id)  as account_count,
    sum(billed_cost)                as total_billed_cost,
    sum(effective_cost)             as total_effective_cost
from {{ ref('fct_daily_cost') }}
group by service_code
