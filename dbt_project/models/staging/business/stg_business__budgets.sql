select
    scope_type,
    scope_value,
    {{ money('monthly_budget') }}   as monthly_budget,
    currency
from {{ source('raw_business', 'budgets') }}
