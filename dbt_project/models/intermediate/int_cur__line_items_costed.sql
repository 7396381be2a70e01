-- Effective (amortized) cost per line item type, the Cloud Intelligence Dashboards rule, plus the
-- two terms of the amortization invariant (true-up and upfront fees) and the FOCUS charge category.
with line_items as (
    select * from {{ ref('stg_cur__line_items') }}
)

select
    line_items.*,
    -- cast: Spark narrows the scale of a CASE over differences of decimals (38,9); money stays (38,10)
    cast(case
        when line_item_type = 'SavingsPlanCoveredUsage' then sp_effective_cost
        when line_item_type = 'SavingsPlanRecurringFee' then sp_total_commitment_to_date - sp_used_commitment
        when line_item_type in ('SavingsPlanNegation', 'SavingsPlanUpfrontFee') then cast(0 as {{ money_type() }})
        when line_item_type = 'DiscountedUsage' then ri_effective_cost
        when line_item_type = 'RIFee' then ri_unused_amortized_upfront_fee + ri_unused_recurring_fee
        when line_item_type = 'Fee' and reservation_arn is not null then cast(0 as {{ money_type() }})
        when line_item_type = 'Refund' and service_code = 'ComputeSavingsPlans' then cast(0 as {{ money_type() }})
        else unblended_cost
    end as {{ money_type() }}) as effective_cost,
    case
        when line_item_type = 'SavingsPlanRecurringFee' then -sp_amortized_upfront_commitment
        when line_item_type = 'RIFee' then -ri_amortized_upfront_fee
        else cast(0 as {{ money_type() }})
    end as amortization_true_up,
    case
        when line_item_type = 'SavingsPlanUpfrontFee' then unblended_cost
        when line_item_type = 'Fee' and reservation_arn is not null then unblended_cost
        else cast(0 as {{ money_type() }})
    end as upfront_fee,
    case
        when line_item_type in ('Usage', 'DiscountedUsage', 'SavingsPlanCoveredUsage', 'SavingsPlanNegation')
            then 'Usage'
        when line_item_type in ('RIFee', 'SavingsPlanRecurringFee', 'SavingsPlanUpfrontFee', 'Fee')
            then 'Purchase'
        when line_item_type = 'Tax' then 'Tax'
        when line_item_type in ('Credit', 'Refund') then 'Credit'
        else 'Adjustment'
    end as charge_category
from line_items
