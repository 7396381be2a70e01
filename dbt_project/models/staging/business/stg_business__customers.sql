select
    customer_id,
    name                            as customer_name,
    {{ money('mrr') }}              as mrr,
    currency
from {{ source('raw_business', 'customers') }}
