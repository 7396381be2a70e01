-- int_cur__usage_and_credits_daily moves money from the line items into day aggregates that the
-- anomaly, audit and commitment marts read instead of them: per day x account x service its
-- effective cost equals fct_daily_cost's usage and credit rows exactly (Savings Plan negation
-- lines, left out of the aggregates, carry no effective cost). Returns the cells that differ.
with aggregates as (
    select usage_date, sub_account_id, service_code, sum(effective_cost) as effective_cost
    from {{ ref('int_cur__usage_and_credits_daily') }}
    where {{ partition_window('usage_date') }}
    group by usage_date, sub_account_id, service_code
),

daily as (
    select usage_date, sub_account_id, service_code, sum(effective_cost) as effective_cost
    from {{ ref('fct_daily_cost') }}
    where charge_category in ('Usage', 'Credit')
        and {{ partition_window('usage_date') }}
    group by usage_date, sub_account_id, service_code
)

select
    coalesce(a.usage_date, d.usage_date)            as usage_date,
    coalesce(a.sub_account_id, d.sub_account_id)    as sub_account_id,
    coalesce(a.service_code, d.service_code)        as service_code,
    a.effective_cost                                as aggregated_cost,
    d.effective_cost                                as daily_cost
from aggregates as a
full outer join daily as d
    on a.usage_date = d.usage_date and a.sub_account_id = d.sub_account_id
    and a.service_code = d.service_code
where coalesce(a.effective_cost, 0) <> coalesce(d.effective_cost, 0)
