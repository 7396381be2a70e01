select
    cast(usage_date as date)        as usage_date,
    customer_id,
    service                         as service_tag,
    cast(request_count as bigint)   as request_count
from {{ source('raw_business', 'requests') }}
