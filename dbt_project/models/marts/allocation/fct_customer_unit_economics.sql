-- Per customer and month: revenue (MRR) against the cost allocated to the customer (directly
-- tagged plus its share of the shared services), gross margin and whether it is negative.
with cost as (
    select cast({{ dbt.date_trunc('month', 'usage_date') }} as date) as billing_month, customer_id,
        sum(case when allocation_method = 'customer_tag' then effective_cost else 0 end) as direct_cost,
        sum(case when allocation_method = 'shared_split' then effective_cost else 0 end) as shared_cost,
        sum(effective_cost)                                                               as allocated_cost
    from {{ ref('fct_cost_allocation') }}
    where customer_id is not null
    group by cast({{ dbt.date_trunc('month', 'usage_date') }} as date), customer_id
),

months as (
    select distinct cast({{ dbt.date_trunc('month', 'usage_date') }} as date) as billing_month
    from {{ ref('fct_cost_allocation') }}
)

select
    months.billing_month,
    customers.customer_id,
    customers.customer_name,
    customers.mrr,
    coalesce(cost.direct_cost, 0)                               as direct_cost,
    coalesce(cost.shared_cost, 0)                               as shared_cost,
    coalesce(cost.allocated_cost, 0)                            as allocated_cost,
    cast(customers.mrr - coalesce(cost.allocated_cost, 0) as {{ money_type() }}) as gross_margin,
    round(cast(100 * (customers.mrr - coalesce(cost.allocated_cost, 0)) / nullif(customers.mrr, 0)
               as double), 2)                                   as gross_margin_pct,
    customers.mrr - coalesce(cost.allocated_cost, 0) < 0        as is_negative_margin
from months
cross join {{ ref('stg_business__customers') }} as customers
left join cost
    on months.billing_month = cost.billing_month and customers.customer_id = cost.customer_id
