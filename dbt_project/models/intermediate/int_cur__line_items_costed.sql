-- Line items with their FOCUS charge category. The effective (amortized) cost, the amortization
-- true-up and upfront fees come from staging, where each line casts only the cost columns its
-- type uses (stg_cur__line_items.sql).
with line_items as (
    select * from {{ ref('stg_cur__line_items') }}
)

select
    line_items.*,
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
