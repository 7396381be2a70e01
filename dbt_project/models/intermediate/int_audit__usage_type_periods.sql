{{ config(materialized="ephemeral") }}
-- The billing auditor's ledger per billing period x account x service x usage type: what the
-- usage should have cost at the public price in force when the period opened (expected), what
-- was billed (effective cost of usage lines and credits), and the difference split line by line
-- into the parts each validation signal can explain. The parts sum exactly to the difference:
--   commitment  = effective - quantity x public rate on Savings Plan / RI covered usage
--   price       = quantity x (public rate on the line - rate at period start)
--   credit      = credits;  refund = refunds
--   (late_billed: usage of an earlier period billed in this one, a boundary shift; not a part of
--    the difference: it is billed at its price, only in the next period)
--   unbilled    = - quantity x public rate on usage carrying no charge
--   without_usage = charges on usage lines with no quantity
--   rate        = the rest: billed at another rate than the public one
{%- set boundary = var('audit_boundary_days') %}
with lines as (  -- day aggregates: the per-line facts are grouping columns there
    select
        billing_period_start, sub_account_id, service_code, coalesce(usage_type, '') as usage_type,
        coalesce(region_id, '') as region_id, usage_date, first_charge_period_start, line_item_type,
        charge_category, coalesce(usage_quantity, 0) as quantity, quantity_exact, effective_cost,
        public_on_demand_rate, public_cost, is_late_billed, is_unbilled, is_without_usage,
        {{ dbt.datediff('billing_period_start', 'usage_date', 'day') }} < {{ boundary }} as near_start,
        {{ dbt.datediff('usage_date', dbt.dateadd('month', 1, 'billing_period_start'), 'day') }}
            <= {{ boundary }} as near_end
    from {{ ref('int_cur__usage_and_credits_daily') }}
),

reference_rates as (  -- the public price when the period opened (its first priced usage line)
    select billing_period_start, sub_account_id, service_code, usage_type, region_id,
        public_on_demand_rate as reference_rate
    from (
        select lines.*, row_number() over (
            partition by billing_period_start, sub_account_id, service_code, usage_type, region_id
            order by first_charge_period_start, public_on_demand_rate) as rn
        from lines
        where charge_category = 'Usage' and public_on_demand_rate > 0
    ) as firsts
    where rn = 1
),

priced as (
    select lines.*, coalesce(r.reference_rate, 0) as reference_rate
    from lines
    left join reference_rates as r
        on lines.billing_period_start = r.billing_period_start and lines.sub_account_id = r.sub_account_id
        and lines.service_code = r.service_code and lines.usage_type = r.usage_type
        and lines.region_id = r.region_id
)

select
    billing_period_start, sub_account_id, service_code, usage_type,
    sum(quantity)                                                                   as usage_quantity,
    sum(case when charge_category = 'Usage'
        then quantity_exact * reference_rate else 0 end)                            as expected_cost,
    sum(effective_cost)                                                             as billed_cost,
    sum(case when line_item_type in ('DiscountedUsage', 'SavingsPlanCoveredUsage')
        then effective_cost - public_cost else 0 end)                               as commitment_part,
    sum(case when charge_category = 'Usage'
        then quantity_exact * (public_on_demand_rate - reference_rate) else 0 end)   as price_part,
    sum(case when charge_category = 'Credit' and line_item_type <> 'Refund'
        then effective_cost else 0 end)                                             as credit_part,
    sum(case when line_item_type = 'Refund' then effective_cost else 0 end)         as refund_part,
    sum(case when charge_category = 'Usage' and is_late_billed
        then effective_cost else 0 end)                                             as late_billed_part,
    sum(case when is_unbilled then -public_cost else 0 end)                         as unbilled_part,
    sum(case when is_unbilled and near_end then -public_cost else 0 end)            as unbilled_at_period_end,
    sum(case when is_without_usage then effective_cost else 0 end)                  as without_usage_part,
    sum(case when is_without_usage and near_start then effective_cost else 0 end)   as without_usage_at_period_start,
    sum(case when line_item_type = 'Usage' and not is_unbilled and not is_without_usage
        then effective_cost - public_cost else 0 end)                               as rate_part
from priced
group by billing_period_start, sub_account_id, service_code, usage_type
