select
    scope_type,
    scope_value,
    {{ money('monthly_budget') }}   as monthly_budget,
    currency,
    coalesce(cost_basis, 'amortized')               as cost_basis,
    cast(coalesce(threshold_pct, 100) as double)    as threshold_pct
from {{ source('raw_business', 'budgets') }}
